/*  test_e2e_partitions.c - one client of two coordinators sharing a saga log
    The client library follows not_owner by itself: W1 through both frontends.

    Two real coordinators on one throwaway PostgreSQL saga log, real
    participants connected to both.  One client given both frontends runs
    W1 closed loop (the asynchronous API, as checkout-bench does), then asks
    STATUS of every checkout one by one (the blocking helpers), and the CLI
    does as much with a comma-separated --frontend: every checkout gets the
    RESULT W1 plans, no not_owner reaches the caller, each checkout has one
    saga in the log, and some requests were redirected.  Then one
    coordinator is killed: the blocking helpers give its frontend up for the
    other, which takes its partitions over and answers.  And one CHECKOUT
    sent four times through one DEALER connected to both runs one saga.
*/
#include <criterion/criterion.h>
#include "e2e_helpers.h"
#include "pg_helpers.h"

#define COORDINATORS 2
#define CHECKOUTS    200
#define READY_MS     30000
#define RUN_MS       60000

static e2e_group_t s_group;
static e2e_book_t s_book;
static pg_cluster_t s_cluster;
static char s_uri [3][256];             //  inventory, payment, order
static char s_log_uri [256];
static const char *s_services [] = { "inventory", "payment", "order" };
static char s_frontends [COORDINATORS][128];
static int s_slots [COORDINATORS];
static ck_client_t *s_client;

static void
s_init (void)
{
    cr_assert_eq (e2e_group_init (&s_group, "ck-partitions"), 0, "no temp dir");
    cr_assert_eq (pg_cluster_start (&s_cluster), 0, "no PostgreSQL cluster");
    for (int i = 0; i < 3; i++)
        cr_assert_eq (pg_cluster_createdb (&s_cluster, s_services [i], s_uri [i],
                                           sizeof s_uri [i]), 0);
    cr_assert_eq (pg_cluster_createdb (&s_cluster, "coordinator", s_log_uri,
                                       sizeof s_log_uri), 0);
    cr_assert_eq (e2e_book_init (&s_book, CHECKOUTS), 0);
}

static void
s_fini (void)
{
    ck_client_destroy (&s_client);
    e2e_book_fini (&s_book);
    e2e_group_fini (&s_group);
    pg_cluster_stop (&s_cluster);
}

TestSuite (e2e_partitions, .init = s_init, .fini = s_fini, .timeout = 240);

static void
s_start_coordinator (int m)
{
    char heartbeat [16], liveness [16], name [8], backend [128], events [128];
    snprintf (heartbeat, sizeof heartbeat, "%d", s_group.heartbeat_ms);
    snprintf (liveness, sizeof liveness, "%d", s_group.liveness);
    snprintf (name, sizeof name, "c%d", m + 1);
    snprintf (s_frontends [m], sizeof s_frontends [m], "ipc://%s/fe%d", s_group.dir, m);
    snprintf (backend, sizeof backend, "ipc://%s/be%d", s_group.dir, m);
    snprintf (events, sizeof events, "ipc://%s/ev%d", s_group.dir, m);
    const char *args [] = {
        "--frontend", s_frontends [m], "--backend", backend, "--events", events,
        "--db", s_log_uri, "--instance", name, "--heartbeat-ms", heartbeat,
        "--liveness", liveness, NULL
    };
    s_slots [m] = e2e_spawn (&s_group, name, "checkout-coordinator", args);
    cr_assert_geq (s_slots [m], 0);
}

//  Instance 1 of service i, on its database, connected to both coordinators
static void
s_start_participant (int i)
{
    char heartbeat [16], liveness [16], program [64], instance [32], be0 [128], be1 [128];
    snprintf (heartbeat, sizeof heartbeat, "%d", s_group.heartbeat_ms);
    snprintf (liveness, sizeof liveness, "%d", s_group.liveness);
    snprintf (program, sizeof program, "checkout-%s", s_services [i]);
    snprintf (instance, sizeof instance, "%s-1", s_services [i]);
    snprintf (be0, sizeof be0, "ipc://%s/be0", s_group.dir);
    snprintf (be1, sizeof be1, "ipc://%s/be1", s_group.dir);
    const char *args [] = {
        "--coordinator", be0, "--coordinator", be1, "--db", s_uri [i],
        "--instance", instance, "--heartbeat-ms", heartbeat, "--liveness", liveness,
        i == 0? "--seed": NULL, s_group.seed, NULL
    };
    cr_assert_geq (e2e_spawn (&s_group, instance, program, args), 0);
}

//  Partitions with a live lease held by coordinator cN
static long long
s_held_by (int m)
{
    char sql [160];
    snprintf (sql, sizeof sql, "SELECT count (*) FROM saga_partitions"
              " WHERE expires_at > now () AND owner = 'c%d'", m + 1);
    return pg_query_int (s_log_uri, sql);
}

//  True when both coordinators hold a share and together every partition
static bool
s_balanced (void)
{
    long long first = s_held_by (0), second = s_held_by (1);
    return first > 0 && second > 0 && first + second == CK_DEFAULT_PARTITIONS;
}

//  Both coordinators, the participants and one client of both frontends;
//  returns once each coordinator serves every step and the partitions are held
static void
s_start (void)
{
    for (int m = 0; m < COORDINATORS; m++)
        s_start_coordinator (m);
    for (int i = 0; i < 3; i++)
        s_start_participant (i);
    const char *frontends [] = { s_frontends [0], s_frontends [1] };
    s_client = ck_client_new_frontends (frontends, COORDINATORS, NULL);
    cr_assert_not_null (s_client);
    int64_t deadline = ph_now_ms () + READY_MS;
    for (int m = 0; m < COORDINATORS; m++) {
        ck_client_t *one = ck_client_new (s_frontends [m]);
        bool served = false;
        while (!served && ph_now_ms () < deadline)
            served = ck_client_ping (one, 250) == CK_CMD_PONG
                  && ck_client_reply (one)->pong.unserved_count == 0;
        ck_client_destroy (&one);
        cr_assert (served, "c%d does not serve (logs in %s)", m + 1, s_group.dir);
    }
    while (!s_balanced () && ph_now_ms () < deadline)
        zclock_sleep (100);
    cr_assert (s_balanced (), "the partitions are not shared (logs in %s)", s_group.dir);
}

//  Runs W1 0..CHECKOUTS-1 closed loop through both frontends, polling the
//  client's every DEALER as a program driving many clients does
static void
s_drive (size_t in_flight)
{
    int64_t deadline = ph_now_ms () + RUN_MS;
    size_t next = 0, running = 0;
    while (s_book.terminal < s_book.count && ph_now_ms () < deadline) {
        //  A send no frontend takes (none connected) is tried again next turn
        while (running < in_flight && next < s_book.count
           &&  e2e_send_range (s_client, next, 1, false) == 1) {
            next++;
            running++;
        }
        zmq_pollitem_t items [CK_CLIENT_FRONTENDS_MAX + CK_CLIENT_OWNERS_MAX];
        size_t count = ck_client_poll_items (s_client, items, sizeof items / sizeof items [0]);
        long wait = ck_client_timeout (s_client);
        zmq_poll (items, (int) count, wait >= 0 && wait < 100? wait: 100);
        while (ck_client_recv (s_client, 0) != CK_CMD_NONE)
            if (e2e_book_record (&s_book, ck_client_reply (s_client)) >= 0)
                running--;
    }
}

Test (e2e_partitions, one_client_follows_not_owner_across_two_coordinators)
{
    s_start ();
    s_drive (32);
    char first [E2E_PROBLEM_SIZE];
    int problems = e2e_check_plan (&s_book, first);
    cr_assert_eq (problems, 0, "%d problems, first: %s (logs in %s)", problems, first,
                  s_group.dir);
    cr_assert_eq (s_book.errors, 0, "no ERROR reaches the caller");
    size_t redirects = ck_client_redirects (s_client);
    cr_assert_gt (redirects, 0, "both coordinators own partitions: some went astray first");
    cr_assert_eq (ck_client_pending (s_client), 0);
    cr_assert_eq (pg_query_int (s_log_uri, "SELECT count (*) FROM sagas"), CHECKOUTS,
                  "one saga per checkout");

    //  The blocking helpers: STATUS of each, from wherever they start
    for (size_t k = 0; k < CHECKOUTS; k += 7) {
        char id [32];
        snprintf (id, sizeof id, "chk-%zu", k);
        cr_assert_eq (ck_client_status (s_client, id, 10000), CK_CMD_RESULT, "%s", id);
        const ck_result_t *result = &ck_client_reply (s_client)->result;
        cr_assert_str_eq (result->checkout_id, id);
        cr_assert_eq (result->status, s_book.items [k].result.status, "%s", id);
    }
    cr_assert_gt (ck_client_redirects (s_client), redirects);

    //  The CLI, both frontends in one flag
    char program [PATH_MAX], both [300], log [PATH_MAX];
    cr_assert_eq (ph_bin_dir (program, sizeof program), 0);
    strcat (program, "/checkout");
    snprintf (both, sizeof both, "%s,%s", s_frontends [0], s_frontends [1]);
    e2e_path (&s_group, "cli.log", log, sizeof log);
    for (int k = 3; k < 6; k++) {
        char id [32];
        snprintf (id, sizeof id, "chk-%d", k);
        char *argv [] = { program, "--frontend", both, "status", id, NULL };
        pid_t pid = ph_spawn (program, argv, log);
        int status = 0;
        cr_assert_eq (ph_wait (pid, 20000, &status), 0);
        char *out = ph_slurp (log);
        cr_assert_eq (ph_exit_code (status), 0, "%s", out);
        cr_assert_not_null (strstr (out, id), "%s", out);
        free (out);
    }

    //  c1 killed: its frontend stays silent, the blocking helpers move on
    //  to c2, which takes c1's partitions over and answers about them
    cr_assert_eq (e2e_stop (&s_group, s_slots [0], SIGKILL, 10000), -1);
    int64_t start = ph_now_ms ();
    for (size_t k = 0; k < CHECKOUTS; k += 11) {
        char id [32];
        snprintf (id, sizeof id, "chk-%zu", k);
        cr_assert_eq (ck_client_status (s_client, id, 20000), CK_CMD_RESULT,
                      "%s (logs in %s)", id, s_group.dir);
        cr_assert_str_eq (ck_client_answered_by (s_client), s_frontends [1]);
    }
    fprintf (stderr, "e2e_partitions: %zu redirects; after the kill, %d STATUS in %lld ms\n",
             ck_client_redirects (s_client), CHECKOUTS / 11 + 1,
             (long long) (ph_now_ms () - start));
}

//  A DEALER connected to both frontends sends its requests round robin, so
//  the same CHECKOUT sent again reaches the other coordinator: the owner of
//  its partition runs one saga, the other answers not_owner, and there is
//  one authorization and one order
Test (e2e_partitions, one_checkout_through_one_dealer_on_two_coordinators_runs_one_saga)
{
    s_start ();
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    cr_assert_not_null (dealer);
    e2e_keep (&s_group, dealer);
    for (int m = 0; m < COORDINATORS; m++)
        cr_assert_eq (zsock_connect (dealer, "%s", s_frontends [m]), 0);
    zclock_sleep (200);                 //  both connected: round robin
    uint64_t k = 0;
    while (w1_expected (k).status != CK_STATUS_CONFIRMED)
        k++;
    ck_checkout_t checkout;
    w1_checkout (k, &checkout);
    ck_buf_t body;
    ck_buf_init (&body);
    cr_assert_eq (ck_encode_checkout (&checkout, &body), 0);
    for (int i = 0; i < 4; i++)
        cr_assert_eq (zsock_send (dealer, "zssb", CK_SIGNATURE_CLIENT, "CHECKOUT",
                                  body.data, body.size), 0);
    ck_buf_free (&body);

    //  not_owner from the other for each of its two, and the RESULT from
    //  the owner (one per connection that waits: both of its two may)
    int results = 0, not_owner = 0, others = 0;
    int64_t deadline = ph_now_ms () + 20000;
    while (ph_now_ms () < deadline && (results == 0 || not_owner < 2)) {
        zsock_set_rcvtimeo (dealer, (int) (deadline - ph_now_ms ()));
        char *signature = NULL, *command = NULL;
        zframe_t *reply = NULL;
        if (zsock_recv (dealer, "zssf", &signature, &command, &reply))
            break;
        static ck_result_t result;
        ck_error_t error;
        ck_decode_error_t err;
        if (streq (command, "RESULT") && reply
        &&  ck_decode_result (zframe_data (reply), zframe_size (reply), &result, &err) == 0) {
            results++;
            cr_expect_eq (result.status, CK_STATUS_CONFIRMED);
        }
        else
        if (streq (command, "ERROR") && reply
        &&  ck_decode_error (zframe_data (reply), zframe_size (reply), &error, &err) == 0
        &&  error.code == CK_NOT_OWNER)
            not_owner++;
        else
            others++;
        zstr_free (&signature);
        zstr_free (&command);
        zframe_destroy (&reply);
    }
    cr_expect_geq (results, 1, "the owner's RESULT (logs in %s)", s_group.dir);
    cr_expect_eq (not_owner, 2, "the other names the owner");
    cr_expect_eq (others, 0);
    cr_expect_eq (pg_query_int (s_log_uri, "SELECT count (*) FROM sagas"), 1, "one saga");
    cr_expect_eq (pg_query_int (s_uri [1], "SELECT count (*) FROM authorizations"), 1);
    cr_expect_eq (pg_query_int (s_uri [2], "SELECT count (*) FROM orders"), 1);
}

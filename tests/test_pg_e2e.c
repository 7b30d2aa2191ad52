/*  test_pg_e2e.c - end-to-end checkouts with the processes on PostgreSQL
    The real coordinator and participants on a throwaway cluster; a server
    restart; a coordinator SIGKILLed with its saga log on the server;
    retention on the server.
*/
#include <criterion/criterion.h>
#include "e2e_helpers.h"
#include "pg_helpers.h"

//  Generous bounds: the ASan build is several times slower
#define READY_MS    30000
#define RUN_MS      120000

static e2e_group_t s_group;
static e2e_book_t s_book;
static pg_cluster_t s_cluster;
static char s_uri [3][256];             //  inventory, payment, order
static char s_log_uri [256];            //  the coordinator's, when a test uses it

static const char *s_services [] = { "inventory", "payment", "order" };
static const char *const *s_participant_extra;     //  more flags, or NULL

static void
s_init (void)
{
    cr_assert_eq (e2e_group_init (&s_group, "ck-pg-e2e"), 0, "no temp dir");
    cr_assert_eq (pg_cluster_start (&s_cluster), 0, "no PostgreSQL cluster");
    for (int i = 0; i < 3; i++)
        cr_assert_eq (pg_cluster_createdb (&s_cluster, s_services [i], s_uri [i],
                                           sizeof s_uri [i]), 0);
}

static void
s_fini (void)
{
    e2e_book_fini (&s_book);
    e2e_group_fini (&s_group);
    pg_cluster_stop (&s_cluster);
}

TestSuite (pg_e2e, .init = s_init, .fini = s_fini, .timeout = 240);

//  Starts instance of service i on its PostgreSQL database
static void
s_start_participant (int i, const char *instance)
{
    char heartbeat [16], liveness [16], program [64];
    snprintf (heartbeat, sizeof heartbeat, "%d", s_group.heartbeat_ms);
    snprintf (liveness, sizeof liveness, "%d", s_group.liveness);
    snprintf (program, sizeof program, "checkout-%s", s_services [i]);
    const char *args [E2E_MAX_ARGS] = {
        "--coordinator", s_group.backend, "--db", s_uri [i], "--instance", instance,
        "--heartbeat-ms", heartbeat, "--liveness", liveness, NULL
    };
    int argc = 10;
    if (i == 0) {
        args [argc++] = "--seed";
        args [argc++] = s_group.seed;
    }
    e2e_args_append (args, &argc, s_participant_extra);
    cr_assert_geq (e2e_spawn (&s_group, instance, program, args), 0);
}

//  The coordinator (retrying a step long enough to outlive a database
//  restart) and instances of each participant
static ck_client_t *
s_start_with (int instances, const char *const *extra)
{
    cr_assert_geq (e2e_start_coordinator (&s_group, extra), 0);
    for (int n = 1; n <= instances; n++)
        for (int i = 0; i < 3; i++) {
            char instance [32];
            snprintf (instance, sizeof instance, "%s-%d", s_services [i], n);
            s_start_participant (i, instance);
        }
    cr_assert_eq (e2e_wait_ready (&s_group, instances, instances, instances, READY_MS), 0,
                  "the group did not come up (logs in %s)", s_group.dir);
    ck_client_t *client = e2e_client (&s_group);
    cr_assert_not_null (client);
    return client;
}

static ck_client_t *
s_start (int instances)
{
    const char *extra [] = { "--max-attempts", "50", NULL };
    return s_start_with (instances, extra);
}

static long long
s_sql (int i, const char *sql)
{
    long long value = pg_query_int (s_uri [i], sql);
    cr_assert_geq (value, 0, "query failed: %s", sql);
    return value;
}

//  Every RESULT as W1 plans it, and the databases agree with the RESULTs:
//  one order, one live authorization and one held reservation per
//  confirmed checkout, and the stock gone is what the held ones hold
static void
s_check (void)
{
    char first [E2E_PROBLEM_SIZE];
    int problems = e2e_check_plan (&s_book, first);
    cr_expect_eq (problems, 0, "%d problems; first: %s", problems, first);
    long long confirmed = 0;
    for (size_t k = 0; k < s_book.count; k++)
        confirmed += s_book.items [k].result.status == CK_STATUS_CONFIRMED;
    cr_expect_gt (confirmed, 0);
    cr_expect_eq (s_sql (2, "SELECT count (*) FROM orders"), confirmed);
    cr_expect_eq (s_sql (1, "SELECT count (*) FROM authorizations WHERE status = 'authorized'"),
                  confirmed);
    cr_expect_eq (s_sql (0, "SELECT count (*) FROM reservations WHERE status = 'held'"),
                  confirmed);
    long long gone = s_sql (0, "SELECT sum (1000000 - available) FROM stock"
                               " WHERE sku <> 'SKU-OOS'");
    long long held = s_sql (0, "SELECT coalesce (sum (l.qty), 0) FROM reservation_lines l"
                               " JOIN reservations r USING (reservation_id)"
                               " WHERE r.status = 'held'");
    cr_expect_eq (gone, held, "stock gone %lld, held %lld", gone, held);
    cr_expect_eq (s_sql (0, "SELECT count (*) FROM stock WHERE available < 0"), 0);
}

//  Runs checkout-bench --verify on the group's dir, the participants'
//  URIs in <service>.uri; returns its exit code and its output in *output
//  (owned by the caller)
static int
s_verify (char **output, size_t count)
{
    for (int i = 0; i < 3; i++) {
        char name [32], path [PATH_MAX];
        snprintf (name, sizeof name, "%s.uri", s_services [i]);
        e2e_path (&s_group, name, path, sizeof path);
        FILE *file = fopen (path, "w");
        cr_assert_not_null (file);
        fprintf (file, "%s\n", s_uri [i]);
        fclose (file);
    }
    char exe [PATH_MAX + 32], log [PATH_MAX];
    snprintf (exe, sizeof exe, "%s/checkout-bench", s_group.bin);
    e2e_path (&s_group, "verify.txt", log, sizeof log);
    unlink (log);
    char n [24];
    snprintf (n, sizeof n, "%zu", count);
    const char *argv [] = { exe, "--verify", "--data", s_group.dir, "--n", n, NULL };
    pid_t pid = ph_spawn (exe, (char *const *) argv, log);
    int status;
    cr_assert_eq (ph_wait (pid, 60000, &status), 0, "verify did not end");
    *output = ph_slurp (log);
    return ph_exit_code (status);
}

Test (pg_e2e, checkouts_complete_on_postgresql)
{
    ck_client_t *client = s_start (1);
    cr_assert_eq (e2e_book_init (&s_book, 300), 0);
    cr_assert_eq (e2e_drive (client, &s_book, 32, RUN_MS), 0,
                  "%zu of 300 terminal (logs in %s)", s_book.terminal, s_group.dir);
    s_check ();

    //  checkout-bench --verify reads the participants' databases too, and
    //  sees a unit of stock that went missing
    char *output = NULL;
    cr_expect_eq (s_verify (&output, 300), 0, "%s", output? output: "");
    cr_expect (output && strstr (output, "0 violations"), "%s", output? output: "");
    free (output);
    cr_assert_eq (s_sql (0, "WITH u AS (UPDATE stock SET available = available - 1"
                            " WHERE sku = 'SKU-0001' RETURNING 1) SELECT count (*) FROM u"), 1);
    cr_expect_eq (s_verify (&output, 300), 1, "%s", output? output: "");
    cr_expect (output && strstr (output, "violation: stock of SKU-0001"), "%s",
               output? output: "");
    free (output);
}

Test (pg_e2e, two_instances_per_service_share_the_databases)
{
    ck_client_t *client = s_start (2);
    cr_assert_eq (e2e_book_init (&s_book, 400), 0);
    cr_assert_eq (e2e_drive (client, &s_book, 48, RUN_MS), 0,
                  "%zu of 400 terminal (logs in %s)", s_book.terminal, s_group.dir);
    s_check ();
}

//  The server stops (sessions cut) and comes back while checkouts run:
//  the participants answer "error" meanwhile, reconnect, and the
//  coordinator's retries finish every checkout, nothing twice
Test (pg_e2e, a_server_restart_loses_nothing)
{
    ck_client_t *client = s_start (1);
    size_t count = 600;
    cr_assert_eq (e2e_book_init (&s_book, count), 0);
    cr_assert_eq (e2e_send_range (client, 0, count, false), count);
    //  let some finish, then restart under load
    int64_t deadline = ph_now_ms () + RUN_MS;
    while (s_book.terminal < count / 5 && ph_now_ms () < deadline)
        if (ck_client_recv (client, 1000) != CK_CMD_NONE)
            e2e_book_record (&s_book, ck_client_reply (client));
    cr_assert_lt (s_book.terminal, count, "all done before the restart: make the load longer");
    cr_assert_eq (pg_cluster_down (&s_cluster), 0);
    zclock_sleep (500);
    cr_assert_eq (pg_cluster_up (&s_cluster), 0);
    cr_assert_eq (e2e_book_wait (client, &s_book, e2e_all_terminal, RUN_MS), 0,
                  "%zu of %zu terminal (logs in %s)", s_book.terminal, count, s_group.dir);
    s_check ();
    for (int slot = 1; slot <= 3; slot++)
        cr_expect (e2e_running (&s_group, slot), "%s exited", s_group.names [slot]);
}

//  The saga log on the server: the coordinator is SIGKILLed mid-run and
//  started again on the same database; it resumes every running saga, the
//  client's repeated CHECKOUTs get the same sagas, and nothing is lost or
//  done twice
//  LIST through the coordinator with its log on the server, pages of 100
//  through the cursor: every saga once, newest first across the restart
//  (two saga id prefixes), each with its RESULT's status; and the failed
//  ones alone with --status failed
static void
s_check_list (ck_client_t *client, size_t count)
{
    ck_list_t request = { .limit = CK_MAX_LIST };
    size_t seen = 0, failed = 0;
    char last [CK_ID_SIZE] = "";
    for (int page = 0; page < 1000; page++) {
        cr_assert_eq (ck_client_list (client, &request, READY_MS), CK_CMD_SAGAS);
        const ck_sagas_t *sagas = &ck_client_reply (client)->sagas;
        for (uint32_t i = 0; i < sagas->saga_count; i++) {
            const ck_saga_summary_t *saga = &sagas->sagas [i];
            cr_assert (!last [0] || strcmp (saga->saga_id, last) < 0, "%s after %s",
                       saga->saga_id, last);
            snprintf (last, sizeof last, "%s", saga->saga_id);
            long k = e2e_book_index (&s_book, saga->checkout_id);
            cr_assert_geq (k, 0, "%s", saga->checkout_id);
            bool confirmed = s_book.items [k].result.status == CK_STATUS_CONFIRMED;
            cr_assert_eq (saga->status, confirmed? CK_SAGA_STATE_CONFIRMED
                                                 : CK_SAGA_STATE_FAILED);
            failed += !confirmed;
            seen++;
        }
        if (!sagas->next [0])
            break;
        memcpy (request.cursor, sagas->next, CK_ID_SIZE);
    }
    cr_expect_eq (seen, count);
    request = (ck_list_t) { .status = CK_SAGA_STATE_FAILED, .limit = CK_MAX_LIST };
    size_t listed = 0;
    for (int page = 0; page < 1000; page++) {
        cr_assert_eq (ck_client_list (client, &request, READY_MS), CK_CMD_SAGAS);
        const ck_sagas_t *sagas = &ck_client_reply (client)->sagas;
        for (uint32_t i = 0; i < sagas->saga_count; i++)
            cr_assert_eq (sagas->sagas [i].status, CK_SAGA_STATE_FAILED);
        listed += sagas->saga_count;
        if (!sagas->next [0])
            break;
        memcpy (request.cursor, sagas->next, CK_ID_SIZE);
    }
    cr_expect_eq (listed, failed);
}

Test (pg_e2e, a_coordinator_killed_with_its_log_on_postgresql_loses_nothing)
{
    cr_assert_eq (pg_cluster_createdb (&s_cluster, "coordinator", s_log_uri,
                                       sizeof s_log_uri), 0);
    s_group.coordinator_db = s_log_uri;
    ck_client_t *client = s_start (1);
    size_t count = 600;
    cr_assert_eq (e2e_book_init (&s_book, count), 0);
    cr_assert_eq (e2e_send_range (client, 0, count, false), count);
    int64_t deadline = ph_now_ms () + RUN_MS;
    while (s_book.terminal < count / 5 && ph_now_ms () < deadline)
        if (ck_client_recv (client, 1000) != CK_CMD_NONE)
            e2e_book_record (&s_book, ck_client_reply (client));
    cr_assert_lt (s_book.terminal, count, "all done before the kill: make the load longer");
    int slot = e2e_slot (&s_group, "coordinator");
    cr_assert_geq (slot, 0);
    cr_assert_eq (e2e_stop (&s_group, slot, SIGKILL, 10000), -1, "killed, not exited");
    long long logged = pg_query_int (s_log_uri, "SELECT count (*) FROM sagas");
    cr_expect_gt (logged, 0, "the sagas are on the server");

    const char *extra [] = { "--max-attempts", "50", NULL };
    cr_assert_geq (e2e_start_coordinator (&s_group, extra), 0);
    cr_assert_eq (e2e_wait_ready (&s_group, 1, 1, 1, READY_MS), 0,
                  "the group did not come back (logs in %s)", s_group.dir);
    //  a client asks again about what it has no answer for
    for (size_t k = 0; k < count; k++)
        if (!s_book.items [k].terminal)
            e2e_send_range (client, k, 1, false);
    cr_assert_eq (e2e_book_wait (client, &s_book, e2e_all_terminal, RUN_MS), 0,
                  "%zu of %zu terminal (logs in %s)", s_book.terminal, count, s_group.dir);
    s_check ();
    cr_expect_eq (pg_query_int (s_log_uri, "SELECT count (*) FROM sagas"), (long long) count,
                  "one saga per checkout");
    cr_expect_eq (pg_query_int (s_log_uri, "SELECT count (*) FROM sagas WHERE phase IN"
                                " ('running', 'compensating')"), 0);
    s_check_list (client, count);

    //  checkout-bench --verify reads the log from the server too
    char path [PATH_MAX];
    e2e_path (&s_group, "coordinator.uri", path, sizeof path);
    FILE *file = fopen (path, "w");
    cr_assert_not_null (file);
    fprintf (file, "%s\n", s_log_uri);
    fclose (file);
    char *output = NULL;
    cr_expect_eq (s_verify (&output, count), 0, "%s", output? output: "");
    free (output);
}

//  Retention with everything on the server: the coordinator deletes ended
//  sagas after 1 s, the participants their entries (and orders,
//  authorizations) after 2 s; the stock stays as the sagas left it
Test (pg_e2e, ended_sagas_and_ledger_entries_expire_on_postgresql)
{
    cr_assert_eq (pg_cluster_createdb (&s_cluster, "coordinator", s_log_uri,
                                       sizeof s_log_uri), 0);
    s_group.coordinator_db = s_log_uri;
    const char *participant [] = { "--retention", "2", "--allow-short-retention", NULL };
    s_participant_extra = participant;
    const char *coordinator [] = { "--retention", "1", NULL };
    ck_client_t *client = s_start_with (1, coordinator);
    cr_assert_eq (e2e_book_init (&s_book, 300), 0);
    cr_assert_eq (e2e_drive (client, &s_book, 32, RUN_MS), 0,
                  "%zu of 300 terminal (logs in %s)", s_book.terminal, s_group.dir);
    long long taken = s_sql (0, "SELECT sum (1000000 - available) FROM stock"
                                " WHERE sku <> 'SKU-OOS'");
    cr_expect_gt (taken, 0);
    long long sagas = -1, entries = -1, orders = -1, authorizations = -1;
    int64_t deadline = ph_now_ms () + 15000;
    while (ph_now_ms () < deadline) {
        sagas = pg_query_int (s_log_uri, "SELECT count (*) FROM sagas");
        entries = s_sql (0, "SELECT count (*) FROM ledger");
        orders = s_sql (2, "SELECT count (*) FROM order_details");
        authorizations = s_sql (1, "SELECT count (*) FROM authorization_details");
        if (sagas == 0 && entries <= 1 && orders <= 1 && authorizations <= 1)
            break;
        zclock_sleep (250);
    }
    cr_expect_eq (sagas, 0, "the log keeps %lld sagas", sagas);
    cr_expect_eq (pg_query_int (s_log_uri, "SELECT count (*) FROM saga_ends"), 0);
    cr_expect_leq (entries, 1, "the inventory keeps %lld entries (the newest may stay)", entries);
    cr_expect_leq (orders, 1, "the order keeps %lld", orders);
    cr_expect_leq (authorizations, 1, "the payment keeps %lld", authorizations);
    cr_expect_eq (s_sql (0, "SELECT sum (1000000 - available) FROM stock"
                            " WHERE sku <> 'SKU-OOS'"), taken, "the stock is never touched");
    s_participant_extra = NULL;
}

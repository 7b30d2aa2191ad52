/*  test_coordinators_netns.c - a coordinator cut off by the network: fenced, then back
    Three hosts as network namespaces; c2's link goes down under load and comes back.

    Host a runs the throwaway PostgreSQL (on a's address) and coordinator
    c1, host b coordinator c2, host c coordinator c3 and the three
    participants (their stores on a's server), connected to all three
    coordinators.  The test itself joins host a's namespace: its client
    (a connection per frontend, following not_owner as test_coordinators.c
    does) and its queries go over the hosts' addresses like any program of
    host a.  Under W1 load, host b's link goes down: c2 hears nothing more,
    neither from the server nor from anyone.  The others must take all its
    partitions; c2 must write nothing under the leases it lost; once the
    link is back c2 must get a share again, and every checkout end once.

    Needs root, the ip tool and PostgreSQL's server: without them the test
    says why and passes.  s_fini kills by PID what the test started and
    whatever still runs inside its namespaces, then deletes them.
*/
#include <criterion/criterion.h>
#include "e2e_helpers.h"
#include "netns_helpers.h"
#include "pg_helpers.h"

#define HOST_A          0
#define HOST_B          1
#define HOST_C          2
#define COORDINATORS    3
#define PARTITIONS      64
#define CHECKOUTS       1800
#define FIRST           1200            //  sent before the cut; the rest after c2 is back
#define READY_MS        30000
#define RUN_MS          60000
#define RESEND_MS       5000            //  a checkout without answer is sent again
#define BOUNCE_MS       300             //  after not_owner naming no one
//  Takeover and rejoin bounds, generous on a shared 2-core machine: lease
//  TTL (3 s) + member liveness (3 s, from the same round trip) + a renewal
#define TAKEOVER_MS     15000
#define REJOIN_MS       15000

static const char *s_services [] = { "inventory", "payment", "order" };

static struct {
    e2e_group_t group;                  //  dir, bin, seed, processes, clients
    e2e_book_t book;
    nh_net_t net;
    pg_cluster_t pg;
    int home;                           //  the test's own namespace, while in a
    char uri [3][128];                  //  inventory, payment, order
    char log_uri [128];                 //  the coordinators' saga log
} s_ctx = { .home = -1 };

//  One coordinator, on host h == its index
typedef struct {
    char name [8];                      //  its --instance, c1..c3
    char frontend [64], backend [64], events [64];
    int slot;
    ck_client_t *client;                //  borrowed from the group
    bool down;                          //  cut off by the test
} member_t;

static member_t s_members [COORDINATORS];

//  Where each checkout was sent last, and when
typedef struct {
    int target;
    int64_t sent_ms;
    int64_t resend_ms;                  //  0: no resend planned
} route_t;

static route_t *s_routes;

static void
s_fini (void)
{
    free (s_routes);
    s_routes = NULL;
    e2e_book_fini (&s_ctx.book);
    //  the processes first, the server next, the namespaces last
    for (int i = 0; i < E2E_MAX_PROCS; i++)
        ph_kill_reap (&s_ctx.group.pids [i]);
    for (int i = 0; i < E2E_MAX_CLIENTS; i++)
        ck_client_destroy (&s_ctx.group.clients [i]);
    pg_cluster_stop (&s_ctx.pg);
    nh_leave (&s_ctx.home);
    if (s_ctx.net.made)
        nh_net_down (&s_ctx.net);
    e2e_group_fini (&s_ctx.group);
}

TestSuite (coordinators_netns, .fini = s_fini, .timeout = 240);

//  Runs program with argv inside host h, output in <dir>/<out>.out; its
//  exit code, or -1 when it outlived timeout_ms (then killed)
static int
s_run_in (int h, const char *out, int timeout_ms, const char *const *argv)
{
    char stem [64], log [PATH_MAX];
    snprintf (stem, sizeof stem, "%s.out", out);
    e2e_path (&s_ctx.group, stem, log, sizeof log);
    pid_t pid = nh_spawn (&s_ctx.net, h, argv [0], (char *const *) argv, log);
    int status = 0;
    if (pid <= 0 || ph_wait (pid, timeout_ms, &status)) {
        ph_kill_reap (&pid);
        return -1;
    }
    return ph_exit_code (status);
}

//  As e2e_spawn, inside host h; the group kills it at the end
static int
s_spawn_in (int h, const char *name, const char *program, const char *const *args)
{
    e2e_group_t *g = &s_ctx.group;
    int slot = 0;
    while (slot < E2E_MAX_PROCS && g->pids [slot] > 0)
        slot++;
    cr_assert_lt (slot, E2E_MAX_PROCS);
    char exe [PATH_MAX + 64], stem [48], log [PATH_MAX];
    snprintf (exe, sizeof exe, "%s/%s", g->bin, program);
    snprintf (stem, sizeof stem, "%s.log", name);
    e2e_path (g, stem, log, sizeof log);
    const char *argv [E2E_MAX_ARGS] = { exe };
    int argc = 1;
    for (; args && *args && argc < E2E_MAX_ARGS - 1; args++)
        argv [argc++] = *args;
    argv [argc] = NULL;
    g->pids [slot] = nh_spawn (&s_ctx.net, h, exe, (char *const *) argv, log);
    cr_assert_gt (g->pids [slot], 0);
    snprintf (g->names [slot], sizeof g->names [slot], "%s", name);
    return slot;
}

//  False, with the reason printed, when this machine cannot run the test
static bool
s_can_run (void)
{
    const char *missing = geteuid () != 0? "root (network namespaces)"
                        : nh_net_new (&s_ctx.net)? "the ip tool"
                        : !pg_binaries_found ()? "PostgreSQL's server": NULL;
    if (missing)
        fprintf (stderr, "coordinators_netns: not run: needs %s\n", missing);
    return missing == NULL;
}

//  The namespaces, PostgreSQL on a's address with the four databases, and
//  the test inside host a
static void
s_setup (void)
{
    e2e_group_t *g = &s_ctx.group;
    cr_assert_eq (e2e_group_init (g, "ck-cnetns"), 0, "no temp dir");
    chmod (g->dir, 0755);               //  the server runs as postgres
    char log [PATH_MAX];
    e2e_path (g, "ip.out", log, sizeof log);
    cr_assert_eq (nh_net_up (&s_ctx.net, log), 0, "cannot make namespaces (see %s)", log);

    pg_cluster_t *pg = &s_ctx.pg;
    snprintf (pg->dir, sizeof pg->dir, "%.56s/pg", g->dir);
    cr_assert_eq (ph_source_file ("scripts/pg", pg->script, sizeof pg->script), 0);
    pg->port = 5432;                    //  free: host a is a namespace of its own
    const char *address = s_ctx.net.address [HOST_A];
    const char *start [] = { pg->script, "start", pg->dir, "--port", "5432",
                             "--listen", address, NULL };
    cr_assert_eq (s_run_in (HOST_A, "pg-start", 60000, start), 0,
                  "scripts/pg start failed (see %s/pg-start.out)", g->dir);
    pg->postmaster = pg_cluster_pid (pg);
    const char *names [] = { "inventory", "payment", "order", "coordinator" };
    for (int i = 0; i < 4; i++) {
        const char *createdb [] = { pg->script, "createdb", pg->dir, names [i], NULL };
        cr_assert_eq (s_run_in (HOST_A, "pg-createdb", 30000, createdb), 0);
        snprintf (i < 3? s_ctx.uri [i]: s_ctx.log_uri, sizeof s_ctx.log_uri,
                  "postgresql://ck@%s:5432/%s", address, names [i]);
    }
    //  before any ZeroMQ socket: the context's threads start where the
    //  first socket is made
    s_ctx.home = nh_enter (&s_ctx.net, HOST_A);
    cr_assert_geq (s_ctx.home, 0, "cannot enter host a");
}

static void
s_start_coordinator (int m)
{
    member_t *member = &s_members [m];
    char heartbeat [16], liveness [16];
    snprintf (heartbeat, sizeof heartbeat, "%d", s_ctx.group.heartbeat_ms);
    snprintf (liveness, sizeof liveness, "%d", s_ctx.group.liveness);
    const char *args [] = {
        "--frontend", member->frontend, "--backend", member->backend,
        "--events", member->events, "--db", s_ctx.log_uri, "--instance", member->name,
        "--partitions", "64", "--heartbeat-ms", heartbeat, "--liveness", liveness,
        "--max-attempts", "50", NULL
    };
    member->slot = s_spawn_in (m, member->name, "checkout-coordinator", args);
}

//  Instance 1 of service i on host c, connected to every coordinator
static void
s_start_participant (int i)
{
    char heartbeat [16], liveness [16], program [64], instance [32];
    snprintf (heartbeat, sizeof heartbeat, "%d", s_ctx.group.heartbeat_ms);
    snprintf (liveness, sizeof liveness, "%d", s_ctx.group.liveness);
    snprintf (program, sizeof program, "checkout-%s", s_services [i]);
    snprintf (instance, sizeof instance, "%s-1", s_services [i]);
    const char *args [E2E_MAX_ARGS] = {
        "--coordinator", s_members [0].backend, "--coordinator", s_members [1].backend,
        "--coordinator", s_members [2].backend, "--db", s_ctx.uri [i], "--instance", instance,
        "--heartbeat-ms", heartbeat, "--liveness", liveness, NULL
    };
    if (i == 0) {
        args [14] = "--seed";
        args [15] = s_ctx.group.seed;
        args [16] = NULL;
    }
    s_spawn_in (HOST_C, instance, program, args);
}

//  Partitions whose live lease owner holds
static long long
s_held_by (const char *owner)
{
    char sql [160];
    snprintf (sql, sizeof sql, "SELECT count (*) FROM saga_partitions WHERE"
              " expires_at > now () AND owner = '%.8s'", owner);
    return pg_query_int (s_ctx.log_uri, sql);
}

//  Partitions held by the coordinators not cut off
static long long
s_held_by_live (void)
{
    long long held = 0;
    for (int m = 0; m < COORDINATORS; m++)
        if (!s_members [m].down)
            held += s_held_by (s_members [m].name);
    return held;
}

//  True when every coordinator not cut off holds a share and together all
static bool
s_balanced (void)
{
    long long held = 0;
    for (int m = 0; m < COORDINATORS; m++) {
        if (s_members [m].down)
            continue;
        long long mine = s_held_by (s_members [m].name);
        if (mine <= 0)
            return false;
        held += mine;
    }
    return held == PARTITIONS;
}

//  The server's clock in ms: lease times are the server's, so are the
//  audit's
static long long
s_server_ms (void)
{
    return pg_query_int (s_ctx.log_uri, "SELECT (extract (epoch FROM clock_timestamp ())"
                         " * 1000)::bigint");
}

//  Every row a coordinator writes to the log (a saga created or moved on,
//  a saga's end) is copied to saga_audit with the writer's address and
//  the lease row of its partition as the writing transaction sees it.
//  The fence locked that row FOR SHARE earlier in the same transaction, so
//  it is the lease the write is made under; were the fence bypassed, it
//  would be the new owner's.  A transaction rolled back (fenced) leaves
//  no audit row.  Each host runs one coordinator, so the address names it.
static void
s_audit (void)
{
    const char *sql =
        "CREATE TABLE saga_audit (at_ms bigint, client text, tbl text, partition int,"
        " owner text, epoch bigint);"
        "CREATE FUNCTION saga_audit_row () RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN"
        " INSERT INTO saga_audit SELECT (extract (epoch FROM clock_timestamp ()) * 1000)"
        "::bigint, host (inet_client_addr ()), TG_TABLE_NAME, NEW.partition, p.owner,"
        " p.epoch FROM saga_partitions p WHERE p.partition = NEW.partition;"
        " RETURN NULL; END $$;"
        "CREATE TRIGGER saga_audit_sagas AFTER INSERT OR UPDATE ON sagas"
        " FOR EACH ROW EXECUTE FUNCTION saga_audit_row ();"
        "CREATE TRIGGER saga_audit_ends AFTER INSERT ON saga_ends"
        " FOR EACH ROW EXECUTE FUNCTION saga_audit_row ();";
    cr_assert_eq (pg_query_exec (s_ctx.log_uri, sql), 0, "cannot audit the log");
}

//  Coordinators on a, b and c, the participants on c, a client per
//  frontend; returns once each serves every step and they share the
//  partitions
static void
s_start (void)
{
    for (int m = 0; m < COORDINATORS; m++) {
        member_t *member = &s_members [m];
        const char *address = s_ctx.net.address [m];
        snprintf (member->name, sizeof member->name, "c%d", m + 1);
        snprintf (member->frontend, sizeof member->frontend, "tcp://%s:5570", address);
        snprintf (member->backend, sizeof member->backend, "tcp://%s:5571", address);
        snprintf (member->events, sizeof member->events, "tcp://%s:5572", address);
        s_start_coordinator (m);
    }
    for (int i = 0; i < 3; i++)
        s_start_participant (i);
    int64_t deadline = ph_now_ms () + READY_MS;
    for (int m = 0; m < COORDINATORS; m++) {
        member_t *member = &s_members [m];
        snprintf (s_ctx.group.frontend, sizeof s_ctx.group.frontend, "%s", member->frontend);
        member->client = e2e_client (&s_ctx.group);
        cr_assert_not_null (member->client);
        bool served = false;
        while (!served && ph_now_ms () < deadline)
            served = ck_client_ping (member->client, 250) == CK_CMD_PONG
                  && ck_client_reply (member->client)->pong.unserved_count == 0;
        cr_assert (served, "%s does not serve (logs in %s)", member->name, s_ctx.group.dir);
    }
    while (!s_balanced () && ph_now_ms () < deadline)
        zclock_sleep (100);
    cr_assert (s_balanced (), "the partitions are not shared (logs in %s)", s_ctx.group.dir);
}

//  -------------------------------------------------------------------------
//  The client: a connection per frontend, not_owner followed

//  The member whose frontend is endpoint, or -1
static int
s_member_of (const char *endpoint)
{
    for (int m = 0; m < COORDINATORS; m++)
        if (streq (s_members [m].frontend, endpoint))
            return m;
    return -1;
}

//  The first coordinator not cut off from m on
static int
s_up_from (int m)
{
    for (int step = 0; step < COORDINATORS; step++) {
        int candidate = (m + step) % COORDINATORS;
        if (!s_members [candidate].down)
            return candidate;
    }
    return -1;
}

static void
s_send (size_t k, int target)
{
    target = s_up_from (target);
    cr_assert_geq (target, 0);
    s_routes [k] = (route_t) { target, ph_now_ms (), 0 };
    cr_assert_eq (e2e_send_range (s_members [target].client, k, 1, false), 1);
}

//  Files a reply; follows not_owner
static void
s_reply (const ck_client_reply_t *reply)
{
    e2e_book_record (&s_ctx.book, reply);
    if (reply->command != CK_CMD_ERROR)
        return;
    long k = e2e_book_index (&s_ctx.book, reply->error.checkout_id);
    if (k < 0 || s_ctx.book.items [k].terminal)
        return;
    int owner = reply->error.code == CK_NOT_OWNER? s_member_of (reply->error.owner): -1;
    if (owner >= 0 && !s_members [owner].down)
        s_send ((size_t) k, owner);
    else
        s_routes [k].resend_ms = ph_now_ms () + BOUNCE_MS;
}

//  Takes what the clients have, for up to wait_ms, and resends what is due
static void
s_pump (int wait_ms)
{
    zmq_pollitem_t items [COORDINATORS];
    for (int m = 0; m < COORDINATORS; m++)
        items [m] = (zmq_pollitem_t) { zsock_resolve (ck_client_socket (s_members [m].client)),
                                       0, ZMQ_POLLIN, 0 };
    if (zmq_poll (items, COORDINATORS, wait_ms) > 0)
        for (int m = 0; m < COORDINATORS; m++)
            while (ck_client_recv (s_members [m].client, 0) != CK_CMD_NONE)
                s_reply (ck_client_reply (s_members [m].client));
    int64_t now = ph_now_ms ();
    for (size_t k = 0; k < s_ctx.book.count; k++) {
        route_t *route = &s_routes [k];
        if (s_ctx.book.items [k].terminal || route->sent_ms == 0)
            continue;
        if (route->resend_ms && now >= route->resend_ms)
            s_send (k, route->target + 1);
        else
        if (now - route->sent_ms >= RESEND_MS)
            s_send (k, s_members [route->target].down? route->target + 1: route->target);
    }
}

//  Sends checkouts first..last-1 round robin
static void
s_send_range (size_t first, size_t last)
{
    for (size_t k = first; k < last; k++)
        s_send (k, (int) (k % COORDINATORS));
}

//  Sends the first FIRST checkouts, then pumps until a quarter of them is
//  terminal
static void
s_load (void)
{
    cr_assert_eq (e2e_book_init (&s_ctx.book, CHECKOUTS), 0);
    s_routes = (route_t *) calloc (CHECKOUTS, sizeof (route_t));
    cr_assert_not_null (s_routes);
    s_send_range (0, FIRST);
    int64_t deadline = ph_now_ms () + RUN_MS;
    while (s_ctx.book.terminal < FIRST / 4 && ph_now_ms () < deadline)
        s_pump (100);
    cr_assert_lt (s_ctx.book.terminal, FIRST * 2 / 3, "too much done already: make the load"
                  " longer");
}

//  Pumps until every checkout is terminal
static void
s_finish (void)
{
    int64_t deadline = ph_now_ms () + RUN_MS;
    while (s_ctx.book.terminal < s_ctx.book.count && ph_now_ms () < deadline)
        s_pump (100);
    cr_assert_eq (s_ctx.book.terminal, s_ctx.book.count, "%zu of %zu terminal (logs in %s)",
                  s_ctx.book.terminal, s_ctx.book.count, s_ctx.group.dir);
}

//  -------------------------------------------------------------------------
//  Checks

//  The participants' databases agree with the RESULTs, one saga each
static void
s_check (void)
{
    char first [E2E_PROBLEM_SIZE];
    int problems = e2e_check_plan (&s_ctx.book, first);
    cr_expect_eq (problems, 0, "%d problems; first: %s", problems, first);
    long long confirmed = 0;
    for (size_t k = 0; k < s_ctx.book.count; k++)
        confirmed += s_ctx.book.items [k].result.status == CK_STATUS_CONFIRMED;
    cr_expect_gt (confirmed, 0);
    cr_expect_eq (pg_query_int (s_ctx.uri [2], "SELECT count (*) FROM orders"), confirmed);
    cr_expect_eq (pg_query_int (s_ctx.uri [1], "SELECT count (*) FROM authorizations"
                                " WHERE status = 'authorized'"), confirmed);
    cr_expect_eq (pg_query_int (s_ctx.uri [0], "SELECT count (*) FROM reservations"
                                " WHERE status = 'held'"), confirmed);
    cr_expect_eq (pg_query_int (s_ctx.log_uri, "SELECT count (*) FROM sagas"),
                  (long long) s_ctx.book.count, "one saga per checkout");
    cr_expect_eq (pg_query_int (s_ctx.log_uri, "SELECT count (*) FROM sagas WHERE phase IN"
                                " ('running', 'compensating')"), 0);
}

//  checkout-bench --verify over the four databases, run from host a like
//  the test: 0 when it passes
static int
s_verify (void)
{
    const char *names [] = { "inventory.uri", "payment.uri", "order.uri", "coordinator.uri" };
    const char *uris [] = { s_ctx.uri [0], s_ctx.uri [1], s_ctx.uri [2], s_ctx.log_uri };
    for (int i = 0; i < 4; i++) {
        char path [PATH_MAX];
        e2e_path (&s_ctx.group, names [i], path, sizeof path);
        FILE *file = fopen (path, "w");
        cr_assert_not_null (file);
        fprintf (file, "%s\n", uris [i]);
        fclose (file);
    }
    char exe [PATH_MAX + 32], n [24];
    snprintf (exe, sizeof exe, "%s/checkout-bench", s_ctx.group.bin);
    snprintf (n, sizeof n, "%zu", s_ctx.book.count);
    const char *argv [] = { exe, "--verify", "--data", s_ctx.group.dir, "--n", n, NULL };
    int rc = s_run_in (HOST_A, "verify", 60000, argv);
    char path [PATH_MAX];
    e2e_path (&s_ctx.group, "verify.out", path, sizeof path);
    char *output = ph_slurp (path);
    cr_expect (output && strstr (output, " 0 violations"), "%s", output? output: "");
    free (output);
    return rc;
}

//  Audit rows matching the condition (SQL over saga_audit's columns)
static long long
s_audited (const char *condition)
{
    char sql [512];
    snprintf (sql, sizeof sql, "SELECT count (*) FROM saga_audit WHERE %s", condition);
    return pg_query_int (s_ctx.log_uri, sql);
}

//  The member m log holds text
static bool
s_logged (int m, const char *text)
{
    char stem [32], path [PATH_MAX];
    snprintf (stem, sizeof stem, "%s.log", s_members [m].name);
    e2e_path (&s_ctx.group, stem, path, sizeof path);
    char *log = ph_slurp (path);
    bool found = log && strstr (log, text);
    free (log);
    return found;
}

//  -------------------------------------------------------------------------

//  Host b's link goes down with checkouts in flight.  c2's renewals and
//  commits reach no one: its leases run out on the server and c1 and c3
//  claim its partitions under new epochs.  The link comes back: c2's
//  stale requests, if any were stuck in its connection, reach the server
//  and meet the fence; c2 finds it holds nothing, plans with the others
//  and claims a share again.
Test (coordinators_netns, a_coordinator_cut_off_is_fenced_out_and_rejoins)
{
    if (!s_can_run ())
        return;
    s_setup ();
    s_start ();
    s_audit ();
    s_load ();

    //  the cut; then what c2 held, under which epochs
    int64_t cut_ms = ph_now_ms ();
    cr_assert_eq (nh_link (&s_ctx.net, HOST_B, false), 0);
    s_members [1].down = true;
    size_t done_at_cut = s_ctx.book.terminal;
    cr_assert_eq (pg_query_exec (s_ctx.log_uri, "CREATE TABLE c2_at_cut AS SELECT partition, epoch"
                           " FROM saga_partitions WHERE owner = 'c2'"), 0);
    long long c2_held = pg_query_int (s_ctx.log_uri, "SELECT count (*) FROM c2_at_cut");
    cr_assert_gt (c2_held, 0, "c2 held nothing when cut off");

    int64_t deadline = cut_ms + TAKEOVER_MS;
    while (s_held_by_live () < PARTITIONS && ph_now_ms () < deadline)
        s_pump (50);
    int64_t takeover_ms = ph_now_ms () - cut_ms;
    long long taken_at = s_server_ms ();
    fprintf (stderr, "coordinators_netns: c2 cut off at %zu of %d checkouts -> c1 and c3 hold"
             " all %d partitions in %" PRId64 " ms (c2 held %lld; lease TTL 3000 ms)\n",
             done_at_cut, CHECKOUTS, PARTITIONS, takeover_ms, c2_held);
    cr_assert_eq (s_held_by_live (), PARTITIONS, "c1 and c3 do not hold every partition"
                  " %d ms after the cut (logs in %s)", TAKEOVER_MS, s_ctx.group.dir);
    //  every partition c2 held moved: another owner, a later epoch, so
    //  the fence refuses any commit c2 still has on its way
    cr_expect_eq (pg_query_int (s_ctx.log_uri, "SELECT count (*) FROM c2_at_cut c JOIN"
                                " saga_partitions p USING (partition) WHERE p.owner <> 'c2'"
                                " AND p.epoch > c.epoch"), c2_held);

    //  the others go on for a while without c2
    int64_t until = ph_now_ms () + 2000;
    while (ph_now_ms () < until)
        s_pump (100);
    long long up_at = s_server_ms ();
    int64_t up_ms = ph_now_ms ();
    cr_assert_eq (nh_link (&s_ctx.net, HOST_B, true), 0);
    s_members [1].down = false;
    deadline = up_ms + REJOIN_MS;
    while (!s_balanced () && ph_now_ms () < deadline)
        s_pump (100);
    int64_t rejoin_ms = ph_now_ms () - up_ms;
    fprintf (stderr, "coordinators_netns: link of b up -> c2 holds %lld partitions again in"
             " %" PRId64 " ms\n", s_held_by ("c2"), rejoin_ms);
    cr_assert (s_balanced (), "c2 did not get a share again within %d ms (logs in %s)",
               REJOIN_MS, s_ctx.group.dir);

    //  the rest of the load, a third of it for c2's partitions
    s_send_range (FIRST, CHECKOUTS);
    s_finish ();
    //  No write under a lease its writer did not hold, the whole run: each
    //  audited row's lease names the coordinator of the host that wrote it
    char condition [256];
    for (int m = 0; m < COORDINATORS; m++) {
        snprintf (condition, sizeof condition, "client = '%.19s'"
                  " AND owner IS DISTINCT FROM '%.7s'", s_ctx.net.address [m],
                  s_members [m].name);
        cr_expect_eq (s_audited (condition), 0, "%s wrote under another's lease",
                      s_members [m].name);
    }
    //  c2 wrote nothing from the takeover until the link came back, and
    //  nothing ever after it under an epoch it held at the cut
    snprintf (condition, sizeof condition, "client = '%.19s' AND at_ms >= %lld AND at_ms <= %lld",
              s_ctx.net.address [HOST_B], taken_at, up_at);
    cr_expect_eq (s_audited (condition), 0, "c2 wrote while cut off");
    snprintf (condition, sizeof condition, "client = '%.19s' AND at_ms >= %lld AND (partition,"
              " epoch) IN (SELECT partition, epoch FROM c2_at_cut)",
              s_ctx.net.address [HOST_B], taken_at);
    cr_expect_eq (s_audited (condition), 0, "c2 wrote under a lease it lost");
    snprintf (condition, sizeof condition, "client = '%.19s' AND at_ms > %lld",
              s_ctx.net.address [HOST_B], up_at);
    long long c2_after = s_audited (condition);
    cr_expect_gt (c2_after, 0, "c2 wrote nothing once back");
    snprintf (condition, sizeof condition, "client = '%.19s'", s_ctx.net.address [HOST_B]);
    fprintf (stderr, "coordinators_netns: %lld log rows written by c2 in all, %lld of them"
             " after the link came back, none while cut off; c2's log %s \"fenced\"\n",
             s_audited (condition), c2_after, s_logged (1, "fenced")? "says": "does not say");
    s_check ();
    cr_expect_eq (s_verify (), 0);
    for (int m = 0; m < COORDINATORS; m++)
        cr_expect (e2e_running (&s_ctx.group, s_members [m].slot), "%s exited",
                   s_members [m].name);
}

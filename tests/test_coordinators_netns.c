/*  test_coordinators_netns.c - a coordinator cut off by the network: fenced, then back
    Three hosts as network namespaces; c2's link goes down under load and comes back.

    Host a runs the throwaway PostgreSQL (on a's address) and coordinator
    c1, host b coordinator c2, host c coordinator c3 and the three
    participants (their stores on a's server), connected to all three
    coordinators.  The test itself joins host a's namespace: its client
    (members_helpers.h's: a connection per frontend, following not_owner)
    and its queries go over the hosts' addresses like any program of
    host a.  Under W1 load, host b's link goes down: c2 hears nothing more,
    neither from the server nor from anyone.  The others must take all its
    partitions; c2 must write nothing under the leases it lost; once the
    link is back c2 must get a share again, and every checkout end once.

    Needs root, the ip tool and PostgreSQL's server: without them the test
    says why and passes.  s_fini kills by PID what the test started and
    whatever still runs inside its namespaces, then deletes them.
*/
#include <criterion/criterion.h>
#include "members_helpers.h"
#include "netns_helpers.h"

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

//  Coordinator m on host m
static cm_t s_cm = { .count = COORDINATORS, .partitions = PARTITIONS, .log_uri = s_ctx.log_uri,
                     .book = &s_ctx.book, .resend_ms = RESEND_MS, .bounce_ms = BOUNCE_MS };


static void
s_fini (void)
{
    cm_fini (&s_cm);
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
    return nh_run (&s_ctx.net, h, argv, log, timeout_ms);
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
    cm_member_t *member = &s_cm.members [m];
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
        "--coordinator", s_cm.members [0].backend, "--coordinator", s_cm.members [1].backend,
        "--coordinator", s_cm.members [2].backend, "--db", s_ctx.uri [i], "--instance", instance,
        "--heartbeat-ms", heartbeat, "--liveness", liveness, NULL
    };
    if (i == 0) {
        args [14] = "--seed";
        args [15] = s_ctx.group.seed;
        args [16] = NULL;
    }
    s_spawn_in (HOST_C, instance, program, args);
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
        cm_member_t *member = &s_cm.members [m];
        const char *address = s_ctx.net.address [m];
        snprintf (member->name, sizeof member->name, "c%d", m + 1);
        snprintf (member->frontend, sizeof member->frontend, "tcp://%s:5570", address);
        snprintf (member->backend, sizeof member->backend, "tcp://%s:5571", address);
        snprintf (member->events, sizeof member->events, "tcp://%s:5572", address);
        s_start_coordinator (m);
    }
    for (int i = 0; i < 3; i++)
        s_start_participant (i);
    char problem [E2E_PROBLEM_SIZE];
    cr_assert_eq (cm_wait_serving (&s_cm, &s_ctx.group, READY_MS, problem), 0, "%s", problem);
}

//  Sends the first FIRST checkouts, then pumps until a quarter of them is
//  terminal
static void
s_load (void)
{
    cr_assert_eq (e2e_book_init (&s_ctx.book, CHECKOUTS), 0);
    cr_assert_eq (cm_routes_new (&s_cm), 0);
    cr_assert_eq (cm_send_range (&s_cm, 0, FIRST), 0);
    int64_t deadline = ph_now_ms () + RUN_MS;
    while (s_ctx.book.terminal < FIRST / 4 && ph_now_ms () < deadline)
        cm_pump (&s_cm, 100);
    cr_assert_lt (s_ctx.book.terminal, FIRST * 2 / 3, "too much done already: make the load"
                  " longer");
}

//  Pumps until every checkout is terminal
static void
s_finish (void)
{
    cr_assert_eq (cm_finish (&s_cm, RUN_MS), 0, "%zu of %zu terminal (logs in %s)",
                  s_ctx.book.terminal, s_ctx.book.count, s_ctx.group.dir);
}

//  -------------------------------------------------------------------------
//  Checks

//  The stores agree with the RESULTs, one saga per checkout
static void
s_check (void)
{
    char first [E2E_PROBLEM_SIZE];
    const char *const uris [3] = { s_ctx.uri [0], s_ctx.uri [1], s_ctx.uri [2] };
    int problems = cm_check_stores (&s_cm, uris, first);
    cr_expect_eq (problems, 0, "%d problems; first: %s", problems, first);
}

//  checkout-bench --verify over the four databases, run from host a like
//  the test: 0 when it passes
static int
s_verify (void)
{
    const char *const uris [3] = { s_ctx.uri [0], s_ctx.uri [1], s_ctx.uri [2] };
    cr_assert_eq (cm_write_uris (&s_cm, &s_ctx.group, uris), 0);
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
    snprintf (stem, sizeof stem, "%s.log", s_cm.members [m].name);
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
    if (!nh_can_run (&s_ctx.net, "coordinators_netns",
                     pg_binaries_found ()? NULL: "PostgreSQL's server"))
        return;
    s_setup ();
    s_start ();
    s_audit ();
    s_load ();

    //  the cut; then what c2 held, under which epochs
    int64_t cut_ms = ph_now_ms ();
    cr_assert_eq (nh_link (&s_ctx.net, HOST_B, false), 0);
    s_cm.members [1].down = true;
    size_t done_at_cut = s_ctx.book.terminal;
    cr_assert_eq (pg_query_exec (s_ctx.log_uri, "CREATE TABLE c2_at_cut AS SELECT partition, epoch"
                           " FROM saga_partitions WHERE owner = 'c2'"), 0);
    long long c2_held = pg_query_int (s_ctx.log_uri, "SELECT count (*) FROM c2_at_cut");
    cr_assert_gt (c2_held, 0, "c2 held nothing when cut off");

    int64_t deadline = cut_ms + TAKEOVER_MS;
    while (cm_held_by_live (&s_cm) < PARTITIONS && ph_now_ms () < deadline)
        cm_pump (&s_cm, 50);
    int64_t takeover_ms = ph_now_ms () - cut_ms;
    long long taken_at = s_server_ms ();
    fprintf (stderr, "coordinators_netns: c2 cut off at %zu of %d checkouts -> c1 and c3 hold"
             " all %d partitions in %" PRId64 " ms (c2 held %lld; lease TTL 3000 ms)\n",
             done_at_cut, CHECKOUTS, PARTITIONS, takeover_ms, c2_held);
    cr_assert_eq (cm_held_by_live (&s_cm), PARTITIONS, "c1 and c3 do not hold every partition"
                  " %d ms after the cut (logs in %s)", TAKEOVER_MS, s_ctx.group.dir);
    //  every partition c2 held moved: another owner, a later epoch, so
    //  the fence refuses any commit c2 still has on its way
    cr_expect_eq (pg_query_int (s_ctx.log_uri, "SELECT count (*) FROM c2_at_cut c JOIN"
                                " saga_partitions p USING (partition) WHERE p.owner <> 'c2'"
                                " AND p.epoch > c.epoch"), c2_held);

    //  the others go on for a while without c2
    int64_t until = ph_now_ms () + 2000;
    while (ph_now_ms () < until)
        cm_pump (&s_cm, 100);
    long long up_at = s_server_ms ();
    int64_t up_ms = ph_now_ms ();
    cr_assert_eq (nh_link (&s_ctx.net, HOST_B, true), 0);
    s_cm.members [1].down = false;
    deadline = up_ms + REJOIN_MS;
    while (!cm_balanced (&s_cm) && ph_now_ms () < deadline)
        cm_pump (&s_cm, 100);
    int64_t rejoin_ms = ph_now_ms () - up_ms;
    fprintf (stderr, "coordinators_netns: link of b up -> c2 holds %lld partitions again in"
             " %" PRId64 " ms\n", cm_held_by (&s_cm, "c2"), rejoin_ms);
    cr_assert (cm_balanced (&s_cm), "c2 did not get a share again within %d ms (logs in %s)",
               REJOIN_MS, s_ctx.group.dir);

    //  the rest of the load, a third of it for c2's partitions
    cr_assert_eq (cm_send_range (&s_cm, FIRST, CHECKOUTS), 0);
    s_finish ();
    //  No write under a lease its writer did not hold, the whole run: each
    //  audited row's lease names the coordinator of the host that wrote it
    char condition [256];
    for (int m = 0; m < COORDINATORS; m++) {
        snprintf (condition, sizeof condition, "client = '%.19s'"
                  " AND owner IS DISTINCT FROM '%.7s'", s_ctx.net.address [m],
                  s_cm.members [m].name);
        cr_expect_eq (s_audited (condition), 0, "%s wrote under another's lease",
                      s_cm.members [m].name);
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
        cr_expect (e2e_running (&s_ctx.group, s_cm.members [m].slot), "%s exited",
                   s_cm.members [m].name);
}

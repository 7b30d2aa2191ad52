/*  test_coordinators.c - three coordinators sharing one saga log on PostgreSQL
    A coordinator SIGKILLed mid-run, another SIGSTOPped past its lease,
    another stopped cleanly; one that does not fit the log, and a second
    coordinator on one SQLite file, refused.

    Real coordinators, real participants (their stores on the same
    throwaway cluster) connected to all three, and the client of
    members_helpers.h, which follows not_owner itself.
*/
#include <criterion/criterion.h>
#include "members_helpers.h"

#define COORDINATORS 3
#define PARTITIONS   64
#define READY_MS     30000
#define RUN_MS       150000
#define RESEND_MS    5000               //  a checkout without answer is sent again
#define BOUNCE_MS    300                //  after not_owner naming no one
//  Takeover bound: lease TTL (3 s) + member liveness (3 s, counted from
//  the same last round trip) + a renewal (1 s), well under 5 s past expiry
#define TAKEOVER_MS  8000

static e2e_group_t s_group;
static e2e_book_t s_book;
static pg_cluster_t s_cluster;
static char s_uri [3][256];             //  inventory, payment, order
static char s_log_uri [256];

static const char *s_services [] = { "inventory", "payment", "order" };
static cm_t s_cm = { .count = COORDINATORS, .partitions = PARTITIONS, .log_uri = s_log_uri,
                     .book = &s_book, .resend_ms = RESEND_MS, .bounce_ms = BOUNCE_MS };

static void
s_init (void)
{
    cr_assert_eq (e2e_group_init (&s_group, "ck-coordinators"), 0, "no temp dir");
    cr_assert_eq (pg_cluster_start (&s_cluster), 0, "no PostgreSQL cluster");
    for (int i = 0; i < 3; i++)
        cr_assert_eq (pg_cluster_createdb (&s_cluster, s_services [i], s_uri [i],
                                           sizeof s_uri [i]), 0);
    cr_assert_eq (pg_cluster_createdb (&s_cluster, "coordinator", s_log_uri,
                                       sizeof s_log_uri), 0);
}

static void
s_fini (void)
{
    cm_fini (&s_cm);
    e2e_book_fini (&s_book);
    e2e_group_fini (&s_group);
    pg_cluster_stop (&s_cluster);
}

TestSuite (coordinators, .init = s_init, .fini = s_fini, .timeout = 300);

static void
s_start_coordinator (cm_member_t *member)
{
    char heartbeat [16], liveness [16];
    snprintf (heartbeat, sizeof heartbeat, "%d", s_group.heartbeat_ms);
    snprintf (liveness, sizeof liveness, "%d", s_group.liveness);
    const char *args [] = {
        "--frontend", member->frontend, "--backend", member->backend,
        "--events", member->events, "--db", s_log_uri, "--instance", member->name,
        "--heartbeat-ms", heartbeat, "--liveness", liveness, "--max-attempts", "50",
        NULL
    };
    member->slot = e2e_spawn (&s_group, member->name, "checkout-coordinator", args);
    cr_assert_geq (member->slot, 0);
}

//  Instance 1 of service i, on its database, connected to every coordinator
static void
s_start_participant (int i)
{
    char heartbeat [16], liveness [16], program [64], instance [32];
    snprintf (heartbeat, sizeof heartbeat, "%d", s_group.heartbeat_ms);
    snprintf (liveness, sizeof liveness, "%d", s_group.liveness);
    snprintf (program, sizeof program, "checkout-%s", s_services [i]);
    snprintf (instance, sizeof instance, "%s-1", s_services [i]);
    const char *args [E2E_MAX_ARGS] = {
        "--coordinator", s_cm.members [0].backend, "--coordinator", s_cm.members [1].backend,
        "--coordinator", s_cm.members [2].backend, "--db", s_uri [i], "--instance", instance,
        "--heartbeat-ms", heartbeat, "--liveness", liveness, NULL
    };
    int argc = 14;
    if (i == 0) {
        args [argc++] = "--seed";
        args [argc++] = s_group.seed;
        args [argc] = NULL;
    }
    cr_assert_geq (e2e_spawn (&s_group, instance, program, args), 0);
}

//  Three coordinators, the participants, a client per frontend; returns
//  once every coordinator serves every step and the partitions are shared
static void
s_start (void)
{
    for (int m = 0; m < COORDINATORS; m++) {
        cm_member_t *member = &s_cm.members [m];
        snprintf (member->name, sizeof member->name, "c%d", m + 1);
        snprintf (member->frontend, sizeof member->frontend, "ipc://%s/fe%d", s_group.dir, m);
        snprintf (member->backend, sizeof member->backend, "ipc://%s/be%d", s_group.dir, m);
        snprintf (member->events, sizeof member->events, "ipc://%s/ev%d", s_group.dir, m);
        member->down = false;
        s_start_coordinator (member);
    }
    for (int i = 0; i < 3; i++)
        s_start_participant (i);
    char problem [E2E_PROBLEM_SIZE];
    cr_assert_eq (cm_wait_serving (&s_cm, &s_group, READY_MS, problem), 0, "%s", problem);
}

//  A stats event of member m names it and what it holds
static void
s_check_stats (int m)
{
    snprintf (s_group.events, sizeof s_group.events, "%s", s_cm.members [m].events);
    zsock_destroy (&s_group.stats);
    ck_ev_stats_t stats;
    cr_assert_eq (e2e_next_stats (&s_group, &stats, 5000), 0);
    cr_expect_str_eq (stats.coordinator, s_cm.members [m].name);
    cr_expect_eq (stats.partition_count, PARTITIONS);
    cr_expect_neq (stats.partitions [0], 0, "%s holds nothing", s_cm.members [m].name);
    zsock_destroy (&s_group.stats);
}

//  The stores agree with the RESULTs, one saga per checkout
static void
s_check (void)
{
    char first [E2E_PROBLEM_SIZE];
    const char *const uris [3] = { s_uri [0], s_uri [1], s_uri [2] };
    int problems = cm_check_stores (&s_cm, uris, first);
    cr_expect_eq (problems, 0, "%d problems; first: %s", problems, first);
}

//  checkout-bench --verify over the four databases: 0 when it passes
static int
s_verify (void)
{
    const char *const uris [3] = { s_uri [0], s_uri [1], s_uri [2] };
    cr_assert_eq (cm_write_uris (&s_cm, &s_group, uris), 0);
    char exe [PATH_MAX + 32], log [PATH_MAX], n [24];
    snprintf (exe, sizeof exe, "%s/checkout-bench", s_group.bin);
    e2e_path (&s_group, "verify.txt", log, sizeof log);
    snprintf (n, sizeof n, "%zu", s_book.count);
    const char *argv [] = { exe, "--verify", "--data", s_group.dir, "--n", n, NULL };
    pid_t pid = ph_spawn (exe, (char *const *) argv, log);
    int status;
    cr_assert_eq (ph_wait (pid, 60000, &status), 0, "verify did not end");
    char *output = ph_slurp (log);
    cr_expect (output && strstr (output, "0 violations"), "%s", output? output: "");
    free (output);
    return ph_exit_code (status);
}

//  Sends checkouts 0..count-1 round robin, then pumps until a quarter is
//  terminal (the time to take a coordinator down)
static void
s_load (size_t count)
{
    cr_assert_eq (e2e_book_init (&s_book, count), 0);
    cr_assert_eq (cm_routes_new (&s_cm), 0);
    cr_assert_eq (cm_send_range (&s_cm, 0, count), 0);
    int64_t deadline = ph_now_ms () + RUN_MS;
    while (s_book.terminal < count / 4 && ph_now_ms () < deadline)
        cm_pump (&s_cm, 100);
    cr_assert_lt (s_book.terminal, count, "all done already: make the load longer");
}

//  Pumps until every checkout is terminal
static void
s_finish (void)
{
    cr_assert_eq (cm_finish (&s_cm, RUN_MS), 0, "%zu of %zu terminal (logs in %s)",
                  s_book.terminal, s_book.count, s_group.dir);
}

//  Pumps until the coordinators up hold every partition; returns how long
//  that took from since_ms
static int64_t
s_wait_takeover (int64_t since_ms)
{
    int64_t deadline = since_ms + TAKEOVER_MS + 5000;
    while (cm_held_by_live (&s_cm) < PARTITIONS && ph_now_ms () < deadline)
        cm_pump (&s_cm, 50);
    cr_assert_eq (cm_held_by_live (&s_cm), PARTITIONS, "the partitions did not move (logs in %s)",
                  s_group.dir);
    return ph_now_ms () - since_ms;
}

//  The log of member m holds text
static bool
s_logged (int m, const char *text)
{
    char stem [32], path [PATH_MAX];
    snprintf (stem, sizeof stem, "%s.log", s_cm.members [m].name);
    e2e_path (&s_group, stem, path, sizeof path);
    char *log = ph_slurp (path);
    bool found = log && strstr (log, text);
    free (log);
    return found;
}

Test (coordinators, a_killed_coordinators_partitions_are_taken_over)
{
    s_start ();
    for (int m = 0; m < COORDINATORS; m++)
        s_check_stats (m);
    s_load (900);
    int64_t killed_ms = ph_now_ms ();
    s_cm.members [1].down = true;
    cr_assert_eq (e2e_stop (&s_group, s_cm.members [1].slot, SIGKILL, 10000), -1);
    int64_t takeover_ms = s_wait_takeover (killed_ms);
    fprintf (stderr, "coordinators: SIGKILL of c2 -> c1 and c3 hold all %d partitions in"
             " %" PRId64 " ms (lease TTL 3000 ms)\n", PARTITIONS, takeover_ms);
    cr_expect_lt (takeover_ms, TAKEOVER_MS);
    s_finish ();
    s_check ();
    cr_expect_eq (s_verify (), 0);
    for (int m = 0; m < COORDINATORS; m += 2)
        cr_expect (e2e_running (&s_group, s_cm.members [m].slot), "%s exited",
                   s_cm.members [m].name);
}

//  c2 stops past its lease with a commit in flight: the others take its
//  partitions, and the commit, which the server runs only then, meets the
//  fence.  To stop c2 there, the test updates c2's lease rows (to the same
//  values) in a transaction it keeps open until c2's next commit waits for
//  them in saga_log_fence (pg_stat_activity says so), stops c2, lets its
//  leases expire on the server and commits: the fence reads the rows again
//  (a waiter reads a row that changed anew, as after a claim) and finds
//  them expired.
//  Resumed, c2 reads its refused commit, drops what it lost, rejoins and
//  gets a share again; nothing happened twice.  Should c2 wait in its
//  renewal rather than in a commit, the pause is tried again (three times
//  at most).
static int64_t
s_pause_c2 (void)
{
    PGconn *holder = PQconnectdb (s_log_uri);
    cr_assert_eq (PQstatus (holder), CONNECTION_OK);
    PGresult *result = PQexec (holder, "BEGIN");
    PQclear (result);
    result = PQexec (holder, "UPDATE saga_partitions SET owner = owner WHERE owner = 'c2'");
    cr_assert_eq (PQresultStatus (result), PGRES_COMMAND_OK);
    PQclear (result);
    int64_t deadline = ph_now_ms () + 5000;
    while (pg_query_int (s_log_uri, "SELECT count (*) FROM pg_stat_activity WHERE"
                         " wait_event_type = 'Lock' AND query LIKE '%saga_log_fence%'") < 1
    &&  ph_now_ms () < deadline)
        cm_pump (&s_cm, 20);
    int64_t stopped_ms = ph_now_ms ();
    s_cm.members [1].down = true;
    cr_assert_eq (kill (s_group.pids [s_cm.members [1].slot], SIGSTOP), 0);
    deadline = ph_now_ms () + TAKEOVER_MS;
    while (cm_held_by (&s_cm, "c2") > 0 && ph_now_ms () < deadline)
        cm_pump (&s_cm, 50);
    result = PQexec (holder, "COMMIT");
    PQclear (result);
    PQfinish (holder);
    int64_t takeover_ms = s_wait_takeover (stopped_ms);
    //  the others go on for a while before c2 wakes
    int64_t until = ph_now_ms () + 2000;
    while (ph_now_ms () < until)
        cm_pump (&s_cm, 100);
    cr_assert_eq (kill (s_group.pids [s_cm.members [1].slot], SIGCONT), 0);
    s_cm.members [1].down = false;
    deadline = ph_now_ms () + TAKEOVER_MS + 5000;
    while (!cm_balanced (&s_cm) && ph_now_ms () < deadline)
        cm_pump (&s_cm, 100);
    cr_expect (cm_balanced (&s_cm), "c2 did not get a share again (logs in %s)", s_group.dir);
    cr_expect (s_logged (1, "dropped from memory"),
               "c2 kept the sagas of partitions it lost (logs in %s)", s_group.dir);
    return takeover_ms;
}

Test (coordinators, a_paused_coordinator_is_fenced_out_and_rejoins)
{
    s_start ();
    s_load (2400);
    for (int round = 1; round <= 3 && !s_logged (1, "fenced"); round++) {
        cr_assert_lt (s_book.terminal, s_book.count * 9 / 10, "too few left: make the load"
                      " longer");
        int64_t takeover_ms = s_pause_c2 ();
        fprintf (stderr, "coordinators: SIGSTOP of c2 -> c1 and c3 hold all %d partitions in"
                 " %" PRId64 " ms (pause %d)\n", PARTITIONS, takeover_ms, round);
    }
    cr_expect (s_logged (1, "fenced"), "no stale write of c2 met the fence (logs in %s)",
               s_group.dir);
    s_finish ();
    s_check ();
    cr_expect_eq (s_verify (), 0);
    for (int m = 0; m < COORDINATORS; m++)
        cr_expect (e2e_running (&s_group, s_cm.members [m].slot), "%s exited",
                   s_cm.members [m].name);
}

//  SIGTERM: the coordinator finishes its turn and gives its partitions up,
//  so that the others take them at their next renewal, not after the TTL
Test (coordinators, a_stopped_coordinator_hands_its_partitions_over_at_once)
{
    s_start ();
    s_load (600);
    s_cm.members [2].down = true;
    cr_assert_eq (e2e_stop (&s_group, s_cm.members [2].slot, SIGTERM, 10000), 0, "exit 0");
    int64_t exited_ms = ph_now_ms ();
    int64_t takeover_ms = s_wait_takeover (exited_ms);
    fprintf (stderr, "coordinators: c3 stopped by SIGTERM -> c1 and c2 hold all %d partitions"
             " %" PRId64 " ms after its exit\n", PARTITIONS, takeover_ms);
    //  a claim at the next renewal, and a rebalance between the two at the
    //  one after; without the hand-over it is the TTL after c3's last renewal
    cr_expect_lt (takeover_ms, 2500, "two renewals at most");
    s_finish ();
    s_check ();
}

//  A coordinator started with another partition count than the log's, or
//  with a wildcard frontend and no --advertise, is refused: exit 2, one line
Test (coordinators, a_coordinator_that_does_not_fit_the_log_is_refused)
{
    s_start ();
    char frontend [128], backend [128], events [128];
    snprintf (frontend, sizeof frontend, "ipc://%s/fe9", s_group.dir);
    snprintf (backend, sizeof backend, "ipc://%s/be9", s_group.dir);
    snprintf (events, sizeof events, "ipc://%s/ev9", s_group.dir);
    const char *other_count [] = { "--frontend", frontend, "--backend", backend,
                                   "--events", events, "--db", s_log_uri,
                                   "--partitions", "32", NULL };
    int slot = e2e_spawn (&s_group, "c9", "checkout-coordinator", other_count);
    cr_assert_geq (slot, 0);
    cr_expect_eq (e2e_stop (&s_group, slot, 0, 10000), 2, "refused, exit 2");
    char path [PATH_MAX];
    e2e_path (&s_group, "c9.log", path, sizeof path);
    char *log = ph_slurp (path);
    cr_expect (log && strstr (log, "has 64 partitions; start every coordinator of it with"
                                   " --partitions 64"), "%s", log? log: "");
    free (log);
    const char *wildcard [] = { "--frontend", "tcp://*:5570", "--backend", backend,
                                "--events", events, "--db", s_log_uri, NULL };
    slot = e2e_spawn (&s_group, "c10", "checkout-coordinator", wildcard);
    cr_assert_geq (slot, 0);
    cr_expect_eq (e2e_stop (&s_group, slot, 0, 10000), 2, "refused, exit 2");
    e2e_path (&s_group, "c10.log", path, sizeof path);
    log = ph_slurp (path);
    cr_expect (log && strstr (log, "give --advertise"), "%s", log? log: "");
    free (log);
    cr_expect_eq (cm_held_by (&s_cm, NULL), PARTITIONS, "the others go on");
}

//  One coordinator per SQLite file: a second is refused at once, exit 2,
//  and says why in one line
Test (coordinators, a_second_coordinator_on_one_sqlite_file_is_refused)
{
    char db [PATH_MAX];
    e2e_path (&s_group, "coordinator.db", db, sizeof db);
    cr_assert_geq (e2e_start_coordinator (&s_group, NULL), 0);
    cr_assert_eq (e2e_wait_ready (&s_group, 0, 0, 0, READY_MS), 0);
    char frontend [128], backend [128], events [128];
    snprintf (frontend, sizeof frontend, "ipc://%s/fe2", s_group.dir);
    snprintf (backend, sizeof backend, "ipc://%s/be2", s_group.dir);
    snprintf (events, sizeof events, "ipc://%s/ev2", s_group.dir);
    const char *args [] = { "--frontend", frontend, "--backend", backend, "--events", events,
                            "--db", db, NULL };
    int second = e2e_spawn (&s_group, "second", "checkout-coordinator", args);
    cr_assert_geq (second, 0);
    cr_expect_eq (e2e_stop (&s_group, second, 0, 10000), 2, "refused, exit 2");
    char path [PATH_MAX];
    e2e_path (&s_group, "second.log", path, sizeof path);
    char *log = ph_slurp (path);
    cr_expect (log && strstr (log, "another coordinator runs on this file"), "%s",
               log? log: "");
    free (log);
    cr_expect (e2e_running (&s_group, e2e_slot (&s_group, "coordinator")));
}

/*  test_bench_script.c - scripts/bench end to end: summary line, exit codes, nothing left up
    Runs the real script on a small W1 load over ipc endpoints in a temp dir;
    bench-coordinators and pg-floor on their own throwaway PostgreSQL.

    scripts/bench starts its group with `supervisor start --detach`, so the
    supervisor is not our child: s_fini SIGKILLs, by the PID in each run's
    lock file, any supervisor still up (its children die with it), then
    removes the directory.
*/
#include <criterion/criterion.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include <sys/stat.h>
#include "process_helpers.h"

#define MAX_ARGS        24
#define MAX_RUNS        4
#define SCRIPT_MS       150000          //  generous: the ASan build is slow

static struct {
    char dir [64];
    char data [128];
    char source [1024];
    char bin [1100];
    char *output;                       //  the last run's stdout
    char *errors;                       //  and its stderr
} s_ctx;

static void
s_paths (void)
{
    const char *source = getenv ("CK_SOURCE_DIR");
    const char *bin = getenv ("CK_BIN_DIR");
    //  Run by hand: the parent of this file's directory, and build/bin
    snprintf (s_ctx.source, sizeof s_ctx.source, "%s", source? source: __FILE__);
    for (int i = 0; !source && i < 2 && strrchr (s_ctx.source, '/'); i++)
        *strrchr (s_ctx.source, '/') = 0;
    if (bin)
        snprintf (s_ctx.bin, sizeof s_ctx.bin, "%s", bin);
    else
        snprintf (s_ctx.bin, sizeof s_ctx.bin, "%s/build/bin", s_ctx.source);
}

static void
s_init (void)
{
    memset (&s_ctx, 0, sizeof s_ctx);
    s_paths ();
    cr_assert_eq (ph_mkdtemp ("ck-bs", s_ctx.dir, sizeof s_ctx.dir), 0);
    snprintf (s_ctx.data, sizeof s_ctx.data, "%s/data", s_ctx.dir);
}

//  The PID in the supervisor lock file of the group in data/SUB when that
//  process still runs with our directory on its command line (not a
//  recycled PID), else 0
static pid_t
s_live_supervisor_in (const char *sub)
{
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/%s/run/supervisor.lock", s_ctx.data, sub);
    char *text = ph_slurp (path);
    pid_t pid = text? (pid_t) atoi (text): 0;
    free (text);
    return pid > 0 && ph_cmdline_has (pid, s_ctx.dir)? pid: 0;
}

//  The same for run i of scripts/bench
static pid_t
s_live_supervisor (int run)
{
    char sub [16];
    snprintf (sub, sizeof sub, "run-%d", run);
    return s_live_supervisor_in (sub);
}

//  scripts/bench-coordinators' groups, one per count and the takeover's
static const char *s_coordinator_groups [] = { "n1", "n2", "n3", "takeover" };
#define COORDINATOR_GROUPS (sizeof s_coordinator_groups / sizeof s_coordinator_groups [0])

//  scripts/bench-coordinators' PostgreSQL cluster, if a run left it up
static void
s_stop_cluster (void)
{
    char pid_file [PATH_MAX];
    snprintf (pid_file, sizeof pid_file, "%s/pg/data/postmaster.pid", s_ctx.data);
    if (access (pid_file, F_OK) != 0)
        return;
    char script [1100], cluster [PATH_MAX];
    snprintf (script, sizeof script, "%s/scripts/pg", s_ctx.source);
    snprintf (cluster, sizeof cluster, "%s/pg", s_ctx.data);
    char *argv [] = { script, "stop", cluster, "--immediate", NULL };
    pid_t pid = ph_spawn2 (script, argv, "/dev/null", "/dev/null");
    if (pid > 0)
        ph_wait (pid, 30000, NULL);
}

static void
s_fini (void)
{
    for (int run = 1; run <= MAX_RUNS; run++) {
        pid_t pid = s_live_supervisor (run);
        if (pid > 0)
            kill (pid, SIGKILL);
    }
    for (size_t i = 0; i < COORDINATOR_GROUPS; i++) {
        pid_t pid = s_live_supervisor_in (s_coordinator_groups [i]);
        if (pid > 0)
            kill (pid, SIGKILL);
    }
    s_stop_cluster ();
    free (s_ctx.output);
    free (s_ctx.errors);
    ph_rmrf (s_ctx.dir);
}

TestSuite (bench_script, .init = s_init, .fini = s_fini, .timeout = 180);

//  -------------------------------------------------------------------------
//  Running the script

//  Runs argv (argv [0] the script, NULL-terminated), keeps its stdout and
//  stderr in s_ctx; returns its exit code
static int
s_run (char *const *argv)
{
    const char *script = argv [0];
    const char *name = strrchr (script, '/')? strrchr (script, '/') + 1: script;
    char out [PATH_MAX], err [PATH_MAX];
    snprintf (out, sizeof out, "%s/stdout", s_ctx.dir);
    snprintf (err, sizeof err, "%s/stderr", s_ctx.dir);
    remove (out);
    remove (err);
    pid_t pid = ph_spawn2 (script, argv, out, err);
    cr_assert_gt (pid, 0);
    int status = 0;
    cr_assert_eq (ph_wait (pid, SCRIPT_MS, &status), 0, "scripts/%s did not end", name);
    free (s_ctx.output);
    free (s_ctx.errors);
    s_ctx.output = ph_slurp (out);
    s_ctx.errors = ph_slurp (err);
    cr_assert_not_null (s_ctx.output);
    return ph_exit_code (status);
}

//  Runs scripts/NAME with --no-setup --bin bin --data and the argument list
static int
s_script (const char *name, const char *bin, va_list args)
{
    char script [1100];
    snprintf (script, sizeof script, "%s/scripts/%s", s_ctx.source, name);
    char *argv [MAX_ARGS] = { script, "--no-setup", "--bin", (char *) bin,
                              "--data", s_ctx.data };
    int argc = 6;
    for (char *arg = va_arg (args, char *); arg; arg = va_arg (args, char *)) {
        cr_assert_lt (argc, MAX_ARGS - 1);
        argv [argc++] = arg;
    }
    argv [argc] = NULL;
    return s_run (argv);
}

//  Runs scripts/bench with the NULL-terminated extra arguments
static int
s_bench (const char *bin, ...)
{
    va_list args;
    va_start (args, bin);
    int rc = s_script ("bench", bin, args);
    va_end (args);
    return rc;
}

//  Runs scripts/bench-coordinators with the NULL-terminated extra arguments
static int
s_bench_coordinators (const char *bin, ...)
{
    va_list args;
    va_start (args, bin);
    int rc = s_script ("bench-coordinators", bin, args);
    va_end (args);
    return rc;
}

//  Asserts that no supervisor of runs 1..runs is still up
static void
s_expect_all_stopped (int runs)
{
    for (int run = 1; run <= runs; run++)
        cr_expect_eq (s_live_supervisor (run), 0, "run %d's group is still up", run);
}

//  A bin dir whose checkout-bench finds a violation in every --verify,
//  and is the real one otherwise
static void
s_broken_bin (char *path, size_t size)
{
    cr_assert_eq (ph_fake_bench_bin (path, size, s_ctx.dir, s_ctx.bin,
        "for a; do [ \"$a\" = --verify ] && { echo 'violation: planted'; exit 1; }; done\n"
        "exec '%s/checkout-bench' \"$@\"\n", s_ctx.bin), 0);
}

#define SUMMARY "^sagas_per_s=[0-9]+ p50_ms=[0-9.]+ p99_ms=[0-9.]+ max_ms=[0-9.]+ " \
                "rss_mb=coordinator:[0-9.]+,inventory-1:[0-9.]+,payment-1:[0-9.]+," \
                "payment-2:[0-9.]+,order-1:[0-9.]+,bench:[0-9.]+ invariants="

//  -------------------------------------------------------------------------
//  Tests

Test (bench_script, two_runs_pass_and_stop_their_groups)
{
    char json [PATH_MAX];
    snprintf (json, sizeof json, "%s/runs.json", s_ctx.dir);
    int rc = s_bench (s_ctx.bin, "--ipc", "--runs", "2", "-n", "150", "-c", "16",
                      "--payment", "2", "--json", json, NULL);
    cr_assert_eq (rc, 0, "exit %d\n%s%s", rc, s_ctx.output, s_ctx.errors);
    cr_expect (ph_has_line (s_ctx.output, SUMMARY "PASS$"), "%s", s_ctx.output);
    //  the cost line: CPU by process, and every store's counts per saga
    cr_expect (ph_has_line (s_ctx.output, "^cost cpu_us_per_saga=coordinator:[0-9]+,"
                           ".*payment-2:[0-9]+,.*total:[0-9]+ statements_per_saga="
                           "coordinator:[0-9.]+,inventory:[0-9.]+,order:[0-9.]+,payment:[0-9.]+ "
                           "wal_frames_per_saga=coordinator:[0-9.]+,.* commits_per_saga="), "%s", s_ctx.output);
    cr_expect (ph_has_line (s_ctx.output, "^median sagas_per_s=[0-9]+ p50_ms="), "%s", s_ctx.output);
    cr_expect (ph_has_line (s_ctx.output, "^runs=2 invariants=PASS$"), "%s", s_ctx.output);
    char *reports = ph_slurp (json);
    cr_assert_not_null (reports);
    cr_expect (ph_has_line (reports, "\"passed\": true.*\"verify\": true"), "%s", reports);
    cr_expect (ph_has_line (reports, "\"payment\": 2"), "%s", reports);
    int lines = 0;
    for (const char *c = reports; *c; c++)
        lines += *c == '\n';
    cr_expect_eq (lines, 2, "one report per run: %s", reports);
    free (reports);
    s_expect_all_stopped (2);
}

Test (bench_script, broken_invariants_exit_1)
{
    char bin [1100];
    s_broken_bin (bin, sizeof bin);
    int rc = s_bench (bin, "--ipc", "-n", "100", "-c", "8", "--payment", "2", NULL);
    cr_expect_eq (rc, 1, "exit %d\n%s%s", rc, s_ctx.output, s_ctx.errors);
    cr_expect (ph_has_line (s_ctx.output, SUMMARY "FAIL$"), "%s", s_ctx.output);
    cr_expect (ph_has_line (s_ctx.errors, "^violation: planted$"), "%s", s_ctx.errors);
    s_expect_all_stopped (1);
}

Test (bench_script, bad_usage_exits_2)
{
    cr_expect_eq (s_bench (s_ctx.bin, "--bogus", NULL), 2);
    cr_expect (ph_has_line (s_ctx.errors, "unknown argument '--bogus'"), "%s", s_ctx.errors);
    cr_expect_eq (s_bench (s_ctx.bin, "-n", "0", NULL), 2);
    cr_expect_eq (s_bench (s_ctx.bin, "--payment", NULL), 2);
    cr_expect_eq (s_bench ("/nonexistent", NULL), 2);
    s_expect_all_stopped (1);
}

//  scripts/bench --pg: its cluster lives in the run's data dir, which the
//  supervisor makes private to root once the group starts; the cluster
//  must still stop at the end (as user postgres it could not reach it)
Test (bench_script, a_pg_run_stops_its_server)
{
    cr_assert_eq (chmod (s_ctx.dir, 0755), 0);
    int rc = s_bench (s_ctx.bin, "--pg", "-n", "300", NULL);
    cr_assert_eq (rc, 0, "exit %d\n%s%s", rc, s_ctx.output, s_ctx.errors);
    cr_expect (ph_has_line (s_ctx.output, "^sagas_per_s=[0-9]+ .* invariants=PASS$"), "%s",
               s_ctx.output);
    cr_expect (!strstr (s_ctx.errors? s_ctx.errors: "", "stopping PostgreSQL"), "%s",
               s_ctx.errors);
    char pid_file [PATH_MAX];
    snprintf (pid_file, sizeof pid_file, "%s/run-1/pg/data/postmaster.pid", s_ctx.data);
    cr_expect_neq (access (pid_file, F_OK), 0, "PostgreSQL is still up");
    s_expect_all_stopped (1);
}

//  scripts/bench-coordinators, shortened further than --quick: W1 against
//  1, 2 and 3 coordinators sharing a PostgreSQL saga log, one SIGKILL
//  timed to the others holding every partition, the invariants checked
Test (bench_script, coordinators_quick_passes_and_stops_everything)
{
    //  the server runs as user postgres (we are root): it must reach data/pg
    cr_assert_eq (chmod (s_ctx.dir, 0755), 0);
    int rc = s_bench_coordinators (s_ctx.bin, "--quick", "-n", "600", "--kills", "1",
                                   "--chunk", "500", NULL);
    cr_assert_eq (rc, 0, "exit %d\n%s%s", rc, s_ctx.output, s_ctx.errors);
    for (int count = 1; count <= 3; count++) {
        char pattern [256];
        snprintf (pattern, sizeof pattern, "^coordinators=%d sagas_per_s=[0-9]+ p50_ms=[0-9.]+ "
                  "p99_ms=[0-9.]+ max_ms=[0-9.]+ cpu_us_per_saga=coordinators:[0-9]+,"
                  "participants:[0-9]+,server:[0-9]+,total:[0-9]+ invariants=PASS$", count);
        cr_expect (ph_has_line (s_ctx.output, pattern), "%s", s_ctx.output);
    }
    cr_expect (ph_has_line (s_ctx.output, "^kill=1 victim=c1 pid=[0-9]+ takeover_ms=[0-9]+ "
                            "held=c2:[0-9]+,c3:[0-9]+$"), "%s", s_ctx.output);
    cr_expect (ph_has_line (s_ctx.output, "^takeover kills=1 p50_ms=[0-9]+ max_ms=[0-9]+ "
                            "checkouts=[1-9][0-9]* load_worst_p99_ms=[0-9.]+ invariants=PASS$"),
               "%s", s_ctx.output);
    cr_expect (ph_has_line (s_ctx.output, "^load_average=[0-9.]+,[0-9.]+,[0-9.]+ cpus=[0-9]+$"),
               "%s", s_ctx.output);
    for (size_t i = 0; i < COORDINATOR_GROUPS; i++)
        cr_expect_eq (s_live_supervisor_in (s_coordinator_groups [i]), 0,
                      "group %s is still up", s_coordinator_groups [i]);
    char pid_file [PATH_MAX];
    snprintf (pid_file, sizeof pid_file, "%s/pg/data/postmaster.pid", s_ctx.data);
    cr_expect_neq (access (pid_file, F_OK), 0, "PostgreSQL is still up");
}

//  Runs scripts/pg-floor (no --bin, --data) with the NULL-terminated
//  arguments, output in s_ctx; returns its exit code
static int
s_pg_floor (const char *first, ...)
{
    char script [1100];
    snprintf (script, sizeof script, "%s/scripts/pg-floor", s_ctx.source);
    char *argv [MAX_ARGS] = { script, "--no-setup" };
    int argc = 2;
    va_list args;
    va_start (args, first);
    for (const char *arg = first; arg; arg = va_arg (args, const char *)) {
        cr_assert_lt (argc, MAX_ARGS - 1);
        argv [argc++] = (char *) arg;
    }
    va_end (args);
    argv [argc] = NULL;
    return s_run (argv);
}

//  scripts/pg-floor, one second per shape: a line per shape with figures,
//  and its cluster stopped and its dir removed
Test (bench_script, pg_floor_prints_every_shape_and_cleans_up)
{
    cr_assert_eq (chmod (s_ctx.dir, 0755), 0);
    char dir [PATH_MAX];
    snprintf (dir, sizeof dir, "%s/floor", s_ctx.dir);
    int rc = s_pg_floor ("--seconds", "1", "--clients", "4", "--batch", "4", "--dir", dir,
                         NULL);
    cr_assert_eq (rc, 0, "exit %d\n%s%s", rc, s_ctx.output, s_ctx.errors);
    cr_expect (ph_has_line (s_ctx.output, "^pg-floor: PostgreSQL [0-9.]+, [0-9]+ CPUs, 1s per "
                            "shape, B=4, fsync=on synchronous_commit=on$"), "%s", s_ctx.output);
    const char *shapes [] = { "one    C=4", "chain  C=4", "batch  C=4", "stores C=4" };
    for (size_t i = 0; i < sizeof shapes / sizeof shapes [0]; i++) {
        char pattern [256];
        snprintf (pattern, sizeof pattern, "^%s sagas/s=[1-9][0-9]* p50_ms=[0-9.]+ "
                  "p99_ms=[0-9.]+ server_cpu_us_per_saga=[1-9][0-9]* sagas=[1-9][0-9]*$",
                  shapes [i]);
        cr_expect (ph_has_line (s_ctx.output, pattern), "%s: %s", shapes [i], s_ctx.output);
    }
    cr_expect_neq (access (dir, F_OK), 0, "%s is still there", dir);
}

Test (bench_script, pg_floor_bad_usage_exits_2)
{
    cr_expect_eq (s_pg_floor ("--bogus", NULL), 2);
    cr_expect (ph_has_line (s_ctx.errors, "unknown argument '--bogus'"), "%s", s_ctx.errors);
    cr_expect_eq (s_pg_floor ("--clients", "0", NULL), 2);
    cr_expect_eq (s_pg_floor ("--shape", "square", NULL), 2);
    cr_expect_eq (s_pg_floor ("--batch", "x", NULL), 2);
    cr_expect_eq (s_pg_floor ("--dir", s_ctx.dir, NULL), 2, "an existing dir is refused");
    cr_expect (ph_has_line (s_ctx.errors, "exists"), "%s", s_ctx.errors);
}

Test (bench_script, coordinators_bad_usage_exits_2)
{
    cr_expect_eq (s_bench_coordinators (s_ctx.bin, "--bogus", NULL), 2);
    cr_expect (ph_has_line (s_ctx.errors, "unknown argument '--bogus'"), "%s", s_ctx.errors);
    cr_expect_eq (s_bench_coordinators (s_ctx.bin, "--kills", "0", NULL), 2);
    cr_expect_eq (s_bench_coordinators (s_ctx.bin, "--only", "both", NULL), 2);
    cr_expect_eq (s_bench_coordinators ("/nonexistent", NULL), 2);
}

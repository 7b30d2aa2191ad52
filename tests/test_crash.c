/*  test_crash.c - scripts/crash-test end to end: coordinator kills change no outcome
    Runs the real script, a short version, over ipc endpoints in a temp dir.

    The script starts the group itself and lists every process it started
    in DATA/run/pids.  s_fini SIGKILLs the script, if it still runs, and
    then each listed process that is still up with our directory on its
    command line (never a recycled PID), then removes the directory.
*/
#include <criterion/criterion.h>
#include <limits.h>
#include <regex.h>
#include <stdarg.h>
#include "process_helpers.h"

#define MAX_ARGS        32
#define SCRIPT_MS       150000          //  generous: the ASan build is slow
#define CRASH_N         "3000"          //  about 10 s here, 25 s under ASan

static struct {
    char dir [64];
    char data [128];
    char source [1024];
    char bin [1100];
    pid_t script;                       //  while it runs
    char *output;                       //  the last run's stdout
    char *errors;                       //  and its stderr
} s_ctx;

static void
s_paths (void)
{
    const char *source = getenv ("CK_SOURCE_DIR");
    //  Run by hand: the parent of this file's directory
    snprintf (s_ctx.source, sizeof s_ctx.source, "%s", source? source: __FILE__);
    for (int i = 0; !source && i < 2 && strrchr (s_ctx.source, '/'); i++)
        *strrchr (s_ctx.source, '/') = 0;
    cr_assert_eq (ph_bin_dir (s_ctx.bin, sizeof s_ctx.bin), 0, "no bin dir");
}

static void
s_init (void)
{
    memset (&s_ctx, 0, sizeof s_ctx);
    s_paths ();
    cr_assert_eq (ph_mkdtemp ("ck-crash", s_ctx.dir, sizeof s_ctx.dir), 0);
    snprintf (s_ctx.data, sizeof s_ctx.data, "%s/data", s_ctx.dir);
}

//  True when pid runs with our directory on its command line
static bool
s_ours (pid_t pid)
{
    return ph_cmdline_has (pid, s_ctx.dir);
}

//  Kills each process of the script's pid file still up; returns how many
static int
s_kill_listed (void)
{
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/run/pids", s_ctx.data);
    char *text = ph_slurp (path);
    int killed = 0;
    for (char *line = text; line && *line; ) {
        char *end = strchr (line, '\n');
        char *space = strchr (line, ' ');
        pid_t pid = space && (!end || space < end)? (pid_t) atoi (space + 1): 0;
        if (pid > 0 && s_ours (pid)) {
            kill (pid, SIGKILL);
            killed++;
        }
        line = end? end + 1: line + strlen (line);
    }
    free (text);
    return killed;
}

static void
s_fini (void)
{
    ph_kill_reap (&s_ctx.script);
    s_kill_listed ();
    free (s_ctx.output);
    free (s_ctx.errors);
    ph_rmrf (s_ctx.dir);
}

TestSuite (crash, .init = s_init, .fini = s_fini, .timeout = 240);

//  -------------------------------------------------------------------------
//  Running the script

//  Runs scripts/<name> (crash-test or chaos) with bin and the
//  NULL-terminated extra arguments; keeps its stdout and stderr in s_ctx;
//  returns its exit code
static int
s_script (const char *name, const char *bin, va_list args)
{
    char script [1100];
    snprintf (script, sizeof script, "%s/scripts/%s", s_ctx.source, name);
    char *argv [MAX_ARGS] = { script, "--no-setup", "--ipc", "--bin", (char *) bin,
                              "--data", s_ctx.data };
    int argc = 7;
    for (char *arg = va_arg (args, char *); arg; arg = va_arg (args, char *)) {
        cr_assert_lt (argc, MAX_ARGS - 1);
        argv [argc++] = arg;
    }
    char out [PATH_MAX], err [PATH_MAX];
    snprintf (out, sizeof out, "%s/stdout", s_ctx.dir);
    snprintf (err, sizeof err, "%s/stderr", s_ctx.dir);
    remove (out);
    remove (err);
    s_ctx.script = ph_spawn2 (script, argv, out, err);
    cr_assert_gt (s_ctx.script, 0);
    int status = 0;
    cr_assert_eq (ph_wait (s_ctx.script, SCRIPT_MS, &status), 0,
                  "scripts/%s did not end", name);
    s_ctx.script = 0;
    free (s_ctx.output);
    free (s_ctx.errors);
    s_ctx.output = ph_slurp (out);
    s_ctx.errors = ph_slurp (err);
    cr_assert_not_null (s_ctx.output);
    cr_assert_not_null (s_ctx.errors);
    return ph_exit_code (status);
}

static int
s_crash_test (const char *bin, ...)
{
    va_list args;
    va_start (args, bin);
    int rc = s_script ("crash-test", bin, args);
    va_end (args);
    return rc;
}

static int
s_chaos (const char *bin, ...)
{
    va_list args;
    va_start (args, bin);
    int rc = s_script ("chaos", bin, args);
    va_end (args);
    return rc;
}

//  A bin dir that is the real one, except that its checkout-bench, after
//  a load, rewrites the first confirmed outcome it saw as failed: what a
//  client would have seen had the coordinator changed its mind
static void
s_lying_bin (char *path, size_t size)
{
    cr_assert_eq (ph_fake_bench_bin (path, size, s_ctx.dir, s_ctx.bin,
        "'%s/checkout-bench' \"$@\"; rc=$?; file=\n"
        "for a; do [ \"$prev\" = --outcomes ] && file=$a; prev=$a; done\n"
        "[ -n \"$file\" ] && sed -i '0,/ confirmed -$/s// failed card_declined/' \"$file\"\n"
        "exit $rc\n", s_ctx.bin), 0);
}

//  -------------------------------------------------------------------------
//  Tests

#define SUMMARY "^crash-test kills=%s checkouts=%s seen=%s changed=%s non_terminal=0 " \
                "invariants=%s elapsed_s=[0-9]+$"

Test (crash, kills_change_no_outcome_and_lose_nothing)
{
    int rc = s_crash_test (s_ctx.bin, "--kills", "5", "-n", CRASH_N, "-c", "64",
                           "--seed", "20261206", NULL);
    cr_assert_eq (rc, 0, "exit %d\n%s%s", rc, s_ctx.output, s_ctx.errors);
    char pattern [256];
    snprintf (pattern, sizeof pattern, SUMMARY, "5", CRASH_N, CRASH_N, "0", "PASS");
    cr_expect (ph_has_line (s_ctx.output, pattern), "%s", s_ctx.output);
    cr_expect (ph_has_line (s_ctx.errors, "^crash-test: seed=20261206 kills=5 "), "%s",
               s_ctx.errors);
    //  the data of a run that passed is the caller's (--data): kept
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/outcomes.txt", s_ctx.data);
    cr_expect_eq (access (path, R_OK), 0);
    cr_expect_eq (s_kill_listed (), 0, "the script left processes up");
}

//  Kills of every process of the group, each restarted at once on its own
//  store (this seed's plan hits all four kinds)
Test (crash, chaos_kills_every_process_and_loses_nothing)
{
    int rc = s_chaos (s_ctx.bin, "--kills", "8", "-n", CRASH_N, "-c", "64",
                      "--seed", "20261207", NULL);
    cr_assert_eq (rc, 0, "exit %d\n%s%s", rc, s_ctx.output, s_ctx.errors);
    cr_expect (ph_has_line (s_ctx.output, "^chaos kills=8 coordinator=2 inventory=4 payment=1 "
                            "order=1 lost=0 double_effects=0 changed_outcomes=0 "
                            "invariants=PASS elapsed_s=[0-9]+$"), "%s", s_ctx.output);
    cr_expect_eq (s_kill_listed (), 0, "the script left processes up");
}

Test (crash, a_changed_outcome_fails)
{
    char bin [1100];
    s_lying_bin (bin, sizeof bin);
    int rc = s_crash_test (bin, "--kills", "1", "-n", "200", "-c", "16", NULL);
    cr_assert_eq (rc, 1, "exit %d\n%s%s", rc, s_ctx.output, s_ctx.errors);
    char pattern [256];
    snprintf (pattern, sizeof pattern, SUMMARY, "1", "200", "200", "1", "PASS");
    cr_expect (ph_has_line (s_ctx.output, pattern), "%s", s_ctx.output);
    cr_expect (ph_has_line (s_ctx.errors, "^crash-test: changed: chk-[0-9]+ seen sg-[0-9a-f-]+ "
                           "failed card_declined, now sg-[0-9a-f-]+ confirmed -$"),
               "%s", s_ctx.errors);
    cr_expect (ph_has_line (s_ctx.errors, "^crash-test: FAILED; seed [0-9]+"), "%s",
               s_ctx.errors);
    cr_expect_eq (s_kill_listed (), 0, "the script left processes up");
}

Test (crash, bad_usage_exits_2)
{
    cr_expect_eq (s_crash_test (s_ctx.bin, "--bogus", NULL), 2);
    cr_expect (ph_has_line (s_ctx.errors, "unknown argument '--bogus'"), "%s", s_ctx.errors);
    cr_expect_eq (s_crash_test (s_ctx.bin, "--kills", "x", NULL), 2);
    cr_expect_eq (s_crash_test (s_ctx.bin, "-n", "1", NULL), 2);
    cr_expect_eq (s_crash_test (s_ctx.bin, "--seed", NULL), 2);
    cr_expect_eq (s_crash_test ("/nonexistent", NULL), 2);
}

/*  test_bench.c - checkout-bench against the real system, and its verifier
    Runs W1 over coordinator + participants, then plants each kind of violation.
*/
#include <criterion/criterion.h>
#include <inttypes.h>
#include <limits.h>
#include <sqlite3.h>
#include "process_helpers.h"

#define MAX_PIDS    8
#define MAX_ARGS    40
#define SYSTEM_SIZE 4                   //  coordinator, inventory, payment, order
#define BENCH_MS    120000              //  generous: the ASan build is slow
#define STOP_MS     15000

//  Everything a test made, undone by s_fini even when an assertion fails
static struct {
    char dir [128];
    pid_t pids [MAX_PIDS];
    char frontend [256];
    char *output;                       //  the last bench's stdout
} s_ctx;

static void
s_init (void)
{
    memset (&s_ctx, 0, sizeof s_ctx);
    cr_assert_eq (ph_mkdtemp ("ck-bench", s_ctx.dir, sizeof s_ctx.dir), 0);
    snprintf (s_ctx.frontend, sizeof s_ctx.frontend, "ipc://%s/frontend", s_ctx.dir);
}

static void
s_fini (void)
{
    for (int i = 0; i < MAX_PIDS; i++)
        ph_kill_reap (&s_ctx.pids [i]);
    free (s_ctx.output);
    ph_rmrf (s_ctx.dir);
}

TestSuite (bench, .init = s_init, .fini = s_fini, .timeout = 240);

//  -------------------------------------------------------------------------
//  Paths and processes

//  Writes "<dir>/<name>" into out and returns it
static const char *
s_path (char *out, size_t size, const char *name)
{
    snprintf (out, size, "%s/%s", s_ctx.dir, name);
    return out;
}

//  Starts bin dir's program with args (NULL-terminated), output to
//  <dir>/<log>; returns the pid's slot
static int
s_start_argv (const char *program, const char *log, const char **args)
{
    char bin [PATH_MAX], exe [PATH_MAX + 64], log_path [PATH_MAX], err_path [PATH_MAX + 8];
    cr_assert_eq (ph_bin_dir (bin, sizeof bin), 0, "no bin dir");
    snprintf (exe, sizeof exe, "%s/%s", bin, program);
    s_path (log_path, sizeof log_path, log);
    snprintf (err_path, sizeof err_path, "%s.err", log_path);
    const char *argv [MAX_ARGS];
    int argc = 0;
    argv [argc++] = exe;
    for (; *args && argc < MAX_ARGS - 1; args++)
        argv [argc++] = *args;
    argv [argc] = NULL;
    int slot = 0;
    while (slot < MAX_PIDS && s_ctx.pids [slot] > 0)
        slot++;
    cr_assert (slot < MAX_PIDS, "too many processes");
    s_ctx.pids [slot] = ph_spawn2 (exe, (char *const *) argv, log_path, err_path);
    cr_assert (s_ctx.pids [slot] > 0, "fork failed");
    return slot;
}

#define s_start(program, log, ...) \
    s_start_argv ((program), (log), (const char *[]) { __VA_ARGS__, NULL })

//  Starts coordinator and participants on ipc endpoints in the temp dir;
//  max_inflight is the coordinator's admission limit, as text
static void
s_start_system (const char *max_inflight)
{
    char backend [256], events [256], seed [PATH_MAX], db [4][PATH_MAX];
    snprintf (backend, sizeof backend, "ipc://%s/backend", s_ctx.dir);
    snprintf (events, sizeof events, "ipc://%s/events", s_ctx.dir);
    cr_assert_eq (ph_w1_seed (seed, sizeof seed), 0, "no W1 seed");
    s_start ("checkout-coordinator", "coordinator.log", "--frontend", s_ctx.frontend,
             "--backend", backend, "--events", events, "--max-inflight", max_inflight,
             "--db", s_path (db [0], sizeof db [0], "coordinator.db"));
    s_start ("checkout-inventory", "inventory.log", "--coordinator", backend,
             "--seed", seed, "--db", s_path (db [1], sizeof db [1], "inventory.db"));
    s_start ("checkout-payment", "payment.log", "--coordinator", backend,
             "--db", s_path (db [2], sizeof db [2], "payment.db"));
    s_start ("checkout-order", "order.log", "--coordinator", backend,
             "--db", s_path (db [3], sizeof db [3], "order.db"));
}

//  Stops the system with SIGTERM; each must exit 0 (a graceful stop)
static void
s_stop_system (void)
{
    for (int slot = 0; slot < SYSTEM_SIZE; slot++)
        cr_assert_eq (ph_signal (s_ctx.pids [slot], SIGTERM), 0);
    for (int slot = 0; slot < SYSTEM_SIZE; slot++) {
        int status = 0;
        cr_assert_eq (ph_wait (s_ctx.pids [slot], STOP_MS, &status), 0,
                      "process %d did not stop", (int) s_ctx.pids [slot]);
        s_ctx.pids [slot] = 0;
        cr_expect_eq (ph_exit_code (status), 0, "slot %d exit %d", slot, ph_exit_code (status));
    }
}

//  Runs checkout-bench with args to its end; returns its exit code, its
//  stdout in s_ctx.output
static int
s_bench_argv (const char **args)
{
    int slot = s_start_argv ("checkout-bench", "bench.out", args);
    int status = 0;
    cr_assert_eq (ph_wait (s_ctx.pids [slot], BENCH_MS, &status), 0, "bench did not end");
    s_ctx.pids [slot] = 0;
    char path [PATH_MAX];
    free (s_ctx.output);
    s_ctx.output = ph_slurp (s_path (path, sizeof path, "bench.out"));
    cr_assert_not_null (s_ctx.output);
    //  The next run starts with an empty file
    cr_assert_eq (truncate (path, 0), 0);
    return ph_exit_code (status);
}

#define s_bench(...) s_bench_argv ((const char *[]) { __VA_ARGS__, NULL })

//  The number after "key": in the JSON output; fails when absent
static long
s_json_number (const char *key)
{
    char quoted [128];
    snprintf (quoted, sizeof quoted, "\"%s\":", key);
    const char *at = strstr (s_ctx.output, quoted);
    cr_assert_not_null (at, "no %s in %s", key, s_ctx.output);
    return strtol (at + strlen (quoted), NULL, 10);
}

//  -------------------------------------------------------------------------
//  Copies of the files, with a violation planted

static void
s_copy_db (const char *from, const char *to)
{
    sqlite3 *source = NULL, *target = NULL;
    cr_assert_eq (sqlite3_open_v2 (from, &source, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    cr_assert_eq (sqlite3_open (to, &target), SQLITE_OK);
    sqlite3_backup *backup = sqlite3_backup_init (target, "main", source, "main");
    cr_assert_not_null (backup, "%s", sqlite3_errmsg (target));
    cr_assert_eq (sqlite3_backup_step (backup, -1), SQLITE_DONE);
    cr_assert_eq (sqlite3_backup_finish (backup), SQLITE_OK);
    sqlite3_close (source);
    sqlite3_close (target);
}

//  Makes <dir>/<name>/ with copies of the four files, and returns it
static const char *
s_copy_data (const char *name, char *out, size_t size)
{
    const char *files [] = { "coordinator.db", "inventory.db", "payment.db", "order.db" };
    s_path (out, size, name);
    cr_assert_eq (mkdir (out, 0700), 0);
    for (int i = 0; i < 4; i++) {
        char from [PATH_MAX], to [PATH_MAX + 64];
        snprintf (to, sizeof to, "%s/%s", out, files [i]);
        s_copy_db (s_path (from, sizeof from, files [i]), to);
    }
    return out;
}

//  Runs sql on data/file, with data/coordinator.db attached as c; at
//  least one row must change
static void
s_plant (const char *data, const char *file, const char *sql)
{
    char path [PATH_MAX + 64];
    snprintf (path, sizeof path, "%s/%s", data, file);
    sqlite3 *db = NULL;
    cr_assert_eq (sqlite3_open_v2 (path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    char *attach = sqlite3_mprintf ("ATTACH '%q/coordinator.db' AS c", data);
    if (strcmp (file, "coordinator.db") != 0)
        cr_assert_eq (sqlite3_exec (db, attach, NULL, NULL, NULL), SQLITE_OK,
                      "%s", sqlite3_errmsg (db));
    sqlite3_free (attach);
    char *error = NULL;
    int rc = sqlite3_exec (db, sql, NULL, NULL, &error);
    cr_assert_eq (rc, SQLITE_OK, "%s: %s", sql, error? error: "");
    cr_assert_gt (sqlite3_total_changes (db), 0, "planted nothing: %s", sql);
    sqlite3_close (db);
}

//  checkout-bench --verify over data must fail and name each of the
//  expected violations (NULL-terminated)
static void
s_expect_violations (const char *data, const char **expected)
{
    int code = s_bench ("--verify", "--data", data, "--n", "350");
    cr_assert_eq (code, 1, "verify of %s: exit %d\n%s", data, code, s_ctx.output);
    for (; *expected; expected++)
        cr_assert_not_null (strstr (s_ctx.output, *expected), "%s: no '%s' in:\n%s", data,
                            *expected, s_ctx.output);
}

#define s_violations(data, ...) \
    s_expect_violations ((data), (const char *[]) { __VA_ARGS__, NULL })

//  -------------------------------------------------------------------------
//  Tests

//  W1 for k = 0..299: 6 out of stock (k % 50 == 2), 15 declined (k % 20 ==
//  0), 3 unserviceable (k % 100 == 1), 276 confirmed
Test (bench, run_verify_and_planted_violations)
{
    s_start_system ("10000");
    char pid [32];
    snprintf (pid, sizeof pid, "%d", (int) s_ctx.pids [0]);
    int code = s_bench ("--frontend", s_ctx.frontend, "-n", "300", "--pids", pid);
    cr_assert_eq (code, 0, "bench exit %d:\n%s", code, s_ctx.output);
    const char *lines [] = {
        "confirmed                          276        276\n",
        "out_of_stock                         6          6\n",
        "card_declined                       15         15\n",
        "destination_unserviceable            3          3\n",
        "timeout                              0          0\n",
        "result        PASS\n", "checkout-coordi (", "throughput ", " p99.9 "
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines [0]; i++)
        cr_assert_not_null (strstr (s_ctx.output, lines [i]), "no '%s' in:\n%s", lines [i],
                            s_ctx.output);

    //  50 more over two clients, reported as JSON
    code = s_bench ("--frontend", s_ctx.frontend, "--n", "50", "--first", "300", "--c", "8",
                    "--clients", "2", "--json");
    cr_assert_eq (code, 0, "bench exit %d:\n%s", code, s_ctx.output);
    cr_assert_not_null (strstr (s_ctx.output, "\"confirmed\":{\"expected\":45,\"got\":45}"),
                        "%s", s_ctx.output);
    cr_assert_eq (s_json_number ("results"), 50);
    cr_assert_not_null (strstr (s_ctx.output, "\"passed\":true}\n"));

    code = s_bench ("--verify", "--data", s_ctx.dir);
    cr_assert_eq (code, 0, "verify exit %d:\n%s", code, s_ctx.output);
    cr_assert_not_null (strstr (s_ctx.output, "verify: ok: 350 checkouts (k=0..349)"),
                        "%s", s_ctx.output);
    s_stop_system ();

    //  An untouched copy holds every invariant, so each failure below is
    //  the planted one
    char data [PATH_MAX];
    cr_assert_eq (s_bench ("--verify", "--data", s_copy_data ("clean", data, sizeof data),
                           "--n", "350"), 0, "%s", s_ctx.output);

    s_plant (s_copy_data ("no-order", data, sizeof data), "order.db",
             "DELETE FROM order_details WHERE checkout_id = 'chk-3'");
    s_violations (data, "violation: chk-3 confirmed but order missing\n");

    //  without its ReleaseInventory ledger entry (type 2) the reservation is held
    s_plant (s_copy_data ("held", data, sizeof data), "inventory.db",
             "DELETE FROM ledger WHERE type = 2 AND saga_id ="
             " (SELECT saga_id FROM c.sagas WHERE checkout_id = 'chk-20')");
    s_violations (data, "violation: chk-20 failed but reservation held\n",
                  "violation: stock of SKU-0140: initial 1000000 - held ");

    s_plant (s_copy_data ("authorized", data, sizeof data), "payment.db",
             "UPDATE authorization_details SET voided_at = NULL"
             " WHERE checkout_id = 'chk-1'");
    s_violations (data, "violation: chk-1 failed but authorization authorized\n");

    s_plant (s_copy_data ("stock", data, sizeof data), "inventory.db",
             "UPDATE stock SET available = available - 1 WHERE sku = 'SKU-0500'");
    s_violations (data, "violation: stock of SKU-0500: initial 1000000 - held ");

    s_plant (s_copy_data ("no-saga", data, sizeof data), "coordinator.db",
             "DELETE FROM sagas WHERE checkout_id = 'chk-7'");
    s_violations (data, "violation: chk-7 has no saga\n",
                  "violation: outcome confirmed: W1 plans 321, found 320\n",
                  "which no checkout has\n");

    s_plant (s_copy_data ("not-ended", data, sizeof data), "coordinator.db",
             "UPDATE sagas SET phase = 'running' WHERE checkout_id = 'chk-8'");
    s_violations (data, "violation: chk-8 not terminal (phase running)");

    s_plant (s_copy_data ("duplicate", data, sizeof data), "coordinator.db",
             "DROP INDEX sagas_checkout;"
             "CREATE TEMP TABLE twin AS SELECT * FROM sagas WHERE checkout_id = 'chk-9';"
             "UPDATE twin SET saga_id = 'sg-twin'; INSERT INTO sagas SELECT * FROM twin");
    s_violations (data, "violation: chk-9 has more than one saga (");
}

//  Over the admission limit the coordinator answers overloaded; the bench
//  retries and still gets every RESULT
Test (bench, overloaded_is_retried)
{
    s_start_system ("4");
    int code = s_bench ("--frontend", s_ctx.frontend, "-n", "100", "-c", "32", "--json");
    cr_assert_eq (code, 0, "bench exit %d:\n%s", code, s_ctx.output);
    cr_assert_gt (s_json_number ("overloaded_retries"), 0, "%s", s_ctx.output);
    cr_assert_eq (s_json_number ("results"), 100);
    s_stop_system ();
}

//  Two frontends, one of them down: its DEALER takes nothing, so every
//  checkout goes to the other, and the run passes
Test (bench, a_dead_frontend_is_passed_over)
{
    s_start_system ("10000");
    char frontends [600];
    snprintf (frontends, sizeof frontends, "ipc://%s/nobody.ipc,%s", s_ctx.dir,
              s_ctx.frontend);
    int code = s_bench ("--frontend", frontends, "-n", "40", "-c", "8", "--timeout", "20000",
                        "--json");
    cr_assert_eq (code, 0, "bench exit %d:\n%s", code, s_ctx.output);
    cr_assert_eq (s_json_number ("results"), 40);
    cr_assert_not_null (strstr (s_ctx.output, "\"timeout\":{\"expected\":0,\"got\":0}"),
                        "%s", s_ctx.output);
    cr_assert_eq (s_json_number ("redirects"), 0, "%s", s_ctx.output);
    s_stop_system ();
}

//  No coordinator: every checkout times out, and the run fails.  Nothing
//  ever answered, so it stops after the first wave: the 498 checkouts not
//  sent yet do not wait a timeout each, 2 at a time (75 s).
Test (bench, timeouts_are_counted)
{
    int64_t start = ph_now_ms ();
    int code = s_bench ("--frontend", s_ctx.frontend, "-n", "500", "-c", "2", "--timeout",
                        "300", "--json");
    int64_t took = ph_now_ms () - start;
    cr_assert_eq (code, 1, "bench exit %d:\n%s", code, s_ctx.output);
    cr_assert_not_null (strstr (s_ctx.output, "\"timeout\":{\"expected\":0,\"got\":500}"),
                        "%s", s_ctx.output);
    cr_assert_not_null (strstr (s_ctx.output, "\"unanswered\":true,\"passed\":false}"),
                        "%s", s_ctx.output);
    char path [PATH_MAX];
    char *errors = ph_slurp (s_path (path, sizeof path, "bench.out.err"));
    cr_assert_not_null (errors);
    bool said = strstr (errors, "is a coordinator running there? Under CURVE it needs"
                        " --curve-secret and --curve-server. The 498 checkouts left count as"
                        " timed out.") != NULL;
    cr_expect (said, "%s", errors);
    free (errors);
    cr_assert_lt (took, 20000, "it took %" PRId64 " ms", took);
}

Test (bench, bad_usage_and_missing_files)
{
    cr_assert_eq (s_bench ("-n", "0"), 2);
    cr_assert_eq (s_bench ("--c", "x"), 2);
    cr_assert_eq (s_bench ("--prefix", "no spaces"), 2);
    cr_assert_eq (s_bench ("--frontend", "http://x"), 2);
    cr_assert_eq (s_bench ("--frontend", "tcp://127.0.0.1:5570,"), 2);
    cr_assert_eq (s_bench ("--pids", "12,abc"), 2);
    cr_assert_eq (s_bench ("--rss-of", "12"), 2);
    cr_assert_eq (s_bench ("--verify"), 2);
    cr_assert_eq (s_bench ("--verify", "--data", s_ctx.dir), 1);
    cr_assert_not_null (strstr (s_ctx.output, "verify: cannot read"), "%s", s_ctx.output);
}

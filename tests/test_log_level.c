/*  test_log_level.c - daemons log to stderr at their --log-level; SIGHUP reads it again
    The level names; the real coordinator and a participant, their stdout
    and stderr captured apart, a config file rewritten under them.
*/
#include <criterion/criterion.h>
#include <czmq.h>
#include "log_level.h"
#include "process_helpers.h"

static char s_dir [64];
static char s_bin [PATH_MAX - 64];
static pid_t s_pids [2];

static void
s_init (void)
{
    cr_assert_eq (ph_mkdtemp ("ck-log-level", s_dir, sizeof s_dir), 0);
    cr_assert_eq (ph_bin_dir (s_bin, sizeof s_bin), 0);
}

static void
s_fini (void)
{
    for (int i = 0; i < 2; i++)
        ph_kill_reap (&s_pids [i]);
    ph_rmrf (s_dir);
}

TestSuite (log_level, .init = s_init, .fini = s_fini, .timeout = 60);

Test (log_level, names_parse_and_nothing_else_does)
{
    ck_log_level_t level;
    const char *names [] = { "error", "warning", "notice", "info", "debug" };
    for (int index = 0; index < 5; index++) {
        cr_assert_eq (ck_log_level_parse (names [index], &level), 0);
        cr_expect_eq ((int) level, index);
        cr_expect_str_eq (ck_log_level_name (level), names [index]);
    }
    cr_expect_eq (ck_log_level_parse ("INFO", &level), -1);
    cr_expect_eq (ck_log_level_parse ("", &level), -1);
    cr_expect_eq (ck_log_level_parse (NULL, &level), -1);
}

//  True while slot's process runs (an exited one is reaped, not a zombie)
static bool
s_running (int slot)
{
    int status;
    if (ph_wait (s_pids [slot], 0, &status) == 0) {
        s_pids [slot] = 0;
        return false;
    }
    return true;
}

static void
s_path (char *path, size_t size, const char *name)
{
    snprintf (path, size, "%s/%s", s_dir, name);
}

static void
s_write_level (const char *config, const char *level)
{
    FILE *file = fopen (config, "w");
    cr_assert_not_null (file);
    fprintf (file, "log-level = %s\n", level);
    fclose (file);
}

//  True when path holds text within timeout_ms
static bool
s_wait_text (const char *path, const char *text, int timeout_ms)
{
    int64_t deadline = ph_now_ms () + timeout_ms;
    do {
        char *content = ph_slurp (path);
        bool found = content && strstr (content, text);
        free (content);
        if (found)
            return true;
        zclock_sleep (50);
    } while (ph_now_ms () < deadline);
    return false;
}

//  Starts program (slot) with its config file at level warning, checks it
//  logs nothing below, then raises the level with SIGHUP and stops it:
//  its info lines arrive, all on stderr
static void
s_check_daemon (int slot, const char *program, const char *const *args, const char *stop_line)
{
    char config [PATH_MAX], out [PATH_MAX], err [PATH_MAX], exe [PATH_MAX];
    char name [64];
    snprintf (name, sizeof name, "%s.zpl", program);
    s_path (config, sizeof config, name);
    snprintf (name, sizeof name, "%s.out", program);
    s_path (out, sizeof out, name);
    snprintf (name, sizeof name, "%s.err", program);
    s_path (err, sizeof err, name);
    snprintf (exe, sizeof exe, "%s/%s", s_bin, program);
    s_write_level (config, "warning");
    const char *argv [16] = { exe, "--config", config };
    int argc = 3;
    for (; *args && argc < 15; args++)
        argv [argc++] = *args;
    argv [argc] = NULL;
    s_pids [slot] = ph_spawn2 (exe, (char *const *) argv, out, err);
    cr_assert_gt (s_pids [slot], 0);
    zclock_sleep (1000);
    cr_assert (s_running (slot), "%s did not start", program);
    char *text = ph_slurp (err);
    cr_expect (!text || !strstr (text, "I: "), "an info line at level warning: %s", text);
    free (text);

    s_write_level (config, "info");
    cr_assert_eq (ph_signal (s_pids [slot], SIGHUP), 0);
    cr_expect (s_wait_text (err, "SIGHUP: log level info", 5000), "no notice of the new level");
    cr_assert (s_running (slot), "SIGHUP ended %s", program);
    int status = 0;
    ph_signal (s_pids [slot], SIGTERM);
    cr_assert_eq (ph_wait (s_pids [slot], 20000, &status), 0);
    s_pids [slot] = 0;
    cr_expect_eq (ph_exit_code (status), 0);
    cr_expect (s_wait_text (err, stop_line, 100), "no '%s' at level info", stop_line);
    text = ph_slurp (out);
    cr_expect (!text || !*text, "stdout is not for logs: %s", text);
    free (text);
}

Test (log_level, daemons_log_to_stderr_and_sighup_rereads_the_level)
{
    char db [PATH_MAX], front [PATH_MAX + 8], back [PATH_MAX + 8], events [PATH_MAX + 8];
    s_path (db, sizeof db, "coordinator.db");
    snprintf (front, sizeof front, "ipc://%s/f", s_dir);
    snprintf (back, sizeof back, "ipc://%s/b", s_dir);
    snprintf (events, sizeof events, "ipc://%s/e", s_dir);
    const char *coordinator [] = {
        "--db", db, "--frontend", front, "--backend", back, "--events", events, NULL
    };
    s_check_daemon (0, "checkout-coordinator", coordinator, "coordinator: stopping");
    char payment_db [PATH_MAX];
    s_path (payment_db, sizeof payment_db, "payment.db");
    const char *payment [] = { "--db", payment_db, "--coordinator", back, NULL };
    s_check_daemon (1, "checkout-payment", payment, "stopping");
}

Test (log_level, a_bad_level_is_a_usage_error)
{
    char out [PATH_MAX], exe [PATH_MAX];
    s_path (out, sizeof out, "bad.txt");
    const char *programs [] = { "checkout-coordinator", "checkout-order" };
    for (int i = 0; i < 2; i++) {
        snprintf (exe, sizeof exe, "%s/%s", s_bin, programs [i]);
        const char *argv [] = { exe, "--log-level", "loud", NULL };
        unlink (out);
        pid_t pid = ph_spawn (exe, (char *const *) argv, out);
        int status = 0;
        cr_assert_eq (ph_wait (pid, 10000, &status), 0);
        cr_expect_eq (ph_exit_code (status), 2);
        char *text = ph_slurp (out);
        cr_expect (text && strstr (text, "--log-level: 'loud'"), "%s", text? text: "");
        free (text);
    }
}

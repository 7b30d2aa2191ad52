/*  test_supervisor.c - end-to-end tests of scripts/supervisor
    The real supervisor (python3) runs the real process group; the test drives it like an operator.

    Each test writes its own topology (ipc endpoints inside its temp dir),
    starts `scripts/supervisor start` as a child of the test (so PDEATHSIG
    takes the supervisor, and through its own PDEATHSIG the group, down with
    a killed runner), and talks to it with `status`, `scale` and `stop`.
    s_fini kills, by PID, every process the test saw that still runs with
    the test's directory on its command line, then removes the directory.
*/
#include <criterion/criterion.h>
#include <ftw.h>
#include <sys/stat.h>
#include <czmq.h>
#include <limits.h>
#include <stdarg.h>
#include "checkout/client.h"
#include "metrics_helpers.h"
#include "process_helpers.h"
#include "checkout/protocol.h"
#include "stats_helpers.h"
#include "w1.h"

#define MAX_SEEN        64
#define MAX_ARGS        16
#define MAX_BOOK        400
#define UP_MS           60000           //  generous: the ASan build is slow
#define RESULT_MS       60000

//  What a checkout sent by the test has become
typedef struct {
    bool accepted;                      //  ACCEPTED or RESULT seen
    bool terminal;                      //  RESULT confirmed or failed seen
    bool wrong;                         //  a RESULT W1 does not expect
} book_entry_t;

static struct {
    char dir [64];
    char data [128];
    char topology [128];
    char source [1024];
    char script [1100];
    char bin [1100];
    char frontend [128];
    pid_t supervisor;                   //  the foreground supervisor, our child
    pid_t supervisor_b;                 //  a second host's, when a test has one
    pid_t exporter;                     //  checkout-exporter, when a test has one
    pid_t seen [MAX_SEEN];              //  every group PID a status showed
    int seen_count;
    ck_client_t *client;
    book_entry_t book [MAX_BOOK];
} s_ctx;

//  -------------------------------------------------------------------------
//  Paths and clean-up

static void
s_paths (void)
{
    const char *source = getenv ("CK_SOURCE_DIR");
    const char *bin = getenv ("CK_BIN_DIR");
    //  outside CTest: the parent of this file's directory, and build/bin
    snprintf (s_ctx.source, sizeof s_ctx.source, "%s", source? source: __FILE__);
    for (int i = 0; !source && i < 2 && strrchr (s_ctx.source, '/'); i++)
        *strrchr (s_ctx.source, '/') = 0;
    if (bin)
        snprintf (s_ctx.bin, sizeof s_ctx.bin, "%s", bin);
    else
        snprintf (s_ctx.bin, sizeof s_ctx.bin, "%s/build/bin", s_ctx.source);
    snprintf (s_ctx.script, sizeof s_ctx.script, "%s/scripts/supervisor", s_ctx.source);
}

static void
s_init (void)
{
    memset (&s_ctx, 0, sizeof s_ctx);
    s_paths ();
    cr_assert_eq (ph_mkdtemp ("ck-sup", s_ctx.dir, sizeof s_ctx.dir), 0);
    snprintf (s_ctx.data, sizeof s_ctx.data, "%s/data", s_ctx.dir);
    snprintf (s_ctx.topology, sizeof s_ctx.topology, "%s/topology.zpl", s_ctx.dir);
    snprintf (s_ctx.frontend, sizeof s_ctx.frontend, "ipc://%s/fe", s_ctx.dir);
}

//  True when pid runs with our directory on its command line: a process of
//  ours, not a stranger that got a recycled PID
static bool
s_ours (pid_t pid)
{
    return ph_cmdline_has (pid, s_ctx.dir);
}

//  True when pid is gone: no such process, a zombie, or not ours any more
static bool
s_gone (pid_t pid)
{
    if (kill (pid, 0) == -1 && errno == ESRCH)
        return true;
    char path [64];
    snprintf (path, sizeof path, "/proc/%d/stat", (int) pid);
    char *stat = ph_slurp (path);
    bool zombie = stat && strstr (stat, ") Z ");
    free (stat);
    return zombie || !s_ours (pid);
}

//  The PID a detached supervisor wrote into its lock file, or 0
static pid_t
s_lock_pid (void)
{
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/run/supervisor.lock", s_ctx.data);
    char *text = ph_slurp (path);
    pid_t pid = text? (pid_t) atoi (text): 0;
    free (text);
    return pid;
}

static void
s_fini (void)
{
    ck_client_destroy (&s_ctx.client);
    ph_kill_reap (&s_ctx.supervisor);
    ph_kill_reap (&s_ctx.supervisor_b);
    ph_kill_reap (&s_ctx.exporter);
    pid_t detached = s_lock_pid ();
    if (detached > 0 && s_ours (detached))
        kill (detached, SIGKILL);
    for (int i = 0; i < s_ctx.seen_count; i++)
        if (s_ours (s_ctx.seen [i]))
            kill (s_ctx.seen [i], SIGKILL);
    if (!getenv ("CK_SUP_KEEP"))
        ph_rmrf (s_ctx.dir);
}

TestSuite (supervisor, .init = s_init, .fini = s_fini, .timeout = 180);

//  -------------------------------------------------------------------------
//  Running the supervisor

//  Writes the test's topology: ipc endpoints in our dir, fast heartbeats,
//  restarts by policy (the supervisor section's ZPL lines), the W1
//  catalog, then extra (ZPL, may be "")
static void
s_topology_policy (const char *policy, const char *extra)
{
    FILE *file = fopen (s_ctx.topology, "w");
    cr_assert (file);
    fprintf (file,
        "endpoints\n"
        "    frontend = %s\n"
        "    backend = ipc://%s/be\n"
        "    events = ipc://%s/ev\n"
        "supervisor\n"
        "%s"
        "    stop_timeout = 20\n"
        "    ready_timeout = 60\n"
        "coordinator\n"
        "    flags\n"
        "        heartbeat-ms = 200\n"
        "        liveness = 5\n"
        "inventory\n"
        "    seed = \"%s/scripts/seeds/w1-catalog.csv\"\n"
        "    flags\n"
        "        heartbeat-ms = 200\n"
        "        liveness = 5\n"
        "%s",
        s_ctx.frontend, s_ctx.dir, s_ctx.dir, policy, s_ctx.source, extra);
    fclose (file);
}

//  The topology with fast restarts: at most 5 in 30 s
static void
s_topology (const char *extra)
{
    s_topology_policy ("    backoff_ms = 20\n"
                       "    backoff_max_ms = 500\n"
                       "    restart_limit = 5\n"
                       "    restart_window = 30\n", extra);
}

//  Runs `supervisor ARGS... --data DATA` (args end with NULL), output in
//  dir/<out>.  Returns its exit code, or -1 when it outlived timeout_ms
//  (then killed).  *output gets the output when not NULL (caller frees).
static int
s_sup (const char *out, int timeout_ms, char **output, ...)
{
    const char *argv [MAX_ARGS] = { s_ctx.script };
    int argc = 1;
    va_list args;
    va_start (args, output);
    for (const char *arg = va_arg (args, const char *); arg && argc < MAX_ARGS - 3;
         arg = va_arg (args, const char *))
        argv [argc++] = arg;
    va_end (args);
    argv [argc++] = "--data";
    argv [argc++] = s_ctx.data;
    argv [argc] = NULL;
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/%s.out", s_ctx.dir, out);
    remove (path);
    pid_t pid = ph_spawn (s_ctx.script, (char *const *) argv, path);
    int status = 0;
    int rc = -1;
    if (ph_wait (pid, timeout_ms, &status) == 0)
        rc = ph_exit_code (status);
    else
        ph_kill_reap (&pid);
    if (output)
        *output = ph_slurp (path);
    return rc;
}

//  The line of process name in a status text, copied into line; its PID
//  (0 when down), or -1 when the status has no such process
static pid_t
s_proc (const char *status, const char *name, char *line, size_t size)
{
    const char *at = status;
    while (at && *at) {
        const char *end = strchr (at, '\n');
        size_t length = end? (size_t) (end - at): strlen (at);
        char first [64] = "", second [32] = "";
        snprintf (line, size, "%.*s", (int) length, at);
        if (sscanf (line, "%63s %31s", first, second) == 2 && streq (first, name))
            return streq (second, "-")? 0: (pid_t) atoi (second);
        at = end? end + 1: NULL;
    }
    *line = 0;
    return -1;
}

//  Records every PID of a status text for s_fini; returns how many running
static int
s_note_pids (const char *status, pid_t *pids, int max)
{
    int count = 0;
    const char *at = strstr (status? status: "", "\nPROCESS");
    at = at? strchr (at + 1, '\n'): NULL;
    while (at && *++at) {
        char name [64] = "", pid [32] = "";
        if (sscanf (at, "%63s %31s", name, pid) == 2 && !streq (pid, "-")) {
            pid_t value = (pid_t) atoi (pid);
            bool known = false;
            for (int i = 0; i < s_ctx.seen_count; i++)
                known = known || s_ctx.seen [i] == value;
            if (!known && s_ctx.seen_count < MAX_SEEN)
                s_ctx.seen [s_ctx.seen_count++] = value;
            if (pids && count < max)
                pids [count] = value;
            count++;
        }
        at = strchr (at, '\n');
    }
    return count;
}

//  The current status text (caller frees), or NULL when status failed
static char *
s_status (void)
{
    char *output = NULL;
    int rc = s_sup ("status", 10000, &output, "status", NULL);
    if (rc != 0) {
        free (output);
        return NULL;
    }
    s_note_pids (output, NULL, 0);
    return output;
}

//  Waits until the line of process name holds needle (name NULL: the
//  supervisor's own line); 0, or -1 with the last status in the log
static int
s_wait_status (const char *name, const char *needle, int timeout_ms)
{
    int64_t deadline = ph_now_ms () + timeout_ms;
    char *status = NULL;
    char line [512] = "";
    while (ph_now_ms () < deadline) {
        free (status);
        status = s_status ();
        if (status && name)
            s_proc (status, name, line, sizeof line);
        else
        if (status)
            snprintf (line, sizeof line, "%.*s", (int) strcspn (status, "\n"), status);
        if (status && strstr (line, needle)) {
            free (status);
            return 0;
        }
        usleep (100000);
    }
    cr_log_error ("waited for '%s' in %s:\n%s", needle, name? name: "supervisor",
                  status? status: "(no status)");
    free (status);
    return -1;
}

//  Starts the supervisor of host (NULL: the whole group) on s_ctx.data in
//  the foreground as our child, its PID in *pid_p, and waits for "up"
static void
s_start_host (const char *host, pid_t *pid_p)
{
    const char *argv [] = { s_ctx.script, "start", s_ctx.topology, "--data", s_ctx.data,
                            "--bin", s_ctx.bin, host? "--host": NULL, host, NULL };
    char log [PATH_MAX];
    snprintf (log, sizeof log, "%s/supervisor%s%s.out", s_ctx.dir, host? "-": "",
              host? host: "");
    *pid_p = ph_spawn (s_ctx.script, (char *const *) argv, log);
    cr_assert_gt (*pid_p, 0);
    //  status answers once the socket is bound; "up" once the group is
    cr_assert_eq (s_wait_status (NULL, "state up", UP_MS), 0, "the group did not come up");
}

//  Starts the supervisor in the foreground as our child and waits for "up"
static void
s_start (void)
{
    s_start_host (NULL, &s_ctx.supervisor);
}

//  `stop` returns once the group is down; then the supervisor exits 0
static void
s_stop (void)
{
    cr_assert_eq (s_sup ("stop", 120000, NULL, "stop", NULL), 0);
    int status = 0;
    cr_assert_eq (ph_wait (s_ctx.supervisor, 10000, &status), 0, "the supervisor still runs");
    cr_expect_eq (ph_exit_code (status), 0);
    s_ctx.supervisor = 0;
}

//  Waits until every PID is gone; the number still there
static int
s_still_running (const pid_t *pids, int count, int timeout_ms)
{
    int64_t deadline = ph_now_ms () + timeout_ms;
    int alive;
    do {
        alive = 0;
        for (int i = 0; i < count; i++)
            alive += !s_gone (pids [i]);
        if (alive)
            usleep (20000);
    } while (alive && ph_now_ms () < deadline);
    return alive;
}

static bool
s_log_has (const char *name, const char *needle)
{
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/logs/%s.log", s_ctx.data, name);
    char *text = ph_slurp (path);
    bool found = text && strstr (text, needle);
    free (text);
    return found;
}

//  How many processes stopped cleanly (exit 0) after the first "stopping"
//  of the supervisor's log and before the coordinator did; -1 when the
//  coordinator did not stop cleanly or something was SIGKILLed
static int
s_stop_order (void)
{
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/logs/supervisor.log", s_ctx.data);
    char *text = ph_slurp (path);
    char *at = text? strstr (text, "supervisor: stopping:"): NULL;
    char *coordinator = at? strstr (at, "process=coordinator pid="): NULL;
    char line [256] = "";
    if (coordinator)
        snprintf (line, sizeof line, "%.*s", (int) strcspn (coordinator, "\n"), coordinator);
    int count = -1;
    if (strstr (line, "stopped (exit 0)") && !strstr (text, "SIGKILL")) {
        count = 0;
        while ((at = strstr (at, "stopped (exit 0)")) && at < coordinator) {
            count++;
            at++;
        }
    }
    free (text);
    return count;
}

//  -------------------------------------------------------------------------
//  Checkouts (workload W1: chk-<k>, outcome decided by k)

//  The group's keys of role (client, monitor): the supervisor runs the
//  group under CURVE by default, with keys it made in the data dir, or in
//  the test's shared dir when the topology names one
static void
s_keys (const char *role, ck_curve_keys_t *keys)
{
    char dir [PATH_MAX], secret [PATH_MAX + 64], server [PATH_MAX + 32], error [512];
    snprintf (dir, sizeof dir, "%s/keys", s_ctx.dir);
    if (access (dir, F_OK))
        snprintf (dir, sizeof dir, "%s/keys", s_ctx.data);
    snprintf (secret, sizeof secret, "%s/%s.key_secret", dir, role);
    snprintf (server, sizeof server, "%s/coordinator.key", dir);
    cr_assert_eq (ck_curve_keys_load (keys, secret, server, error, sizeof error), 0,
                  "%s", error);
}

//  Waits until the coordinator's stats list an instance of every service.
//  "up" says each process started, not that its READY reached the
//  coordinator, which refuses a checkout no instance would take.
static void
s_wait_serving (void)
{
    ck_curve_keys_t keys;
    s_keys ("monitor", &keys);
    zsock_t *sub = zsock_new (ZMQ_SUB);
    cr_assert (sub);
    ck_curve_client_apply (&keys, sub);
    zsock_set_subscribe (sub, "stats");
    char events [PATH_MAX];
    snprintf (events, sizeof events, "ipc://%s/ev", s_ctx.dir);
    cr_assert_eq (zsock_connect (sub, "%s", events), 0);
    int64_t deadline = ph_now_ms () + UP_MS;
    ck_ev_stats_t stats;
    bool serving = false;
    while (!serving && ph_now_ms () < deadline
       &&  e2e_sub_next_stats (sub, &stats, (int) (deadline - ph_now_ms ())) == 0)
        serving = e2e_stats_workers (&stats, CK_SERVICE_INVENTORY) > 0
               && e2e_stats_workers (&stats, CK_SERVICE_PAYMENT) > 0
               && e2e_stats_workers (&stats, CK_SERVICE_ORDER) > 0;
    zsock_destroy (&sub);
    cr_assert (serving, "no stats with an instance of every service within %d ms", UP_MS);
}

static void
s_send (uint64_t first, size_t count, bool ack)
{
    if (!s_ctx.client) {
        s_wait_serving ();
        ck_curve_keys_t keys;
        s_keys ("client", &keys);
        s_ctx.client = ck_client_new_curve (s_ctx.frontend, &keys);
    }
    cr_assert (s_ctx.client);
    for (uint64_t k = first; k < first + count; k++) {
        ck_checkout_t checkout;
        w1_checkout (k, &checkout);
        checkout.ack = ack;
        cr_assert_eq (ck_client_send_checkout (s_ctx.client, &checkout), 0);
    }
}

//  Receives one reply within timeout_ms into the book; false on timeout
static bool
s_receive (int timeout_ms)
{
    ck_command_t command = ck_client_recv (s_ctx.client, timeout_ms);
    const ck_client_reply_t *reply = ck_client_reply (s_ctx.client);
    unsigned long k = 0;
    if (command == CK_CMD_ACCEPTED
    &&  sscanf (reply->accepted.checkout_id, "chk-%lu", &k) == 1 && k < MAX_BOOK)
        s_ctx.book [k].accepted = true;
    else
    if (command == CK_CMD_RESULT
    &&  sscanf (reply->result.checkout_id, "chk-%lu", &k) == 1 && k < MAX_BOOK) {
        book_entry_t *entry = &s_ctx.book [k];
        entry->accepted = true;
        if (reply->result.status == CK_STATUS_CONFIRMED
        ||  reply->result.status == CK_STATUS_FAILED) {
            entry->terminal = true;
            entry->wrong = entry->wrong || reply->result.status != w1_expected (k).status;
        }
    }
    else
    if (command == CK_CMD_ERROR)
        cr_log_warn ("ERROR code=%d %s", reply->error.code, reply->error.message);
    return command != CK_CMD_NONE;
}

//  Counts book entries first..first+count-1 that are terminal, and wrong ones
static size_t
s_terminal (uint64_t first, size_t count, size_t *wrong)
{
    size_t done = 0;
    *wrong = 0;
    for (uint64_t k = first; k < first + count; k++) {
        done += s_ctx.book [k].terminal;
        *wrong += s_ctx.book [k].wrong;
    }
    return done;
}

//  Receives until checkouts first..first+count-1 are all terminal
static size_t
s_wait_results (uint64_t first, size_t count, size_t *wrong)
{
    int64_t deadline = ph_now_ms () + RESULT_MS;
    while (s_terminal (first, count, wrong) < count && ph_now_ms () < deadline)
        s_receive (200);
    return s_terminal (first, count, wrong);
}

//  -------------------------------------------------------------------------
//  Tests

Test (supervisor, restarts_a_killed_participant)
{
    s_topology ("");
    s_start ();
    char *status = s_status ();
    char line [512];
    pid_t payment = s_proc (status, "payment-1", line, sizeof line);
    free (status);
    cr_assert_gt (payment, 0);
    cr_assert_eq (kill (payment, SIGKILL), 0);

    //  back as a new process, one restart counted; the group serves again
    cr_assert_eq (s_wait_status ("payment-1", "signal 9", UP_MS), 0);
    cr_assert_eq (s_wait_status ("payment-1", "running", UP_MS), 0);
    status = s_status ();
    pid_t again = s_proc (status, "payment-1", line, sizeof line);
    free (status);
    cr_expect_gt (again, 0);
    cr_expect_neq (again, payment);
    int restarts = -1;
    char name [64], pid [32], state [64];
    float uptime = 0;
    cr_expect_eq (sscanf (line, "%63s %31s %63s %f s %d", name, pid, state, &uptime,
                          &restarts), 5, "line: %s", line);
    cr_expect_eq (restarts, 1, "line: %s", line);

    size_t wrong = 0;
    s_send (1, 20, false);
    cr_expect_eq (s_wait_results (1, 20, &wrong), 20);
    cr_expect_eq (wrong, 0);
    s_stop ();
}

//  nftw's callback: counts what others than the owner may read or enter
static int s_public;
static char s_public_path [256];

static int
s_check_private (const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void) flag; (void) ftw;
    if (st->st_mode & 077) {
        if (!s_public++)
            snprintf (s_public_path, sizeof s_public_path, "%s mode %o", path,
                      (unsigned) (st->st_mode & 07777));
    }
    return 0;
}

//  The stores hold customer ids and payment tokens: nothing the group
//  writes may be readable by another local user, whatever the caller's umask
Test (supervisor, the_data_stays_private)
{
    mode_t old = umask (022);
    s_topology ("");
    s_start ();
    umask (old);
    size_t wrong = 0;
    s_send (1, 20, false);
    cr_expect_eq (s_wait_results (1, 20, &wrong), 20);
    char path [256];
    snprintf (path, sizeof path, "%s/payment.db", s_ctx.data);
    cr_assert_eq (access (path, F_OK), 0, "no %s", path);
    snprintf (path, sizeof path, "%s/logs/coordinator.log", s_ctx.data);
    cr_assert_eq (access (path, F_OK), 0, "no %s", path);
    s_public = 0;
    cr_assert_eq (nftw (s_ctx.data, s_check_private, 16, FTW_PHYS), 0);
    cr_expect_eq (s_public, 0, "%d entries others may read, first %s", s_public,
                  s_public_path);
    s_stop ();
}

//  checkout-exporter reads the restart counts from the supervisor's status
Test (supervisor, exporter_shows_restart_counts)
{
    s_topology ("");
    s_start ();
    char exporter [PATH_MAX], events [PATH_MAX], log [PATH_MAX];
    snprintf (exporter, sizeof exporter, "%s/checkout-exporter", s_ctx.bin);
    snprintf (events, sizeof events, "ipc://%s/ev", s_ctx.dir);
    snprintf (log, sizeof log, "%s/exporter.log", s_ctx.dir);
    //  the group runs under CURVE: the exporter subscribes with the monitor's key
    char secret [PATH_MAX + 32], server [PATH_MAX + 32];
    snprintf (secret, sizeof secret, "%s/keys/monitor.key_secret", s_ctx.data);
    snprintf (server, sizeof server, "%s/keys/coordinator.key", s_ctx.data);
    const char *argv [] = { exporter, "--events", events, "--listen", "127.0.0.1:0",
                            "--supervisor", s_ctx.data, "--curve-secret", secret,
                            "--curve-server", server, NULL };
    s_ctx.exporter = ph_spawn (exporter, (char *const *) argv, log);
    cr_assert_gt (s_ctx.exporter, 0);
    int port = mh_exporter_port (log, MH_WAIT_MS);
    cr_assert_gt (port, 0, "the exporter did not start (see %s)", log);

    const char *series =
        "checkout_supervisor_restarts_total{process=\"payment-1\",service=\"payment\"}";
    //  one coordinator on SQLite names no id: its endpoint labels it
    char up [PATH_MAX + 64];
    snprintf (up, sizeof up, "checkout_coordinator_up{coordinator=\"%s\"}", events);
    char *text = mh_scrape_until (port, up, 1, MH_WAIT_MS);
    cr_expect_eq (mh_sample (text? text: "", up), 1, "%s", text);
    cr_assert_not_null (text);
    cr_expect_eq (mh_sample (text, "checkout_supervisor_up"), 1, "%s", text);
    cr_expect_eq (mh_sample (text, series), 0, "%s", text);
    cr_expect_eq (mh_sample (text, "checkout_supervisor_restarts_total"
                             "{process=\"coordinator\",service=\"coordinator\"}"), 0, "%s", text);
    free (text);

    char *status = s_status ();
    char line [512];
    pid_t payment = s_proc (status, "payment-1", line, sizeof line);
    free (status);
    cr_assert_gt (payment, 0);
    cr_assert_eq (kill (payment, SIGKILL), 0);
    cr_assert_eq (s_wait_status ("payment-1", "running", UP_MS), 0);
    text = mh_scrape_until (port, series, 1, MH_WAIT_MS);
    cr_assert_not_null (text);
    cr_expect_eq (mh_sample (text, series), 1, "%s", text);
    int rc = mh_promtool (text, s_ctx.dir);
    cr_expect_eq (rc, 0, "promtool check metrics exit %d (see %s/promtool.log)", rc, s_ctx.dir);
    free (text);

    //  the supervisor gone, the exporter says so and goes on
    s_stop ();
    text = mh_scrape_until (port, "checkout_supervisor_up", 0, MH_WAIT_MS);
    cr_assert_not_null (text);
    cr_expect_eq (mh_sample (text, "checkout_supervisor_up"), 0, "%s", text);
    cr_expect_eq (mh_sample (text, series), -1, "%s", text);
    free (text);
    int status_code = 0;
    ph_signal (s_ctx.exporter, SIGTERM);
    cr_expect_eq (ph_wait (s_ctx.exporter, 5000, &status_code), 0);
    cr_expect_eq (ph_exit_code (status_code), 0);
    s_ctx.exporter = 0;
}

Test (supervisor, scales_payment_up_and_down)
{
    //  some gateway latency, so that load spreads over the instances
    s_topology ("payment\n"
                "    instances = 1\n"
                "    flags\n"
                "        verbose = true\n"
                "        latency-ms = 20\n"
                "        heartbeat-ms = 200\n"
                "        liveness = 5\n");
    s_start ();
    cr_assert_eq (s_sup ("scale-up", 60000, NULL, "scale", "payment", "2", NULL), 0);
    cr_assert_eq (s_wait_status ("payment-2", "running", UP_MS), 0);
    size_t wrong = 0;
    s_send (1, 60, false);
    cr_assert_eq (s_wait_results (1, 60, &wrong), 60);
    cr_expect_eq (wrong, 0);
    cr_expect (s_log_has ("payment-2", "participant: request saga="),
               "payment-2 received no request");

    //  scale down while 200 checkouts run: payment-2 drains, none is lost
    s_send (100, 200, false);
    for (int i = 0; i < 20; i++)
        s_receive (1000);
    cr_assert_eq (s_sup ("scale-down", 60000, NULL, "scale", "payment", "1", NULL), 0);
    cr_expect_eq (s_wait_results (100, 200, &wrong), 200);
    cr_expect_eq (wrong, 0);
    char *status = s_status ();
    char line [512];
    cr_expect_eq (s_proc (status, "payment-2", line, sizeof line), -1, "%s", status);
    cr_expect_gt (s_proc (status, "payment-1", line, sizeof line), 0, "%s", status);
    free (status);
    //  drained: it stopped by itself on SIGTERM, not by SIGKILL
    cr_expect (s_log_has ("supervisor", "drained (exit 0)"));
    cr_expect (!s_log_has ("supervisor", "SIGKILL"));
    s_stop ();
}

Test (supervisor, graceful_stop_under_load_loses_nothing)
{
    s_topology ("payment\n"
                "    flags\n"
                "        latency-ms = 5\n");
    s_start ();
    char *status = s_status ();
    pid_t pids [16];
    int count = s_note_pids (status, pids, 16);
    free (status);
    cr_assert_eq (count, 4);

    s_send (1, 300, true);
    int64_t deadline = ph_now_ms () + RESULT_MS;
    size_t accepted = 0;
    while (accepted < 50 && ph_now_ms () < deadline) {
        s_receive (200);
        accepted = 0;
        for (int k = 1; k <= 300; k++)
            accepted += s_ctx.book [k].accepted;
    }
    cr_assert_geq (accepted, 50);
    s_stop ();
    cr_expect_eq (s_still_running (pids, count, 5000), 0, "a process outlived stop");
    cr_expect_eq (s_stop_order (), 3, "participants first, each exit 0, then the coordinator");
    while (s_receive (0))
        ;
    ck_client_destroy (&s_ctx.client);

    //  the same data again: every accepted checkout ends terminal
    s_start ();
    size_t sent = 0;
    for (uint64_t k = 1; k <= 300; k++)
        if (s_ctx.book [k].accepted) {
            s_send (k, 1, false);
            sent++;
        }
    for (int k = 1; k <= 300; k++)
        s_ctx.book [k].terminal = s_ctx.book [k].terminal && !s_ctx.book [k].accepted;
    size_t wrong = 0;
    int64_t until = ph_now_ms () + RESULT_MS;
    size_t done = 0;
    while (done < sent && ph_now_ms () < until) {
        s_receive (200);
        done = 0;
        for (int k = 1; k <= 300; k++)
            done += s_ctx.book [k].accepted && s_ctx.book [k].terminal;
    }
    cr_expect_eq (done, sent, "accepted=%zu terminal=%zu", sent, done);
    s_terminal (1, 300, &wrong);
    cr_expect_eq (wrong, 0);
    s_stop ();
}

Test (supervisor, reports_a_crash_loop)
{
    s_topology ("order\n"
                "    flags\n"
                "        no-such-flag = 1\n");
    //  "up" never comes: wait for the verdict instead
    const char *argv [] = { s_ctx.script, "start", s_ctx.topology, "--data", s_ctx.data,
                            "--bin", s_ctx.bin, NULL };
    char log [PATH_MAX];
    snprintf (log, sizeof log, "%s/supervisor.out", s_ctx.dir);
    s_ctx.supervisor = ph_spawn (s_ctx.script, (char *const *) argv, log);
    cr_assert_eq (s_wait_status ("order-1", "failed: 5 restarts in 30 s", UP_MS), 0);
    cr_expect_eq (s_wait_status (NULL, "state degraded", 5000), 0);
    cr_expect (s_log_has ("order-1", "no-such-flag"));
    cr_expect (s_log_has ("supervisor", "left down"));
    //  left down: no sixth restart
    usleep (500000);
    char *status = s_status ();
    char line [512];
    cr_expect_eq (s_proc (status, "order-1", line, sizeof line), 0, "%s", line);
    cr_expect (strstr (line, " 5  exit 2"), "%s", line);
    pid_t pids [16];
    int count = s_note_pids (status, pids, 16);
    free (status);
    s_stop ();
    cr_expect_eq (s_still_running (pids, count, 5000), 0);
}

//  The budget is a window: deaths further apart than restart_window never
//  add up to a crash loop, however many there are
Test (supervisor, restart_budget_is_a_time_window)
{
    s_topology_policy ("    backoff_ms = 20\n"
                       "    backoff_max_ms = 500\n"
                       "    restart_limit = 2\n"
                       "    restart_window = 1\n", "");
    s_start ();
    char line [512];
    for (int round = 1; round <= 4; round++) {
        usleep (1200000);               //  past the window since the last restart
        char *status = s_status ();
        pid_t pid = s_proc (status, "payment-1", line, sizeof line);
        free (status);
        cr_assert_gt (pid, 0, "round %d: %s", round, line);
        cr_assert_eq (kill (pid, SIGKILL), 0);
        cr_assert_eq (s_wait_status ("payment-1", "signal 9", UP_MS), 0);
        cr_assert_eq (s_wait_status ("payment-1", "running", UP_MS), 0, "round %d", round);
    }
    char *status = s_status ();
    s_proc (status, "payment-1", line, sizeof line);
    free (status);
    cr_expect_null (strstr (line, "failed"), "%s", line);
    cr_expect (s_log_has ("supervisor", "restart in"));
    s_stop ();
}

//  A process's log past log_max_bytes is copied to .1 (older ones shift,
//  log_keep of them are kept) and emptied in place
Test (supervisor, rotates_logs_by_size)
{
    s_topology_policy ("    log_max_bytes = 4096\n"
                       "    log_keep = 2\n", "");
    s_start ();
    char log [PATH_MAX], rotated [PATH_MAX + 8];
    snprintf (log, sizeof log, "%s/logs/order-1.log", s_ctx.data);
    char junk [1024];
    memset (junk, 'x', sizeof junk - 1);
    junk [sizeof junk - 1] = '\n';
    for (int round = 1; round <= 3; round++) {
        FILE *file = fopen (log, "a");
        cr_assert_not_null (file);
        for (int i = 0; i < 8; i++)
            fwrite (junk, 1, sizeof junk, file);
        fclose (file);
        usleep (2500000);               //  the supervisor looks once a second
        struct stat st;
        cr_assert_eq (stat (log, &st), 0);
        cr_expect_lt (st.st_size, 4096, "round %d: %lld bytes", round, (long long) st.st_size);
        snprintf (rotated, sizeof rotated, "%s.1", log);
        cr_expect_eq (stat (rotated, &st), 0, "round %d: no %s", round, rotated);
    }
    snprintf (rotated, sizeof rotated, "%s.2", log);
    cr_expect_eq (access (rotated, F_OK), 0, "no %s", rotated);
    snprintf (rotated, sizeof rotated, "%s.3", log);
    cr_expect_neq (access (rotated, F_OK), 0, "%s: more than log_keep kept", rotated);
    cr_expect (s_log_has ("supervisor", "log rotated"));
    s_stop ();
}

Test (supervisor, detached_start_and_stop_leave_nothing)
{
    s_topology ("");
    char *output = NULL;
    int rc = s_sup ("start", UP_MS, &output, "start", s_ctx.topology, "--bin", s_ctx.bin,
                    "--detach", NULL);
    cr_assert_eq (rc, 0, "%s", output? output: "");
    cr_expect (output && strstr (output, "group up"), "%s", output? output: "");
    free (output);
    pid_t supervisor = s_lock_pid ();
    cr_assert_gt (supervisor, 0);
    cr_assert (s_ours (supervisor));

    //  one supervisor per data directory
    rc = s_sup ("again", 20000, &output, "start", s_ctx.topology, "--bin", s_ctx.bin,
                "--detach", NULL);
    cr_expect_eq (rc, 1, "%s", output? output: "");
    cr_expect (output && strstr (output, "already runs"), "%s", output? output: "");
    free (output);

    char *status = s_status ();
    pid_t pids [17];
    int count = s_note_pids (status, pids, 16);
    free (status);
    cr_assert_eq (count, 4);
    pids [count++] = supervisor;
    cr_assert_eq (s_sup ("stop", 120000, NULL, "stop", NULL), 0);
    cr_expect_eq (s_still_running (pids, count, 5000), 0, "a process outlived stop");
    cr_expect_eq (s_sup ("status-after", 10000, NULL, "status", NULL), 1);
}

Test (supervisor, sigkill_of_the_supervisor_takes_the_group)
{
    s_topology ("");
    s_start ();
    char *status = s_status ();
    pid_t pids [16];
    int count = s_note_pids (status, pids, 16);
    free (status);
    cr_assert_eq (count, 4);
    cr_assert_eq (kill (s_ctx.supervisor, SIGKILL), 0);
    ph_wait (s_ctx.supervisor, 5000, NULL);
    s_ctx.supervisor = 0;
    cr_expect_eq (s_still_running (pids, count, 5000), 0, "PDEATHSIG did not work");
}

Test (supervisor, bad_topology_and_missing_binaries_exit_2)
{
    FILE *file = fopen (s_ctx.topology, "w");
    cr_assert (file);
    fprintf (file, "payment\n\tinstances = 2\n");
    fclose (file);
    char *output = NULL;
    cr_expect_eq (s_sup ("bad", 20000, &output, "start", s_ctx.topology, "--bin", s_ctx.bin,
                         NULL), 2);
    cr_expect (output && strstr (output, "topology.zpl:2: tab"), "%s", output? output: "");
    free (output);

    s_topology ("paymnt\n    instances = 2\n");
    cr_expect_eq (s_sup ("typo", 20000, &output, "start", s_ctx.topology, "--bin", s_ctx.bin,
                         NULL), 2);
    cr_expect (output && strstr (output, "'paymnt' is not a topology key"), "%s",
               output? output: "");
    free (output);

    s_topology ("");
    cr_expect_eq (s_sup ("nobin", 20000, &output, "start", s_ctx.topology, "--bin", s_ctx.dir,
                         NULL), 2);
    cr_expect (output && strstr (output, "missing executable"), "%s", output? output: "");
    free (output);
}

//  One topology, two supervisors on this machine: host a runs the
//  coordinator alone, host b every participant (named after it, in its own
//  data dir, order on the file its db key names) and they serve together
Test (supervisor, one_topology_over_two_hosts)
{
    char shared [PATH_MAX], extra [2 * PATH_MAX + 256], path [PATH_MAX];
    snprintf (shared, sizeof shared, "%s/shared-order.db", s_ctx.dir);
    snprintf (extra, sizeof extra,
              //  one keys dir for both hosts: each supervisor's key pairs
              //  in the allow-lists the coordinator reads
              "keys = \"%s/keys\"\n"
              "coordinator\n    host = a\n"
              "inventory\n    hosts = b\n"
              "payment\n    hosts = b\n    instances = 2\n"
              "order\n    hosts = b\n    db = \"%s\"\n", s_ctx.dir, shared);
    s_topology (extra);
    s_start_host ("a", &s_ctx.supervisor);
    char *status = s_status ();
    char line [512];
    cr_expect_gt (s_proc (status, "coordinator", line, sizeof line), 0);
    cr_expect (status && !strstr (status, "payment"), "%s", status? status: "");
    free (status);

    char data_a [sizeof s_ctx.data];
    snprintf (data_a, sizeof data_a, "%s", s_ctx.data);
    snprintf (s_ctx.data, sizeof s_ctx.data, "%s/data-b", s_ctx.dir);
    s_start_host ("b", &s_ctx.supervisor_b);
    status = s_status ();
    const char *names [] = { "inventory-b-1", "payment-b-1", "payment-b-2", "order-b-1" };
    for (size_t i = 0; i < sizeof names / sizeof names [0]; i++)
        cr_expect_gt (s_proc (status, names [i], line, sizeof line), 0, "%s", names [i]);
    cr_expect (status && !strstr (status, "coordinator"), "%s", status? status: "");
    free (status);

    size_t wrong = 0;
    s_send (1, 20, false);
    cr_expect_eq (s_wait_results (1, 20, &wrong), 20);
    cr_expect_eq (wrong, 0);
    cr_expect_eq (access (shared, F_OK), 0, "order's db is not %s", shared);
    snprintf (path, sizeof path, "%s/order.db", s_ctx.data);
    cr_expect_neq (access (path, F_OK), 0, "order used %s", path);

    //  each host stops on its own: b, then a
    cr_assert_eq (s_sup ("stop-b", 120000, NULL, "stop", NULL), 0);
    cr_assert_eq (ph_wait (s_ctx.supervisor_b, 10000, NULL), 0);
    s_ctx.supervisor_b = 0;
    snprintf (s_ctx.data, sizeof s_ctx.data, "%s", data_a);
    s_stop ();
}

//  Host keys and db values are checked before anything starts
Test (supervisor, host_and_db_keys_are_checked)
{
    struct {
        const char *topology, *host, *needle;
    } cases [] = {
        { "", "a", "has no hosts (leave --host out)" },
        { "coordinator\n    host = a\npayment\n    hosts = \"b c\"\n", NULL,
          "start needs --host NAME" },
        { "coordinator\n    host = a\npayment\n    hosts = \"b c\"\n", "d",
          "--host d: topology" },
        { "payment\n    hosts = b\n", "b", "the coordinator needs host = NAME" },
        { "coordinator\n    host = a\nendpoints\n    backend = tcp://*:5571\n", "a",
          "is not an address participants on other hosts can connect to" },
        { "order\n    db = order.db\n", NULL,
          "neither a postgresql:// URI nor an absolute file path" },
        { "coordinator\n    db = \":memory:\"\n", NULL,
          "neither a postgresql:// URI nor an absolute file path" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        s_topology (cases [i].topology);
        char *output = NULL;
        int rc = cases [i].host
               ? s_sup ("hosts", 20000, &output, "start", s_ctx.topology, "--bin", s_ctx.bin,
                        "--host", cases [i].host, NULL)
               : s_sup ("hosts", 20000, &output, "start", s_ctx.topology, "--bin", s_ctx.bin,
                        NULL);
        cr_expect_eq (rc, 2, "case %zu: %s", i, output? output: "");
        cr_expect (output && strstr (output, cases [i].needle), "case %zu: %s", i,
                   output? output: "");
        free (output);
    }
}

//  -------------------------------------------------------------------------
//  Several coordinators: the command lines `start --dry-run` prints

//  Writes a topology of two coordinators, c1 and c2, each with endpoints
//  of its own in our dir, on db (NULL: no db key, SQLite), then extra
static void
s_topology_two (const char *db, const char *extra)
{
    FILE *file = fopen (s_ctx.topology, "w");
    cr_assert (file);
    for (int n = 1; n <= 2; n++) {
        fprintf (file,
            "coordinator\n"
            "    instance = c%d\n"
            "    endpoints\n"
            "        frontend = ipc://%s/fe%d\n"
            "        backend = ipc://%s/be%d\n"
            "        events = ipc://%s/ev%d\n",
            n, s_ctx.dir, n, s_ctx.dir, n, s_ctx.dir, n);
        if (db)
            fprintf (file, "    db = \"%s\"\n", db);
    }
    fprintf (file, "%s", extra);
    fclose (file);
}

//  The line of process name in a dry run's output (caller frees), or NULL
static char *
s_plan_line (const char *output, const char *name)
{
    char prefix [64];
    snprintf (prefix, sizeof prefix, "%s: ", name);
    for (const char *at = output; at && *at; ) {
        size_t length = strcspn (at, "\n");
        if (strncmp (at, prefix, strlen (prefix)) == 0)
            return strndup (at, length);
        at = at [length]? at + length + 1: NULL;
    }
    return NULL;
}

//  True when a dry run's output has a line for process name
static bool
s_plan_has (const char *output, const char *name)
{
    char *line = s_plan_line (output, name);
    free (line);
    return line != NULL;
}

//  Expects the line of name to hold every one of needles (NULL-terminated)
static void
s_expect_plan (const char *output, const char *name, const char *const *needles)
{
    char *line = s_plan_line (output, name);
    cr_expect (line, "no line for %s in:\n%s", name, output);
    for (; line && *needles; needles++)
        cr_expect (strstr (line, *needles), "'%s' not in: %s", *needles, line);
    free (line);
}

Test (supervisor, one_coordinator_is_given_what_it_was_before)
{
    s_topology ("payment\n    instances = 2\n");
    char *output = NULL;
    cr_assert_eq (s_sup ("plan", 20000, &output, "start", s_ctx.topology, "--bin", s_ctx.bin,
                         "--dry-run", NULL), 0, "%s", output);
    char backend [PATH_MAX], want [PATH_MAX + 64];
    snprintf (backend, sizeof backend, "--coordinator ipc://%s/be --db", s_ctx.dir);
    snprintf (want, sizeof want, "--frontend %s --backend ipc://%s/be --events ipc://%s/ev "
              "--db %s/coordinator.db --curve-secret", s_ctx.frontend, s_ctx.dir, s_ctx.dir,
              s_ctx.data);
    s_expect_plan (output, "coordinator", (const char *[]) { want, "--heartbeat-ms 200", NULL });
    s_expect_plan (output, "payment-2", (const char *[]) { backend, "--instance payment-2",
                                                            NULL });
    char *line = s_plan_line (output, "coordinator");
    cr_expect (line && !strstr (line, "--instance") && !strstr (line, "--advertise"), "%s", line);
    free (line);
    cr_expect_eq (access (s_ctx.data, F_OK), -1, "a dry run made %s", s_ctx.data);
    free (output);
}

Test (supervisor, several_coordinators_on_postgresql)
{
    s_topology_two ("postgresql://ck@127.0.0.1:5432/sagas",
                    "coordinator\n"
                    "    instance = c3\n"
                    "    advertise = tcp://10.0.0.3:5570\n"
                    "    db = postgresql://ck@127.0.0.1:5432/sagas\n"
                    "    endpoints\n"
                    "        backend = tcp://127.0.0.1:5591\n"
                    "    flags\n"
                    "        partitions = 64\n"
                    "payment\n    instances = 2\n");
    char *output = NULL;
    cr_assert_eq (s_sup ("plan", 20000, &output, "start", s_ctx.topology, "--bin", s_ctx.bin,
                         "--dry-run", "--insecure", NULL), 0, "%s", output);
    char c1 [PATH_MAX * 2], all [PATH_MAX * 2];
    snprintf (c1, sizeof c1, "--frontend ipc://%s/fe1 --backend ipc://%s/be1 --events ipc://%s/ev1 "
              "--db postgresql://ck@127.0.0.1:5432/sagas --instance c1", s_ctx.dir, s_ctx.dir,
              s_ctx.dir);
    s_expect_plan (output, "coordinator-c1", (const char *[]) { c1, NULL });
    //  c3 takes the top level's frontend and events, its own backend
    s_expect_plan (output, "coordinator-c3", (const char *[]) {
        ("--frontend tcp://127.0.0.1:5570 --backend tcp://127.0.0.1:5591 "
         "--events tcp://127.0.0.1:5572"), "--instance c3 --advertise tcp://10.0.0.3:5570",
        "--partitions 64", NULL });
    char *line = s_plan_line (output, "coordinator-c2");
    cr_expect (line && !strstr (line, "--advertise") && !strstr (line, "--curve"), "%s", line);
    free (line);
    //  every participant connects to every coordinator
    snprintf (all, sizeof all, "--coordinator ipc://%s/be1 --coordinator ipc://%s/be2 "
              "--coordinator tcp://127.0.0.1:5591 --db", s_ctx.dir, s_ctx.dir);
    const char *names [] = { "inventory-1", "payment-1", "payment-2", "order-1" };
    for (size_t i = 0; i < sizeof names / sizeof names [0]; i++)
        s_expect_plan (output, names [i], (const char *[]) { all, NULL });
    cr_expect_not (s_plan_has (output, "coordinator"), "%s", output);
    free (output);
}

Test (supervisor, several_coordinators_over_hosts)
{
    s_topology_two ("postgresql://ck@10.0.0.9/sagas", "");
    //  c1 on host a, c2 on b with the participants
    char *text = ph_slurp (s_ctx.topology);
    cr_assert (text);
    char *second = strstr (text, "coordinator\n    instance = c2\n");
    cr_assert (second);
    FILE *file = fopen (s_ctx.topology, "w");
    cr_assert (file);
    fprintf (file, "%.*s    host = a\n%s    host = b\n"
             "inventory\n    hosts = b\npayment\n    hosts = b\norder\n    hosts = \"a b\"\n",
             (int) (second - text), text, second);
    fclose (file);
    free (text);
    char *output = NULL;
    cr_assert_eq (s_sup ("plan-a", 20000, &output, "start", s_ctx.topology, "--bin", s_ctx.bin,
                         "--dry-run", "--host", "a", NULL), 0, "%s", output);
    cr_expect (s_plan_has (output, "coordinator-c1") && s_plan_has (output, "order-a-1"),
               "%s", output);
    cr_expect (!strstr (output, "coordinator-c2") && !strstr (output, "payment"), "%s", output);
    free (output);
    cr_assert_eq (s_sup ("plan-b", 20000, &output, "start", s_ctx.topology, "--bin", s_ctx.bin,
                         "--dry-run", "--host", "b", NULL), 0, "%s", output);
    char both [PATH_MAX * 2];
    snprintf (both, sizeof both, "--coordinator ipc://%s/be1 --coordinator ipc://%s/be2 ",
              s_ctx.dir, s_ctx.dir);
    s_expect_plan (output, "payment-b-1", (const char *[]) { both, NULL });
    s_expect_plan (output, "coordinator-c2", (const char *[]) { "--instance c2", NULL });
    cr_expect (!strstr (output, "coordinator-c1"), "%s", output);
    free (output);
}

//  What several coordinators need is checked before anything starts
Test (supervisor, several_coordinators_need_postgresql_and_their_own_names)
{
    char pg [] = "postgresql://ck@127.0.0.1/sagas";
    struct {
        const char *db, *extra, *needle;
    } cases [] = {
        { NULL, "", "topology.zpl:1: 2 coordinators need one shared PostgreSQL saga log" },
        { "/tmp/one-file.db", "", "on SQLite each would keep its own log: run one coordinator" },
        { pg, "coordinator\n    db = \"postgresql://ck@127.0.0.1/sagas\"\n",
          "3 coordinators need instance = ID in each section" },
        //  a section naming c1 again adds to c1: here a backend that c2 has
        { pg, "coordinator\n    instance = c1\n    endpoints\n        backend = ipc://be2\n"
              "coordinator\n    instance = c2\n    endpoints\n        backend = ipc://be2\n",
          "coordinators c1 and c2 both have backend ipc://be2" },
        { pg, "coordinator\n    instance = c3\n    db = \"postgresql://x@y/z\"\n"
              "coordinator\n    instance = c4\n    db = \"postgresql://x@y/z\"\n",
          "coordinators c3 and c4 both have frontend tcp://127.0.0.1:5570" },
        { pg, "coordinator\n    instance = 'c 3'\n", "instance = 'c 3' is not an id: 1..64 letters" },
        { pg, "coordinator\n    instance = c3\n    advertise = nowhere\n",
          "advertise = 'nowhere' is not a tcp:// or ipc:// endpoint" },
        { pg, "coordinator\n    instance = c3\n    flags\n        advertise = tcp://x:1\n",
          "--advertise is set by the supervisor" },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        s_topology_two (cases [i].db, cases [i].extra);
        char *output = NULL;
        int rc = s_sup ("refused", 20000, &output, "start", s_ctx.topology, "--bin", s_ctx.bin,
                        NULL);
        cr_expect_eq (rc, 2, "case %zu: %s", i, output? output: "");
        cr_expect (output && strstr (output, cases [i].needle), "case %zu: %s", i,
                   output? output: "");
        free (output);
    }
    cr_expect_eq (access (s_ctx.data, F_OK), -1, "a refused start made %s", s_ctx.data);
}

//  The topologies shipped as examples stay valid: each dry run passes
Test (supervisor, the_example_topologies_load)
{
    struct {
        const char *file, *host, *needle;
    } cases [] = {
        { "default.zpl", NULL, "\ncoordinator: " },
        { "three-hosts.zpl", "b", "\ninventory-b-1: " },
        { "two-coordinators.zpl", NULL, "\ncoordinator-c2: " },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char path [PATH_MAX], *output = NULL;
        snprintf (path, sizeof path, "%s/scripts/topologies/%s", s_ctx.source, cases [i].file);
        int rc = cases [i].host
               ? s_sup ("example", 20000, &output, "start", path, "--bin", s_ctx.bin,
                        "--dry-run", "--host", cases [i].host, NULL)
               : s_sup ("example", 20000, &output, "start", path, "--bin", s_ctx.bin,
                        "--dry-run", NULL);
        char *lines = zsys_sprintf ("\n%s", output? output: "");
        cr_expect_eq (rc, 0, "%s: %s", cases [i].file, lines);
        cr_expect (strstr (lines, cases [i].needle), "%s: %s", cases [i].file, lines);
        zstr_free (&lines);
        free (output);
    }
}

/*  main.c - checkout-monitor, a live view of the coordinators' events
    A SUB per events endpoint: a refreshed view, JSON lines, or one snapshot.
*/
#include <czmq.h>
#include <time.h>
#include <unistd.h>
#include "checkout/curve.h"
#include "checkout/codec.h"
#include "checkout/config.h"
#include "saga_def.h"
#include "monitor_group.h"
#include "monitor_render.h"
#include "monitor_view.h"

//  Exit codes (docs/monitor.md)
#define EXIT_DONE           0           //  --once printed, or stopped by a signal
#define EXIT_NO_STATS       1           //  --once: no stats within --timeout
#define EXIT_USAGE          2           //  bad flags or configuration

#define REFRESH_MS          1000        //  the live view's redraw period
#define DRAIN_MAX           1000        //  events per turn before a redraw check
//  SUB side queue: past it the PUB drops for us, it never waits for us
#define MONITOR_RCVHWM      10000

static const ck_option_t s_options [] = {
    { "events", CK_OPT_LIST, "tcp://127.0.0.1:5572", 0, 0, "EP",
      "a coordinator's events endpoint, or a comma list of several" },
    CK_CURVE_CLIENT_OPTIONS,
    { "json", CK_OPT_BOOL, NULL, 0, 0, NULL,
      "print every event as one JSON line (with --once: the snapshot as one JSON object)" },
    { "once", CK_OPT_BOOL, NULL, 0, 0, NULL,
      "wait for the next stats event of each coordinator, print one snapshot and exit" },
    { "timeout", CK_OPT_INT, "5000", 1, 86400000, "MS",
      "--once: how long to wait for stats" },
    SAGA_DEF_STEPS_OPTION,
    { .name = NULL }
};

static const ck_program_t s_program = {
    .name = "checkout-monitor",
    .summary = "watch the coordinators' events: live view, --json lines or --once snapshot",
    .args = NULL,
    .max_args = 0,
    .options = s_options,
    .examples =
        "  checkout-monitor                      the live view of tcp://127.0.0.1:5572\n"
        "  checkout-monitor --once --json        one stats snapshot as JSON, then exit\n"
        "  checkout-monitor --events tcp://10.0.0.1:5572,tcp://10.0.0.2:5572\n"
        "                                        two coordinators and their partitions\n",
    .exit_codes =
        "0 --once printed, or stopped by a signal, 1 --once saw no stats from a\n"
        "coordinator within --timeout, 2 bad usage or bad configuration (one line\n"
        "on stderr names it)."
};

typedef struct {
    zsock_t *subs [MONITOR_COORDINATORS_MAX];   //  one per endpoint, as the group's
    monitor_group_t *group;
    zpoller_t *poller;
    ck_buf_t scratch;
    char endpoints [MONITOR_COORDINATORS_MAX * (CK_TEXT_SIZE + 1)];  //  "EP,EP" for the header
    bool json;                          //  --json
    bool once;                          //  --once
    bool tty;                           //  stdout is a terminal: clear and redraw
    bool verbose;
    uint64_t notice_seen [MONITOR_COORDINATORS_MAX];    //  notice_seq already logged
    bool got_stats [MONITOR_COORDINATORS_MAX];  //  a stats event arrived (for --once)
    size_t stats_missing;               //  endpoints without one yet
} self_t;

//  -------------------------------------------------------------------------
//  Receiving

static void
s_log_malformed (self_t *self, size_t index)
{
    monitor_view_t *view = monitor_group_view (self->group, index);
    const monitor_snapshot_t *snap = monitor_view_snapshot (view);
    //  the first always, the rest only when asked: a broken publisher
    //  must not flood the terminal
    if (snap->malformed == 1 || self->verbose)
        zsys_warning ("monitor: malformed event events=%s count=%llu last=\"%s\"",
                      monitor_group_endpoint (self->group, index),
                      (unsigned long long) snap->malformed, snap->malformed_last);
}

static void
s_log_notice (self_t *self, size_t index)
{
    const monitor_snapshot_t *snap = monitor_view_snapshot (monitor_group_view (self->group,
                                                                                index));
    if (snap->notice_seq == self->notice_seen [index])
        return;
    self->notice_seen [index] = snap->notice_seq;
    //  The live terminal view shows it; elsewhere it goes to the log
    if (!self->tty || self->json || self->once)
        zsys_notice ("monitor: %s events=%s", snap->notice,
                     monitor_group_endpoint (self->group, index));
}

//  Folds one message from the index-th endpoint; returns -1 when interrupted
static int
s_receive (self_t *self, size_t index)
{
    monitor_view_t *view = monitor_group_view (self->group, index);
    zmsg_t *msg = zmsg_recv (self->subs [index]);
    if (!msg)
        return -1;
    zframe_t *topic = zmsg_first (msg);
    zframe_t *body = zmsg_next (msg);
    const char *topic_data = topic? (const char *) zframe_data (topic): NULL;
    size_t topic_size = topic? zframe_size (topic): 0;
    if (zmsg_size (msg) == 2) {
        ck_event_kind_t kind = monitor_view_apply (view, topic_data, topic_size,
                                                   zframe_data (body), zframe_size (body),
                                                   zclock_mono ());
        if (kind == CK_EVENT_NONE)
            s_log_malformed (self, index);
        if (kind == CK_EVENT_STATS) {
            self->stats_missing -= !self->got_stats [index];
            self->got_stats [index] = true;
            s_log_notice (self, index);
        }
    }
    else {
        char why [64];
        snprintf (why, sizeof why, "%zu frames, not 2", zmsg_size (msg));
        monitor_view_malformed (view, why);
        s_log_malformed (self, index);
    }
    if (self->json && !self->once) {
        //  with several endpoints each line says which one it came by
        const char *from = monitor_group_size (self->group) > 1?
                           monitor_group_endpoint (self->group, index): NULL;
        monitor_render_event (from, topic_data, topic_size, body? zframe_data (body): NULL,
                              body? zframe_size (body): 0, &self->scratch, stdout);
        fflush (stdout);
    }
    zmsg_destroy (&msg);
    return 0;
}

//  Drains what is queued, bounded so the view still refreshes under load;
//  returns -1 when interrupted
static int
s_drain (self_t *self, zsock_t *sub)
{
    size_t index = 0;
    while (self->subs [index] != sub)
        index++;
    for (int count = 0; count < DRAIN_MAX; count++) {
        if (s_receive (self, index))
            return -1;
        if (self->once && self->got_stats [index])
            return 0;
        if (!(zsock_events (sub) & ZMQ_POLLIN))
            return 0;
    }
    return 0;
}

//  -------------------------------------------------------------------------
//  Showing

static void
s_draw (self_t *self)
{
    char when [32];
    time_t now = time (NULL);
    struct tm local;
    strftime (when, sizeof when, "%Y-%m-%d %H:%M:%S", localtime_r (&now, &local));
    if (self->tty)
        fputs ("\033[H\033[2J", stdout);
    printf ("--- checkout-monitor %s events=%s%s\n", when, self->endpoints,
            self->tty? " (Ctrl-C quits)": "");
    monitor_render_group_text (self->group, zclock_mono (), stdout);
    if (!self->tty)
        printf ("\n");
    fflush (stdout);
}

//  -------------------------------------------------------------------------
//  Running

static zsock_t *
s_sub_new (const char *endpoint, const ck_curve_keys_t *curve)
{
    zsock_t *sub = zsock_new (ZMQ_SUB);
    if (!sub)
        return NULL;
    zsock_set_rcvhwm (sub, MONITOR_RCVHWM);
    //  a larger frame than any body may be is not ours to read: libzmq
    //  drops that connection and reconnects
    zsock_set_maxmsgsize (sub, CK_MAX_BODY);
    zsock_set_subscribe (sub, "");
    ck_curve_client_apply (curve, sub);
    if (zsock_connect (sub, "%s", endpoint) == -1)
        zsock_destroy (&sub);
    return sub;
}

//  The loop of --once: the first stats of every endpoint, or the deadline.
//  When some came, the snapshot is printed even if others did not: it
//  shows who is silent; the exit code says the snapshot is not whole.
static int
s_run_once (self_t *self, long timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (self->stats_missing) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0)
            break;
        void *which = zpoller_wait (self->poller, (int) left);
        if (zpoller_terminated (self->poller) || (which && s_drain (self, (zsock_t *) which))) {
            fprintf (stderr, "checkout-monitor: interrupted\n");
            return EXIT_DONE;
        }
    }
    for (size_t i = 0; i < monitor_group_size (self->group); i++)
        if (!self->got_stats [i])
            fprintf (stderr, "checkout-monitor: no stats from %s within %ld ms: "
                     "is the coordinator running?\n",
                     monitor_group_endpoint (self->group, i), timeout_ms);
    if (self->stats_missing == monitor_group_size (self->group))
        return EXIT_NO_STATS;
    if (self->json)
        monitor_render_group_json (self->group, zclock_mono (), stdout);
    else
        monitor_render_group_text (self->group, zclock_mono (), stdout);
    fflush (stdout);
    return self->stats_missing? EXIT_NO_STATS: EXIT_DONE;
}

//  The loop of the live view and of --json: until a signal
static int
s_run_live (self_t *self)
{
    zpoller_t *poller = self->poller;
    int64_t next_draw = zclock_mono ();
    while (true) {
        int64_t now = zclock_mono ();
        if (!self->json && now >= next_draw) {
            s_draw (self);
            next_draw = now + REFRESH_MS;
        }
        int wait = self->json? REFRESH_MS: (int) (next_draw - now);
        void *which = zpoller_wait (poller, wait > 0? wait: 0);
        if (zpoller_terminated (poller) || (which && s_drain (self, (zsock_t *) which)))
            break;
    }
    return EXIT_DONE;
}

//  Adds each endpoint of one --events value ("EP" or "EP,EP") to the
//  group with its SUB; -1 after a usage error
static int
s_add_endpoints (self_t *self, ck_config_t *config, const char *value,
                 const ck_curve_keys_t *curve)
{
    char *copy = strdup (value);
    assert (copy);
    int rc = 0;
    char *rest = copy;
    do {
        char *endpoint = strsep (&rest, ",");
        size_t size = monitor_group_size (self->group);
        int index = *endpoint? monitor_group_add (self->group, endpoint): -1;
        if (index < 0) {
            ck_config_usage_error (config, "--events '%.200s': %s", endpoint,
                                   !*endpoint? "an empty endpoint in the list":
                                   size == MONITOR_COORDINATORS_MAX?
                                   "more endpoints than the monitor watches (16)":
                                   "given twice, or too long");
            rc = -1;
        }
        else
        if (!(self->subs [index] = s_sub_new (endpoint, curve))) {
            ck_config_usage_error (config, "--events '%.200s': not an endpoint to connect to",
                                   endpoint);
            rc = -1;
        }
        else {
            size_t used = strlen (self->endpoints);
            snprintf (self->endpoints + used, sizeof self->endpoints - used, "%s%s",
                      used? ",": "", endpoint);
            zpoller_add (self->poller, self->subs [index]);
        }
    } while (rc == 0 && rest);
    free (copy);
    return rc;
}

static int
s_run (ck_config_t *config)
{
    self_t self = {
        .json = ck_config_bool (config, "json"),
        .once = ck_config_bool (config, "once"),
        .tty = isatty (STDOUT_FILENO) == 1,
        .verbose = ck_config_bool (config, "verbose"),
    };
    ck_curve_keys_t curve;
    if (ck_curve_client_flags (config, &curve))
        return EXIT_USAGE;
    self.group = monitor_group_new ();
    self.poller = zpoller_new (NULL);
    assert (self.group && self.poller);
    ck_buf_init (&self.scratch);
    int exit_code = EXIT_USAGE;
    bool good = true;
    for (size_t i = 0; good && i < ck_config_list_size (config, "events"); i++)
        good = s_add_endpoints (&self, config, ck_config_list_at (config, "events", i),
                                &curve) == 0;
    self.stats_missing = monitor_group_size (self.group);
    if (good) {
        if (self.verbose)
            zsys_info ("monitor: events=%s json=%d once=%d", self.endpoints, self.json,
                       self.once);
        exit_code = self.once? s_run_once (&self, ck_config_int (config, "timeout")):
                               s_run_live (&self);
    }
    ck_buf_free (&self.scratch);
    zpoller_destroy (&self.poller);
    for (size_t i = 0; i < MONITOR_COORDINATORS_MAX; i++)
        zsock_destroy (&self.subs [i]);
    monitor_group_destroy (&self.group);
    return exit_code;
}

int
main (int argc, char *argv [])
{
    int exit_code = EXIT_USAGE;
    ck_config_t *config = ck_config_new (&s_program, argc, argv, &exit_code);
    if (!config)
        return exit_code;
    zsys_init ();
    //  stdout carries the view and the JSON lines; logs go apart
    zsys_set_logstream (stderr);
    zsys_set_logident ("checkout-monitor");
    exit_code = saga_def_load_flag (config);
    if (exit_code == 0)
        exit_code = s_run (config);
    ck_config_destroy (&config);
    return exit_code;
}

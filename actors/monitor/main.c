/*  main.c - checkout-monitor, a live view of the coordinator's events
    SUB to the events socket: a refreshed view, JSON lines, or one snapshot.
*/
#include <czmq.h>
#include <time.h>
#include <unistd.h>
#include "checkout/curve.h"
#include "checkout/codec.h"
#include "checkout/config.h"
#include "saga_def.h"
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
    { "events", CK_OPT_STRING, "tcp://127.0.0.1:5572", 0, 0, "EP",
      "the coordinator's events endpoint" },
    CK_CURVE_CLIENT_OPTIONS,
    { "json", CK_OPT_BOOL, NULL, 0, 0, NULL,
      "print every event as one JSON line (with --once: the snapshot as one JSON object)" },
    { "once", CK_OPT_BOOL, NULL, 0, 0, NULL,
      "wait for the next stats event, print one snapshot and exit" },
    { "timeout", CK_OPT_INT, "5000", 1, 86400000, "MS",
      "--once: how long to wait for stats" },
    SAGA_DEF_STEPS_OPTION,
    { .name = NULL }
};

static const ck_program_t s_program = {
    .name = "checkout-monitor",
    .summary = "watch the coordinator's events: live view, --json lines or --once snapshot",
    .args = NULL,
    .max_args = 0,
    .options = s_options,
    .examples =
        "  checkout-monitor                      the live view of tcp://127.0.0.1:5572\n"
        "  checkout-monitor --once --json        one stats snapshot as JSON, then exit\n",
    .exit_codes =
        "0 --once printed, or stopped by a signal, 1 --once saw no stats within\n"
        "--timeout, 2 bad usage or bad configuration (one line on stderr names it)."
};

typedef struct {
    zsock_t *sub;
    monitor_view_t *view;
    ck_buf_t scratch;
    const char *endpoint;
    bool json;                          //  --json
    bool once;                          //  --once
    bool tty;                           //  stdout is a terminal: clear and redraw
    bool verbose;
    uint64_t notice_seen;               //  notice_seq already logged
    bool got_stats;                     //  a stats event arrived (for --once)
} self_t;

//  -------------------------------------------------------------------------
//  Receiving

static void
s_log_malformed (self_t *self)
{
    const monitor_snapshot_t *snap = monitor_view_snapshot (self->view);
    //  the first always, the rest only when asked: a broken publisher
    //  must not flood the terminal
    if (snap->malformed == 1 || self->verbose)
        zsys_warning ("monitor: malformed event count=%llu last=\"%s\"",
                      (unsigned long long) snap->malformed, snap->malformed_last);
}

static void
s_log_notice (self_t *self)
{
    const monitor_snapshot_t *snap = monitor_view_snapshot (self->view);
    if (snap->notice_seq == self->notice_seen)
        return;
    self->notice_seen = snap->notice_seq;
    //  The live terminal view shows it; elsewhere it goes to the log
    if (!self->tty || self->json || self->once)
        zsys_notice ("monitor: %s", snap->notice);
}

//  Folds one message; returns -1 when interrupted
static int
s_receive (self_t *self)
{
    zmsg_t *msg = zmsg_recv (self->sub);
    if (!msg)
        return -1;
    zframe_t *topic = zmsg_first (msg);
    zframe_t *body = zmsg_next (msg);
    const char *topic_data = topic? (const char *) zframe_data (topic): NULL;
    size_t topic_size = topic? zframe_size (topic): 0;
    if (zmsg_size (msg) == 2) {
        ck_event_kind_t kind = monitor_view_apply (self->view, topic_data, topic_size,
                                                   zframe_data (body), zframe_size (body),
                                                   zclock_mono ());
        if (kind == CK_EVENT_NONE)
            s_log_malformed (self);
        if (kind == CK_EVENT_STATS) {
            self->got_stats = true;
            s_log_notice (self);
        }
    }
    else {
        char why [64];
        snprintf (why, sizeof why, "%zu frames, not 2", zmsg_size (msg));
        monitor_view_malformed (self->view, why);
        s_log_malformed (self);
    }
    if (self->json && !self->once) {
        monitor_render_event (topic_data, topic_size, body? zframe_data (body): NULL,
                              body? zframe_size (body): 0, &self->scratch, stdout);
        fflush (stdout);
    }
    zmsg_destroy (&msg);
    return 0;
}

//  Drains what is queued, bounded so the view still refreshes under load;
//  returns -1 when interrupted
static int
s_drain (self_t *self)
{
    for (int count = 0; count < DRAIN_MAX; count++) {
        if (s_receive (self))
            return -1;
        if (self->once && self->got_stats)
            return 0;
        if (!(zsock_events (self->sub) & ZMQ_POLLIN))
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
    printf ("--- checkout-monitor %s events=%s%s\n", when, self->endpoint,
            self->tty? " (Ctrl-C quits)": "");
    monitor_render_text (self->view, zclock_mono (), stdout);
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

//  The loop of --once: the first stats after start, or the deadline
static int
s_run_once (self_t *self, zpoller_t *poller, long timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    while (!self->got_stats) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0)
            break;
        void *which = zpoller_wait (poller, (int) left);
        if (zpoller_terminated (poller) || (which && s_drain (self))) {
            fprintf (stderr, "checkout-monitor: interrupted\n");
            return EXIT_DONE;
        }
    }
    if (!self->got_stats) {
        fprintf (stderr, "checkout-monitor: no stats from %s within %ld ms: "
                 "is the coordinator running?\n", self->endpoint, timeout_ms);
        return EXIT_NO_STATS;
    }
    if (self->json)
        monitor_render_json (self->view, zclock_mono (), stdout);
    else
        monitor_render_text (self->view, zclock_mono (), stdout);
    fflush (stdout);
    return EXIT_DONE;
}

//  The loop of the live view and of --json: until a signal
static int
s_run_live (self_t *self, zpoller_t *poller)
{
    int64_t next_draw = zclock_mono ();
    while (true) {
        int64_t now = zclock_mono ();
        if (!self->json && now >= next_draw) {
            s_draw (self);
            next_draw = now + REFRESH_MS;
        }
        int wait = self->json? REFRESH_MS: (int) (next_draw - now);
        void *which = zpoller_wait (poller, wait > 0? wait: 0);
        if (zpoller_terminated (poller) || (which && s_drain (self)))
            break;
    }
    return EXIT_DONE;
}

static int
s_run (ck_config_t *config)
{
    self_t self = {
        .endpoint = ck_config_str (config, "events"),
        .json = ck_config_bool (config, "json"),
        .once = ck_config_bool (config, "once"),
        .tty = isatty (STDOUT_FILENO) == 1,
        .verbose = ck_config_bool (config, "verbose"),
    };
    ck_curve_keys_t curve;
    if (ck_curve_client_flags (config, &curve))
        return EXIT_USAGE;
    self.sub = s_sub_new (self.endpoint, &curve);
    if (!self.sub) {
        ck_config_usage_error (config, "--events '%.200s': not an endpoint to connect to",
                               self.endpoint);
        return EXIT_USAGE;
    }
    self.view = monitor_view_new ();
    zpoller_t *poller = zpoller_new (self.sub, NULL);
    assert (self.view && poller);
    ck_buf_init (&self.scratch);
    if (self.verbose)
        zsys_info ("monitor: events=%s json=%d once=%d", self.endpoint, self.json, self.once);
    int exit_code = self.once? s_run_once (&self, poller, ck_config_int (config, "timeout")):
                               s_run_live (&self, poller);
    ck_buf_free (&self.scratch);
    zpoller_destroy (&poller);
    monitor_view_destroy (&self.view);
    zsock_destroy (&self.sub);
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

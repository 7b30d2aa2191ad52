/*  test_monitor.c - tests of the monitor: its view model and its executable
    Folds decoded events by hand, then runs checkout-monitor against a test PUB.
*/
#include <criterion/criterion.h>
#include <ctype.h>
#include <czmq.h>
#include <limits.h>
#include "checkout/codec.h"
#include "monitor_group.h"
#include "monitor_render.h"
#include "monitor_view.h"
#include "process_helpers.h"
#include "checkout/protocol.h"

#define MAX_PIDS    4
#define MAX_ARGS    16
//  Generous bounds: the ASan build is several times slower
#define SUBSCRIBE_MS    10000
#define EXIT_MS         10000

//  Everything a test made, undone by s_fini even when an assertion fails
static struct {
    char dir [128];
    pid_t pids [MAX_PIDS];
    zsock_t *xpub;
    char *endpoint;
    zsock_t *xpub2;                     //  a second coordinator, when a test has one
    char *endpoint2;
    monitor_view_t *view;
    monitor_group_t *group;
    ck_buf_t buf;
} s_ctx;

static void
s_init (void)
{
    memset (&s_ctx, 0, sizeof s_ctx);
    cr_assert_eq (ph_mkdtemp ("ck-monitor", s_ctx.dir, sizeof s_ctx.dir), 0);
    s_ctx.view = monitor_view_new ();
    cr_assert (s_ctx.view);
    ck_buf_init (&s_ctx.buf);
}

static void
s_fini (void)
{
    for (int i = 0; i < MAX_PIDS; i++)
        ph_kill_reap (&s_ctx.pids [i]);
    zsock_destroy (&s_ctx.xpub);
    zstr_free (&s_ctx.endpoint);
    zsock_destroy (&s_ctx.xpub2);
    zstr_free (&s_ctx.endpoint2);
    monitor_view_destroy (&s_ctx.view);
    monitor_group_destroy (&s_ctx.group);
    ck_buf_free (&s_ctx.buf);
    ph_rmrf (s_ctx.dir);
}

TestSuite (monitor, .init = s_init, .fini = s_fini, .timeout = 60);

//  -------------------------------------------------------------------------
//  Events to feed

static ck_ev_stats_t
s_stats (uint64_t uptime_ms, uint64_t started, uint64_t confirmed, uint64_t failed)
{
    ck_ev_stats_t stats = {
        .uptime_ms = uptime_ms, .started = started, .confirmed = confirmed,
        .failed = failed, .in_flight = started - confirmed - failed
    };
    return stats;
}

static void
s_add_worker (ck_ev_stats_t *stats, ck_service_t service, const char *instance,
              uint32_t load, uint32_t capacity)
{
    ck_worker_load_t *worker = &stats->workers [stats->worker_count++];
    worker->service = service;
    snprintf (worker->instance, sizeof worker->instance, "%s", instance);
    worker->load = load;
    worker->capacity = capacity;
}

static ck_ev_outcome_t
s_outcome (const char *saga_id, const char *code)
{
    ck_ev_outcome_t event = { .elapsed_us = 1500 };
    snprintf (event.saga_id, sizeof event.saga_id, "%s", saga_id);
    snprintf (event.checkout_id, sizeof event.checkout_id, "c-%s", saga_id);
    if (code) {
        snprintf (event.reason.code, sizeof event.reason.code, "%s", code);
        snprintf (event.reason.message, sizeof event.reason.message, "because %s", code);
    }
    return event;
}

static ck_ev_socket_t
s_socket (const char *socket, const char *event)
{
    ck_ev_socket_t body = { 0 };
    snprintf (body.socket, sizeof body.socket, "%s", socket);
    snprintf (body.endpoint, sizeof body.endpoint, "tcp://127.0.0.1:5571");
    snprintf (body.event, sizeof body.event, "%s", event);
    return body;
}

//  Renders the view into a malloc'd string
static char *
s_render (bool json, int64_t now_ms)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    cr_assert (out);
    if (json)
        monitor_render_json (s_ctx.view, now_ms, out);
    else
        monitor_render_text (s_ctx.view, now_ms, out);
    fclose (out);
    return text;
}

//  -------------------------------------------------------------------------
//  A small strict JSON checker: is text exactly one JSON value?

static const char *s_json_value (const char *p, int depth);

static const char *
s_json_ws (const char *p)
{
    while (*p == ' ' || *p == '\t' || *p == '\n' || *p == '\r')
        p++;
    return p;
}

static const char *
s_json_string (const char *p)
{
    if (*p++ != '"')
        return NULL;
    while (*p && *p != '"') {
        if ((unsigned char) *p < 0x20)
            return NULL;
        if (*p == '\\') {
            p++;
            if (*p == 'u') {
                for (int i = 1; i <= 4; i++)
                    if (!isxdigit ((unsigned char) p [i]))
                        return NULL;
                p += 4;
            }
            else
            if (!strchr ("\"\\/bfnrt", *p) || !*p)
                return NULL;
        }
        p++;
    }
    return *p == '"'? p + 1: NULL;
}

static const char *
s_json_number (const char *p)
{
    if (*p == '-')
        p++;
    if (!isdigit ((unsigned char) *p))
        return NULL;
    while (isdigit ((unsigned char) *p))
        p++;
    if (*p == '.') {
        p++;
        if (!isdigit ((unsigned char) *p))
            return NULL;
        while (isdigit ((unsigned char) *p))
            p++;
    }
    if (*p == 'e' || *p == 'E') {
        p++;
        if (*p == '+' || *p == '-')
            p++;
        if (!isdigit ((unsigned char) *p))
            return NULL;
        while (isdigit ((unsigned char) *p))
            p++;
    }
    return p;
}

//  Members of an object ('{' ... '}') or elements of an array
static const char *
s_json_members (const char *p, int depth, char close, bool keyed)
{
    p = s_json_ws (p + 1);
    if (*p == close)
        return p + 1;
    while (p) {
        if (keyed) {
            p = s_json_string (s_json_ws (p));
            p = p? s_json_ws (p): NULL;
            if (!p || *p++ != ':')
                return NULL;
        }
        p = s_json_value (p, depth + 1);
        p = p? s_json_ws (p): NULL;
        if (p && *p == close)
            return p + 1;
        if (!p || *p++ != ',')
            return NULL;
    }
    return NULL;
}

static const char *
s_json_value (const char *p, int depth)
{
    p = s_json_ws (p);
    if (depth > 32)
        return NULL;
    if (*p == '{')
        return s_json_members (p, depth, '}', true);
    if (*p == '[')
        return s_json_members (p, depth, ']', false);
    if (*p == '"')
        return s_json_string (p);
    if (strncmp (p, "true", 4) == 0 || strncmp (p, "null", 4) == 0)
        return p + 4;
    if (strncmp (p, "false", 5) == 0)
        return p + 5;
    return s_json_number (p);
}

static bool
s_json_valid (const char *text)
{
    const char *end = s_json_value (text, 0);
    return end && *s_json_ws (end) == 0;
}

Test (monitor, json_checker_can_fail)
{
    cr_assert (s_json_valid ("{\"a\":[1,2.5,-3e2,\"x\\n\",true,null,{}]}"));
    cr_assert_not (s_json_valid ("{\"a\":1,}"));
    cr_assert_not (s_json_valid ("{\"a\" 1}"));
    cr_assert_not (s_json_valid ("[1,2"));
    cr_assert_not (s_json_valid ("{\"a\":1} x"));
}

//  -------------------------------------------------------------------------
//  The view model, fed decoded events

Test (monitor, failures_are_counted_by_reason)
{
    const char *codes [] = { "card_declined", "out_of_stock", "card_declined", NULL };
    for (int i = 0; i < 4; i++) {
        char saga [16];
        snprintf (saga, sizeof saga, "s%d", i);
        ck_ev_outcome_t event = s_outcome (saga, codes [i]);
        monitor_view_on_outcome (s_ctx.view, CK_EVENT_SAGA_FAILED, &event);
    }
    ck_ev_outcome_t ok = s_outcome ("s9", NULL);
    monitor_view_on_outcome (s_ctx.view, CK_EVENT_SAGA_CONFIRMED, &ok);
    cr_assert_eq (monitor_view_failed_by (s_ctx.view, "card_declined"), 2);
    cr_assert_eq (monitor_view_failed_by (s_ctx.view, "out_of_stock"), 1);
    cr_assert_eq (monitor_view_failed_by (s_ctx.view, "none"), 1);
    cr_assert_eq (monitor_view_failed_by (s_ctx.view, "timeout"), 0);
    cr_assert_eq (monitor_view_snapshot (s_ctx.view)->reason_count, 3);
}

Test (monitor, reason_table_is_bounded)
{
    for (int i = 0; i < MONITOR_REASONS_MAX + 10; i++) {
        char code [32];
        snprintf (code, sizeof code, "code_%d", i);
        ck_ev_outcome_t event = s_outcome ("s1", code);
        monitor_view_on_outcome (s_ctx.view, CK_EVENT_SAGA_FAILED, &event);
    }
    const monitor_snapshot_t *snap = monitor_view_snapshot (s_ctx.view);
    cr_assert_eq (snap->reason_count, MONITOR_REASONS_MAX);
    cr_assert_eq (monitor_view_failed_by (s_ctx.view, "code_0"), 1);
    cr_assert_eq (monitor_view_failed_by (s_ctx.view, "other"), 11);
}

Test (monitor, stuck_sagas_until_they_end)
{
    ck_ev_outcome_t a = s_outcome ("sa", "timeout"), b = s_outcome ("sb", "timeout");
    ck_ev_outcome_t c = s_outcome ("sc", NULL);
    monitor_view_on_outcome (s_ctx.view, CK_EVENT_SAGA_STUCK, &a);
    monitor_view_on_outcome (s_ctx.view, CK_EVENT_SAGA_STUCK, &b);
    monitor_view_on_outcome (s_ctx.view, CK_EVENT_SAGA_STUCK, &a);     //  again: once
    monitor_view_on_outcome (s_ctx.view, CK_EVENT_SAGA_STUCK, &c);
    cr_assert_eq (monitor_view_snapshot (s_ctx.view)->stuck_count, 3);
    monitor_view_on_outcome (s_ctx.view, CK_EVENT_SAGA_CONFIRMED, &a);
    monitor_view_on_outcome (s_ctx.view, CK_EVENT_SAGA_FAILED, &c);
    cr_assert_not (monitor_view_is_stuck (s_ctx.view, "sa"));
    cr_assert (monitor_view_is_stuck (s_ctx.view, "sb"));
    cr_assert_not (monitor_view_is_stuck (s_ctx.view, "sc"));
    const monitor_snapshot_t *snap = monitor_view_snapshot (s_ctx.view);
    cr_assert_eq (snap->stuck_count, 1);
    cr_assert_str_eq (snap->stuck [0], "sb");
    //  a failed stuck saga counts by its failure's reason too
    cr_assert_eq (monitor_view_failed_by (s_ctx.view, "none"), 1);
}

Test (monitor, stuck_list_is_bounded)
{
    for (int i = 0; i < MONITOR_STUCK_MAX + 5; i++) {
        char saga [16];
        snprintf (saga, sizeof saga, "s%d", i);
        ck_ev_outcome_t event = s_outcome (saga, NULL);
        monitor_view_on_outcome (s_ctx.view, CK_EVENT_SAGA_STUCK, &event);
    }
    const monitor_snapshot_t *snap = monitor_view_snapshot (s_ctx.view);
    cr_assert_eq (snap->stuck_count, MONITOR_STUCK_MAX);
    cr_assert_eq (snap->stuck_untracked, 5);
}

Test (monitor, stats_give_totals_and_workers)
{
    ck_ev_stats_t stats = s_stats (4000, 20, 12, 3);
    stats.p99_us = 2500;
    s_add_worker (&stats, CK_SERVICE_PAYMENT, "pay-1", 3, 8);
    s_add_worker (&stats, CK_SERVICE_PAYMENT, "pay-2", 1, 8);
    s_add_worker (&stats, CK_SERVICE_ORDER, "ord-1", 0, 16);
    monitor_view_on_stats (s_ctx.view, &stats, 100000);
    const monitor_snapshot_t *snap = monitor_view_snapshot (s_ctx.view);
    cr_assert (snap->have_stats);
    cr_assert_eq (snap->stats.in_flight, 5);
    cr_assert_eq (snap->stats.p99_us, 2500);
    cr_assert_eq (snap->services [CK_SERVICE_PAYMENT].instances, 2);
    cr_assert_eq (snap->services [CK_SERVICE_PAYMENT].load, 4);
    cr_assert_eq (snap->services [CK_SERVICE_PAYMENT].capacity, 16);
    cr_assert_eq (snap->services [CK_SERVICE_ORDER].instances, 1);
    cr_assert_eq (snap->services [CK_SERVICE_INVENTORY].instances, 0);
    cr_assert_not (snap->have_rate, "one sample gives no rate");
}

Test (monitor, sagas_per_second_from_deltas)
{
    ck_ev_stats_t first = s_stats (1000, 10, 10, 0);
    ck_ev_stats_t second = s_stats (3000, 70, 50, 10);
    monitor_view_on_stats (s_ctx.view, &first, 100000);
    //  when the monitor got it does not matter: the coordinator's uptime does
    monitor_view_on_stats (s_ctx.view, &second, 100300);
    const monitor_snapshot_t *snap = monitor_view_snapshot (s_ctx.view);
    cr_assert (snap->have_rate);
    cr_assert_float_eq (snap->sagas_per_s, 25.0, 1e-9);
    cr_assert_float_eq (snap->started_per_s, 30.0, 1e-9);
    cr_assert_eq (snap->restarts, 0);
    cr_assert_eq (snap->notice_seq, 0, "no notice without silence or restart");
}

Test (monitor, restart_is_detected_by_uptime)
{
    ck_ev_stats_t before = s_stats (50000, 100, 90, 5);
    ck_ev_stats_t before2 = s_stats (51000, 110, 100, 5);
    ck_ev_stats_t after = s_stats (1500, 0, 0, 0);
    monitor_view_on_stats (s_ctx.view, &before, 10000);
    monitor_view_on_stats (s_ctx.view, &before2, 11000);
    cr_assert (monitor_view_snapshot (s_ctx.view)->have_rate);
    //  back within a second: no silence, yet uptime went down
    monitor_view_on_stats (s_ctx.view, &after, 12000);
    const monitor_snapshot_t *snap = monitor_view_snapshot (s_ctx.view);
    cr_assert_eq (snap->restarts, 1);
    cr_assert_eq (snap->notice_seq, 1);
    cr_assert (strstr (snap->notice, "coordinator back (uptime 1.5 s)"), "notice: %s", snap->notice);
    cr_assert_not (snap->have_rate, "no rate across a restart");
    cr_assert_eq (snap->stats.confirmed, 0);
}

Test (monitor, silence_then_back)
{
    ck_ev_stats_t stats = s_stats (1000, 0, 0, 0);
    cr_assert_eq (monitor_view_status (s_ctx.view, 5000), MONITOR_WAITING);
    monitor_view_on_stats (s_ctx.view, &stats, 10000);
    cr_assert_eq (monitor_view_status (s_ctx.view, 12000), MONITOR_CONNECTED);
    cr_assert_eq (monitor_view_status (s_ctx.view, 13500), MONITOR_SILENT);
    char status [96];
    monitor_render_status (s_ctx.view, 15200, status, sizeof status);
    cr_assert_str_eq (status, "no stats for 5 s: coordinator down?");
    //  same process (uptime grew): back, but not a restart
    stats.uptime_ms = 7000;
    monitor_view_on_stats (s_ctx.view, &stats, 16000);
    const monitor_snapshot_t *snap = monitor_view_snapshot (s_ctx.view);
    cr_assert_eq (monitor_view_status (s_ctx.view, 16100), MONITOR_CONNECTED);
    cr_assert_eq (snap->restarts, 0);
    cr_assert_str_eq (snap->notice, "coordinator back (uptime 7.0 s)");
}

Test (monitor, recent_events_keep_the_last)
{
    for (int i = 0; i < MONITOR_RECENT_MAX + 3; i++) {
        ck_ev_socket_t event = s_socket ("backend", i % 2? "ACCEPTED": "DISCONNECTED");
        snprintf (event.endpoint, sizeof event.endpoint, "tcp://127.0.0.1:%d", 6000 + i);
        monitor_view_on_socket (s_ctx.view, i % 2? "socket.accepted": "socket.disconnected",
                                &event, 1000 + i);
        //  the handshake of every connection is noise here
        ck_ev_socket_t noise = s_socket ("backend", "HANDSHAKE_SUCCEEDED");
        monitor_view_on_socket (s_ctx.view, "socket.handshake_succeeded", &noise, 1000 + i);
    }
    cr_assert_eq (monitor_view_snapshot (s_ctx.view)->recent_count, MONITOR_RECENT_MAX);
    const monitor_recent_t *oldest = monitor_view_recent (s_ctx.view, 0);
    const monitor_recent_t *newest = monitor_view_recent (s_ctx.view, MONITOR_RECENT_MAX - 1);
    cr_assert (oldest && newest);
    cr_assert_null (monitor_view_recent (s_ctx.view, MONITOR_RECENT_MAX));
    cr_assert_eq (oldest->at_ms, 1003);
    cr_assert_str_eq (oldest->topic, "socket.accepted");
    cr_assert_str_eq (oldest->detail, "backend tcp://127.0.0.1:6003");
    cr_assert_eq (newest->at_ms, 1000 + MONITOR_RECENT_MAX + 2);
    ck_ev_worker_t lost = { .service = CK_SERVICE_PAYMENT, .instance = "pay-7" };
    monitor_view_on_worker (s_ctx.view, CK_EVENT_WORKER_LOST, &lost, 5000);
    newest = monitor_view_recent (s_ctx.view, MONITOR_RECENT_MAX - 1);
    cr_assert_str_eq (newest->topic, "worker.lost");
    cr_assert_str_eq (newest->detail, "payment pay-7");
}

Test (monitor, raw_events_and_malformed_ones)
{
    ck_ev_outcome_t failed = s_outcome ("s1", "card_declined");
    cr_assert_eq (ck_encode_ev_outcome (&failed, &s_ctx.buf), 0);
    cr_assert_eq (monitor_view_apply (s_ctx.view, "saga.failed", 11, s_ctx.buf.data,
                                      s_ctx.buf.size, 1000), CK_EVENT_SAGA_FAILED);
    ck_ev_stats_t stats = s_stats (2000, 3, 1, 1);
    cr_assert_eq (ck_encode_ev_stats (&stats, &s_ctx.buf), 0);
    cr_assert_eq (monitor_view_apply (s_ctx.view, "stats", 5, s_ctx.buf.data, s_ctx.buf.size,
                                      1000), CK_EVENT_STATS);
    ck_ev_socket_t socket = s_socket ("frontend", "HANDSHAKE_FAILED_PROTOCOL");
    cr_assert_eq (ck_encode_ev_socket (&socket, &s_ctx.buf), 0);
    cr_assert_eq (monitor_view_apply (s_ctx.view, "socket.handshake_failed_protocol", 32,
                                      s_ctx.buf.data, s_ctx.buf.size, 1000), CK_EVENT_SOCKET);
    //  unknown topic, garbage body, a body of the wrong event, an empty topic
    cr_assert_eq (monitor_view_apply (s_ctx.view, "saga.bogus", 10, s_ctx.buf.data,
                                      s_ctx.buf.size, 1000), CK_EVENT_NONE);
    cr_assert_eq (monitor_view_apply (s_ctx.view, "stats", 5, "\xc1\x00\xff", 3, 1000),
                  CK_EVENT_NONE);
    cr_assert_eq (monitor_view_apply (s_ctx.view, "stats", 5, s_ctx.buf.data, s_ctx.buf.size,
                                      1000), CK_EVENT_NONE);
    cr_assert_eq (monitor_view_apply (s_ctx.view, NULL, 0, NULL, 0, 1000), CK_EVENT_NONE);
    monitor_view_malformed (s_ctx.view, "3 frames, not 2");
    const monitor_snapshot_t *snap = monitor_view_snapshot (s_ctx.view);
    cr_assert_eq (snap->events, 3);
    cr_assert_eq (snap->malformed, 5);
    cr_assert_str_eq (snap->malformed_last, "3 frames, not 2");
    cr_assert_eq (snap->by_kind [CK_EVENT_STATS], 1);
    cr_assert_eq (monitor_view_failed_by (s_ctx.view, "card_declined"), 1);
    cr_assert_str_eq (monitor_view_recent (s_ctx.view, 0)->topic,
                      "socket.handshake_failed_protocol");
}

//  -------------------------------------------------------------------------
//  Rendering

static void
s_feed_sample (int64_t now_ms)
{
    ck_ev_outcome_t a = s_outcome ("s1", "card_declined"), b = s_outcome ("s2", "card_declined");
    ck_ev_outcome_t c = s_outcome ("s3", "out_of_stock"), d = s_outcome ("s4", "timeout");
    monitor_view_on_outcome (s_ctx.view, CK_EVENT_SAGA_FAILED, &a);
    monitor_view_on_outcome (s_ctx.view, CK_EVENT_SAGA_FAILED, &b);
    monitor_view_on_outcome (s_ctx.view, CK_EVENT_SAGA_FAILED, &c);
    monitor_view_on_outcome (s_ctx.view, CK_EVENT_SAGA_STUCK, &d);
    ck_ev_socket_t lost = s_socket ("backend", "DISCONNECTED");
    snprintf (lost.endpoint, sizeof lost.endpoint, "tcp://\"odd\"\\\x01");
    monitor_view_on_socket (s_ctx.view, "socket.disconnected", &lost, now_ms);
    ck_ev_stats_t stats = s_stats (9000, 10, 5, 3);
    stats.stuck = 1;
    stats.p50_us = 800;
    s_add_worker (&stats, CK_SERVICE_PAYMENT, "pay-1", 3, 8);
    monitor_view_on_stats (s_ctx.view, &stats, now_ms);
}

Test (monitor, text_is_key_value_lines)
{
    s_feed_sample (1000);
    char *text = s_render (false, 1500);
    const char *lines [] = {
        "coordinator: connected\n", "confirmed: 5\n", "failed: 3\n", "stuck: 1\n",
        "in_flight: 2\n", "latency_p50_us: 800\n", "failed.card_declined: 2\n",
        "failed.out_of_stock: 1\n", "stuck_sagas: 1\n", "stuck_saga: s4\n",
        "service.payment: instances=1 load=3 capacity=8\n",
        "worker.payment.pay-1: load=3 capacity=8\n", "sagas_per_s: -\n", "malformed: 0\n",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines [0]; i++)
        cr_expect (strstr (text, lines [i]), "missing '%s' in:\n%s", lines [i], text);
    cr_expect (strncmp (text, "coordinator: ", 13) == 0);
    //  only services that exist: the table has free slots past them
    cr_expect_null (strstr (text, "(null)"), "%s", text);
    free (text);
}

Test (monitor, json_snapshot_is_one_valid_object)
{
    s_feed_sample (1000);
    char *text = s_render (true, 1500);
    cr_assert (s_json_valid (text), "not JSON: %s", text);
    cr_assert_eq (strchr (text, '\n'), text + strlen (text) - 1, "not one line: %s", text);
    cr_expect (strstr (text, "\"confirmed\":5,"));
    cr_expect (strstr (text, "\"failed_by_reason\":{\"card_declined\":2,\"out_of_stock\":1}"));
    cr_expect (strstr (text, "\"stuck_sagas\":[\"s4\"]"));
    cr_expect (strstr (text, "\"coordinator\":\"connected\""));
    cr_expect (strstr (text, "\"order\":{\"instances\":0,\"load\":0,\"capacity\":0}}"), "%s",
               text);
    free (text);
    //  silent: still valid, with the warning
    text = s_render (true, 9000);
    cr_assert (s_json_valid (text), "not JSON: %s", text);
    cr_expect (strstr (text, "coordinator down?"));
    free (text);
}

Test (monitor, json_event_lines)
{
    ck_ev_started_t started = { .saga_id = "s1", .checkout_id = "c1" };
    cr_assert_eq (ck_encode_ev_started (&started, &s_ctx.buf), 0);
    ck_buf_t scratch;
    ck_buf_init (&scratch);
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    monitor_render_event (NULL, "saga.started", 12, s_ctx.buf.data, s_ctx.buf.size, &scratch,
                          out);
    monitor_render_event (NULL, "we\"ird\n", 7, "\xc1", 1, &scratch, out);
    monitor_render_event ("ipc://\"ev\"", NULL, 0, NULL, 0, &scratch, out);
    fclose (out);
    ck_buf_free (&scratch);
    //  split into lines; the output ends with a newline
    char *lines [3] = { text, NULL, NULL };
    for (int i = 0; i < 3; i++) {
        char *end = lines [i]? strchr (lines [i], '\n'): NULL;
        cr_assert (end, "line %d missing in %s", i, text);
        *end = 0;
        if (i < 2)
            lines [i + 1] = end + 1;
        else
            cr_assert_eq (end [1], 0, "more than three lines");
    }
    for (int i = 0; i < 3; i++)
        cr_expect (s_json_valid (lines [i]), "not JSON: %s", lines [i]);
    cr_expect (strstr (lines [0], "\"topic\":\"saga.started\""));
    cr_expect (strstr (lines [0], "\"saga_id\":\"s1\""));
    cr_expect_str_eq (lines [1], "{\"topic\":\"we\\\"ird?\",\"body\":null,\"malformed\":true}");
    cr_expect_str_eq (lines [2], "{\"from\":\"ipc://\\\"ev\\\"\",\"topic\":\"\",\"body\":null,"
                      "\"malformed\":true}");
    free (text);
}

//  -------------------------------------------------------------------------
//  Several coordinators and their partitions

Test (monitor, partition_ranges_parse_and_format)
{
    uint8_t owned [CK_MAX_PARTITIONS];
    cr_expect_eq (monitor_partitions_parse ("0-20,42", 64, owned), 22);
    cr_expect (owned [0] && owned [20] && !owned [21] && owned [42] && !owned [43]);
    char text [MONITOR_RANGES_SIZE];
    monitor_partitions_format (owned, 64, text, sizeof text);
    cr_expect_str_eq (text, "0-20,42");
    cr_expect_eq (monitor_partitions_parse ("", 64, owned), 0);
    monitor_partitions_format (owned, 64, text, sizeof text);
    cr_expect_str_eq (text, "");
    cr_expect_eq (monitor_partitions_parse ("3,1-2,2", 8, owned), 3, "overlap counted once");
    monitor_partitions_format (owned, 8, text, sizeof text);
    cr_expect_str_eq (text, "1-3");
    const char *bad [] = { "64", "0-64", "5-3", "1,", ",1", "1-", "-1", "a", "1 2", "1--2" };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++)
        cr_expect_eq (monitor_partitions_parse (bad [i], 64, owned), -1, "'%s'", bad [i]);
    //  every other partition of 1024 does not fit: the text says it is cut
    for (int p = 0; p < CK_MAX_PARTITIONS; p++)
        owned [p] = p % 2 == 0;
    monitor_partitions_format (owned, CK_MAX_PARTITIONS, text, sizeof text);
    cr_expect_lt (strlen (text), sizeof text);
    cr_expect (strstr (text, ",...") && strncmp (text, "0,2,4,", 6) == 0, "%s", text);
}

//  A group of coordinators at ipc://c1.. whose stats say id, partitions
//  of 64 (ranges NULL: not reported) and counts
static void
s_group_add (const char *id, const char *ranges, uint64_t started, int64_t now_ms)
{
    if (!s_ctx.group)
        s_ctx.group = monitor_group_new ();
    cr_assert (s_ctx.group);
    char endpoint [64];
    snprintf (endpoint, sizeof endpoint, "ipc://%s", id? id: "anonymous");
    int index = monitor_group_add (s_ctx.group, endpoint);
    cr_assert_geq (index, 0);
    ck_ev_stats_t stats = s_stats (5000, started, started > 1? started - 1: 0, 0);
    if (id)
        snprintf (stats.coordinator, sizeof stats.coordinator, "%s", id);
    if (ranges) {
        stats.partition_count = 64;
        snprintf (stats.partitions, sizeof stats.partitions, "%s", ranges);
    }
    s_add_worker (&stats, CK_SERVICE_PAYMENT, "pay-1", 2, 8);
    monitor_view_on_stats (monitor_group_view (s_ctx.group, (size_t) index), &stats, now_ms);
}

static char *
s_render_group (bool json, int64_t now_ms)
{
    char *text = NULL;
    size_t size = 0;
    FILE *out = open_memstream (&text, &size);
    cr_assert (out);
    if (json)
        monitor_render_group_json (s_ctx.group, now_ms, out);
    else
        monitor_render_group_text (s_ctx.group, now_ms, out);
    fclose (out);
    return text;
}

static void
s_expect_lines (const char *text, const char *const *lines, size_t count)
{
    for (size_t i = 0; i < count; i++)
        cr_expect (strstr (text, lines [i]), "missing '%s' in:\n%s", lines [i], text);
}

Test (monitor, one_coordinator_without_partitions_shows_as_before)
{
    s_group_add (NULL, NULL, 10, 1000);
    cr_expect_not (monitor_group_plural (s_ctx.group));
    cr_expect_str_eq (monitor_group_name (s_ctx.group, 0), "ipc://anonymous");
    char *group = s_render_group (false, 1500);
    monitor_view_t *own = s_ctx.view;
    s_ctx.view = monitor_group_view (s_ctx.group, 0);
    char *alone = s_render (false, 1500);
    s_ctx.view = own;
    cr_expect_str_eq (group, alone);
    free (group);
    free (alone);
}

Test (monitor, two_coordinators_that_split_the_partitions)
{
    s_group_add ("c1", "0-21", 10, 1000);
    s_group_add ("c2", "22-63", 5, 1000);
    cr_expect (monitor_group_plural (s_ctx.group));
    char *text = s_render_group (false, 1500);
    const char *lines [] = {
        "coordinators: 2 (2 connected)\n",
        ("coordinator.c1: connected; in_flight=1 sagas_per_s=- started_per_s=- started=10 "
         "confirmed=9 failed=0; events=ipc://c1\n"),
        "partitions.c1: c1 owns 0-21 (22/64)\n",
        "coordinator.c2: connected; in_flight=1 ",
        "partitions.c2: c2 owns 22-63 (42/64)\n",
        "partitions: 64 of 64 owned by 2 coordinators\n",
        //  then both as one: counts summed, the shared worker once
        "\ncoordinator: connected\n", "\nstarted: 15\n", "\nconfirmed: 13\n",
        "\nin_flight: 2\n", "service.payment: instances=1 load=4 capacity=8\n",
        "worker.payment.pay-1: load=4 capacity=8\n",
    };
    s_expect_lines (text, lines, sizeof lines / sizeof lines [0]);
    cr_expect_null (strstr (text, "warning:"), "%s", text);
    cr_expect (strncmp (text, "coordinators: ", 14) == 0, "%s", text);
    cr_expect_null (strstr (text, "notice:"), "%s", text);
    free (text);
    //  c2 restarts: the notice says which coordinator
    ck_ev_stats_t again = s_stats (700, 0, 0, 0);
    snprintf (again.coordinator, sizeof again.coordinator, "c2");
    again.partition_count = 64;
    snprintf (again.partitions, sizeof again.partitions, "22-63");
    monitor_view_on_stats (monitor_group_view (s_ctx.group, 1), &again, 1400);
    text = s_render_group (false, 1500);
    cr_expect (strstr (text, "\nnotice: c2: coordinator back (uptime 0.7 s): restarted\n"), "%s",
               text);
    free (text);
}

Test (monitor, unowned_partitions_are_a_warning)
{
    s_group_add ("c1", "0-21", 10, 1000);
    s_group_add ("c2", "30-62", 5, 1000);
    char *text = s_render_group (false, 1500);
    const char *lines [] = {
        "partitions: 55 of 64 owned by 2 coordinators\n",
        "warning: partitions 22-29,63 unowned (9 of 64)\n",
    };
    s_expect_lines (text, lines, sizeof lines / sizeof lines [0]);
    cr_expect_null (strstr (text, "claimed"), "%s", text);
    free (text);
}

Test (monitor, partitions_claimed_twice_are_a_warning)
{
    s_group_add ("c1", "0-21", 10, 1000);
    s_group_add ("c2", "20-63", 5, 1000);
    s_group_add ("c3", "0", 1, 1000);
    char *text = s_render_group (false, 1500);
    const char *lines [] = {
        "coordinators: 3 (3 connected)\n",
        "partitions: 64 of 64 owned by 3 coordinators\n",
        "warning: partitions 20-21 claimed by both c1 and c2 (2)\n",
        "warning: partitions 0 claimed by both c1 and c3 (1)\n",
    };
    s_expect_lines (text, lines, sizeof lines / sizeof lines [0]);
    cr_expect_null (strstr (text, "unowned"), "%s", text);
    cr_expect_null (strstr (text, "c2 and c3"), "%s", text);
    free (text);
}

Test (monitor, a_silent_coordinator_owns_nothing)
{
    //  c2's lease ran out with it; c1 took its partitions: no overlap, and
    //  c2 shows as down
    s_group_add ("c1", "0-63", 10, 5000);
    s_group_add ("c2", "32-63", 5, 1000);
    char *text = s_render_group (false, 5500);
    const char *lines [] = {
        "coordinators: 2 (1 connected)\n",
        "coordinator.c2: no stats for 4 s: coordinator down?; ",
        "partitions: 64 of 64 owned by 1 coordinator\n",
        "\ncoordinator: no stats for 4 s: coordinator down?\n",
    };
    s_expect_lines (text, lines, sizeof lines / sizeof lines [0]);
    cr_expect_null (strstr (text, "warning:"), "%s", text);
    free (text);
    //  one coordinator alone that reports partitions still shows them
    monitor_group_destroy (&s_ctx.group);
    s_group_add ("c1", "0-31", 10, 1000);
    cr_expect (monitor_group_plural (s_ctx.group));
    text = s_render_group (false, 1500);
    const char *alone [] = {
        "coordinators: 1 (1 connected)\n", "partitions.c1: c1 owns 0-31 (32/64)\n",
        "warning: partitions 32-63 unowned (32 of 64)\n",
    };
    s_expect_lines (text, alone, sizeof alone / sizeof alone [0]);
    free (text);
}

Test (monitor, partitions_that_do_not_parse_own_nothing)
{
    s_group_add ("c1", "0-21", 10, 1000);
    s_group_add ("c2", "22-99", 5, 1000);
    char *text = s_render_group (false, 1500);
    const char *lines [] = {
        "partitions.c2: c2 reports partitions that are not ranges of 0..63\n",
        "partitions: 22 of 64 owned by 1 coordinator\n",
        "warning: partitions 22-63 unowned (42 of 64)\n",
    };
    s_expect_lines (text, lines, sizeof lines / sizeof lines [0]);
    free (text);
}

Test (monitor, several_coordinators_as_one_json_object)
{
    s_group_add ("c1", "0-21", 10, 1000);
    s_group_add ("c2", "20-62", 5, 1000);
    char *text = s_render_group (true, 1500);
    cr_assert (s_json_valid (text), "not JSON: %s", text);
    cr_assert_eq (strchr (text, '\n'), text + strlen (text) - 1, "not one line: %s", text);
    const char *parts [] = {
        ("{\"coordinators\":[{\"name\":\"c1\",\"events\":\"ipc://c1\",\"status\":\"connected\","
         "\"in_flight\":1,\"started\":10,\"confirmed\":9,\"failed\":0,\"partition_count\":64,"
         "\"partitions\":\"0-21\",\"owned\":22}"),
        ("\"partitions\":{\"count\":64,\"owned\":63,\"unowned\":1,\"unowned_ranges\":\"63\","
         "\"overlaps\":[{\"coordinators\":[\"c1\",\"c2\"],\"count\":2,\"partitions\":\"20-21\"}]}"),
        "\"warnings\":[\"partitions 63 unowned (1 of 64)\",",
        "\"coordinator\":\"connected\"", "\"started\":15,",
    };
    s_expect_lines (text, parts, sizeof parts / sizeof parts [0]);
    free (text);
}

Test (monitor, the_group_is_bounded)
{
    s_ctx.group = monitor_group_new ();
    char endpoint [32];
    for (int i = 0; i < MONITOR_COORDINATORS_MAX; i++) {
        snprintf (endpoint, sizeof endpoint, "ipc://c%d", i);
        cr_expect_eq (monitor_group_add (s_ctx.group, endpoint), i);
    }
    cr_expect_eq (monitor_group_add (s_ctx.group, "ipc://one-more"), -1);
    monitor_group_destroy (&s_ctx.group);
    s_ctx.group = monitor_group_new ();
    cr_expect_eq (monitor_group_add (s_ctx.group, "ipc://c1"), 0);
    cr_expect_eq (monitor_group_add (s_ctx.group, "ipc://c1"), -1, "the same endpoint twice");
}

//  -------------------------------------------------------------------------
//  The executable, against the test's own publisher

//  Starts checkout-monitor with args (NULL-terminated), stdout to
//  <dir>/<log>, stderr to <dir>/<log>.err; returns the pid's slot
static int
s_start_argv (const char *log, const char **args)
{
    char bin [PATH_MAX], exe [PATH_MAX + 32], out [PATH_MAX], err [PATH_MAX + 8];
    cr_assert_eq (ph_bin_dir (bin, sizeof bin), 0, "no bin dir");
    snprintf (exe, sizeof exe, "%s/checkout-monitor", bin);
    snprintf (out, sizeof out, "%s/%s", s_ctx.dir, log);
    snprintf (err, sizeof err, "%s.err", out);
    const char *argv [MAX_ARGS];
    int argc = 0;
    argv [argc++] = exe;
    for (; *args && argc < MAX_ARGS - 1; args++)
        argv [argc++] = *args;
    argv [argc] = NULL;
    int slot = 0;
    while (slot < MAX_PIDS && s_ctx.pids [slot] > 0)
        slot++;
    cr_assert (slot < MAX_PIDS);
    s_ctx.pids [slot] = ph_spawn2 (exe, (char *const *) argv, out, err);
    cr_assert (s_ctx.pids [slot] > 0, "fork failed");
    return slot;
}

#define s_start(log, ...) s_start_argv ((log), (const char *[]) { __VA_ARGS__, NULL })

//  Waits for the monitor in slot to exit; returns its exit code
static int
s_exit_code (int slot, int timeout_ms)
{
    int status = 0;
    cr_assert_eq (ph_wait (s_ctx.pids [slot], timeout_ms, &status), 0,
                  "monitor still running after %d ms", timeout_ms);
    s_ctx.pids [slot] = 0;
    return ph_exit_code (status);
}

static char *
s_output (const char *log)
{
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/%s", s_ctx.dir, log);
    char *text = ph_slurp (path);
    return text? text: strdup ("");
}

//  czmq reports sockets left open at exit: the monitor must close its own
static void
s_expect_clean_exit (const char *log)
{
    char err_log [64];
    snprintf (err_log, sizeof err_log, "%s.err", log);
    char *err = s_output (err_log);
    cr_expect_null (strstr (err, "dangling"), "stderr: %s", err);
    free (err);
}

//  An XPUB on an ephemeral port: it tells us when the monitor subscribed,
//  so nothing is published before a subscriber can get it
static void
s_publisher (void)
{
    s_ctx.xpub = zsock_new (ZMQ_XPUB);
    cr_assert (s_ctx.xpub);
    cr_assert_neq (zsock_bind (s_ctx.xpub, "tcp://127.0.0.1:*"), -1);
    s_ctx.endpoint = zsock_last_endpoint (s_ctx.xpub);
    cr_assert (s_ctx.endpoint);
}

static void
s_wait_subscribed_on (zsock_t *xpub)
{
    zpoller_t *poller = zpoller_new (xpub, NULL);
    zframe_t *frame = zpoller_wait (poller, SUBSCRIBE_MS)? zframe_recv (xpub): NULL;
    zpoller_destroy (&poller);
    cr_assert (frame, "the monitor did not subscribe within %d ms", SUBSCRIBE_MS);
    bool subscribe = zframe_size (frame) >= 1 && zframe_data (frame) [0] == 1;
    zframe_destroy (&frame);
    cr_assert (subscribe);
}

static void
s_wait_subscribed (void)
{
    s_wait_subscribed_on (s_ctx.xpub);
}

static void
s_publish_raw_on (zsock_t *xpub, const char *topic, const void *body, size_t size)
{
    cr_assert_eq (zsock_send (xpub, "sb", topic, body, size), 0);
}

static void
s_publish_raw (const char *topic, const void *body, size_t size)
{
    s_publish_raw_on (s_ctx.xpub, topic, body, size);
}

static void
s_publish_outcome (ck_event_kind_t kind, const char *saga_id, const char *code)
{
    ck_ev_outcome_t event = s_outcome (saga_id, code);
    cr_assert_eq (ck_encode_ev_outcome (&event, &s_ctx.buf), 0);
    s_publish_raw (ck_event_topic (kind), s_ctx.buf.data, s_ctx.buf.size);
}

static void
s_publish_stats (const ck_ev_stats_t *stats)
{
    cr_assert_eq (ck_encode_ev_stats (stats, &s_ctx.buf), 0);
    s_publish_raw ("stats", s_ctx.buf.data, s_ctx.buf.size);
}

Test (monitor, once_prints_the_counts)
{
    s_publisher ();
    int slot = s_start ("once.out", "--once", "--timeout", "20000", "--events", s_ctx.endpoint);
    s_wait_subscribed ();
    s_publish_outcome (CK_EVENT_SAGA_FAILED, "s1", "card_declined");
    s_publish_outcome (CK_EVENT_SAGA_FAILED, "s2", "card_declined");
    s_publish_outcome (CK_EVENT_SAGA_FAILED, "s3", "out_of_stock");
    s_publish_outcome (CK_EVENT_SAGA_STUCK, "s4", "timeout");
    s_publish_raw ("saga.bogus", "\x80", 1);
    cr_assert_eq (zstr_sendx (s_ctx.xpub, "stats", "two", "three", NULL), 0);
    ck_ev_stats_t stats = s_stats (9000, 12, 5, 3);
    stats.stuck = 1;
    stats.retries = 4;
    s_add_worker (&stats, CK_SERVICE_INVENTORY, "inv-1", 2, 16);
    s_publish_stats (&stats);
    cr_assert_eq (s_exit_code (slot, EXIT_MS), 0);
    char *text = s_output ("once.out");
    const char *lines [] = {
        "coordinator: connected\n", "confirmed: 5\n", "failed: 3\n", "stuck: 1\n",
        "in_flight: 4\n", "retries: 4\n", "failed.card_declined: 2\n",
        "failed.out_of_stock: 1\n", "stuck_saga: s4\n", "malformed: 2\n",
        "service.inventory: instances=1 load=2 capacity=16\n", "events: 5\n",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines [0]; i++)
        cr_expect (strstr (text, lines [i]), "missing '%s' in:\n%s", lines [i], text);
    free (text);
    s_expect_clean_exit ("once.out");
}

Test (monitor, once_json_prints_one_object)
{
    s_publisher ();
    int slot = s_start ("once.json", "--once", "--json", "--events", s_ctx.endpoint);
    s_wait_subscribed ();
    ck_ev_stats_t stats = s_stats (500, 7, 7, 0);
    s_publish_stats (&stats);
    cr_assert_eq (s_exit_code (slot, EXIT_MS), 0);
    char *text = s_output ("once.json");
    cr_assert (s_json_valid (text), "not JSON: %s", text);
    cr_assert (strstr (text, "\"confirmed\":7,"), "%s", text);
    free (text);
}

//  Counts the lines of a log; waits up to timeout_ms for at least want
static int
s_wait_lines (const char *log, int want, int timeout_ms)
{
    int64_t deadline = ph_now_ms () + timeout_ms;
    int lines = 0;
    do {
        char *text = s_output (log);
        lines = 0;
        for (char *c = text; *c; c++)
            lines += *c == '\n';
        free (text);
        if (lines >= want)
            break;
        usleep (20000);
    } while (ph_now_ms () < deadline);
    return lines;
}

Test (monitor, json_prints_one_line_per_event)
{
    s_publisher ();
    int slot = s_start ("events.json", "--json", "--events", s_ctx.endpoint);
    s_wait_subscribed ();
    ck_ev_started_t started = { .saga_id = "s1", .checkout_id = "c1" };
    cr_assert_eq (ck_encode_ev_started (&started, &s_ctx.buf), 0);
    s_publish_raw ("saga.started", s_ctx.buf.data, s_ctx.buf.size);
    s_publish_outcome (CK_EVENT_SAGA_CONFIRMED, "s1", NULL);
    s_publish_raw ("saga.failed", "\xc1garbage", 8);
    ck_ev_stats_t stats = s_stats (500, 1, 1, 0);
    s_publish_stats (&stats);
    cr_assert_eq (s_wait_lines ("events.json", 4, EXIT_MS), 4);
    ph_signal (s_ctx.pids [slot], SIGTERM);
    cr_assert_eq (s_exit_code (slot, EXIT_MS), 0);
    char *text = s_output ("events.json");
    cr_expect (strstr (text, "\"saga_id\":\"s1\""), "%s", text);
    cr_expect (strstr (text, "{\"topic\":\"saga.failed\",\"body\":null,\"malformed\":true}\n"),
               "%s", text);
    const char *topics [] = { "saga.started", "saga.confirmed", "saga.failed", "stats" };
    char *line = text;
    for (int i = 0; i < 4; i++) {
        char *end = strchr (line, '\n');
        cr_assert (end, "line %d missing in:\n%s", i, text);
        *end = 0;
        cr_expect (s_json_valid (line), "line %d not JSON: %s", i, line);
        char want [64];
        snprintf (want, sizeof want, "{\"topic\":\"%s\",\"body\":", topics [i]);
        cr_expect (strncmp (line, want, strlen (want)) == 0, "line %d: %s", i, line);
        line = end + 1;
    }
    cr_expect_str_eq (line, "", "more lines than events");
    free (text);
    s_expect_clean_exit ("events.json");
}

//  Stats of coordinator id owning ranges of 64 partitions, on xpub
static void
s_publish_owner (zsock_t *xpub, const char *id, const char *ranges, uint64_t started)
{
    ck_ev_stats_t stats = s_stats (2000, started, started, 0);
    snprintf (stats.coordinator, sizeof stats.coordinator, "%s", id);
    stats.partition_count = 64;
    snprintf (stats.partitions, sizeof stats.partitions, "%s", ranges);
    cr_assert_eq (ck_encode_ev_stats (&stats, &s_ctx.buf), 0);
    s_publish_raw_on (xpub, "stats", s_ctx.buf.data, s_ctx.buf.size);
}

Test (monitor, once_waits_for_every_coordinator)
{
    s_publisher ();
    s_ctx.xpub2 = zsock_new (ZMQ_XPUB);
    cr_assert (s_ctx.xpub2);
    cr_assert_neq (zsock_bind (s_ctx.xpub2, "tcp://127.0.0.1:*"), -1);
    s_ctx.endpoint2 = zsock_last_endpoint (s_ctx.xpub2);
    char both [256];
    snprintf (both, sizeof both, "%s,%s", s_ctx.endpoint, s_ctx.endpoint2);
    int slot = s_start ("two.out", "--once", "--timeout", "20000", "--events", both);
    s_wait_subscribed ();
    s_wait_subscribed_on (s_ctx.xpub2);
    s_publish_owner (s_ctx.xpub, "c1", "0-31", 7);
    //  one of two is not a snapshot yet
    zclock_sleep (300);
    cr_expect (ph_cmdline_has (s_ctx.pids [slot], "--once"), "exited after one stats");
    s_publish_owner (s_ctx.xpub2, "c2", "30-63", 3);
    cr_assert_eq (s_exit_code (slot, EXIT_MS), 0);
    char *text = s_output ("two.out");
    char line [320];
    snprintf (line, sizeof line, "coordinator.c2: connected; in_flight=0 sagas_per_s=- "
              "started_per_s=- started=3 confirmed=3 failed=0; events=%s\n", s_ctx.endpoint2);
    const char *lines [] = {
        "coordinators: 2 (2 connected)\n", line, "partitions.c1: c1 owns 0-31 (32/64)\n",
        "partitions.c2: c2 owns 30-63 (34/64)\n",
        "warning: partitions 30-31 claimed by both c1 and c2 (2)\n", "\nstarted: 10\n",
    };
    s_expect_lines (text, lines, sizeof lines / sizeof lines [0]);
    free (text);
    s_expect_clean_exit ("two.out");
}

Test (monitor, once_with_a_silent_coordinator_prints_and_exits_1)
{
    s_publisher ();
    char silent [PATH_MAX];
    snprintf (silent, sizeof silent, "ipc://%s/nobody", s_ctx.dir);
    int slot = s_start ("silent.out", "--once", "--json", "--timeout", "1500",
                        "--events", s_ctx.endpoint, "--events", silent);
    s_wait_subscribed ();
    s_publish_owner (s_ctx.xpub, "c1", "0-63", 4);
    cr_assert_eq (s_exit_code (slot, EXIT_MS), 1);
    char *text = s_output ("silent.out");
    cr_assert (s_json_valid (text), "not JSON: %s", text);
    char waiting [2 * PATH_MAX + 64];
    snprintf (waiting, sizeof waiting, "\"name\":\"%s\",\"events\":\"%s\","
              "\"status\":\"waiting for stats\"}", silent, silent);
    const char *parts [] = { "{\"coordinators\":[{\"name\":\"c1\",", waiting,
                             "\"warnings\":[]" };
    s_expect_lines (text, parts, sizeof parts / sizeof parts [0]);
    free (text);
    char *err = s_output ("silent.out.err");
    snprintf (waiting, sizeof waiting, "no stats from %s within 1500 ms", silent);
    cr_expect (strstr (err, waiting), "stderr: %s", err);
    free (err);
}

Test (monitor, json_lines_say_which_endpoint)
{
    s_publisher ();
    char other [PATH_MAX];
    snprintf (other, sizeof other, "ipc://%s/other", s_ctx.dir);
    int slot = s_start ("from.json", "--json", "--events", other, "--events", s_ctx.endpoint);
    s_wait_subscribed ();
    s_publish_outcome (CK_EVENT_SAGA_CONFIRMED, "s1", NULL);
    cr_assert_eq (s_wait_lines ("from.json", 1, EXIT_MS), 1);
    ph_signal (s_ctx.pids [slot], SIGTERM);
    cr_assert_eq (s_exit_code (slot, EXIT_MS), 0);
    char *text = s_output ("from.json");
    char want [256];
    snprintf (want, sizeof want, "{\"from\":\"%s\",\"topic\":\"saga.confirmed\",\"body\":{",
              s_ctx.endpoint);
    cr_expect (strncmp (text, want, strlen (want)) == 0, "%s", text);
    cr_expect (s_json_valid (text), "%s", text);
    free (text);
    s_expect_clean_exit ("from.json");
}

Test (monitor, once_without_publisher_exits_1)
{
    char endpoint [PATH_MAX];
    snprintf (endpoint, sizeof endpoint, "ipc://%s/nobody", s_ctx.dir);
    int64_t start = ph_now_ms ();
    int slot = s_start ("none.out", "--once", "--timeout", "400", "--events", endpoint);
    cr_assert_eq (s_exit_code (slot, EXIT_MS), 1);
    int64_t elapsed = ph_now_ms () - start;
    cr_assert_geq (elapsed, 400, "exited before the timeout: %lld ms", (long long) elapsed);
    char *err = s_output ("none.out.err");
    cr_expect (strstr (err, "no stats"), "stderr: %s", err);
    free (err);
}

Test (monitor, bad_usage_exits_2)
{
    const char *cases [][4] = {
        { "--bogus", NULL }, { "--timeout", "0", NULL }, { "--events", "nonsense", NULL },
        { "extra", NULL }, { "--timeout", NULL }, { "--events", "ipc://a,,ipc://b", NULL },
        { "--events", "ipc://a,ipc://a", NULL }, { "--events", "ipc://a,", NULL },
        { "--events", "ipc://a,nonsense", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        int slot = s_start_argv ("usage.out", cases [i]);
        cr_expect_eq (s_exit_code (slot, EXIT_MS), 2, "case %zu (%s)", i, cases [i][0]);
    }
}

Test (monitor, live_view_shows_silence_and_return)
{
    s_publisher ();
    int slot = s_start ("live.out", "--events", s_ctx.endpoint);
    s_wait_subscribed ();
    ck_ev_stats_t stats = s_stats (60000, 5, 5, 0);
    s_publish_stats (&stats);
    //  > 3 s without stats, then a new process (uptime went down)
    zclock_sleep (MONITOR_SILENT_MS + 1500);
    stats = s_stats (800, 0, 0, 0);
    s_publish_stats (&stats);
    zclock_sleep (1500);
    ph_signal (s_ctx.pids [slot], SIGINT);
    cr_assert_eq (s_exit_code (slot, EXIT_MS), 0);
    char *text = s_output ("live.out");
    cr_expect (strstr (text, "coordinator: connected\n"), "%s", text);
    cr_expect (strstr (text, "coordinator down?\n"), "%s", text);
    cr_expect (strstr (text, "notice: coordinator back (uptime 0.8 s): restarted\n"), "%s", text);
    cr_expect (strstr (text, "restarts: 1\n"), "%s", text);
    cr_expect_null (strstr (text, "\033["), "no ANSI codes when stdout is a file");
    free (text);
    s_expect_clean_exit ("live.out");
}

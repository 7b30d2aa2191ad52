/*  monitor_render.c - how the monitor shows its view
    Snapshot as "key: value" lines or one JSON object; events as JSON lines.
*/
#include <assert.h>
#include <inttypes.h>
#include <string.h>
#include "monitor_render.h"

//  A JSON string of text that the view already made printable ASCII, or
//  of raw bytes from the wire: anything outside printable ASCII becomes
//  '?' so that the line stays valid JSON whatever a peer sent
static void
s_json_string (FILE *out, const char *text, size_t len)
{
    fputc ('"', out);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char) text [i];
        if (c == '"' || c == '\\')
            fprintf (out, "\\%c", c);
        else
            fputc (c >= 0x20 && c < 0x7f? c: '?', out);
    }
    fputc ('"', out);
}

static void
s_json_str (FILE *out, const char *text)
{
    s_json_string (out, text, strlen (text));
}

void
monitor_render_status (monitor_view_t *view, int64_t now_ms, char *text, size_t size)
{
    assert (view && text && size);
    const monitor_snapshot_t *snap = monitor_view_snapshot (view);
    switch (monitor_view_status (view, now_ms)) {
        case MONITOR_WAITING:
            snprintf (text, size, "waiting for stats");
            break;
        case MONITOR_CONNECTED:
            snprintf (text, size, "connected");
            break;
        case MONITOR_SILENT:
            snprintf (text, size, "no stats for %" PRId64 " s: coordinator down?",
                      (now_ms - snap->stats_ms) / 1000);
            break;
    }
}

static bool
s_notice_shown (const monitor_snapshot_t *snap, int64_t now_ms)
{
    return snap->notice_seq && now_ms - snap->notice_ms <= MONITOR_NOTICE_MS;
}

//  -------------------------------------------------------------------------
//  Text

static void
s_text_counters (const ck_ev_stats_t *stats, FILE *out)
{
    const struct { const char *key; uint64_t value; } rows [] = {
        { "uptime_ms", stats->uptime_ms }, { "in_flight", stats->in_flight },
        { "started", stats->started }, { "confirmed", stats->confirmed },
        { "failed", stats->failed }, { "stuck", stats->stuck },
        { "retries", stats->retries }, { "bad_messages", stats->bad_messages },
        { "ignored_replies", stats->ignored_replies }, { "overloaded", stats->overloaded },
        { "latency_count", stats->latency_count }, { "latency_p50_us", stats->p50_us },
        { "latency_p90_us", stats->p90_us }, { "latency_p99_us", stats->p99_us },
        { "latency_max_us", stats->max_us },
    };
    for (size_t i = 0; i < sizeof rows / sizeof rows [0]; i++)
        fprintf (out, "%s: %" PRIu64 "\n", rows [i].key, rows [i].value);
}

static void
s_text_stats (const monitor_snapshot_t *snap, FILE *out)
{
    if (snap->have_rate)
        fprintf (out, "sagas_per_s: %.1f\nstarted_per_s: %.1f\n",
                 snap->sagas_per_s, snap->started_per_s);
    else
        fprintf (out, "sagas_per_s: -\nstarted_per_s: -\n");
    s_text_counters (&snap->stats, out);
    for (int service = CK_SERVICE_NONE + 1; service < CK_SERVICE_MAX; service++) {
        const monitor_service_t *totals = &snap->services [service];
        fprintf (out, "service.%s: instances=%u load=%" PRIu64 " capacity=%" PRIu64 "\n",
                 ck_service_name ((ck_service_t) service), totals->instances,
                 totals->load, totals->capacity);
    }
    for (uint32_t i = 0; i < snap->stats.worker_count; i++) {
        const ck_worker_load_t *worker = &snap->stats.workers [i];
        const char *service = ck_service_name (worker->service);
        fprintf (out, "worker.%s.%s: load=%u capacity=%u\n", service? service: "?",
                 worker->instance, worker->load, worker->capacity);
    }
}

static void
s_text_seen (monitor_view_t *view, int64_t now_ms, FILE *out)
{
    const monitor_snapshot_t *snap = monitor_view_snapshot (view);
    for (uint32_t i = 0; i < snap->reason_count; i++)
        fprintf (out, "failed.%s: %" PRIu64 "\n", snap->reasons [i].code,
                 snap->reasons [i].count);
    uint64_t stuck = snap->stuck_count + snap->stuck_untracked;
    fprintf (out, "stuck_sagas: %" PRIu64 "\n", stuck);
    for (uint32_t i = 0; i < snap->stuck_count && i < MONITOR_TEXT_STUCK_MAX; i++)
        fprintf (out, "stuck_saga: %s\n", snap->stuck [i]);
    if (stuck > MONITOR_TEXT_STUCK_MAX)
        fprintf (out, "stuck_saga: ... and %" PRIu64 " more\n", stuck - MONITOR_TEXT_STUCK_MAX);
    const monitor_recent_t *recent;
    for (uint32_t i = 0; (recent = monitor_view_recent (view, i)); i++)
        fprintf (out, "recent: %" PRId64 "s ago %s %s\n", (now_ms - recent->at_ms) / 1000,
                 recent->topic, recent->detail);
    fprintf (out, "restarts: %" PRIu64 "\n", snap->restarts);
    fprintf (out, "malformed: %" PRIu64 "\n", snap->malformed);
    if (snap->malformed)
        fprintf (out, "malformed_last: %s\n", snap->malformed_last);
    fprintf (out, "events: %" PRIu64 "\n", snap->events);
}

void
monitor_render_text (monitor_view_t *view, int64_t now_ms, FILE *out)
{
    assert (view && out);
    const monitor_snapshot_t *snap = monitor_view_snapshot (view);
    char status [96];
    monitor_render_status (view, now_ms, status, sizeof status);
    fprintf (out, "coordinator: %s\n", status);
    if (s_notice_shown (snap, now_ms))
        fprintf (out, "notice: %s\n", snap->notice);
    if (snap->have_stats)
        s_text_stats (snap, out);
    s_text_seen (view, now_ms, out);
}

//  -------------------------------------------------------------------------
//  JSON

static void
s_json_stats (const monitor_snapshot_t *snap, FILE *out)
{
    const ck_ev_stats_t *stats = &snap->stats;
    fprintf (out, ",\"uptime_ms\":%" PRIu64 ",\"in_flight\":%" PRIu64
             ",\"started\":%" PRIu64 ",\"confirmed\":%" PRIu64 ",\"failed\":%" PRIu64
             ",\"stuck\":%" PRIu64 ",\"retries\":%" PRIu64 ",\"bad_messages\":%" PRIu64
             ",\"ignored_replies\":%" PRIu64 ",\"overloaded\":%" PRIu64,
             stats->uptime_ms, stats->in_flight, stats->started, stats->confirmed,
             stats->failed, stats->stuck, stats->retries, stats->bad_messages,
             stats->ignored_replies, stats->overloaded);
    fprintf (out, ",\"latency_us\":{\"count\":%" PRIu64 ",\"p50\":%" PRIu64 ",\"p90\":%" PRIu64
             ",\"p99\":%" PRIu64 ",\"max\":%" PRIu64 "}", stats->latency_count,
             stats->p50_us, stats->p90_us, stats->p99_us, stats->max_us);
    if (snap->have_rate)
        fprintf (out, ",\"sagas_per_s\":%.1f,\"started_per_s\":%.1f",
                 snap->sagas_per_s, snap->started_per_s);
    fprintf (out, ",\"services\":{");
    for (int service = CK_SERVICE_NONE + 1; service < CK_SERVICE_MAX; service++) {
        const monitor_service_t *totals = &snap->services [service];
        fprintf (out, "%s\"%s\":{\"instances\":%u,\"load\":%" PRIu64 ",\"capacity\":%" PRIu64 "}",
                 service > CK_SERVICE_NONE + 1? ",": "", ck_service_name ((ck_service_t) service),
                 totals->instances, totals->load, totals->capacity);
    }
    fprintf (out, "},\"workers\":[");
    for (uint32_t i = 0; i < stats->worker_count; i++) {
        const ck_worker_load_t *worker = &stats->workers [i];
        const char *service = ck_service_name (worker->service);
        fprintf (out, "%s{\"service\":", i? ",": "");
        s_json_str (out, service? service: "?");
        fprintf (out, ",\"instance\":");
        s_json_str (out, worker->instance);
        fprintf (out, ",\"load\":%u,\"capacity\":%u}", worker->load, worker->capacity);
    }
    fprintf (out, "]");
}

static void
s_json_seen (monitor_view_t *view, int64_t now_ms, FILE *out)
{
    const monitor_snapshot_t *snap = monitor_view_snapshot (view);
    fprintf (out, ",\"failed_by_reason\":{");
    for (uint32_t i = 0; i < snap->reason_count; i++) {
        fprintf (out, "%s", i? ",": "");
        s_json_str (out, snap->reasons [i].code);
        fprintf (out, ":%" PRIu64, snap->reasons [i].count);
    }
    fprintf (out, "},\"stuck_sagas\":[");
    for (uint32_t i = 0; i < snap->stuck_count; i++) {
        fprintf (out, "%s", i? ",": "");
        s_json_str (out, snap->stuck [i]);
    }
    fprintf (out, "],\"stuck_untracked\":%" PRIu64 ",\"recent\":[", snap->stuck_untracked);
    const monitor_recent_t *recent;
    for (uint32_t i = 0; (recent = monitor_view_recent (view, i)); i++) {
        fprintf (out, "%s{\"age_ms\":%" PRId64 ",\"topic\":", i? ",": "", now_ms - recent->at_ms);
        s_json_str (out, recent->topic);
        fprintf (out, ",\"detail\":");
        s_json_str (out, recent->detail);
        fprintf (out, "}");
    }
    fprintf (out, "],\"restarts\":%" PRIu64 ",\"malformed\":%" PRIu64 ",\"events\":%" PRIu64,
             snap->restarts, snap->malformed, snap->events);
}

void
monitor_render_json (monitor_view_t *view, int64_t now_ms, FILE *out)
{
    assert (view && out);
    const monitor_snapshot_t *snap = monitor_view_snapshot (view);
    char status [96];
    monitor_render_status (view, now_ms, status, sizeof status);
    fprintf (out, "{\"coordinator\":");
    s_json_str (out, status);
    if (s_notice_shown (snap, now_ms)) {
        fprintf (out, ",\"notice\":");
        s_json_str (out, snap->notice);
    }
    if (snap->have_stats)
        s_json_stats (snap, out);
    s_json_seen (view, now_ms, out);
    fprintf (out, "}\n");
}

void
monitor_render_event (const char *topic, size_t topic_size, const void *body,
                      size_t body_size, ck_buf_t *scratch, FILE *out)
{
    assert (scratch && out && (topic || topic_size == 0));
    fprintf (out, "{\"topic\":");
    s_json_string (out, topic, topic_size);
    if (ck_body_to_json (body, body_size, scratch) == 0 && scratch->size)
        fprintf (out, ",\"body\":%.*s}\n", (int) scratch->size, scratch->data);
    else
        fprintf (out, ",\"body\":null,\"malformed\":true}\n");
}

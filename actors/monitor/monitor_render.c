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
    //  the built-in services and those a step table added, no free slot
    for (int service = CK_SERVICE_NONE + 1; service < CK_SERVICE_MAX; service++) {
        const monitor_service_t *totals = &snap->services [service];
        const char *name = ck_service_name ((ck_service_t) service);
        if (name)
            fprintf (out, "service.%s: instances=%u load=%" PRIu64 " capacity=%" PRIu64 "\n",
                     name, totals->instances, totals->load, totals->capacity);
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
        const char *name = ck_service_name ((ck_service_t) service);
        if (name)
            fprintf (out, "%s\"%s\":{\"instances\":%u,\"load\":%" PRIu64 ",\"capacity\":%"
                     PRIu64 "}", service > CK_SERVICE_NONE + 1? ",": "", name,
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

//  The object's keys without its braces
static void
s_json_body (monitor_view_t *view, int64_t now_ms, FILE *out)
{
    const monitor_snapshot_t *snap = monitor_view_snapshot (view);
    char status [96];
    monitor_render_status (view, now_ms, status, sizeof status);
    fprintf (out, "\"coordinator\":");
    s_json_str (out, status);
    if (s_notice_shown (snap, now_ms)) {
        fprintf (out, ",\"notice\":");
        s_json_str (out, snap->notice);
    }
    if (snap->have_stats)
        s_json_stats (snap, out);
    s_json_seen (view, now_ms, out);
}

void
monitor_render_json (monitor_view_t *view, int64_t now_ms, FILE *out)
{
    assert (view && out);
    fprintf (out, "{");
    s_json_body (view, now_ms, out);
    fprintf (out, "}\n");
}

void
monitor_render_event (const char *source, const char *topic, size_t topic_size,
                      const void *body, size_t body_size, ck_buf_t *scratch, FILE *out)
{
    assert (scratch && out && (topic || topic_size == 0));
    fprintf (out, "{");
    if (source) {
        fprintf (out, "\"from\":");
        s_json_str (out, source);
        fprintf (out, ",");
    }
    fprintf (out, "\"topic\":");
    s_json_string (out, topic, topic_size);
    if (ck_body_to_json (body, body_size, scratch) == 0 && scratch->size)
        fprintf (out, ",\"body\":%.*s}\n", (int) scratch->size, scratch->data);
    else
        fprintf (out, ",\"body\":null,\"malformed\":true}\n");
}

//  -------------------------------------------------------------------------
//  Several coordinators

#define WARNINGS_MAX    (MONITOR_OVERLAPS_MAX + 3)
#define WARNING_SIZE    (2 * MONITOR_RANGES_SIZE + 2 * CK_TEXT_SIZE)

//  The partitions' warnings as text lines; returns how many
static int
s_warnings (monitor_group_t *group, const monitor_partitions_t *summary,
            char warnings [WARNINGS_MAX][WARNING_SIZE])
{
    int count = 0;
    if (summary->counts_differ)
        snprintf (warnings [count++], WARNING_SIZE,
                  "coordinators disagree on the partition count (up to %u)", summary->count);
    if (summary->unowned)
        snprintf (warnings [count++], WARNING_SIZE, "partitions %s unowned (%u of %u)",
                  summary->unowned_ranges, summary->unowned, summary->count);
    for (uint32_t i = 0; i < summary->overlap_count; i++) {
        const monitor_overlap_t *overlap = &summary->overlaps [i];
        //  names are borrowed from one buffer per coordinator: copy the first
        char first [CK_TEXT_SIZE];
        snprintf (first, sizeof first, "%s", monitor_group_name (group, overlap->first));
        snprintf (warnings [count++], WARNING_SIZE,
                  "partitions %s claimed by both %s and %s (%u)", overlap->ranges, first,
                  monitor_group_name (group, overlap->second), overlap->count);
    }
    if (summary->overlaps_untold)
        snprintf (warnings [count++], WARNING_SIZE,
                  "and %u more pairs of coordinators claim the same partitions",
                  summary->overlaps_untold);
    return count;
}

//  "c1 owns 0-21 (22/64)", or why not
static void
s_ownership (const char *name, const ck_ev_stats_t *stats, char *text, size_t size)
{
    uint8_t owned [CK_MAX_PARTITIONS];
    int count = monitor_partitions_parse (stats->partitions, stats->partition_count, owned);
    if (count < 0)
        snprintf (text, size, "%s reports partitions that are not ranges of 0..%u", name,
                  stats->partition_count - 1);
    else
    if (count == 0)
        snprintf (text, size, "%s owns none (0/%u)", name, stats->partition_count);
    else
        snprintf (text, size, "%s owns %s (%d/%u)", name, stats->partitions, count,
                  stats->partition_count);
}

static void
s_text_coordinator (monitor_group_t *group, size_t index, int64_t now_ms, FILE *out)
{
    monitor_view_t *view = monitor_group_view (group, index);
    const monitor_snapshot_t *snap = monitor_view_snapshot (view);
    const char *name = monitor_group_name (group, index);
    char status [96];
    monitor_render_status (view, now_ms, status, sizeof status);
    fprintf (out, "coordinator.%s: %s;", name, status);
    if (snap->have_stats) {
        fprintf (out, " in_flight=%" PRIu64, snap->stats.in_flight);
        if (snap->have_rate)
            fprintf (out, " sagas_per_s=%.1f started_per_s=%.1f", snap->sagas_per_s,
                     snap->started_per_s);
        else
            fprintf (out, " sagas_per_s=- started_per_s=-");
        fprintf (out, " started=%" PRIu64 " confirmed=%" PRIu64 " failed=%" PRIu64 ";",
                 snap->stats.started, snap->stats.confirmed, snap->stats.failed);
    }
    fprintf (out, " events=%s\n", monitor_group_endpoint (group, index));
    if (snap->have_stats && snap->stats.partition_count) {
        char text [CK_TEXT_SIZE * 2 + 64];
        s_ownership (name, &snap->stats, text, sizeof text);
        fprintf (out, "partitions.%s: %s\n", name, text);
    }
}

void
monitor_render_group_text (monitor_group_t *group, int64_t now_ms, FILE *out)
{
    assert (group && out);
    if (!monitor_group_plural (group)) {
        monitor_render_text (monitor_group_view (group, 0), now_ms, out);
        return;
    }
    size_t size = monitor_group_size (group), connected = 0;
    for (size_t i = 0; i < size; i++)
        connected += monitor_view_status (monitor_group_view (group, i), now_ms)
                  == MONITOR_CONNECTED;
    fprintf (out, "coordinators: %zu (%zu connected)\n", size, connected);
    for (size_t i = 0; i < size; i++)
        s_text_coordinator (group, i, now_ms, out);
    monitor_partitions_t summary;
    monitor_group_partitions (group, now_ms, &summary);
    if (summary.count)
        fprintf (out, "partitions: %u of %u owned by %u coordinator%s\n", summary.owned,
                 summary.count, summary.reporting, summary.reporting == 1? "": "s");
    char warnings [WARNINGS_MAX][WARNING_SIZE];
    int count = s_warnings (group, &summary, warnings);
    for (int i = 0; i < count; i++)
        fprintf (out, "warning: %s\n", warnings [i]);
    monitor_render_text (monitor_group_merged (group), now_ms, out);
}

static void
s_json_coordinator (monitor_group_t *group, size_t index, int64_t now_ms, FILE *out)
{
    monitor_view_t *view = monitor_group_view (group, index);
    const monitor_snapshot_t *snap = monitor_view_snapshot (view);
    char status [96];
    monitor_render_status (view, now_ms, status, sizeof status);
    fprintf (out, "%s{\"name\":", index? ",": "");
    s_json_str (out, monitor_group_name (group, index));
    fprintf (out, ",\"events\":");
    s_json_str (out, monitor_group_endpoint (group, index));
    fprintf (out, ",\"status\":");
    s_json_str (out, status);
    if (snap->have_stats) {
        const ck_ev_stats_t *stats = &snap->stats;
        fprintf (out, ",\"in_flight\":%" PRIu64 ",\"started\":%" PRIu64 ",\"confirmed\":%"
                 PRIu64 ",\"failed\":%" PRIu64, stats->in_flight, stats->started,
                 stats->confirmed, stats->failed);
        if (snap->have_rate)
            fprintf (out, ",\"sagas_per_s\":%.1f,\"started_per_s\":%.1f", snap->sagas_per_s,
                     snap->started_per_s);
        uint8_t owned [CK_MAX_PARTITIONS];
        int count = stats->partition_count?
            monitor_partitions_parse (stats->partitions, stats->partition_count, owned): -1;
        if (stats->partition_count) {
            fprintf (out, ",\"partition_count\":%u,\"partitions\":", stats->partition_count);
            s_json_str (out, stats->partitions);
            if (count >= 0)
                fprintf (out, ",\"owned\":%d", count);
        }
    }
    fprintf (out, "}");
}

void
monitor_render_group_json (monitor_group_t *group, int64_t now_ms, FILE *out)
{
    assert (group && out);
    if (!monitor_group_plural (group)) {
        monitor_render_json (monitor_group_view (group, 0), now_ms, out);
        return;
    }
    fprintf (out, "{\"coordinators\":[");
    for (size_t i = 0; i < monitor_group_size (group); i++)
        s_json_coordinator (group, i, now_ms, out);
    monitor_partitions_t summary;
    monitor_group_partitions (group, now_ms, &summary);
    fprintf (out, "],\"partitions\":{\"count\":%u,\"owned\":%u,\"unowned\":%u,"
             "\"unowned_ranges\":", summary.count, summary.owned, summary.unowned);
    s_json_str (out, summary.unowned_ranges);
    fprintf (out, ",\"overlaps\":[");
    for (uint32_t i = 0; i < summary.overlap_count; i++) {
        const monitor_overlap_t *overlap = &summary.overlaps [i];
        fprintf (out, "%s{\"coordinators\":[", i? ",": "");
        s_json_str (out, monitor_group_name (group, overlap->first));
        fprintf (out, ",");
        s_json_str (out, monitor_group_name (group, overlap->second));
        fprintf (out, "],\"count\":%u,\"partitions\":", overlap->count);
        s_json_str (out, overlap->ranges);
        fprintf (out, "}");
    }
    fprintf (out, "]},\"warnings\":[");
    char warnings [WARNINGS_MAX][WARNING_SIZE];
    int count = s_warnings (group, &summary, warnings);
    for (int i = 0; i < count; i++) {
        fprintf (out, "%s", i? ",": "");
        s_json_str (out, warnings [i]);
    }
    fprintf (out, "],");
    s_json_body (monitor_group_merged (group), now_ms, out);
    fprintf (out, "}\n");
}

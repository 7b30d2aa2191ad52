/*  monitor_view.c - the monitor's view model of the coordinator's events
    Folds decoded events into a bounded snapshot; pure, the clock is injected.
*/
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "checkout/codec.h"
#include "monitor_view.h"

struct _monitor_view_t {
    monitor_snapshot_t snap;
};

monitor_view_t *
monitor_view_new (void)
{
    return (monitor_view_t *) calloc (1, sizeof (monitor_view_t));
}

void
monitor_view_destroy (monitor_view_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}

const monitor_snapshot_t *
monitor_view_snapshot (monitor_view_t *self)
{
    assert (self);
    return &self->snap;
}

//  Copies at most size-1 bytes of text, replacing what would garble a
//  terminal line (controls, non-ASCII) with '?'
static void
s_copy_printable (char *dest, size_t size, const char *text, size_t len)
{
    size_t at = 0;
    for (size_t i = 0; i < len && at + 1 < size; i++) {
        unsigned char c = (unsigned char) text [i];
        dest [at++] = c >= 0x20 && c < 0x7f? (char) c: '?';
    }
    dest [at] = 0;
}

//  -------------------------------------------------------------------------
//  stats

static void
s_services (monitor_snapshot_t *snap)
{
    memset (snap->services, 0, sizeof snap->services);
    for (uint32_t i = 0; i < snap->stats.worker_count; i++) {
        const ck_worker_load_t *worker = &snap->stats.workers [i];
        if (worker->service <= CK_SERVICE_NONE || worker->service >= CK_SERVICE_MAX)
            continue;
        monitor_service_t *service = &snap->services [worker->service];
        service->instances++;
        service->load += worker->load;
        service->capacity += worker->capacity;
    }
}

//  Rates from the counters' deltas over the coordinator's own uptime, so
//  that a dropped stats event (PUB drops for slow subscribers) does not
//  skew them.  Without a comparable previous sample there is no rate.
static void
s_rates (monitor_snapshot_t *snap, const ck_ev_stats_t *prev, const ck_ev_stats_t *next,
         bool restarted)
{
    if (!snap->have_stats || restarted || next->uptime_ms <= prev->uptime_ms) {
        if (restarted)
            snap->have_rate = false;
        return;
    }
    double seconds = (double) (next->uptime_ms - prev->uptime_ms) / 1000.0;
    uint64_t ended_prev = prev->confirmed + prev->failed;
    uint64_t ended_next = next->confirmed + next->failed;
    snap->sagas_per_s = (double) (ended_next - ended_prev) / seconds;
    snap->started_per_s = (double) (next->started - prev->started) / seconds;
    snap->have_rate = true;
}

static void
s_notice (monitor_snapshot_t *snap, int64_t now_ms, const char *text)
{
    snprintf (snap->notice, sizeof snap->notice, "%s", text);
    snap->notice_ms = now_ms;
    snap->notice_seq++;
}

void
monitor_view_on_stats (monitor_view_t *self, const ck_ev_stats_t *stats, int64_t now_ms)
{
    assert (self && stats);
    monitor_snapshot_t *snap = &self->snap;
    const ck_ev_stats_t *prev = &snap->stats;
    //  Counters only grow within one coordinator process: any going down
    //  means a new process (a restart), whatever the silence before it
    bool restarted = snap->have_stats
        && (stats->uptime_ms < prev->uptime_ms || stats->started < prev->started
            || stats->confirmed < prev->confirmed || stats->failed < prev->failed);
    bool back = snap->have_stats && (restarted || now_ms - snap->stats_ms > MONITOR_SILENT_MS);
    s_rates (snap, prev, stats, restarted);
    if (back) {
        char text [MONITOR_NOTICE_SIZE];
        snprintf (text, sizeof text, "coordinator back (uptime %.1f s)%s",
                  (double) stats->uptime_ms / 1000.0, restarted? ": restarted": "");
        s_notice (snap, now_ms, text);
    }
    if (restarted)
        snap->restarts++;
    snap->stats = *stats;
    snap->have_stats = true;
    snap->stats_ms = now_ms;
    s_services (snap);
}

monitor_status_t
monitor_view_status (monitor_view_t *self, int64_t now_ms)
{
    assert (self);
    if (!self->snap.have_stats)
        return MONITOR_WAITING;
    return now_ms - self->snap.stats_ms > MONITOR_SILENT_MS? MONITOR_SILENT: MONITOR_CONNECTED;
}

//  -------------------------------------------------------------------------
//  saga outcomes: failures by reason, stuck sagas

static monitor_reason_t *
s_reason_slot (monitor_snapshot_t *snap, const char *code)
{
    for (uint32_t i = 0; i < snap->reason_count; i++)
        if (strcmp (snap->reasons [i].code, code) == 0)
            return &snap->reasons [i];
    //  The last slot is kept for "other", so a peer inventing codes
    //  can't grow the table
    if (snap->reason_count + 1 < MONITOR_REASONS_MAX || strcmp (code, "other") == 0) {
        monitor_reason_t *slot = &snap->reasons [snap->reason_count++];
        snprintf (slot->code, sizeof slot->code, "%s", code);
        return slot;
    }
    return s_reason_slot (snap, "other");
}

static int
s_stuck_index (const monitor_snapshot_t *snap, const char *saga_id)
{
    for (uint32_t i = 0; i < snap->stuck_count; i++)
        if (strcmp (snap->stuck [i], saga_id) == 0)
            return (int) i;
    return -1;
}

static void
s_stuck_add (monitor_snapshot_t *snap, const char *saga_id)
{
    if (s_stuck_index (snap, saga_id) >= 0)
        return;
    if (snap->stuck_count == MONITOR_STUCK_MAX) {
        snap->stuck_untracked++;
        return;
    }
    snprintf (snap->stuck [snap->stuck_count++], CK_ID_SIZE, "%s", saga_id);
}

static void
s_stuck_remove (monitor_snapshot_t *snap, const char *saga_id)
{
    int index = snap->stuck_count? s_stuck_index (snap, saga_id): -1;
    if (index < 0)
        return;
    uint32_t after = snap->stuck_count - (uint32_t) index - 1;
    memmove (snap->stuck [index], snap->stuck [index + 1], (size_t) after * CK_ID_SIZE);
    snap->stuck_count--;
}

void
monitor_view_on_outcome (monitor_view_t *self, ck_event_kind_t kind, const ck_ev_outcome_t *event)
{
    assert (self && event);
    assert (kind == CK_EVENT_SAGA_CONFIRMED || kind == CK_EVENT_SAGA_FAILED
         || kind == CK_EVENT_SAGA_STUCK);
    monitor_snapshot_t *snap = &self->snap;
    if (kind == CK_EVENT_SAGA_STUCK) {
        s_stuck_add (snap, event->saga_id);
        return;
    }
    s_stuck_remove (snap, event->saga_id);
    if (kind == CK_EVENT_SAGA_FAILED)
        s_reason_slot (snap, *event->reason.code? event->reason.code: "none")->count++;
}

uint64_t
monitor_view_failed_by (monitor_view_t *self, const char *code)
{
    assert (self && code);
    for (uint32_t i = 0; i < self->snap.reason_count; i++)
        if (strcmp (self->snap.reasons [i].code, code) == 0)
            return self->snap.reasons [i].count;
    return 0;
}

bool
monitor_view_is_stuck (monitor_view_t *self, const char *saga_id)
{
    assert (self && saga_id);
    return s_stuck_index (&self->snap, saga_id) >= 0;
}

//  -------------------------------------------------------------------------
//  recent socket and worker events, a ring

static void
s_recent_push (monitor_snapshot_t *snap, int64_t now_ms, const char *topic, const char *detail)
{
    monitor_recent_t *entry = &snap->recent [snap->recent_next];
    entry->at_ms = now_ms;
    s_copy_printable (entry->topic, sizeof entry->topic, topic, strlen (topic));
    s_copy_printable (entry->detail, sizeof entry->detail, detail, strlen (detail));
    snap->recent_next = (snap->recent_next + 1) % MONITOR_RECENT_MAX;
    if (snap->recent_count < MONITOR_RECENT_MAX)
        snap->recent_count++;
}

const monitor_recent_t *
monitor_view_recent (monitor_view_t *self, uint32_t index)
{
    assert (self);
    const monitor_snapshot_t *snap = &self->snap;
    if (index >= snap->recent_count)
        return NULL;
    uint32_t oldest = (snap->recent_next + MONITOR_RECENT_MAX - snap->recent_count)
                    % MONITOR_RECENT_MAX;
    return &snap->recent [(oldest + index) % MONITOR_RECENT_MAX];
}

void
monitor_view_on_worker (monitor_view_t *self, ck_event_kind_t kind, const ck_ev_worker_t *event,
                        int64_t now_ms)
{
    assert (self && event);
    assert (kind == CK_EVENT_WORKER_JOINED || kind == CK_EVENT_WORKER_LOST);
    const char *service = ck_service_name (event->service);
    char detail [MONITOR_DETAIL_SIZE];
    if (event->capacity)
        snprintf (detail, sizeof detail, "%s %s capacity=%u", service? service: "?",
                  event->instance, event->capacity);
    else
        snprintf (detail, sizeof detail, "%s %s", service? service: "?", event->instance);
    s_recent_push (&self->snap, now_ms, ck_event_topic (kind), detail);
}

void
monitor_view_on_socket (monitor_view_t *self, const char *topic, const ck_ev_socket_t *event,
                        int64_t now_ms)
{
    assert (self && topic && event);
    //  Every accepted connection also brings a HANDSHAKE_SUCCEEDED: it
    //  would push the connects and failures out of the short list
    if (strcmp (event->event, "HANDSHAKE_SUCCEEDED") == 0
    ||  strcmp (event->event, "MONITOR_STOPPED") == 0)
        return;
    char detail [MONITOR_DETAIL_SIZE];
    snprintf (detail, sizeof detail, "%s %s", event->socket, event->endpoint);
    s_recent_push (&self->snap, now_ms, topic, detail);
}

//  -------------------------------------------------------------------------
//  raw events

void
monitor_view_malformed (monitor_view_t *self, const char *why)
{
    assert (self && why);
    self->snap.malformed++;
    s_copy_printable (self->snap.malformed_last, sizeof self->snap.malformed_last,
                      why, strlen (why));
}

static int
s_decode (ck_event_kind_t kind, const char *topic, const void *body, size_t size,
          int64_t now_ms, monitor_view_t *self, ck_decode_error_t *err)
{
    union {
        ck_ev_started_t started;
        ck_ev_step_t step;
        ck_ev_compensating_t compensating;
        ck_ev_outcome_t outcome;
        ck_ev_worker_t worker;
        ck_ev_socket_t socket;
        ck_ev_stats_t stats;
        ck_ev_operator_t operator_;
        ck_ev_security_t security;
    } ev;
    switch (kind) {
        case CK_EVENT_SAGA_STARTED:
            return ck_decode_ev_started (body, size, &ev.started, err);
        case CK_EVENT_SAGA_STEP:
            return ck_decode_ev_step (body, size, &ev.step, err);
        case CK_EVENT_SAGA_COMPENSATING:
            return ck_decode_ev_compensating (body, size, &ev.compensating, err);
        case CK_EVENT_SAGA_CONFIRMED:
        case CK_EVENT_SAGA_FAILED:
        case CK_EVENT_SAGA_STUCK:
            if (ck_decode_ev_outcome (body, size, &ev.outcome, err))
                return -1;
            monitor_view_on_outcome (self, kind, &ev.outcome);
            return 0;
        case CK_EVENT_WORKER_JOINED:
        case CK_EVENT_WORKER_LOST:
            if (ck_decode_ev_worker (body, size, &ev.worker, err))
                return -1;
            monitor_view_on_worker (self, kind, &ev.worker, now_ms);
            return 0;
        case CK_EVENT_SOCKET:
            if (ck_decode_ev_socket (body, size, &ev.socket, err))
                return -1;
            monitor_view_on_socket (self, topic, &ev.socket, now_ms);
            return 0;
        case CK_EVENT_STATS:
            if (ck_decode_ev_stats (body, size, &ev.stats, err))
                return -1;
            monitor_view_on_stats (self, &ev.stats, now_ms);
            return 0;
        case CK_EVENT_SAGA_RETRIED:
        case CK_EVENT_SAGA_CANCELLED:
            //  counted by kind like every event; the saga's own events follow
            return ck_decode_ev_operator (body, size, &ev.operator_, err);
        case CK_EVENT_SECURITY_REFUSED:     //  counted by kind; the log names the key
            return ck_decode_ev_security (body, size, &ev.security, err);
        default:
            return -1;
    }
}

ck_event_kind_t
monitor_view_apply (monitor_view_t *self, const char *topic, size_t topic_size,
                    const void *body, size_t body_size, int64_t now_ms)
{
    assert (self && (topic || topic_size == 0) && (body || body_size == 0));
    char name [MONITOR_TOPIC_SIZE];
    s_copy_printable (name, sizeof name, topic, topic_size);
    ck_event_kind_t kind = topic_size? ck_event_lookup (topic, topic_size): CK_EVENT_NONE;
    char why [CK_TEXT_SIZE];
    if (kind == CK_EVENT_NONE) {
        snprintf (why, sizeof why, "unknown topic '%s'", name);
        monitor_view_malformed (self, why);
        return CK_EVENT_NONE;
    }
    ck_decode_error_t err = { 0 };
    if (s_decode (kind, name, body, body_size, now_ms, self, &err)) {
        snprintf (why, sizeof why, "%s: %.200s", name, err.message);
        monitor_view_malformed (self, why);
        return CK_EVENT_NONE;
    }
    self->snap.events++;
    self->snap.by_kind [kind]++;
    return kind;
}

//  -------------------------------------------------------------------------
//  several coordinators shown as one

static void
s_merge_stats (monitor_snapshot_t *snap, const monitor_snapshot_t *other)
{
    ck_ev_stats_t *sum = &snap->stats;
    const ck_ev_stats_t *add = &other->stats;
    if (!snap->have_stats || other->stats_ms < snap->stats_ms)
        snap->stats_ms = other->stats_ms;
    snap->have_stats = true;
    //  uptime and latency do not add up: the longest and the worst
    sum->uptime_ms = add->uptime_ms > sum->uptime_ms? add->uptime_ms: sum->uptime_ms;
    sum->p50_us = add->p50_us > sum->p50_us? add->p50_us: sum->p50_us;
    sum->p90_us = add->p90_us > sum->p90_us? add->p90_us: sum->p90_us;
    sum->p99_us = add->p99_us > sum->p99_us? add->p99_us: sum->p99_us;
    sum->max_us = add->max_us > sum->max_us? add->max_us: sum->max_us;
    sum->started += add->started;
    sum->confirmed += add->confirmed;
    sum->failed += add->failed;
    sum->stuck += add->stuck;
    sum->bad_messages += add->bad_messages;
    sum->retries += add->retries;
    sum->ignored_replies += add->ignored_replies;
    sum->overloaded += add->overloaded;
    sum->dropped += add->dropped;
    sum->refused += add->refused;
    sum->in_flight += add->in_flight;
    sum->latency_count += add->latency_count;
    //  every participant serves every coordinator: one worker, its loads summed
    for (uint32_t i = 0; i < add->worker_count; i++) {
        const ck_worker_load_t *worker = &add->workers [i];
        uint32_t at = 0;
        while (at < sum->worker_count
           && (sum->workers [at].service != worker->service
            || strcmp (sum->workers [at].instance, worker->instance) != 0))
            at++;
        if (at < sum->worker_count) {
            sum->workers [at].load += worker->load;
            if (worker->capacity > sum->workers [at].capacity)
                sum->workers [at].capacity = worker->capacity;
        }
        else
        if (sum->worker_count < CK_MAX_WORKERS)
            sum->workers [sum->worker_count++] = *worker;
    }
    s_services (snap);
    if (other->have_rate) {
        snap->sagas_per_s += other->sagas_per_s;
        snap->started_per_s += other->started_per_s;
        snap->have_rate = true;
    }
}

//  The recent events of both, oldest first, the newest MONITOR_RECENT_MAX kept
static void
s_merge_recent (monitor_view_t *self, monitor_view_t *other)
{
    monitor_recent_t all [2 * MONITOR_RECENT_MAX];
    uint32_t count = 0;
    const monitor_recent_t *entry;
    for (uint32_t i = 0; (entry = monitor_view_recent (self, i)); i++)
        all [count++] = *entry;
    for (uint32_t i = 0; (entry = monitor_view_recent (other, i)); i++) {
        //  insertion by time keeps each side's order
        uint32_t at = count;
        while (at > 0 && all [at - 1].at_ms > entry->at_ms) {
            all [at] = all [at - 1];
            at--;
        }
        all [at] = *entry;
        count++;
    }
    monitor_snapshot_t *snap = &self->snap;
    snap->recent_count = 0;
    snap->recent_next = 0;
    for (uint32_t i = count > MONITOR_RECENT_MAX? count - MONITOR_RECENT_MAX: 0; i < count; i++)
        s_recent_push (snap, all [i].at_ms, all [i].topic, all [i].detail);
}

void
monitor_view_merge (monitor_view_t *self, monitor_view_t *other, const char *name)
{
    assert (self && other && self != other);
    monitor_snapshot_t *snap = &self->snap;
    const monitor_snapshot_t *add = &other->snap;
    if (add->have_stats)
        s_merge_stats (snap, add);
    snap->restarts += add->restarts;
    if (add->notice_seq && (!snap->notice_seq || add->notice_ms >= snap->notice_ms)) {
        char text [MONITOR_NOTICE_SIZE + CK_TEXT_SIZE];
        snprintf (text, sizeof text, "%s%s%s", name? name: "", name? ": ": "", add->notice);
        s_copy_printable (snap->notice, sizeof snap->notice, text, strlen (text));
        snap->notice_ms = add->notice_ms;
    }
    snap->notice_seq += add->notice_seq;
    snap->events += add->events;
    for (int kind = 0; kind < CK_EVENT_COUNT; kind++)
        snap->by_kind [kind] += add->by_kind [kind];
    if (add->malformed)
        memcpy (snap->malformed_last, add->malformed_last, sizeof snap->malformed_last);
    snap->malformed += add->malformed;
    for (uint32_t i = 0; i < add->reason_count; i++)
        s_reason_slot (snap, add->reasons [i].code)->count += add->reasons [i].count;
    for (uint32_t i = 0; i < add->stuck_count; i++)
        s_stuck_add (snap, add->stuck [i]);
    snap->stuck_untracked += add->stuck_untracked;
    s_merge_recent (self, other);
}

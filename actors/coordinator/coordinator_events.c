/*  coordinator_events.c - what the coordinator tells observers (events PUB)
    Saga and worker events, the sockets' monitor events, stats once a second.

    Events are best effort (design: everything but the saga log may drop):
    a PUB socket never blocks its sender, it drops for a slow subscriber.
    The frontend's monitor is conn_guard, which also limits the frontend's
    and the events socket's connections and reports what it refused.
*/
#include <ctype.h>
#include <malloc.h>
#include "conn_guard.h"
#include "coordinator_internal.h"

static void
s_send (self_t *self, const char *topic)
{
    zmq_send (zsock_resolve (self->events), topic, strlen (topic), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send (zsock_resolve (self->events), self->body.data, self->body.size, ZMQ_DONTWAIT);
}

void
events_publish (self_t *self, const saga_action_t *action)
{
    ck_event_kind_t kind = action->publish.kind;
    int rc = -1;
    switch (kind) {
        case CK_EVENT_SAGA_STARTED:
            rc = ck_encode_ev_started (&action->publish.started, &self->body);
            break;
        case CK_EVENT_SAGA_STEP:
            rc = ck_encode_ev_step (&action->publish.step, &self->body);
            break;
        case CK_EVENT_SAGA_COMPENSATING:
            rc = ck_encode_ev_compensating (&action->publish.compensating, &self->body);
            break;
        case CK_EVENT_SAGA_CONFIRMED:
        case CK_EVENT_SAGA_FAILED:
        case CK_EVENT_SAGA_STUCK:
            rc = ck_encode_ev_outcome (&action->publish.outcome, &self->body);
            break;
        default:
            break;
    }
    if (rc == 0)
        s_send (self, ck_event_topic (kind));
}

void
events_worker (self_t *self, ck_event_kind_t kind, const dispatcher_worker_t *worker)
{
    ck_ev_worker_t event = { .service = worker->service };
    memcpy (event.instance, worker->instance, CK_ID_SIZE);
    if (kind == CK_EVENT_WORKER_JOINED)
        event.capacity = worker->capacity;
    if (ck_encode_ev_worker (&event, &self->body) == 0)
        s_send (self, ck_event_topic (kind));
}

static zactor_t *
s_monitor_new (zsock_t *sock)
{
    zactor_t *monitor = zactor_new (zmonitor, sock);
    if (!monitor)
        return NULL;
    zstr_sendx (monitor, "LISTEN", "ALL", NULL);
    zstr_sendx (monitor, "START", NULL);
    zsock_wait (monitor);
    return monitor;
}

//  The guard on the frontend (its monitor events forwarded, as zmonitor's)
//  and on the events socket.  The backend's peers are our participants: it
//  keeps a plain monitor.
static zactor_t *
s_guard_new (self_t *self)
{
    conn_guard_args_t args = { .count = 2 };
    args.watches [0] = (conn_watch_t) { self->frontend, "frontend", MAX_CLIENTS, true };
    args.watches [1] = (conn_watch_t) { self->events, "events", MAX_SUBSCRIBERS, false };
    return zactor_new (conn_guard, &args);
}

int
events_start (self_t *self)
{
    self->frontend_monitor = s_guard_new (self);
    self->backend_monitor = s_monitor_new (self->backend);
    return self->frontend_monitor && self->backend_monitor? 0: -1;
}

void
events_stop (self_t *self)
{
    //  monitors go before the sockets they watch
    zactor_destroy (&self->frontend_monitor);
    zactor_destroy (&self->backend_monitor);
}

//  The guard's report: [REFUSED, refused since the start, socket, open]
static void
s_refused (self_t *self, const char *count, const char *socket_name, const char *open)
{
    uint64_t refused = strtoull (count, NULL, 10);
    if (streq (socket_name, "frontend"))
        self->counters.refused = refused;
    log_limit_warning ("coordinator: %s refuses connections past its limit: "
                       "refused=%s open=%s limit=%d", socket_name, count, open,
                       streq (socket_name, "frontend")? MAX_CLIENTS: MAX_SUBSCRIBERS);
}

//  Republishes one event of a socket's monitor as socket.<event>; the
//  guard's REFUSED is logged, and published as socket.refused
void
events_monitor (self_t *self, zactor_t *monitor, const char *socket_name)
{
    char *event = NULL, *value = NULL, *endpoint = NULL, *extra = NULL;
    if (zstr_recvx (monitor, &event, &value, &endpoint, &extra, NULL) < 0 || !event) {
        zstr_free (&event);
        return;
    }
    if (streq (event, "REFUSED") && value && endpoint && extra) {
        s_refused (self, value, endpoint, extra);
        //  the socket that refused, named in endpoint's place: say where
        bool frontend = streq (endpoint, "frontend");
        socket_name = frontend? "frontend": "events";
        zstr_free (&endpoint);
        endpoint = strdup (frontend? self->config.frontend: self->config.events);
    }
    //  a client whose queue filled up has gone: its queue is freed now
    if (streq (event, "DISCONNECTED") && streq (socket_name, "frontend")
    &&  self->counters.dropped != self->trimmed_dropped)
        self->trim_due = true;
    ck_ev_socket_t body = { 0 };
    snprintf (body.socket, sizeof body.socket, "%s", socket_name);
    snprintf (body.endpoint, sizeof body.endpoint, "%s", endpoint? endpoint: "");
    snprintf (body.event, sizeof body.event, "%s", event);
    char topic [CK_NAME_SIZE + 8] = "socket.";
    size_t at = strlen (topic);
    for (const char *c = event; *c && at < sizeof topic - 1; c++)
        topic [at++] = (char) tolower ((unsigned char) *c);
    topic [at] = 0;
    if (ck_encode_ev_socket (&body, &self->body) == 0)
        s_send (self, topic);
    zstr_free (&event);
    zstr_free (&value);
    zstr_free (&endpoint);
    zstr_free (&extra);
}

static void
s_stats_worker (void *arg, dispatcher_worker_t *worker)
{
    ck_ev_stats_t *stats = (ck_ev_stats_t *) arg;
    if (stats->worker_count == CK_MAX_WORKERS)
        return;
    ck_worker_load_t *load = &stats->workers [stats->worker_count++];
    load->service = worker->service;
    memcpy (load->instance, worker->instance, CK_ID_SIZE);
    load->capacity = worker->capacity;
    load->load = worker->load;
}

void
events_stats (self_t *self)
{
    ck_ev_stats_t stats = { 0 };
    counters_t *counters = &self->counters;
    stats.uptime_ms = ((uint64_t) zclock_usecs () - self->started_us) / 1000;
    stats.started = counters->started;
    stats.confirmed = counters->confirmed;
    stats.failed = counters->failed;
    stats.stuck = counters->stuck;
    stats.bad_messages = counters->bad_messages;
    stats.retries = counters->retries;
    stats.ignored_replies = counters->ignored_replies;
    stats.overloaded = counters->overloaded;
    stats.in_flight = zhashx_size (self->by_saga);
    stats.latency_count = histogram_count (self->latency);
    stats.p50_us = histogram_percentile (self->latency, 50);
    stats.p90_us = histogram_percentile (self->latency, 90);
    stats.p99_us = histogram_percentile (self->latency, 99);
    stats.max_us = histogram_max (self->latency);
    histogram_reset (self->latency);
    dispatcher_each (self->dispatcher, s_stats_worker, &stats);
    if (ck_encode_ev_stats (&stats, &self->body) == 0)
        s_send (self, ck_event_topic (CK_EVENT_STATS));
    //  Once clients whose queues filled up are gone, what those held goes
    //  back to the system: glibc keeps freed memory in its arenas (the I/O
    //  thread's too) unless asked; RSS then falls back near where it
    //  started.  Only then: a trim walks the heap (under valgrind it took
    //  over a second, long enough for participants to think us dead)
    if (self->trim_due) {
        self->trim_due = false;
        malloc_trim (0);
        self->trimmed_dropped = self->counters.dropped;
    }
    log_limit_flush (false);
    if (self->config.verbose)
        zsys_debug ("coordinator: stats in_flight=%llu confirmed=%llu failed=%llu",
                    (unsigned long long) stats.in_flight, (unsigned long long) stats.confirmed,
                    (unsigned long long) stats.failed);
}

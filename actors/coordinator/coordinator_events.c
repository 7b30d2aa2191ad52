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
#include "saga_totals.h"

//  Events per subscriber: a subscriber that does not read loses events
//  past this (PUB drops), and MAX_SUBSCRIBERS bounds how many there are
#define EVENTS_SNDHWM   10000
#define STATS_IVL_MS    1000

struct _events_t {
    core_t *core;
    zsock_t *socket;                    //  PUB, bound
    zactor_t *guard;                    //  conn_guard: the frontend's monitor too
    zactor_t *backend_monitor;
    histogram_t *latency;               //  sagas ended since the last stats
    saga_totals_t *totals;              //  sagas ended since the start
    ck_buf_t body;                      //  scratch encode buffer
    int64_t next_stats_ms;
    bool trim_due;                      //  full queues closed: give memory back
    uint64_t trimmed_dropped;           //  counters.dropped at the last trim
};

static void
s_send (events_t *self, const char *topic)
{
    zmq_send (zsock_resolve (self->socket), topic, strlen (topic), ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send (zsock_resolve (self->socket), self->body.data, self->body.size, ZMQ_DONTWAIT);
}

void
events_publish (events_t *self, const saga_action_t *action)
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
        case CK_EVENT_SAGA_RETRIED:
        case CK_EVENT_SAGA_CANCELLED:
            rc = ck_encode_ev_operator (&action->publish.operator_, &self->body);
            break;
        default:
            break;
    }
    if (rc == 0)
        s_send (self, ck_event_topic (kind));
}

void
events_worker (events_t *self, ck_event_kind_t kind, const dispatcher_worker_t *worker)
{
    ck_ev_worker_t event = { .service = worker->service };
    memcpy (event.instance, worker->instance, CK_ID_SIZE);
    if (kind == CK_EVENT_WORKER_JOINED)
        event.capacity = worker->capacity;
    if (ck_encode_ev_worker (&event, &self->body) == 0)
        s_send (self, ck_event_topic (kind));
}

void
events_refused (events_t *self, const char *key, const char *socket_name, const char *command,
                const char *role, const char *instance, const char *reason)
{
    log_limit_warning ("coordinator: security refused socket=%s key=%s command=%s role=%s"
                       "%s%s: %s", socket_name, *key? key: "-", command, role,
                       instance? " instance=": "", instance? instance: "", reason);
    ck_ev_security_t event = { .key = "" };
    snprintf (event.key, sizeof event.key, "%s", *key? key: "-");
    snprintf (event.socket, sizeof event.socket, "%s", socket_name);
    snprintf (event.command, sizeof event.command, "%s", command);
    snprintf (event.role, sizeof event.role, "%s", role);
    snprintf (event.instance, sizeof event.instance, "%s", instance? instance: "");
    snprintf (event.reason, sizeof event.reason, "%s", reason);
    if (ck_encode_ev_security (&event, &self->body) == 0)
        s_send (self, ck_event_topic (CK_EVENT_SECURITY_REFUSED));
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
//  keeps a plain monitor, and the guard checks only its peers' keys.
static zactor_t *
s_guard_new (events_t *self, zsock_t *frontend)
{
    conn_guard_args_t args = { .count = 3, .allow = self->core->config.curve_allow };
    args.watches [0] = (conn_watch_t) { frontend, "frontend", MAX_CLIENTS, true,
                                        FRONTEND_ROLES };
    args.watches [1] = (conn_watch_t) { self->socket, "events", MAX_SUBSCRIBERS, false,
                                        "monitor" };
    //  the backend's keys only: its monitor is a plain one
    args.watches [2] = (conn_watch_t) { NULL, "backend", 0, false, "*" };
    return zactor_new (conn_guard, &args);
}

events_t *
events_new (core_t *core, zsock_t *frontend, zsock_t *backend)
{
    events_t *self = (events_t *) zmalloc (sizeof (events_t));
    self->core = core;
    self->latency = histogram_new ();
    self->totals = saga_totals_new ();
    ck_buf_init (&self->body);
    self->socket = coordinator_socket (core, ZMQ_PUB, "events",
                                     EVENTS_SNDHWM, 0, true);
    if (!self->socket
    ||  !(self->guard = s_guard_new (self, frontend))
    ||  !(self->backend_monitor = s_monitor_new (backend)))
        events_destroy (&self);
    return self;
}

void
events_destroy (events_t **self_p)
{
    assert (self_p);
    events_t *self = *self_p;
    if (!self)
        return;
    //  monitors go before the sockets they watch
    zactor_destroy (&self->guard);
    zactor_destroy (&self->backend_monitor);
    zsock_destroy (&self->socket);
    histogram_destroy (&self->latency);
    saga_totals_destroy (&self->totals);
    ck_buf_free (&self->body);
    free (self);
    *self_p = NULL;
}

zsock_t *
events_socket (events_t *self)
{
    return self->socket;
}

zactor_t *
events_frontend_monitor (events_t *self)
{
    return self->guard;
}

zactor_t *
events_backend_monitor (events_t *self)
{
    return self->backend_monitor;
}

void
events_saga_ended (events_t *self, uint64_t elapsed_us, const ck_reason_t *failed)
{
    histogram_record (self->latency, elapsed_us);
    saga_totals_ended (self->totals, elapsed_us, failed);
}

//  The guard's report: [REFUSED, refused since the start, socket, open]
static void
s_refused (events_t *self, const char *count, const char *socket_name, const char *open)
{
    uint64_t refused = strtoull (count, NULL, 10);
    if (streq (socket_name, "frontend"))
        self->core->counters.refused = refused;
    log_limit_warning ("coordinator: %s refuses connections past its limit: "
                       "refused=%s open=%s limit=%d", socket_name, count, open,
                       streq (socket_name, "frontend")? MAX_CLIENTS: MAX_SUBSCRIBERS);
}

//  A PUB sends to every subscriber whatever its key has become, so a
//  subscriber whose key was withdrawn loses its connection instead: the
//  events endpoint is bound anew, which closes every subscriber's, and each
//  comes back through the handshake, where a withdrawn key fails.  The
//  others miss the events of that moment.  Runs once the guard has read
//  the allow-lists again (RELOADED).
static void
s_rebind (events_t *self)
{
    char bound [CK_TEXT_SIZE];
    snprintf (bound, sizeof bound, "%s", zsock_endpoint (self->socket));
    if (zsock_unbind (self->socket, "%s", bound) == -1
    ||  zsock_bind (self->socket, "%s", self->core->config.events) == -1)
        zsys_error ("coordinator: events: cannot bind %s again to end a withdrawn key's"
                    " subscription: %s", self->core->config.events,
                    zmq_strerror (zmq_errno ()));
    else
        zsys_notice ("coordinator: events: a monitor key was withdrawn; %s bound again, its"
                     " subscribers handshake anew", self->core->config.events);
}

void
events_keys_withdrawn (events_t *self)
{
    assert (self);
    zstr_send (self->guard, "RELOAD");
}

//  Republishes one event of a socket's monitor as socket.<event>; the
//  guard's REFUSED is logged, and published as socket.refused
void
events_monitor (events_t *self, zactor_t *monitor, const char *socket_name)
{
    char *event = NULL, *value = NULL, *endpoint = NULL, *extra = NULL;
    if (zstr_recvx (monitor, &event, &value, &endpoint, &extra, NULL) < 0 || !event) {
        zstr_free (&event);
        return;
    }
    if (streq (event, "RELOADED")) {
        s_rebind (self);
        zstr_free (&event);
        return;
    }
    if (streq (event, "REFUSED") && value && endpoint && extra) {
        s_refused (self, value, endpoint, extra);
        //  the socket that refused, named in endpoint's place: say where
        bool frontend = streq (endpoint, "frontend");
        socket_name = frontend? "frontend": "events";
        zstr_free (&endpoint);
        endpoint = strdup (frontend? self->core->config.frontend: self->core->config.events);
    }
    //  a client whose queue filled up has gone: its queue is freed now
    if (streq (event, "DISCONNECTED") && streq (socket_name, "frontend")
    &&  self->core->counters.dropped != self->trimmed_dropped)
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

static void
s_stats (events_t *self)
{
    ck_ev_stats_t stats = { 0 };
    counters_t *counters = &self->core->counters;
    stats.uptime_ms = ((uint64_t) zclock_usecs () - self->core->started_us) / 1000;
    stats.started = counters->started;
    stats.confirmed = counters->confirmed;
    stats.failed = counters->failed;
    stats.stuck = counters->stuck;
    stats.bad_messages = counters->bad_messages;
    stats.retries = counters->retries;
    stats.ignored_replies = counters->ignored_replies;
    stats.overloaded = counters->overloaded;
    stats.dropped = counters->dropped;
    stats.refused = counters->refused;
    stats.in_flight = zhashx_size (self->core->by_saga);
    stats.latency_count = histogram_count (self->latency);
    stats.p50_us = histogram_percentile (self->latency, 50);
    stats.p90_us = histogram_percentile (self->latency, 90);
    stats.p99_us = histogram_percentile (self->latency, 99);
    stats.max_us = histogram_max (self->latency);
    if (self->core->leases) {
        //  which coordinator speaks, and what it holds (docs/coordinators.md)
        snprintf (stats.coordinator, sizeof stats.coordinator, "%s",
                  leases_instance (self->core->leases));
        stats.partition_count = leases_count (self->core->leases);
        leases_ranges (self->core->leases, stats.partitions, sizeof stats.partitions);
    }
    histogram_reset (self->latency);
    saga_totals_fill (self->totals, &stats);
    backend_each_worker (self->core->backend, s_stats_worker, &stats);
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
        self->trimmed_dropped = self->core->counters.dropped;
    }
    log_limit_flush (false);
    if (self->core->config.verbose)
        zsys_debug ("coordinator: stats in_flight=%llu confirmed=%llu failed=%llu",
                    (unsigned long long) stats.in_flight, (unsigned long long) stats.confirmed,
                    (unsigned long long) stats.failed);
}


int64_t
events_tick (events_t *self, int64_t now_ms)
{
    if (now_ms >= self->next_stats_ms) {
        s_stats (self);
        self->next_stats_ms = now_ms + STATS_IVL_MS;
    }
    return self->next_stats_ms;
}

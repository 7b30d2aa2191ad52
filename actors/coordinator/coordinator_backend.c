/*  coordinator_backend.c - the coordinator's participants (backend ROUTER)
    READY, REPLY, HEARTBEAT, DISCONNECT; dispatch within capacity; liveness.

    A request goes to the least loaded live instance of its service that
    has capacity left, or waits in that service's queue; the wait counts
    against the step's timeout, and the step's timeout starts again when
    the request is sent.  An instance's slot is freed by its reply to that
    request, by its loss, or, for a request superseded while the instance
    held it (a retry after a timeout), when the instance answers a request
    sent after it (it answers in order, so the superseded one was answered
    or lost on the way) or ORPHAN_TIMEOUTS step timeouts (at least
    ORPHAN_FLOOR_MS) later.  So an instance is not sent more than its
    capacity, and a lost message does not hold a slot for ever.

    A REPLY is applied only when it comes from the connection its request
    was sent to, for the attempt in flight there.  A peer that talks
    without having sent READY (typically after we restarted and its socket
    reconnected by itself) is told DISCONNECT so that it registers again.
*/
#include "coordinator_internal.h"

//  Messages queued from participants: at most their capacity each
#define BACKEND_RCVHWM  100000
//  Requests and heartbeats per participant: capacity (at most 1024) plus
//  heartbeats; an instance that stops reading is found dead by liveness
#define BACKEND_SNDHWM  10000
//  Step timeouts after which a superseded request's slot is freed even if
//  its instance answered nothing sent after it, and never sooner than
//  ORPHAN_FLOOR_MS: a step timeout shorter than the instance's own time per
//  request (a slow gateway) must not make us send it past its capacity
//  when its event loop is late
#define ORPHAN_TIMEOUTS 5
#define ORPHAN_FLOOR_MS 2000

//  A request that was in flight at an instance found gone: the saga is told
//  after the current round of sends, not from inside it (no re-entry into
//  the engine while the outbox is being sent), and only if that same
//  request is still the one in flight
typedef struct {
    entry_t *entry;
    ck_type_t type;
    uint32_t attempt;
} lost_t;

struct _backend_t {
    core_t *core;
    zsock_t *socket;                    //  ROUTER, bound
    dispatcher_t *dispatcher;
    lost_t *lost;                       //  requests lost this round
    size_t lost_size, lost_capacity;
    int64_t next_heartbeat_ms;
    int64_t served_ms [CK_SERVICE_MAX]; //  when each last had a live instance
};

static void
s_disconnect (backend_t *self, const void *routing_id, size_t size)
{
    ck_frame_send (self->socket, routing_id, size, CK_PROTO_WORKER, CK_CMD_DISCONNECT, NULL, 0);
}

//  The request in flight at a lost instance: noted, for backend_apply_lost
static void
s_lost (void *arg, void *handle)
{
    backend_t *self = (backend_t *) arg;
    entry_t *entry = (entry_t *) handle;
    if (self->lost_size == self->lost_capacity) {
        size_t capacity = self->lost_capacity? self->lost_capacity * 2: 64;
        lost_t *grown = (lost_t *) realloc (self->lost, capacity * sizeof *grown);
        assert (grown);
        self->lost = grown;
        self->lost_capacity = capacity;
    }
    self->lost [self->lost_size++] = (lost_t) { entry, entry->saga->type, entry->saga->attempt };
}

//  Tells each saga whose request was lost, if that request is still the
//  one in flight: it goes out again at once.  Returns true when there was
//  any, so that the caller commits and sends what that caused.
bool
backend_apply_lost (backend_t *self)
{
    bool any = self->lost_size > 0;
    saga_clock_t clock = coordinator_clock ();
    for (size_t i = 0; i < self->lost_size; i++) {
        lost_t *lost = &self->lost [i];
        saga_t *saga = lost->entry->saga;
        if (saga->wait != SAGA_IN_FLIGHT || saga->type != lost->type
        ||  saga->attempt != lost->attempt)
            continue;                   //  the saga has moved on since
        saga_actions_t actions;
        saga_engine_worker_lost (self->core->engine, saga, clock, &actions);
        coordinator_apply (self->core, lost->entry, &actions);
    }
    self->lost_size = 0;
    return any;
}

static void
s_worker_lost (backend_t *self, const dispatcher_worker_t *worker, const char *why)
{
    zsys_warning ("coordinator: worker service=%s instance=%s lost: %s",
                  ck_service_name (worker->service), worker->instance, why);
    events_worker (self->core->events, CK_EVENT_WORKER_LOST, worker);
}

//  An instance that sent READY again under a new connection (or another
//  instance on a reused routing id): the old connection is over
static void
s_replaced (void *arg, const dispatcher_worker_t *worker)
{
    s_worker_lost ((backend_t *) arg, worker, "replaced by a new connection");
}

static void
s_gone (void *arg, const dispatcher_worker_t *worker)
{
    s_worker_lost ((backend_t *) arg, worker, "silent");
}

//  The name under which an instance's slot is kept for a request
static void
s_request_key (char *key, size_t size, const char *saga_id, ck_type_t type, uint32_t attempt)
{
    snprintf (key, size, "%s/%d/%u", saga_id, (int) type, attempt);
}

//  The request in flight, if any, is superseded: its instance still holds it
static void
s_orphan (backend_t *self, entry_t *entry)
{
    if (!dispatcher_where (self->dispatcher, entry))
        return;
    char key [CK_ID_SIZE + 32];
    s_request_key (key, sizeof key, entry->saga->saga_id, entry->sent_type, entry->sent_attempt);
    //  the last resort, for an instance that is given nothing else to answer
    int64_t wait_ms = ORPHAN_TIMEOUTS * (int64_t) self->core->config.policy.step_timeout_ms;
    if (wait_ms < ORPHAN_FLOOR_MS)
        wait_ms = ORPHAN_FLOOR_MS;
    dispatcher_orphan (self->dispatcher, entry, key, entry->sent_number,
                       zclock_mono () + wait_ms);
}

void
backend_forget (backend_t *self, entry_t *entry)
{
    s_orphan (self, entry);
    dispatcher_cancel_wait (self->dispatcher, entry);
}

//  Sends the saga's current request to an instance, or queues it
void
backend_send_request (backend_t *self, entry_t *entry)
{
    s_orphan (self, entry);
    dispatcher_cancel_wait (self->dispatcher, entry);
    if (saga_terminal (entry->saga) || entry->request.size == 0)
        return;
    ck_service_t service = entry->service;
    dispatcher_worker_t *worker;
    while ((worker = dispatcher_pick (self->dispatcher, service))) {
        if (ck_frame_send (self->socket, worker->routing_id, worker->routing_id_size,
                           CK_PROTO_WORKER, CK_CMD_REQUEST, entry->request.data,
                           entry->request.size) == 0) {
            entry->sent_number = dispatcher_assign (self->dispatcher, worker, entry);
            dispatcher_sent (self->dispatcher, worker, zclock_mono ());
            entry->sent_type = entry->type;
            entry->sent_attempt = entry->attempt;
            //  the step's time runs from now, as its deadline_ms says
            deadlines_set (self->core->deadlines, entry, coordinator_wall_us ()
                           + (uint64_t) self->core->config.policy.step_timeout_ms * 1000);
            return;
        }
        if (zmq_errno () != EHOSTUNREACH)
            break;                  //  EAGAIN: its queue is full; wait
        //  the peer's connection is gone: forget it and try another
        zsys_warning ("coordinator: worker instance=%s unreachable", worker->instance);
        events_worker (self->core->events, CK_EVENT_WORKER_LOST, worker);
        dispatcher_remove (self->dispatcher, worker, s_lost, self);
    }
    dispatcher_wait (self->dispatcher, service, entry);
}

void
backend_dispatch_waiting (backend_t *self, ck_service_t service)
{
    //  each send either assigns the request or queues it again: stop when
    //  nothing could be assigned
    size_t waiting = dispatcher_waiting (self->dispatcher, service);
    while (waiting-- > 0 && dispatcher_pick (self->dispatcher, service)) {
        entry_t *entry = (entry_t *) dispatcher_next_waiting (self->dispatcher, service);
        if (!entry)
            break;
        backend_send_request (self, entry);
        if (!dispatcher_where (self->dispatcher, entry))
            break;
    }
}

//  True when the worker's connection is gone: libzmq has dropped its pipe,
//  so a send to it fails at once.  Otherwise it was sent a HEARTBEAT.
static bool
s_unreachable (backend_t *self, dispatcher_worker_t *worker, int64_t now_ms)
{
    if (ck_frame_send (self->socket, worker->routing_id, worker->routing_id_size,
                       CK_PROTO_WORKER, CK_CMD_HEARTBEAT, NULL, 0) == 0) {
        dispatcher_sent (self->dispatcher, worker, now_ms);
        return false;
    }
    return zmq_errno () == EHOSTUNREACH;
}

//  A READY that claims a live instance's name from another connection.
//  The holder gives way when its connection is gone (a process restarted:
//  the kernel closed the old one) or when the newcomer authenticated with
//  the holder's own key (the same participant, reconnected); then returns
//  true.  Otherwise the newcomer is refused: a peer that took the name of
//  a live instance would take its requests.  A restarted participant whose
//  old connection is still open somewhere gets in once that one goes
//  silent past its liveness.
static bool
s_claim (backend_t *self, const ck_frame_t *frame, dispatcher_worker_t *holder,
         const char *key, int64_t now_ms)
{
    if (holder->routing_id_size == frame->routing_id_size
    &&  memcmp (holder->routing_id, frame->routing_id, frame->routing_id_size) == 0)
        return true;                    //  its own routing id: dispatcher_join's case
    bool same_key = *key && streq (holder->key, key);
    if (same_key || s_unreachable (self, holder, now_ms)) {
        s_worker_lost (self, holder, same_key? "replaced by a new connection with its key":
                                               "replaced; its connection was gone");
        dispatcher_remove (self->dispatcher, holder, s_lost, self);
        return true;
    }
    log_limit_warning ("coordinator: READY refused service=%s instance=%s: a live"
                       " connection has that instance%s%s", ck_service_name (holder->service),
                       holder->instance, *key? " key=": "", key);
    s_disconnect (self, frame->routing_id, frame->routing_id_size);
    return false;
}

//  A READY with update from a registered connection, for its own service
//  and instance: a new share of the participant's capacity (it splits it
//  among coordinators), nothing else.  What it holds stays in flight and
//  counts against the new capacity.  Returns false when the READY is not
//  that, for the plain READY's rules.
static bool
s_update (backend_t *self, const ck_frame_t *frame, const ck_ready_t *ready)
{
    dispatcher_worker_t *worker = dispatcher_find (self->dispatcher, frame->routing_id,
                                                   frame->routing_id_size);
    if (!worker || worker->service != ready->service
    ||  !streq (worker->instance, ready->instance))
        return false;
    uint32_t was = worker->capacity;
    //  can't fail: the codec held capacity to 1..1024
    int rc = dispatcher_set_capacity (self->dispatcher, worker, ready->capacity);
    assert (rc == 0);
    (void) rc;
    zsys_info ("coordinator: worker service=%s instance=%s capacity=%u (was %u) updated",
               ck_service_name (ready->service), ready->instance, ready->capacity, was);
    backend_dispatch_waiting (self, ready->service);
    return true;
}

static void
s_ready (backend_t *self, const ck_frame_t *frame, const char *key, int64_t now_ms)
{
    ck_ready_t ready;
    ck_decode_error_t err;
    if (ck_decode_ready (frame->body, frame->body_size, &ready, &err)) {
        self->core->counters.bad_messages++;
        log_limit_warning ("coordinator: backend bad READY: %s", err.message);
        s_disconnect (self, frame->routing_id, frame->routing_id_size);
        return;
    }
    //  the role comes from the key the connection authenticated with
    const char *role = ck_service_name (ready.service);
    if (!coordinator_allows (self->core, role, key)) {
        events_refused (self->core->events, key, "backend", "READY", role, ready.instance,
                        "the key does not hold the service's role");
        s_disconnect (self, frame->routing_id, frame->routing_id_size);
        return;
    }
    if (ready.update && s_update (self, frame, &ready))
        return;
    dispatcher_worker_t *holder = dispatcher_instance (self->dispatcher, ready.service,
                                                       ready.instance);
    if (holder && !s_claim (self, frame, holder, key, now_ms))
        return;
    dispatcher_worker_t *worker = dispatcher_join (self->dispatcher, frame->routing_id,
        frame->routing_id_size, ready.service, ready.instance, ready.capacity, now_ms,
        s_lost, s_replaced, self);
    if (!worker) {
        s_disconnect (self, frame->routing_id, frame->routing_id_size);
        return;
    }
    snprintf (worker->key, sizeof worker->key, "%s", key);
    zsys_info ("coordinator: worker service=%s instance=%s capacity=%u joined",
               ck_service_name (ready.service), ready.instance, ready.capacity);
    events_worker (self->core->events, CK_EVENT_WORKER_JOINED, worker);
    backend_dispatch_waiting (self, ready.service);
}

//  The instance answered a request it held: its slot is free again.
//  Returns true when that was the saga's request in flight there, the
//  only answer the saga may take
static bool
s_room (backend_t *self, dispatcher_worker_t *worker, entry_t *entry, const ck_reply_t *reply)
{
    bool current = entry && dispatcher_where (self->dispatcher, entry) == worker
                && reply->type == entry->sent_type && reply->attempt == entry->sent_attempt;
    char key [CK_ID_SIZE + 32];
    s_request_key (key, sizeof key, reply->saga_id, reply->type, reply->attempt);
    size_t freed = 0;
    if (current) {
        dispatcher_unassign (self->dispatcher, entry);
        //  it answers in order: what it was sent before this is answered
        //  too, or lost on the way
        freed = dispatcher_release_before (self->dispatcher, worker, entry->sent_number);
    }
    if (current || freed || dispatcher_release (self->dispatcher, worker, key))
        backend_dispatch_waiting (self, worker->service);
    return current;
}

static void
s_reply (backend_t *self, const ck_frame_t *frame, dispatcher_worker_t *worker)
{
    ck_reply_t reply;
    ck_decode_error_t err;
    if (ck_decode_reply (frame->body, frame->body_size, &reply, &err)) {
        self->core->counters.bad_messages++;
        log_limit_warning ("coordinator: backend bad REPLY: %s", err.message);
        s_disconnect (self, frame->routing_id, frame->routing_id_size);
        return;
    }
    entry_t *entry = (entry_t *) zhashx_lookup (self->core->by_saga, reply.saga_id);
    if (entry && entry->done)
        entry = NULL;                   //  late: the saga has ended
    bool current = worker && s_room (self, worker, entry, &reply);
    if (!current) {
        //  A REPLY counts only from the connection its request went to, for
        //  the attempt in flight there: a late answer is no news (the saga
        //  has moved on, or sent it again), and anyone else's is a forgery
        self->core->counters.ignored_replies++;
        if (entry && !worker)
            log_limit_warning ("coordinator: REPLY from a peer that sent no READY ignored"
                               " saga=%s type=%s", reply.saga_id, ck_type_name (reply.type));
        else
        if (entry && reply.type == entry->sent_type && reply.attempt == entry->sent_attempt
        &&  dispatcher_where (self->dispatcher, entry) != worker)
            log_limit_warning ("coordinator: REPLY from instance=%s, not the one its request"
                               " went to, ignored saga=%s type=%s", worker->instance,
                               reply.saga_id, ck_type_name (reply.type));
        return;
    }
    saga_t *saga = entry->saga;
    saga_actions_t actions;
    saga_engine_reply (self->core->engine, saga, &reply, coordinator_clock (), &actions);
    coordinator_apply (self->core, entry, &actions);
}

//  True when the worker's key still holds its service's role (always,
//  without CURVE)
static bool
s_key_holds (backend_t *self, dispatcher_worker_t *worker)
{
    return !self->core->keyring
        || keyring_allows (self->core->keyring, ck_service_name (worker->service), worker->key);
}

//  The worker's key lost its role: it is told DISCONNECT and forgotten; its
//  requests go elsewhere.  Its new connection fails the handshake.
static void
s_revoked (backend_t *self, dispatcher_worker_t *worker, const char *command)
{
    events_refused (self->core->events, worker->key, "backend", command,
                    ck_service_name (worker->service), worker->instance,
                    "the key no longer holds the service's role");
    s_disconnect (self, worker->routing_id, worker->routing_id_size);
    s_worker_lost (self, worker, "its key was revoked");
    dispatcher_remove (self->dispatcher, worker, s_lost, self);
}

//  Collects the workers whose key lost its role, for backend_keys_changed
typedef struct {
    backend_t *self;
    zlistx_t *routing_ids;
} revoked_t;

static void
s_collect_revoked (void *arg, dispatcher_worker_t *worker)
{
    revoked_t *revoked = (revoked_t *) arg;
    if (!s_key_holds (revoked->self, worker))
        zlistx_add_end (revoked->routing_ids,
                        zframe_new (worker->routing_id, worker->routing_id_size));
}

void
backend_keys_changed (backend_t *self)
{
    revoked_t revoked = { self, zlistx_new () };
    backend_each_worker (self, s_collect_revoked, &revoked);
    for (zframe_t *id = (zframe_t *) zlistx_first (revoked.routing_ids); id;
         id = (zframe_t *) zlistx_next (revoked.routing_ids)) {
        dispatcher_worker_t *worker = dispatcher_find (self->dispatcher, zframe_data (id),
                                                       zframe_size (id));
        if (worker)
            s_revoked (self, worker, "-");
        zframe_destroy (&id);
    }
    zlistx_destroy (&revoked.routing_ids);
}

static void
s_handle (backend_t *self, ck_message_t *message)
{
    ck_frame_t frame = { .command = CK_CMD_NONE };
    ck_decode_error_t err;
    int64_t now_ms = zclock_mono ();
    if (ck_message_parse (message, CK_PROTO_WORKER, true, &frame, &err)) {
        self->core->counters.bad_messages++;
        log_limit_warning ("coordinator: backend bad message: %s", err.message);
        if (frame.routing_id)
            s_disconnect (self, frame.routing_id, frame.routing_id_size);
        return;
    }
    dispatcher_worker_t *worker = dispatcher_find (self->dispatcher, frame.routing_id,
                                                   frame.routing_id_size);
    if (worker && !s_key_holds (self, worker)) {
        s_revoked (self, worker, ck_command_name (frame.command));
        return;
    }
    if (worker)
        dispatcher_heard (self->dispatcher, worker, now_ms);
    switch (frame.command) {
        case CK_CMD_READY:
            s_ready (self, &frame, ck_message_user_id (message), now_ms);
            break;
        case CK_CMD_REPLY:
            if (!worker)
                s_disconnect (self, frame.routing_id, frame.routing_id_size);
            s_reply (self, &frame, worker);
            break;
        case CK_CMD_HEARTBEAT:
            if (!worker)
                s_disconnect (self, frame.routing_id, frame.routing_id_size);
            break;
        case CK_CMD_DISCONNECT:
            if (worker) {
                zsys_info ("coordinator: worker instance=%s disconnected", worker->instance);
                events_worker (self->core->events, CK_EVENT_WORKER_LOST, worker);
                dispatcher_remove (self->dispatcher, worker, s_lost, self);
            }
            break;
        default:
            break;
    }
}

static void
s_heartbeat (void *arg, dispatcher_worker_t *worker)
{
    backend_t *self = (backend_t *) arg;
    int64_t now_ms = zclock_mono ();
    if (now_ms - worker->sent_ms >= (int64_t) self->core->config.heartbeat_ivl_ms) {
        if (ck_frame_send (self->socket, worker->routing_id, worker->routing_id_size,
                           CK_PROTO_WORKER, CK_CMD_HEARTBEAT, NULL, 0) == 0)
            dispatcher_sent (self->dispatcher, worker, now_ms);
    }
}

//  Heartbeats to quiet instances, and the end of silent ones; returns
//  when the next is due
int64_t
backend_tick (backend_t *self, int64_t now_ms)
{
    if (now_ms >= self->next_heartbeat_ms) {
        dispatcher_each (self->dispatcher, s_heartbeat, self);
        self->next_heartbeat_ms = now_ms + self->core->config.heartbeat_ivl_ms / 4;
    }
    dispatcher_expire (self->dispatcher, now_ms, s_lost, s_gone, self);
    if (dispatcher_expire_orphans (self->dispatcher, now_ms) > 0)
        for (int service = CK_SERVICE_NONE + 1; service < CK_SERVICE_MAX; service++)
            backend_dispatch_waiting (self, (ck_service_t) service);
    for (int service = CK_SERVICE_NONE + 1; service < CK_SERVICE_MAX; service++)
        if (dispatcher_count (self->dispatcher, (ck_service_t) service))
            self->served_ms [service] = now_ms;
    int64_t expiry = dispatcher_next_expiry (self->dispatcher);
    return expiry < self->next_heartbeat_ms? expiry: self->next_heartbeat_ms;
}

void
backend_receive (backend_t *self, int max_messages)
{
    ck_message_t message;
    void *socket = zsock_resolve (self->socket);
    for (int n = 0; n < max_messages && ck_message_recv (&message, socket) == 0; n++) {
        s_handle (self, &message);
        ck_message_close (&message);
    }
}

size_t
backend_unserved (backend_t *self, const saga_def_t *def, int64_t now_ms,
                  ck_service_t *services, int64_t *for_ms)
{
    int64_t grace = (int64_t) self->core->config.heartbeat_ivl_ms * self->core->config.liveness;
    size_t count = 0;
    for (uint32_t index = 0; index < def->step_count; index++) {
        ck_service_t service = def->steps [index].service;
        if (dispatcher_count (self->dispatcher, service) == 0
        &&  now_ms - self->served_ms [service] > grace) {
            if (count == 0)
                *for_ms = now_ms - self->served_ms [service];
            services [count++] = service;
        }
    }
    return count;
}

void
backend_each_worker (backend_t *self, void (*fn) (void *arg, dispatcher_worker_t *worker),
                     void *arg)
{
    dispatcher_each (self->dispatcher, fn, arg);
}

zsock_t *
backend_socket (backend_t *self)
{
    return self->socket;
}

backend_t *
backend_new (core_t *core)
{
    backend_t *self = (backend_t *) zmalloc (sizeof (backend_t));
    self->core = core;
    self->dispatcher = dispatcher_new (core->config.heartbeat_ivl_ms * core->config.liveness);
    //  a restarted coordinator gives its participants a liveness period
    //  to come back before it calls a service unserved
    for (int service = 0; service < CK_SERVICE_MAX; service++)
        self->served_ms [service] = zclock_mono ();
    self->socket = coordinator_socket (core, ZMQ_ROUTER, "backend",
                                     BACKEND_SNDHWM, BACKEND_RCVHWM, false);
    if (!self->socket)
        backend_destroy (&self);
    return self;
}

void
backend_destroy (backend_t **self_p)
{
    assert (self_p);
    backend_t *self = *self_p;
    if (!self)
        return;
    dispatcher_destroy (&self->dispatcher);
    zsock_destroy (&self->socket);
    free (self->lost);
    free (self);
    *self_p = NULL;
}

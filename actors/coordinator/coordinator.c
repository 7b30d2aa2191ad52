/*  coordinator.c - the coordinator actor's life and its loop
    Reads, runs the engine, commits the turn, then sends what it caused.

    Durability rule (docs/protocol.md#durability): every transition the engine makes in
    a turn is written to the saga log inside one transaction, and no
    message that a transition causes leaves before that transaction has
    committed, unless the transition is replayable (caused by a recorded
    ok or rejected answer, which recovery gets again: docs/saga-log.md).
    So the outbox holds the turn's sends, replies and events; the early
    ones go while the commit's fsync runs on the participants' time, the
    rest after it.  A commit that fails stops the coordinator, and the log,
    which never saw those transitions, is what the next start resumes.
    With several coordinators on PostgreSQL a failed commit does not stop
    it: coordinator_leases.c reloads the turn's partitions from the log.
*/
#include "coordinator_internal.h"
#include "pg.h"

#define TURN_MESSAGES 512               //  most messages read per socket per turn
#define MAX_POLL_MS   1000
//  Retention: ended sagas deleted per batch, and how often a batch runs
//  when the last one was not full
#define EXPIRE_BATCH  64
#define EXPIRE_IVL_MS 1000
//  A connection that has not finished its ZMTP handshake by then is closed
//  (libzmq's default is 30 s): idle TCP connections hold no fd for long
#define HANDSHAKE_MS    5000
//  How often the allow-lists are read again: a revoked key's peer is cut
//  off within about this
#define KEYS_IVL_MS     1000
#define KEYS_RETRY_MS   50

uint64_t
coordinator_wall_us (void)
{
    struct timespec now;
    clock_gettime (CLOCK_REALTIME, &now);
    return (uint64_t) now.tv_sec * 1000000 + (uint64_t) now.tv_nsec / 1000;
}

saga_clock_t
coordinator_clock (void)
{
    //  wall-clock time (czmq's zclock_usecs is monotonic, reset by a
    //  reboot): deadlines and elapsed_us survive a restart, history is dated
    uint64_t now = coordinator_wall_us ();
    return (saga_clock_t) { now, now / 1000 };
}

entry_t *
coordinator_entry_new (core_t *self, saga_t *saga, uint64_t cart_digest)
{
    entry_t *entry = (entry_t *) zmalloc (sizeof (entry_t));
    entry->saga = saga;
    entry->cart_digest = cart_digest;
    if (self->leases)
        entry->partition = ck_partition_of (saga->checkout_id, leases_count (self->leases));
    zhashx_insert (self->by_saga, saga->saga_id, entry);
    zhashx_insert (self->by_checkout, saga->checkout_id, entry);
    return entry;
}

void
coordinator_entry_destroy (core_t *self, entry_t **entry_p)
{
    entry_t *entry = *entry_p;
    backend_forget (self->backend, entry);
    deadlines_cancel (self->deadlines, entry);
    zhashx_delete (self->by_checkout, entry->saga->checkout_id);
    zhashx_delete (self->by_saga, entry->saga->saga_id);
    saga_destroy (&entry->saga);
    ck_buf_free (&entry->request);
    free (entry);
    *entry_p = NULL;
}

static void
s_outbox_push (core_t *self, entry_t *entry, const saga_action_t *action, bool early)
{
    if (self->outbox_size == self->outbox_capacity) {
        size_t capacity = self->outbox_capacity? self->outbox_capacity * 2: 256;
        outbox_item_t *grown = (outbox_item_t *) realloc (self->outbox,
                                                          capacity * sizeof *grown);
        assert (grown);
        self->outbox = grown;
        self->outbox_capacity = capacity;
    }
    self->outbox [self->outbox_size++] = (outbox_item_t) { entry, *action, early, false };
}

//  Carries out the engine's actions: PERSIST now, inside the turn's
//  transaction; timers now (they are only memory); the rest after commit
void
coordinator_apply (core_t *self, entry_t *entry, saga_actions_t *actions)
{
    bool early = false;
    for (uint32_t i = 0; i < actions->count; i++) {
        saga_action_t *action = &actions->list [i];
        switch (action->kind) {
            case SAGA_ACTION_PERSIST:
                coordinator_leases_touch (self, entry);
                if (!self->in_transaction) {
                    if (saga_log_begin (self->log)) {
                        //  with leases the turn is reloaded (s_commit)
                        if (self->leases)
                            self->fenced = true;
                        else
                            self->failed = true;
                        return;
                    }
                    self->in_transaction = true;
                }
                if (saga_log_persist (self->log, entry->saga, action->persist.created,
                                      entry->cart_digest, actions->history,
                                      actions->history_count))
                    self->failed = true;
                early = action->persist.replayable;
                if (action->persist.terminal && !entry->done) {
                    //  a marker for s_flush: free the entry once the turn is sent
                    entry->done = true;
                    saga_action_t marker = { .kind = SAGA_ACTION_NONE };
                    s_outbox_push (self, entry, &marker, false);
                }
                break;
            case SAGA_ACTION_SET_TIMER:
                deadlines_set (self->deadlines, entry, action->timer.at_us);
                break;
            case SAGA_ACTION_IGNORED:
                self->counters.ignored_replies++;
                break;
            case SAGA_ACTION_SEND_REQUEST:
                //  the engine's request is this call's: encode it now
                entry->service = action->send.service;
                entry->type = action->send.type;
                entry->attempt = action->send.attempt;
                if (ck_encode_request (&actions->request, &entry->request)) {
                    zsys_error ("coordinator: saga=%s type=%s does not encode",
                                entry->saga->saga_id, ck_type_name (action->send.type));
                    entry->request.size = 0;
                    break;
                }
                s_outbox_push (self, entry, action, early);
                break;
            default:
                s_outbox_push (self, entry, action, early);
                break;
        }
    }
}

//  The reason a failed saga reports; one without any counts as "unknown"
static const ck_reason_t *
s_failed_reason (const saga_t *saga)
{
    static const ck_reason_t none = { .code = "" };
    return saga->reason? saga->reason: &none;
}

static void
s_outbox_run (core_t *self, outbox_item_t *item)
{
    saga_action_t *action = &item->action;
    entry_t *entry = item->entry;
    switch (action->kind) {
        case SAGA_ACTION_SEND_REQUEST:
            if (action->send.attempt > 1)
                self->counters.retries++;
            backend_send_request (self->backend, entry);
            break;
        case SAGA_ACTION_REPLY_ACCEPTED:
            frontend_send_accepted (self->frontend, entry);
            break;
        case SAGA_ACTION_REPLY_RESULT:
            if (action->result.status == CK_STATUS_STUCK)
                self->counters.stuck++;
            else {
                bool confirmed = action->result.status == CK_STATUS_CONFIRMED;
                if (confirmed)
                    self->counters.confirmed++;
                else
                    self->counters.failed++;
                events_saga_ended (self->events, entry->saga->elapsed_us,
                                   confirmed? NULL: s_failed_reason (entry->saga));
            }
            frontend_send_result (self->frontend, entry, action->result.status);
            break;
        case SAGA_ACTION_PUBLISH:
            if (action->publish.kind == CK_EVENT_SAGA_STARTED)
                self->counters.started++;
            events_publish (self->events, action);
            break;
        default:
            break;
    }
}

//  Commits what the turn wrote; false when it could not
static bool
s_commit (core_t *self)
{
    if (!self->in_transaction)
        return !self->failed && !self->fenced;
    self->in_transaction = false;
    if (!self->failed && self->leases) {
        if (!self->fenced && saga_log_commit (self->log) == 0)
            return true;
        saga_log_rollback (self->log);
        self->fenced = true;
        return false;
    }
    if (self->failed || saga_log_commit (self->log)) {
        saga_log_rollback (self->log);
        self->failed = true;
        zsys_error ("coordinator: the saga log could not commit; stopping so that "
                    "a restart resumes from what is durable");
        return false;
    }
    return true;
}

//  Sends the turn's early actions before the commit.  An early action of
//  a saga that also has an action waiting for the commit, queued before
//  it, waits too, so that each saga's messages keep their order.
static void
s_send_early (core_t *self)
{
    self->turn++;
    size_t end = self->outbox_size;     //  sending may queue more: not early
    for (size_t i = 0; i < end; i++) {
        outbox_item_t *item = &self->outbox [i];
        if (item->action.kind == SAGA_ACTION_NONE)
            continue;                   //  the end-of-turn marker sends nothing
        if (!item->early)
            item->entry->held_turn = self->turn;
        else
        if (item->entry->held_turn != self->turn) {
            item->sent = true;
            s_outbox_run (self, item);
        }
    }
}

//  Ends the turn: early sends, commit, then the other sends, then free the
//  sagas that ended.  Sending can itself cause transitions (a participant
//  found gone moves its requests elsewhere); those are committed in their
//  own round before what they cause is sent.
void
coordinator_flush (core_t *self)
{
    backend_apply_lost (self->backend);
    s_send_early (self);
    backend_apply_lost (self->backend);
    size_t ran = 0;
    while (s_commit (self)) {
        size_t end = self->outbox_size;
        for (; ran < end; ran++)
            if (!self->outbox [ran].sent)
                s_outbox_run (self, &self->outbox [ran]);
        if (!backend_apply_lost (self->backend) && ran == self->outbox_size)
            break;
    }
    if (self->failed)
        return;
    if (self->fenced) {
        //  nothing more of the turn goes out; its sagas are reloaded
        self->outbox_size = 0;
        coordinator_leases_fenced (self);
        return;
    }
    coordinator_leases_committed (self);
    for (size_t i = 0; i < self->outbox_size; i++)
        if (self->outbox [i].action.kind == SAGA_ACTION_NONE)
            coordinator_entry_destroy (self, &self->outbox [i].entry);
    self->outbox_size = 0;
}

static void
s_timer_fired (core_t *self, entry_t *entry, saga_clock_t clock)
{
    saga_t *saga = entry->saga;
    if (saga->wait == SAGA_IN_FLIGHT && clock.now_us >= saga->deadline_us)
        backend_forget (self->backend, entry);   //  given up on; its instance keeps the
                                        //  slot until it answers
    saga_actions_t actions;
    saga_engine_timeout (self->engine, saga, clock, &actions);
    coordinator_apply (self, entry, &actions);
}

//  Recovery, first half: the log hands over each saga that did not end
static void
s_restore_one (void *arg, saga_t *saga, uint64_t cart_digest)
{
    core_t *self = (core_t *) arg;
    coordinator_entry_new (self, saga, cart_digest);
}

//  Recovery (docs/protocol.md#durability): every saga that did not end goes on, its
//  current request sent again with attempt + 1.  The log is read to the
//  end before anything is written to it.
static int
s_recover (core_t *self)
{
    int count = saga_log_each_active (self->log, s_restore_one, self);
    if (count <= 0)
        return count;
    saga_clock_t clock = coordinator_clock ();
    zlistx_t *entries = zhashx_values (self->by_saga);
    for (entry_t *entry = (entry_t *) zlistx_first (entries); entry;
         entry = (entry_t *) zlistx_next (entries)) {
        saga_actions_t actions;
        saga_engine_resume (self->engine, entry->saga, clock, &actions);
        coordinator_apply (self, entry, &actions);
    }
    zlistx_destroy (&entries);
    coordinator_flush (self);
    return self->failed? -1: count;
}

//  --------------------------------------------------------------------------
//  Life

bool
coordinator_allows (core_t *self, const char *roles, const char *key)
{
    if (!self->keyring)
        return true;
    if (keyring_allows_any (self->keyring, roles, key))
        return true;
    //  a key granted a moment ago counts at once: read the allow-lists
    //  again, at most every KEYS_RETRY_MS (refusals can be many).  What
    //  this read withdraws, each instance's next message finds.
    int64_t now_ms = zclock_mono ();
    if (now_ms < self->keys_retry_ms)
        return false;
    self->keys_retry_ms = now_ms + KEYS_RETRY_MS;
    keyring_reload (self->keyring);
    return keyring_allows_any (self->keyring, roles, key);
}

zsock_t *
coordinator_socket (core_t *core, int type, const char *name, int sndhwm, int rcvhwm,
                    bool guarded)
{
    zsock_t *sock = zsock_new (type);
    if (!sock)
        return NULL;
    zsock_set_linger (sock, 1000);      //  bounded: flush final replies, never hang
    zsock_set_sndhwm (sock, sndhwm);
    zsock_set_handshake_ivl (sock, HANDSHAKE_MS);
    ck_curve_server_apply (&core->config.curve, sock);
    //  conn_guard limits its connections and, with CURVE, checks keys
    if (guarded || ck_curve_on (&core->config.curve))
        zsock_set_zap_domain (sock, name);  //  (a listener copies it at bind)
    if (type == ZMQ_ROUTER) {
        zsock_set_router_mandatory (sock, 1);   //  a full queue fails the send: dropped
        zsock_set_rcvhwm (sock, rcvhwm);
        //  bodies up to 4x the limit still arrive, so that the sender can be
        //  told too_large; anything larger drops its connection
        zsock_set_maxmsgsize (sock, 4 * CK_MAX_BODY);
        zsock_set_rcvtimeo (sock, 0);   //  the loop polls, then takes what waits
    }
    return sock;
}

//  Binds the parts' sockets, once the guard (the ZAP handler) runs: with
//  CURVE, a handshake before it would pass unchecked.  0, or -1 after
//  logging why.
static int
s_bind (core_t *self)
{
    struct { zsock_t *sock; const char *endpoint, *name; } sockets [] = {
        { frontend_socket (self->frontend), self->config.frontend, "frontend" },
        { backend_socket (self->backend), self->config.backend, "backend" },
        { events_socket (self->events), self->config.events, "events" },
    };
    for (size_t i = 0; i < sizeof sockets / sizeof *sockets; i++)
        if (zsock_bind (sockets [i].sock, "%s", sockets [i].endpoint) < 0) {
            zsys_error ("coordinator: cannot bind %s to %s: %s", sockets [i].name,
                        sockets [i].endpoint, zmq_strerror (zmq_errno ()));
            return -1;
        }
    return 0;
}

static void
s_self_destroy (core_t **self_p)
{
    core_t *self = *self_p;
    if (!self)
        return;
    events_destroy (&self->events);     //  its monitors watch the others
    if (self->by_saga && self->backend) {
        for (entry_t *entry = (entry_t *) zhashx_first (self->by_saga); entry;
             entry = (entry_t *) zhashx_first (self->by_saga))
            coordinator_entry_destroy (self, &entry);
    }
    frontend_destroy (&self->frontend);
    backend_destroy (&self->backend);
    zhashx_destroy (&self->by_saga);
    zhashx_destroy (&self->by_checkout);
    deadlines_destroy (&self->deadlines);
    keyring_destroy (&self->keyring);
    saga_engine_destroy (&self->engine);
    //  a clean stop hands its partitions over at once, not after the TTL
    if (self->leases && !self->failed)
        leases_release_all (self->leases);
    coordinator_leases_destroy (self);
    saga_log_destroy (&self->log);
    free (self->outbox);
    free (self);
    *self_p = NULL;
}

//  Opens the log --db names: on PostgreSQL as one of the coordinators
//  sharing it; NULL after logging (*refused: another coordinator's file,
//  or another partition count)
static saga_log_t *
s_log_open (const coordinator_config_t *config, bool *refused)
{
    if (!pg_uri_is (config->db)) {
        store_options_t options = { .sync = config->sync };
        return saga_log_sqlite_open (config->db, &options, refused);
    }
    leases_member_t member = {
        .instance = config->instance, .advertise = config->advertise,
        .partitions = config->partitions? config->partitions: CK_DEFAULT_PARTITIONS,
        .ttl_ms = config->lease_ttl_ms
    };
    return saga_log_pg_open (config->db, &member, refused);
}

static core_t *
s_self_new (zsock_t *pipe, const coordinator_config_t *config, bool *refused)
{
    core_t *self = (core_t *) zmalloc (sizeof (core_t));
    self->pipe = pipe;
    self->config = *config;
    self->started_us = (uint64_t) zclock_usecs ();
    self->by_saga = zhashx_new ();
    self->by_checkout = zhashx_new ();
    self->deadlines = deadlines_new ();
    self->log = s_log_open (config, refused);
    if (self->log)
        coordinator_leases_init (self);
    self->engine = saga_engine_new (saga_def_active (), &config->policy);
    if (config->curve_allow)
        self->keyring = keyring_new (config->curve_allow);
    if (!self->log || !self->engine || (config->curve_allow && !self->keyring)
    ||  saga_log_use_table (self->log, saga_def_active ())
    ||  !(self->frontend = frontend_new (self))
    ||  !(self->backend = backend_new (self))
    ||  !(self->events = events_new (self, frontend_socket (self->frontend),
                                     backend_socket (self->backend)))
    ||  s_bind (self))
        s_self_destroy (&self);
    return self;
}

//  How long the turn may wait: until the earliest of the parts' next
//  due times and the sagas' deadlines, at most MAX_POLL_MS
static long
s_poll_timeout (core_t *self, int64_t due_ms)
{
    int64_t wait_ms = due_ms - zclock_mono ();
    uint64_t deadline = deadlines_next (self->deadlines);
    if (deadline) {
        int64_t until = ((int64_t) deadline - (int64_t) coordinator_wall_us () + 999) / 1000;
        if (until < wait_ms)
            wait_ms = until;
    }
    return wait_ms <= 0? 0: wait_ms < MAX_POLL_MS? (long) wait_ms: MAX_POLL_MS;
}

//  Retention (docs/saga-log.md): after the turn's commit, one bounded
//  batch of the sagas that ended more than retention ago, in a transaction
//  of its own.  A full batch may leave more: the next turn runs another;
//  else the next is due in a second.  Returns when one is next due.
static int64_t
s_expire (core_t *self, int64_t now_ms)
{
    if (self->config.retention_ms == 0)
        return INT64_MAX;
    if (now_ms < self->expire_due_ms)
        return self->expire_due_ms;
    uint64_t before_ms = coordinator_wall_us () / 1000 - self->config.retention_ms;
    int count = saga_log_expire (self->log, before_ms, EXPIRE_BATCH);
    if (count < 0)
        zsys_warning ("coordinator: retention batch failed; next in %d ms", EXPIRE_IVL_MS);
    else
        self->expired += (uint64_t) count;
    self->expire_due_ms = count == EXPIRE_BATCH? now_ms: now_ms + EXPIRE_IVL_MS;
    return self->expire_due_ms;
}

//  keyring_each_withdrawn's callback: *arg becomes true for a monitor's key
static void
s_monitor_withdrawn (void *arg, const char *role, const char *key)
{
    (void) key;
    if (streq (role, "monitor"))
        *(bool *) arg = true;
}

//  One loop turn, with the time the parts next need it; returns -1 when
//  the actor must stop
static int
s_turn (core_t *self, int64_t *due_ms)
{
    zmq_pollitem_t items [] = {
        { zsock_resolve (self->pipe), 0, ZMQ_POLLIN, 0 },
        { zsock_resolve (frontend_socket (self->frontend)), 0, ZMQ_POLLIN, 0 },
        { zsock_resolve (backend_socket (self->backend)), 0, ZMQ_POLLIN, 0 },
        { zsock_resolve (events_frontend_monitor (self->events)), 0, ZMQ_POLLIN, 0 },
        { zsock_resolve (events_backend_monitor (self->events)), 0, ZMQ_POLLIN, 0 },
    };
    //  EINTR is a signal: main decides when we stop, by destroying us
    if (zmq_poll (items, 5, s_poll_timeout (self, *due_ms)) == -1)
        return zmq_errno () == ETERM? -1: 0;
    if (items [0].revents & ZMQ_POLLIN) {
        char *command = zstr_recv (self->pipe);
        if (command && streq (command, "$TERM"))
            self->terminated = true;
        zstr_free (&command);
        if (self->terminated)
            return -1;
    }
    frontend_receive (self->frontend, TURN_MESSAGES);
    backend_receive (self->backend, TURN_MESSAGES);
    if (items [3].revents & ZMQ_POLLIN)
        events_monitor (self->events, events_frontend_monitor (self->events), "frontend");
    if (items [4].revents & ZMQ_POLLIN)
        events_monitor (self->events, events_backend_monitor (self->events), "backend");

    saga_clock_t clock = coordinator_clock ();
    entry_t *entry;
    while ((entry = (entry_t *) deadlines_pop_due (self->deadlines, clock.now_us)))
        s_timer_fired (self, entry, clock);
    //  heartbeats and stats run on the monotonic clock; saga deadlines on
    //  wall-clock microseconds, which a restart does not reset
    int64_t now_ms = zclock_mono ();
    if (self->keyring && now_ms >= self->keys_due_ms) {
        if (keyring_reload (self->keyring) > 0) {
            backend_keys_changed (self->backend);
            bool monitor = false;
            keyring_each_withdrawn (self->keyring, s_monitor_withdrawn, &monitor);
            if (monitor)
                events_keys_withdrawn (self->events);
        }
        self->keys_due_ms = now_ms + KEYS_IVL_MS;
    }
    int64_t backend_due = backend_tick (self->backend, now_ms);
    int64_t events_due = events_tick (self->events, now_ms);
    *due_ms = backend_due < events_due? backend_due: events_due;
    if (self->leases && leases_due (self->leases) < *due_ms)
        *due_ms = leases_due (self->leases);
    if (self->leases && frontend_parked_due (self->frontend) < *due_ms)
        *due_ms = frontend_parked_due (self->frontend);
    if (self->keyring && self->keys_due_ms < *due_ms)
        *due_ms = self->keys_due_ms;
    coordinator_flush (self);
    frontend_after_commit (self->frontend);
    //  Past its threshold, the WAL is copied back after the commit of any
    //  turn, idle or not: under steady load no turn is idle, and a WAL that
    //  never restarts grows without bound and makes every commit extend it.
    //  A failed checkpoint is logged; the commits to the WAL still hold.
    if (!self->failed) {
        saga_log_checkpoint (self->log);
        int64_t expire_due = s_expire (self, now_ms);
        if (expire_due < *due_ms)
            *due_ms = expire_due;
    }
    //  between turns, never inside one's transaction
    if (!self->failed && self->leases && zclock_mono () >= leases_due (self->leases)) {
        coordinator_leases_tick (self);
        if (leases_due (self->leases) < *due_ms)
            *due_ms = leases_due (self->leases);
    }
    else
    if (!self->failed && self->leases && zclock_mono () >= frontend_parked_due (self->frontend))
        frontend_leases_changed (self->frontend);
    return self->failed? -1: 0;
}

//  The actor's pipe carries the same handshake as a participant's: zactor's
//  own signal, then the verdict of the start (0 running, 1 failed), then,
//  only if the log fails later, a signal 1 when it has stopped
static void
s_actor (zsock_t *pipe, void *args)
{
    bool refused = false;
    core_t *self = s_self_new (pipe, (const coordinator_config_t *) args, &refused);
    zsock_signal (pipe, 0);
    zsock_signal (pipe, self? 0: refused? 2: 1);
    if (!self)
        return;
    //  with leases, the first tick takes partitions and resumes their sagas
    int resumed = 0;
    if (self->leases)
        coordinator_leases_tick (self);
    else
        resumed = s_recover (self);
    char partitions [CK_TEXT_SIZE] = "";
    if (self->leases)
        leases_ranges (self->leases, partitions, sizeof partitions);
    zsys_info ("coordinator: frontend=%s backend=%s events=%s db=%s resumed=%d curve=%s%s%s"
               "%s%s", self->config.frontend, self->config.backend, self->config.events,
               self->config.db, resumed, self->keyring? "on": "off",
               self->leases? " instance=": "", self->leases? self->config.instance: "",
               self->leases? " partitions=": "", partitions);
    int64_t due_ms = 0;
    while (!self->failed && s_turn (self, &due_ms) == 0)
        ;
    //  whatever the last turn wrote is committed by s_flush; nothing is in hand
    zsys_info ("coordinator: stopping in_flight=%zu expired=%" PRIu64,
               zhashx_size (self->by_saga), self->expired);
    bool failed = self->failed;
    s_self_destroy (&self);
    if (failed)
        zsock_signal (pipe, 1);         //  coordinator_failed's answer
}

struct _coordinator_t {
    zactor_t *actor;
};

coordinator_t *
coordinator_new (const coordinator_config_t *config)
{
    return coordinator_start (config, NULL);
}

coordinator_t *
coordinator_start (const coordinator_config_t *config, bool *refused)
{
    assert (config);
    coordinator_t *self = (coordinator_t *) zmalloc (sizeof (coordinator_t));
    self->actor = zactor_new (s_actor, (void *) config);
    int status = self->actor? zsock_wait (self->actor): 1;
    if (refused)
        *refused = status == 2;
    if (status != 0)
        coordinator_destroy (&self);
    return self;
}

void
coordinator_destroy (coordinator_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        zactor_destroy (&(*self_p)->actor);
        free (*self_p);
        *self_p = NULL;
    }
}

bool
coordinator_failed (coordinator_t *self, int timeout_ms)
{
    assert (self);
    zmq_pollitem_t item = { zsock_resolve (self->actor), 0, ZMQ_POLLIN, 0 };
    if (zmq_poll (&item, 1, timeout_ms) <= 0 || !(item.revents & ZMQ_POLLIN))
        return false;
    return zsock_wait (self->actor) != 0;
}

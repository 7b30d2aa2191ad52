/*  participant.c - the participant runtime: config, actor loop, stop
    Checks the config, runs the actor's turns, and stops gracefully.

    The actor's loop, one turn at a time: poll the pipe and every link's
    socket until the earliest deadline (a heartbeat, a liveness expiry, a
    reconnect, a parked request); take the parked requests that are due,
    then every message waiting on the sockets; run the batch (begin,
    handlers, commit, then replies); then the links' timers.  Connections
    live in participant_link.c, requests in hand in participant_batch.c.
*/
#include <stdio.h>
#include <string.h>
#include "checkout/participant.h"
#include "participant_batch.h"
#include "participant_link.h"
#include "checkout/codec.h"

#define DEFAULT_HEARTBEAT_IVL_MS    1000
#define DEFAULT_LIVENESS            3
#define DEFAULT_RECONNECT_MIN_MS    1000
#define DEFAULT_RECONNECT_MAX_MS    32000
#define DEFAULT_MAX_BATCH           64

//  idle () runs at least this often even when every turn has work
#define IDLE_EVERY_MS               1000

//  On stop, parked requests get their delay plus this, then are dropped
#define STOP_GRACE_MS               1000

//  Longest poll: a safety net, every real deadline is computed
#define MAX_POLL_MS                 1000

struct _ck_participant_t {
    zactor_t *actor;
};

//  The actor's state, built by ck_participant_new and owned by the actor
typedef struct {
    ck_participant_config_t config;     //  defaults applied; strings below
    char *instance;
    char *endpoints [CK_PARTICIPANT_MAX_ENDPOINTS];
    participant_link_t *links [CK_PARTICIPANT_MAX_ENDPOINTS];
    size_t link_count;
    participant_batch_t *batch;
    ck_buf_t ready [CK_PARTICIPANT_MAX_ENDPOINTS];    //  each link's READY body
    ck_buf_t update;                    //  a READY with update, to send at once
    ck_ready_t ready_template;          //  service and instance
    uint32_t shares [CK_PARTICIPANT_MAX_ENDPOINTS];   //  what each READY says
    bool alive [CK_PARTICIPANT_MAX_ENDPOINTS];        //  links alive at that split
    zsock_t *pipe;
    int64_t last_idle;
    bool stopping;
} self_t;

//  --------------------------------------------------------------------------
//  Configuration

static void
s_apply_defaults (ck_participant_config_t *config)
{
    if (!config->heartbeat_ivl_ms)
        config->heartbeat_ivl_ms = DEFAULT_HEARTBEAT_IVL_MS;
    if (!config->liveness)
        config->liveness = DEFAULT_LIVENESS;
    if (!config->reconnect_min_ms)
        config->reconnect_min_ms = DEFAULT_RECONNECT_MIN_MS;
    if (!config->reconnect_max_ms)
        config->reconnect_max_ms = DEFAULT_RECONNECT_MAX_MS;
    if (!config->max_batch)
        config->max_batch = DEFAULT_MAX_BATCH;
}

//  Returns what is wrong with the handlers, or NULL
static const char *
s_handlers_problem (const ck_participant_config_t *config)
{
    size_t served = 0;
    for (int type = CK_TYPE_NONE + 1; type < CK_TYPE_MAX; type++) {
        if (!config->handlers [type])
            continue;
        if (ck_type_service ((ck_type_t) type) != config->service)
            return "handlers: a request type of another service is set";
        served++;
    }
    if (config->handlers [CK_TYPE_NONE])
        return "handlers: the NONE slot is set";
    return served? NULL: "handlers: none set";
}

//  Returns what is wrong with the endpoints, or NULL
static const char *
s_endpoints_problem (const ck_participant_config_t *config)
{
    if (!config->endpoints || config->endpoint_count < 1
    ||  config->endpoint_count > CK_PARTICIPANT_MAX_ENDPOINTS)
        return "endpoints: need 1..16";
    for (size_t i = 0; i < config->endpoint_count; i++) {
        const char *endpoint = config->endpoints [i];
        if (!endpoint || !*endpoint || strlen (endpoint) > CK_TEXT_MAX)
            return "endpoints: empty or too long";
    }
    return NULL;
}

//  Returns what is wrong with the config (defaults applied), or NULL
static const char *
s_config_problem (const ck_participant_config_t *config)
{
    if (ck_service_name (config->service) == NULL)
        return "service: unknown";
    if (!config->instance || !ck_id_valid (config->instance, strlen (config->instance)))
        return "instance: must be 1..64 of [A-Za-z0-9._:-]";
    if (config->capacity < CK_MIN_CAPACITY || config->capacity > CK_MAX_CAPACITY)
        return "capacity: must be 1..1024";
    if (config->endpoints && config->capacity < config->endpoint_count)
        return "capacity: less than one per coordinator";
    if (config->reconnect_min_ms > config->reconnect_max_ms)
        return "reconnect_min_ms: exceeds reconnect_max_ms";
    if (config->max_batch > CK_PARTICIPANT_MAX_BATCH)
        return "max_batch: must be 1..1024";
    if (!config->batch_begin != !config->batch_commit
    ||  (config->batch_begin && !config->batch_rollback))
        return "batch hooks: set begin, commit and rollback, or none";
    const char *problem = s_endpoints_problem (config);
    return problem? problem: s_handlers_problem (config);
}

static void
s_self_destroy (self_t **self_p)
{
    self_t *self = *self_p;
    if (!self)
        return;
    for (size_t i = 0; i < CK_PARTICIPANT_MAX_ENDPOINTS; i++) {
        participant_link_destroy (&self->links [i]);
        free (self->endpoints [i]);
        ck_buf_free (&self->ready [i]);
    }
    ck_buf_free (&self->update);
    participant_batch_destroy (&self->batch);
    free (self->instance);
    free (self);
    *self_p = NULL;
}

//  Copies a checked config into a new actor state; NULL if READY won't encode
static self_t *
s_self_new (const ck_participant_config_t *config)
{
    self_t *self = (self_t *) zmalloc (sizeof (self_t));
    self->config = *config;
    self->instance = strdup (config->instance);
    self->config.instance = self->instance;
    self->link_count = config->endpoint_count;
    for (size_t i = 0; i < self->link_count; i++)
        self->endpoints [i] = strdup (config->endpoints [i]);
    self->config.endpoints = NULL;      //  the copies above are used instead
    self->batch = participant_batch_new (&self->config, self->links);
    for (size_t i = 0; i < CK_PARTICIPANT_MAX_ENDPOINTS; i++)
        ck_buf_init (&self->ready [i]);
    ck_buf_init (&self->update);
    self->last_idle = zclock_mono ();

    ck_ready_t *ready = &self->ready_template;
    ready->service = config->service;
    snprintf (ready->instance, sizeof ready->instance, "%s", config->instance);
    for (size_t i = 0; i < self->link_count; i++) {
        self->alive [i] = true;         //  as the links start
        ready->capacity = self->shares [i] =
            ck_participant_share (config->capacity, self->link_count, i);
        if (ck_encode_ready (ready, &self->ready [i]) == -1) {
            zsys_error ("participant: READY does not encode instance=%s", config->instance);
            s_self_destroy (&self);
            break;
        }
    }
    return self;
}

//  The coordinators do not know of each other: each dispatches up to the
//  capacity our READY gave it.  Shares that add up to the capacity keep
//  the sum of what they may send us at once within what we can hold.
uint32_t
ck_participant_share (uint32_t capacity, size_t count, size_t index)
{
    assert (count > 0 && index < count && capacity >= count);
    uint32_t share = (uint32_t) (capacity / count);
    return index < capacity % count? share + 1: share;
}

//  --------------------------------------------------------------------------
//  The actor

//  The shares when some coordinators are silent: each silent one keeps 1
//  (the least a READY says: its READY waits in a new socket and reaches it
//  the moment it is back), the live ones split the rest as above.  While
//  all are alive, or none (nothing to move), the static split.
static void
s_shares (self_t *self, const bool *alive, uint32_t *shares)
{
    size_t count = self->link_count, live = 0;
    for (size_t i = 0; i < count; i++)
        live += alive [i];
    uint32_t capacity = self->config.capacity;
    size_t rank = 0;
    for (size_t i = 0; i < count; i++)
        if (live == 0 || live == count)
            shares [i] = ck_participant_share (capacity, count, i);
        else
            shares [i] = alive [i]
                ? ck_participant_share (capacity - (uint32_t) (count - live), live, rank++)
                : 1;
}

//  When a coordinator goes silent or is heard again, splits the capacity
//  anew and sends READY with its new share on each link whose share
//  changed.  That READY says update, so that the coordinator keeps what it
//  has in flight here; the link's next connection sends the plain one.
//  The coordinators learn one by one: for the moment between a
//  share that grew and one that shrank, they may send a little more than
//  the capacity, which the runtime absorbs (over_capacity).
static void
s_resplit (self_t *self, int64_t now)
{
    bool alive [CK_PARTICIPANT_MAX_ENDPOINTS];
    bool changed = false;
    for (size_t i = 0; i < self->link_count; i++) {
        alive [i] = participant_link_alive (self->links [i]);
        changed = changed || alive [i] != self->alive [i];
    }
    if (!changed)
        return;
    uint32_t shares [CK_PARTICIPANT_MAX_ENDPOINTS];
    s_shares (self, alive, shares);
    for (size_t i = 0; i < self->link_count; i++) {
        self->alive [i] = alive [i];
        if (shares [i] == self->shares [i])
            continue;
        zsys_info ("participant: capacity share endpoint=%s alive=%s share=%u (was %u)",
                   participant_link_endpoint (self->links [i]), alive [i]? "yes": "no",
                   shares [i], self->shares [i]);
        ck_ready_t *ready = &self->ready_template;
        ready->capacity = self->shares [i] = shares [i];
        //  can't fail: the same fields encoded at the start
        int rc = ck_encode_ready (ready, &self->ready [i]);
        ready->update = true;
        rc |= ck_encode_ready (ready, &self->update);
        ready->update = false;
        assert (rc == 0);
        (void) rc;
        participant_link_ready_changed (self->links [i], &self->update, now);
    }
}

//  Takes every message waiting on the links, round robin, until the batch
//  is full; other messages are bounded too, so a flood can't starve timers.
static void
s_drain (self_t *self, int64_t now)
{
    size_t budget = (size_t) self->config.max_batch * 4;
    bool more = true;
    while (more && budget > 0 && !participant_batch_full (self->batch)) {
        more = false;
        for (size_t i = 0; i < self->link_count; i++) {
            if (budget == 0 || participant_batch_full (self->batch))
                break;
            ck_message_t message;
            if (participant_link_recv (self->links [i], &message, now) == 0) {
                participant_batch_message (self->batch, i, &message, now);
                ck_message_close (&message);
                budget--;
                more = true;
            }
        }
    }
}

//  Milliseconds until the earliest deadline in our state
static long
s_timeout (self_t *self, int64_t now)
{
    int64_t next = participant_batch_next_due (self->batch);
    for (size_t i = 0; i < self->link_count; i++) {
        int64_t deadline = participant_link_deadline (self->links [i]);
        if (deadline < next)
            next = deadline;
    }
    if (next <= now)
        return 0;
    return next - now < MAX_POLL_MS? (long) (next - now): MAX_POLL_MS;
}

static void
s_handle_pipe (self_t *self)
{
    zmsg_t *msg = zmsg_recv (self->pipe);
    if (!msg)
        return;                         //  interrupted
    char *command = zmsg_popstr (msg);
    if (command && streq (command, "$TERM"))
        self->stopping = true;
    else
    if (command && streq (command, "STATS")) {
        ck_participant_stats_t stats = *participant_batch_stats (self->batch);
        stats.in_hand = participant_batch_parked (self->batch);
        for (size_t i = 0; i < self->link_count; i++)
            stats.reconnects += participant_link_reconnects (self->links [i]);
        zframe_t *frame = zframe_new (&stats, sizeof stats);
        zframe_send (&frame, self->pipe, 0);
    }
    else {
        zsys_error ("participant: unknown pipe command=%s", command? command: "-");
        assert (false);
    }
    free (command);
    zmsg_destroy (&msg);
}

static void
s_idle (self_t *self, bool handled, int64_t now)
{
    void *state = self->config.batch_state? self->config.batch_state: self->config.state;
    if (handled && self->config.after_batch)
        self->config.after_batch (state);
    if (!self->config.idle)
        return;
    if (!handled || now - self->last_idle >= IDLE_EVERY_MS) {
        self->config.idle (state);
        self->last_idle = now;
    }
}

//  One turn of the loop.  Returns 0, or -1 when the context is gone.
static int
s_turn (self_t *self)
{
    zmq_pollitem_t items [1 + CK_PARTICIPANT_MAX_ENDPOINTS];
    int count = 0;
    items [count++] = (zmq_pollitem_t) { zsock_resolve (self->pipe), 0, ZMQ_POLLIN, 0 };
    for (size_t i = 0; i < self->link_count; i++) {
        zsock_t *sock = participant_link_socket (self->links [i]);
        if (sock)
            items [count++] = (zmq_pollitem_t) { zsock_resolve (sock), 0, ZMQ_POLLIN, 0 };
    }
    //  EINTR is a signal: main decides when we stop, by destroying us
    if (zmq_poll (items, count, s_timeout (self, zclock_mono ())) == -1)
        return zmq_errno () == ETERM? -1: 0;
    if (items [0].revents & ZMQ_POLLIN)
        s_handle_pipe (self);
    if (self->stopping)
        return 0;
    int64_t now = zclock_mono ();
    participant_batch_take_due (self->batch, now);
    s_drain (self, now);
    bool handled = participant_batch_run (self->batch) > 0;
    now = zclock_mono ();
    for (size_t i = 0; i < self->link_count; i++)
        participant_link_tick (self->links [i], now);
    s_resplit (self, now);
    s_idle (self, handled, now);
    return 0;
}

//  The graceful stop: DISCONNECT first, then the parked requests as they
//  come due, for at most the longest delay + STOP_GRACE_MS.
static void
s_finish (self_t *self)
{
    for (size_t i = 0; i < self->link_count; i++)
        participant_link_stop (self->links [i]);
    participant_batch_t *batch = self->batch;
    int64_t deadline = zclock_mono ();
    if (participant_batch_last_due (batch) > deadline)
        deadline = participant_batch_last_due (batch);
    deadline += STOP_GRACE_MS;
    while (participant_batch_parked (batch) > 0) {
        int64_t now = zclock_mono ();
        if (now >= deadline) {
            zsys_warning ("participant: stop dropped parked=%zu",
                          participant_batch_parked (batch));
            break;
        }
        participant_batch_take_due (batch, now);
        participant_batch_run (batch);
        int64_t next = participant_batch_next_due (batch);
        if (next > deadline)
            next = deadline;
        if (next > now)
            zclock_sleep ((int) (next - now));
    }
}

//  Connects every link.  Returns 0, or -1 if an endpoint was refused.
static int
s_start_links (self_t *self)
{
    for (size_t i = 0; i < self->link_count; i++) {
        participant_link_config_t config = {
            .endpoint = self->endpoints [i], .instance = self->instance, .index = i,
            .ready = &self->ready [i], .heartbeat_ivl_ms = self->config.heartbeat_ivl_ms,
            .liveness = self->config.liveness,
            .reconnect_min_ms = self->config.reconnect_min_ms,
            .reconnect_max_ms = self->config.reconnect_max_ms,
            .curve = &self->config.curve,
            .verbose = self->config.verbose
        };
        self->links [i] = participant_link_new (&config);
        if (participant_link_start (self->links [i], zclock_mono ()) == -1)
            return -1;
    }
    return 0;
}

//  The heartbeats that are due, from inside a store's wait for a lock:
//  only sends, never reads (the loop is in the middle of a batch)
static void
s_keepalive (void *arg)
{
    self_t *self = (self_t *) arg;
    int64_t now = zclock_mono ();
    for (size_t i = 0; i < self->link_count; i++)
        participant_link_keepalive (self->links [i], now);
}

static void
s_actor (zsock_t *pipe, void *args)
{
    self_t *self = (self_t *) args;
    self->pipe = pipe;
    int rc = s_start_links (self);
    if (rc == 0 && self->config.set_keepalive)
        self->config.set_keepalive (self->config.batch_state? self->config.batch_state
                                                           : self->config.state,
                                    s_keepalive, self);
    zsock_signal (pipe, 0);             //  zactor_new's handshake
    zsock_signal (pipe, rc == 0? 0: 1); //  ck_participant_new's verdict
    if (rc == 0) {
        zsys_info ("participant: started service=%s instance=%s capacity=%u endpoints=%zu",
                   ck_service_name (self->config.service), self->instance,
                   self->config.capacity, self->link_count);
        while (!self->stopping && s_turn (self) == 0)
            ;
        if (self->stopping)
            s_finish (self);
        zsys_info ("participant: stopped instance=%s", self->instance);
    }
    s_self_destroy (&self);
}

//  --------------------------------------------------------------------------
//  Public API

ck_participant_t *
ck_participant_new (const ck_participant_config_t *config)
{
    assert (config);
    ck_participant_config_t checked = *config;
    s_apply_defaults (&checked);
    const char *problem = s_config_problem (&checked);
    if (problem) {
        zsys_error ("participant: bad config: %s", problem);
        return NULL;
    }
    self_t *state = s_self_new (&checked);
    if (!state)
        return NULL;
    ck_participant_t *self = (ck_participant_t *) zmalloc (sizeof (ck_participant_t));
    self->actor = zactor_new (s_actor, state);
    if (!self->actor || zsock_wait (self->actor) != 0) {
        //  The actor has freed its state and returned
        zactor_destroy (&self->actor);
        free (self);
        return NULL;
    }
    return self;
}

void
ck_participant_destroy (ck_participant_t **self_p)
{
    assert (self_p);
    ck_participant_t *self = *self_p;
    if (self) {
        zactor_destroy (&self->actor);
        free (self);
        *self_p = NULL;
    }
}

int
ck_participant_stats (ck_participant_t *self, ck_participant_stats_t *out)
{
    assert (self && out);
    if (zstr_send (self->actor, "STATS") == -1)
        return -1;
    zframe_t *frame = zframe_recv (self->actor);
    if (!frame)
        return -1;
    int rc = -1;
    if (zframe_size (frame) == sizeof *out) {
        memcpy (out, zframe_data (frame), sizeof *out);
        rc = 0;
    }
    zframe_destroy (&frame);
    return rc;
}

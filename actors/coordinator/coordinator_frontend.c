/*  coordinator_frontend.c - the coordinator's clients (frontend ROUTER)
    CHECKOUT with dedupe and admission, STATUS with history, PING, errors.

    One saga per checkout_id (docs/protocol.md#client-guarantees): a running saga
    is found in memory, an ended one in the saga log.  A repeat with the
    same cart joins the running saga's waiters or gets the ended saga's
    RESULT again; a repeat with another cart is a conflict.
*/
#include "coordinator_internal.h"

//  Messages queued per client connection: the loop drains a few hundred a
//  turn, so a deeper queue would only hold memory for one greedy client
#define FRONTEND_RCVHWM 1000
//  Replies queued per client connection that it has not read: above two
//  turns' worth (a reading client never gets near it), far below what let
//  four clients that never read take 280 MB.  Past it a reply is dropped
//  and counted; with MAX_CLIENTS this bounds the frontend's queues (see
//  docs/reliability.md for the ceiling)
#define FRONTEND_SNDHWM 1000
//  With several coordinators: a request for a partition no coordinator
//  holds right now (its owner died and its lease has not run out) waits
//  here at most this long, for this coordinator to take it, rather than
//  bounce; past it, or past PARKED_MAX waiting, it is answered not_owner
#define PARKED_MS  (LEASES_TTL_MS + 2 * LEASES_RENEW_MS)
#define PARKED_MAX 10000

//  A client message waiting for its partition
typedef struct {
    ck_message_t message;
    int64_t since_ms;
} parked_t;

struct _frontend_t {
    core_t *core;
    zsock_t *socket;                    //  ROUTER, bound
    ck_buf_t body;                      //  scratch encode buffer
    ck_result_t *result;                //  scratch RESULT (large)
    zlist_t *deferred;                  //  ck_message_t * to answer after commit
    char id_tag [16];                   //  saga ids: time + this process' tag
    uint64_t id_last_us;
    operator_t *operator_;              //  LIST, DESCRIBE, RETRY, CANCEL
    ck_message_t *inbox;                //  a turn's messages, when prefetching
    size_t inbox_size;
    char (*ids) [CK_ID_SIZE];           //  their new checkout_ids
    const char **id_list;
    ck_checkout_t *checkout;            //  scratch
    zlist_t *parked;                    //  parked_t *, oldest first
    int64_t handling_since_ms;          //  the message being handled waits since
    bool park;                          //  and is to wait for its partition
};

//  FNV-1a over bytes, continuing from hash
static uint64_t
s_fnv (uint64_t hash, const void *bytes, size_t size)
{
    const uint8_t *p = (const uint8_t *) bytes;
    for (size_t i = 0; i < size; i++)
        hash = (hash ^ p [i]) * 1099511628211ULL;
    return hash;
}

static uint64_t
s_fnv_str (uint64_t hash, const char *s)
{
    return s_fnv (hash, s, strlen (s) + 1);     //  the NUL separates fields
}

//  The cart's fingerprint: every field of a CHECKOUT but checkout_id and ack
static uint64_t
s_cart_digest (const ck_checkout_t *checkout)
{
    uint64_t hash = 14695981039346656037ULL;
    hash = s_fnv_str (hash, checkout->cart_id);
    hash = s_fnv_str (hash, checkout->customer_id);
    hash = s_fnv_str (hash, checkout->currency);
    hash = s_fnv_str (hash, checkout->payment_method);
    hash = s_fnv_str (hash, checkout->ship_to.country);
    hash = s_fnv (hash, &checkout->amount, sizeof checkout->amount);
    for (uint32_t i = 0; i < checkout->item_count; i++) {
        hash = s_fnv_str (hash, checkout->items [i].sku);
        hash = s_fnv (hash, &checkout->items [i].qty, sizeof checkout->items [i].qty);
        hash = s_fnv (hash, &checkout->items [i].unit_price,
                      sizeof checkout->items [i].unit_price);
    }
    return hash;
}

//  A reply to a client whose queue is full (FRONTEND_SNDHWM messages it
//  has not read), or who is gone, is dropped and counted: the coordinator
//  never blocks on, nor holds more for, one client
static void
s_send_body (frontend_t *self, const peer_id_t *peer, ck_command_t command,
             const ck_buf_t *body)
{
    if (ck_frame_send (self->socket, peer->bytes, peer->size, CK_PROTO_CLIENT, command,
                       body->data, body->size) == 0)
        return;
    self->core->counters.dropped++;
    if (errno == EAGAIN)
        log_limit_warning ("coordinator: frontend reply dropped: the client reads too "
                           "slowly command=%s dropped=%" PRIu64,
                           ck_command_name (command), self->core->counters.dropped);
}

static void
s_send (frontend_t *self, const peer_id_t *peer, ck_command_t command)
{
    s_send_body (self, peer, command, &self->body);
}

static void
s_error (frontend_t *self, const peer_id_t *peer, ck_error_code_t code,
         const char *message, const char *checkout_id)
{
    ck_error_t error = { .code = code };
    snprintf (error.message, sizeof error.message, "%s", message);
    if (checkout_id)
        snprintf (error.checkout_id, sizeof error.checkout_id, "%s", checkout_id);
    if (ck_encode_error (&error, &self->body) == 0)
        s_send (self, peer, CK_CMD_ERROR);
}

static void
s_result_to (frontend_t *self, const peer_id_t *peer, const ck_result_t *result)
{
    if (ck_encode_result (result, &self->body) == 0)
        s_send (self, peer, CK_CMD_RESULT);
    else
        zsys_error ("coordinator: saga=%s RESULT does not encode", result->saga_id);
}

//  A client is a waiter once, however often it repeats the CHECKOUT: it
//  gets one RESULT when the saga ends
static void
s_add_waiter (entry_t *entry, const peer_id_t *peer)
{
    for (uint8_t i = 0; i < entry->waiter_count; i++)
        if (entry->waiters [i].size == peer->size
        &&  memcmp (entry->waiters [i].bytes, peer->bytes, peer->size) == 0)
            return;
    //  past MAX_WAITERS a client is not remembered: it gets the RESULT by
    //  asking again, and memory stays bounded whatever clients send
    if (entry->waiter_count < MAX_WAITERS)
        entry->waiters [entry->waiter_count++] = *peer;
}

//  Fills the scratch RESULT from an ended saga in the log; -1 if it can't
static int
s_logged_result (frontend_t *self, const char *saga_id)
{
    saga_t *saga = saga_log_load (self->core->log, saga_id);
    if (!saga)
        return -1;
    saga_engine_result (self->core->engine, saga, self->result);
    saga_destroy (&saga);
    return 0;
}

static void
s_accepted_to (frontend_t *self, entry_t *entry, const peer_id_t *peer)
{
    ck_accepted_t accepted = { 0 };
    memcpy (accepted.checkout_id, entry->saga->checkout_id, CK_ID_SIZE);
    memcpy (accepted.saga_id, entry->saga->saga_id, CK_ID_SIZE);
    if (ck_encode_accepted (&accepted, &self->body) == 0)
        s_send (self, peer, CK_CMD_ACCEPTED);
}

//  A CHECKOUT of a known checkout_id: the running saga (entry), or the
//  ended one the log holds (saga_id, logged_digest)
static void
s_checkout_known (frontend_t *self, const peer_id_t *peer, const ck_checkout_t *checkout,
                  uint64_t digest, entry_t *entry, const char *saga_id,
                  uint64_t logged_digest)
{
    if (entry) {
        if (entry->cart_digest != digest) {
            s_error (self, peer, CK_CONFLICT, "checkout_id is used by a different cart",
                     checkout->checkout_id);
            return;
        }
        s_add_waiter (entry, peer);
        if (checkout->ack && !entry->done)
            s_accepted_to (self, entry, peer);   //  it is durable already
        return;
    }
    if (s_logged_result (self, saga_id)) {
        s_error (self, peer, CK_OVERLOADED, "the saga log could not be read: retry later",
                 checkout->checkout_id);
        return;
    }
    if (logged_digest != digest)
        s_error (self, peer, CK_CONFLICT, "checkout_id is used by a different cart",
                 checkout->checkout_id);
    else
        s_result_to (self, peer, self->result);
}

//  A saga that no instance of one of its services would take is refused
//  now rather than left to time out: the client hears why and retries
//  later.  True when refused.
static bool
s_unserved (frontend_t *self, const peer_id_t *peer, const char *checkout_id)
{
    int64_t for_ms = 0;
    ck_service_t services [CK_MAX_STEPS];
    if (backend_unserved (self->core->backend, saga_engine_def (self->core->engine),
                          zclock_mono (), services, &for_ms) == 0)
        return false;
    const char *service = ck_service_name (services [0]);
    self->core->counters.overloaded++;
    char message [CK_TEXT_SIZE];
    snprintf (message, sizeof message, "no %s instance has been connected for %lld ms:"
              " retry later", service, (long long) for_ms);
    s_error (self, peer, CK_OVERLOADED, message, checkout_id);
    log_limit_warning ("coordinator: checkout refused: no %s instance", service);
    return true;
}

//  Answers a CHECKOUT.  Returns false when the answer must wait for the
//  turn's commit: a known checkout_id's answer reads the saga's state,
//  which must not show a transition the turn has not committed yet.
static bool
s_checkout (frontend_t *self, const peer_id_t *peer, const ck_frame_t *frame, bool committed)
{
    ck_checkout_t checkout;
    ck_decode_error_t err;
    if (ck_decode_checkout (frame->body, frame->body_size, &checkout, &err)) {
        self->core->counters.bad_messages++;
        s_error (self, peer, err.code, err.message,
                 checkout.checkout_id [0]? checkout.checkout_id: NULL);
        return true;
    }
    if (frontend_not_mine (self, peer, checkout.checkout_id))
        return true;
    uint64_t digest = s_cart_digest (&checkout);
    char saga_id [CK_ID_SIZE];
    uint64_t logged_digest = 0;
    entry_t *entry = (entry_t *) zhashx_lookup (self->core->by_checkout, checkout.checkout_id);
    int logged = entry? 0: saga_log_find_checkout (self->core->log, checkout.checkout_id,
                                                  saga_id, &logged_digest);
    if (logged < 0) {
        //  not knowing whether it exists, a new saga might be its second
        s_error (self, peer, CK_OVERLOADED, "the saga log could not be read: retry later",
                 checkout.checkout_id);
        return true;
    }
    if (entry || logged) {
        if (!committed && self->core->in_transaction)
            return false;
        s_checkout_known (self, peer, &checkout, digest, entry, saga_id, logged_digest);
        return true;
    }
    if (zhashx_size (self->core->by_saga) >= self->core->config.max_inflight) {
        self->core->counters.overloaded++;
        s_error (self, peer, CK_OVERLOADED, "too many checkouts in flight: retry later",
                 checkout.checkout_id);
        return true;
    }
    if (s_unserved (self, peer, checkout.checkout_id))
        return true;
    //  The creation time in microseconds, fixed width, strictly growing in
    //  this process, then its random tag: ids sort in creation order across
    //  restarts and coordinators (as far as their clocks agree), so the log
    //  appends and LIST reads newest first; the tag keeps two coordinators'
    //  ids apart even in the same microsecond
    uint64_t now_us = coordinator_wall_us ();
    self->id_last_us = now_us > self->id_last_us? now_us: self->id_last_us + 1;
    snprintf (saga_id, sizeof saga_id, "sg-%013llx-%s",
              (unsigned long long) self->id_last_us, self->id_tag);
    saga_t *saga = saga_new (saga_id, &checkout);
    if (!saga) {
        s_error (self, peer, CK_OVERLOADED, "out of memory: retry later", checkout.checkout_id);
        return true;
    }
    entry = coordinator_entry_new (self->core, saga, digest);
    entry->ack = checkout.ack;
    s_add_waiter (entry, peer);
    saga_actions_t actions;
    saga_engine_accept (self->core->engine, saga, coordinator_clock (), &actions);
    coordinator_apply (self->core, entry, &actions);
    if (self->core->config.verbose)
        zsys_debug ("coordinator: checkout=%s saga=%s accepted", checkout.checkout_id, saga_id);
    return true;
}

static void
s_status (frontend_t *self, const peer_id_t *peer, const ck_frame_t *frame)
{
    ck_status_request_t request;
    ck_decode_error_t err;
    if (ck_decode_status_request (frame->body, frame->body_size, &request, &err)) {
        self->core->counters.bad_messages++;
        s_error (self, peer, err.code, err.message, NULL);
        return;
    }
    if (frontend_not_mine (self, peer, request.checkout_id))
        return;
    entry_t *entry = (entry_t *) zhashx_lookup (self->core->by_checkout, request.checkout_id);
    char saga_id [CK_ID_SIZE];
    uint64_t digest;
    if (entry) {
        saga_engine_result (self->core->engine, entry->saga, self->result);
        memcpy (saga_id, entry->saga->saga_id, CK_ID_SIZE);
    }
    else {
        int found = saga_log_find_checkout (self->core->log, request.checkout_id, saga_id, &digest);
        if (found == 0) {
            s_error (self, peer, CK_UNKNOWN_CHECKOUT, "no checkout with this checkout_id",
                     request.checkout_id);
            return;
        }
        if (found < 0 || s_logged_result (self, saga_id)) {
            s_error (self, peer, CK_OVERLOADED, "the saga log could not be read: retry later",
                     request.checkout_id);
            return;
        }
    }
    uint64_t total = 0;
    int count = saga_log_history (self->core->log, saga_id, self->result->history,
                                  CK_MAX_HISTORY, &total);
    self->result->history_count = count > 0? (uint32_t) count: 0;
    s_result_to (self, peer, self->result);
}

static void
s_ping (frontend_t *self, const peer_id_t *peer)
{
    ck_pong_t pong = { .uptime_ms = ((uint64_t) zclock_usecs () - self->core->started_us) / 1000 };
    snprintf (pong.version, sizeof pong.version, "%s", CK_VERSION);
    int64_t for_ms = 0;
    pong.unserved_count = (uint32_t) backend_unserved (self->core->backend,
        saga_engine_def (self->core->engine), zclock_mono (), pong.unserved, &for_ms);
    if (ck_encode_pong (&pong, &self->body) == 0)
        s_send (self, peer, CK_CMD_PONG);
}

//  Handles one client message.  Before the turn's commit (committed
//  With CURVE, the roles that may send a command (docs/protocol.md,
//  Security).  The operator's commands belong to "admin": add them here.
static const char *
s_command_roles (ck_command_t command)
{
    switch (command) {
        case CK_CMD_CHECKOUT: return "client";
        case CK_CMD_STATUS:   return "client admin";
        case CK_CMD_PING:     return "client admin";
        default:              return "admin";
    }
}

//  True when the key the peer's connection authenticated with holds a role
//  that may send command; else tells it ERROR forbidden, publishes
//  security.refused and returns false.  Always true without CURVE.
static bool
s_allowed (frontend_t *self, ck_message_t *message, const ck_frame_t *frame,
           const peer_id_t *peer)
{
    if (!self->core->keyring)
        return true;
    const char *key = ck_message_user_id (message);
    const char *roles = s_command_roles (frame->command);
    if (coordinator_allows (self->core, roles, key))
        return true;
    events_refused (self->core->events, key, "frontend", ck_command_name (frame->command),
                    roles, NULL, "the key does not hold the role");
    s_error (self, peer, CK_FORBIDDEN, ck_error_code_text (CK_FORBIDDEN), NULL);
    return false;
}

//  false), a message whose answer reads saga state is kept for after the
//  commit instead: its parts move to self->deferred, leaving message empty.
static void
s_handle (frontend_t *self, ck_message_t *message, bool committed)
{
    ck_frame_t frame = { .command = CK_CMD_NONE };
    ck_decode_error_t err;
    int rc = ck_message_parse (message, CK_PROTO_CLIENT, true, &frame, &err);
    peer_id_t peer = { .size = 0 };
    if (frame.routing_id && frame.routing_id_size <= sizeof peer.bytes) {
        memcpy (peer.bytes, frame.routing_id, frame.routing_id_size);
        peer.size = (uint8_t) frame.routing_id_size;
    }
    if (rc) {
        self->core->counters.bad_messages++;
        log_limit_warning ("coordinator: frontend bad message: %s", err.message);
        if (peer.size)
            s_error (self, &peer, err.code, err.message, NULL);
        return;
    }
    if (!s_allowed (self, message, &frame, &peer))
        return;
    bool answered = true;
    switch (frame.command) {
        case CK_CMD_CHECKOUT:
            answered = s_checkout (self, &peer, &frame, committed);
            break;
        case CK_CMD_STATUS:
            //  its answer reads saga state: never an uncommitted one
            answered = committed || !self->core->in_transaction;
            if (answered)
                s_status (self, &peer, &frame);
            break;
        case CK_CMD_PING: s_ping (self, &peer); break;
        default:
            //  ck_frame_parse lets no other command through but the
            //  operator's, which read saga state (or change it) committed
            assert (operator_command (frame.command));
            answered = committed;
            if (answered)
                operator_handle (self->operator_, &peer, &frame, self->core->keyring
                                 ? ck_message_user_id (message): NULL);
            break;
    }
    if (self->park) {
        self->park = false;
        parked_t *parked = (parked_t *) malloc (sizeof (parked_t));
        assert (parked);
        ck_message_move (&parked->message, message);
        parked->since_ms = self->handling_since_ms? self->handling_since_ms: zclock_mono ();
        zlist_append (self->parked, parked);
    }
    else
    if (!answered) {
        //  kept, to be handled after the commit
        ck_message_t *kept = (ck_message_t *) malloc (sizeof (ck_message_t));
        assert (kept);
        ck_message_move (kept, message);
        zlist_append (self->deferred, kept);
    }
}


//  Looks up together, in the log, the checkout_ids of the CHECKOUTs among
//  messages that no running saga has: on PostgreSQL one round trip for
//  the turn instead of one per new checkout
static void
s_prefetch (frontend_t *self, ck_message_t *messages, size_t count)
{
    size_t ids = 0;
    for (size_t index = 0; index < count; index++) {
        ck_frame_t frame = { .command = CK_CMD_NONE };
        ck_decode_error_t err;
        if (ck_message_parse (&messages [index], CK_PROTO_CLIENT, true, &frame, &err)
        ||  frame.command != CK_CMD_CHECKOUT
        ||  ck_decode_checkout (frame.body, frame.body_size, self->checkout, &err)
        ||  zhashx_lookup (self->core->by_checkout, self->checkout->checkout_id))
            continue;
        memcpy (self->ids [ids], self->checkout->checkout_id, CK_ID_SIZE);
        self->id_list [ids] = self->ids [ids];
        ids++;
    }
    if (ids > 1)
        saga_log_prefetch (self->core->log, self->id_list, ids);
}

//  Makes room for size messages in the inbox
static void
s_inbox_grow (frontend_t *self, size_t size)
{
    if (size <= self->inbox_size)
        return;
    free (self->inbox);
    free (self->ids);
    free (self->id_list);
    self->inbox = (ck_message_t *) malloc (size * sizeof (ck_message_t));
    self->ids = (char (*) [CK_ID_SIZE]) malloc (size * CK_ID_SIZE);
    self->id_list = (const char **) malloc (size * sizeof (char *));
    assert (self->inbox && self->ids && self->id_list);
    self->inbox_size = size;
}

//  Takes up to max_messages waiting client messages, without blocking.
//  (Asking ZMQ_EVENTS first would cost two system calls per message; a
//  zmsg, a dozen allocations.)  When the log can prefetch, all are read
//  first and their new checkouts looked up together.
void
frontend_receive (frontend_t *self, int max_messages)
{
    void *socket = zsock_resolve (self->socket);
    if (!self->core->log->prefetch) {
        ck_message_t message;
        for (int n = 0; n < max_messages && ck_message_recv (&message, socket) == 0; n++) {
            s_handle (self, &message, false);
            ck_message_close (&message);
        }
        return;
    }
    s_inbox_grow (self, (size_t) max_messages);
    size_t count = 0;
    while (count < (size_t) max_messages && ck_message_recv (&self->inbox [count], socket) == 0)
        count++;
    s_prefetch (self, self->inbox, count);
    for (size_t index = 0; index < count; index++) {
        s_handle (self, &self->inbox [index], false);
        ck_message_close (&self->inbox [index]);
    }
    saga_log_prefetch (self->core->log, NULL, 0);
}

//  What waited for the commit reads durable state now; each answer's own
//  transitions are flushed before the next
void
frontend_after_commit (frontend_t *self)
{
    ck_message_t *deferred;
    while (!self->core->failed && (deferred = (ck_message_t *) zlist_pop (self->deferred))) {
        s_handle (self, deferred, true);
        ck_message_close (deferred);
        free (deferred);
        coordinator_flush (self->core);
    }
}

//  Sends the saga's RESULT to every client waiting for it, then forgets them
void
frontend_send_result (frontend_t *self, entry_t *entry, ck_status_t status)
{
    saga_engine_result (self->core->engine, entry->saga, self->result);
    self->result->status = status;
    for (uint8_t i = 0; i < entry->waiter_count; i++)
        s_result_to (self, &entry->waiters [i], self->result);
    entry->waiter_count = 0;
}

//  ACCEPTED to the clients waiting, if the client asked for it
void
frontend_send_accepted (frontend_t *self, entry_t *entry)
{
    if (entry->ack)
        for (uint8_t i = 0; i < entry->waiter_count; i++)
            s_accepted_to (self, entry, &entry->waiters [i]);
}

void
frontend_send (frontend_t *self, const peer_id_t *peer, ck_command_t command,
               const ck_buf_t *body)
{
    s_send_body (self, peer, command, body);
}

void
frontend_error (frontend_t *self, const peer_id_t *peer, ck_error_code_t code,
                const char *message, const char *checkout_id)
{
    s_error (self, peer, code, message, checkout_id);
}

bool
frontend_not_mine (frontend_t *self, const peer_id_t *peer, const char *checkout_id)
{
    leases_t *leases = self->core->leases;
    if (!leases)
        return false;
    uint32_t partition = ck_partition_of (checkout_id, leases_count (leases));
    if (leases_held (leases, partition))
        return false;
    const char *owner = leases_owner (leases, partition);
    int64_t since_ms = self->handling_since_ms? self->handling_since_ms: zclock_mono ();
    if (!*owner && zclock_mono () - since_ms < PARKED_MS
    &&  zlist_size (self->parked) < PARKED_MAX) {
        self->park = true;
        return true;
    }
    frontend_not_owner (self, peer, checkout_id, owner);
    return true;
}

void
frontend_leases_changed (frontend_t *self)
{
    if (zlist_size (self->parked) == 0)
        return;
    zlist_t *waiting = self->parked;
    self->parked = zlist_new ();
    parked_t *parked;
    while (!self->core->failed && (parked = (parked_t *) zlist_pop (waiting))) {
        self->handling_since_ms = parked->since_ms;
        s_handle (self, &parked->message, true);
        self->handling_since_ms = 0;
        ck_message_close (&parked->message);
        free (parked);
        coordinator_flush (self->core);
    }
    while ((parked = (parked_t *) zlist_pop (waiting))) {
        ck_message_close (&parked->message);
        free (parked);
    }
    zlist_destroy (&waiting);
}

int64_t
frontend_parked_due (frontend_t *self)
{
    parked_t *oldest = (parked_t *) zlist_first (self->parked);
    return oldest? oldest->since_ms + PARKED_MS: INT64_MAX;
}

void
frontend_not_owner (frontend_t *self, const peer_id_t *peer, const char *checkout_id,
                    const char *owner)
{
    ck_error_t error = { .code = CK_NOT_OWNER };
    snprintf (error.message, sizeof error.message, "%s", *owner
              ? "another coordinator runs this checkout: send it to owner"
              : "no coordinator runs this checkout right now: retry shortly");
    snprintf (error.checkout_id, sizeof error.checkout_id, "%s", checkout_id);
    snprintf (error.owner, sizeof error.owner, "%s", owner);
    if (ck_encode_error (&error, &self->body) == 0)
        s_send (self, peer, CK_CMD_ERROR);
}

zsock_t *
frontend_socket (frontend_t *self)
{
    return self->socket;
}

frontend_t *
frontend_new (core_t *core)
{
    frontend_t *self = (frontend_t *) zmalloc (sizeof (frontend_t));
    self->core = core;
    ck_buf_init (&self->body);
    self->result = (ck_result_t *) zmalloc (sizeof (ck_result_t));
    self->deferred = zlist_new ();
    self->parked = zlist_new ();
    self->checkout = (ck_checkout_t *) zmalloc (sizeof (ck_checkout_t));
    zuuid_t *uuid = zuuid_new ();
    snprintf (self->id_tag, sizeof self->id_tag, "%.8s", uuid? zuuid_str_canonical (uuid): "0");
    zuuid_destroy (&uuid);
    self->socket = coordinator_socket (core, ZMQ_ROUTER, "frontend",
                                     FRONTEND_SNDHWM, FRONTEND_RCVHWM, true);
    self->operator_ = operator_new (core, self);
    if (!self->socket)
        frontend_destroy (&self);
    return self;
}

void
frontend_destroy (frontend_t **self_p)
{
    assert (self_p);
    frontend_t *self = *self_p;
    if (!self)
        return;
    ck_message_t *message;
    while ((message = (ck_message_t *) zlist_pop (self->deferred))) {
        ck_message_close (message);
        free (message);
    }
    zlist_destroy (&self->deferred);
    parked_t *parked;
    while ((parked = (parked_t *) zlist_pop (self->parked))) {
        ck_message_close (&parked->message);
        free (parked);
    }
    zlist_destroy (&self->parked);
    operator_destroy (&self->operator_);
    free (self->inbox);
    free (self->ids);
    free (self->id_list);
    free (self->checkout);
    zsock_destroy (&self->socket);
    ck_buf_free (&self->body);
    free (self->result);
    free (self);
    *self_p = NULL;
}

/*  test_participant.c - the participant runtime against a test coordinator
    READY, heartbeats, reconnects, dispatch, bad input, group commit, delays, stop.

    The test process plays the coordinator with its own ROUTER, bound on an
    ephemeral tcp port (or a unique ipc path), and the runtime serves an
    in-memory inventory whose hooks record what happened and when.
*/
#include <criterion/criterion.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "checkout/participant.h"
#include "checkout/codec.h"
#include "frame.h"

#define IVL_MS          100             //  heartbeat interval in every test
#define MAX_SAGAS       64

//  --------------------------------------------------------------------------
//  The in-memory participant state; hooks run in the runtime's thread

typedef struct {
    pthread_mutex_t lock;
    int handled;
    int begins;
    int commits;
    int rollbacks;
    int idles;
    bool fail_begin;
    bool fail_commit;
    int commit_sleep_ms;
    int batch_of [MAX_SAGAS];           //  commits done when saga g-<n> was handled
} tstate_t;

static tstate_t s_state;

//  Saga ids tell the handler what to do: "rej-*" is refused, "boom-*"
//  fails technically, "noid-*" forgets its result id, "slow-*" is delayed
//  300 ms, "g-<n>" is recorded.
static int
s_reserve (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    tstate_t *self = (tstate_t *) state;
    pthread_mutex_lock (&self->lock);
    self->handled++;
    int n;
    if (sscanf (request->saga_id, "g-%d", &n) == 1 && n >= 0 && n < MAX_SAGAS)
        self->batch_of [n] = self->commits;
    pthread_mutex_unlock (&self->lock);
    if (strncmp (request->saga_id, "boom", 4) == 0) {
        snprintf (reply->reason.message, sizeof reply->reason.message, "disk on fire");
        return -1;
    }
    if (strncmp (request->saga_id, "rej", 3) == 0) {
        reply->outcome = CK_OUTCOME_REJECTED;
        snprintf (reply->reason.code, sizeof reply->reason.code, "out_of_stock");
        snprintf (reply->reason.sku, sizeof reply->reason.sku, "%s", request->items [0].sku);
        return 0;
    }
    reply->outcome = CK_OUTCOME_OK;
    if (strncmp (request->saga_id, "noid", 4) == 0)
        return 0;                       //  a bug: ok without its result id
    snprintf (reply->result_id, sizeof reply->result_id, "res-%.60s",
              request->saga_id);
    return 0;
}

static int
s_release (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    (void) state; (void) request;
    reply->outcome = CK_OUTCOME_OK;
    return 0;
}

static int
s_begin (void *state)
{
    tstate_t *self = (tstate_t *) state;
    pthread_mutex_lock (&self->lock);
    self->begins++;
    bool fail = self->fail_begin;
    pthread_mutex_unlock (&self->lock);
    return fail? -1: 0;
}

//  Sleeps first, so that a reply sent before the commit would be seen
static int
s_commit (void *state)
{
    tstate_t *self = (tstate_t *) state;
    zclock_sleep (self->commit_sleep_ms);
    pthread_mutex_lock (&self->lock);
    self->commits++;
    bool fail = self->fail_commit;
    pthread_mutex_unlock (&self->lock);
    return fail? -1: 0;
}

static void
s_rollback (void *state)
{
    tstate_t *self = (tstate_t *) state;
    pthread_mutex_lock (&self->lock);
    self->rollbacks++;
    pthread_mutex_unlock (&self->lock);
}

static uint32_t
s_delay (void *state, const ck_request_t *request)
{
    (void) state;
    return strncmp (request->saga_id, "slow", 4) == 0? 300: 0;
}

static void
s_idle (void *state)
{
    tstate_t *self = (tstate_t *) state;
    pthread_mutex_lock (&self->lock);
    self->idles++;
    pthread_mutex_unlock (&self->lock);
}

static int
s_state_get (int *field)
{
    pthread_mutex_lock (&s_state.lock);
    int value = *field;
    pthread_mutex_unlock (&s_state.lock);
    return value;
}

//  --------------------------------------------------------------------------
//  The test coordinator

typedef struct {
    zsock_t *router;
    char endpoint [256];
    uint8_t peer [256];                 //  routing id of the last READY
    size_t peer_size;
    bool beating;                       //  send HEARTBEAT to the peer while waiting
    bool strict;                        //  DISCONNECT peers that did not send READY
    int64_t last_beat;
} coord_t;

typedef struct {
    ck_command_t command;
    uint8_t id [256];
    size_t id_size;
    ck_ready_t ready;
    ck_reply_t reply;
} got_t;

static zsock_t *
s_router_bind (const char *endpoint)
{
    //  A just-closed tcp listener may take a moment to release its port
    for (int tries = 0; tries < 100; tries++) {
        zsock_t *router = zsock_new (ZMQ_ROUTER);
        cr_assert_not_null (router);
        zsock_set_linger (router, 0);
        if (zsock_bind (router, "%s", endpoint) != -1)
            return router;
        zsock_destroy (&router);
        zclock_sleep (20);
    }
    cr_assert_fail ("cannot bind %s", endpoint);
    return NULL;
}

static void
s_coord_init (coord_t *self, const char *endpoint)
{
    memset (self, 0, sizeof *self);
    self->router = s_router_bind (endpoint);
    char *bound = zsock_last_endpoint (self->router);     //  ours to free
    cr_assert_not_null (bound);
    snprintf (self->endpoint, sizeof self->endpoint, "%s", bound);
    free (bound);
}

static void
s_coord_send_to (coord_t *self, const uint8_t *id, size_t id_size, ck_command_t command,
                 const void *body, size_t size)
{
    int rc = ck_frame_send (self->router, id, id_size, CK_PROTO_WORKER, command, body, size);
    cr_assert_eq (rc, 0, "send %s", ck_command_name (command));
}

static void
s_coord_send (coord_t *self, ck_command_t command)
{
    cr_assert (self->peer_size > 0, "no peer yet");
    s_coord_send_to (self, self->peer, self->peer_size, command, NULL, 0);
}

//  Receives one message within timeout_ms, heartbeating if asked to.
//  Returns 0, or -1 on timeout.
static int
s_coord_recv (coord_t *self, int timeout_ms, got_t *got)
{
    int64_t end = zclock_mono () + timeout_ms;
    while (true) {
        int64_t now = zclock_mono ();
        if (self->beating && self->peer_size && now - self->last_beat >= IVL_MS) {
            s_coord_send (self, CK_CMD_HEARTBEAT);
            self->last_beat = now;
        }
        if (now >= end)
            return -1;
        zmq_pollitem_t item = { zsock_resolve (self->router), 0, ZMQ_POLLIN, 0 };
        long wait = end - now < 10? (long) (end - now): 10;
        if (zmq_poll (&item, 1, wait) < 1)
            continue;
        zmsg_t *msg = zmsg_recv (self->router);
        cr_assert_not_null (msg);
        ck_frame_t frame;
        ck_decode_error_t err;
        cr_assert_eq (ck_frame_parse (msg, CK_PROTO_WORKER, true, &frame, &err), 0,
                      "participant sent a bad frame: %s", err.message);
        memset (got, 0, sizeof *got);
        got->command = frame.command;
        memcpy (got->id, frame.routing_id, frame.routing_id_size);
        got->id_size = frame.routing_id_size;
        if (frame.command == CK_CMD_READY) {
            cr_assert_eq (ck_decode_ready (frame.body, frame.body_size, &got->ready, &err), 0,
                          "bad READY: %s", err.message);
            memcpy (self->peer, got->id, got->id_size);
            self->peer_size = got->id_size;
        }
        else
        if (frame.command == CK_CMD_REPLY)
            cr_assert_eq (ck_decode_reply (frame.body, frame.body_size, &got->reply, &err), 0,
                          "bad REPLY: %s", err.message);
        bool known = got->id_size == self->peer_size
                  && memcmp (got->id, self->peer, got->id_size) == 0;
        if (self->strict && !known)
            s_coord_send_to (self, got->id, got->id_size, CK_CMD_DISCONNECT, NULL, 0);
        zmsg_destroy (&msg);
        return 0;
    }
}

//  Receives until a message with command arrives.  Returns 0, or -1.
static int
s_coord_expect (coord_t *self, ck_command_t command, int timeout_ms, got_t *got)
{
    int64_t end = zclock_mono () + timeout_ms;
    while (true) {
        int64_t left = end - zclock_mono ();
        if (left <= 0 || s_coord_recv (self, (int) left, got) == -1)
            return -1;
        if (got->command == command)
            return 0;
    }
}

static void
s_coord_send_body (coord_t *self, ck_command_t command, const void *body, size_t size)
{
    cr_assert (self->peer_size > 0, "no peer yet");
    s_coord_send_to (self, self->peer, self->peer_size, command, body, size);
}

static void
s_request_fill (ck_request_t *request, ck_type_t type, const char *saga, uint32_t attempt)
{
    memset (request, 0, sizeof *request);
    snprintf (request->saga_id, sizeof request->saga_id, "%s", saga);
    snprintf (request->checkout_id, sizeof request->checkout_id, "co-%s", saga);
    request->type = type;
    request->attempt = attempt;
    request->deadline_ms = 5000;
    if (type == CK_TYPE_RESERVE_INVENTORY) {
        request->item_count = 1;
        snprintf (request->items [0].sku, sizeof request->items [0].sku, "SKU-1");
        request->items [0].qty = 2;
    }
}

static void
s_coord_request (coord_t *self, ck_type_t type, const char *saga, uint32_t attempt)
{
    ck_request_t request;
    s_request_fill (&request, type, saga, attempt);
    ck_buf_t buf;
    ck_buf_init (&buf);
    cr_assert_eq (ck_encode_request (&request, &buf), 0);
    s_coord_send_body (self, CK_CMD_REQUEST, buf.data, buf.size);
    ck_buf_free (&buf);
}

static void
s_coord_destroy (coord_t *self)
{
    zsock_destroy (&self->router);
}

//  --------------------------------------------------------------------------
//  Fixture

static ck_participant_config_t
s_config (const char **endpoint)
{
    ck_participant_config_t config = {
        .service = CK_SERVICE_INVENTORY, .instance = "test-inv", .capacity = 7,
        .endpoints = endpoint, .endpoint_count = 1,
        .heartbeat_ivl_ms = IVL_MS, .liveness = 3,
        .reconnect_min_ms = 100, .reconnect_max_ms = 400,
        .batch_begin = s_begin, .batch_commit = s_commit, .batch_rollback = s_rollback,
        .delay_ms = s_delay, .idle = s_idle, .state = &s_state
    };
    config.handlers [CK_TYPE_RESERVE_INVENTORY] = s_reserve;
    config.handlers [CK_TYPE_RELEASE_INVENTORY] = s_release;
    return config;
}

static ck_participant_t *
s_start_with (coord_t *coord, const ck_participant_config_t *config, got_t *ready)
{
    ck_participant_t *participant = ck_participant_new (config);
    cr_assert_not_null (participant);
    cr_assert_eq (s_coord_expect (coord, CK_CMD_READY, 2000, ready), 0, "no READY");
    return participant;
}

static ck_participant_t *
s_start (coord_t *coord, got_t *ready)
{
    const char *endpoint = coord->endpoint;
    ck_participant_config_t config = s_config (&endpoint);
    return s_start_with (coord, &config, ready);
}

static ck_participant_stats_t
s_stats (ck_participant_t *participant)
{
    ck_participant_stats_t stats;
    cr_assert_eq (ck_participant_stats (participant, &stats), 0);
    return stats;
}

static void
s_setup (void)
{
    memset (&s_state, 0, sizeof s_state);
    pthread_mutex_init (&s_state.lock, NULL);
}

static void
s_teardown (void)
{
    pthread_mutex_destroy (&s_state.lock);
}

TestSuite (participant, .init = s_setup, .fini = s_teardown, .timeout = 20);

//  --------------------------------------------------------------------------
//  Connection

Test (participant, ready_carries_capacity)
{
    coord_t coord;
    s_coord_init (&coord, "tcp://127.0.0.1:*");
    got_t got;
    ck_participant_t *participant = s_start (&coord, &got);
    cr_assert_eq (got.ready.service, CK_SERVICE_INVENTORY);
    cr_assert_str_eq (got.ready.instance, "test-inv");
    cr_assert_eq (got.ready.capacity, 7);
    cr_assert (got.id_size > strlen ("test-inv")
            && memcmp (got.id, "test-inv", strlen ("test-inv")) == 0,
               "routing id names the instance");
    ck_participant_destroy (&participant);
    cr_assert_null (participant);
    s_coord_destroy (&coord);
}

Test (participant, heartbeats_both_ways)
{
    coord_t coord;
    s_coord_init (&coord, "tcp://127.0.0.1:*");
    got_t got;
    ck_participant_t *participant = s_start (&coord, &got);
    //  Idle participant: HEARTBEAT after one interval
    int64_t start = zclock_mono ();
    cr_assert_eq (s_coord_expect (&coord, CK_CMD_HEARTBEAT, 1000, &got), 0);
    cr_assert_lt (zclock_mono () - start, 3 * IVL_MS);
    //  While we heartbeat, the link stays up for many liveness periods
    coord.beating = true;
    int beats = 0;
    int64_t end = zclock_mono () + 10 * IVL_MS;
    while (zclock_mono () < end) {
        if (s_coord_recv (&coord, (int) (end - zclock_mono ()), &got) == -1)
            break;
        cr_assert_neq (got.command, CK_CMD_READY, "reconnected although alive");
        beats += got.command == CK_CMD_HEARTBEAT;
    }
    cr_assert_geq (beats, 5, "beats=%d", beats);
    ck_participant_stats_t stats = s_stats (participant);
    cr_assert_eq (stats.reconnects, 0);
    cr_assert_gt (s_state_get (&s_state.idles), 0, "idle hook runs when quiet");
    ck_participant_destroy (&participant);
    s_coord_destroy (&coord);
}

Test (participant, silence_reconnects_and_ready_again)
{
    coord_t coord;
    s_coord_init (&coord, "tcp://127.0.0.1:*");
    got_t first, got;
    //  The participant's silence runs from its connect, which comes after
    //  this and before its first READY reaches us (late, under load)
    int64_t start = zclock_mono ();
    ck_participant_t *participant = s_start (&coord, &first);
    cr_assert_eq (s_coord_expect (&coord, CK_CMD_READY, 3000, &got), 0, "no second READY");
    int64_t elapsed = zclock_mono () - start;
    cr_assert_geq (elapsed, 3 * IVL_MS - 20, "gave up after %" PRId64 " ms", elapsed);
    cr_assert (got.id_size != first.id_size || memcmp (got.id, first.id, got.id_size) != 0,
               "a new socket has a new routing id");
    cr_assert_eq (got.ready.capacity, 7);
    cr_assert_geq (s_stats (participant).reconnects, 1);
    ck_participant_destroy (&participant);
    s_coord_destroy (&coord);
}

//  The coordinator restarts on the same endpoint: libzmq reconnects the
//  socket silently, the new coordinator answers the unknown peer's
//  HEARTBEAT with DISCONNECT, and the participant says READY again.
static void
s_rebind (const char *endpoint)
{
    coord_t coord;
    s_coord_init (&coord, endpoint);
    char bound [256];
    snprintf (bound, sizeof bound, "%s", coord.endpoint);
    got_t got;
    ck_participant_t *participant = s_start (&coord, &got);
    s_coord_destroy (&coord);
    s_coord_init (&coord, bound);
    coord.strict = true;
    cr_assert_eq (s_coord_expect (&coord, CK_CMD_READY, 3000, &got), 0, "no READY after rebind");
    cr_assert_eq (got.ready.service, CK_SERVICE_INVENTORY);
    //  The link works: a request is answered
    coord.beating = true;
    s_coord_request (&coord, CK_TYPE_RESERVE_INVENTORY, "after-rebind", 1);
    cr_assert_eq (s_coord_expect (&coord, CK_CMD_REPLY, 2000, &got), 0);
    cr_assert_str_eq (got.reply.saga_id, "after-rebind");
    ck_participant_destroy (&participant);
    s_coord_destroy (&coord);
}

Test (participant, rebind_tcp_ready_again)
{
    s_rebind ("tcp://127.0.0.1:*");
}

Test (participant, rebind_ipc_ready_again)
{
    char path [128];
    snprintf (path, sizeof path, "/tmp/ck-test-participant-%d-%u.ipc", (int) getpid (),
              (unsigned) zclock_usecs ());
    char endpoint [160];
    snprintf (endpoint, sizeof endpoint, "ipc://%s", path);
    s_rebind (endpoint);
    unlink (path);
    cr_assert_neq (access (path, F_OK), 0, "ipc file removed");
}

Test (participant, disconnect_means_ready_again)
{
    coord_t coord;
    s_coord_init (&coord, "tcp://127.0.0.1:*");
    got_t first, got;
    ck_participant_t *participant = s_start (&coord, &first);
    s_coord_send (&coord, CK_CMD_DISCONNECT);
    int64_t start = zclock_mono ();
    cr_assert_eq (s_coord_expect (&coord, CK_CMD_READY, 2000, &got), 0);
    cr_assert_lt (zclock_mono () - start, 3 * IVL_MS, "READY at once, not after liveness");
    cr_assert (got.id_size != first.id_size || memcmp (got.id, first.id, got.id_size) != 0);
    cr_assert_eq (s_stats (participant).reconnects, 1);
    ck_participant_destroy (&participant);
    s_coord_destroy (&coord);
}

//  --------------------------------------------------------------------------
//  Requests

Test (participant, request_reaches_its_handler)
{
    coord_t coord;
    s_coord_init (&coord, "tcp://127.0.0.1:*");
    coord.beating = true;
    got_t got;
    ck_participant_t *participant = s_start (&coord, &got);

    s_coord_request (&coord, CK_TYPE_RESERVE_INVENTORY, "s-1", 2);
    cr_assert_eq (s_coord_expect (&coord, CK_CMD_REPLY, 2000, &got), 0);
    cr_assert_str_eq (got.reply.saga_id, "s-1");
    cr_assert_eq (got.reply.type, CK_TYPE_RESERVE_INVENTORY);
    cr_assert_eq (got.reply.attempt, 2, "attempt is echoed");
    cr_assert_eq (got.reply.outcome, CK_OUTCOME_OK);
    cr_assert_str_eq (got.reply.result_id, "res-s-1");

    s_coord_request (&coord, CK_TYPE_RESERVE_INVENTORY, "rej-1", 1);
    cr_assert_eq (s_coord_expect (&coord, CK_CMD_REPLY, 2000, &got), 0);
    cr_assert_eq (got.reply.outcome, CK_OUTCOME_REJECTED);
    cr_assert_str_eq (got.reply.reason.code, "out_of_stock");
    cr_assert_str_eq (got.reply.reason.sku, "SKU-1");

    s_coord_request (&coord, CK_TYPE_RELEASE_INVENTORY, "s-1", 3);
    cr_assert_eq (s_coord_expect (&coord, CK_CMD_REPLY, 2000, &got), 0);
    cr_assert_eq (got.reply.type, CK_TYPE_RELEASE_INVENTORY);
    cr_assert_eq (got.reply.outcome, CK_OUTCOME_OK);
    cr_assert_eq (got.reply.attempt, 3);

    s_coord_request (&coord, CK_TYPE_RESERVE_INVENTORY, "boom-1", 1);
    cr_assert_eq (s_coord_expect (&coord, CK_CMD_REPLY, 2000, &got), 0);
    cr_assert_eq (got.reply.outcome, CK_OUTCOME_ERROR);
    cr_assert_str_eq (got.reply.reason.code, "internal");
    cr_assert_str_eq (got.reply.reason.message, "disk on fire");

    //  A reply the protocol forbids becomes an error, not silence
    s_coord_request (&coord, CK_TYPE_RESERVE_INVENTORY, "noid-1", 1);
    cr_assert_eq (s_coord_expect (&coord, CK_CMD_REPLY, 2000, &got), 0);
    cr_assert_str_eq (got.reply.saga_id, "noid-1");
    cr_assert_eq (got.reply.outcome, CK_OUTCOME_ERROR);
    cr_assert_str_eq (got.reply.reason.code, "internal");

    ck_participant_stats_t stats = s_stats (participant);
    cr_assert_eq (stats.requests, 5);
    cr_assert_eq (stats.retried, 2);
    cr_assert_eq (stats.replies, 5);
    cr_assert_eq (stats.errors, 2);
    ck_participant_destroy (&participant);
    s_coord_destroy (&coord);
}

Test (participant, unserved_type_is_unsupported)
{
    coord_t coord;
    s_coord_init (&coord, "tcp://127.0.0.1:*");
    coord.beating = true;
    got_t got;
    ck_participant_t *participant = s_start (&coord, &got);
    s_coord_request (&coord, CK_TYPE_VOID_PAYMENT, "v-1", 1);
    cr_assert_eq (s_coord_expect (&coord, CK_CMD_REPLY, 2000, &got), 0);
    cr_assert_str_eq (got.reply.saga_id, "v-1");
    cr_assert_eq (got.reply.type, CK_TYPE_VOID_PAYMENT);
    cr_assert_eq (got.reply.outcome, CK_OUTCOME_ERROR);
    cr_assert_str_eq (got.reply.reason.code, "unsupported_type");
    cr_assert_eq (s_state_get (&s_state.handled), 0);
    ck_participant_destroy (&participant);
    s_coord_destroy (&coord);
}

Test (participant, malformed_request_gets_error_and_serving_goes_on)
{
    coord_t coord;
    s_coord_init (&coord, "tcp://127.0.0.1:*");
    coord.beating = true;
    got_t got;
    ck_participant_t *participant = s_start (&coord, &got);

    //  Not msgpack at all: nobody to answer, only counted
    const uint8_t garbage [] = { 0xc1, 0x00, 0x01 };
    s_coord_send_body (&coord, CK_CMD_REQUEST, garbage, sizeof garbage);

    //  A ReleaseInventory turned into a ReserveInventory: items is missing
    //  ("ReleaseInventory" and "ReserveInventory" have the same length)
    ck_request_t request;
    s_request_fill (&request, CK_TYPE_RELEASE_INVENTORY, "m-1", 4);
    ck_buf_t buf;
    ck_buf_init (&buf);
    cr_assert_eq (ck_encode_request (&request, &buf), 0);
    char *type = memmem (buf.data, buf.size, "ReleaseInventory", 16);
    cr_assert_not_null (type);
    memcpy (type, "ReserveInventory", 16);
    s_coord_send_body (&coord, CK_CMD_REQUEST, buf.data, buf.size);
    ck_buf_free (&buf);

    cr_assert_eq (s_coord_expect (&coord, CK_CMD_REPLY, 2000, &got), 0);
    cr_assert_str_eq (got.reply.saga_id, "m-1");
    cr_assert_eq (got.reply.type, CK_TYPE_RESERVE_INVENTORY);
    cr_assert_eq (got.reply.attempt, 4);
    cr_assert_eq (got.reply.outcome, CK_OUTCOME_ERROR);
    cr_assert_str_eq (got.reply.reason.code, "bad_request");
    cr_assert_not_null (strstr (got.reply.reason.message, "items"),
                        "message names the key: %s", got.reply.reason.message);

    s_coord_request (&coord, CK_TYPE_RESERVE_INVENTORY, "ok-1", 1);
    cr_assert_eq (s_coord_expect (&coord, CK_CMD_REPLY, 2000, &got), 0);
    cr_assert_str_eq (got.reply.saga_id, "ok-1");
    cr_assert_eq (got.reply.outcome, CK_OUTCOME_OK);
    ck_participant_stats_t stats = s_stats (participant);
    cr_assert_eq (stats.bad_messages, 2);
    cr_assert_eq (stats.requests, 1);
    ck_participant_destroy (&participant);
    s_coord_destroy (&coord);
}

Test (participant, wrong_signature_is_ignored_and_counted)
{
    coord_t coord;
    s_coord_init (&coord, "tcp://127.0.0.1:*");
    coord.beating = true;
    got_t got;
    ck_participant_t *participant = s_start (&coord, &got);
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, coord.peer, coord.peer_size);
    zmsg_addmem (msg, "", 0);
    zmsg_addstr (msg, "CKX1");
    zmsg_addstr (msg, "HEARTBEAT");
    cr_assert_eq (zmsg_send (&msg, coord.router), 0);
    s_coord_request (&coord, CK_TYPE_RESERVE_INVENTORY, "after-bad", 1);
    cr_assert_eq (s_coord_expect (&coord, CK_CMD_REPLY, 2000, &got), 0);
    cr_assert_str_eq (got.reply.saga_id, "after-bad");
    cr_assert_eq (got.reply.outcome, CK_OUTCOME_OK);
    ck_participant_stats_t stats = s_stats (participant);
    cr_assert_eq (stats.bad_messages, 1);
    cr_assert_eq (stats.replies, 1);
    ck_participant_destroy (&participant);
    s_coord_destroy (&coord);
}

//  --------------------------------------------------------------------------
//  Group commit

Test (participant, group_commit_batches_and_replies_after_commit)
{
    s_state.commit_sleep_ms = 20;
    coord_t coord;
    s_coord_init (&coord, "tcp://127.0.0.1:*");
    coord.beating = true;
    got_t got;
    ck_participant_t *participant = s_start (&coord, &got);
    for (int i = 0; i < 50; i++) {
        char saga [16];
        snprintf (saga, sizeof saga, "g-%d", i);
        s_coord_request (&coord, CK_TYPE_RESERVE_INVENTORY, saga, 1);
    }
    bool seen [50] = { false };
    for (int i = 0; i < 50; i++) {
        cr_assert_eq (s_coord_expect (&coord, CK_CMD_REPLY, 3000, &got), 0, "reply %d", i);
        //  Read the commit count only now: the reply must postdate its commit
        int commits = s_state_get (&s_state.commits);
        int n;
        cr_assert_eq (sscanf (got.reply.saga_id, "g-%d", &n), 1);
        cr_assert (n >= 0 && n < 50 && !seen [n], "saga %s once", got.reply.saga_id);
        seen [n] = true;
        cr_assert_eq (got.reply.outcome, CK_OUTCOME_OK);
        pthread_mutex_lock (&s_state.lock);
        int batch = s_state.batch_of [n];
        pthread_mutex_unlock (&s_state.lock);
        cr_assert_gt (commits, batch, "reply of g-%d before its batch committed", n);
    }
    ck_participant_stats_t stats = s_stats (participant);
    cr_assert_lt (stats.batches, 50, "batches=%" PRIu64, stats.batches);
    cr_assert_gt (stats.max_batch, 1);
    cr_assert_eq ((uint64_t) s_state_get (&s_state.begins), stats.batches);
    cr_assert_eq ((uint64_t) s_state_get (&s_state.commits), stats.batches);
    cr_assert_eq (s_state_get (&s_state.rollbacks), 0);
    ck_participant_destroy (&participant);
    s_coord_destroy (&coord);
}

//  batch_state, when set, is what the batch hooks get; handlers keep state
Test (participant, batch_hooks_get_batch_state)
{
    tstate_t store_state;
    memset (&store_state, 0, sizeof store_state);
    pthread_mutex_init (&store_state.lock, NULL);
    coord_t coord;
    s_coord_init (&coord, "tcp://127.0.0.1:*");
    coord.beating = true;
    const char *endpoint = coord.endpoint;
    ck_participant_config_t config = s_config (&endpoint);
    config.batch_state = &store_state;
    got_t got;
    ck_participant_t *participant = s_start_with (&coord, &config, &got);
    for (int i = 0; i < 5; i++) {
        char saga [16];
        snprintf (saga, sizeof saga, "b-%d", i);
        s_coord_request (&coord, CK_TYPE_RESERVE_INVENTORY, saga, 1);
    }
    for (int i = 0; i < 5; i++) {
        cr_assert_eq (s_coord_expect (&coord, CK_CMD_REPLY, 3000, &got), 0, "reply %d", i);
        cr_assert_eq (got.reply.outcome, CK_OUTCOME_OK);
    }
    ck_participant_stats_t stats = s_stats (participant);
    ck_participant_destroy (&participant);
    s_coord_destroy (&coord);
    cr_expect_eq (s_state_get (&s_state.handled), 5, "handlers get state");
    cr_expect_eq ((uint64_t) s_state_get (&store_state.begins), stats.batches);
    cr_expect_eq ((uint64_t) s_state_get (&store_state.commits), stats.batches);
    cr_expect_eq (s_state_get (&s_state.begins), 0, "hooks never get state");
    cr_expect_eq (s_state_get (&s_state.commits), 0);
    pthread_mutex_destroy (&store_state.lock);
}

Test (participant, commit_failure_turns_the_batch_into_errors)
{
    s_state.fail_commit = true;
    coord_t coord;
    s_coord_init (&coord, "tcp://127.0.0.1:*");
    coord.beating = true;
    got_t got;
    ck_participant_t *participant = s_start (&coord, &got);
    for (int i = 0; i < 5; i++) {
        char saga [16];
        snprintf (saga, sizeof saga, "g-%d", i);
        s_coord_request (&coord, CK_TYPE_RESERVE_INVENTORY, saga, 1);
    }
    for (int i = 0; i < 5; i++) {
        cr_assert_eq (s_coord_expect (&coord, CK_CMD_REPLY, 2000, &got), 0);
        cr_assert_eq (got.reply.outcome, CK_OUTCOME_ERROR);
        cr_assert_str_eq (got.reply.reason.code, "store_error");
        cr_assert_str_eq (got.reply.result_id, "", "no result id in an error");
    }
    cr_assert_geq (s_state_get (&s_state.rollbacks), 1);
    cr_assert_eq (s_state_get (&s_state.rollbacks), s_state_get (&s_state.commits));
    cr_assert_eq (s_stats (participant).errors, 5);
    ck_participant_destroy (&participant);
    s_coord_destroy (&coord);
}

Test (participant, begin_failure_answers_store_error)
{
    s_state.fail_begin = true;
    coord_t coord;
    s_coord_init (&coord, "tcp://127.0.0.1:*");
    coord.beating = true;
    got_t got;
    ck_participant_t *participant = s_start (&coord, &got);
    s_coord_request (&coord, CK_TYPE_RESERVE_INVENTORY, "b-1", 1);
    cr_assert_eq (s_coord_expect (&coord, CK_CMD_REPLY, 2000, &got), 0);
    cr_assert_eq (got.reply.outcome, CK_OUTCOME_ERROR);
    cr_assert_str_eq (got.reply.reason.code, "store_error");
    cr_assert_eq (s_state_get (&s_state.handled), 0, "no handler without a transaction");
    cr_assert_eq (s_state_get (&s_state.commits), 0);
    ck_participant_destroy (&participant);
    s_coord_destroy (&coord);
}

//  --------------------------------------------------------------------------
//  Several coordinators, and too much at once

Test (participant, each_coordinator_gets_its_own_replies)
{
    coord_t one, two;
    s_coord_init (&one, "tcp://127.0.0.1:*");
    s_coord_init (&two, "tcp://127.0.0.1:*");
    one.beating = two.beating = true;
    const char *endpoints [] = { one.endpoint, two.endpoint };
    ck_participant_config_t config = s_config (endpoints);
    config.endpoint_count = 2;
    config.verbose = true;
    got_t got_one, got_two;
    ck_participant_t *participant = s_start_with (&one, &config, &got_one);
    cr_assert_eq (s_coord_expect (&two, CK_CMD_READY, 2000, &got_two), 0);
    cr_assert (got_one.id_size != got_two.id_size
            || memcmp (got_one.id, got_two.id, got_one.id_size) != 0, "one identity each");

    s_coord_request (&two, CK_TYPE_RESERVE_INVENTORY, "via-two", 1);
    s_coord_request (&one, CK_TYPE_RESERVE_INVENTORY, "via-one", 1);
    got_t got;
    cr_assert_eq (s_coord_expect (&two, CK_CMD_REPLY, 2000, &got), 0);
    cr_assert_str_eq (got.reply.saga_id, "via-two");
    cr_assert_eq (s_coord_expect (&one, CK_CMD_REPLY, 2000, &got), 0);
    cr_assert_str_eq (got.reply.saga_id, "via-one");
    ck_participant_destroy (&participant);
    s_coord_destroy (&one);
    s_coord_destroy (&two);
}

//  7 over three coordinators: 3 + 2 + 2, never 7 each
Test (participant, capacity_is_split_among_coordinators)
{
    coord_t coords [3];
    const char *endpoints [3];
    for (size_t i = 0; i < 3; i++) {
        s_coord_init (&coords [i], "tcp://127.0.0.1:*");
        endpoints [i] = coords [i].endpoint;
    }
    ck_participant_config_t config = s_config (endpoints);
    config.endpoint_count = 3;
    got_t got [3];
    ck_participant_t *participant = s_start_with (&coords [0], &config, &got [0]);
    uint32_t sum = got [0].ready.capacity;
    for (size_t i = 1; i < 3; i++) {
        cr_assert_eq (s_coord_expect (&coords [i], CK_CMD_READY, 2000, &got [i]), 0);
        sum += got [i].ready.capacity;
    }
    cr_assert_eq (got [0].ready.capacity, 3);
    cr_assert_eq (got [1].ready.capacity, 2);
    cr_assert_eq (got [2].ready.capacity, 2);
    cr_assert_eq (sum, 7);
    for (size_t i = 0; i < 3; i++)
        cr_assert_not (got [i].ready.update, "a first READY is plain");
    //  the READY after a reconnect announces the same share, plain: a new
    //  connection
    s_coord_send (&coords [2], CK_CMD_DISCONNECT);
    got_t again;
    cr_assert_eq (s_coord_expect (&coords [2], CK_CMD_READY, 2000, &again), 0);
    cr_assert_eq (again.ready.capacity, 2);
    cr_assert_not (again.ready.update, "a READY after a reconnect is plain");
    ck_participant_destroy (&participant);
    for (size_t i = 0; i < 3; i++)
        s_coord_destroy (&coords [i]);
}

//  Receives on every coordinator in turn (so that the beating ones beat)
//  until coords [target] gets command; 0, or -1 after timeout_ms
static int
s_coords_expect (coord_t *coords, size_t count, size_t target, ck_command_t command,
                 int timeout_ms, got_t *got)
{
    int64_t end = zclock_mono () + timeout_ms;
    while (zclock_mono () < end)
        for (size_t i = 0; i < count; i++) {
            got_t any;
            if (s_coord_recv (&coords [i], 5, &any) == 0 && i == target
            &&  any.command == command) {
                *got = any;
                return 0;
            }
        }
    return -1;
}

//  True when both came from the same connection
static bool
s_same_id (const got_t *one, const got_t *two)
{
    return one->id_size == two->id_size && memcmp (one->id, two->id, one->id_size) == 0;
}

//  7 over three: 3 + 2 + 2; the third goes silent: it keeps 1 and the
//  others split 6, 3 + 3; it is heard again: 3 + 2 + 2.  A new share on a
//  live connection is a READY with update there; the renewed connection's
//  first READY is plain.
Test (participant, capacity_is_split_again_among_the_live_coordinators)
{
    coord_t coords [3];
    const char *endpoints [3];
    for (size_t i = 0; i < 3; i++) {
        s_coord_init (&coords [i], "tcp://127.0.0.1:*");
        coords [i].beating = true;
        endpoints [i] = coords [i].endpoint;
    }
    ck_participant_config_t config = s_config (endpoints);
    config.endpoint_count = 3;
    got_t got, first [3];
    ck_participant_t *participant = s_start_with (&coords [0], &config, &first [0]);
    for (size_t i = 1; i < 3; i++)
        cr_assert_eq (s_coord_expect (&coords [i], CK_CMD_READY, 2000, &first [i]), 0);

    coords [2].beating = false;
    cr_assert_eq (s_coords_expect (coords, 3, 1, CK_CMD_READY, 20 * IVL_MS, &got), 0,
                  "no READY with the grown share");
    cr_assert_eq (got.ready.capacity, 3);
    cr_assert (got.ready.update, "a new share on a live connection is an update");
    cr_assert (s_same_id (&got, &first [1]), "the update comes on the live connection");
    got_t renewed;
    cr_assert_eq (s_coords_expect (coords, 3, 2, CK_CMD_READY, 20 * IVL_MS, &renewed), 0,
                  "no READY on the renewed connection");
    cr_assert_eq (renewed.ready.capacity, 1, "a silent coordinator keeps the least");
    cr_assert_not (renewed.ready.update, "a new connection's READY is plain");
    cr_assert_not (s_same_id (&renewed, &first [2]), "a new connection");

    coords [2].beating = true;          //  to the renewed connection
    cr_assert_eq (s_coords_expect (coords, 3, 2, CK_CMD_READY, 20 * IVL_MS, &got), 0,
                  "no READY once heard again");
    cr_assert_eq (got.ready.capacity, 2);
    cr_assert (got.ready.update, "the share grew on the renewed, live connection");
    cr_assert (s_same_id (&got, &renewed));
    cr_assert_eq (s_coords_expect (coords, 3, 1, CK_CMD_READY, 20 * IVL_MS, &got), 0);
    cr_assert_eq (got.ready.capacity, 2, "back to the static split");
    cr_assert (got.ready.update);
    cr_assert (s_same_id (&got, &first [1]));
    ck_participant_destroy (&participant);
    for (size_t i = 0; i < 3; i++)
        s_coord_destroy (&coords [i]);
}

Test (participant, share_adds_up_to_capacity)
{
    for (uint32_t capacity = 1; capacity <= CK_MAX_CAPACITY; capacity += 37)
        for (size_t count = 1; count <= CK_PARTICIPANT_MAX_ENDPOINTS && count <= capacity;
             count++) {
            uint32_t sum = 0, least = UINT32_MAX, most = 0;
            for (size_t index = 0; index < count; index++) {
                uint32_t share = ck_participant_share (capacity, count, index);
                sum += share;
                least = share < least? share: least;
                most = share > most? share: most;
            }
            cr_assert_eq (sum, capacity, "capacity=%u count=%zu", capacity, count);
            cr_assert (least >= 1 && most - least <= 1, "capacity=%u count=%zu",
                       capacity, count);
        }
    cr_assert_eq (ck_participant_share (64, 3, 0), 22);
    cr_assert_eq (ck_participant_share (64, 3, 2), 21);
}

//  capacity 1 parks at most 4: the rest is answered "overloaded" at once
Test (participant, far_beyond_capacity_is_overloaded)
{
    coord_t coord;
    s_coord_init (&coord, "tcp://127.0.0.1:*");
    coord.beating = true;
    const char *endpoint = coord.endpoint;
    ck_participant_config_t config = s_config (&endpoint);
    config.capacity = 1;
    got_t got;
    ck_participant_t *participant = s_start_with (&coord, &config, &got);
    for (int i = 0; i < 6; i++) {
        char saga [16];
        snprintf (saga, sizeof saga, "slow-%d", i);
        s_coord_request (&coord, CK_TYPE_RESERVE_INVENTORY, saga, 1);
    }
    int ok = 0, overloaded = 0;
    for (int i = 0; i < 6; i++) {
        cr_assert_eq (s_coord_expect (&coord, CK_CMD_REPLY, 2000, &got), 0, "reply %d", i);
        if (got.reply.outcome == CK_OUTCOME_OK)
            ok++;
        else
        if (strcmp (got.reply.reason.code, "overloaded") == 0)
            overloaded++;
    }
    cr_assert_eq (ok, 4);
    cr_assert_eq (overloaded, 2);
    ck_participant_stats_t stats = s_stats (participant);
    cr_assert_eq (stats.over_capacity, 5);
    cr_assert_eq (stats.parked, 4);
    ck_participant_destroy (&participant);
    s_coord_destroy (&coord);
}

//  --------------------------------------------------------------------------
//  Delays and stop

//  A parked request holds up the requests that come after it, so that
//  answers keep the order of requests (the coordinator counts on it to
//  free slots), but not heartbeats
Test (participant, parked_request_keeps_the_order_of_answers)
{
    coord_t coord;
    s_coord_init (&coord, "tcp://127.0.0.1:*");
    coord.beating = true;
    got_t got;
    ck_participant_t *participant = s_start (&coord, &got);
    int64_t start = zclock_mono ();
    s_coord_request (&coord, CK_TYPE_RESERVE_INVENTORY, "slow-1", 1);
    s_coord_request (&coord, CK_TYPE_RESERVE_INVENTORY, "fast-1", 1);
    int beats = 0;
    const char *expected [] = { "slow-1", "fast-1" };
    for (int i = 0; i < 2; ) {
        cr_assert_eq (s_coord_recv (&coord, 2000, &got), 0, "no reply for %s", expected [i]);
        if (got.command == CK_CMD_REPLY) {
            cr_assert_str_eq (got.reply.saga_id, expected [i], "answer %d", i);
            cr_assert_eq (got.reply.outcome, CK_OUTCOME_OK);
            i++;
        }
        else
            beats += got.command == CK_CMD_HEARTBEAT;
    }
    int64_t elapsed = zclock_mono () - start;
    cr_assert_geq (elapsed, 280, "parked for %" PRId64 " ms", elapsed);
    cr_assert_geq (beats, 1, "heartbeats flowed while parked");
    ck_participant_stats_t stats = s_stats (participant);
    cr_assert_eq (stats.parked, 2, "the quick one waited behind the slow one");
    cr_assert_eq (stats.in_hand, 0);
    cr_assert_eq (stats.reconnects, 0);
    ck_participant_destroy (&participant);
    s_coord_destroy (&coord);
}

Test (participant, stop_disconnects_and_answers_parked)
{
    coord_t coord;
    s_coord_init (&coord, "tcp://127.0.0.1:*");
    coord.beating = true;
    got_t got;
    ck_participant_t *participant = s_start (&coord, &got);
    s_coord_request (&coord, CK_TYPE_RESERVE_INVENTORY, "slow-9", 1);
    int64_t until = zclock_mono () + 1000;
    while (s_stats (participant).in_hand == 0 && zclock_mono () < until)
        zclock_sleep (5);
    cr_assert_eq (s_stats (participant).in_hand, 1, "the request is parked");
    int64_t start = zclock_mono ();
    ck_participant_destroy (&participant);
    int64_t took = zclock_mono () - start;
    cr_assert_geq (took, 150, "stop waited for the parked request (%" PRId64 " ms)", took);
    cr_assert_lt (took, 1500);
    coord.beating = false;
    cr_assert_eq (s_coord_expect (&coord, CK_CMD_DISCONNECT, 2000, &got), 0);
    cr_assert_eq (s_coord_expect (&coord, CK_CMD_REPLY, 2000, &got), 0, "REPLY after DISCONNECT");
    cr_assert_str_eq (got.reply.saga_id, "slow-9");
    cr_assert_eq (got.reply.outcome, CK_OUTCOME_OK);
    s_coord_destroy (&coord);
}

//  --------------------------------------------------------------------------
//  Configuration

Test (participant, bad_config_is_refused)
{
    const char *endpoint = "tcp://127.0.0.1:5999";
    ck_participant_config_t config = s_config (&endpoint);
    ck_participant_t *participant = ck_participant_new (&config);
    cr_assert_not_null (participant, "a good config starts");
    ck_participant_destroy (&participant);

    const char *bad_endpoint = "nonsense://nowhere";
    config = s_config (&bad_endpoint);
    cr_assert_null (ck_participant_new (&config), "endpoint refused");

    config = s_config (&endpoint);
    config.capacity = 0;
    cr_assert_null (ck_participant_new (&config), "capacity 0");

    const char *two [] = { endpoint, endpoint };
    config = s_config (two);
    config.endpoint_count = 2;
    config.capacity = 1;
    cr_assert_null (ck_participant_new (&config), "capacity under one per coordinator");

    config = s_config (&endpoint);
    config.instance = "an instance with spaces";
    cr_assert_null (ck_participant_new (&config), "instance not an id");

    config = s_config (&endpoint);
    config.handlers [CK_TYPE_AUTHORIZE_PAYMENT] = s_reserve;
    cr_assert_null (ck_participant_new (&config), "handler of another service");

    config = s_config (&endpoint);
    config.batch_rollback = NULL;
    cr_assert_null (ck_participant_new (&config), "commit without rollback");

    config = s_config (&endpoint);
    config.endpoint_count = 0;
    cr_assert_null (ck_participant_new (&config), "no endpoint");
}

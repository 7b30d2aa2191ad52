/*  participant.h - the participant runtime: the SDK every participant is built on
    Connects to coordinators, keeps them alive, and runs requests through handlers.

    A participant process fills a ck_participant_config_t with its service,
    its handlers (one per request type it serves) and its hooks, and calls
    ck_participant_new ().  The runtime then owns the transport (docs/protocol.md#worker,
    docs/protocol.md#liveness): one DEALER per coordinator backend, READY after every
    (re)connect, heartbeats, liveness and reconnect back-off, decoding and
    answering malformed input, group commit, simulated latency, and a
    graceful stop.  Handlers only see typed, validated requests.

    Everything runs in one background thread (a zactor): handlers and hooks
    are called from that thread, one at a time, never concurrently.

    Group commit: every message already waiting on the sockets (up to
    max_batch requests) is taken in one turn; the runtime calls batch_begin,
    each request's handler, then batch_commit, and only then sends the
    replies.  If the commit fails it calls batch_rollback and every reply of
    the batch becomes outcome error with reason code "store_error".  A
    handler that returns -1 inside a batch must leave the store as it found
    it (e.g. by a SAVEPOINT), or make batch_commit fail, since otherwise the
    rest of the batch commits (participant_store.h does the latter).
    With batch_handler set, the runtime hands it the whole batch instead
    (the PostgreSQL participants: one round trip per batch).

    See docs/participant-runtime.md for a worked example.
*/
#ifndef CK_PARTICIPANT_H_INCLUDED
#define CK_PARTICIPANT_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "curve.h"
#include "protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Most coordinator backends one participant connects to
#define CK_PARTICIPANT_MAX_ENDPOINTS 16

//  Largest max_batch accepted
#define CK_PARTICIPANT_MAX_BATCH 1024

//  Reason codes the runtime itself puts in error replies
#define CK_REASON_INTERNAL          "internal"          //  handler returned -1
#define CK_REASON_STORE_ERROR       "store_error"       //  batch begin/commit failed
#define CK_REASON_BAD_REQUEST       "bad_request"       //  body did not decode
#define CK_REASON_UNSUPPORTED_TYPE  "unsupported_type"  //  no handler for type
#define CK_REASON_OVERLOADED        "overloaded"        //  far beyond capacity
#define CK_REASON_EXPIRED           "expired"           //  its deadline_ms passed first

typedef struct _ck_participant_t ck_participant_t;

//  A request handler.  reply arrives zeroed but for saga_id, type and
//  attempt, copied from the request.  The handler sets outcome ok (with the
//  type's result id) or rejected (with reason code and message) and returns
//  0.  It may also set outcome error with a reason of its own (a technical
//  failure the coordinator should retry).  Returning -1 means a technical
//  failure: the runtime answers outcome error, reason {code "internal",
//  message = reply->reason.message if the handler set one}.
typedef int (ck_handler_fn) (void *state, const ck_request_t *request, ck_reply_t *reply);

typedef struct {
    ck_service_t service;               //  what READY announces
    const char *instance;               //  an id (docs/protocol.md#limits): unique per process
    uint32_t capacity;                  //  1..1024, split among the READYs
                                        //  (ck_participant_share): at least
                                        //  one per endpoint
    const char *const *endpoints;       //  coordinator backends; one DEALER each
    size_t endpoint_count;              //  1..CK_PARTICIPANT_MAX_ENDPOINTS
    uint32_t heartbeat_ivl_ms;          //  0 = 1000
    uint32_t liveness;                  //  heartbeats missed before dead; 0 = 3
    uint32_t reconnect_min_ms;          //  0 = 1000
    uint32_t reconnect_max_ms;          //  0 = 32000
    ck_curve_keys_t curve;              //  CURVE client keys; off when ""
    ck_handler_fn *handlers [CK_TYPE_MAX];      //  by type; NULL = not served
    //  Optional group commit: set begin and commit (and rollback) or none
    int (*batch_begin) (void *state);   //  0, or -1: the batch is store_error
    int (*batch_commit) (void *state);  //  0, or -1: rollback, store_error
    void (*batch_rollback) (void *state);
    //  Optional, in place of the handlers and the batch hooks (the
    //  handlers still say which types are served): answers a whole batch
    //  at once, requests [i] into replies [i] (zeroed but for the head),
    //  and makes every answer durable before it returns; a request it
    //  cannot answer gets outcome error with a reason code
    void (*batch_handler) (void *state, const ck_request_t *const *requests,
                           ck_reply_t *const *replies, size_t count);
    //  Optional simulated latency: the request is handled N ms after receipt,
    //  or after the requests parked before it if later (answers keep the
    //  order requests came in)
    uint32_t (*delay_ms) (void *state, const ck_request_t *request);
    //  Optional: called in turns that handled no request, and at least once
    //  a second under load (e.g. a WAL checkpoint)
    void (*idle) (void *state);
    //  Optional: called after a turn whose batch was answered (its replies
    //  sent), so that bounded work that must keep pace with the load (the
    //  store's retention) runs without delaying the batch's replies
    void (*after_batch) (void *state);
    //  Optional: the runtime hands over keepalive, which sends the
    //  heartbeats that are due; the store calls it while a statement
    //  waits (for a lock another instance holds), so that a long wait
    //  does not make this instance look dead
    void (*set_keepalive) (void *state, void (*keepalive) (void *arg), void *arg);
    uint32_t max_batch;                 //  requests per batch; 0 = 64
    void *state;                        //  passed to handlers and delay_ms
    void *batch_state;                  //  passed to the batch hooks, idle
                                        //  and set_keepalive;
                                        //  NULL: state (e.g. a participant
                                        //  store: participant_store_hooks)
    bool verbose;                       //  log every message
} ck_participant_config_t;

//  Counters since the runtime started
typedef struct {
    uint64_t requests;                  //  REQUESTs received and decoded
    uint64_t retried;                   //  of those, attempt > 1
    uint64_t replies;                   //  REPLYs sent
    uint64_t errors;                    //  of those, outcome error
    uint64_t bad_messages;              //  frames or bodies rejected
    uint64_t send_failures;             //  replies lost: no socket, or queue full
    uint64_t reconnects;                //  sockets re-created (silence, DISCONNECT)
    uint64_t batches;                   //  handler batches run
    uint64_t max_batch;                 //  most requests in one batch
    uint64_t parked;                    //  requests delayed by delay_ms
    uint64_t over_capacity;             //  arrived with capacity already in hand
    uint64_t expired;                   //  not run: deadline_ms had passed
    uint64_t in_hand;                   //  now: parked requests waiting
} ck_participant_stats_t;

//  Validates config, copies it (the caller may free it afterwards), starts
//  the runtime's thread and connects.  Returns a new participant owned by
//  the caller, or NULL after logging why (bad config or endpoint).
ck_participant_t *ck_participant_new (const ck_participant_config_t *config);

//  The capacity the READY to endpoint index (of count) announces while all
//  coordinators are alive: capacity / count, one more to each of the first
//  capacity % count, so that what the coordinators may send at once adds
//  up to capacity.  (While some are silent, each of those keeps 1 and the
//  live ones split the rest the same way; see docs/participant-runtime.md.)
//  capacity must be at least count.  Can't fail.
uint32_t ck_participant_share (uint32_t capacity, size_t count, size_t index);

//  Stops gracefully: sends DISCONNECT to every coordinator, reads no more,
//  handles and answers the requests in hand (parked ones when they come
//  due, for at most the longest delay + 1 s), then closes the sockets with
//  a bounded linger.  Blocks until done.  Safe on NULL; nulls *self_p.
void ck_participant_destroy (ck_participant_t **self_p);

//  Copies the runtime's counters into *out.  Returns 0, or -1 if the
//  runtime did not answer (interrupted).
int ck_participant_stats (ck_participant_t *self, ck_participant_stats_t *out);

#ifdef __cplusplus
}
#endif

#endif

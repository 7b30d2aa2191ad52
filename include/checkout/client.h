/*  client.h - the client library of the checkout protocol (docs/protocol.md#client)
    DEALERs connected to coordinators' frontends; typed sends, decoded replies.

    One client object belongs to one thread.  The sends never block: they
    queue up to the socket's high-water mark (100,000 messages, enough for
    a closed loop of thousands in flight) even while the coordinator is not
    up yet, and ZeroMQ reconnects by itself (100 ms, backing off to 2 s).

    Several coordinators (docs/protocol.md#partitions): the client has one
    DEALER per frontend it was given and sends each request to ONE of them
    (a DEALER connected to several would round-robin one request over
    them).  Only the owner of a checkout's partition admits or answers
    about it; another answers ERROR not_owner naming the owner's frontend.
    The library follows that answer by itself: it sends the same request
    there (connecting to the owner when it is not one of the frontends),
    or, when no coordinator owns the partition right now (owner "") or the
    owner named is a frontend whose connection is down (it just died), to
    another frontend after a back-off (50 ms doubling to 1 s).  After
    CK_CLIENT_HOPS_MAX redirects the not_owner reaches the caller, with a
    message that says so.  To resend, the client keeps each request about a checkout until
    its answer (RESULT, ERROR, DESCRIPTION), at most CK_CLIENT_PENDING_MAX
    of them (the oldest are dropped; their not_owner reaches the caller).
    The owner is remembered for the life of a request only: a new request
    starts at a frontend again, so no stale routing can outlive a takeover.

    ck_client_recv () is the primitive: it decodes one reply into a
    struct the caller borrows until the next receive.  A reply that breaks
    the protocol (layout, signature, body) is logged, counted and skipped.
    A not_owner the library follows is not returned.  A program driving
    many clients polls their sockets (ck_client_poll_items), waits no
    longer than ck_client_timeout, and calls ck_client_recv (client, 0)
    on the clients that are ready or due.

    A coordinator that is down: with several frontends, the DEALERs queue
    only on a connection that is up (ZMQ_IMMEDIATE), so a request goes to
    the next frontend whose connection is, and a send fails (EAGAIN) only
    while none is (at start, until the connections are made: send again
    after a pause).  A coordinator that takes a request and dies before
    answering cannot be told from a slow one: the asynchronous caller sends
    again after a silence, as checkout-bench --resubmit-ms does (the owner
    dedupes by checkout_id).  With one frontend, requests queue while it is
    down, as they always did.

    The blocking helpers (submit, status, ping, ...) send and then wait for
    the answer to THAT request, skipping any other reply: for one request at
    a time, e.g. the CLI.  They start at the frontend that answered last;
    one that stays silent for its share of the timeout (the time left split
    over the frontends not tried yet) is given up for the next, to which the
    request is sent again.  While no frontend takes it, they try again
    every 20 ms within their timeout.
*/
#ifndef CK_CHECKOUT_CLIENT_H_INCLUDED
#define CK_CHECKOUT_CLIENT_H_INCLUDED

#include <czmq.h>
#include "curve.h"
#include "protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CK_CLIENT_SNDHWM      100000
#define CK_CLIENT_LINGER_MS   100
#define CK_CLIENT_FRONTENDS_MAX 16      //  frontends given to one client
#define CK_CLIENT_OWNERS_MAX  8         //  other owners' frontends it may learn
#define CK_CLIENT_HOPS_MAX    16        //  not_owner answers followed per request
#define CK_CLIENT_PENDING_MAX 100000    //  requests kept for resending

typedef struct _ck_client_t ck_client_t;

//  The last reply received.  command says which member is valid; body is
//  the raw msgpack body (NULL for none), for --json style output.  All of
//  it is borrowed and valid until the next receive or the destroy.
typedef struct {
    ck_command_t command;               //  ACCEPTED, RESULT, ERROR, PONG,
                                        //  SAGAS or DESCRIPTION
    ck_accepted_t accepted;
    ck_result_t result;
    ck_error_t error;
    ck_pong_t pong;
    ck_sagas_t sagas;
    ck_description_t description;
    const uint8_t *body;
    size_t body_size;
} ck_client_reply_t;

//  Creates a client connected to one frontend (tcp://, ipc:// or inproc://).
//  Returns NULL, after a warning, when the endpoint is not one ZeroMQ can
//  connect to.  The caller owns the client.
ck_client_t *ck_client_new (const char *frontend);

//  As ck_client_new; with curve (may be NULL) on, a CURVE client of
//  the coordinator's key in it (curve.h).  Copies what it needs.
ck_client_t *ck_client_new_curve (const char *frontend,
                                              const ck_curve_keys_t *curve);

//  Creates a client of several coordinators: each of the count entries of
//  frontends is an endpoint or several separated by commas (as the
//  --frontend flag takes them), 1..CK_CLIENT_FRONTENDS_MAX in all; curve
//  as in ck_client_new_curve.  Returns NULL, after a warning naming it,
//  when an endpoint is bad or there are none or too many.  The caller
//  owns the client.
ck_client_t *ck_client_new_frontends (const char *const *frontends, size_t count,
                                      const ck_curve_keys_t *curve);

//  Destroys the client; safe on NULL, nulls the pointer.  Waits at most
//  CK_CLIENT_LINGER_MS for unsent messages.
void ck_client_destroy (ck_client_t **self_p);

//  Queues a CHECKOUT without blocking, to the frontend whose turn it is or
//  the next one up.  Returns 0, or -1 when the checkout breaks a rule of
//  the protocol (the codec refuses to encode it) or no frontend takes it:
//  queue full, or with several frontends none connected (errno EAGAIN).
int ck_client_send_checkout (ck_client_t *self, const ck_checkout_t *checkout);

//  Queues a STATUS for checkout_id without blocking; 0, or -1 as above
//  (an invalid id is refused).
int ck_client_send_status (ck_client_t *self, const char *checkout_id);

//  Queues a PING without blocking; 0, or -1 when the queue is full.
int ck_client_send_ping (ck_client_t *self);

//  Forgets the request about checkout_id kept for resending, for a caller
//  that gives up waiting for its answer. Can't fail.
void ck_client_forget (ck_client_t *self, const char *checkout_id);

//  Waits up to timeout_ms (-1: for ever, 0: just look) for one valid reply
//  and decodes it.  Returns its command (ACCEPTED, RESULT, ERROR, PONG) with
//  ck_client_reply () filled in, or CK_CMD_NONE on timeout or when the
//  process is interrupted (zsys_interrupted).  Sends the redirected
//  requests whose back-off ended on the way.
ck_command_t ck_client_recv (ck_client_t *self, int timeout_ms);

//  The last reply received (borrowed; see ck_client_reply_t). Can't fail.
const ck_client_reply_t *ck_client_reply (ck_client_t *self);

//  Sends checkout and waits up to timeout_ms for its RESULT or ERROR,
//  skipping ACCEPTED and replies about other checkouts.  An ERROR without
//  a checkout_id (the coordinator could not read one) counts as the answer.
//  Returns CK_CMD_RESULT, CK_CMD_ERROR, or CK_CMD_NONE (timeout, interrupt,
//  or the send failed).
ck_command_t ck_client_submit (ck_client_t *self, const ck_checkout_t *checkout, int timeout_ms);

//  Sends STATUS and waits for the RESULT or ERROR of checkout_id; returns
//  as ck_client_submit.
ck_command_t ck_client_status (ck_client_t *self, const char *checkout_id, int timeout_ms);

//  Sends PING and waits for a PONG, skipping other replies; returns
//  CK_CMD_PONG, or CK_CMD_NONE (timeout, interrupt, send failed).
ck_command_t ck_client_ping (ck_client_t *self, int timeout_ms);

//  Operator commands (docs/operations.md).  Each sends and waits up to
//  timeout_ms for its answer, skipping other replies, and returns its
//  command or CK_CMD_ERROR, or CK_CMD_NONE (timeout, interrupt, or the
//  request breaks the protocol: an invalid id, an empty or too long by).

//  LIST: one page; returns CK_CMD_SAGAS (reply's sagas) or CK_CMD_ERROR.
ck_command_t ck_client_list (ck_client_t *self, const ck_list_t *request, int timeout_ms);

//  DESCRIBE: returns CK_CMD_DESCRIPTION or CK_CMD_ERROR.
ck_command_t ck_client_describe (ck_client_t *self, const char *checkout_id, int timeout_ms);

//  RETRY, by (who asks; not authenticated): returns CK_CMD_RESULT (the
//  saga as it now stands) or CK_CMD_ERROR.
ck_command_t ck_client_retry (ck_client_t *self, const char *checkout_id,
                                    const char *by, int timeout_ms);

//  CANCEL, by and an optional reason (NULL for none): as retry.
ck_command_t ck_client_cancel (ck_client_t *self, const char *checkout_id,
                                     const char *by, const char *reason, int timeout_ms);

//  The DEALER of the first frontend (borrowed); with several frontends,
//  poll ck_client_poll_items instead. Can't fail.
zsock_t *ck_client_socket (ck_client_t *self);

//  Fills items with one ZMQ_POLLIN item per DEALER of the client (it gains
//  one when it learns an owner's frontend), at most max of them; returns
//  how many it filled. Can't fail.
size_t ck_client_poll_items (ck_client_t *self, zmq_pollitem_t *items, size_t max);

//  Milliseconds until a redirected request's back-off ends (0: due now),
//  or -1 when none waits: a program polling the client waits no longer
//  and then calls ck_client_recv (client, 0). Can't fail.
long ck_client_timeout (ck_client_t *self);

//  The frontends the client was given, joined by commas (borrowed). Can't fail.
const char *ck_client_endpoint (ck_client_t *self);

//  The frontend the last reply came from ("" before any; borrowed). Can't fail.
const char *ck_client_answered_by (ck_client_t *self);

//  Requests kept for resending, and the not_owner answers followed so
//  far (counters for tests and benchmarks). Can't fail.
size_t ck_client_pending (ck_client_t *self);
size_t ck_client_redirects (ck_client_t *self);

//  Logs every command sent and received (zsys_debug) when verbose. Can't fail.
void ck_client_set_verbose (ck_client_t *self, bool verbose);

//  Number of replies skipped because they broke the protocol. Can't fail.
size_t ck_client_malformed (ck_client_t *self);

#ifdef __cplusplus
}
#endif

#endif

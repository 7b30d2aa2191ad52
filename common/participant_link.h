/*  participant_link.h - one coordinator connection of the participant runtime
    A DEALER with READY, heartbeats, liveness and reconnect back-off (docs/protocol.md#liveness).

    Private to the runtime (participant.c).  A link owns at most one socket
    at a time: connected, or waiting out a back-off before reconnecting.
    Every call takes the current monotonic time so that the runtime reads
    the clock once per turn.
*/
#ifndef CK_PARTICIPANT_LINK_H_INCLUDED
#define CK_PARTICIPANT_LINK_H_INCLUDED

#include <czmq.h>
#include "checkout/curve.h"
#include "checkout/protocol.h"
#include "checkout/codec.h"
#include "frame.h"

typedef struct {
    const char *endpoint;               //  borrowed: outlives the link
    const char *instance;               //  borrowed
    size_t index;                       //  of the endpoint, for the identity
    const ck_buf_t *ready;              //  borrowed: the encoded READY body,
                                        //  which the owner may re-encode
    uint32_t heartbeat_ivl_ms;
    uint32_t liveness;
    uint32_t reconnect_min_ms;
    uint32_t reconnect_max_ms;
    const ck_curve_keys_t *curve;       //  borrowed; NULL or off: no CURVE
    bool verbose;
} participant_link_config_t;

typedef struct _participant_link_t participant_link_t;

//  Creates a link with no socket yet.  Returns it, owned by the caller.
participant_link_t *participant_link_new (const participant_link_config_t *config);

//  Destroys the link and its socket (linger flushes what was sent); safe
//  on NULL, nulls *self_p.
void participant_link_destroy (participant_link_t **self_p);

//  Connects for the first time and sends READY.  Returns 0, or -1 if the
//  endpoint was refused (logged).
int participant_link_start (participant_link_t *self, int64_t now);

//  The current socket, for polling; NULL while waiting to reconnect.
zsock_t *participant_link_socket (participant_link_t *self);

//  The endpoint, for logs (borrowed).
const char *participant_link_endpoint (participant_link_t *self);

//  Receives one message if one is waiting, without blocking; any message
//  is a sign of life.  Returns 0 with *message filled (close it after
//  use), or -1 when none waits.
int participant_link_recv (participant_link_t *self, ck_message_t *message, int64_t now);

//  Sends one CKW1 message.  Returns 0, or -1 when there is no socket or
//  the queue is full (the message is dropped).
int participant_link_send (participant_link_t *self, ck_command_t command,
                           const void *body, size_t size, int64_t now);

//  The coordinator sent DISCONNECT: replaces the socket at once and sends
//  READY again; when the DISCONNECT was the answer to this socket's READY,
//  after a wait that doubles up to a heartbeat interval.  Can't fail (a
//  refused endpoint is retried after back-off).
void participant_link_restart (participant_link_t *self, int64_t now);

//  Does what is due: a HEARTBEAT, giving up on a silent coordinator, or a
//  reconnect after back-off.  Can't fail.
void participant_link_tick (participant_link_t *self, int64_t now);

//  Sends a HEARTBEAT if one is due, and nothing else: for the middle of a
//  long wait, when the loop cannot turn.  Can't fail.
void participant_link_keepalive (participant_link_t *self, int64_t now);

//  When participant_link_tick next has something to do; INT64_MAX for never.
int64_t participant_link_deadline (participant_link_t *self);

//  False once the coordinator went silent past its liveness (or could not
//  be connected to), true again from the first message heard from it; true
//  at the start.  A DISCONNECT is the coordinator heard: no change.
bool participant_link_alive (participant_link_t *self);

//  The READY body changed: sends update (borrowed: the new body with
//  update set) now on the current socket, if any, so that the coordinator
//  takes the new capacity and keeps what it has in flight; later connects
//  send the plain READY of the config.  Can't fail (a send that fails is
//  logged; the next connect sends the READY).
void participant_link_ready_changed (participant_link_t *self, const ck_buf_t *update,
                                     int64_t now);

//  Sends DISCONNECT and stops heartbeats and reconnects; the socket stays
//  open so that remaining replies can still go out.  Can't fail.
void participant_link_stop (participant_link_t *self);

//  Times the socket was re-created after the first connect.
uint64_t participant_link_reconnects (participant_link_t *self);

#endif

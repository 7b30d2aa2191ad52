/*  frame.h - multipart framing of both protocols over ZeroMQ
    Builds and parses [routing id][empty][signature][command][body]
    (docs/protocol.md#frames).

    Parsing classifies every protocol error of docs/protocol.md#frames and never copies: the
    parsed view points into the zmsg or ck_message_t it came from, which
    must outlive it.
*/
#ifndef CK_FRAME_H_INCLUDED
#define CK_FRAME_H_INCLUDED

#include <czmq.h>
#include "checkout/protocol.h"
#include "checkout/codec.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CK_PROTO_CLIENT,                    //  frontend, "CKC1"
    CK_PROTO_WORKER                     //  backend, "CKW1"
} ck_proto_t;

//  A parsed message; every pointer borrows from the zmsg_t parsed
typedef struct {
    ck_command_t command;
    const uint8_t *routing_id;          //  set when parsed as routed
    size_t routing_id_size;
    const uint8_t *body;                //  NULL when the command has none
    size_t body_size;
} ck_frame_t;

//  Parses msg as received on a socket of protocol proto.  routed is true
//  on the coordinator's ROUTERs (frame 0 is then the peer's routing id, and
//  only commands a peer sends are valid); false on a client's or a
//  participant's DEALER (only commands the coordinator sends are valid).
//  Returns 0, or -1 with err->code CK_BAD_FRAME or CK_TOO_LARGE and a
//  message.  Even on -1, out->routing_id is set when msg had one, so the
//  caller can answer the sender.  Does not take ownership of msg.
int ck_frame_parse (zmsg_t *msg, ck_proto_t proto, bool routed, ck_frame_t *out, ck_decode_error_t *err);

//  A message received without zmsg: its parts stay in libzmq's buffers,
//  so receiving allocates nothing per part.  A valid message has at most
//  5 parts; past CK_PARTS_MAX, parts are read and dropped and extra set,
//  which the parser reports like any unexpected part.
#define CK_PARTS_MAX 6
typedef struct {
    zmq_msg_t parts [CK_PARTS_MAX];
    size_t count;
    bool extra;
} ck_message_t;

//  Receives the next whole message waiting on socket (a libzmq handle)
//  without blocking.  Returns 0, or -1 with libzmq's errno (EAGAIN when
//  none waits) and nothing held.  Close it after use.
int ck_message_recv (ck_message_t *self, void *socket);

//  As ck_frame_parse, for a received message; the parsed view borrows its
//  parts until ck_message_close.
int ck_message_parse (ck_message_t *self, ck_proto_t proto, bool routed, ck_frame_t *out, ck_decode_error_t *err);

//  The ZAP User-Id its connection authenticated with: on the coordinator's
//  CURVE sockets, the peer's public key in Z85.  "" when it has none (no
//  ZAP handler, or the NULL mechanism).  Borrowed from the message; can't
//  fail.
const char *ck_message_user_id (ck_message_t *self);

//  Moves the parts of self into dest (uninitialized), without copying
//  their data; self is left empty.  Can't fail.
void ck_message_move (ck_message_t *dest, ck_message_t *self);

//  Releases the parts; self is left empty.  Can't fail.
void ck_message_close (ck_message_t *self);

//  True when the command carries a body (all but PING, HEARTBEAT and
//  DISCONNECT).  Can't fail.
bool ck_command_has_body (ck_command_t command);

//  True for an endpoint libzmq and czmq's setters take without asserting:
//  tcp://, ipc:// or inproc://, 1..256 printable bytes.  Can't fail.
bool ck_endpoint_valid (const char *endpoint);

//  Sends one message without blocking: [routing_id] when not NULL, then
//  the empty delimiter, signature, command and body when not NULL.
//  Returns 0, or -1 with errno from libzmq (EAGAIN when the peer's queue is
//  full, EHOSTUNREACH for an unknown routing id on a mandatory ROUTER); on
//  -1 nothing was sent.
int ck_frame_send (zsock_t *sock, const void *routing_id, size_t routing_id_size, ck_proto_t proto, ck_command_t command, const void *body, size_t body_size);

#ifdef __cplusplus
}
#endif

#endif

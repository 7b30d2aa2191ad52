/*  frame.h - multipart framing of both protocols over ZeroMQ
    Builds and parses [routing id][empty][signature][command][body] (§2).

    Parsing classifies every protocol error of §2 and never copies: the
    parsed view points into the zmsg it came from, which must outlive it.
*/
#ifndef CK_FRAME_H_INCLUDED
#define CK_FRAME_H_INCLUDED

#include <czmq.h>
#include "protocol.h"
#include "codec.h"

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

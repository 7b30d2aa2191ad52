/*  frame.c - multipart framing of both protocols over ZeroMQ
    Classifies every layout error of §2 on receipt; sends without a zmsg.
*/
#include <czmq.h>
#include "frame.h"

#define SHOWN_MAX   32                  //  bytes of a bad frame quoted in a message

//  Which protocol a command belongs to, and who may send it
typedef struct {
    ck_proto_t proto;
    bool from_peer;                     //  sent to the coordinator (routed)
    bool from_coordinator;              //  sent by the coordinator (not routed)
} command_rule_t;

static const command_rule_t s_rules [CK_CMD_COUNT] = {
    [CK_CMD_CHECKOUT]   = { CK_PROTO_CLIENT, true,  false },
    [CK_CMD_STATUS]     = { CK_PROTO_CLIENT, true,  false },
    [CK_CMD_PING]       = { CK_PROTO_CLIENT, true,  false },
    [CK_CMD_ACCEPTED]   = { CK_PROTO_CLIENT, false, true  },
    [CK_CMD_RESULT]     = { CK_PROTO_CLIENT, false, true  },
    [CK_CMD_ERROR]      = { CK_PROTO_CLIENT, false, true  },
    [CK_CMD_PONG]       = { CK_PROTO_CLIENT, false, true  },
    [CK_CMD_READY]      = { CK_PROTO_WORKER, true,  false },
    [CK_CMD_REQUEST]    = { CK_PROTO_WORKER, false, true  },
    [CK_CMD_REPLY]      = { CK_PROTO_WORKER, true,  false },
    [CK_CMD_HEARTBEAT]  = { CK_PROTO_WORKER, true,  true  },
    [CK_CMD_DISCONNECT] = { CK_PROTO_WORKER, true,  true  },
};

static const char *
s_signature (ck_proto_t proto)
{
    return proto == CK_PROTO_CLIENT? CK_SIGNATURE_CLIENT: CK_SIGNATURE_WORKER;
}

//  Quotes a frame's bytes for a one-line message: unprintable bytes become
//  \xNN and a long frame is cut, so a hostile peer can't forge log lines.
static const char *
s_shown (zframe_t *frame, char *dest)
{
    const uint8_t *data = zframe_data (frame);
    size_t size = zframe_size (frame);
    size_t used = 0;
    for (size_t i = 0; i < size && i < SHOWN_MAX; i++) {
        if (data [i] >= 0x20 && data [i] < 0x7f && data [i] != '\\')
            dest [used++] = (char) data [i];
        else
            used += (size_t) sprintf (dest + used, "\\x%02x", data [i]);
    }
    strcpy (dest + used, size > SHOWN_MAX? "...": "");
    return dest;
}



//  Checks the signature and command frames; returns 0 and sets *command,
//  or -1 after filling err.
static int
s_parse_command (zframe_t *signature, zframe_t *name, ck_proto_t proto,
                 bool routed, ck_command_t *command, ck_decode_error_t *err)
{
    char shown [SHOWN_MAX * 4 + 4];
    const char *expected = s_signature (proto);
    if (!signature)
        return ck_decode_fail (err, CK_BAD_FRAME, "missing signature");
    if (!zframe_streq (signature, expected))
        return ck_decode_fail (err, CK_BAD_FRAME, "wrong signature '%s', expected %s",
                       s_shown (signature, shown), expected);
    if (!name)
        return ck_decode_fail (err, CK_BAD_FRAME, "missing command");
    *command = ck_command_lookup ((const char *) zframe_data (name), zframe_size (name));
    if (*command == CK_CMD_NONE)
        return ck_decode_fail (err, CK_BAD_FRAME, "unknown command '%s'", s_shown (name, shown));
    const command_rule_t *rule = &s_rules [*command];
    const char *command_name = ck_command_name (*command);
    if (rule->proto != proto)
        return ck_decode_fail (err, CK_BAD_FRAME, "command %s is not of protocol %s",
                       command_name, expected);
    if (routed && !rule->from_peer)
        return ck_decode_fail (err, CK_BAD_FRAME, "command %s is not sent to the coordinator",
                       command_name);
    if (!routed && !rule->from_coordinator)
        return ck_decode_fail (err, CK_BAD_FRAME, "command %s is not sent by the coordinator",
                       command_name);
    return 0;
}

//  Checks what follows the command: exactly one body frame when the command
//  takes one, nothing otherwise.  The size comes first, so an oversized body
//  is TOO_LARGE whatever else is wrong with it.
static int
s_parse_body (zmsg_t *msg, ck_command_t command, ck_frame_t *out, ck_decode_error_t *err)
{
    const char *name = ck_command_name (command);
    zframe_t *body = zmsg_next (msg);
    if (!ck_command_has_body (command))
        return body? ck_decode_fail (err, CK_BAD_FRAME, "%s takes no body", name): 0;
    if (!body)
        return ck_decode_fail (err, CK_BAD_FRAME, "missing body: %s takes a body", name);
    if (zframe_size (body) > CK_MAX_BODY)
        return ck_decode_fail (err, CK_TOO_LARGE, "%s body of %zu bytes is larger than %d",
                       name, zframe_size (body), CK_MAX_BODY);
    if (zmsg_next (msg))
        return ck_decode_fail (err, CK_BAD_FRAME, "unexpected frame after the body");
    out->body = zframe_data (body);
    out->body_size = zframe_size (body);
    return 0;
}

//  Parses msg as received on a socket of proto; returns 0, or -1 with err
//  filled and out->routing_id still set when msg had one.
int
ck_frame_parse (zmsg_t *msg, ck_proto_t proto, bool routed, ck_frame_t *out,
                ck_decode_error_t *err)
{
    assert (msg && out && err);
    assert (proto == CK_PROTO_CLIENT || proto == CK_PROTO_WORKER);
    memset (out, 0, sizeof *out);
    memset (err, 0, sizeof *err);
    zframe_t *frame = zmsg_first (msg);
    if (!frame)
        return ck_decode_fail (err, CK_BAD_FRAME, "empty message");
    if (routed) {
        //  Set before any other check, so that the caller can answer
        out->routing_id = zframe_data (frame);
        out->routing_id_size = zframe_size (frame);
        if (zframe_size (frame) == 0)
            return ck_decode_fail (err, CK_BAD_FRAME, "empty routing id");
        frame = zmsg_next (msg);
    }
    if (!frame || zframe_size (frame) != 0)
        return ck_decode_fail (err, CK_BAD_FRAME, "missing delimiter");
    zframe_t *signature = zmsg_next (msg);
    zframe_t *name = signature? zmsg_next (msg): NULL;
    ck_command_t command = CK_CMD_NONE;
    if (s_parse_command (signature, name, proto, routed, &command, err) == -1
    ||  s_parse_body (msg, command, out, err) == -1) {
        out->body = NULL;
        out->body_size = 0;
        return -1;
    }
    out->command = command;
    return 0;
}

//  True when the command carries a body. Can't fail.
bool
ck_command_has_body (ck_command_t command)
{
    return command != CK_CMD_PING && command != CK_CMD_HEARTBEAT
        && command != CK_CMD_DISCONNECT;
}

//  Sends one message without blocking; returns 0, or -1 with libzmq's errno
//  and nothing delivered.
//
//  libzmq checks the high-water mark and the routing id on the first part
//  only, so a full queue or an unknown peer fails that part and nothing is
//  queued.  A later part fails only when the peer's pipe is torn down in
//  the middle (libzmq 4.3 then rolls back the parts written and drops the
//  rest of that message): we still hand over the remaining parts, so that
//  the next message starts on a clean boundary, and report -1.
int
ck_frame_send (zsock_t *sock, const void *routing_id, size_t routing_id_size,
               ck_proto_t proto, ck_command_t command, const void *body,
               size_t body_size)
{
    assert (sock);
    assert (command > CK_CMD_NONE && command < CK_CMD_COUNT);
    assert (ck_command_has_body (command) == (body != NULL));
    void *handle = zsock_resolve (sock);
    const char *signature = s_signature (proto);
    const char *name = ck_command_name (command);
    struct { const void *data; size_t size; } parts [5];
    size_t count = 0;
    if (routing_id) {
        parts [count].data = routing_id;
        parts [count++].size = routing_id_size;
    }
    parts [count].data = "";
    parts [count++].size = 0;
    parts [count].data = signature;
    parts [count++].size = strlen (signature);
    parts [count].data = name;
    parts [count++].size = strlen (name);
    if (body) {
        parts [count].data = body;
        parts [count++].size = body_size;
    }
    int error = 0;
    for (size_t i = 0; i < count; i++) {
        int flags = ZMQ_DONTWAIT | (i + 1 < count? ZMQ_SNDMORE: 0);
        if (zmq_send (handle, parts [i].data, parts [i].size, flags) == -1) {
            if (i == 0)
                return -1;
            if (error == 0)
                error = errno;
        }
    }
    if (error) {
        zsys_warning ("frame: command=%s send failed mid-message: %s",
                      name, zmq_strerror (error));
        errno = error;
        return -1;
    }
    return 0;
}

bool
ck_endpoint_valid (const char *endpoint)
{
    if (!endpoint)
        return false;
    size_t len = strnlen (endpoint, CK_TEXT_SIZE);
    if (len == 0 || len > CK_TEXT_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if ((unsigned char) endpoint [i] <= 0x20 || endpoint [i] == 0x7f)
            return false;
    const char *transports [] = { "tcp://", "ipc://", "inproc://" };
    for (size_t i = 0; i < sizeof transports / sizeof transports [0]; i++) {
        size_t prefix = strlen (transports [i]);
        if (len > prefix && strncmp (endpoint, transports [i], prefix) == 0)
            return true;
    }
    return false;
}

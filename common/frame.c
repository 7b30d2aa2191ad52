/*  frame.c - multipart framing of both protocols over ZeroMQ
    Classifies every layout error (docs/protocol.md#frames) on receipt, from a zmsg or from
    parts received in place; sends without a zmsg.
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
    [CK_CMD_LIST]       = { CK_PROTO_CLIENT, true,  false },
    [CK_CMD_DESCRIBE]   = { CK_PROTO_CLIENT, true,  false },
    [CK_CMD_RETRY]      = { CK_PROTO_CLIENT, true,  false },
    [CK_CMD_CANCEL]     = { CK_PROTO_CLIENT, true,  false },
    [CK_CMD_SAGAS]      = { CK_PROTO_CLIENT, false, true  },
    [CK_CMD_DESCRIPTION]= { CK_PROTO_CLIENT, false, true  },
};

static const char *
s_signature (ck_proto_t proto)
{
    return proto == CK_PROTO_CLIENT? CK_SIGNATURE_CLIENT: CK_SIGNATURE_WORKER;
}

//  One part of a message, wherever it is held (a zframe or a zmq_msg_t)
typedef struct {
    const uint8_t *data;
    size_t size;
} part_t;

//  The parts of a message as the parser sees them: at most CK_PARTS_MAX,
//  and whether more arrived (which no valid message has)
typedef struct {
    part_t parts [CK_PARTS_MAX];
    size_t count;
    bool extra;
} parts_t;

//  Quotes a part's bytes for a one-line message: unprintable bytes become
//  \xNN and a long part is cut, so a hostile peer can't forge log lines.
static const char *
s_shown (const part_t *part, char *dest)
{
    size_t used = 0;
    for (size_t i = 0; i < part->size && i < SHOWN_MAX; i++) {
        uint8_t byte = part->data [i];
        if (byte >= 0x20 && byte < 0x7f && byte != '\\')
            dest [used++] = (char) byte;
        else
            used += (size_t) sprintf (dest + used, "\\x%02x", byte);
    }
    strcpy (dest + used, part->size > SHOWN_MAX? "...": "");
    return dest;
}

static bool
s_part_is (const part_t *part, const char *text)
{
    size_t length = strlen (text);
    return part->size == length && memcmp (part->data, text, length) == 0;
}

//  Checks the signature and command parts; returns 0 and sets *command,
//  or -1 after filling err.
static int
s_parse_command (const part_t *signature, const part_t *name, ck_proto_t proto,
                 bool routed, ck_command_t *command, ck_decode_error_t *err)
{
    char shown [SHOWN_MAX * 4 + 4];
    const char *expected = s_signature (proto);
    if (!signature)
        return ck_decode_fail (err, CK_BAD_FRAME, "missing signature");
    if (!s_part_is (signature, expected))
        return ck_decode_fail (err, CK_BAD_FRAME, "wrong signature '%s', expected %s",
                       s_shown (signature, shown), expected);
    if (!name)
        return ck_decode_fail (err, CK_BAD_FRAME, "missing command");
    *command = ck_command_lookup ((const char *) name->data, name->size);
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

//  Checks what follows the command (parts [next..]): exactly one body part
//  when the command takes one, nothing otherwise.  The size comes first, so
//  an oversized body is TOO_LARGE whatever else is wrong with it.
static int
s_parse_body (const parts_t *parts, size_t next, ck_command_t command, ck_frame_t *out,
              ck_decode_error_t *err)
{
    const char *name = ck_command_name (command);
    const part_t *body = next < parts->count? &parts->parts [next]: NULL;
    if (!ck_command_has_body (command))
        return body || parts->extra
             ? ck_decode_fail (err, CK_BAD_FRAME, "%s takes no body", name): 0;
    if (!body)
        return ck_decode_fail (err, CK_BAD_FRAME, "missing body: %s takes a body", name);
    if (body->size > CK_MAX_BODY)
        return ck_decode_fail (err, CK_TOO_LARGE, "%s body of %zu bytes is larger than %d",
                       name, body->size, CK_MAX_BODY);
    if (next + 1 < parts->count || parts->extra)
        return ck_decode_fail (err, CK_BAD_FRAME, "unexpected frame after the body");
    out->body = body->data;
    out->body_size = body->size;
    return 0;
}

//  Parses the parts of a message received on a socket of proto; returns
//  0, or -1 with err filled and out->routing_id still set when it had one.
static int
s_parse (const parts_t *parts, ck_proto_t proto, bool routed, ck_frame_t *out,
         ck_decode_error_t *err)
{
    assert (out && err);
    assert (proto == CK_PROTO_CLIENT || proto == CK_PROTO_WORKER);
    memset (out, 0, sizeof *out);
    memset (err, 0, sizeof *err);
    if (parts->count == 0)
        return ck_decode_fail (err, CK_BAD_FRAME, "empty message");
    size_t next = 0;
    if (routed) {
        //  Set before any other check, so that the caller can answer
        out->routing_id = parts->parts [0].data;
        out->routing_id_size = parts->parts [0].size;
        if (parts->parts [0].size == 0)
            return ck_decode_fail (err, CK_BAD_FRAME, "empty routing id");
        next = 1;
    }
    if (next >= parts->count || parts->parts [next].size != 0)
        return ck_decode_fail (err, CK_BAD_FRAME, "missing delimiter");
    next++;
    const part_t *signature = next < parts->count? &parts->parts [next]: NULL;
    const part_t *name = next + 1 < parts->count? &parts->parts [next + 1]: NULL;
    ck_command_t command = CK_CMD_NONE;
    if (s_parse_command (signature, name, proto, routed, &command, err) == -1
    ||  s_parse_body (parts, next + 2, command, out, err) == -1) {
        out->body = NULL;
        out->body_size = 0;
        return -1;
    }
    out->command = command;
    return 0;
}

int
ck_frame_parse (zmsg_t *msg, ck_proto_t proto, bool routed, ck_frame_t *out,
                ck_decode_error_t *err)
{
    assert (msg);
    parts_t parts = { .count = 0 };
    for (zframe_t *frame = zmsg_first (msg); frame; frame = zmsg_next (msg)) {
        if (parts.count == CK_PARTS_MAX) {
            parts.extra = true;
            break;
        }
        parts.parts [parts.count++] = (part_t) { zframe_data (frame), zframe_size (frame) };
    }
    return s_parse (&parts, proto, routed, out, err);
}

//  -------------------------------------------------------------------------
//  Receiving without zmsg: parts stay in libzmq's buffers

int
ck_message_recv (ck_message_t *self, void *socket)
{
    assert (self && socket);
    self->count = 0;
    self->extra = false;
    zmq_msg_init (&self->parts [0]);
    if (zmq_msg_recv (&self->parts [0], socket, ZMQ_DONTWAIT) == -1) {
        zmq_msg_close (&self->parts [0]);
        return -1;
    }
    self->count = 1;
    //  The rest of a multipart message has arrived with its first part
    bool more = zmq_msg_more (&self->parts [0]);
    while (more) {
        zmq_msg_t *part = &self->parts [self->count];
        zmq_msg_t extra;
        if (self->count == CK_PARTS_MAX) {
            part = &extra;              //  read and dropped: no message has so many
            self->extra = true;
        }
        zmq_msg_init (part);
        if (zmq_msg_recv (part, socket, 0) == -1) {
            zmq_msg_close (part);
            break;
        }
        more = zmq_msg_more (part);
        if (part == &extra)
            zmq_msg_close (&extra);
        else
            self->count++;
    }
    return 0;
}

const char *
ck_message_user_id (ck_message_t *self)
{
    assert (self);
    //  the ROUTER's routing id part is made locally and carries no
    //  metadata: the parts that came over the connection do
    if (self->count < 2)
        return "";
    const char *user_id = zmq_msg_gets (&self->parts [self->count - 1], "User-Id");
    return user_id? user_id: "";
}

int
ck_message_parse (ck_message_t *self, ck_proto_t proto, bool routed, ck_frame_t *out,
                  ck_decode_error_t *err)
{
    assert (self);
    parts_t parts = { .count = self->count, .extra = self->extra };
    for (size_t i = 0; i < self->count; i++)
        parts.parts [i] = (part_t) { (const uint8_t *) zmq_msg_data (&self->parts [i]),
                                     zmq_msg_size (&self->parts [i]) };
    return s_parse (&parts, proto, routed, out, err);
}

void
ck_message_move (ck_message_t *dest, ck_message_t *self)
{
    assert (dest && self);
    for (size_t i = 0; i < self->count; i++) {
        zmq_msg_init (&dest->parts [i]);
        zmq_msg_move (&dest->parts [i], &self->parts [i]);
    }
    dest->count = self->count;
    dest->extra = self->extra;
    ck_message_close (self);
}

void
ck_message_close (ck_message_t *self)
{
    assert (self);
    for (size_t i = 0; i < self->count; i++)
        zmq_msg_close (&self->parts [i]);
    self->count = 0;
    self->extra = false;
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

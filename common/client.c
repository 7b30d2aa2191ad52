/*  client.c - the client library of the checkout protocol (docs/protocol.md#client)
    One DEALER, typed sends through the codec, strict decoding of replies.
*/
#include <czmq.h>
#include "checkout/client.h"
#include "checkout/codec.h"
#include "frame.h"

//  A reply frame may be a little over CK_MAX_BODY so that the parser, not
//  the transport, names it too_large; anything far larger drops the link.
#define MAX_MSG_SIZE        (CK_MAX_BODY + 1024)
#define RECONNECT_IVL_MS    100
#define RECONNECT_MAX_MS    2000

struct _ck_client_t {
    zsock_t *dealer;
    char endpoint [CK_TEXT_SIZE];
    ck_buf_t buf;                       //  encoder output, reused
    ck_message_t last;                  //  holds reply.body
    ck_client_reply_t reply;
    size_t malformed;
    bool verbose;
};


//  Copies up to 64 bytes of text for a log line, unprintable bytes as '?',
//  so that a hostile value can't forge lines.
static const char *
s_shown (const char *text, char *dest, size_t size)
{
    size_t used = 0;
    for (; text && text [used] && used < 64 && used + 1 < size; used++) {
        unsigned char byte = (unsigned char) text [used];
        dest [used] = byte >= 0x20 && byte < 0x7f? (char) byte: '?';
    }
    dest [used] = 0;
    return text? dest: "(null)";
}

static zsock_t *
s_dealer_new (const char *endpoint, const ck_curve_keys_t *curve)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    if (!dealer)
        return NULL;
    zsock_set_linger (dealer, CK_CLIENT_LINGER_MS);
    zsock_set_sndhwm (dealer, CK_CLIENT_SNDHWM);
    zsock_set_rcvhwm (dealer, CK_CLIENT_SNDHWM);
    zsock_set_maxmsgsize (dealer, MAX_MSG_SIZE);
    zsock_set_reconnect_ivl (dealer, RECONNECT_IVL_MS);
    zsock_set_reconnect_ivl_max (dealer, RECONNECT_MAX_MS);
    //  Receives never block: recv waits in zmq_poll, where it can time out
    zsock_set_rcvtimeo (dealer, 0);
    ck_curve_client_apply (curve, dealer);
    if (zsock_connect (dealer, "%s", endpoint) == -1) {
        zsys_warning ("client: endpoint=%s error=\"%s\"", endpoint,
                      zmq_strerror (zmq_errno ()));
        zsock_destroy (&dealer);
    }
    return dealer;
}

//  Creates a client connected to frontend; NULL for a bad endpoint.
ck_client_t *
ck_client_new (const char *frontend)
{
    return ck_client_new_curve (frontend, NULL);
}

//  As ck_client_new, a CURVE client when curve is on.
ck_client_t *
ck_client_new_curve (const char *frontend, const ck_curve_keys_t *curve)
{
    if (!ck_endpoint_valid (frontend)) {
        char shown [80];
        zsys_warning ("client: endpoint=%s error=\"not a tcp://, ipc:// "
                      "or inproc:// endpoint\"", s_shown (frontend, shown, sizeof shown));
        return NULL;
    }
    zsock_t *dealer = s_dealer_new (frontend, curve);
    if (!dealer)
        return NULL;
    ck_client_t *self = (ck_client_t *) zmalloc (sizeof (ck_client_t));
    self->dealer = dealer;
    snprintf (self->endpoint, sizeof self->endpoint, "%s", frontend);
    ck_buf_init (&self->buf);
    return self;
}

//  Destroys the client; safe on NULL, nulls the pointer.
void
ck_client_destroy (ck_client_t **self_p)
{
    assert (self_p);
    ck_client_t *self = *self_p;
    if (!self)
        return;
    ck_message_close (&self->last);
    zsock_destroy (&self->dealer);
    ck_buf_free (&self->buf);
    free (self);
    *self_p = NULL;
}

static int
s_send (ck_client_t *self, ck_command_t command, bool with_body)
{
    if (self->verbose)
        zsys_debug ("client: endpoint=%s sent=%s bytes=%zu", self->endpoint,
                    ck_command_name (command), with_body? self->buf.size: 0);
    return ck_frame_send (self->dealer, NULL, 0, CK_PROTO_CLIENT, command,
                          with_body? self->buf.data: NULL,
                          with_body? self->buf.size: 0);
}

//  Queues a CHECKOUT without blocking; 0, or -1 (refused or queue full).
int
ck_client_send_checkout (ck_client_t *self, const ck_checkout_t *checkout)
{
    assert (self && checkout);
    if (ck_encode_checkout (checkout, &self->buf) == -1) {
        zsys_warning ("client: checkout=%.64s error=\"breaks the protocol, "
                      "not sent\"", checkout->checkout_id);
        errno = EINVAL;
        return -1;
    }
    return s_send (self, CK_CMD_CHECKOUT, true);
}

//  Queues a STATUS without blocking; 0, or -1 (bad id or queue full).
int
ck_client_send_status (ck_client_t *self, const char *checkout_id)
{
    assert (self && checkout_id);
    ck_status_request_t request;
    memset (&request, 0, sizeof request);
    size_t len = strnlen (checkout_id, CK_ID_SIZE);
    if (!ck_id_valid (checkout_id, len)) {
        errno = EINVAL;
        return -1;
    }
    memcpy (request.checkout_id, checkout_id, len);
    if (ck_encode_status_request (&request, &self->buf) == -1) {
        errno = EINVAL;
        return -1;
    }
    return s_send (self, CK_CMD_STATUS, true);
}

//  Queues a PING without blocking; 0, or -1 when the queue is full.
int
ck_client_send_ping (ck_client_t *self)
{
    assert (self);
    return s_send (self, CK_CMD_PING, false);
}

//  Decodes a frame's body into the reply member its command names.
static int
s_decode (ck_client_reply_t *reply, const ck_frame_t *frame, ck_decode_error_t *err)
{
    const void *body = frame->body;
    size_t size = frame->body_size;
    switch (frame->command) {
        case CK_CMD_ACCEPTED: return ck_decode_accepted (body, size, &reply->accepted, err);
        case CK_CMD_RESULT:   return ck_decode_result (body, size, &reply->result, err);
        case CK_CMD_ERROR:    return ck_decode_error (body, size, &reply->error, err);
        case CK_CMD_PONG:     return ck_decode_pong (body, size, &reply->pong, err);
        case CK_CMD_SAGAS:    return ck_decode_sagas (body, size, &reply->sagas, err);
        case CK_CMD_DESCRIPTION:
            return ck_decode_description (body, size, &reply->description, err);
        default:
            err->code = CK_BAD_FRAME;
            snprintf (err->message, sizeof err->message, "command %s is not a reply",
                      ck_command_name (frame->command));
            return -1;
    }
}

//  Makes the message received into self->last the last reply; CK_CMD_NONE,
//  after a warning, when it breaks the protocol.
static ck_command_t
s_take (ck_client_t *self)
{
    ck_frame_t frame;
    ck_decode_error_t err;
    if (ck_message_parse (&self->last, CK_PROTO_CLIENT, false, &frame, &err) == 0)
        s_decode (&self->reply, &frame, &err);
    if (err.code != CK_OK) {
        self->malformed++;
        zsys_warning ("client: endpoint=%s malformed=%zu code=%s error=\"%s\"",
                      self->endpoint, self->malformed, ck_error_code_name (err.code),
                      err.message);
        ck_message_close (&self->last);
        return CK_CMD_NONE;
    }
    self->reply.command = frame.command;
    self->reply.body = frame.body;
    self->reply.body_size = frame.body_size;
    if (self->verbose)
        zsys_debug ("client: endpoint=%s received=%s bytes=%zu", self->endpoint,
                    ck_command_name (frame.command), frame.body_size);
    return frame.command;
}

//  Milliseconds left until deadline (0 when past), or -1 for no deadline
static long
s_remaining (int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - zclock_mono ();
    return left > 0? (long) left: 0;
}

static int64_t
s_deadline (int timeout_ms)
{
    return timeout_ms < 0? -1: zclock_mono () + timeout_ms;
}

//  Waits for one valid reply; CK_CMD_NONE on timeout or interrupt.
ck_command_t
ck_client_recv (ck_client_t *self, int timeout_ms)
{
    assert (self);
    ck_message_close (&self->last);
    self->reply.command = CK_CMD_NONE;
    self->reply.body = NULL;
    self->reply.body_size = 0;
    int64_t deadline = s_deadline (timeout_ms);
    zmq_pollitem_t item = { zsock_resolve (self->dealer), 0, ZMQ_POLLIN, 0 };
    while (!zsys_interrupted) {
        if (ck_message_recv (&self->last, zsock_resolve (self->dealer)) == 0) {
            ck_command_t command = s_take (self);
            if (command != CK_CMD_NONE)
                return command;
            continue;
        }
        long wait = s_remaining (deadline);
        if (wait == 0 || zmq_poll (&item, 1, wait) <= 0)
            break;
    }
    return CK_CMD_NONE;
}

//  Returns the last reply received (borrowed). Can't fail.
const ck_client_reply_t *
ck_client_reply (ck_client_t *self)
{
    assert (self);
    return &self->reply;
}

//  True when the last reply answers a request about checkout_id
static bool
s_answers (ck_client_t *self, ck_command_t command, const char *checkout_id)
{
    if (command == CK_CMD_RESULT)
        return streq (self->reply.result.checkout_id, checkout_id);
    if (command == CK_CMD_DESCRIPTION)
        return streq (self->reply.description.checkout_id, checkout_id);
    if (command == CK_CMD_SAGAS)
        return checkout_id [0] == 0;
    if (command == CK_CMD_ERROR)
        return self->reply.error.checkout_id [0] == 0
            || streq (self->reply.error.checkout_id, checkout_id);
    return false;
}

//  Receives until the RESULT or ERROR about checkout_id, or the deadline
static ck_command_t
s_wait_answer (ck_client_t *self, const char *checkout_id, int timeout_ms)
{
    int64_t deadline = s_deadline (timeout_ms);
    while (true) {
        ck_command_t command = ck_client_recv (self, (int) s_remaining (deadline));
        if (command == CK_CMD_NONE || s_answers (self, command, checkout_id))
            return command;
        if (self->verbose)
            zsys_debug ("client: waiting=%s skipped=%s", checkout_id,
                        ck_command_name (command));
    }
}

//  Sends checkout and waits for its RESULT or ERROR; CK_CMD_NONE on timeout.
ck_command_t
ck_client_submit (ck_client_t *self, const ck_checkout_t *checkout,
                        int timeout_ms)
{
    assert (self && checkout);
    if (ck_client_send_checkout (self, checkout) == -1)
        return CK_CMD_NONE;
    return s_wait_answer (self, checkout->checkout_id, timeout_ms);
}

//  Sends STATUS and waits for its RESULT or ERROR; CK_CMD_NONE on timeout.
ck_command_t
ck_client_status (ck_client_t *self, const char *checkout_id, int timeout_ms)
{
    assert (self && checkout_id);
    if (ck_client_send_status (self, checkout_id) == -1)
        return CK_CMD_NONE;
    return s_wait_answer (self, checkout_id, timeout_ms);
}

//  Sends PING and waits for a PONG; CK_CMD_NONE on timeout.
ck_command_t
ck_client_ping (ck_client_t *self, int timeout_ms)
{
    assert (self);
    if (ck_client_send_ping (self) == -1)
        return CK_CMD_NONE;
    int64_t deadline = s_deadline (timeout_ms);
    while (true) {
        ck_command_t command = ck_client_recv (self, (int) s_remaining (deadline));
        if (command == CK_CMD_NONE || command == CK_CMD_PONG)
            return command;
    }
}

//  Encodes an operator's request about checkout_id into self->buf with
//  encode; -1 when it breaks the protocol
static int
s_operator (ck_client_t *self, const char *checkout_id, const char *by,
            const char *reason, int (*encode) (const ck_operator_t *, ck_buf_t *))
{
    ck_operator_t request;
    memset (&request, 0, sizeof request);
    size_t len = strnlen (checkout_id, CK_ID_SIZE);
    if (!ck_id_valid (checkout_id, len)
    ||  (by && strlen (by) > CK_BY_MAX) || (reason && strlen (reason) > CK_CANCEL_REASON_MAX))
        return -1;
    memcpy (request.checkout_id, checkout_id, len);
    snprintf (request.by, sizeof request.by, "%s", by? by: "");
    snprintf (request.reason, sizeof request.reason, "%s", reason? reason: "");
    return encode (&request, &self->buf);
}

//  Sends LIST and waits for SAGAS or ERROR; CK_CMD_NONE on timeout.
ck_command_t
ck_client_list (ck_client_t *self, const ck_list_t *request, int timeout_ms)
{
    assert (self && request);
    if (ck_encode_list (request, &self->buf) == -1
    ||  s_send (self, CK_CMD_LIST, true) == -1)
        return CK_CMD_NONE;
    return s_wait_answer (self, "", timeout_ms);
}

//  Sends DESCRIBE and waits for DESCRIPTION or ERROR; CK_CMD_NONE on timeout.
ck_command_t
ck_client_describe (ck_client_t *self, const char *checkout_id, int timeout_ms)
{
    assert (self && checkout_id);
    if (s_operator (self, checkout_id, NULL, NULL, ck_encode_describe) == -1
    ||  s_send (self, CK_CMD_DESCRIBE, true) == -1)
        return CK_CMD_NONE;
    return s_wait_answer (self, checkout_id, timeout_ms);
}

//  Sends RETRY and waits for RESULT or ERROR; CK_CMD_NONE on timeout.
ck_command_t
ck_client_retry (ck_client_t *self, const char *checkout_id, const char *by,
                       int timeout_ms)
{
    assert (self && checkout_id && by);
    if (s_operator (self, checkout_id, by, NULL, ck_encode_retry) == -1
    ||  s_send (self, CK_CMD_RETRY, true) == -1)
        return CK_CMD_NONE;
    return s_wait_answer (self, checkout_id, timeout_ms);
}

//  Sends CANCEL and waits for RESULT or ERROR; CK_CMD_NONE on timeout.
ck_command_t
ck_client_cancel (ck_client_t *self, const char *checkout_id, const char *by,
                        const char *reason, int timeout_ms)
{
    assert (self && checkout_id && by);
    if (s_operator (self, checkout_id, by, reason, ck_encode_cancel) == -1
    ||  s_send (self, CK_CMD_CANCEL, true) == -1)
        return CK_CMD_NONE;
    return s_wait_answer (self, checkout_id, timeout_ms);
}

//  Returns the client's DEALER (borrowed). Can't fail.
zsock_t *
ck_client_socket (ck_client_t *self)
{
    assert (self);
    return self->dealer;
}

//  Returns the endpoint (borrowed). Can't fail.
const char *
ck_client_endpoint (ck_client_t *self)
{
    assert (self);
    return self->endpoint;
}

//  Turns logging of every command on or off. Can't fail.
void
ck_client_set_verbose (ck_client_t *self, bool verbose)
{
    assert (self);
    self->verbose = verbose;
}

//  Returns the count of replies skipped as malformed. Can't fail.
size_t
ck_client_malformed (ck_client_t *self)
{
    assert (self);
    return self->malformed;
}

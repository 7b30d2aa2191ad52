/*  client_call.c - the client library's blocking helpers
    One request, its answer awaited; a silent frontend is given up for the next.
*/
#include "client_internal.h"

#define SEND_AGAIN_MS       20          //  when no frontend took the request

//  True when the last reply answers a request about checkout_id ("" for
//  LIST); with want set, only a reply of that command does (PING)
static bool
s_answers (ck_client_t *self, ck_command_t command, const char *checkout_id,
           ck_command_t want)
{
    if (want != CK_CMD_NONE)
        return command == want;
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

//  One blocking request: its bytes, where it went, its deadlines
typedef struct {
    ck_command_t command;
    const char *checkout_id;            //  "" when about no checkout
    uint8_t *body;
    size_t body_size;
    size_t link;                        //  the frontend it went to last
    size_t tried;                       //  frontends given up so far
    int64_t deadline;
    int64_t attempt_end;                //  when its frontend is given up
} call_t;

//  Sends the call to its frontend, or the next that takes it (with
//  several, one that is down refuses at once: it counts as tried), kept
//  for resending when about a checkout (a resend starts its redirects
//  over); the attempt there may last the time left shared among the
//  frontends not tried yet.  -1 when no frontend took it.
static int
s_call_send (ck_client_t *self, call_t *call)
{
    if (call->checkout_id [0])
        client_pending_put (self->pending, call->checkout_id, call->command,
                            call->body, call->body_size);
    int link = client_send_any (self, call->link, call->command, call->body,
                                call->body_size);
    if (link == -1)
        return -1;
    size_t skipped = ((size_t) link + self->given - call->link) % self->given;
    call->tried = call->tried + skipped < self->given? call->tried + skipped: self->given - 1;
    call->link = (size_t) link;
    long left = client_remaining (call->deadline);
    call->attempt_end = left < 0? -1
                      : zclock_mono () + left / (long) (self->given - call->tried);
    return 0;
}

//  Sends the request in self->buf (with_body) about checkout_id ("" for
//  none) and waits for its answer (of command want, if set), trying the
//  next frontend when one stays silent for its share of the time
static ck_command_t
s_call (ck_client_t *self, ck_command_t command, bool with_body, const char *checkout_id,
        ck_command_t want, int timeout_ms)
{
    call_t call = {
        .command = command, .checkout_id = checkout_id,
        .body_size = with_body? self->buf.size: 0,
        .link = self->current, .deadline = client_deadline (timeout_ms)
    };
    call.body = (uint8_t *) malloc (call.body_size? call.body_size: 1);
    assert (call.body);
    if (call.body_size)
        memcpy (call.body, self->buf.data, call.body_size);
    ck_command_t answer = CK_CMD_NONE;
    int rc = s_call_send (self, &call);
    while (true) {
        //  Not sent yet (no frontend up, or queues full): try again shortly
        long wait = client_remaining (call.deadline);
        long attempt = rc == 0? client_remaining (call.attempt_end): SEND_AGAIN_MS;
        answer = ck_client_recv (self, (int) (attempt >= 0 && (wait < 0 || attempt < wait)
                                              ? attempt: wait));
        if (answer != CK_CMD_NONE && s_answers (self, answer, checkout_id, want))
            break;
        if (answer != CK_CMD_NONE) {
            if (self->verbose)
                zsys_debug ("client: waiting=%s skipped=%s", checkout_id,
                            ck_command_name (answer));
            continue;
        }
        if (zsys_interrupted || client_remaining (call.deadline) == 0)
            break;
        if (rc == -1)
            rc = s_call_send (self, &call);
        else
        if (client_remaining (call.attempt_end) == 0 && call.tried + 1 < self->given) {
            zsys_info ("client: endpoint=%s error=\"no answer, trying the next frontend\"",
                       self->links [call.link].endpoint);
            call.tried++;
            call.link = (call.link + 1) % self->given;
            rc = s_call_send (self, &call);
        }
    }
    //  The frontend that answered is where the next call starts
    if (answer != CK_CMD_NONE && self->answered < self->given)
        self->current = self->answered;
    if (checkout_id [0])
        client_pending_remove (self->pending, checkout_id);
    free (call.body);
    return answer;
}

//  Sends checkout and waits for its RESULT or ERROR; CK_CMD_NONE on timeout.
ck_command_t
ck_client_submit (ck_client_t *self, const ck_checkout_t *checkout, int timeout_ms)
{
    assert (self && checkout);
    if (ck_encode_checkout (checkout, &self->buf) == -1) {
        zsys_warning ("client: checkout=%.64s error=\"breaks the protocol, "
                      "not sent\"", checkout->checkout_id);
        return CK_CMD_NONE;
    }
    return s_call (self, CK_CMD_CHECKOUT, true, checkout->checkout_id, CK_CMD_NONE,
                   timeout_ms);
}

//  Sends STATUS and waits for its RESULT or ERROR; CK_CMD_NONE on timeout.
ck_command_t
ck_client_status (ck_client_t *self, const char *checkout_id, int timeout_ms)
{
    assert (self && checkout_id);
    if (client_encode_status (self, checkout_id) == -1)
        return CK_CMD_NONE;
    return s_call (self, CK_CMD_STATUS, true, checkout_id, CK_CMD_NONE, timeout_ms);
}

//  Sends PING and waits for a PONG; CK_CMD_NONE on timeout.
ck_command_t
ck_client_ping (ck_client_t *self, int timeout_ms)
{
    assert (self);
    return s_call (self, CK_CMD_PING, false, "", CK_CMD_PONG, timeout_ms);
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
    if (ck_encode_list (request, &self->buf) == -1)
        return CK_CMD_NONE;
    return s_call (self, CK_CMD_LIST, true, "", CK_CMD_NONE, timeout_ms);
}

//  Sends DESCRIBE and waits for DESCRIPTION or ERROR; CK_CMD_NONE on timeout.
ck_command_t
ck_client_describe (ck_client_t *self, const char *checkout_id, int timeout_ms)
{
    assert (self && checkout_id);
    if (s_operator (self, checkout_id, NULL, NULL, ck_encode_describe) == -1)
        return CK_CMD_NONE;
    return s_call (self, CK_CMD_DESCRIBE, true, checkout_id, CK_CMD_NONE, timeout_ms);
}

//  Sends RETRY and waits for RESULT or ERROR; CK_CMD_NONE on timeout.
ck_command_t
ck_client_retry (ck_client_t *self, const char *checkout_id, const char *by,
                 int timeout_ms)
{
    assert (self && checkout_id && by);
    if (s_operator (self, checkout_id, by, NULL, ck_encode_retry) == -1)
        return CK_CMD_NONE;
    return s_call (self, CK_CMD_RETRY, true, checkout_id, CK_CMD_NONE, timeout_ms);
}

//  Sends CANCEL and waits for RESULT or ERROR; CK_CMD_NONE on timeout.
ck_command_t
ck_client_cancel (ck_client_t *self, const char *checkout_id, const char *by,
                  const char *reason, int timeout_ms)
{
    assert (self && checkout_id && by);
    if (s_operator (self, checkout_id, by, reason, ck_encode_cancel) == -1)
        return CK_CMD_NONE;
    return s_call (self, CK_CMD_CANCEL, true, checkout_id, CK_CMD_NONE, timeout_ms);
}

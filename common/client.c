/*  client.c - the client library of the checkout protocol (docs/protocol.md#client)
    One DEALER per frontend, typed sends through the codec, strict decoding of
    replies, not_owner followed to the owner.
*/
#include <czmq.h>
#include "checkout/client.h"
#include "checkout/codec.h"
#include "client_internal.h"
#include "frame.h"

//  A reply frame may be a little over CK_MAX_BODY so that the parser, not
//  the transport, names it too_large; anything far larger drops the link.
#define MAX_MSG_SIZE        (CK_MAX_BODY + 1024)
#define RECONNECT_IVL_MS    100
#define RECONNECT_MAX_MS    2000
#define BACKOFF_FIRST_MS    50          //  wait after owner "", doubling
#define BACKOFF_MAX_MS      1000
#define RESEND_AGAIN_MS     10          //  a due resend no frontend took

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

//  A DEALER connected to endpoint.  immediate: queue only on a connection
//  that is up, so that a send to a coordinator that is down fails at once
//  (EAGAIN) and the request can go to another frontend instead
static zsock_t *
s_dealer_new (const char *endpoint, const ck_curve_keys_t *curve, bool immediate)
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
    zsock_set_immediate (dealer, immediate);
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

//  The link connected to endpoint, or -1
static int
s_link_find (ck_client_t *self, const char *endpoint)
{
    for (size_t i = 0; i < self->link_count; i++)
        if (streq (self->links [i].endpoint, endpoint))
            return (int) i;
    return -1;
}

//  Connects a new link to endpoint (valid); its index, or -1 when it fails
static int
s_link_add (ck_client_t *self, const char *endpoint)
{
    assert (self->link_count < LINKS_MAX);
    //  Not immediate: a request redirected to an owner waits for the
    //  connection to come up rather than bounce
    zsock_t *dealer = s_dealer_new (endpoint, self->curve_on? &self->curve: NULL, false);
    if (!dealer)
        return -1;
    link_t *link = &self->links [self->link_count];
    link->dealer = dealer;
    snprintf (link->endpoint, sizeof link->endpoint, "%s", endpoint);
    return (int) self->link_count++;
}

//  Notes one frontend given by the caller, skipping a repeat; -1 after a
//  warning when it is not an endpoint or one too many
static int
s_frontend_add (ck_client_t *self, const char *endpoint)
{
    char shown [80];
    if (!ck_endpoint_valid (endpoint)) {
        zsys_warning ("client: endpoint=%s error=\"not a tcp://, ipc:// or inproc:// "
                      "endpoint\"", s_shown (endpoint, shown, sizeof shown));
        return -1;
    }
    if (s_link_find (self, endpoint) >= 0)
        return 0;
    if (self->given == CK_CLIENT_FRONTENDS_MAX) {
        zsys_warning ("client: endpoint=%s error=\"more than %d frontends\"",
                      s_shown (endpoint, shown, sizeof shown), CK_CLIENT_FRONTENDS_MAX);
        return -1;
    }
    snprintf (self->links [self->given].endpoint, CK_TEXT_SIZE, "%s", endpoint);
    self->link_count = ++self->given;
    return 0;
}

//  Connects a DEALER to each frontend noted.  With one, requests queue
//  while it is down (ZeroMQ connects when it comes up); with several, a
//  frontend that is down refuses them at once, so they go to another.
static int
s_frontends_connect (ck_client_t *self)
{
    for (size_t i = 0; i < self->given; i++) {
        link_t *link = &self->links [i];
        link->dealer = s_dealer_new (link->endpoint, self->curve_on? &self->curve: NULL,
                                     self->given > 1);
        if (!link->dealer)
            return -1;
    }
    return 0;
}

//  Adds each endpoint of a comma-separated list
static int
s_frontends_add (ck_client_t *self, const char *list)
{
    if (!list) {
        zsys_warning ("client: endpoint=(null) error=\"no frontend\"");
        return -1;
    }
    char *copy = strdup (list);
    assert (copy);
    int rc = 0;
    char *cursor = copy;
    while (rc == 0) {
        char *comma = strchr (cursor, ',');
        if (comma)
            *comma = 0;
        rc = s_frontend_add (self, cursor);
        if (!comma)
            break;
        cursor = comma + 1;
    }
    free (copy);
    return rc;
}

static void
s_endpoints_join (ck_client_t *self)
{
    size_t size = 1;
    for (size_t i = 0; i < self->given; i++)
        size += strlen (self->links [i].endpoint) + 1;
    self->endpoints = (char *) zmalloc (size);
    for (size_t i = 0; i < self->given; i++) {
        if (i)
            strcat (self->endpoints, ",");
        strcat (self->endpoints, self->links [i].endpoint);
    }
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
    //  One endpoint: a comma here is a mistake, not a list
    if (frontend && strchr (frontend, ',')) {
        char shown [80];
        zsys_warning ("client: endpoint=%s error=\"not a tcp://, ipc:// "
                      "or inproc:// endpoint\"", s_shown (frontend, shown, sizeof shown));
        return NULL;
    }
    return ck_client_new_frontends (&frontend, 1, curve);
}

//  A client of several frontends (comma lists allowed); NULL after a warning.
ck_client_t *
ck_client_new_frontends (const char *const *frontends, size_t count,
                         const ck_curve_keys_t *curve)
{
    assert (frontends || count == 0);
    ck_client_t *self = (ck_client_t *) zmalloc (sizeof (ck_client_t));
    if (curve && ck_curve_on (curve)) {
        self->curve = *curve;
        self->curve_on = true;
    }
    self->pending = client_pending_new (CK_CLIENT_PENDING_MAX);
    ck_buf_init (&self->buf);
    int rc = count? 0: -1;
    if (count == 0)
        zsys_warning ("client: error=\"no frontend\"");
    for (size_t i = 0; rc == 0 && i < count; i++)
        rc = s_frontends_add (self, frontends [i]);
    if (rc == -1 || s_frontends_connect (self) == -1) {
        ck_client_destroy (&self);
        return NULL;
    }
    s_endpoints_join (self);
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
    for (size_t i = 0; i < self->link_count; i++)
        zsock_destroy (&self->links [i].dealer);
    client_pending_destroy (&self->pending);
    ck_buf_free (&self->buf);
    free (self->endpoints);
    free (self);
    *self_p = NULL;
}

//  Sends a request's bytes to one link without blocking; 0 or -1 (EAGAIN)
int
client_send_link (ck_client_t *self, size_t link, ck_command_t command,
                  const void *body, size_t body_size)
{
    assert (link < self->link_count);
    if (self->verbose)
        zsys_debug ("client: endpoint=%s sent=%s bytes=%zu", self->links [link].endpoint,
                    ck_command_name (command), body_size);
    //  A body is never empty: size 0 means the command has none
    return ck_frame_send (self->links [link].dealer, NULL, 0, CK_PROTO_CLIENT, command,
                          body_size? body: NULL, body_size);
}

//  Sends a request to the first frontend from first on that takes it;
//  that frontend, or -1 (EAGAIN) when none does (down, or queue full)
int
client_send_any (ck_client_t *self, size_t first, ck_command_t command,
                 const void *body, size_t body_size)
{
    for (size_t i = 0; i < self->given; i++) {
        size_t link = (first + i) % self->given;
        if (client_send_link (self, link, command, body, body_size) == 0)
            return (int) link;
    }
    errno = EAGAIN;
    return -1;
}

//  Sends the request in self->buf (with_body) to the frontend whose turn it
//  is (or the next up), keeping it for resending when it is about
//  checkout_id (not NULL)
static int
s_send (ck_client_t *self, ck_command_t command, bool with_body, const char *checkout_id)
{
    const void *body = with_body? self->buf.data: NULL;
    size_t size = with_body? self->buf.size: 0;
    if (checkout_id)
        client_pending_put (self->pending, checkout_id, command, body, size);
    int link = client_send_any (self, self->next++ % self->given, command, body, size);
    if (link == -1 && checkout_id)
        client_pending_remove (self->pending, checkout_id);
    return link == -1? -1: 0;
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
    return s_send (self, CK_CMD_CHECKOUT, true, checkout->checkout_id);
}

//  Encodes a STATUS for checkout_id into self->buf; -1 for a bad id
int
client_encode_status (ck_client_t *self, const char *checkout_id)
{
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
    return 0;
}

//  Queues a STATUS without blocking; 0, or -1 (bad id or queue full).
int
ck_client_send_status (ck_client_t *self, const char *checkout_id)
{
    assert (self && checkout_id);
    if (client_encode_status (self, checkout_id) == -1)
        return -1;
    return s_send (self, CK_CMD_STATUS, true, checkout_id);
}

//  Queues a PING without blocking; 0, or -1 when the queue is full.
int
ck_client_send_ping (ck_client_t *self)
{
    assert (self);
    return s_send (self, CK_CMD_PING, false, NULL);
}

//  Forgets the request about checkout_id kept for resending.
void
ck_client_forget (ck_client_t *self, const char *checkout_id)
{
    assert (self && checkout_id);
    client_pending_remove (self->pending, checkout_id);
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
    const char *endpoint = self->links [self->answered].endpoint;
    ck_frame_t frame;
    ck_decode_error_t err;
    if (ck_message_parse (&self->last, CK_PROTO_CLIENT, false, &frame, &err) == 0)
        s_decode (&self->reply, &frame, &err);
    if (err.code != CK_OK) {
        self->malformed++;
        zsys_warning ("client: endpoint=%s malformed=%zu code=%s error=\"%s\"",
                      endpoint, self->malformed, ck_error_code_name (err.code),
                      err.message);
        ck_message_close (&self->last);
        return CK_CMD_NONE;
    }
    self->reply.command = frame.command;
    self->reply.body = frame.body;
    self->reply.body_size = frame.body_size;
    if (self->verbose)
        zsys_debug ("client: endpoint=%s received=%s bytes=%zu", endpoint,
                    ck_command_name (frame.command), frame.body_size);
    return frame.command;
}

//  Receives one message waiting on any link, looking at each in turn so
//  that a busy one cannot starve the others; 0, or -1 when none waits
static int
s_recv_any (ck_client_t *self)
{
    for (size_t i = 0; i < self->link_count; i++) {
        size_t link = (self->scan + i) % self->link_count;
        if (ck_message_recv (&self->last, zsock_resolve (self->links [link].dealer)) == 0) {
            self->scan = link + 1;
            self->answered = link;
            self->has_answered = true;
            return 0;
        }
    }
    return -1;
}

//  Hands a not_owner it will not follow up to the caller, saying why
static bool
s_give_up (ck_client_t *self, const char *why)
{
    ck_error_t *error = &self->reply.error;
    char shown [80];
    zsys_warning ("client: checkout=%s owner=%s error=\"%s\"", error->checkout_id,
                  s_shown (error->owner, shown, sizeof shown), why);
    snprintf (error->message, sizeof error->message, "%s (last from %s, owner '%s')",
              why, self->links [self->answered].endpoint, shown);
    client_pending_remove (self->pending, error->checkout_id);
    return false;
}

//  The link to the owner's frontend, connecting one if new; -1 when it
//  cannot (not an endpoint, too many owners, connect failed)
static int
s_owner_link (ck_client_t *self, const char *owner)
{
    int link = s_link_find (self, owner);
    if (link >= 0 || !ck_endpoint_valid (owner) || self->link_count == LINKS_MAX)
        return link;
    return s_link_add (self, owner);
}

//  Makes entry wait, 50 ms doubling up to 1 s with its hops, then go to
//  the frontend after the one that answered
static void
s_back_off (ck_client_t *self, client_request_t *entry)
{
    uint32_t shift = entry->hops - 1 < 5? entry->hops - 1: 5;
    int64_t wait = BACKOFF_FIRST_MS << shift;
    wait = wait < BACKOFF_MAX_MS? wait: BACKOFF_MAX_MS;
    size_t link = self->answered < self->given? (self->answered + 1) % self->given
                                              : self->next++ % self->given;
    client_pending_defer (self->pending, entry, zclock_mono () + wait, link);
}

//  Follows an ERROR not_owner about a request kept for resending: sends it
//  to the owner named, or, with owner "" (a takeover is under way), to
//  another frontend after a back-off.  An owner named whose frontend takes
//  nothing (its connection is down: it has just died, and the others have
//  not yet seen its lease run out) is waited out the same way.  True when
//  followed, so the caller never sees this answer; false to hand it up.
static bool
s_follow (ck_client_t *self, ck_command_t command)
{
    ck_error_t *error = &self->reply.error;
    if (command != CK_CMD_ERROR || error->code != CK_NOT_OWNER || !error->checkout_id [0])
        return false;
    client_request_t *entry = client_pending_find (self->pending, error->checkout_id);
    if (!entry)
        return false;                   //  not sent by this library, or dropped
    if (entry->hops >= CK_CLIENT_HOPS_MAX) {
        char why [80];
        snprintf (why, sizeof why, "not_owner %d times in a row: gave up",
                  CK_CLIENT_HOPS_MAX);
        return s_give_up (self, why);
    }
    entry->hops++;
    self->redirects++;
    int link = -1;
    if (error->owner [0]) {
        link = s_owner_link (self, error->owner);
        if (link == -1)
            return s_give_up (self, "cannot connect to the owner named");
    }
    if (self->verbose)
        zsys_debug ("client: checkout=%s redirected=%s hops=%u", entry->checkout_id,
                    link >= 0? self->links [link].endpoint: "(none)", entry->hops);
    if (link == -1 || client_send_link (self, (size_t) link, entry->command, entry->body,
                                        entry->body_size) == -1)
        s_back_off (self, entry);
    return true;
}

//  Forgets the request a final answer settles: RESULT, DESCRIPTION or an
//  ERROR about a checkout (ACCEPTED is not final: the RESULT follows)
static void
s_settle (ck_client_t *self, ck_command_t command)
{
    const char *checkout_id = NULL;
    if (command == CK_CMD_RESULT)
        checkout_id = self->reply.result.checkout_id;
    else
    if (command == CK_CMD_DESCRIPTION)
        checkout_id = self->reply.description.checkout_id;
    else
    if (command == CK_CMD_ERROR)
        checkout_id = self->reply.error.checkout_id;
    if (checkout_id && checkout_id [0])
        client_pending_remove (self->pending, checkout_id);
}

//  Sends the redirected requests whose back-off ended
static void
s_resend_due (ck_client_t *self)
{
    int64_t now = zclock_mono ();
    client_request_t *entry;
    while ((entry = client_pending_due (self->pending, now)))
        if (client_send_any (self, entry->link, entry->command, entry->body,
                             entry->body_size) == -1)
            client_pending_defer (self->pending, entry, now + RESEND_AGAIN_MS, entry->link);
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
    int64_t deadline = client_deadline (timeout_ms);
    zmq_pollitem_t items [LINKS_MAX];
    while (!zsys_interrupted) {
        s_resend_due (self);
        if (s_recv_any (self) == 0) {
            ck_command_t command = s_take (self);
            if (command == CK_CMD_NONE)
                continue;
            if (s_follow (self, command)) {
                ck_message_close (&self->last);
                self->reply.command = CK_CMD_NONE;
                self->reply.body = NULL;
                self->reply.body_size = 0;
                continue;
            }
            s_settle (self, command);
            return command;
        }
        long wait = client_remaining (deadline);
        long due = ck_client_timeout (self);
        if (wait == 0)
            break;
        if (due >= 0 && (wait < 0 || due < wait))
            wait = due;
        size_t count = ck_client_poll_items (self, items, LINKS_MAX);
        if (zmq_poll (items, (int) count, wait) < 0)
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

//  Returns the first frontend's DEALER (borrowed). Can't fail.
zsock_t *
ck_client_socket (ck_client_t *self)
{
    assert (self);
    return self->links [0].dealer;
}

//  Fills one poll item per DEALER, at most max; returns how many.
size_t
ck_client_poll_items (ck_client_t *self, zmq_pollitem_t *items, size_t max)
{
    assert (self && (items || max == 0));
    size_t count = 0;
    for (; count < self->link_count && count < max; count++)
        items [count] = (zmq_pollitem_t) {
            zsock_resolve (self->links [count].dealer), 0, ZMQ_POLLIN, 0
        };
    return count;
}

//  Milliseconds until a back-off ends, 0 when due, -1 when none waits.
long
ck_client_timeout (ck_client_t *self)
{
    assert (self);
    return client_pending_next_due (self->pending, zclock_mono ());
}

//  Returns the frontends given, joined by commas (borrowed). Can't fail.
const char *
ck_client_endpoint (ck_client_t *self)
{
    assert (self);
    return self->endpoints;
}

//  Returns the frontend of the last reply, "" before any (borrowed).
const char *
ck_client_answered_by (ck_client_t *self)
{
    assert (self);
    return self->has_answered? self->links [self->answered].endpoint: "";
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

//  Returns the number of requests kept for resending. Can't fail.
size_t
ck_client_pending (ck_client_t *self)
{
    assert (self);
    return client_pending_size (self->pending);
}

//  Returns the number of not_owner answers followed. Can't fail.
size_t
ck_client_redirects (ck_client_t *self)
{
    assert (self);
    return self->redirects;
}

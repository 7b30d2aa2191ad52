/*  conn_guard.c - connection limits on bound sockets, enforced by a ZAP handler
    The actor: the sockets' monitors, the ZAP endpoint, counts, refusals.

    A connection counts from its ACCEPTED event to its DISCONNECTED event
    (both carry its fd), handshake done or not: every one of them holds a
    file descriptor and, once it handshakes, a pipe that can queue up to
    the socket's HWM.  A connection that never handshakes is closed by
    libzmq after the socket's handshake interval.
*/
#include "conn_guard.h"

#define ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define REPORT_MS    1000               //  at most one REFUSED a second a socket

typedef struct {
    conn_watch_t watch;
    zactor_t *monitor;
    uint8_t *open;                      //  by fd: 1 while the connection is open
    size_t open_size;
    size_t count;                       //  connections open
    uint64_t refused;                   //  since the start
    uint64_t reported;                  //  refused as of the last REFUSED
} guarded_t;

typedef struct {
    zsock_t *pipe;
    zsock_t *zap;                       //  NULL when another handler has it
    guarded_t guarded [CONN_GUARD_MAX_WATCHES];
    size_t count;
    int64_t next_report_ms;
} self_t;

static void
s_destroy (self_t *self)
{
    for (size_t i = 0; i < self->count; i++) {
        zactor_destroy (&self->guarded [i].monitor);
        free (self->guarded [i].open);
    }
    zsock_destroy (&self->zap);
}

static int
s_start (self_t *self, const conn_guard_args_t *args)
{
    assert (args->count <= CONN_GUARD_MAX_WATCHES);
    self->zap = zsock_new (ZMQ_REP);
    if (!self->zap || zsock_bind (self->zap, ZAP_ENDPOINT) != 0) {
        zsys_warning ("conn_guard: %s is taken: connections are not limited", ZAP_ENDPOINT);
        zsock_destroy (&self->zap);
    }
    for (size_t i = 0; i < args->count; i++) {
        guarded_t *guarded = &self->guarded [self->count++];
        guarded->watch = args->watches [i];
        guarded->monitor = zactor_new (zmonitor, guarded->watch.sock);
        if (!guarded->monitor)
            return -1;
        zstr_sendx (guarded->monitor, "LISTEN", "ALL", NULL);
        zstr_sendx (guarded->monitor, "START", NULL);
        zsock_wait (guarded->monitor);
    }
    return 0;
}

//  Marks fd open or closed; returns false when it already was
static bool
s_mark (guarded_t *self, long fd, uint8_t open)
{
    if (fd < 0)
        return false;
    if ((size_t) fd >= self->open_size) {
        if (!open)
            return false;
        size_t size = (size_t) fd * 2 + 64;
        uint8_t *grown = (uint8_t *) realloc (self->open, size);
        if (!grown)
            return false;               //  uncounted: the limit is loose, not broken
        memset (grown + self->open_size, 0, size - self->open_size);
        self->open = grown;
        self->open_size = size;
    }
    if (self->open [fd] == open)
        return false;
    self->open [fd] = open;
    return true;
}

static void
s_monitor_event (self_t *self, guarded_t *guarded)
{
    zmsg_t *msg = zmsg_recv (guarded->monitor);
    if (!msg)
        return;
    char *event = zmsg_popstr (msg);
    char *value = zmsg_popstr (msg);
    long fd = value? strtol (value, NULL, 10): -1;
    if (event && streq (event, "ACCEPTED") && s_mark (guarded, fd, 1))
        guarded->count++;
    else
    if (event && streq (event, "DISCONNECTED") && s_mark (guarded, fd, 0))
        guarded->count--;
    if (guarded->watch.forward && event) {
        char *endpoint = zmsg_popstr (msg);
        zstr_sendx (self->pipe, event, value? value: "", endpoint? endpoint: "", NULL);
        zstr_free (&endpoint);
    }
    zstr_free (&event);
    zstr_free (&value);
    zmsg_destroy (&msg);
}

//  Answers one ZAP request (RFC 27): 200 unless the domain's socket is full
static void
s_zap_request (self_t *self)
{
    zmsg_t *request = zmsg_recv (self->zap);
    if (!request)
        return;
    char *version = zmsg_popstr (request);
    char *sequence = zmsg_popstr (request);
    char *domain = zmsg_popstr (request);
    const char *status = "200", *text = "OK";
    for (size_t i = 0; domain && i < self->count; i++) {
        guarded_t *guarded = &self->guarded [i];
        //  this connection is one of count already, when its ACCEPTED came first
        if (streq (domain, guarded->watch.name) && guarded->count > guarded->watch.limit) {
            status = "400";
            text = "too many connections";
            guarded->refused++;
        }
    }
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, "1.0");
    zmsg_addstr (reply, sequence? sequence: "");
    zmsg_addstr (reply, status);
    zmsg_addstr (reply, text);
    zmsg_addstr (reply, "");            //  user id
    zmsg_addmem (reply, NULL, 0);       //  metadata
    zmsg_send (&reply, self->zap);
    zstr_free (&version);
    zstr_free (&sequence);
    zstr_free (&domain);
    zmsg_destroy (&request);
}

//  Tells the pipe about refusals, at most once a REPORT_MS per socket
static void
s_report (self_t *self)
{
    int64_t now = zclock_mono ();
    if (now < self->next_report_ms)
        return;
    self->next_report_ms = now + REPORT_MS;
    for (size_t i = 0; i < self->count; i++) {
        guarded_t *guarded = &self->guarded [i];
        if (guarded->refused == guarded->reported)
            continue;
        guarded->reported = guarded->refused;
        char count [24], open [24];
        snprintf (count, sizeof count, "%" PRIu64, guarded->refused);
        snprintf (open, sizeof open, "%zu", guarded->count);
        zstr_sendx (self->pipe, "REFUSED", count, guarded->watch.name, open, NULL);
    }
}

void
conn_guard (zsock_t *pipe, void *args)
{
    self_t self = { .pipe = pipe };
    if (s_start (&self, (const conn_guard_args_t *) args)) {
        s_destroy (&self);
        zsock_signal (pipe, 1);
        return;
    }
    zsock_signal (pipe, 0);
    zpoller_t *poller = zpoller_new (pipe, NULL);
    if (self.zap)
        zpoller_add (poller, self.zap);
    for (size_t i = 0; i < self.count; i++)
        zpoller_add (poller, self.guarded [i].monitor);
    while (true) {
        void *which = zpoller_wait (poller, REPORT_MS);
        if (which == pipe) {
            char *command = zstr_recv (pipe);
            bool term = !command || streq (command, "$TERM");
            zstr_free (&command);
            if (term)
                break;
        }
        else
        if (which && which == self.zap)
            s_zap_request (&self);
        else
        for (size_t i = 0; which && i < self.count; i++)
            if (which == self.guarded [i].monitor)
                s_monitor_event (&self, &self.guarded [i]);
        if (zpoller_terminated (poller))
            break;
        s_report (&self);
    }
    zpoller_destroy (&poller);
    s_destroy (&self);
}

/*  participant_link.c - one coordinator connection of the participant runtime
    Socket options, READY, heartbeats, liveness and reconnect back-off (docs/protocol.md#liveness).
*/
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>
#include "participant_link.h"
#include "frame.h"

//  Bounded linger: the final DISCONNECT and the last replies must flush,
//  but a dead coordinator must not hold up the process's exit for long.
#define LINK_LINGER_MS      1000

//  Frames a coordinator sends are a body of at most CK_MAX_BODY plus a few
//  short frames; a bigger message is garbage, and libzmq drops the
//  connection instead of buffering it.
#define LINK_MAX_MSG_SIZE   (CK_MAX_BODY + 4096)

struct _participant_link_t {
    participant_link_config_t config;
    zsock_t *sock;                      //  NULL while waiting to reconnect
    uint32_t generation;                //  sockets created so far
    int64_t last_send;                  //  when we last sent anything
    int64_t last_recv;                  //  when we last heard anything
    int64_t reconnect_at;               //  when sock is NULL
    uint32_t backoff_ms;                //  the next wait before reconnecting
    bool stopped;
    uint64_t reconnects;
    uint32_t heard;                     //  messages on this socket
    uint32_t refusals;                  //  READYs refused in a row
    bool alive;                         //  see participant_link_alive
    bool renewing;                      //  silent: connect again next tick
};

participant_link_t *
participant_link_new (const participant_link_config_t *config)
{
    assert (config && config->endpoint && config->instance && config->ready);
    participant_link_t *self = (participant_link_t *) zmalloc (sizeof (participant_link_t));
    self->config = *config;
    self->backoff_ms = config->reconnect_min_ms;
    self->reconnect_at = INT64_MAX;
    self->alive = true;                 //  until silence says otherwise
    return self;
}

void
participant_link_destroy (participant_link_t **self_p)
{
    assert (self_p);
    participant_link_t *self = *self_p;
    if (self) {
        zsock_destroy (&self->sock);
        free (self);
        *self_p = NULL;
    }
}

//  The routing identity: unique per instance, endpoint, socket and process.
//  A new generation on every reconnect, and the PID, mean the coordinator's
//  ROUTER never sees two connections under one id, which it would refuse
//  without handover: a participant restarted while its old process still
//  holds an open connection would otherwise go unheard until it renewed.
static void
s_identity (participant_link_t *self, char *out, size_t size)
{
    snprintf (out, size, "%s/%zu/%u/%d", self->config.instance, self->config.index,
              self->generation, (int) getpid ());
}

//  Opens a new socket, connects and sends READY.  Returns 0 or -1.
static int
s_connect (participant_link_t *self, int64_t now)
{
    assert (!self->sock);
    self->generation++;
    char identity [CK_ID_SIZE + 32];
    s_identity (self, identity, sizeof identity);
    //  1..255 bytes and not starting with 0: czmq aborts otherwise
    assert (strlen (identity) > 0 && strlen (identity) < 256);

    self->sock = zsock_new (ZMQ_DEALER);
    if (!self->sock) {
        zsys_error ("participant: socket failed endpoint=%s", self->config.endpoint);
        return -1;
    }
    zsock_set_identity (self->sock, identity);
    zsock_set_linger (self->sock, LINK_LINGER_MS);
    zsock_set_rcvtimeo (self->sock, 0);
    zsock_set_immediate (self->sock, 0);
    zsock_set_maxmsgsize (self->sock, LINK_MAX_MSG_SIZE);
    ck_curve_client_apply (self->config.curve, self->sock);
    if (zsock_connect (self->sock, "%s", self->config.endpoint) == -1) {
        zsys_error ("participant: connect failed endpoint=%s error=%s",
                    self->config.endpoint, zmq_strerror (zmq_errno ()));
        zsock_destroy (&self->sock);
        return -1;
    }
    self->last_recv = now;              //  grace: liveness counts from here
    self->reconnect_at = INT64_MAX;
    self->heard = 0;
    const ck_buf_t *ready = self->config.ready;
    int rc = participant_link_send (self, CK_CMD_READY, ready->data, ready->size, now);
    zsys_info ("participant: connected endpoint=%s identity=%s ready=%s",
               self->config.endpoint, identity, rc == 0? "sent": "failed");
    return 0;
}

//  Closes the socket and schedules the next attempt after the back-off,
//  which doubles up to reconnect_max until traffic resets it.
static void
s_back_off (participant_link_t *self, int64_t now)
{
    zsock_destroy (&self->sock);
    self->alive = false;
    self->reconnect_at = now + self->backoff_ms;
    zsys_info ("participant: reconnecting endpoint=%s in_ms=%u",
               self->config.endpoint, self->backoff_ms);
    uint64_t next = (uint64_t) self->backoff_ms * 2;
    self->backoff_ms = next > self->config.reconnect_max_ms?
        self->config.reconnect_max_ms: (uint32_t) next;
}

//  The coordinator is silent: a new socket at once, its READY queued, so
//  that the moment the coordinator is back (libzmq retries the connection
//  every 100 ms) READY reaches it; the back-off, which doubles up to
//  reconnect_max until traffic resets it, only spaces the renewals while
//  it stays away.  Closing the socket for the back-off instead left a
//  participant away for up to reconnect_max after the coordinator's return.
//  "At once" is the next tick, which the deadline makes the next turn:
//  first the owner sees the link is not alive and may change its READY.
static void
s_renew (participant_link_t *self, int64_t now)
{
    zsock_destroy (&self->sock);
    self->alive = false;
    self->renewing = true;
    self->reconnect_at = now;
}

//  The renewal's connect, on the tick after s_renew
static void
s_renew_connect (participant_link_t *self, int64_t now)
{
    self->renewing = false;
    self->reconnects++;
    if (s_connect (self, now) == -1) {
        s_back_off (self, now);
        return;
    }
    int64_t silence = (int64_t) self->config.liveness * self->config.heartbeat_ivl_ms;
    if ((int64_t) self->backoff_ms > silence)
        self->last_recv = now + self->backoff_ms - silence;
    zsys_info ("participant: renewed endpoint=%s next_in_ms=%" PRId64,
               self->config.endpoint, self->last_recv + silence - now);
    uint64_t next = (uint64_t) self->backoff_ms * 2;
    self->backoff_ms = next > self->config.reconnect_max_ms?
        self->config.reconnect_max_ms: (uint32_t) next;
}

int
participant_link_start (participant_link_t *self, int64_t now)
{
    assert (self);
    return s_connect (self, now);
}

zsock_t *
participant_link_socket (participant_link_t *self)
{
    assert (self);
    return self->sock;
}

const char *
participant_link_endpoint (participant_link_t *self)
{
    assert (self);
    return self->config.endpoint;
}

int
participant_link_recv (participant_link_t *self, ck_message_t *message, int64_t now)
{
    assert (self && message);
    if (!self->sock)
        return -1;
    //  Without blocking: -1 when nothing waits.  (Asking ZMQ_EVENTS first
    //  would cost two system calls per message; a zmsg, a dozen allocations.)
    if (ck_message_recv (message, zsock_resolve (self->sock)) == -1)
        return -1;
    self->last_recv = now;
    self->alive = true;
    self->backoff_ms = self->config.reconnect_min_ms;
    if (++self->heard > 1)
        self->refusals = 0;
    return 0;
}

int
participant_link_send (participant_link_t *self, ck_command_t command, const void *body,
                       size_t size, int64_t now)
{
    assert (self);
    if (!self->sock)
        return -1;
    if (ck_frame_send (self->sock, NULL, 0, CK_PROTO_WORKER, command, body, size) == -1) {
        zsys_warning ("participant: send failed endpoint=%s command=%s error=%s",
                      self->config.endpoint, ck_command_name (command),
                      zmq_strerror (zmq_errno ()));
        return -1;
    }
    self->last_send = now;
    return 0;
}

//  A DISCONNECT that is the first thing heard on a socket refused its
//  READY: the coordinator has a live connection under our instance name
//  (ours, from before a restart, not yet found gone).  Asking again at
//  once would spin; waiting doubles from reconnect_min up to a heartbeat
//  interval, so that we are back within about a liveness period of the
//  old connection's going.
void
participant_link_restart (participant_link_t *self, int64_t now)
{
    assert (self);
    if (self->stopped)
        return;
    bool refused = self->heard <= 1;
    zsys_info ("participant: disconnected by coordinator endpoint=%s%s",
               self->config.endpoint, refused? " (READY refused)": "");
    zsock_destroy (&self->sock);
    if (refused) {                      //  participant_link_tick reconnects, and counts it
        uint64_t wait = (uint64_t) self->config.reconnect_min_ms <<
            (self->refusals < 16? self->refusals: 16);
        if (wait > self->config.heartbeat_ivl_ms)
            wait = self->config.heartbeat_ivl_ms;
        self->refusals++;
        self->reconnect_at = now + (int64_t) wait;
        return;
    }
    self->reconnects++;
    if (s_connect (self, now) == -1)
        s_back_off (self, now);
}

//  True when messages wait in the socket, not read yet
static bool
s_input_waiting (participant_link_t *self)
{
    return (zsock_events (self->sock) & ZMQ_POLLIN) != 0;
}

void
participant_link_keepalive (participant_link_t *self, int64_t now)
{
    assert (self);
    if (self->stopped || !self->sock || now - self->last_send < self->config.heartbeat_ivl_ms)
        return;
    if (participant_link_send (self, CK_CMD_HEARTBEAT, NULL, 0, now) == -1)
        self->last_send = now;          //  queue full: try again next interval
}

void
participant_link_tick (participant_link_t *self, int64_t now)
{
    assert (self);
    if (self->stopped)
        return;
    if (!self->sock) {
        if (now >= self->reconnect_at && self->renewing)
            s_renew_connect (self, now);
        else
        if (now >= self->reconnect_at) {
            self->reconnects++;
            if (s_connect (self, now) == -1)
                s_back_off (self, now);
        }
        return;
    }
    int64_t silence = (int64_t) self->config.liveness * self->config.heartbeat_ivl_ms;
    //  what waits unread (the loop was busy) was heard: it is read next turn
    if (now - self->last_recv >= silence && s_input_waiting (self))
        self->last_recv = now;
    if (now - self->last_recv >= silence) {
        zsys_warning ("participant: coordinator silent endpoint=%s silent_ms=%" PRId64,
                      self->config.endpoint, now - self->last_recv);
        s_renew (self, now);
    }
    else
    if (now - self->last_send >= self->config.heartbeat_ivl_ms) {
        if (participant_link_send (self, CK_CMD_HEARTBEAT, NULL, 0, now) == -1)
            self->last_send = now;      //  queue full: try again next interval
        else
        if (self->config.verbose)
            zsys_debug ("participant: heartbeat endpoint=%s", self->config.endpoint);
    }
}

int64_t
participant_link_deadline (participant_link_t *self)
{
    assert (self);
    if (self->stopped)
        return INT64_MAX;
    if (!self->sock)
        return self->reconnect_at;
    int64_t silence = (int64_t) self->config.liveness * self->config.heartbeat_ivl_ms;
    int64_t beat = self->last_send + self->config.heartbeat_ivl_ms;
    int64_t dead = self->last_recv + silence;
    return beat < dead? beat: dead;
}

bool
participant_link_alive (participant_link_t *self)
{
    assert (self);
    return self->alive;
}

//  A READY with update on the live connection: the coordinator changes
//  that connection's capacity.  A plain READY would read as a new
//  connection under the same routing id, and what it holds as lost.
void
participant_link_ready_changed (participant_link_t *self, const ck_buf_t *update,
                                int64_t now)
{
    assert (self);
    assert (update);
    if (self->stopped || !self->sock)
        return;
    if (participant_link_send (self, CK_CMD_READY, update->data, update->size, now) == 0)
        zsys_info ("participant: READY again endpoint=%s (capacity changed)",
                   self->config.endpoint);
}

void
participant_link_stop (participant_link_t *self)
{
    assert (self);
    if (self->stopped)
        return;
    self->stopped = true;
    if (self->sock) {
        participant_link_send (self, CK_CMD_DISCONNECT, NULL, 0, zclock_mono ());
        zsys_info ("participant: disconnecting endpoint=%s", self->config.endpoint);
    }
}

uint64_t
participant_link_reconnects (participant_link_t *self)
{
    assert (self);
    return self->reconnects;
}

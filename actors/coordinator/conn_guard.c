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
#define RELOAD_MS    1000               //  the allow-lists are read again
#define RETRY_MS     50                 //  ...or sooner for an unknown key

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
    keyring_t *keyring;                 //  with CURVE, else NULL
    int64_t next_reload_ms;
    int64_t next_retry_ms;              //  earliest reload for an unknown key
} self_t;

static void
s_destroy (self_t *self)
{
    for (size_t i = 0; i < self->count; i++) {
        zactor_destroy (&self->guarded [i].monitor);
        free (self->guarded [i].open);
    }
    zsock_destroy (&self->zap);
    keyring_destroy (&self->keyring);
}

static int
s_start (self_t *self, const conn_guard_args_t *args)
{
    assert (args->count <= CONN_GUARD_MAX_WATCHES);
    //  Without the handler, libzmq lets any CURVE key in: a process that
    //  was asked for CURVE must not run so.  zactor_new cannot report a
    //  failed start, and the coordinator has read the same allow-lists a
    //  moment before, so this is a broken process, not bad input: stop it.
    if (args->allow && !(self->keyring = keyring_new (args->allow))) {
        zsys_error ("conn_guard: cannot read the allow-lists: stopping");
        abort ();
    }
    self->zap = zsock_new (ZMQ_REP);
    if (!self->zap || zsock_bind (self->zap, ZAP_ENDPOINT) != 0) {
        zsock_destroy (&self->zap);
        if (self->keyring) {
            zsys_error ("conn_guard: %s is taken: cannot check keys: stopping", ZAP_ENDPOINT);
            abort ();
        }
        zsys_warning ("conn_guard: %s is taken: connections are not limited", ZAP_ENDPOINT);
    }
    for (size_t i = 0; i < args->count; i++) {
        guarded_t *guarded = &self->guarded [self->count++];
        guarded->watch = args->watches [i];
        if (!guarded->watch.sock)
            continue;                   //  keys only
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

static bool
s_key_allowed (self_t *self, const char *roles, const char *key)
{
    return streq (roles, "*")? keyring_serves (self->keyring, key)
                             : keyring_allows_any (self->keyring, roles, key);
}

//  With CURVE, the verdict on the client's key for domain's socket: NULL
//  when it may connect, else why not.  key gets the key in Z85.
static const char *
s_key_verdict (self_t *self, guarded_t *guarded, const char *mechanism, zframe_t *credentials,
               char key [KEYRING_KEY_SIZE])
{
    key [0] = 0;
    if (!mechanism || !streq (mechanism, "CURVE") || !credentials
    ||  zframe_size (credentials) != 32)
        return "CURVE required";
    zmq_z85_encode (key, zframe_data (credentials), 32);
    const char *roles = guarded->watch.roles? guarded->watch.roles: "";
    bool allowed = s_key_allowed (self, roles, key);
    //  a key granted a moment ago gets in at its first handshake: read the
    //  allow-lists again, at most every RETRY_MS (refusals can be many)
    if (!allowed && zclock_mono () >= self->next_retry_ms) {
        self->next_retry_ms = zclock_mono () + RETRY_MS;
        keyring_reload (self->keyring);
        allowed = s_key_allowed (self, roles, key);
    }
    return allowed? NULL: "key not allowed";
}

//  Answers one ZAP request (RFC 27): with CURVE, 400 for a key that holds
//  none of the socket's roles; then 400 when the socket is full; else 200
//  with the key as User-Id
static void
s_zap_request (self_t *self)
{
    zmsg_t *request = zmsg_recv (self->zap);
    if (!request)
        return;
    char *version = zmsg_popstr (request);
    char *sequence = zmsg_popstr (request);
    char *domain = zmsg_popstr (request);
    char *address = zmsg_popstr (request);
    char *identity = zmsg_popstr (request);
    char *mechanism = zmsg_popstr (request);
    zframe_t *credentials = zmsg_pop (request);
    const char *status = "200", *text = "OK";
    char key [KEYRING_KEY_SIZE] = "";
    guarded_t *guarded = NULL;
    for (size_t i = 0; domain && i < self->count; i++)
        if (streq (domain, self->guarded [i].watch.name))
            guarded = &self->guarded [i];
    if (self->keyring) {
        const char *refused = guarded? s_key_verdict (self, guarded, mechanism, credentials, key)
                                     : "unknown domain";
        if (refused) {
            status = "400";
            text = refused;
            zsys_warning ("conn_guard: socket=%s handshake refused: %s key=%s address=%s",
                          domain? domain: "", refused, *key? key: "-", address? address: "");
        }
    }
    //  this connection is one of count already, when its ACCEPTED came first
    if (streq (status, "200") && guarded && guarded->watch.sock
    &&  guarded->count > guarded->watch.limit) {
        status = "400";
        text = "too many connections";
        guarded->refused++;
    }
    zmsg_t *reply = zmsg_new ();
    zmsg_addstr (reply, "1.0");
    zmsg_addstr (reply, sequence? sequence: "");
    zmsg_addstr (reply, status);
    zmsg_addstr (reply, text);
    zmsg_addstr (reply, streq (status, "200")? key: "");   //  user id
    zmsg_addmem (reply, NULL, 0);       //  metadata
    zmsg_send (&reply, self->zap);
    zframe_destroy (&credentials);
    zstr_free (&version);
    zstr_free (&sequence);
    zstr_free (&domain);
    zstr_free (&address);
    zstr_free (&identity);
    zstr_free (&mechanism);
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
        if (self.guarded [i].monitor)
            zpoller_add (poller, self.guarded [i].monitor);
    while (true) {
        void *which = zpoller_wait (poller, REPORT_MS);
        if (which == pipe) {
            char *command = zstr_recv (pipe);
            bool term = !command || streq (command, "$TERM");
            //  RELOAD: the owner saw a key withdrawn and will have its
            //  peers handshake again, which must meet the new lists
            if (command && streq (command, "RELOAD")) {
                if (self.keyring)
                    keyring_reload (self.keyring);
                zstr_send (pipe, "RELOADED");
            }
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
        if (self.keyring && zclock_mono () >= self.next_reload_ms) {
            keyring_reload (self.keyring);
            self.next_reload_ms = zclock_mono () + RELOAD_MS;
        }
    }
    zpoller_destroy (&poller);
    s_destroy (&self);
}

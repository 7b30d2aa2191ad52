/*  fault_proxy.c - between the coordinator and its participants: drops,
    duplicates, delays and reorders a share of the messages

    Usage: fault_proxy --listen EP --coordinator EP [--drop P] [--duplicate P]
                       [--delay P] [--reorder P] [--delay-ms MS] [--seed S]
                       [--all]
    Participants connect to --listen (a ROUTER) as if it were the
    coordinator's backend.  Each participant connection gets its own DEALER
    to the coordinator, so the coordinator still sees one connection per
    participant, and what comes back on it goes to that participant only.
    A message gets at most one fault, drawn with the given probabilities
    (percent, 0..25 each): dropped; sent twice; held for --delay-ms; or
    held until the next message on the same path has gone (at most
    --delay-ms), which swaps the two.  Only REQUEST and REPLY are touched
    unless --all: heartbeats that never arrive make a participant and the
    coordinator give each other up, which is another test.  A DEALER whose
    participant has said nothing for 30 s (a participant heartbeats every
    second) is closed, as a dead connection would be.  On SIGTERM or
    SIGINT prints `fault_proxy messages=… dropped=… duplicated=… delayed=…
    reordered=… peers=…` and exits 0; 2 on bad usage.
*/
#include <czmq.h>
#include "checkout/config.h"

#define MAX_PEERS       256
#define PEER_IDLE_MS    30000

static const ck_option_t s_options [] = {
    { "listen", CK_OPT_STRING, NULL, 0, 0, "EP", "where participants connect (bind)" },
    { "coordinator", CK_OPT_STRING, NULL, 0, 0, "EP", "the coordinator's backend" },
    { "drop", CK_OPT_INT, "0", 0, 25, "P", "percent of messages dropped" },
    { "duplicate", CK_OPT_INT, "0", 0, 25, "P", "percent sent twice" },
    { "delay", CK_OPT_INT, "0", 0, 25, "P", "percent held for --delay-ms" },
    { "reorder", CK_OPT_INT, "0", 0, 25, "P", "percent swapped with the next on their path" },
    { "delay-ms", CK_OPT_INT, "50", 1, 10000, "MS", "how long a delayed message is held" },
    { "seed", CK_OPT_INT, "1", 0, 2147483647, "S", "seed of the draws" },
    { "all", CK_OPT_BOOL, NULL, 0, 0, NULL, "fault READY, HEARTBEAT and DISCONNECT too" },
    { .name = NULL }
};

//  One participant connection: its routing id and its DEALER
typedef struct {
    zframe_t *routing_id;
    zsock_t *dealer;
    int64_t heard_ms;                   //  last message from the participant
    zmsg_t *held [2];                   //  reordered, per path: 0 up, 1 down
    int64_t held_until [2];
} peer_t;

//  A delayed message: where it goes and when
typedef struct {
    peer_t *peer;
    int path;
    zmsg_t *msg;
    int64_t due_ms;
} delayed_t;

typedef struct {
    zsock_t *router;
    const char *coordinator;
    int drop, duplicate, delay, reorder, delay_ms;
    bool all;
    peer_t *peers [MAX_PEERS];
    size_t peer_count;
    zlist_t *delayed;                   //  delayed_t *, in due order (one delay)
    uint64_t messages, dropped, duplicated, delayed_count, reordered, peers_seen;
} proxy_t;

//  True for the messages faults apply to
static bool
s_faultable (proxy_t *self, zmsg_t *msg)
{
    if (self->all)
        return true;
    for (zframe_t *frame = zmsg_first (msg); frame; frame = zmsg_next (msg))
        if (zframe_streq (frame, "REQUEST") || zframe_streq (frame, "REPLY"))
            return true;
    return false;
}

//  Sends msg on its path now (destroys it): up to the coordinator on the
//  peer's DEALER, down to the participant through the ROUTER
static void
s_send (proxy_t *self, peer_t *peer, int path, zmsg_t **msg_p)
{
    if (path == 1)
        zmsg_pushmem (*msg_p, zframe_data (peer->routing_id), zframe_size (peer->routing_id));
    zmsg_send (msg_p, path == 0? peer->dealer: self->router);
    zmsg_destroy (msg_p);
}

//  Sends msg, then what was held back to follow it on the same path
static void
s_send_then_held (proxy_t *self, peer_t *peer, int path, zmsg_t **msg_p)
{
    s_send (self, peer, path, msg_p);
    if (peer->held [path])
        s_send (self, peer, path, &peer->held [path]);
}

//  Passes msg on its path with at most one fault
static void
s_pass (proxy_t *self, peer_t *peer, int path, zmsg_t **msg_p)
{
    self->messages++;
    int draw = s_faultable (self, *msg_p)? randof (100): 100;
    if (draw < self->drop) {
        self->dropped++;
        zmsg_destroy (msg_p);
        return;
    }
    draw -= self->drop;
    if (draw < self->duplicate) {
        self->duplicated++;
        zmsg_t *copy = zmsg_dup (*msg_p);
        s_send (self, peer, path, &copy);
        s_send_then_held (self, peer, path, msg_p);
        return;
    }
    draw -= self->duplicate;
    if (draw < self->delay) {
        self->delayed_count++;
        delayed_t *item = (delayed_t *) zmalloc (sizeof (delayed_t));
        *item = (delayed_t) { peer, path, *msg_p, zclock_mono () + self->delay_ms };
        *msg_p = NULL;
        zlist_append (self->delayed, item);
        return;
    }
    draw -= self->delay;
    if (draw < self->reorder && !peer->held [path]) {
        self->reordered++;
        peer->held [path] = *msg_p;
        peer->held_until [path] = zclock_mono () + self->delay_ms;
        *msg_p = NULL;
        return;
    }
    s_send_then_held (self, peer, path, msg_p);
}

static void
s_peer_destroy (peer_t **peer_p)
{
    peer_t *peer = *peer_p;
    zframe_destroy (&peer->routing_id);
    zsock_destroy (&peer->dealer);
    zmsg_destroy (&peer->held [0]);
    zmsg_destroy (&peer->held [1]);
    free (peer);
    *peer_p = NULL;
}

//  The peer of routing_id, made on its first message; NULL when full
static peer_t *
s_peer (proxy_t *self, zframe_t *routing_id)
{
    for (size_t index = 0; index < self->peer_count; index++)
        if (zframe_eq (self->peers [index]->routing_id, routing_id))
            return self->peers [index];
    if (self->peer_count == MAX_PEERS)
        return NULL;
    peer_t *peer = (peer_t *) zmalloc (sizeof (peer_t));
    peer->routing_id = zframe_dup (routing_id);
    peer->dealer = zsock_new (ZMQ_DEALER);
    zsock_set_linger (peer->dealer, 0);
    if (zsock_connect (peer->dealer, "%s", self->coordinator)) {
        s_peer_destroy (&peer);
        return NULL;
    }
    self->peers [self->peer_count++] = peer;
    self->peers_seen++;
    return peer;
}

//  Sends what is due: delayed messages and held ones whose wait is over;
//  closes the peers gone quiet.  Returns ms until the next due, at most 10.
static int
s_tick (proxy_t *self)
{
    int64_t now = zclock_mono ();
    delayed_t *item;
    while ((item = (delayed_t *) zlist_first (self->delayed)) && item->due_ms <= now) {
        zlist_pop (self->delayed);
        s_send_then_held (self, item->peer, item->path, &item->msg);
        free (item);
    }
    for (size_t index = 0; index < self->peer_count; index++) {
        peer_t *peer = self->peers [index];
        for (int path = 0; path < 2; path++)
            if (peer->held [path] && peer->held_until [path] <= now)
                s_send (self, peer, path, &peer->held [path]);
        if (now - peer->heard_ms > PEER_IDLE_MS && !zlist_size (self->delayed)) {
            s_peer_destroy (&self->peers [index]);
            self->peers [index--] = self->peers [--self->peer_count];
        }
    }
    return 10;
}

//  A zmsg from the participants' ROUTER: its routing id, then the message
static void
s_from_participant (proxy_t *self)
{
    zmsg_t *msg = zmsg_recv (self->router);
    zframe_t *routing_id = msg? zmsg_pop (msg): NULL;
    peer_t *peer = routing_id && zframe_size (routing_id) > 0? s_peer (self, routing_id): NULL;
    if (peer) {
        peer->heard_ms = zclock_mono ();
        s_pass (self, peer, 0, &msg);
    }
    zframe_destroy (&routing_id);
    zmsg_destroy (&msg);
}

static int
s_run (proxy_t *self)
{
    while (!zsys_interrupted) {
        zmq_pollitem_t items [MAX_PEERS + 1];
        items [0] = (zmq_pollitem_t) { zsock_resolve (self->router), 0, ZMQ_POLLIN, 0 };
        for (size_t index = 0; index < self->peer_count; index++)
            items [index + 1] = (zmq_pollitem_t) {
                zsock_resolve (self->peers [index]->dealer), 0, ZMQ_POLLIN, 0 };
        size_t count = self->peer_count;
        if (zmq_poll (items, (int) count + 1, s_tick (self)) == -1)
            break;
        if (items [0].revents & ZMQ_POLLIN)
            s_from_participant (self);
        for (size_t index = 0; index < count && index < self->peer_count; index++)
            if (items [index + 1].revents & ZMQ_POLLIN) {
                peer_t *peer = self->peers [index];
                zmsg_t *msg = zmsg_recv (peer->dealer);
                if (msg)
                    s_pass (self, peer, 1, &msg);
            }
    }
    return 0;
}

int
main (int argc, char *argv [])
{
    ck_program_t program = {
        .name = "fault_proxy",
        .summary = "between the coordinator and its participants: drops, duplicates, "
                   "delays and reorders a share of the messages",
        .options = s_options,
        .examples = "  fault_proxy --listen tcp://127.0.0.1:7001 --coordinator tcp://127.0.0.1:5571"
                    " --drop 5 --duplicate 5 --delay 5 --reorder 5\n"
    };
    int exit_code = 0;
    ck_config_t *config = ck_config_new (&program, argc, argv, &exit_code);
    if (!config)
        return exit_code;
    if (!ck_config_str (config, "listen") || !ck_config_str (config, "coordinator")) {
        ck_config_usage_error (config, "--listen and --coordinator are both needed");
        ck_config_destroy (&config);
        return 2;
    }
    zsys_init ();
    zsys_set_logstream (stderr);
    proxy_t self = {
        .coordinator = ck_config_str (config, "coordinator"),
        .drop = (int) ck_config_int (config, "drop"),
        .duplicate = (int) ck_config_int (config, "duplicate"),
        .delay = (int) ck_config_int (config, "delay"),
        .reorder = (int) ck_config_int (config, "reorder"),
        .delay_ms = (int) ck_config_int (config, "delay-ms"),
        .all = ck_config_bool (config, "all"),
        .delayed = zlist_new ()
    };
    srandom ((unsigned) ck_config_int (config, "seed"));
    self.router = zsock_new (ZMQ_ROUTER);
    zsock_set_linger (self.router, 0);
    if (zsock_bind (self.router, "%s", ck_config_str (config, "listen")) == -1) {
        ck_config_usage_error (config, "--listen: cannot bind '%s'", ck_config_str (config, "listen"));
        exit_code = 2;
    }
    else
        exit_code = s_run (&self);
    printf ("fault_proxy messages=%" PRIu64 " dropped=%" PRIu64 " duplicated=%" PRIu64
            " delayed=%" PRIu64 " reordered=%" PRIu64 " peers=%" PRIu64 "\n", self.messages,
            self.dropped, self.duplicated, self.delayed_count, self.reordered, self.peers_seen);
    fflush (stdout);
    delayed_t *item;
    while ((item = (delayed_t *) zlist_pop (self.delayed))) {
        zmsg_destroy (&item->msg);
        free (item);
    }
    zlist_destroy (&self.delayed);
    while (self.peer_count)
        s_peer_destroy (&self.peers [--self.peer_count]);
    zsock_destroy (&self.router);
    ck_config_destroy (&config);
    return exit_code;
}

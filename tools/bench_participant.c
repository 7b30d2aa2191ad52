/*  bench_participant.c - group commit benchmark of the real checkout-inventory
    Keeps 64 ReserveInventory requests in flight, with and without group commit.

    Usage: bench_participant [BIN_DIR [REQUESTS]]
    BIN_DIR defaults to this program's own directory; REQUESTS to 20000.
    The W1 seed is $CK_SOURCE_DIR/scripts/seeds/w1-catalog.csv, else BIN_DIR/../../scripts/seeds.
    Each run uses a fresh database (--sync full) in a temp dir, removed after.
*/
#include <czmq.h>
#include <limits.h>
#include "../tests/process_helpers.h"
#include "checkout/codec.h"
#include "frame.h"
#include "checkout/protocol.h"

#define IN_FLIGHT   64
#define SKUS        1000

typedef struct {
    zsock_t *router;
    uint8_t peer [256];
    size_t peer_size;
    bool ready;
    ck_buf_t buf;
    uint64_t sent;
    uint64_t replies;
    uint64_t not_ok;
} bench_t;

//  Receives one message within timeout_ms; returns its command (NONE on
//  timeout, COUNT on a bad message).  Answers heartbeats, notes READY.
static ck_command_t
s_recv (bench_t *self, int timeout_ms)
{
    zsock_set_rcvtimeo (self->router, timeout_ms);
    zmsg_t *msg = zmsg_recv (self->router);
    if (!msg)
        return CK_CMD_NONE;
    ck_frame_t frame;
    ck_decode_error_t err;
    ck_command_t command = CK_CMD_COUNT;
    if (ck_frame_parse (msg, CK_PROTO_WORKER, true, &frame, &err) == 0) {
        command = frame.command;
        if (command == CK_CMD_READY && frame.routing_id_size <= sizeof self->peer) {
            memcpy (self->peer, frame.routing_id, frame.routing_id_size);
            self->peer_size = frame.routing_id_size;
            self->ready = true;
        }
        else
        if (command == CK_CMD_HEARTBEAT)
            ck_frame_send (self->router, frame.routing_id, frame.routing_id_size,
                           CK_PROTO_WORKER, CK_CMD_HEARTBEAT, NULL, 0);
        else
        if (command == CK_CMD_REPLY) {
            ck_reply_t reply;
            self->replies++;
            if (ck_decode_reply (frame.body, frame.body_size, &reply, &err)
            ||  reply.outcome != CK_OUTCOME_OK)
                self->not_ok++;
        }
    }
    zmsg_destroy (&msg);
    return command;
}

//  Sends the next W1-like request: 3 distinct SKUs, one unit each
static int
s_send_next (bench_t *self)
{
    ck_request_t request;
    memset (&request, 0, sizeof request);
    snprintf (request.saga_id, sizeof request.saga_id, "bench-%llu",
              (unsigned long long) self->sent);
    snprintf (request.checkout_id, sizeof request.checkout_id, "co-%llu",
              (unsigned long long) self->sent);
    request.type = CK_TYPE_RESERVE_INVENTORY;
    request.attempt = 1;
    request.deadline_ms = 5000;
    uint32_t first = (uint32_t) random () % SKUS;
    for (uint32_t line = 0; line < 3; line++) {
        ck_item_t *item = &request.items [request.item_count++];
        snprintf (item->sku, sizeof item->sku, "SKU-%04u", (first + line * 331) % SKUS);
        item->qty = 1;
    }
    if (ck_encode_request (&request, &self->buf))
        return -1;
    if (ck_frame_send (self->router, self->peer, self->peer_size, CK_PROTO_WORKER,
                       CK_CMD_REQUEST, self->buf.data, self->buf.size))
        return -1;
    self->sent++;
    return 0;
}

//  Starts checkout-inventory in dir; returns its pid or -1
static pid_t
s_start (const char *bin_dir, const char *seed, const char *dir, const char *endpoint,
         int max_batch)
{
    char exe [PATH_MAX + 32], db [PATH_MAX], log [PATH_MAX], batch [16];
    snprintf (exe, sizeof exe, "%s/checkout-inventory", bin_dir);
    snprintf (db, sizeof db, "%s/inventory.db", dir);
    snprintf (log, sizeof log, "%s/inventory.log", dir);
    snprintf (batch, sizeof batch, "%d", max_batch);
    const char *argv [] = {
        exe, "--coordinator", endpoint, "--db", db, "--seed", seed,
        "--sync", "full", "--max-batch", batch, "--capacity", "64",
        "--liveness", "20", "--instance", "bench-inv", NULL
    };
    return ph_spawn (exe, (char *const *) argv, log);
}

//  One run: returns requests/s, or -1 after reporting why
static double
s_run (const char *bin_dir, const char *seed, int max_batch, uint64_t total)
{
    char dir [128];
    if (ph_mkdtemp ("ck-bench", dir, sizeof dir)) {
        perror ("bench_participant: mkdtemp");
        return -1;
    }
    bench_t self = { 0 };
    ck_buf_init (&self.buf);
    self.router = zsock_new_router ("tcp://127.0.0.1:*");
    char *endpoint = self.router? zsock_last_endpoint (self.router): NULL;
    pid_t pid = endpoint? s_start (bin_dir, seed, dir, endpoint, max_batch): -1;
    double rate = -1;
    int64_t deadline = ph_now_ms () + 15000;
    while (pid > 0 && !self.ready && ph_now_ms () < deadline)
        s_recv (&self, 100);
    if (!self.ready)
        fprintf (stderr, "bench_participant: no READY from %s/checkout-inventory (log in %s)\n",
                 bin_dir, dir);
    else {
        int64_t start = ph_now_ms ();
        while (self.sent < total && self.sent < IN_FLIGHT)
            s_send_next (&self);
        int64_t last = ph_now_ms ();
        while (self.replies < total && ph_now_ms () - last < 10000) {
            uint64_t before = self.replies;
            s_recv (&self, 1000);
            if (self.replies > before)
                last = ph_now_ms ();
            while (self.sent < total && self.sent - self.replies < IN_FLIGHT)
                if (s_send_next (&self))
                    break;
        }
        int64_t elapsed = ph_now_ms () - start;
        if (self.replies < total || self.not_ok)
            fprintf (stderr, "bench_participant: max-batch=%d replies=%llu/%llu not_ok=%llu\n",
                     max_batch, (unsigned long long) self.replies,
                     (unsigned long long) total, (unsigned long long) self.not_ok);
        else
            rate = elapsed > 0? (double) total * 1000.0 / (double) elapsed: 0;
    }
    if (pid > 0)
        ph_kill_reap (&pid);
    zstr_free (&endpoint);
    zsock_destroy (&self.router);
    ck_buf_free (&self.buf);
    if (rate >= 0)
        ph_rmrf (dir);
    return rate;
}

int
main (int argc, char *argv [])
{
    char bin_dir [PATH_MAX], seed [PATH_MAX + 64];
    if (argc > 1)
        snprintf (bin_dir, sizeof bin_dir, "%s", argv [1]);
    else {
        ssize_t n = readlink ("/proc/self/exe", bin_dir, sizeof bin_dir - 1);
        if (n <= 0) {
            perror ("bench_participant: /proc/self/exe");
            return 1;
        }
        bin_dir [n] = 0;
        char *slash = strrchr (bin_dir, '/');
        if (slash)
            *slash = 0;
    }
    uint64_t total = argc > 2? strtoull (argv [2], NULL, 10): 20000;
    if (total == 0) {
        fprintf (stderr, "bench_participant: REQUESTS must be a positive number\n");
        return 2;
    }
    const char *source = getenv ("CK_SOURCE_DIR");
    if (source)
        snprintf (seed, sizeof seed, "%s/scripts/seeds/w1-catalog.csv", source);
    else
        snprintf (seed, sizeof seed, "%s/../../scripts/seeds/w1-catalog.csv", bin_dir);
    zsys_init ();
    int batches [] = { 64, 1 };
    for (size_t i = 0; i < sizeof batches / sizeof batches [0]; i++) {
        double rate = s_run (bin_dir, seed, batches [i], total);
        if (rate < 0)
            return 1;
        printf ("inventory: max-batch=%d  %.0f requests/s\n", batches [i], rate);
        fflush (stdout);
    }
    return 0;
}

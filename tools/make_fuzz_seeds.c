/*  make_fuzz_seeds.c - writes the seed corpora of the fuzz targets
    Valid messages of every type, as bodies, framed, and as the in-process targets take them.

    usage: make_fuzz_seeds SEED_DIR    (normally tests/fuzz/seeds)
    The output is deterministic; the files are kept in the repository, so
    run this again only when the samples or the protocol change.
*/
#include <errno.h>
#include <stdlib.h>
#include <sys/stat.h>
#include "../tests/codec_samples.h"

//  An auto-generated ZeroMQ routing id: 5 bytes, the first one 0
static const uint8_t s_routing_id [] = { 0x00, 0xba, 0xd4, 0xe3, 0x43 };

//  What the first byte of an in-process target's input selects (see
//  tests/fuzz/fuzz_participant.c and fuzz_frontend.c)
enum { PARTICIPANT_REQUEST = 0, PARTICIPANT_FRAMES = 1, PARTICIPANT_SCRIPT = 2 };
enum { FRONTEND_CHECKOUT = 0, FRONTEND_STATUS = 1, FRONTEND_PING = 2, FRONTEND_FRAMES = 3,
       FRONTEND_SCRIPT = 4 };

typedef struct {
    const char *dir;
    ck_buf_t body;
    ck_sample_any_t msg;
    int written;
    int failed;
} seeds_t;

static void
s_write (seeds_t *self, const char *subdir, const char *name, const void *data, size_t size)
{
    char path [512];
    snprintf (path, sizeof path, "%s/%s/%s", self->dir, subdir, name);
    FILE *file = fopen (path, "wb");
    if (!file || fwrite (data, 1, size, file) != size || fclose (file) != 0) {
        fprintf (stderr, "make_fuzz_seeds: can't write %s: %s\n", path, strerror (errno));
        self->failed++;
        return;
    }
    self->written++;
}

//  Appends one frame of the fuzz_frame layout: 2-byte length, then bytes
static size_t
s_frame (uint8_t *out, size_t at, const void *data, size_t size)
{
    out [at] = (uint8_t) (size >> 8);
    out [at + 1] = (uint8_t) size;
    memcpy (out + at + 2, data, size);
    return at + 2 + size;
}

//  Writes data into subdir/name, after the byte mode unless it is -1: the
//  in-process targets take their first byte as what to do with the rest
static void
s_write_mode (seeds_t *self, const char *subdir, const char *name, int mode,
              const void *data, size_t size)
{
    if (mode < 0) {
        s_write (self, subdir, name, data, size);
        return;
    }
    uint8_t *out = malloc (size + 1);
    out [0] = (uint8_t) mode;
    memcpy (out + 1, data, size);
    s_write (self, subdir, name, out, size + 1);
    free (out);
}

//  Writes a framed message: [routing id when routed][""][signature][command][body]
static void
s_write_framed_to (seeds_t *self, const char *subdir, int mode, const char *name,
                   bool routed, const char *signature, ck_command_t command,
                   const void *body, size_t body_size)
{
    size_t capacity = 1 + 5 * 2 + sizeof s_routing_id + 32 + body_size;
    uint8_t *out = malloc (capacity);
    const char *command_name = ck_command_name (command);
    size_t at = 1;
    if (routed)
        at = s_frame (out, at, s_routing_id, sizeof s_routing_id);
    at = s_frame (out, at, "", 0);
    at = s_frame (out, at, signature, strlen (signature));
    at = s_frame (out, at, command_name, strlen (command_name));
    if (body)
        at = s_frame (out, at, body, body_size);
    out [0] = (uint8_t) (routed + 3 + (body != NULL));
    s_write_mode (self, subdir, name, mode, out, at);
    free (out);
}

static void
s_write_framed (seeds_t *self, const char *name, bool routed, const char *signature,
                ck_command_t command, const void *body, size_t body_size)
{
    s_write_framed_to (self, "fuzz_frame", -1, name, routed, signature, command,
                       body, body_size);
}

//  The in-process targets' seeds of a message: the body alone (mode
//  body_mode) and the message as its sender frames it (mode FRAMES)
static void
s_in_process (seeds_t *self, const char *name, ck_command_t command, int body_mode)
{
    bool client = command == CK_CMD_CHECKOUT || command == CK_CMD_STATUS;
    const char *subdir = client? "fuzz_frontend": "fuzz_participant";
    int frames_mode = client? FRONTEND_FRAMES: PARTICIPANT_FRAMES;
    s_write_mode (self, subdir, name, body_mode, self->body.data, self->body.size);
    char framed [96];
    snprintf (framed, sizeof framed, "%s-framed", name);
    s_write_framed_to (self, subdir, frames_mode, framed, false,
                       client? CK_SIGNATURE_CLIENT: CK_SIGNATURE_WORKER, command,
                       self->body.data, self->body.size);
}

//  Encodes self->msg as kind and writes it as a body seed and, when command
//  is set, as a framed seed too
static void
s_seed (seeds_t *self, ck_sample_kind_t kind, const char *name, ck_command_t command)
{
    const ck_sample_codec_t *codec = ck_sample_codec (kind);
    if (codec->encode (&self->msg, &self->body)) {
        fprintf (stderr, "make_fuzz_seeds: the sample %s does not encode\n", name);
        self->failed++;
        return;
    }
    s_write (self, "fuzz_codec", name, self->body.data, self->body.size);
    if (command == CK_CMD_NONE)
        return;
    bool routed = command == CK_CMD_CHECKOUT || command == CK_CMD_STATUS
               || command == CK_CMD_READY || command == CK_CMD_REPLY;
    bool worker = command >= CK_CMD_READY && command <= CK_CMD_DISCONNECT;
    const char *signature = worker? CK_SIGNATURE_WORKER: CK_SIGNATURE_CLIENT;
    s_write_framed (self, name, routed, signature, command, self->body.data, self->body.size);
    if (command == CK_CMD_CHECKOUT)
        s_in_process (self, name, command, FRONTEND_CHECKOUT);
    else
    if (command == CK_CMD_STATUS)
        s_in_process (self, name, command, FRONTEND_STATUS);
    else
    if (command == CK_CMD_REQUEST)
        s_in_process (self, name, command, PARTICIPANT_REQUEST);
}

static void
s_client_seeds (seeds_t *self)
{
    ck_sample_checkout (&self->msg.checkout, 1, false);
    s_seed (self, CK_SAMPLE_CHECKOUT, "checkout-1-item", CK_CMD_CHECKOUT);
    ck_sample_checkout (&self->msg.checkout, CK_MAX_ITEMS, true);
    s_seed (self, CK_SAMPLE_CHECKOUT, "checkout-100-items-ack", CK_CMD_CHECKOUT);
    for (uint32_t k = 0; k < 3; k++) {
        char name [32];
        snprintf (name, sizeof name, "checkout-w1-%u", k);
        ck_sample_w1_checkout (&self->msg.checkout, k);
        s_seed (self, CK_SAMPLE_CHECKOUT, name, k == 0? CK_CMD_CHECKOUT: CK_CMD_NONE);
    }
    ck_sample_status_request (&self->msg.status_request);
    s_seed (self, CK_SAMPLE_STATUS_REQUEST, "status", CK_CMD_STATUS);
    ck_sample_accepted (&self->msg.accepted);
    s_seed (self, CK_SAMPLE_ACCEPTED, "accepted", CK_CMD_ACCEPTED);
    for (int status = CK_STATUS_CONFIRMED; status < CK_STATUS_COUNT; status++) {
        char name [32];
        snprintf (name, sizeof name, "result-%s", ck_status_name ((ck_status_t) status));
        ck_sample_result (&self->msg.result, (ck_status_t) status,
                          status == CK_STATUS_FAILED? 8: 0);
        s_seed (self, CK_SAMPLE_RESULT, name, CK_CMD_RESULT);
    }
    ck_sample_error (&self->msg.error, CK_BAD_REQUEST);
    s_seed (self, CK_SAMPLE_ERROR, "error-bad-request", CK_CMD_ERROR);
    ck_sample_error (&self->msg.error, CK_BAD_FRAME);
    s_seed (self, CK_SAMPLE_ERROR, "error-bad-frame", CK_CMD_NONE);
    ck_sample_pong (&self->msg.pong);
    s_seed (self, CK_SAMPLE_PONG, "pong", CK_CMD_PONG);
}

static void
s_participant_seeds (seeds_t *self)
{
    ck_sample_ready (&self->msg.ready, CK_SERVICE_INVENTORY);
    s_seed (self, CK_SAMPLE_READY, "ready", CK_CMD_READY);
    for (int type = CK_TYPE_RESERVE_INVENTORY; type < CK_TYPE_COUNT; type++) {
        char name [64];
        snprintf (name, sizeof name, "request-%s", ck_type_name ((ck_type_t) type));
        ck_sample_request (&self->msg.request, (ck_type_t) type, 3);
        s_seed (self, CK_SAMPLE_REQUEST, name, CK_CMD_REQUEST);
        for (int outcome = CK_OUTCOME_OK; outcome <= CK_OUTCOME_ERROR; outcome++) {
            snprintf (name, sizeof name, "reply-%s-%s", ck_type_name ((ck_type_t) type),
                      ck_outcome_name ((ck_outcome_t) outcome));
            ck_sample_reply (&self->msg.reply, (ck_type_t) type, (ck_outcome_t) outcome);
            s_seed (self, CK_SAMPLE_REPLY, name, CK_CMD_REPLY);
        }
    }
}

static void
s_event_seeds (seeds_t *self)
{
    ck_sample_ev_started (&self->msg.ev_started);
    s_seed (self, CK_SAMPLE_EV_STARTED, "ev-started", CK_CMD_NONE);
    ck_sample_ev_step (&self->msg.ev_step, true);
    s_seed (self, CK_SAMPLE_EV_STEP, "ev-step", CK_CMD_NONE);
    ck_sample_ev_compensating (&self->msg.ev_compensating);
    s_seed (self, CK_SAMPLE_EV_COMPENSATING, "ev-compensating", CK_CMD_NONE);
    ck_sample_ev_outcome (&self->msg.ev_outcome, true);
    s_seed (self, CK_SAMPLE_EV_OUTCOME, "ev-confirmed", CK_CMD_NONE);
    ck_sample_ev_outcome (&self->msg.ev_outcome, false);
    s_seed (self, CK_SAMPLE_EV_OUTCOME, "ev-failed", CK_CMD_NONE);
    ck_sample_ev_worker (&self->msg.ev_worker, true);
    s_seed (self, CK_SAMPLE_EV_WORKER, "ev-worker", CK_CMD_NONE);
    ck_sample_ev_socket (&self->msg.ev_socket);
    s_seed (self, CK_SAMPLE_EV_SOCKET, "ev-socket", CK_CMD_NONE);
    ck_sample_ev_stats (&self->msg.ev_stats, 3);
    s_seed (self, CK_SAMPLE_EV_STATS, "ev-stats", CK_CMD_NONE);
}

//  The operator's commands, framed as a client sends them: for the frame
//  parser, and for the frontend, where they reach the saga log and engine
static void
s_operator_seeds (seeds_t *self)
{
    ck_list_t list = { .status = CK_SAGA_STATE_STUCK, .since_ms = 1, .limit = 3,
                       .cursor = "sg-1-000000000001" };
    ck_operator_t request = { .checkout_id = "chk-1", .by = "alice", .reason = "asked" };
    const char *names [] = { "list", "describe", "retry", "cancel" };
    const ck_command_t commands [] = { CK_CMD_LIST, CK_CMD_DESCRIBE, CK_CMD_RETRY,
                                       CK_CMD_CANCEL };
    for (size_t i = 0; i < 4; i++) {
        int rc = i == 0? ck_encode_list (&list, &self->body)
               : i == 1? ck_encode_describe (&request, &self->body)
               : i == 2? ck_encode_retry (&request, &self->body)
               : ck_encode_cancel (&request, &self->body);
        if (rc) {
            fprintf (stderr, "make_fuzz_seeds: %s does not encode\n", names [i]);
            self->failed++;
            continue;
        }
        char framed [64];
        snprintf (framed, sizeof framed, "%s-framed", names [i]);
        s_write_framed (self, names [i], true, CK_SIGNATURE_CLIENT, commands [i],
                        self->body.data, self->body.size);
        s_write_framed_to (self, "fuzz_frontend", FRONTEND_FRAMES, framed, false,
                           CK_SIGNATURE_CLIENT, commands [i], self->body.data,
                           self->body.size);
    }
}

//  Commands without a body, framed both ways they travel
static void
s_bodiless_seeds (seeds_t *self)
{
    s_write_framed (self, "ping", true, CK_SIGNATURE_CLIENT, CK_CMD_PING, NULL, 0);
    s_write_framed (self, "heartbeat-routed", true, CK_SIGNATURE_WORKER, CK_CMD_HEARTBEAT, NULL, 0);
    s_write_framed (self, "heartbeat", false, CK_SIGNATURE_WORKER, CK_CMD_HEARTBEAT, NULL, 0);
    s_write_framed (self, "disconnect-routed", true, CK_SIGNATURE_WORKER, CK_CMD_DISCONNECT, NULL, 0);
    s_write_framed (self, "disconnect", false, CK_SIGNATURE_WORKER, CK_CMD_DISCONNECT, NULL, 0);
}

//  The participant's scripted requests, 6 bytes each: byte 0 the saga
//  (<< 1) and release (bit 0), byte 1 attempt - 1 and line count - 1 (<< 2),
//  bytes 2-5 a line each: SKU index 0-3 of the catalog (4+: unknown) and
//  quantity - 1 (<< 3; 31 is the most allowed)
static void
s_script_seeds (seeds_t *self)
{
    //  two lines reserved, retried, released, released again
    static const uint8_t reserve_release [] = {
        PARTICIPANT_SCRIPT,
        0x02, 0x04, 0x08, 0x11, 0, 0,   0x02, 0x05, 0x08, 0x11, 0, 0,
        0x03, 0x00, 0, 0, 0, 0,         0x03, 0x01, 0, 0, 0, 0
    };
    //  more than SKU-0074 holds, then an unknown SKU, then all of SKU-0037
    static const uint8_t refused [] = {
        PARTICIPANT_SCRIPT,
        0x04, 0x00, 0x32, 0, 0, 0,      0x06, 0x04, 0x00, 0x04, 0, 0,
        0x08, 0x0c, 0xf9, 0xf9, 0x01, 0x0a
    };
    //  a release before its reservation: the reservation is then refused
    static const uint8_t tombstone [] = {
        PARTICIPANT_SCRIPT,
        0x0b, 0x00, 0, 0, 0, 0,         0x0a, 0x00, 0x00, 0, 0, 0
    };
    s_write (self, "fuzz_participant", "script-reserve-release", reserve_release,
             sizeof reserve_release);
    s_write (self, "fuzz_participant", "script-refused", refused, sizeof refused);
    s_write (self, "fuzz_participant", "script-tombstone", tombstone, sizeof tombstone);
    s_write_framed_to (self, "fuzz_participant", PARTICIPANT_FRAMES, "heartbeat", false,
                       CK_SIGNATURE_WORKER, CK_CMD_HEARTBEAT, NULL, 0);
    s_write_framed_to (self, "fuzz_participant", PARTICIPANT_FRAMES, "disconnect", false,
                       CK_SIGNATURE_WORKER, CK_CMD_DISCONNECT, NULL, 0);
    s_write_framed_to (self, "fuzz_frontend", FRONTEND_FRAMES, "ping-framed", false,
                       CK_SIGNATURE_CLIENT, CK_CMD_PING, NULL, 0);
    //  fuzz_frontend's scripts, 4 bytes a message: byte 0 STATUS (bit 0)
    //  and with byte 2 the checkout_id, byte 1 line count - 1 and ack (bit
    //  2), byte 2 also SKU and price, byte 3 quantities: a checkout, its
    //  repeat, its status, the same checkout_id with another cart; an odd
    //  amount (declined); one with ack
    static const uint8_t frontend_script [] = {
        FRONTEND_SCRIPT,
        0x02, 0x01, 0x00, 0x00,     0x02, 0x01, 0x00, 0x00,     0x03, 0, 0, 0,
        0x02, 0x00, 0x00, 0x01,     0x04, 0x00, 0x01, 0x00,     0x06, 0x07, 0x02, 0x1b
    };
    s_write (self, "fuzz_frontend", "script-checkouts", frontend_script,
             sizeof frontend_script);
    static const uint8_t ping = FRONTEND_PING;
    s_write (self, "fuzz_frontend", "ping", &ping, 1);
}

int
main (int argc, char **argv)
{
    if (argc != 2) {
        fprintf (stderr, "usage: make_fuzz_seeds SEED_DIR\n");
        return 2;
    }
    const char *subdirs [] = { "", "/fuzz_codec", "/fuzz_frame", "/fuzz_participant",
                               "/fuzz_frontend" };
    for (int i = 0; i < 5; i++) {
        char path [512];
        snprintf (path, sizeof path, "%s%s", argv [1], subdirs [i]);
        if (mkdir (path, 0755) && errno != EEXIST) {
            fprintf (stderr, "make_fuzz_seeds: can't create %s: %s\n", path, strerror (errno));
            return 1;
        }
    }
    seeds_t *self = calloc (1, sizeof *self);
    self->dir = argv [1];
    ck_buf_init (&self->body);
    s_client_seeds (self);
    s_participant_seeds (self);
    s_event_seeds (self);
    s_bodiless_seeds (self);
    s_operator_seeds (self);
    s_script_seeds (self);
    printf ("make_fuzz_seeds: %d files written in %s\n", self->written, self->dir);
    int rc = self->failed? 1: 0;
    ck_buf_free (&self->body);
    free (self);
    return rc;
}

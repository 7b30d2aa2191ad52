/*  fuzz_participant.c - libFuzzer harness for a participant's request path
    A real inventory runtime on a temp SQLite store, fed by a test coordinator.

    Set up once (LLVMFuzzerInitialize): the inventory's rules over a
    participant store in a scratch directory (synchronous off), seeded
    with a small catalog, served by the participant runtime, which
    connects to a ROUTER of ours over inproc:// and sends READY.

    Byte 0 of an input chooses what the coordinator sends (byte 0 % 3):
      0  the rest as the body of one REQUEST
      1  the rest as whole frames after the routing id (fuzz_support.h)
      2  the rest as a script of valid requests, 6 bytes each (s_scripted)
    then a probe REQUEST of a type inventory does not serve, whose answer
    (unsupported_type) must come within 2 s: the runtime neither crashed
    nor hung.  Every message it sends meanwhile must parse, and every REPLY
    decode.  After each input no stock is negative, and every 64 inputs
    the units in stock plus those in held reservations are the catalog's.
*/
#include <sqlite3.h>
#include <inttypes.h>
#include "checkout/codec.h"
#include "frame.h"
#include "inventory_rules.h"
#include "checkout/participant.h"
#include "participant_store.h"
#include "fuzz_support.h"
#include "../codec_samples.h"

#define TARGET          "fuzz_participant"
#define ANSWER_MS       2000            //  the probe's answer, at most
#define SCRIPT_STEP     6               //  input bytes per scripted request
#define SCRIPT_MAX      16              //  scripted requests per input
#define BALANCE_EVERY   64              //  inputs between conservation checks

//  The catalog: a deep SKU, a shallow one, one nearly out, one out; the
//  scripted requests also name SKU-UNKNOWN, which has no row
static const struct {
    const char *sku;
    int64_t available;
} s_catalog [] = {
    { "SKU-0000", 20000 }, { "SKU-0037", 50 }, { "SKU-0074", 5 }, { "SKU-0111", 0 }
};
#define CATALOG_SIZE (sizeof s_catalog / sizeof s_catalog [0])

static struct {
    char dir [PATH_MAX];
    char endpoint [64];
    participant_store_t *store;
    inventory_rules_t *rules;
    ck_participant_t *participant;
    zsock_t *router;
    uint8_t peer [256];                 //  the runtime's routing id (last READY)
    size_t peer_size;
    sqlite3 *check;                     //  read-only, for the invariants
    int64_t catalog_units;
    uint64_t probes;
    uint64_t inputs;
    ck_buf_t body;
} s_fuzz;

//  --------------------------------------------------------------------------
//  Set-up and tear-down

static void
s_cleanup (void)
{
    ck_participant_destroy (&s_fuzz.participant);
    inventory_rules_destroy (&s_fuzz.rules);
    participant_store_destroy (&s_fuzz.store);
    zsock_destroy (&s_fuzz.router);
    sqlite3_close (s_fuzz.check);
    s_fuzz.check = NULL;
    ck_buf_free (&s_fuzz.body);
    fuzz_dir_remove (s_fuzz.dir);
    s_fuzz.dir [0] = 0;
}

static void
s_write_catalog (const char *path)
{
    FILE *file = fopen (path, "w");
    if (!file)
        fuzz_broken (TARGET, "cannot write %s", path);
    for (size_t i = 0; i < CATALOG_SIZE; i++) {
        fprintf (file, "%s,%" PRId64 "\n", s_catalog [i].sku, s_catalog [i].available);
        s_fuzz.catalog_units += s_catalog [i].available;
    }
    fclose (file);
}

//  The store, the inventory's rules over it, and its seeded catalog
static void
s_store_open (void)
{
    char path [PATH_MAX + 32];
    snprintf (path, sizeof path, "%s/inventory.db", s_fuzz.dir);
    store_options_t options = { .sync = STORE_SYNC_OFF };
    s_fuzz.store = participant_store_new (path, &options);
    inventory_repo_t *repo = s_fuzz.store? inventory_repo_sqlite_new (s_fuzz.store): NULL;
    if (!repo)
        fuzz_broken (TARGET, "cannot open the store %s", path);
    s_fuzz.rules = inventory_rules_new (&repo, participant_store_ledger (s_fuzz.store));
    char catalog [PATH_MAX + 32];
    snprintf (catalog, sizeof catalog, "%s/catalog.csv", s_fuzz.dir);
    s_write_catalog (catalog);
    if (inventory_rules_seed (s_fuzz.rules, catalog) != 0)
        fuzz_broken (TARGET, "seeding failed: %s", inventory_rules_reason (s_fuzz.rules));
    if (sqlite3_open_v2 (path, &s_fuzz.check, SQLITE_OPEN_READONLY, NULL) != SQLITE_OK)
        fuzz_broken (TARGET, "cannot open %s to check it", path);
}

//  Receives one message within timeout_ms into *message; false if none
static bool
s_recv (ck_message_t *message, int timeout_ms)
{
    int64_t deadline = zclock_mono () + timeout_ms;
    void *router = zsock_resolve (s_fuzz.router);
    while (ck_message_recv (message, router) != 0) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0)
            return false;
        //  libFuzzer's SIGALRM (its -timeout watch) interrupts the poll
        zmq_pollitem_t item = { router, 0, ZMQ_POLLIN, 0 };
        if (zmq_poll (&item, 1, (long) left) == -1 && zmq_errno () != EINTR)
            fuzz_broken (TARGET, "zmq_poll: %s", zmq_strerror (zmq_errno ()));
    }
    return true;
}

//  Learns the runtime's routing id from a READY; false if frame is not one
static bool
s_take_ready (const ck_frame_t *frame)
{
    if (frame->command != CK_CMD_READY)
        return false;
    memcpy (s_fuzz.peer, frame->routing_id, frame->routing_id_size);
    s_fuzz.peer_size = frame->routing_id_size;
    return true;
}

static void
s_runtime_start (void)
{
    s_fuzz.router = zsock_new (ZMQ_ROUTER);
    snprintf (s_fuzz.endpoint, sizeof s_fuzz.endpoint, "inproc://%s-%d", TARGET, (int) getpid ());
    if (!s_fuzz.router || zsock_bind (s_fuzz.router, "%s", s_fuzz.endpoint) != 0)
        fuzz_broken (TARGET, "cannot bind %s", s_fuzz.endpoint);
    zsock_set_sndhwm (s_fuzz.router, 100000);
    const char *endpoints [] = { s_fuzz.endpoint };
    ck_participant_config_t config = {
        .service = CK_SERVICE_INVENTORY, .instance = "fuzz", .capacity = 64,
        .endpoints = endpoints, .endpoint_count = 1,
        //  our coordinator never heartbeats: the runtime must not give up on it
        .heartbeat_ivl_ms = 600000, .liveness = 100,
        .reconnect_min_ms = 10, .reconnect_max_ms = 100,
        .state = s_fuzz.rules
    };
    config.handlers [CK_TYPE_RESERVE_INVENTORY] = inventory_rules_reserve;
    config.handlers [CK_TYPE_RELEASE_INVENTORY] = inventory_rules_release;
    participant_store_hooks (s_fuzz.store, &config);
    s_fuzz.participant = ck_participant_new (&config);
    if (!s_fuzz.participant)
        fuzz_broken (TARGET, "the runtime did not start");
    ck_message_t message;
    while (s_recv (&message, 5000)) {
        ck_frame_t frame;
        ck_decode_error_t err;
        bool ready = ck_message_parse (&message, CK_PROTO_WORKER, true, &frame, &err) == 0
                  && s_take_ready (&frame);
        ck_message_close (&message);
        if (ready)
            return;
    }
    fuzz_broken (TARGET, "no READY within 5 s");
}

int
LLVMFuzzerInitialize (int *argc, char ***argv)
{
    (void) argc; (void) argv;
    zsys_init ();
    //  after zsys_init: exit runs ours first, while czmq's context lives
    atexit (s_cleanup);
    ck_buf_init (&s_fuzz.body);
    fuzz_dir_make (s_fuzz.dir, sizeof s_fuzz.dir, TARGET);
    s_store_open ();
    s_runtime_start ();
    return 0;
}

//  --------------------------------------------------------------------------
//  Sending

static void
s_send_request (const ck_request_t *request)
{
    if (ck_encode_request (request, &s_fuzz.body))
        fuzz_broken (TARGET, "a scripted request does not encode");
    ck_frame_send (s_fuzz.router, s_fuzz.peer, s_fuzz.peer_size, CK_PROTO_WORKER,
                   CK_CMD_REQUEST, s_fuzz.body.data, s_fuzz.body.size);
}

//  One valid request from 6 bytes: byte 0 bit 0 the type (reserve or
//  release), bits 1-7 the saga (128 of them, so repeats and releases
//  meet their reservations); byte 1 the attempt (low 2 bits) and the line
//  count (next 2); bytes 2-5 one line each: low 3 bits the SKU (the
//  catalog, then unknown), the rest the quantity (31: the most allowed)
static void
s_scripted (const uint8_t *data, size_t size)
{
    for (size_t at = 0, n = 0; at + SCRIPT_STEP <= size && n < SCRIPT_MAX; at += SCRIPT_STEP, n++) {
        const uint8_t *step = data + at;
        ck_request_t request = { .deadline_ms = 5000 };
        bool reserve = (step [0] & 1) == 0;
        request.type = reserve? CK_TYPE_RESERVE_INVENTORY: CK_TYPE_RELEASE_INVENTORY;
        snprintf (request.saga_id, sizeof request.saga_id, "fz-%u", step [0] >> 1);
        snprintf (request.checkout_id, sizeof request.checkout_id, "chk-%u", step [0] >> 1);
        request.attempt = 1 + (step [1] & 3);
        if (reserve) {
            request.item_count = 1 + ((step [1] >> 2) & 3);
            for (uint32_t line = 0; line < request.item_count; line++) {
                ck_item_t *item = &request.items [line];
                uint8_t sku = step [2 + line] & 7;
                snprintf (item->sku, sizeof item->sku, "%s",
                          sku < CATALOG_SIZE? s_catalog [sku].sku: "SKU-UNKNOWN");
                uint32_t qty = step [2 + line] >> 3;
                item->qty = qty == 31? CK_MAX_QTY: 1 + qty;
            }
        }
        s_send_request (&request);
    }
}

static void
s_send_probe (const char *saga_id)
{
    ck_request_t probe;
    ck_sample_request (&probe, CK_TYPE_AUTHORIZE_PAYMENT, 0);
    snprintf (probe.saga_id, sizeof probe.saga_id, "%s", saga_id);
    probe.attempt = 1;
    s_send_request (&probe);
}

//  --------------------------------------------------------------------------
//  Checking

//  Checks one message from the runtime; true when it is the probe's answer
static bool
s_check_message (ck_message_t *message, const char *probe_id)
{
    ck_frame_t frame;
    ck_decode_error_t err;
    if (ck_message_parse (message, CK_PROTO_WORKER, true, &frame, &err))
        fuzz_broken (TARGET, "the runtime sent a message that does not parse: %s", err.message);
    if (s_take_ready (&frame)) {
        //  it reconnected (a DISCONNECT went through): the probe sent to
        //  its old socket is lost, so it goes again
        s_send_probe (probe_id);
        return false;
    }
    if (frame.command != CK_CMD_REPLY)
        return false;                   //  HEARTBEAT, DISCONNECT
    static ck_reply_t reply;
    if (ck_decode_reply (frame.body, frame.body_size, &reply, &err))
        fuzz_broken (TARGET, "a REPLY does not decode: %s", err.message);
    if (strcmp (reply.saga_id, probe_id))
        return false;
    if (reply.outcome != CK_OUTCOME_ERROR || strcmp (reply.reason.code, CK_REASON_UNSUPPORTED_TYPE))
        fuzz_broken (TARGET, "the probe got outcome=%s reason=%s, not unsupported_type",
                     ck_outcome_name (reply.outcome), reply.reason.code);
    return true;
}

//  Sends the probe and reads until its answer, within ANSWER_MS
static void
s_probe (void)
{
    char probe_id [CK_ID_SIZE];
    snprintf (probe_id, sizeof probe_id, "probe-%" PRIu64, ++s_fuzz.probes);
    s_send_probe (probe_id);
    int64_t deadline = zclock_mono () + ANSWER_MS;
    while (true) {
        int64_t left = deadline - zclock_mono ();
        ck_message_t message;
        if (left <= 0 || !s_recv (&message, (int) left))
            fuzz_broken (TARGET, "no answer to the probe within %d ms: the runtime hangs", ANSWER_MS);
        bool answered = s_check_message (&message, probe_id);
        ck_message_close (&message);
        if (answered)
            return;
    }
}

//  One integer from a query of ours
static int64_t
s_query (const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2 (s_fuzz.check, sql, -1, &stmt, NULL) != SQLITE_OK
    ||  sqlite3_step (stmt) != SQLITE_ROW)
        fuzz_broken (TARGET, "%s: %s", sql, sqlite3_errmsg (s_fuzz.check));
    int64_t value = sqlite3_column_int64 (stmt, 0);
    sqlite3_finalize (stmt);
    return value;
}

//  The probe's answer came after every earlier reply's commit, so the
//  store shows what the runtime answered
static void
s_check_stock (void)
{
    int64_t least = s_query ("SELECT min(available) FROM stock");
    if (least < 0)
        fuzz_broken (TARGET, "stock went negative: %" PRId64, least);
    if (++s_fuzz.inputs % BALANCE_EVERY)
        return;
    int64_t in_stock = s_query ("SELECT sum(available) FROM stock");
    int64_t held = s_query ("SELECT coalesce(sum(l.value ->> 1), 0) FROM reservations r,"
                            " json_each (r.lines) l WHERE r.status = 'held'");
    if (in_stock + held != s_fuzz.catalog_units)
        fuzz_broken (TARGET, "units lost or made: %" PRId64 " in stock + %" PRId64
                     " held != %" PRId64 " seeded", in_stock, held, s_fuzz.catalog_units);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    switch (data [0] % 3) {
        case 0:
            ck_frame_send (s_fuzz.router, s_fuzz.peer, s_fuzz.peer_size, CK_PROTO_WORKER,
                           CK_CMD_REQUEST, data + 1, size - 1);
            break;
        case 1: {
            zmsg_t *msg = zmsg_new ();
            zmsg_addmem (msg, s_fuzz.peer, s_fuzz.peer_size);
            fuzz_frames_add (msg, data + 1, size - 1);
            if (zmsg_size (msg) == 1)
                zmsg_addmem (msg, "", 0);
            zmsg_send (&msg, s_fuzz.router);
            break;
        }
        default:
            s_scripted (data + 1, size - 1);
            break;
    }
    s_probe ();
    s_check_stock ();
    return 0;
}

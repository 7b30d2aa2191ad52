/*  test_participant_process.c - end-to-end tests of the participant executables
    The test is the coordinator: a ROUTER that the real processes connect to.
*/
#include <criterion/criterion.h>
#include <czmq.h>
#include <limits.h>
#include <sqlite3.h>
#include "checkout/codec.h"
#include "frame.h"
#include "process_helpers.h"
#include "checkout/protocol.h"

#define MAX_PIDS    8
#define MAX_PEERS   4
#define MAX_ARGS    40

//  A participant the test heard READY from, keyed by instance
typedef struct {
    ck_ready_t ready;
    uint8_t id [256];
    size_t id_size;
} peer_t;

//  The test's coordinator side
typedef struct {
    zsock_t *router;
    char *endpoint;
    peer_t peers [MAX_PEERS];
    int peer_count;
    int newest;                         //  peer of the last READY, or -1
    int heartbeats;                     //  HEARTBEATs received
    int disconnects;                    //  DISCONNECTs received
} coord_t;

//  Everything a test made, undone by s_fini even when an assertion fails
static struct {
    char dir [128];
    pid_t pids [MAX_PIDS];
    char logs [MAX_PIDS][64];           //  stdout's file name in dir, by slot
    coord_t coords [2];
    int coord_count;
    ck_buf_t buf;
} s_ctx;

static void
s_init (void)
{
    memset (&s_ctx, 0, sizeof s_ctx);
    cr_assert_eq (ph_mkdtemp ("ck-ptest", s_ctx.dir, sizeof s_ctx.dir), 0);
    ck_buf_init (&s_ctx.buf);
}

static void
s_fini (void)
{
    for (int i = 0; i < MAX_PIDS; i++)
        ph_kill_reap (&s_ctx.pids [i]);
    for (int i = 0; i < s_ctx.coord_count; i++) {
        zsock_destroy (&s_ctx.coords [i].router);
        zstr_free (&s_ctx.coords [i].endpoint);
    }
    ck_buf_free (&s_ctx.buf);
    ph_rmrf (s_ctx.dir);
}

TestSuite (participant_process, .init = s_init, .fini = s_fini, .timeout = 60);

//  Generous bounds: the ASan build is several times slower
#define READY_MS    15000
#define REPLY_MS    15000

//  -------------------------------------------------------------------------
//  Paths and processes

static void
s_path (char *out, size_t size, const char *name)
{
    snprintf (out, size, "%s/%s", s_ctx.dir, name);
}

//  Starts bin dir's program with the given args (NULL-terminated), stdout
//  to <dir>/<log> and stderr to <dir>/<log>.err; returns the pid's slot
static int
s_start_argv (const char *program, const char *log, const char **args)
{
    char bin [PATH_MAX], exe [PATH_MAX + 64], log_path [PATH_MAX], err_path [PATH_MAX + 8];
    cr_assert_eq (ph_bin_dir (bin, sizeof bin), 0, "no bin dir");
    snprintf (exe, sizeof exe, "%s/%s", bin, program);
    s_path (log_path, sizeof log_path, log);
    snprintf (err_path, sizeof err_path, "%s.err", log_path);
    const char *argv [MAX_ARGS];
    int argc = 0;
    argv [argc++] = exe;
    for (; *args && argc < MAX_ARGS - 1; args++)
        argv [argc++] = *args;
    argv [argc] = NULL;
    int slot = 0;
    while (slot < MAX_PIDS && s_ctx.pids [slot] > 0)
        slot++;
    cr_assert (slot < MAX_PIDS, "too many processes");
    snprintf (s_ctx.logs [slot], sizeof s_ctx.logs [slot], "%s", log);
    s_ctx.pids [slot] = ph_spawn2 (exe, (char *const *) argv, log_path, err_path);
    cr_assert (s_ctx.pids [slot] > 0, "fork failed");
    return slot;
}

#define s_start(program, log, ...) \
    s_start_argv ((program), (log), (const char *[]) { __VA_ARGS__, NULL })

//  Waits for the process in slot to exit; returns its exit code (-1 if
//  signalled); fails the test if it does not exit in timeout_ms
static int
s_wait_exit (int slot, int timeout_ms)
{
    int status = 0;
    cr_assert_eq (ph_wait (s_ctx.pids [slot], timeout_ms, &status), 0,
                  "process %d did not exit within %d ms", (int) s_ctx.pids [slot], timeout_ms);
    s_ctx.pids [slot] = 0;
    return ph_exit_code (status);
}

//  -------------------------------------------------------------------------
//  Coordinator side

static coord_t *
s_coord_new (void)
{
    cr_assert (s_ctx.coord_count < 2);
    coord_t *self = &s_ctx.coords [s_ctx.coord_count++];
    self->router = zsock_new_router ("tcp://127.0.0.1:*");
    cr_assert_not_null (self->router);
    self->endpoint = zsock_last_endpoint (self->router);
    cr_assert_not_null (self->endpoint);
    self->newest = -1;
    return self;
}

static void
s_record_ready (coord_t *self, const ck_frame_t *frame)
{
    ck_ready_t ready;
    ck_decode_error_t err;
    cr_assert_eq (ck_decode_ready (frame->body, frame->body_size, &ready, &err), 0,
                  "bad READY: %s", err.message);
    int index = 0;
    while (index < self->peer_count && strcmp (self->peers [index].ready.instance, ready.instance))
        index++;
    cr_assert (index < MAX_PEERS);
    if (index == self->peer_count)
        self->peer_count++;
    peer_t *peer = &self->peers [index];
    peer->ready = ready;
    cr_assert (frame->routing_id_size <= sizeof peer->id);
    memcpy (peer->id, frame->routing_id, frame->routing_id_size);
    peer->id_size = frame->routing_id_size;
    self->newest = index;
}

//  Receives one message for up to timeout_ms.  Records READYs, answers
//  HEARTBEATs, counts DISCONNECTs.  Returns the command (REPLY decoded into
//  *reply when not NULL), or CK_CMD_NONE on timeout.
static ck_command_t
s_recv (coord_t *self, int timeout_ms, ck_reply_t *reply)
{
    zsock_set_rcvtimeo (self->router, timeout_ms < 0? 0: timeout_ms);
    zmsg_t *msg = zmsg_recv (self->router);
    if (!msg)
        return CK_CMD_NONE;
    ck_frame_t frame;
    ck_decode_error_t err;
    cr_assert_eq (ck_frame_parse (msg, CK_PROTO_WORKER, true, &frame, &err), 0,
                  "bad frame from participant: %s", err.message);
    ck_command_t command = frame.command;
    if (command == CK_CMD_READY)
        s_record_ready (self, &frame);
    else
    if (command == CK_CMD_HEARTBEAT) {
        self->heartbeats++;
        ck_frame_send (self->router, frame.routing_id, frame.routing_id_size,
                       CK_PROTO_WORKER, CK_CMD_HEARTBEAT, NULL, 0);
    }
    else
    if (command == CK_CMD_DISCONNECT)
        self->disconnects++;
    else
    if (command == CK_CMD_REPLY && reply)
        cr_assert_eq (ck_decode_reply (frame.body, frame.body_size, reply, &err), 0,
                      "bad REPLY: %s", err.message);
    zmsg_destroy (&msg);
    return command;
}

//  Waits for the next READY; returns the peer's index
static int
s_wait_ready (coord_t *self)
{
    int64_t deadline = ph_now_ms () + READY_MS;
    while (ph_now_ms () < deadline)
        if (s_recv (self, (int) (deadline - ph_now_ms ()), NULL) == CK_CMD_READY)
            return self->newest;
    cr_assert_fail ("no READY within %d ms", READY_MS);
    return -1;
}

//  Waits for the next REPLY into *reply; false on timeout
static bool
s_wait_reply (coord_t *self, int timeout_ms, ck_reply_t *reply)
{
    int64_t deadline = ph_now_ms () + timeout_ms;
    while (ph_now_ms () < deadline)
        if (s_recv (self, (int) (deadline - ph_now_ms ()), reply) == CK_CMD_REPLY)
            return true;
    return false;
}

static void
s_send (coord_t *self, int peer, const ck_request_t *request)
{
    cr_assert_eq (ck_encode_request (request, &s_ctx.buf), 0, "encode %s", request->saga_id);
    cr_assert_eq (ck_frame_send (self->router, self->peers [peer].id, self->peers [peer].id_size,
                                 CK_PROTO_WORKER, CK_CMD_REQUEST,
                                 s_ctx.buf.data, s_ctx.buf.size), 0);
}

//  Sends request and waits for its reply
static ck_reply_t
s_call (coord_t *self, int peer, const ck_request_t *request)
{
    s_send (self, peer, request);
    ck_reply_t reply;
    cr_assert (s_wait_reply (self, REPLY_MS, &reply), "no reply to %s", request->saga_id);
    cr_assert_str_eq (reply.saga_id, request->saga_id);
    cr_assert_eq (reply.type, request->type);
    cr_assert_eq (reply.attempt, request->attempt);
    return reply;
}

//  -------------------------------------------------------------------------
//  Requests

static ck_request_t
s_request (ck_type_t type, const char *saga_id, uint32_t attempt)
{
    ck_request_t request;
    memset (&request, 0, sizeof request);
    snprintf (request.saga_id, sizeof request.saga_id, "%s", saga_id);
    snprintf (request.checkout_id, sizeof request.checkout_id, "co-%s", saga_id);
    request.type = type;
    request.attempt = attempt;
    request.deadline_ms = 5000;
    return request;
}

static void
s_add_item (ck_request_t *request, const char *sku, uint32_t qty, uint64_t unit_price)
{
    ck_item_t *item = &request->items [request->item_count++];
    snprintf (item->sku, sizeof item->sku, "%s", sku);
    item->qty = qty;
    item->unit_price = unit_price;
}

static ck_request_t
s_reserve (const char *saga_id, const char *sku, uint32_t qty, uint32_t attempt)
{
    ck_request_t request = s_request (CK_TYPE_RESERVE_INVENTORY, saga_id, attempt);
    s_add_item (&request, sku, qty, 0);
    return request;
}

static ck_request_t
s_authorize (const char *saga_id, const char *method)
{
    ck_request_t request = s_request (CK_TYPE_AUTHORIZE_PAYMENT, saga_id, 1);
    snprintf (request.customer_id, sizeof request.customer_id, "cust-1");
    request.amount = 2500;
    snprintf (request.currency, sizeof request.currency, "EUR");
    snprintf (request.payment_method, sizeof request.payment_method, "%s", method);
    return request;
}

static ck_request_t
s_create_order (const char *saga_id, const char *country)
{
    ck_request_t request = s_request (CK_TYPE_CREATE_ORDER, saga_id, 1);
    snprintf (request.cart_id, sizeof request.cart_id, "cart-%s", saga_id);
    snprintf (request.customer_id, sizeof request.customer_id, "cust-1");
    s_add_item (&request, "SKU-0001", 2, 1000);
    s_add_item (&request, "SKU-0002", 1, 500);
    request.amount = 2500;
    snprintf (request.currency, sizeof request.currency, "EUR");
    snprintf (request.ship_to.country, sizeof request.ship_to.country, "%s", country);
    snprintf (request.reservation_id, sizeof request.reservation_id, "res-1");
    snprintf (request.authorization_id, sizeof request.authorization_id, "auth-1");
    return request;
}

//  -------------------------------------------------------------------------
//  SQLite checks

//  The first column of the first row of sql as an integer (-1 if none)
static int64_t
s_db_int (const char *db_path, const char *sql)
{
    sqlite3 *db = NULL;
    cr_assert_eq (sqlite3_open_v2 (db_path, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK,
                  "open %s", db_path);
    sqlite3_stmt *stmt = NULL;
    int rc = sqlite3_prepare_v2 (db, sql, -1, &stmt, NULL);
    if (rc != SQLITE_OK) {
        cr_log_error ("sql '%s': %s", sql, sqlite3_errmsg (db));
        sqlite3_close (db);
        cr_assert_fail ("bad sql");
    }
    int64_t value = -1;
    if (sqlite3_step (stmt) == SQLITE_ROW)
        value = sqlite3_column_int64 (stmt, 0);
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    return value;
}

//  Asserts that the process in slot exits 0 within timeout_ms; on failure
//  shows the exit status and the end of its output
static void
s_assert_exit_0 (int slot, int timeout_ms)
{
    int status = 0;
    pid_t pid = s_ctx.pids [slot];
    cr_assert_eq (ph_wait (pid, timeout_ms, &status), 0,
                  "process %d did not exit within %d ms", (int) pid, timeout_ms);
    s_ctx.pids [slot] = 0;
    if (WIFEXITED (status) && WEXITSTATUS (status) == 0)
        return;
    char path [PATH_MAX + 8], name [80];
    char *text [2];
    for (int i = 0; i < 2; i++) {
        snprintf (name, sizeof name, i? "%s.err": "%s", s_ctx.logs [slot]);
        s_path (path, sizeof path, name);
        text [i] = ph_slurp (path);
    }
    size_t out_size = text [0]? strlen (text [0]): 0, err_size = text [1]? strlen (text [1]): 0;
    cr_log_error ("process %d: exited=%d code=%d signal=%d\nstdout tail:\n%s\nstderr tail:\n%s",
                  (int) pid, WIFEXITED (status), WIFEXITED (status)? WEXITSTATUS (status): -1,
                  WIFSIGNALED (status)? WTERMSIG (status): 0,
                  text [0]? text [0] + (out_size > 3000? out_size - 3000: 0): "",
                  text [1]? text [1] + (err_size > 6000? err_size - 6000: 0): "");
    free (text [0]);
    free (text [1]);
    cr_assert_fail ("process did not exit 0");
}

//  Waits for a graceful stop after SIGTERM: exit code 0
static void
s_stop (int slot)
{
    cr_assert_eq (ph_signal (s_ctx.pids [slot], SIGTERM), 0);
    s_assert_exit_0 (slot, 10000);
}

//  Starts checkout-inventory on db with seed; returns its slot
static int
s_start_inventory (coord_t *coord, const char *db, const char *seed, const char *instance,
                   const char *log)
{
    return s_start ("checkout-inventory", log, "--coordinator", coord->endpoint,
                    "--db", db, "--seed", seed, "--instance", instance,
                    "--capacity", "64", "--liveness", "10");
}

//  -------------------------------------------------------------------------
//  Tests

Test (participant_process, inventory_rules_over_the_wire)
{
    coord_t *coord = s_coord_new ();
    char db [PATH_MAX], seed [PATH_MAX];
    s_path (db, sizeof db, "inventory.db");
    cr_assert_eq (ph_w1_seed (seed, sizeof seed), 0, "no W1 seed");
    int slot = s_start ("checkout-inventory", "inventory.log", "--coordinator", coord->endpoint,
                        "--db", db, "--seed", seed, "--instance", "inv-1",
                        "--capacity", "17", "--liveness", "10");
    int peer = s_wait_ready (coord);
    cr_assert_eq (coord->peers [peer].ready.service, CK_SERVICE_INVENTORY);
    cr_assert_str_eq (coord->peers [peer].ready.instance, "inv-1");
    cr_assert_eq (coord->peers [peer].ready.capacity, 17);

    ck_request_t request = s_reserve ("saga-1", "SKU-0001", 2, 1);
    ck_reply_t reply = s_call (coord, peer, &request);
    cr_assert_eq (reply.outcome, CK_OUTCOME_OK);
    cr_assert (reply.result_id [0], "no reservation_id");
    char reservation [CK_ID_SIZE];
    snprintf (reservation, sizeof reservation, "%s", reply.result_id);

    request = s_reserve ("saga-2", "SKU-OOS", 1, 1);
    reply = s_call (coord, peer, &request);
    cr_assert_eq (reply.outcome, CK_OUTCOME_REJECTED);
    cr_assert_str_eq (reply.reason.code, "out_of_stock");
    cr_assert_str_eq (reply.reason.sku, "SKU-OOS");

    request = s_reserve ("saga-3", "SKU-NOPE", 1, 1);
    reply = s_call (coord, peer, &request);
    cr_assert_eq (reply.outcome, CK_OUTCOME_REJECTED);
    cr_assert_str_eq (reply.reason.code, "unknown_sku");
    cr_assert_str_eq (reply.reason.sku, "SKU-NOPE");

    //  A repeat answers from the ledger with its own attempt
    request = s_reserve ("saga-1", "SKU-0001", 2, 3);
    reply = s_call (coord, peer, &request);
    cr_assert_eq (reply.outcome, CK_OUTCOME_OK);
    cr_assert_eq (reply.attempt, 3);
    cr_assert_str_eq (reply.result_id, reservation);

    //  Another reservation, then released: its units come back
    request = s_reserve ("saga-4", "SKU-0002", 5, 1);
    reply = s_call (coord, peer, &request);
    cr_assert_eq (reply.outcome, CK_OUTCOME_OK);
    cr_assert_str_neq (reply.result_id, reservation);
    request = s_request (CK_TYPE_RELEASE_INVENTORY, "saga-4", 1);
    reply = s_call (coord, peer, &request);
    cr_assert_eq (reply.outcome, CK_OUTCOME_OK);

    s_stop (slot);
    cr_assert_eq (s_db_int (db, "SELECT available FROM stock WHERE sku = 'SKU-0001'"), 999998);
    cr_assert_eq (s_db_int (db, "SELECT available FROM stock WHERE sku = 'SKU-0002'"), 1000000);
    cr_assert_eq (s_db_int (db, "SELECT available FROM stock WHERE sku = 'SKU-OOS'"), 0);
    cr_assert_eq (s_db_int (db, "SELECT COUNT(*) FROM stock"), 1001);
}

Test (participant_process, payment_rules_and_tombstone)
{
    coord_t *coord = s_coord_new ();
    char db [PATH_MAX];
    s_path (db, sizeof db, "payment.db");
    int slot = s_start ("checkout-payment", "payment.log", "--coordinator", coord->endpoint,
                        "--db", db, "--instance", "pay-1", "--liveness", "10");
    int peer = s_wait_ready (coord);
    cr_assert_eq (coord->peers [peer].ready.service, CK_SERVICE_PAYMENT);

    ck_request_t request = s_authorize ("pay-1", "pm_card_visa");
    ck_reply_t reply = s_call (coord, peer, &request);
    cr_assert_eq (reply.outcome, CK_OUTCOME_OK);
    cr_assert (reply.result_id [0], "no authorization_id");

    const char *refusals [][2] = {
        { "pm_card_declined", "card_declined" },
        { "pm_card_insufficient_funds", "insufficient_funds" },
        { "cash", "invalid_payment_method" },
    };
    for (size_t i = 0; i < sizeof refusals / sizeof refusals [0]; i++) {
        char saga [32];
        snprintf (saga, sizeof saga, "pay-refused-%zu", i);
        request = s_authorize (saga, refusals [i][0]);
        reply = s_call (coord, peer, &request);
        cr_assert_eq (reply.outcome, CK_OUTCOME_REJECTED, "%s", refusals [i][0]);
        cr_assert_str_eq (reply.reason.code, refusals [i][1]);
    }
    //  The compensation overtakes the forward request
    request = s_request (CK_TYPE_VOID_PAYMENT, "pay-late", 1);
    reply = s_call (coord, peer, &request);
    cr_assert_eq (reply.outcome, CK_OUTCOME_OK);
    request = s_authorize ("pay-late", "pm_card_visa");
    reply = s_call (coord, peer, &request);
    cr_assert_eq (reply.outcome, CK_OUTCOME_REJECTED);
    cr_assert_str_eq (reply.reason.code, "compensated");

    s_stop (slot);
    cr_assert_eq (s_db_int (db, "SELECT COUNT(*) FROM authorizations"), 1);
}

Test (participant_process, payment_latency_is_concurrent)
{
    coord_t *coord = s_coord_new ();
    char db [PATH_MAX];
    s_path (db, sizeof db, "payment.db");
    s_start ("checkout-payment", "payment.log", "--coordinator", coord->endpoint,
             "--db", db, "--instance", "pay-slow", "--latency-ms", "200",
             "--heartbeat-ms", "50", "--liveness", "40");
    int peer = s_wait_ready (coord);
    int64_t start = ph_now_ms ();
    int beats_before = coord->heartbeats;
    for (int i = 0; i < 8; i++) {
        char saga [32];
        snprintf (saga, sizeof saga, "slow-%d", i);
        ck_request_t request = s_authorize (saga, "pm_card_visa");
        s_send (coord, peer, &request);
    }
    int ok = 0;
    for (int i = 0; i < 8; i++) {
        ck_reply_t reply;
        cr_assert (s_wait_reply (coord, REPLY_MS, &reply), "reply %d missing", i);
        ok += reply.outcome == CK_OUTCOME_OK;
    }
    int64_t elapsed = ph_now_ms () - start;
    cr_assert_eq (ok, 8);
    cr_assert_geq (elapsed, 190, "latency not simulated: %lld ms", (long long) elapsed);
    cr_assert_lt (elapsed, 1000, "authorizations were serialized: %lld ms", (long long) elapsed);
    //  50 ms heartbeats while 200 ms of latency passed: the runtime did not block
    cr_assert_geq (coord->heartbeats - beats_before, 2, "heartbeats stopped during the latency");
}

Test (participant_process, order_rules_over_the_wire)
{
    coord_t *coord = s_coord_new ();
    char db [PATH_MAX];
    s_path (db, sizeof db, "order.db");
    int slot = s_start ("checkout-order", "order.log", "--coordinator", coord->endpoint,
                        "--db", db, "--instance", "ord-1", "--liveness", "10");
    int peer = s_wait_ready (coord);
    cr_assert_eq (coord->peers [peer].ready.service, CK_SERVICE_ORDER);

    ck_request_t request = s_create_order ("order-1", "FR");
    ck_reply_t reply = s_call (coord, peer, &request);
    cr_assert_eq (reply.outcome, CK_OUTCOME_OK);
    cr_assert (reply.result_id [0], "no order_id");
    char order_id [CK_ID_SIZE];
    snprintf (order_id, sizeof order_id, "%s", reply.result_id);

    request = s_create_order ("order-2", "AQ");
    reply = s_call (coord, peer, &request);
    cr_assert_eq (reply.outcome, CK_OUTCOME_REJECTED);
    cr_assert_str_eq (reply.reason.code, "destination_unserviceable");

    s_stop (slot);
    char sql [256];
    snprintf (sql, sizeof sql, "SELECT COUNT(*) FROM orders WHERE order_id = '%s' "
              "AND saga_id = 'order-1' AND country = 'FR' AND amount = 2500", order_id);
    cr_assert_eq (s_db_int (db, sql), 1);
    cr_assert_eq (s_db_int (db, "SELECT COUNT(*) FROM orders"), 1);
    snprintf (sql, sizeof sql, "SELECT COUNT(*) FROM order_lines WHERE order_id = '%s'", order_id);
    cr_assert_eq (s_db_int (db, sql), 2);
}

#define KILL_SAGAS 200

Test (participant_process, sigkill_in_flight_then_retry)
{
    coord_t *coord = s_coord_new ();
    char db [PATH_MAX], seed [PATH_MAX];
    s_path (db, sizeof db, "inventory.db");
    cr_assert_eq (ph_w1_seed (seed, sizeof seed), 0, "no W1 seed");
    int slot = s_start_inventory (coord, db, seed, "inv-a", "inventory-a.log");
    int peer = s_wait_ready (coord);

    static char answered [KILL_SAGAS][CK_ID_SIZE];
    memset (answered, 0, sizeof answered);
    for (int i = 0; i < KILL_SAGAS; i++) {
        char saga [32];
        snprintf (saga, sizeof saga, "kill-%03d", i);
        ck_request_t request = s_reserve (saga, "SKU-0001", 1, 1);
        s_add_item (&request, "SKU-0002", 2, 0);
        s_send (coord, peer, &request);
    }
    //  Kill once a few replies came, with the rest in flight; then take
    //  every reply that made it out before the kill
    ck_reply_t reply;
    int before = 0;
    bool killed = false;
    while (s_wait_reply (coord, killed? 300: REPLY_MS, &reply)) {
        cr_assert_eq (reply.outcome, CK_OUTCOME_OK, "%s: %s", reply.saga_id, reply.reason.code);
        int index = atoi (reply.saga_id + 5);
        cr_assert (index >= 0 && index < KILL_SAGAS);
        cr_assert_eq (answered [index][0], 0, "%s answered twice", reply.saga_id);
        snprintf (answered [index], CK_ID_SIZE, "%s", reply.result_id);
        if (++before >= 10 && !killed) {
            ph_kill_reap (&s_ctx.pids [slot]);
            killed = true;
        }
    }
    cr_assert (killed, "only %d replies before the kill", before);
    cr_log_info ("answered before SIGKILL: %d of %d", before, KILL_SAGAS);

    //  The same db, a new process: every saga retried once
    int slot_b = s_start_inventory (coord, db, seed, "inv-b", "inventory-b.log");
    peer = s_wait_ready (coord);
    cr_assert_str_eq (coord->peers [peer].ready.instance, "inv-b");
    for (int i = 0; i < KILL_SAGAS; i++) {
        char saga [32];
        snprintf (saga, sizeof saga, "kill-%03d", i);
        ck_request_t request = s_reserve (saga, "SKU-0001", 1, 2);
        s_add_item (&request, "SKU-0002", 2, 0);
        s_send (coord, peer, &request);
    }
    static bool seen [KILL_SAGAS];
    memset (seen, 0, sizeof seen);
    for (int i = 0; i < KILL_SAGAS; i++) {
        cr_assert (s_wait_reply (coord, REPLY_MS, &reply), "retry reply %d missing", i);
        cr_assert_eq (reply.outcome, CK_OUTCOME_OK, "%s: %s", reply.saga_id, reply.reason.code);
        cr_assert_eq (reply.attempt, 2);
        int index = atoi (reply.saga_id + 5);
        cr_assert (index >= 0 && index < KILL_SAGAS);
        cr_assert_not (seen [index], "%s answered twice", reply.saga_id);
        seen [index] = true;
        if (answered [index][0])
            cr_assert_str_eq (reply.result_id, answered [index],
                              "%s changed its reservation_id", reply.saga_id);
    }
    s_stop (slot_b);
    //  Each saga took its units exactly once
    cr_assert_eq (s_db_int (db, "SELECT available FROM stock WHERE sku = 'SKU-0001'"),
                  1000000 - KILL_SAGAS);
    cr_assert_eq (s_db_int (db, "SELECT available FROM stock WHERE sku = 'SKU-0002'"),
                  1000000 - 2 * KILL_SAGAS);
    cr_assert_eq (s_db_int (db, "SELECT SUM(available) FROM stock"),
                  1000LL * 1000000 - 3 * KILL_SAGAS);
    cr_assert_eq (s_db_int (db, "SELECT COUNT(*) FROM reservations"), KILL_SAGAS);
    cr_assert_eq (s_db_int (db, "SELECT COUNT(DISTINCT reservation_id) FROM reservations"),
                  KILL_SAGAS);
    cr_assert_eq (s_db_int (db, "SELECT COUNT(*) FROM processed_requests "
                                "WHERE type = 'ReserveInventory'"), KILL_SAGAS);
}

Test (participant_process, sigterm_sends_disconnect_and_exits_0)
{
    coord_t *coord = s_coord_new ();
    char db [PATH_MAX];
    s_path (db, sizeof db, "order.db");
    int slot = s_start ("checkout-order", "order.log", "--coordinator", coord->endpoint,
                        "--db", db, "--instance", "ord-term", "--liveness", "10");
    s_wait_ready (coord);
    //  Let ck_participant_new return first: a signal inside it (after READY
    //  went out) exits 1 today, a startup race reported separately
    int64_t settle = ph_now_ms () + 300;
    while (ph_now_ms () < settle)
        s_recv (coord, 50, NULL);
    cr_assert_eq (ph_signal (s_ctx.pids [slot], SIGTERM), 0);
    int64_t deadline = ph_now_ms () + 10000;
    while (coord->disconnects == 0 && ph_now_ms () < deadline)
        s_recv (coord, 100, NULL);
    cr_assert_eq (coord->disconnects, 1, "no DISCONNECT after SIGTERM");
    s_assert_exit_0 (slot, 10000);
}

//  Runs program with args to completion; returns its exit code and puts
//  its stderr (or stdout, when want_stdout) into a malloc'd *output
static int
s_run_argv (const char *program, const char *log, bool want_stdout, char **output,
            const char **args)
{
    int slot = s_start_argv (program, log, args);
    int code = s_wait_exit (slot, 15000);
    char path [PATH_MAX + 8], name [128];
    snprintf (name, sizeof name, want_stdout? "%s": "%s.err", log);
    s_path (path, sizeof path, name);
    *output = ph_slurp (path);
    cr_assert_not_null (*output);
    return code;
}

#define s_run(program, log, output, ...) \
    s_run_argv ((program), (log), false, (output), (const char *[]) { __VA_ARGS__, NULL })

//  Counts the lines of text
//  The lines of text that are not the daemon's log lines ("E: (name) ...",
//  which share stderr); *line is the first of them
static int
s_message_lines (const char *text, const char **line)
{
    int lines = 0;
    *line = NULL;
    for (const char *start = text; *start; ) {
        const char *end = strchr (start, '\n');
        bool logged = strchr ("EWNID", start [0]) && start [1] == ':' && start [2] == ' '
                   && start [3] == '(';
        if (!logged && !lines++)
            *line = start;
        start = end? end + 1: start + strlen (start);
    }
    return lines;
}

//  A usage error: exit 2, one message line on stderr naming what (the
//  daemon's log lines may come with it)
static void
s_assert_usage_error (int code, char *output, const char *what)
{
    cr_assert_eq (code, 2, "exit %d, output: %s", code, output);
    const char *line;
    cr_assert_eq (s_message_lines (output, &line), 1, "want one line, got: %s", output);
    cr_assert (line [strcspn (line, "\n")] == '\n', "unterminated: %s", output);
    char *message = strndup (line, strcspn (line, "\n"));
    cr_assert_not_null (strstr (message, what), "'%s' not named in: %s", what, output);
    free (message);
    free (output);
}

Test (participant_process, bad_usage_exits_2)
{
    char db [PATH_MAX], missing [PATH_MAX];
    s_path (db, sizeof db, "bad.db");
    s_path (missing, sizeof missing, "nonexistent.csv");
    const char *ep = "tcp://127.0.0.1:1";
    char *output = NULL;

    int code = s_run ("checkout-inventory", "u1.log", &output, "--db", db, "--bogus-flag");
    s_assert_usage_error (code, output, "--bogus-flag");
    code = s_run ("checkout-payment", "u2.log", &output, "--db", db, "--capacity", "0");
    s_assert_usage_error (code, output, "capacity");
    //  READY's capacity is 1..1024: a share of one per coordinator at least
    code = s_run ("checkout-payment", "u2b.log", &output, "--db", db, "--capacity", "2",
                  "--coordinator", ep, "--coordinator", ep, "--coordinator", ep);
    s_assert_usage_error (code, output, "less than one per coordinator");
    code = s_run ("checkout-inventory", "u3.log", &output, "--coordinator", ep,
                  "--db", db, "--seed", missing);
    s_assert_usage_error (code, output, "nonexistent.csv");
    code = s_run ("checkout-inventory", "u4.log", &output, "--db", db, "--config", missing);
    s_assert_usage_error (code, output, "nonexistent.csv");
    code = s_run ("checkout-order", "u5.log", &output, "--db", db, "--coordinator", "foo");
    s_assert_usage_error (code, output, "foo");
    code = s_run ("checkout-order", "u6.log", &output, "--coordinator", ep,
                  "--db", db, "--served", "xx");
    s_assert_usage_error (code, output, "xx");

    //  ACCEPTED and REPLY mean durable: no in-memory store
    code = s_run ("checkout-payment", "u8.log", &output, "--coordinator", ep,
                  "--db", ":memory:");
    s_assert_usage_error (code, output, ":memory:");
    code = s_run ("checkout-order", "u9.log", &output, "--coordinator", ep,
                  "--db", "file::memory:?cache=shared");
    s_assert_usage_error (code, output, "file::memory:");
    code = s_run ("checkout-coordinator", "u10.log", &output, "--db", ":memory:");
    s_assert_usage_error (code, output, ":memory:");
    //  a URI that libpq cannot parse is bad configuration, not a lost server
    code = s_run ("checkout-payment", "u11.log", &output, "--coordinator", ep,
                  "--db", "postgresql://%zz@127.0.0.1/payment");
    s_assert_usage_error (code, output, "not a valid PostgreSQL URI");
    code = s_run ("checkout-coordinator", "u12.log", &output,
                  "--db", "postgresql://%zz@127.0.0.1/coordinator");
    s_assert_usage_error (code, output, "not a valid PostgreSQL URI");
    //  a retention under a day could delete the answers of a running saga
    code = s_run ("checkout-inventory", "u14.log", &output, "--coordinator", ep,
                  "--db", db, "--retention", "3600");
    s_assert_usage_error (code, output, "--retention");
    code = s_run ("checkout-coordinator", "u13.log", &output, "--retention", "-1");
    s_assert_usage_error (code, output, "retention");

    code = s_run_argv ("checkout-payment", "u7.log", true, &output,
                       (const char *[]) { "--help", NULL });
    cr_assert_eq (code, 0, "--help exit %d", code);
    cr_assert_not_null (strstr (output, "--latency-ms"), "help: %s", output);
    free (output);
}

Test (participant_process, two_instances_share_one_store)
{
    coord_t *coord = s_coord_new ();
    char db [PATH_MAX], seed [PATH_MAX];
    s_path (db, sizeof db, "shared.db");
    s_path (seed, sizeof seed, "seed.csv");
    FILE *file = fopen (seed, "w");
    cr_assert_not_null (file);
    fprintf (file, "# one scarce sku\nSKU-RARE,100\n");
    fclose (file);
    //  Started together: exactly one of them seeds
    s_start_inventory (coord, db, seed, "inv-x", "inventory-x.log");
    s_start_inventory (coord, db, seed, "inv-y", "inventory-y.log");
    s_wait_ready (coord);
    s_wait_ready (coord);
    cr_assert_eq (coord->peer_count, 2);

    for (int i = 0; i < 300; i++) {
        char saga [32];
        snprintf (saga, sizeof saga, "rare-%03d", i);
        ck_request_t request = s_reserve (saga, "SKU-RARE", 1, 1);
        s_send (coord, i % 2, &request);
    }
    int ok = 0, out_of_stock = 0;
    for (int i = 0; i < 300; i++) {
        ck_reply_t reply;
        cr_assert (s_wait_reply (coord, REPLY_MS, &reply), "reply %d missing", i);
        if (reply.outcome == CK_OUTCOME_OK)
            ok++;
        else
        if (reply.outcome == CK_OUTCOME_REJECTED && streq (reply.reason.code, "out_of_stock"))
            out_of_stock++;
        else
            cr_assert_fail ("%s: outcome %d reason %s %s", reply.saga_id, reply.outcome,
                            reply.reason.code, reply.reason.message);
    }
    cr_assert_eq (ok, 100);
    cr_assert_eq (out_of_stock, 200);
    for (int i = 0; i < MAX_PIDS; i++)
        if (s_ctx.pids [i] > 0)
            s_stop (i);
    cr_assert_eq (s_db_int (db, "SELECT available FROM stock WHERE sku = 'SKU-RARE'"), 0);
    cr_assert_eq (s_db_int (db, "SELECT COUNT(*) FROM reservations"), 100);
}

/*  fuzz_frontend.c - libFuzzer harness for the coordinator's frontend handler
    The coordinator actor in-process, fed fuzz input by a client DEALER.

    Set up once (LLVMFuzzerInitialize): the coordinator actor on ipc://
    endpoints and a saga log (synchronous off) in a scratch directory, a
    client DEALER, and one DEALER per service of the step table that sends
    READY and answers every REQUEST (ok, but AuthorizePayment of an odd
    amount is rejected, so some sagas compensate): sagas end, and the
    frontend meets running and ended checkouts alike.

    Byte 0 of an input chooses what the client sends (byte 0 % 5):
      0  the rest as the body of a CHECKOUT
      1  the rest as the body of a STATUS
      2  a PING, with the rest as a body when there is any (a bad frame)
      3  the rest as whole frames (fuzz_support.h)
      4  the rest as a script of valid CHECKOUTs and STATUSes, 4 bytes
         each (s_scripted): new sagas, repeats, conflicts, statuses
    then a PING, whose PONG (and one for any PING the input itself made)
    must come within 2 s: the coordinator neither crashed nor hung.
    Everything else it sends the client must parse and decode.
*/
#include <inttypes.h>
#include "checkout/codec.h"
#include "coordinator.h"
#include "frame.h"
#include "saga_def.h"
#include "fuzz_support.h"

#define TARGET          "fuzz_frontend"
#define ANSWER_MS       2000            //  the PONG, at most
#define SCRIPT_STEP     4               //  input bytes per scripted message
#define SCRIPT_MAX      16              //  scripted messages per input

static struct {
    char dir [PATH_MAX];
    char endpoints [3][PATH_MAX + 32];  //  frontend, backend, events
    char db [PATH_MAX + 32];
    coordinator_config_t config;        //  borrowed by the actor: lives on
    coordinator_t *coordinator;
    zsock_t *client;
    zsock_t *workers [CK_MAX_STEPS];    //  one per step's service
    size_t worker_count;
    uint64_t results;                   //  ok result ids handed out
    uint64_t seen [CK_CMD_COUNT];       //  messages to the client, by command
    uint64_t statuses [CK_STATUS_COUNT];    //  RESULTs, by status
    ck_buf_t body;
} s_fuzz;

//  --------------------------------------------------------------------------
//  Set-up and tear-down

//  What the run reached, so that a campaign shows sagas ran to their end
static void
s_summary (void)
{
    fprintf (stderr, "%s: client got ACCEPTED=%" PRIu64 " ERROR=%" PRIu64 " PONG=%" PRIu64
             " RESULT=%" PRIu64 " (", TARGET, s_fuzz.seen [CK_CMD_ACCEPTED],
             s_fuzz.seen [CK_CMD_ERROR], s_fuzz.seen [CK_CMD_PONG], s_fuzz.seen [CK_CMD_RESULT]);
    for (int status = 1; status < CK_STATUS_COUNT; status++)
        fprintf (stderr, "%s%s=%" PRIu64, status > 1? " ": "",
                 ck_status_name ((ck_status_t) status), s_fuzz.statuses [status]);
    fprintf (stderr, "); steps answered ok=%" PRIu64 "\n", s_fuzz.results);
}

static void
s_cleanup (void)
{
    if (s_fuzz.client)
        s_summary ();
    zsock_destroy (&s_fuzz.client);
    for (size_t i = 0; i < s_fuzz.worker_count; i++)
        zsock_destroy (&s_fuzz.workers [i]);
    coordinator_destroy (&s_fuzz.coordinator);
    ck_buf_free (&s_fuzz.body);
    fuzz_dir_remove (s_fuzz.dir);
    s_fuzz.dir [0] = 0;
}

static zsock_t *
s_dealer (const char *endpoint)
{
    zsock_t *sock = zsock_new (ZMQ_DEALER);
    if (!sock || zsock_connect (sock, "%s", endpoint) != 0)
        fuzz_broken (TARGET, "cannot connect to %s", endpoint);
    zsock_set_linger (sock, 0);
    zsock_set_sndhwm (sock, 100000);
    return sock;
}

static void
s_coordinator_start (void)
{
    const char *names [] = { "frontend", "backend", "events" };
    for (int i = 0; i < 3; i++)
        snprintf (s_fuzz.endpoints [i], sizeof s_fuzz.endpoints [i], "ipc://%s/%s",
                  s_fuzz.dir, names [i]);
    snprintf (s_fuzz.db, sizeof s_fuzz.db, "%s/coordinator.db", s_fuzz.dir);
    coordinator_config_t *config = &s_fuzz.config;
    config->frontend = s_fuzz.endpoints [0];
    config->backend = s_fuzz.endpoints [1];
    config->events = s_fuzz.endpoints [2];
    config->db = s_fuzz.db;
    config->sync = STORE_SYNC_OFF;
    saga_policy_defaults (&config->policy);
    config->max_inflight = 10000;
    //  our workers never heartbeat: the coordinator must not give up on them
    config->heartbeat_ivl_ms = 60000;
    config->liveness = 100;
    s_fuzz.coordinator = coordinator_new (config);
    if (!s_fuzz.coordinator)
        fuzz_broken (TARGET, "the coordinator did not start");
}

//  A DEALER per service of the step table, announced by READY
static void
s_workers_start (void)
{
    const saga_def_t *def = saga_def_active ();
    for (uint32_t step = 0; step < def->step_count; step++) {
        zsock_t *worker = s_dealer (s_fuzz.endpoints [1]);
        ck_ready_t ready = { .service = def->steps [step].service, .capacity = 1024 };
        snprintf (ready.instance, sizeof ready.instance, "fuzz-%u", step);
        if (ck_encode_ready (&ready, &s_fuzz.body)
        ||  ck_frame_send (worker, NULL, 0, CK_PROTO_WORKER, CK_CMD_READY,
                           s_fuzz.body.data, s_fuzz.body.size))
            fuzz_broken (TARGET, "cannot send READY");
        s_fuzz.workers [s_fuzz.worker_count++] = worker;
    }
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
    s_coordinator_start ();
    s_workers_start ();
    s_fuzz.client = s_dealer (s_fuzz.endpoints [0]);
    return 0;
}

//  --------------------------------------------------------------------------
//  The participants' side

static void
s_answer (zsock_t *worker, const ck_frame_t *frame)
{
    static ck_request_t request;
    ck_decode_error_t err;
    if (ck_decode_request (frame->body, frame->body_size, &request, &err))
        fuzz_broken (TARGET, "a REQUEST does not decode: %s", err.message);
    ck_reply_t reply = { .type = request.type, .attempt = request.attempt,
                         .outcome = CK_OUTCOME_OK };
    memcpy (reply.saga_id, request.saga_id, sizeof reply.saga_id);
    if (request.type == CK_TYPE_AUTHORIZE_PAYMENT && request.amount % 2) {
        reply.outcome = CK_OUTCOME_REJECTED;
        snprintf (reply.reason.code, sizeof reply.reason.code, "card_declined");
    }
    else
    if (ck_type_result_key (request.type))
        snprintf (reply.result_id, sizeof reply.result_id, "r-%" PRIu64, ++s_fuzz.results);
    if (ck_encode_reply (&reply, &s_fuzz.body))
        fuzz_broken (TARGET, "our REPLY does not encode");
    ck_frame_send (worker, NULL, 0, CK_PROTO_WORKER, CK_CMD_REPLY,
                   s_fuzz.body.data, s_fuzz.body.size);
}

//  Answers every REQUEST waiting on worker
static void
s_serve (zsock_t *worker)
{
    ck_message_t message;
    while (ck_message_recv (&message, zsock_resolve (worker)) == 0) {
        ck_frame_t frame;
        ck_decode_error_t err;
        if (ck_message_parse (&message, CK_PROTO_WORKER, false, &frame, &err))
            fuzz_broken (TARGET, "the backend sent a message that does not parse: %s",
                         err.message);
        if (frame.command == CK_CMD_REQUEST)
            s_answer (worker, &frame);
        ck_message_close (&message);
    }
}

//  --------------------------------------------------------------------------
//  The client's side

//  Checks one message to the client; true when it is a PONG
static bool
s_check_client (ck_message_t *message)
{
    ck_frame_t frame;
    ck_decode_error_t err;
    if (ck_message_parse (message, CK_PROTO_CLIENT, false, &frame, &err))
        fuzz_broken (TARGET, "the frontend sent a message that does not parse: %s", err.message);
    static ck_result_t result;
    static ck_error_t error;
    static ck_accepted_t accepted;
    static ck_pong_t pong;
    static ck_sagas_t sagas;
    static ck_description_t description;
    int rc = 0;
    switch (frame.command) {
        case CK_CMD_RESULT: rc = ck_decode_result (frame.body, frame.body_size, &result, &err); break;
        case CK_CMD_ERROR: rc = ck_decode_error (frame.body, frame.body_size, &error, &err); break;
        case CK_CMD_ACCEPTED: rc = ck_decode_accepted (frame.body, frame.body_size, &accepted, &err); break;
        case CK_CMD_PONG: rc = ck_decode_pong (frame.body, frame.body_size, &pong, &err); break;
        case CK_CMD_SAGAS: rc = ck_decode_sagas (frame.body, frame.body_size, &sagas, &err); break;
        case CK_CMD_DESCRIPTION:
            rc = ck_decode_description (frame.body, frame.body_size, &description, &err);
            break;
        default:
            fuzz_broken (TARGET, "the frontend sent a client %s", ck_command_name (frame.command));
    }
    if (rc)
        fuzz_broken (TARGET, "a %s does not decode: %s", ck_command_name (frame.command),
                     err.message);
    s_fuzz.seen [frame.command]++;
    if (frame.command == CK_CMD_RESULT)
        s_fuzz.statuses [result.status]++;
    return frame.command == CK_CMD_PONG;
}

//  True when msg is a valid PING as the coordinator will parse it, with
//  the routing id its ROUTER puts first
static bool
s_is_ping (zmsg_t *msg)
{
    zmsg_t *routed = zmsg_dup (msg);
    zmsg_pushmem (routed, "id", 2);
    ck_frame_t frame;
    ck_decode_error_t err;
    bool ping = ck_frame_parse (routed, CK_PROTO_CLIENT, true, &frame, &err) == 0
             && frame.command == CK_CMD_PING;
    zmsg_destroy (&routed);
    return ping;
}

static void
s_send_body (ck_command_t command)
{
    ck_frame_send (s_fuzz.client, NULL, 0, CK_PROTO_CLIENT, command,
                   s_fuzz.body.data, s_fuzz.body.size);
}

//  Valid messages, 4 bytes each: byte 0 bit 0 STATUS (else CHECKOUT), bits
//  1-7 and byte 2 the checkout_id; byte 1 the line count - 1 (low 2 bits)
//  and ack (bit 2); byte 2 also the first SKU and the price; byte 3 the
//  quantities.  A repeat has the same bytes; a conflict (same checkout_id,
//  another cart) differs in byte 1 or 3 only.
static void
s_scripted (const uint8_t *data, size_t size)
{
    for (size_t at = 0, n = 0; at + SCRIPT_STEP <= size && n < SCRIPT_MAX; at += SCRIPT_STEP, n++) {
        const uint8_t *step = data + at;
        if (step [0] & 1) {
            ck_status_request_t status = { .checkout_id = "" };
            snprintf (status.checkout_id, sizeof status.checkout_id, "chk-%u-%u",
                      step [0] >> 1, step [2]);
            if (ck_encode_status_request (&status, &s_fuzz.body) == 0)
                s_send_body (CK_CMD_STATUS);
            continue;
        }
        static ck_checkout_t checkout;
        memset (&checkout, 0, sizeof checkout);
        snprintf (checkout.checkout_id, sizeof checkout.checkout_id, "chk-%u-%u",
                  step [0] >> 1, step [2]);
        snprintf (checkout.cart_id, sizeof checkout.cart_id, "cart-%u", step [0] >> 1);
        snprintf (checkout.customer_id, sizeof checkout.customer_id, "cust-1");
        snprintf (checkout.currency, sizeof checkout.currency, "EUR");
        snprintf (checkout.payment_method, sizeof checkout.payment_method, "pm_card_visa");
        snprintf (checkout.ship_to.country, sizeof checkout.ship_to.country, "DE");
        checkout.ack = (step [1] & 4) != 0;
        checkout.item_count = 1 + (step [1] & 3);
        for (uint32_t line = 0; line < checkout.item_count; line++) {
            ck_item_t *item = &checkout.items [line];
            snprintf (item->sku, sizeof item->sku, "SKU-%04u", (step [2] + line) % 8);
            item->qty = 1 + ((step [3] >> (2 * line)) & 3);
            item->unit_price = 100 + step [2];
            checkout.amount += item->qty * item->unit_price;
        }
        if (ck_encode_checkout (&checkout, &s_fuzz.body))
            fuzz_broken (TARGET, "a scripted CHECKOUT does not encode");
        s_send_body (CK_CMD_CHECKOUT);
    }
}

//  Sends what the input says; returns the PINGs it made
static int
s_send_input (const uint8_t *data, size_t size)
{
    uint8_t mode = data [0] % 5;
    const uint8_t *rest = data + 1;
    size_t rest_size = size - 1;
    if (mode == 3) {
        zmsg_t *msg = zmsg_new ();
        fuzz_frames_add (msg, rest, rest_size);
        if (zmsg_size (msg) == 0)
            zmsg_addmem (msg, "", 0);
        int pings = s_is_ping (msg);
        zmsg_send (&msg, s_fuzz.client);
        return pings;
    }
    if (mode == 4) {
        s_scripted (rest, rest_size);
        return 0;
    }
    if (mode == 2 && rest_size > 0) {
        //  ck_frame_send refuses a PING with a body: framed by hand
        zmsg_t *msg = zmsg_new ();
        zmsg_addstr (msg, "");
        zmsg_addstr (msg, CK_SIGNATURE_CLIENT);
        zmsg_addstr (msg, ck_command_name (CK_CMD_PING));
        zmsg_addmem (msg, rest, rest_size);
        zmsg_send (&msg, s_fuzz.client);
        return 0;
    }
    ck_command_t command = mode == 0? CK_CMD_CHECKOUT: mode == 1? CK_CMD_STATUS: CK_CMD_PING;
    bool body = mode != 2;
    ck_frame_send (s_fuzz.client, NULL, 0, CK_PROTO_CLIENT, command,
                   body? rest: NULL, body? rest_size: 0);
    return mode == 2;
}

//  Reads the client's messages, serving the workers meanwhile, until
//  pongs PONGs came; within ANSWER_MS
static void
s_await_pongs (int pongs)
{
    zmq_pollitem_t items [1 + CK_MAX_STEPS];
    items [0] = (zmq_pollitem_t) { zsock_resolve (s_fuzz.client), 0, ZMQ_POLLIN, 0 };
    for (size_t i = 0; i < s_fuzz.worker_count; i++)
        items [1 + i] = (zmq_pollitem_t) { zsock_resolve (s_fuzz.workers [i]), 0, ZMQ_POLLIN, 0 };
    int64_t deadline = zclock_mono () + ANSWER_MS;
    while (pongs > 0) {
        int64_t left = deadline - zclock_mono ();
        if (left <= 0)
            fuzz_broken (TARGET, "%d PONG missing after %d ms: the coordinator hangs",
                         pongs, ANSWER_MS);
        //  libFuzzer's SIGALRM (its -timeout watch) interrupts the poll
        if (zmq_poll (items, 1 + (int) s_fuzz.worker_count, (long) left) == -1
        &&  zmq_errno () != EINTR)
            fuzz_broken (TARGET, "zmq_poll: %s", zmq_strerror (zmq_errno ()));
        for (size_t i = 0; i < s_fuzz.worker_count; i++)
            if (items [1 + i].revents & ZMQ_POLLIN)
                s_serve (s_fuzz.workers [i]);
        ck_message_t message;
        while (ck_message_recv (&message, zsock_resolve (s_fuzz.client)) == 0) {
            pongs -= s_check_client (&message);
            ck_message_close (&message);
        }
    }
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    if (size == 0)
        return 0;
    int pongs = s_send_input (data, size);
    ck_frame_send (s_fuzz.client, NULL, 0, CK_PROTO_CLIENT, CK_CMD_PING, NULL, 0);
    s_await_pongs (pongs + 1);
    return 0;
}

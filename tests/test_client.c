/*  test_client.c - the client library and the checkout CLI
    Against a test ROUTER in a thread of the test that plays the coordinator.

    The fake coordinator answers from the request's own data: a checkout id
    "err-*" gets ERROR conflict, payment method pm_card_declined a failed
    RESULT, country AQ a stuck one, any other a confirmed RESULT whose
    order_id is "ord-<lines>-<amount>" so that a test can see what was sent.
    Before the answer it sends ACCEPTED when asked, and a RESULT about
    another checkout that a client must skip.  STATUS of "unknown-*" gets
    ERROR unknown_checkout, any other a RESULT with three history entries.

    For several coordinators, a fake in MODE_NOT_OWNER owns nothing: it
    answers every request about a checkout ERROR not_owner naming the
    owner its pipe set (OWNER endpoint), or "" for the first few (BLANK n).
    HITS asks a fake how many requests about a checkout it received.
*/
#include <criterion/criterion.h>
#include <czmq.h>
#include <limits.h>
#include <stdarg.h>
#include "checkout/client.h"
#include "checkout/codec.h"
#include "frame.h"
#include "process_helpers.h"

#define CLI_WAIT_MS     10000
#define ENDPOINT_SIZE   (PATH_MAX + 32)

typedef enum {
    MODE_ANSWER,                        //  answer everything as above
    MODE_SILENT,                        //  receive and never answer
    MODE_MALFORMED,                     //  two broken replies before each PONG
    MODE_NOT_OWNER                      //  not_owner to requests about a checkout
} fake_mode_t;

//  -------------------------------------------------------------------------
//  The fake coordinator

typedef struct {
    zsock_t *router;
    const uint8_t *rid;
    size_t rid_size;
    ck_buf_t buf;
    char owner [256];                   //  MODE_NOT_OWNER: the owner it names
    int blank;                          //  MODE_NOT_OWNER: owner "" this often first
    int hits;                           //  requests about a checkout received
} fake_t;

static void
s_fake_send (fake_t *fake, ck_command_t command, int rc)
{
    cr_assert_eq (rc, 0, "the fake's reply encodes");
    int sent = ck_frame_send (fake->router, fake->rid, fake->rid_size, CK_PROTO_CLIENT,
                              command, fake->buf.data, fake->buf.size);
    cr_assert_eq (sent, 0);
}

static void
s_fake_error (fake_t *fake, ck_error_code_t code, const char *checkout_id)
{
    ck_error_t error;
    memset (&error, 0, sizeof error);
    error.code = code;
    snprintf (error.message, sizeof error.message, "%s", ck_error_code_text (code));
    snprintf (error.checkout_id, sizeof error.checkout_id, "%s", checkout_id);
    s_fake_send (fake, CK_CMD_ERROR, ck_encode_error (&error, &fake->buf));
}

//  Answers not_owner naming the owner, or "" while blank lasts
static void
s_fake_not_owner (fake_t *fake, const ck_frame_t *frame)
{
    ck_status_request_t request;        //  CHECKOUT and STATUS both lead with it
    ck_checkout_t checkout;
    ck_decode_error_t err;
    const char *checkout_id = "";
    if (frame->command == CK_CMD_CHECKOUT
    &&  ck_decode_checkout (frame->body, frame->body_size, &checkout, &err) == 0)
        checkout_id = checkout.checkout_id;
    else
    if (frame->command == CK_CMD_STATUS
    &&  ck_decode_status_request (frame->body, frame->body_size, &request, &err) == 0)
        checkout_id = request.checkout_id;
    cr_assert (checkout_id [0], "a request about a checkout");
    ck_error_t error;
    memset (&error, 0, sizeof error);
    error.code = CK_NOT_OWNER;
    snprintf (error.message, sizeof error.message, "%s", ck_error_code_text (CK_NOT_OWNER));
    snprintf (error.checkout_id, sizeof error.checkout_id, "%s", checkout_id);
    if (fake->blank > 0)
        fake->blank--;
    else
        snprintf (error.owner, sizeof error.owner, "%s", fake->owner);
    s_fake_send (fake, CK_CMD_ERROR, ck_encode_error (&error, &fake->buf));
}

static void
s_fake_result_of (const ck_checkout_t *checkout, ck_result_t *result)
{
    memset (result, 0, sizeof *result);
    snprintf (result->checkout_id, sizeof result->checkout_id, "%s", checkout->checkout_id);
    snprintf (result->saga_id, sizeof result->saga_id, "saga-1");
    result->elapsed_us = 1500;
    if (streq (checkout->payment_method, "pm_card_declined")) {
        result->status = CK_STATUS_FAILED;
        result->failed_step = CK_SERVICE_PAYMENT;
        snprintf (result->reason.code, sizeof result->reason.code, "card_declined");
        snprintf (result->reason.message, sizeof result->reason.message, "declined");
        result->compensated [result->compensated_count++] = CK_SERVICE_INVENTORY;
    }
    else
    if (streq (checkout->ship_to.country, "AQ")) {
        result->status = CK_STATUS_STUCK;
        snprintf (result->reason.code, sizeof result->reason.code, "timeout");
    }
    else {
        result->status = CK_STATUS_CONFIRMED;
        snprintf (result->order_id, sizeof result->order_id, "ord-%u-%llu",
                  checkout->item_count, (unsigned long long) checkout->amount);
    }
}

static void
s_fake_checkout (fake_t *fake, const ck_frame_t *frame)
{
    static ck_checkout_t checkout;
    static ck_result_t result;
    ck_decode_error_t err;
    if (ck_decode_checkout (frame->body, frame->body_size, &checkout, &err)) {
        s_fake_error (fake, err.code, "");
        return;
    }
    if (strncmp (checkout.checkout_id, "err-", 4) == 0) {
        s_fake_error (fake, CK_CONFLICT, checkout.checkout_id);
        return;
    }
    if (checkout.ack) {
        ck_accepted_t accepted;
        memset (&accepted, 0, sizeof accepted);
        snprintf (accepted.checkout_id, sizeof accepted.checkout_id, "%s", checkout.checkout_id);
        snprintf (accepted.saga_id, sizeof accepted.saga_id, "saga-1");
        s_fake_send (fake, CK_CMD_ACCEPTED, ck_encode_accepted (&accepted, &fake->buf));
    }
    ck_checkout_t other = checkout;
    snprintf (other.checkout_id, sizeof other.checkout_id, "someone-else");
    s_fake_result_of (&other, &result);
    s_fake_send (fake, CK_CMD_RESULT, ck_encode_result (&result, &fake->buf));
    s_fake_result_of (&checkout, &result);
    s_fake_send (fake, CK_CMD_RESULT, ck_encode_result (&result, &fake->buf));
}

static void
s_fake_status (fake_t *fake, const ck_frame_t *frame)
{
    static ck_result_t result;
    ck_status_request_t request;
    ck_decode_error_t err;
    cr_assert_eq (ck_decode_status_request (frame->body, frame->body_size, &request, &err), 0);
    if (strncmp (request.checkout_id, "unknown-", 8) == 0) {
        s_fake_error (fake, CK_UNKNOWN_CHECKOUT, request.checkout_id);
        return;
    }
    memset (&result, 0, sizeof result);
    snprintf (result.checkout_id, sizeof result.checkout_id, "%s", request.checkout_id);
    snprintf (result.saga_id, sizeof result.saga_id, "saga-1");
    result.status = CK_STATUS_CONFIRMED;
    snprintf (result.order_id, sizeof result.order_id, "ord-9");
    const char *events [] = { "started", "step", "confirmed" };
    for (uint32_t i = 0; i < 3; i++) {
        ck_history_entry_t *entry = &result.history [result.history_count++];
        entry->at_ms = 1700000000000ULL + i;
        snprintf (entry->event, sizeof entry->event, "%s", events [i]);
    }
    result.history [1].step = CK_SERVICE_INVENTORY;
    result.history [1].type = CK_TYPE_RESERVE_INVENTORY;
    result.history [1].attempt = 1;
    result.history [1].outcome = CK_OUTCOME_OK;
    s_fake_send (fake, CK_CMD_RESULT, ck_encode_result (&result, &fake->buf));
}

//  Two replies a client must skip: a bad signature, a body that is no map
static void
s_fake_malformed (fake_t *fake)
{
    zmsg_t *msg = zmsg_new ();
    zmsg_addmem (msg, fake->rid, fake->rid_size);
    zmsg_addstr (msg, "");
    zmsg_addstr (msg, "XXC1");
    zmsg_addstr (msg, "PONG");
    zmsg_addstr (msg, "");
    cr_assert_eq (zmsg_send (&msg, fake->router), 0);
    cr_assert_eq (ck_frame_send (fake->router, fake->rid, fake->rid_size, CK_PROTO_CLIENT,
                                 CK_CMD_PONG, "\xc1\x00", 2), 0);
}

static void
s_fake_handle (fake_t *fake, fake_mode_t mode)
{
    zmsg_t *msg = zmsg_recv (fake->router);
    ck_frame_t frame;
    ck_decode_error_t err;
    if (!msg || mode == MODE_SILENT
    ||  ck_frame_parse (msg, CK_PROTO_CLIENT, true, &frame, &err)) {
        zmsg_destroy (&msg);
        return;
    }
    fake->rid = frame.routing_id;
    fake->rid_size = frame.routing_id_size;
    if (frame.command == CK_CMD_CHECKOUT || frame.command == CK_CMD_STATUS)
        fake->hits++;
    if (mode == MODE_NOT_OWNER && frame.command != CK_CMD_PING)
        s_fake_not_owner (fake, &frame);
    else
    if (frame.command == CK_CMD_PING) {
        if (mode == MODE_MALFORMED)
            s_fake_malformed (fake);
        ck_pong_t pong = { .version = CK_VERSION, .uptime_ms = 4321 };
        s_fake_send (fake, CK_CMD_PONG, ck_encode_pong (&pong, &fake->buf));
    }
    else
    if (frame.command == CK_CMD_CHECKOUT)
        s_fake_checkout (fake, &frame);
    else
    if (frame.command == CK_CMD_STATUS)
        s_fake_status (fake, &frame);
    zmsg_destroy (&msg);
}

//  What a fake is started with.  It binds an ipc path in the test's own
//  dir, not a tcp port: a port freed by one test may be bound again by
//  another running alongside, and a client of the first, reconnecting,
//  would then send its queued requests to the second's fake
typedef struct {
    fake_mode_t mode;
    char endpoint [ENDPOINT_SIZE];
} fake_args_t;

//  The actor: binds, sends its endpoint up the pipe, answers until $TERM
static void
s_fake_actor (zsock_t *pipe, void *args)
{
    fake_args_t *given = (fake_args_t *) args;
    fake_mode_t mode = given->mode;
    fake_t fake = { .router = zsock_new_router (given->endpoint) };
    assert (fake.router);
    ck_buf_init (&fake.buf);
    zsock_signal (pipe, 0);
    char *endpoint = zsock_last_endpoint (fake.router);
    zstr_send (pipe, endpoint);
    free (endpoint);
    zpoller_t *poller = zpoller_new (pipe, fake.router, NULL);
    while (true) {
        void *which = zpoller_wait (poller, -1);
        if (which == fake.router)
            s_fake_handle (&fake, mode);
        else {
            zmsg_t *msg = which? zmsg_recv (pipe): NULL;
            char *command = msg? zmsg_popstr (msg): NULL;
            char *value = msg? zmsg_popstr (msg): NULL;
            bool term = !command || streq (command, "$TERM");
            if (command && streq (command, "OWNER"))
                snprintf (fake.owner, sizeof fake.owner, "%s", value? value: "");
            else
            if (command && streq (command, "BLANK"))
                fake.blank = value? atoi (value): 0;
            else
            if (command && streq (command, "HITS"))
                zstr_sendf (pipe, "%d", fake.hits);
            free (command);
            free (value);
            zmsg_destroy (&msg);
            if (term)
                break;
        }
    }
    zpoller_destroy (&poller);
    ck_buf_free (&fake.buf);
    zsock_destroy (&fake.router);
}

static char s_dir [PATH_MAX];

//  Starts a fake coordinator as args say, bound to ipc path name in the
//  test's dir; its endpoint goes to endpoint
static zactor_t *
s_fake_start (fake_args_t *args, const char *name, char *endpoint, size_t size)
{
    snprintf (args->endpoint, sizeof args->endpoint, "ipc://%s/%s", s_dir, name);
    zactor_t *fake = zactor_new (s_fake_actor, args);
    cr_assert_not_null (fake);
    char *bound = zstr_recv (fake);
    cr_assert_not_null (bound);
    snprintf (endpoint, size, "%s", bound);
    free (bound);
    return fake;
}

//  How many requests about a checkout the fake received
static int
s_fake_hits (zactor_t *fake)
{
    zstr_send (fake, "HITS");
    char *hits = zstr_recv (fake);
    cr_assert_not_null (hits);
    int count = atoi (hits);
    free (hits);
    return count;
}

//  -------------------------------------------------------------------------
//  Fixture: one fake coordinator, one client, one temp dir per test

static fake_args_t s_args;
static zactor_t *s_fake;
static char s_endpoint [ENDPOINT_SIZE];
static ck_client_t *s_client;
static pid_t s_pid;

//  Two more fakes for the tests of several coordinators
static fake_args_t s_others_args [2];
static zactor_t *s_others [2];
static char s_other_endpoints [2][ENDPOINT_SIZE];

static void
s_start (fake_mode_t mode)
{
    s_args.mode = mode;
    s_fake = s_fake_start (&s_args, "frontend", s_endpoint, sizeof s_endpoint);
    s_client = ck_client_new (s_endpoint);
    cr_assert_not_null (s_client);
}

static void
s_setup (void)
{
    cr_assert_eq (ph_mkdtemp ("test_client", s_dir, sizeof s_dir), 0);
}

static void
s_teardown (void)
{
    ph_kill_reap (&s_pid);
    ck_client_destroy (&s_client);
    zactor_destroy (&s_fake);
    zactor_destroy (&s_others [0]);
    zactor_destroy (&s_others [1]);
    ph_rmrf (s_dir);
}

TestSuite (checkout_client, .init = s_setup, .fini = s_teardown, .timeout = 30);

static void
s_sample_checkout (ck_checkout_t *checkout, const char *checkout_id, bool ack)
{
    memset (checkout, 0, sizeof *checkout);
    snprintf (checkout->checkout_id, sizeof checkout->checkout_id, "%s", checkout_id);
    snprintf (checkout->cart_id, sizeof checkout->cart_id, "cart-1");
    snprintf (checkout->customer_id, sizeof checkout->customer_id, "cust-1");
    snprintf (checkout->currency, sizeof checkout->currency, "EUR");
    snprintf (checkout->items [0].sku, sizeof checkout->items [0].sku, "SKU-0001");
    checkout->items [0].qty = 2;
    checkout->items [0].unit_price = 150;
    checkout->item_count = 1;
    checkout->amount = 300;
    snprintf (checkout->payment_method, sizeof checkout->payment_method, "pm_card_visa");
    snprintf (checkout->ship_to.country, sizeof checkout->ship_to.country, "DE");
    checkout->ack = ack;
}

//  -------------------------------------------------------------------------
//  The library

Test (checkout_client, ping_pong)
{
    s_start (MODE_ANSWER);
    cr_assert_eq (ck_client_ping (s_client, 5000), CK_CMD_PONG);
    const ck_client_reply_t *reply = ck_client_reply (s_client);
    cr_assert_eq (reply->command, CK_CMD_PONG);
    cr_assert_str_eq (reply->pong.version, CK_VERSION);
    cr_assert_eq (reply->pong.uptime_ms, 4321);
    cr_assert_not_null (reply->body);
    cr_assert_eq (ck_client_malformed (s_client), 0);
}

Test (checkout_client, submit_gets_accepted_then_result)
{
    s_start (MODE_ANSWER);
    ck_checkout_t checkout;
    s_sample_checkout (&checkout, "chk-1", true);
    cr_assert_eq (ck_client_send_checkout (s_client, &checkout), 0);
    const ck_client_reply_t *reply = ck_client_reply (s_client);
    cr_assert_eq (ck_client_recv (s_client, 5000), CK_CMD_ACCEPTED);
    cr_assert_str_eq (reply->accepted.checkout_id, "chk-1");
    cr_assert_str_eq (reply->accepted.saga_id, "saga-1");
    cr_assert_eq (ck_client_recv (s_client, 5000), CK_CMD_RESULT);
    cr_assert_str_eq (reply->result.checkout_id, "someone-else");
    cr_assert_eq (ck_client_recv (s_client, 5000), CK_CMD_RESULT);
    cr_assert_str_eq (reply->result.checkout_id, "chk-1");
    cr_assert_eq (reply->result.status, CK_STATUS_CONFIRMED);
    cr_assert_str_eq (reply->result.order_id, "ord-1-300");
    //  The raw body is kept for --json
    ck_buf_t json;
    ck_buf_init (&json);
    cr_assert_eq (ck_body_to_json (reply->body, reply->body_size, &json), 0);
    cr_assert_not_null (memmem (json.data, json.size, "\"confirmed\"", 11));
    ck_buf_free (&json);
    //  Nothing more
    cr_assert_eq (ck_client_recv (s_client, 0), CK_CMD_NONE);
    cr_assert_eq (reply->command, CK_CMD_NONE);
}

Test (checkout_client, blocking_submit_skips_to_its_result)
{
    s_start (MODE_ANSWER);
    ck_checkout_t checkout;
    s_sample_checkout (&checkout, "chk-2", true);
    cr_assert_eq (ck_client_submit (s_client, &checkout, 5000), CK_CMD_RESULT);
    const ck_client_reply_t *reply = ck_client_reply (s_client);
    cr_assert_str_eq (reply->result.checkout_id, "chk-2");
    s_sample_checkout (&checkout, "chk-3", false);
    snprintf (checkout.payment_method, sizeof checkout.payment_method, "pm_card_declined");
    cr_assert_eq (ck_client_submit (s_client, &checkout, 5000), CK_CMD_RESULT);
    cr_assert_str_eq (reply->result.checkout_id, "chk-3");
    cr_assert_eq (reply->result.status, CK_STATUS_FAILED);
    cr_assert_eq (reply->result.failed_step, CK_SERVICE_PAYMENT);
    cr_assert_str_eq (reply->result.reason.code, "card_declined");
    cr_assert_eq (reply->result.compensated_count, 1);
}

Test (checkout_client, submit_gets_error)
{
    s_start (MODE_ANSWER);
    ck_checkout_t checkout;
    s_sample_checkout (&checkout, "err-1", false);
    cr_assert_eq (ck_client_submit (s_client, &checkout, 5000), CK_CMD_ERROR);
    const ck_client_reply_t *reply = ck_client_reply (s_client);
    cr_assert_eq (reply->error.code, CK_CONFLICT);
    cr_assert_str_eq (reply->error.checkout_id, "err-1");
}

Test (checkout_client, status_gets_result_with_history)
{
    s_start (MODE_ANSWER);
    cr_assert_eq (ck_client_status (s_client, "chk-9", 5000), CK_CMD_RESULT);
    const ck_client_reply_t *reply = ck_client_reply (s_client);
    cr_assert_str_eq (reply->result.checkout_id, "chk-9");
    cr_assert_eq (reply->result.history_count, 3);
    cr_assert_str_eq (reply->result.history [0].event, "started");
    cr_assert_eq (reply->result.history [1].type, CK_TYPE_RESERVE_INVENTORY);
    cr_assert_eq (ck_client_status (s_client, "unknown-1", 5000), CK_CMD_ERROR);
    cr_assert_eq (reply->error.code, CK_UNKNOWN_CHECKOUT);
}

Test (checkout_client, times_out_when_nobody_answers)
{
    s_start (MODE_SILENT);
    int64_t start = zclock_mono ();
    cr_assert_eq (ck_client_ping (s_client, 300), CK_CMD_NONE);
    int64_t took = zclock_mono () - start;
    cr_assert_geq (took, 290, "took %lld ms", (long long) took);
    cr_assert_lt (took, 2000, "took %lld ms", (long long) took);
    ck_checkout_t checkout;
    s_sample_checkout (&checkout, "chk-4", false);
    cr_assert_eq (ck_client_submit (s_client, &checkout, 100), CK_CMD_NONE);
    cr_assert_eq (ck_client_recv (s_client, 0), CK_CMD_NONE);
}

Test (checkout_client, malformed_replies_are_skipped)
{
    s_start (MODE_MALFORMED);
    cr_assert_eq (ck_client_ping (s_client, 5000), CK_CMD_PONG);
    cr_assert_str_eq (ck_client_reply (s_client)->pong.version, CK_VERSION);
    cr_assert_eq (ck_client_malformed (s_client), 2);
}

Test (checkout_client, bad_endpoints_give_null)
{
    const char *bad [] = {
        "", "foo", "tcp://", "tcp://127.0.0.1", "tcp://127.0.0.1:abc", "tcp://a b:1",
        "udp://127.0.0.1:5570", "@tcp://127.0.0.1:5570", "tcp://127.0.0.1:5570,tcp://x:1"
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++)
        cr_assert_null (ck_client_new (bad [i]), "endpoint '%s'", bad [i]);
    cr_assert_null (ck_client_new (NULL));
    char longest [600];
    memset (longest, 'a', sizeof longest - 1);
    memcpy (longest, "tcp://", 6);
    longest [sizeof longest - 1] = 0;
    cr_assert_null (ck_client_new (longest));
    char ipc [PATH_MAX + 16];
    snprintf (ipc, sizeof ipc, "ipc://%s/frontend", s_dir);
    ck_client_t *client = ck_client_new (ipc);
    cr_assert_not_null (client);
    cr_assert_str_eq (ck_client_endpoint (client), ipc);
    cr_assert_not_null (ck_client_socket (client));
    ck_client_destroy (&client);
    cr_assert_null (client);
    ck_client_destroy (&client);
}

Test (checkout_client, refuses_to_send_what_breaks_the_protocol)
{
    s_start (MODE_ANSWER);
    ck_checkout_t checkout;
    s_sample_checkout (&checkout, "chk-5", false);
    checkout.amount = 299;
    cr_assert_eq (ck_client_send_checkout (s_client, &checkout), -1);
    cr_assert_eq (ck_client_submit (s_client, &checkout, 100), CK_CMD_NONE);
    cr_assert_eq (ck_client_send_status (s_client, "not an id"), -1);
    cr_assert_eq (ck_client_send_status (s_client, ""), -1);
}

//  -------------------------------------------------------------------------
//  Several coordinators: s_others [0] owns everything, s_others [1] owns
//  nothing and names the owner its pipe sets

static void
s_cluster (fake_mode_t first, fake_mode_t second)
{
    s_others_args [0].mode = first;
    s_others_args [1].mode = second;
    const char *names [] = { "owner", "other" };
    for (int i = 0; i < 2; i++)
        s_others [i] = s_fake_start (&s_others_args [i], names [i], s_other_endpoints [i],
                                     sizeof s_other_endpoints [i]);
}

//  A client of the frontends given, in that order
static ck_client_t *
s_client_of (const char *first, const char *second)
{
    const char *frontends [] = { first, second };
    ck_client_t *client = ck_client_new_frontends (frontends, second? 2: 1, NULL);
    cr_assert_not_null (client);
    return client;
}

Test (checkout_client, submit_follows_not_owner_to_the_owner)
{
    s_cluster (MODE_ANSWER, MODE_NOT_OWNER);
    zstr_sendx (s_others [1], "OWNER", s_other_endpoints [0], NULL);
    //  The owner is not one of the frontends given: the client connects to it
    s_client = s_client_of (s_other_endpoints [1], NULL);
    zmq_pollitem_t items [4];
    cr_assert_eq (ck_client_poll_items (s_client, items, 4), 1);
    ck_checkout_t checkout;
    s_sample_checkout (&checkout, "chk-own-1", true);
    cr_assert_eq (ck_client_submit (s_client, &checkout, 5000), CK_CMD_RESULT);
    const ck_client_reply_t *reply = ck_client_reply (s_client);
    cr_assert_str_eq (reply->result.checkout_id, "chk-own-1");
    cr_assert_str_eq (ck_client_answered_by (s_client), s_other_endpoints [0]);
    cr_assert_eq (ck_client_redirects (s_client), 1);
    cr_assert_eq (ck_client_pending (s_client), 0);
    cr_assert_eq (ck_client_poll_items (s_client, items, 4), 2);
    cr_assert_eq (ck_client_status (s_client, "chk-own-1", 5000), CK_CMD_RESULT);
    cr_assert_str_eq (reply->result.checkout_id, "chk-own-1");
    //  Each request reached the owner once: one saga, not two
    cr_assert_eq (s_fake_hits (s_others [0]), 2);
    cr_assert_eq (s_fake_hits (s_others [1]), 2);
    //  Errors other than not_owner reach the caller as they are
    s_sample_checkout (&checkout, "err-own", false);
    cr_assert_eq (ck_client_submit (s_client, &checkout, 5000), CK_CMD_ERROR);
    cr_assert_eq (reply->error.code, CK_CONFLICT);
    //  An owner that is not an endpoint: the not_owner reaches the caller
    zstr_sendx (s_others [1], "OWNER", "not an endpoint", NULL);
    cr_assert_eq (ck_client_status (s_client, "chk-own-2", 5000), CK_CMD_ERROR);
    cr_assert_eq (reply->error.code, CK_NOT_OWNER);
    cr_assert_not_null (strstr (reply->error.message, "cannot connect to the owner"),
                        "%s", reply->error.message);
    cr_assert_eq (ck_client_pending (s_client), 0);
}

//  Queues a checkout; with several frontends a send fails (EAGAIN) while
//  none is connected, as at start: again after a pause, as the bench does
static void
s_send_retrying (const ck_checkout_t *checkout)
{
    int64_t deadline = zclock_mono () + 5000;
    while (ck_client_send_checkout (s_client, checkout) == -1) {
        cr_assert_eq (errno, EAGAIN);
        cr_assert_lt (zclock_mono (), deadline, "no frontend connected");
        zclock_sleep (5);
    }
}

//  As checkout-bench drives it: many in flight, polled, none told not_owner
Test (checkout_client, async_sends_follow_not_owner)
{
    s_cluster (MODE_ANSWER, MODE_NOT_OWNER);
    zstr_sendx (s_others [1], "OWNER", s_other_endpoints [0], NULL);
    s_client = s_client_of (s_other_endpoints [1], s_other_endpoints [0]);
    enum { COUNT = 40 };
    bool done [COUNT] = { false };
    for (int i = 0; i < COUNT; i++) {
        ck_checkout_t checkout;
        char id [32];
        snprintf (id, sizeof id, "chk-async-%d", i);
        s_sample_checkout (&checkout, id, i % 2 == 0);
        s_send_retrying (&checkout);
    }
    cr_assert_eq (ck_client_pending (s_client), COUNT);
    int results = 0;
    int64_t deadline = zclock_mono () + 10000;
    while (results < COUNT && zclock_mono () < deadline) {
        zmq_pollitem_t items [8];
        size_t count = ck_client_poll_items (s_client, items, 8);
        long timeout = ck_client_timeout (s_client);
        zmq_poll (items, (int) count, timeout >= 0 && timeout < 1000? timeout: 1000);
        ck_command_t command;
        while ((command = ck_client_recv (s_client, 0)) != CK_CMD_NONE) {
            const ck_client_reply_t *reply = ck_client_reply (s_client);
            cr_assert_neq (command, CK_CMD_ERROR, "ERROR %s reached the caller",
                           ck_error_code_name (reply->error.code));
            int i = -1;
            if (command == CK_CMD_RESULT
            &&  sscanf (reply->result.checkout_id, "chk-async-%d", &i) == 1) {
                cr_assert (i >= 0 && i < COUNT && !done [i], "%s", reply->result.checkout_id);
                done [i] = true;
                results++;
            }
        }
    }
    cr_assert_eq (results, COUNT);
    //  The sends went to each frontend in turn (or the other, while one was
    //  not connected yet); those to the one that owns nothing were
    //  redirected once, and every checkout reached the owner exactly once
    cr_assert_eq (s_fake_hits (s_others [0]), COUNT);
    cr_assert_gt (s_fake_hits (s_others [1]), 0);
    cr_assert_eq (ck_client_redirects (s_client), (size_t) s_fake_hits (s_others [1]));
    cr_assert_eq (ck_client_pending (s_client), 0, "answered requests are freed");
    //  A request the caller gives up on is forgotten
    cr_assert_eq (ck_client_send_status (s_client, "chk-async-0"), 0);
    ck_client_forget (s_client, "chk-async-0");
    cr_assert_eq (ck_client_pending (s_client), 0);
}

//  owner "": a takeover is under way; the client waits and asks again
Test (checkout_client, no_owner_yet_is_retried_after_a_pause)
{
    s_cluster (MODE_ANSWER, MODE_NOT_OWNER);
    zstr_sendx (s_others [1], "OWNER", s_other_endpoints [0], NULL);
    zstr_sendx (s_others [1], "BLANK", "2", NULL);
    s_client = s_client_of (s_other_endpoints [1], NULL);
    ck_checkout_t checkout;
    s_sample_checkout (&checkout, "chk-blank-1", false);
    int64_t start = zclock_mono ();
    cr_assert_eq (ck_client_submit (s_client, &checkout, 5000), CK_CMD_RESULT);
    int64_t took = zclock_mono () - start;
    cr_assert_str_eq (ck_client_reply (s_client)->result.checkout_id, "chk-blank-1");
    //  Two pauses, 50 then 100 ms, then the owner named
    cr_assert_geq (took, 150, "took %lld ms", (long long) took);
    cr_assert_lt (took, 3000, "took %lld ms", (long long) took);
    cr_assert_eq (ck_client_redirects (s_client), 3);
    cr_assert_eq (s_fake_hits (s_others [1]), 3);
    cr_assert_eq (s_fake_hits (s_others [0]), 1);
    //  Asynchronously: the pause shows in ck_client_timeout
    zstr_sendx (s_others [1], "BLANK", "1", NULL);
    s_sample_checkout (&checkout, "chk-blank-2", false);
    s_send_retrying (&checkout);
    cr_assert_eq (ck_client_timeout (s_client), -1);
    cr_assert_eq (ck_client_recv (s_client, 2000), CK_CMD_RESULT);
    cr_assert_str_eq (ck_client_reply (s_client)->result.checkout_id, "someone-else");
    cr_assert_eq (ck_client_recv (s_client, 2000), CK_CMD_RESULT);
    cr_assert_str_eq (ck_client_reply (s_client)->result.checkout_id, "chk-blank-2");
    cr_assert_eq (ck_client_pending (s_client), 0);
}

//  The owner named has just died (its frontend takes nothing) and the
//  others still name it until its lease runs out: the client waits as for
//  owner "", without burning its redirects, and gets there once another
//  is named
Test (checkout_client, a_dead_owner_named_is_waited_out)
{
    s_cluster (MODE_ANSWER, MODE_NOT_OWNER);
    char dead [ENDPOINT_SIZE];
    snprintf (dead, sizeof dead, "ipc://%s/dead-owner", s_dir);
    zstr_sendx (s_others [1], "OWNER", dead, NULL);
    s_client = s_client_of (s_other_endpoints [1], dead);
    ck_checkout_t checkout;
    s_sample_checkout (&checkout, "chk-dead-owner", false);
    s_send_retrying (&checkout);
    cr_assert_eq (ck_client_recv (s_client, 400), CK_CMD_NONE);
    //  50 ms, then 100, then 200: a few redirects, not dozens
    size_t redirects = ck_client_redirects (s_client);
    cr_assert (redirects >= 2 && redirects <= 4, "%zu redirects in 400 ms", redirects);
    cr_assert_eq (ck_client_pending (s_client), 1);
    zstr_sendx (s_others [1], "OWNER", s_other_endpoints [0], NULL);
    cr_assert_eq (ck_client_recv (s_client, 3000), CK_CMD_RESULT);
    cr_assert_str_eq (ck_client_reply (s_client)->result.checkout_id, "someone-else");
    cr_assert_eq (ck_client_recv (s_client, 3000), CK_CMD_RESULT);
    cr_assert_str_eq (ck_client_reply (s_client)->result.checkout_id, "chk-dead-owner");
    cr_assert_eq (s_fake_hits (s_others [0]), 1);
    cr_assert_eq (ck_client_pending (s_client), 0);
}

//  Two confused coordinators naming each other: a clear error, no hang
Test (checkout_client, not_owner_ping_pong_ends_with_an_error)
{
    s_cluster (MODE_NOT_OWNER, MODE_NOT_OWNER);
    zstr_sendx (s_others [0], "OWNER", s_other_endpoints [1], NULL);
    zstr_sendx (s_others [1], "OWNER", s_other_endpoints [0], NULL);
    s_client = s_client_of (s_other_endpoints [0], s_other_endpoints [1]);
    ck_checkout_t checkout;
    s_sample_checkout (&checkout, "chk-loop-1", false);
    int64_t start = zclock_mono ();
    cr_assert_eq (ck_client_submit (s_client, &checkout, 5000), CK_CMD_ERROR);
    int64_t took = zclock_mono () - start;
    cr_assert_lt (took, 2000, "took %lld ms", (long long) took);
    const ck_client_reply_t *reply = ck_client_reply (s_client);
    cr_assert_eq (reply->error.code, CK_NOT_OWNER);
    cr_assert_str_eq (reply->error.checkout_id, "chk-loop-1");
    cr_assert_not_null (strstr (reply->error.message, "gave up"), "%s", reply->error.message);
    cr_assert_eq (ck_client_redirects (s_client), CK_CLIENT_HOPS_MAX);
    cr_assert_eq (s_fake_hits (s_others [0]) + s_fake_hits (s_others [1]),
                  CK_CLIENT_HOPS_MAX + 1);
    cr_assert_eq (ck_client_pending (s_client), 0);
    //  The same through the asynchronous API
    s_sample_checkout (&checkout, "chk-loop-2", false);
    s_send_retrying (&checkout);
    cr_assert_eq (ck_client_recv (s_client, 5000), CK_CMD_ERROR);
    cr_assert_eq (reply->error.code, CK_NOT_OWNER);
    cr_assert_str_eq (reply->error.checkout_id, "chk-loop-2");
    cr_assert_eq (ck_client_pending (s_client), 0);
}

//  A coordinator that is down: with several frontends its DEALER refuses
//  to queue, so a request goes to the next frontend at once
Test (checkout_client, dead_frontend_gives_way_to_the_next)
{
    s_start (MODE_ANSWER);
    ck_client_destroy (&s_client);
    char dead [PATH_MAX + 16];
    snprintf (dead, sizeof dead, "ipc://%s/nobody", s_dir);
    s_client = s_client_of (dead, s_endpoint);
    int64_t start = zclock_mono ();
    cr_assert_eq (ck_client_ping (s_client, 2000), CK_CMD_PONG);
    int64_t took = zclock_mono () - start;
    cr_assert_lt (took, 900, "took %lld ms", (long long) took);
    cr_assert_str_eq (ck_client_answered_by (s_client), s_endpoint);
    //  The next call starts where the last answer came from
    ck_checkout_t checkout;
    s_sample_checkout (&checkout, "chk-dead-1", false);
    start = zclock_mono ();
    cr_assert_eq (ck_client_submit (s_client, &checkout, 2000), CK_CMD_RESULT);
    took = zclock_mono () - start;
    cr_assert_lt (took, 900, "took %lld ms", (long long) took);
    cr_assert_eq (ck_client_pending (s_client), 0);
    //  All down: no answer within the timeout
    zactor_destroy (&s_fake);
    start = zclock_mono ();
    cr_assert_eq (ck_client_status (s_client, "chk-dead-1", 600), CK_CMD_NONE);
    took = zclock_mono () - start;
    cr_assert_geq (took, 590, "took %lld ms", (long long) took);
    cr_assert_lt (took, 1500, "took %lld ms", (long long) took);
    cr_assert_eq (ck_client_pending (s_client), 0);
}

//  A coordinator that takes requests and never answers: given up after
//  its share of the timeout, the request sent again to the next frontend
Test (checkout_client, silent_frontend_gives_way_after_its_share)
{
    s_cluster (MODE_SILENT, MODE_ANSWER);
    s_client = s_client_of (s_other_endpoints [0], s_other_endpoints [1]);
    ck_checkout_t checkout;
    s_sample_checkout (&checkout, "chk-silent-1", false);
    //  Both connected first, so that the silent one does get the request
    zclock_sleep (200);
    int64_t start = zclock_mono ();
    cr_assert_eq (ck_client_submit (s_client, &checkout, 2000), CK_CMD_RESULT);
    int64_t took = zclock_mono () - start;
    cr_assert_geq (took, 990, "took %lld ms: the silent one had half", (long long) took);
    cr_assert_lt (took, 2000, "took %lld ms", (long long) took);
    cr_assert_str_eq (ck_client_reply (s_client)->result.checkout_id, "chk-silent-1");
    cr_assert_str_eq (ck_client_answered_by (s_client), s_other_endpoints [1]);
    cr_assert_eq (ck_client_pending (s_client), 0);
    //  The next call starts at the one that answered
    start = zclock_mono ();
    cr_assert_eq (ck_client_ping (s_client, 2000), CK_CMD_PONG);
    cr_assert_lt (zclock_mono () - start, 900);
}

Test (checkout_client, frontend_lists)
{
    char a [PATH_MAX + 16], b [PATH_MAX + 16], both [2 * PATH_MAX + 40];
    snprintf (a, sizeof a, "ipc://%s/a", s_dir);
    snprintf (b, sizeof b, "ipc://%s/b", s_dir);
    snprintf (both, sizeof both, "%s,%s", a, b);
    //  A comma list, an array, repeats skipped
    const char *lists [][3] = { { both, NULL, NULL }, { a, b, NULL }, { a, both, b } };
    size_t counts [] = { 1, 2, 3 };
    for (size_t i = 0; i < 3; i++) {
        ck_client_t *client = ck_client_new_frontends (lists [i], counts [i], NULL);
        cr_assert_not_null (client, "list %zu", i);
        cr_assert_str_eq (ck_client_endpoint (client), both);
        zmq_pollitem_t items [4];
        cr_assert_eq (ck_client_poll_items (client, items, 4), 2);
        cr_assert_eq (ck_client_poll_items (client, items, 1), 1);
        ck_client_destroy (&client);
    }
    //  Bad lists: an empty part, a bad endpoint, none, too many
    char empty_part [2 * PATH_MAX + 40];
    snprintf (empty_part, sizeof empty_part, "%s,,%s", a, a);
    const char *bad [] = { empty_part, "tcp://127.0.0.1:1,nowhere", "", ",", NULL };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++)
        cr_assert_null (ck_client_new_frontends (&bad [i], 1, NULL), "'%s'", bad [i]);
    cr_assert_null (ck_client_new_frontends (bad, 0, NULL));
    char many [CK_CLIENT_FRONTENDS_MAX + 1][64];
    const char *pointers [CK_CLIENT_FRONTENDS_MAX + 1];
    for (int i = 0; i <= CK_CLIENT_FRONTENDS_MAX; i++) {
        snprintf (many [i], sizeof many [i], "tcp://127.0.0.1:%d", 1 + i);
        pointers [i] = many [i];
    }
    ck_client_t *client = ck_client_new_frontends (pointers, CK_CLIENT_FRONTENDS_MAX, NULL);
    cr_assert_not_null (client);
    ck_client_destroy (&client);
    cr_assert_null (ck_client_new_frontends (pointers, CK_CLIENT_FRONTENDS_MAX + 1, NULL));
}

//  -------------------------------------------------------------------------
//  The CLI, as a process

static void
s_bin (const char *name, char *out, size_t size)
{
    char dir [PATH_MAX];
    cr_assert_eq (ph_bin_dir (dir, sizeof dir), 0, "no bin dir");
    snprintf (out, size, "%s/%s", dir, name);
}

//  Runs checkout with the arguments (NULL-terminated, after the program
//  name); returns its exit code and its output in *output (caller frees).
static int
s_cli (char **output, const char *arg, ...)
{
    char program [PATH_MAX + 16], log [PATH_MAX + 16];
    s_bin ("checkout", program, sizeof program);
    snprintf (log, sizeof log, "%s/cli.log", s_dir);
    unlink (log);
    char *argv [64] = { program };
    int argc = 1;
    va_list args;
    va_start (args, arg);
    for (const char *next = arg; next && argc < 63; next = va_arg (args, const char *))
        argv [argc++] = (char *) next;
    va_end (args);
    argv [argc] = NULL;
    s_pid = ph_spawn (program, argv, log);
    cr_assert_gt (s_pid, 0);
    int status = 0;
    cr_assert_eq (ph_wait (s_pid, CLI_WAIT_MS, &status), 0, "checkout did not exit");
    s_pid = 0;
    *output = ph_slurp (log);
    cr_assert_not_null (*output);
    return ph_exit_code (status);
}

#define FLAGS_OF(id) "--checkout-id", id, "--cart-id", "cart-7", "--customer", "cust-7", \
    "--currency", "EUR", "--item", "SKU-0001:2:150", "--item", "SKU:0002:1:300"

Test (checkout_client, cli_ping_prints_the_version)
{
    s_start (MODE_ANSWER);
    char *out = NULL;
    int code = s_cli (&out, "--frontend", s_endpoint, "ping", NULL);
    cr_assert_eq (code, 0, "%s", out);
    cr_assert_not_null (strstr (out, "version " CK_VERSION), "%s", out);
    free (out);
}

Test (checkout_client, cli_submit_confirmed)
{
    s_start (MODE_ANSWER);
    char *out = NULL;
    int code = s_cli (&out, "--frontend", s_endpoint, "submit", FLAGS_OF ("chk-cli-1"),
                      "--payment-method", "pm_card_visa", "--country", "DE", "--ack", NULL);
    cr_assert_eq (code, 0, "%s", out);
    cr_assert_not_null (strstr (out, "confirmed"), "%s", out);
    //  two lines, amount 2 x 150 + 1 x 300 computed by the CLI
    cr_assert_not_null (strstr (out, "ord-2-600"), "%s", out);
    free (out);
}

Test (checkout_client, cli_submit_outcomes_give_exit_codes)
{
    s_start (MODE_ANSWER);
    char *out = NULL;
    int code = s_cli (&out, "--frontend", s_endpoint, "submit", FLAGS_OF ("chk-cli-2"),
                      "--payment-method", "pm_card_declined", "--country", "DE", NULL);
    cr_assert_eq (code, 3, "%s", out);
    cr_assert_not_null (strstr (out, "card_declined"), "%s", out);
    cr_assert_not_null (strstr (out, "compensated: inventory"), "%s", out);
    free (out);
    code = s_cli (&out, "--frontend", s_endpoint, "submit", FLAGS_OF ("chk-cli-3"),
                  "--payment-method", "pm_card_visa", "--country", "AQ", NULL);
    cr_assert_eq (code, 4, "%s", out);
    cr_assert_not_null (strstr (out, "stuck"), "%s", out);
    free (out);
    code = s_cli (&out, "--frontend", s_endpoint, "submit", FLAGS_OF ("err-cli"),
                  "--payment-method", "pm_card_visa", "--country", "DE", NULL);
    cr_assert_eq (code, 5, "%s", out);
    cr_assert_not_null (strstr (out, "conflict"), "%s", out);
    free (out);
}

Test (checkout_client, cli_submit_w1_and_json)
{
    s_start (MODE_ANSWER);
    char *out = NULL;
    int code = s_cli (&out, "--frontend", s_endpoint, "--json", "submit", "--w1", "5",
                      "--prefix", "t1-", NULL);
    cr_assert_eq (code, 0, "%s", out);
    cr_assert_eq (out [0], '{', "%s", out);
    cr_assert_not_null (strstr (out, "\"checkout_id\":\"t1-chk-5\""), "%s", out);
    cr_assert_not_null (strstr (out, "\"status\":\"confirmed\""), "%s", out);
    cr_assert_eq (strchr (out, '\n'), out + strlen (out) - 1, "one line: %s", out);
    free (out);
    code = s_cli (&out, "--frontend", s_endpoint, "submit", "--w1", "20", NULL);
    cr_assert_eq (code, 3, "%s", out);
    free (out);
}

Test (checkout_client, cli_submit_cart_file)
{
    s_start (MODE_ANSWER);
    char path [PATH_MAX + 16];
    snprintf (path, sizeof path, "%s/cart.zpl", s_dir);
    FILE *file = fopen (path, "w");
    cr_assert_not_null (file);
    fprintf (file, "#   A cart\ncheckout_id = chk-file-1\ncart_id = cart-1\n"
                   "customer_id = cust-1\ncurrency = EUR\npayment_method = pm_card_visa\n"
                   "country = DE\nack = true\nitem = SKU-0001:2:150\nitem\n"
                   "    sku = SKU-0002\n    qty = 3\n    unit_price = 100\n");
    fclose (file);
    char *out = NULL;
    int code = s_cli (&out, "--frontend", s_endpoint, "submit", "--cart", path, NULL);
    cr_assert_eq (code, 0, "%s", out);
    cr_assert_not_null (strstr (out, "ord-2-600"), "%s", out);
    free (out);
}

Test (checkout_client, cli_status_prints_history)
{
    s_start (MODE_ANSWER);
    char *out = NULL;
    int code = s_cli (&out, "--frontend", s_endpoint, "status", "chk-77", NULL);
    cr_assert_eq (code, 0, "%s", out);
    cr_assert_not_null (strstr (out, "checkout chk-77: confirmed"), "%s", out);
    cr_assert_not_null (strstr (out, "ReserveInventory"), "%s", out);
    cr_assert_not_null (strstr (out, "2023-11-14T22:13:20.001Z"), "%s", out);
    free (out);
    code = s_cli (&out, "--frontend", s_endpoint, "status", "unknown-7", NULL);
    cr_assert_eq (code, 5, "%s", out);
    cr_assert_not_null (strstr (out, "unknown_checkout"), "%s", out);
    free (out);
}

Test (checkout_client, cli_without_coordinator_exits_1_in_time)
{
    //  An ipc path of this process's own: nobody can be listening there (a
    //  tcp port that was free a moment ago may be another test's by now)
    char *endpoint = zsys_sprintf ("ipc:///tmp/ck-test-nobody-%d-%u", (int) getpid (),
                                   (unsigned) randof (1000000));
    char *out = NULL;
    int64_t start = zclock_mono ();
    int code = s_cli (&out, "--frontend", endpoint, "--timeout", "300", "ping", NULL);
    int64_t took = zclock_mono () - start;
    cr_assert_eq (code, 1, "%s", out);
    cr_assert_not_null (strstr (out, "no answer from ipc:///tmp/ck-test-nobody-"), "%s", out);
    cr_assert_not_null (strstr (out, "within 300 ms"), "%s", out);
    cr_assert_lt (took, 3000, "took %lld ms", (long long) took);
    free (out);
    zstr_free (&endpoint);
}

//  Several frontends, repeated or comma-separated; not_owner never shows
Test (checkout_client, cli_takes_several_frontends)
{
    s_cluster (MODE_ANSWER, MODE_NOT_OWNER);
    zstr_sendx (s_others [1], "OWNER", s_other_endpoints [0], NULL);
    char both [2 * ENDPOINT_SIZE + 2];
    snprintf (both, sizeof both, "%s,%s", s_other_endpoints [1], s_other_endpoints [0]);
    char *out = NULL;
    int code = s_cli (&out, "--frontend", both, "submit", FLAGS_OF ("chk-cli-own"),
                      "--payment-method", "pm_card_visa", "--country", "DE", NULL);
    cr_assert_eq (code, 0, "%s", out);
    cr_assert_not_null (strstr (out, "ord-2-600"), "%s", out);
    free (out);
    code = s_cli (&out, "--frontend", s_other_endpoints [1], "--frontend",
                  s_other_endpoints [0], "status", "chk-cli-own", NULL);
    cr_assert_eq (code, 0, "%s", out);
    cr_assert_not_null (strstr (out, "checkout chk-cli-own: confirmed"), "%s", out);
    free (out);
    cr_assert_eq (s_fake_hits (s_others [0]), 2, "one CHECKOUT, one STATUS at the owner");
    //  Nobody answers: the message names every frontend
    char nobody [PATH_MAX + 16];
    snprintf (nobody, sizeof nobody, "ipc://%s/nobody", s_dir);
    code = s_cli (&out, "--frontend", nobody, "--frontend", nobody, "--frontend",
                  "ipc:///tmp/ck-test-nobody-else", "--timeout", "300", "ping", NULL);
    cr_assert_eq (code, 1, "%s", out);
    cr_assert_not_null (strstr (out, "/nobody,ipc:///tmp/ck-test-nobody-else within 300 ms"),
                        "%s", out);
    free (out);
    cr_assert_eq (s_cli (&out, "--frontend", both, "--frontend", "", "ping", NULL), 2);
    free (out);
}

Test (checkout_client, cli_bad_usage_exits_2)
{
    s_start (MODE_SILENT);
    char *out = NULL;
    const char *frontend [] = { "--frontend", s_endpoint };
    cr_assert_eq (s_cli (&out, frontend [0], frontend [1], "--bogus", "ping", NULL), 2);
    free (out);
    cr_assert_eq (s_cli (&out, frontend [0], frontend [1], "launch", NULL), 2);
    free (out);
    cr_assert_eq (s_cli (&out, frontend [0], frontend [1], NULL), 2);
    free (out);
    cr_assert_eq (s_cli (&out, frontend [0], frontend [1], "status", NULL), 2);
    free (out);
    cr_assert_eq (s_cli (&out, "--frontend", "nowhere", "ping", NULL), 2);
    free (out);
    cr_assert_eq (s_cli (&out, frontend [0], frontend [1], "submit", FLAGS_OF ("chk-x"),
                         "--payment-method", "pm_card_visa", NULL), 2, "no country");
    cr_assert_not_null (strstr (out, "country"), "%s", out);
    free (out);
    cr_assert_eq (s_cli (&out, frontend [0], frontend [1], "submit", FLAGS_OF ("chk-x"),
                         "--payment-method", "pm_card_visa", "--country", "DE",
                         "--amount", "1", NULL), 2, "amount mismatch");
    cr_assert_not_null (strstr (out, "not the sum"), "%s", out);
    free (out);
    cr_assert_eq (s_cli (&out, frontend [0], frontend [1], "submit", "--w1", "1",
                         "--item", "SKU-1:0:5", NULL), 2, "qty 0");
    free (out);
    cr_assert_eq (s_cli (&out, frontend [0], frontend [1], "submit", "--w1", "1",
                         "--cart", "/nonexistent.zpl", NULL), 2);
    free (out);
    cr_assert_eq (s_cli (&out, frontend [0], frontend [1], "submit", "--cart",
                         "/nonexistent.zpl", NULL), 2);
    cr_assert_not_null (strstr (out, "cannot read"), "%s", out);
    free (out);
}

/*  test_e2e_forged.c - answers from anyone but the instance asked are ignored
    A declined card's authorization is in flight at the real payment
    instance; a peer that never sent READY, and one registered as another
    payment instance, answer it "ok" first.  Neither answer may count.
*/
#include <criterion/criterion.h>
#include "e2e_helpers.h"

#define READY_MS    30000
#define DONE_MS     60000

static e2e_group_t s_group;

static void
s_init (void)
{
    cr_assert_eq (e2e_group_init (&s_group, "ck-e2e-forged"), 0, "no temp dir");
}

static void
s_fini (void)
{
    e2e_group_fini (&s_group);
}

TestSuite (e2e_forged, .init = s_init, .fini = s_fini, .timeout = 120);

//  A DEALER on the backend, kept by the group
static zsock_t *
s_peer (void)
{
    zsock_t *peer = e2e_keep (&s_group, zsock_new_dealer (s_group.backend));
    cr_assert_not_null (peer);
    return peer;
}

//  Sends REPLY ok for AuthorizePayment attempt 1 of saga_id, from peer
static void
s_forge_ok (zsock_t *peer, const char *saga_id)
{
    ck_reply_t reply = { .type = CK_TYPE_AUTHORIZE_PAYMENT, .attempt = 1,
                         .outcome = CK_OUTCOME_OK };
    snprintf (reply.saga_id, sizeof reply.saga_id, "%s", saga_id);
    snprintf (reply.result_id, sizeof reply.result_id, "auth-forged");
    ck_buf_t body;
    ck_buf_init (&body);
    cr_assert_eq (ck_encode_reply (&reply, &body), 0);
    cr_assert_eq (ck_frame_send (peer, NULL, 0, CK_PROTO_WORKER, CK_CMD_REPLY,
                                 body.data, body.size), 0);
    ck_buf_free (&body);
}

//  The first W1 checkout whose card is declined
static uint64_t
s_declined (void)
{
    for (uint64_t k = 0; k < 1000; k++)
        if (w1_expected (k).reason && streq (w1_expected (k).reason, "card_declined"))
            return k;
    cr_assert_fail ("W1 has no declined card");
    return 0;
}

Test (e2e_forged, replies_from_others_than_the_instance_asked_are_ignored)
{
    //  the real instance takes 1.5 s per authorization: time to forge
    const char *slow [] = { "--latency-ms", "1500", NULL };
    cr_assert_geq (e2e_start_group_with (&s_group, NULL, slow, READY_MS), 0,
                   "the group did not come up (logs in %s)", s_group.dir);

    checkout_client_t *client = e2e_client (&s_group);
    cr_assert_not_null (client);
    uint64_t k = s_declined ();
    ck_checkout_t checkout;
    w1_checkout (k, &checkout);
    checkout.ack = true;
    cr_assert_eq (checkout_client_send_checkout (client, &checkout), 0);
    cr_assert_eq (checkout_client_recv (client, DONE_MS), CK_CMD_ACCEPTED);
    char saga_id [CK_ID_SIZE];
    snprintf (saga_id, sizeof saga_id, "%s", checkout_client_reply (client)->accepted.saga_id);
    //  the reservation is quick; then the authorization waits at payment-1
    zclock_sleep (500);
    //  a second payment "instance" registers now, after the request went
    //  to payment-1 (so that it is not the one asked)
    zsock_t *registered = s_peer ();
    ck_ready_t ready = { .service = CK_SERVICE_PAYMENT, .capacity = 1 };
    snprintf (ready.instance, sizeof ready.instance, "payment-rogue");
    ck_buf_t body;
    ck_buf_init (&body);
    cr_assert_eq (ck_encode_ready (&ready, &body), 0);
    cr_assert_eq (ck_frame_send (registered, NULL, 0, CK_PROTO_WORKER, CK_CMD_READY,
                                 body.data, body.size), 0);
    ck_buf_free (&body);
    zsock_t *stranger = s_peer ();

    s_forge_ok (stranger, saga_id);
    s_forge_ok (registered, saga_id);

    ck_command_t command;
    while ((command = checkout_client_recv (client, DONE_MS)) == CK_CMD_ACCEPTED)
        ;
    cr_assert_eq (command, CK_CMD_RESULT);
    const ck_result_t *result = &checkout_client_reply (client)->result;
    cr_assert_eq (result->status, CK_STATUS_FAILED, "a forged ok counted: %s",
                  ck_status_name (result->status));
    cr_assert_str_eq (result->reason.code, "card_declined");
    sqlite3 *order = e2e_db_open (&s_group, "order.db");
    cr_assert_not_null (order);
    cr_assert_eq (e2e_db_int (order, "SELECT COUNT(*) FROM orders", NULL), 0);
    sqlite3_close (order);
}

/*  test_e2e_forged.c - answers from anyone but the instance asked are ignored
    A declined card's authorization is in flight at the real payment
    instance; a peer that never sent READY, and one registered as another
    payment instance, answer it "ok" first.  Neither answer may count.
*/
#include <criterion/criterion.h>
#include "e2e_helpers.h"
#include "peer_helpers.h"

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

    ck_client_t *client = e2e_client (&s_group);
    cr_assert_not_null (client);
    uint64_t k = s_declined ();
    ck_checkout_t checkout;
    w1_checkout (k, &checkout);
    checkout.ack = true;
    cr_assert_eq (ck_client_send_checkout (client, &checkout), 0);
    cr_assert_eq (ck_client_recv (client, DONE_MS), CK_CMD_ACCEPTED);
    char saga_id [CK_ID_SIZE];
    snprintf (saga_id, sizeof saga_id, "%s", ck_client_reply (client)->accepted.saga_id);
    //  the reservation is quick; then the authorization waits at payment-1
    zclock_sleep (500);
    //  a second payment "instance" registers now, after the request went
    //  to payment-1 (so that it is not the one asked)
    zsock_t *registered = s_peer ();
    cr_assert_eq (peer_send_ready (registered, CK_SERVICE_PAYMENT, "payment-rogue", 1), 0);
    zsock_t *stranger = s_peer ();

    s_forge_ok (stranger, saga_id);
    s_forge_ok (registered, saga_id);

    ck_command_t command;
    while ((command = ck_client_recv (client, DONE_MS)) == CK_CMD_ACCEPTED)
        ;
    cr_assert_eq (command, CK_CMD_RESULT);
    const ck_result_t *result = &ck_client_reply (client)->result;
    cr_assert_eq (result->status, CK_STATUS_FAILED, "a forged ok counted: %s",
                  ck_status_name (result->status));
    cr_assert_str_eq (result->reason.code, "card_declined");
    sqlite3 *order = e2e_db_open (&s_group, "order.db");
    cr_assert_not_null (order);
    cr_assert_eq (e2e_db_int (order, "SELECT COUNT(*) FROM orders", NULL), 0);
    sqlite3_close (order);
}

//  A READY that claims the name of a live instance from another connection
//  does not take its place: the claimant is told DISCONNECT, and however
//  often it asks again, no request reaches it while the real one serves.
Test (e2e_forged, ready_as_a_live_instance_is_refused)
{
    cr_assert_geq (e2e_start_group (&s_group, NULL, READY_MS), 0,
                   "the group did not come up (logs in %s)", s_group.dir);
    zsock_t *rogue = s_peer ();
    cr_assert_eq (peer_send_ready (rogue, CK_SERVICE_PAYMENT, "payment-1", 4), 0);
    cr_assert_eq (peer_next_command (rogue, 2000), CK_CMD_DISCONNECT,
                  "the claimant was not refused");

    ck_client_t *client = e2e_client (&s_group);
    cr_assert_not_null (client);
    uint64_t k = 0;
    while (w1_expected (k).reason)
        k++;                            //  the first W1 checkout that confirms
    ck_checkout_t checkout;
    w1_checkout (k, &checkout);
    cr_assert_eq (ck_client_send_checkout (client, &checkout), 0);
    //  it keeps claiming while the saga runs
    ck_command_t command = CK_CMD_NONE;
    int64_t deadline = ph_now_ms () + DONE_MS;
    while (command == CK_CMD_NONE && ph_now_ms () < deadline) {
        cr_assert_eq (peer_send_ready (rogue, CK_SERVICE_PAYMENT, "payment-1", 4), 0);
        ck_command_t heard;
        while ((heard = peer_next_command (rogue, 20)) != CK_CMD_NONE)
            cr_assert_eq (heard, CK_CMD_DISCONNECT, "the claimant was sent %s",
                          ck_command_name (heard));
        command = ck_client_recv (client, 30);
    }
    cr_assert_eq (command, CK_CMD_RESULT);
    cr_assert_eq (ck_client_reply (client)->result.status, CK_STATUS_CONFIRMED);
}

//  The legitimate claimant: a participant restarted under its instance
//  name gets back in at once when its old process died (its connection is
//  closed), and within about a liveness period when the old one still
//  holds an open connection but has gone silent.
Test (e2e_forged, a_restarted_instance_gets_its_name_back)
{
    cr_assert_geq (e2e_start_group (&s_group, NULL, READY_MS), 0,
                   "the group did not come up (logs in %s)", s_group.dir);
    zsock_t *sub = e2e_keep (&s_group, zsock_new_sub (s_group.events, "worker."));
    cr_assert_not_null (sub);
    zclock_sleep (300);                 //  the subscription reaches the PUB

    int slot = e2e_slot (&s_group, "payment-1");
    cr_assert_eq (e2e_stop (&s_group, slot, SIGKILL, 5000), -1);
    int64_t started = ph_now_ms ();
    cr_assert_geq (e2e_start_participant (&s_group, "payment", "payment-1", NULL), 0);
    cr_assert_eq (peer_worker_event (sub, "worker.joined", "payment-1", 10000), 0, "the restart did not join");
    int64_t dead_at_once = ph_now_ms () - started;

    //  silent but connected: stopped, not dead
    slot = e2e_slot (&s_group, "payment-1");
    ph_signal (s_group.pids [slot], SIGSTOP);
    started = ph_now_ms ();
    snprintf (s_group.names [slot], sizeof s_group.names [slot], "payment-1-stopped");
    cr_assert_geq (e2e_start_participant (&s_group, "payment", "payment-1", NULL), 0);
    int rc = peer_worker_event (sub, "worker.joined", "payment-1", 10000);
    int64_t silent = ph_now_ms () - started;
    ph_signal (s_group.pids [slot], SIGCONT);
    cr_assert_eq (rc, 0, "the second process never joined");
    int64_t liveness_ms = (int64_t) s_group.heartbeat_ms * s_group.liveness;
    cr_assert_lt (dead_at_once, liveness_ms, "a dead process's name took %" PRId64 " ms",
                  dead_at_once);
    cr_assert_geq (silent, liveness_ms - 2 * s_group.heartbeat_ms,
                   "the silent holder was replaced after %" PRId64 " ms", silent);
    cr_assert_lt (silent, liveness_ms + 1500, "the name came back after %" PRId64 " ms",
                  silent);
}

/*  test_e2e_ready_update.c - READY with update changes a live worker's capacity
    A hand-made payment instance holds one authorization at capacity 1, then
    announces capacity 2 on the same connection: with update, what it holds
    stays in flight and a second one comes; a plain READY is a new connection.
*/
#include <criterion/criterion.h>
#include "e2e_helpers.h"
#include "peer_helpers.h"

#define READY_MS    30000
#define DONE_MS     30000
#define INSTANCE    "payment-peer"

static e2e_group_t s_group;

static void
s_init (void)
{
    cr_assert_eq (e2e_group_init (&s_group, "ck-e2e-ready-update"), 0, "no temp dir");
}

static void
s_fini (void)
{
    e2e_group_fini (&s_group);
}

TestSuite (e2e_ready_update, .init = s_init, .fini = s_fini, .timeout = 120);

//  Sends READY from peer, with update as asked
static void
s_ready (zsock_t *peer, uint32_t capacity, bool update)
{
    cr_assert_eq (peer_send_ready_update (peer, CK_SERVICE_PAYMENT, INSTANCE, capacity,
                                          update), 0);
}

static void
s_heartbeat (zsock_t *peer)
{
    cr_assert_eq (ck_frame_send (peer, NULL, 0, CK_PROTO_WORKER, CK_CMD_HEARTBEAT,
                                 NULL, 0), 0);
}

//  The next REQUEST to peer within timeout_ms into *request, heartbeating
//  meanwhile as a live instance does; 0, or -1 on timeout.  Anything but
//  REQUEST and HEARTBEAT fails the test.
static int
s_next_request (zsock_t *peer, int timeout_ms, ck_request_t *request)
{
    int64_t deadline = ph_now_ms () + timeout_ms;
    while (ph_now_ms () < deadline) {
        s_heartbeat (peer);
        int64_t left = deadline - ph_now_ms ();
        zsock_set_rcvtimeo (peer, left < 50? (int) (left > 0? left: 0): 50);
        zmsg_t *msg = zmsg_recv (peer);
        if (!msg)
            continue;
        ck_frame_t frame;
        ck_decode_error_t err;
        cr_assert_eq (ck_frame_parse (msg, CK_PROTO_WORKER, false, &frame, &err), 0,
                      "bad frame: %s", err.message);
        ck_command_t command = frame.command;
        if (command == CK_CMD_REQUEST)
            cr_assert_eq (ck_decode_request (frame.body, frame.body_size, request, &err), 0,
                          "bad REQUEST: %s", err.message);
        zmsg_destroy (&msg);
        if (command == CK_CMD_REQUEST)
            return 0;
        cr_assert_eq (command, CK_CMD_HEARTBEAT, "the coordinator sent %s",
                      ck_command_name (command));
    }
    return -1;
}

//  Answers request ok from peer
static void
s_reply_ok (zsock_t *peer, const ck_request_t *request)
{
    ck_reply_t reply = { .type = request->type, .attempt = request->attempt,
                         .outcome = CK_OUTCOME_OK };
    snprintf (reply.saga_id, sizeof reply.saga_id, "%s", request->saga_id);
    snprintf (reply.result_id, sizeof reply.result_id, "auth-%.32s", request->checkout_id);
    ck_buf_t body;
    ck_buf_init (&body);
    cr_assert_eq (ck_encode_reply (&reply, &body), 0);
    cr_assert_eq (ck_frame_send (peer, NULL, 0, CK_PROTO_WORKER, CK_CMD_REPLY,
                                 body.data, body.size), 0);
    ck_buf_free (&body);
}

//  Waits, heartbeating, for a stats event that lists the peer with this
//  capacity and load; 0, or -1
static int
s_stats_show (zsock_t *peer, uint32_t capacity, uint32_t load, int timeout_ms)
{
    int64_t deadline = ph_now_ms () + timeout_ms;
    ck_ev_stats_t *stats = (ck_ev_stats_t *) malloc (sizeof *stats);
    cr_assert_not_null (stats);
    int rc = -1;
    while (rc == -1 && ph_now_ms () < deadline) {
        s_heartbeat (peer);
        if (e2e_next_stats (&s_group, stats, 100))
            continue;
        for (uint32_t i = 0; i < stats->worker_count; i++)
            if (streq (stats->workers [i].instance, INSTANCE)
            &&  stats->workers [i].capacity == capacity && stats->workers [i].load == load)
                rc = 0;
    }
    free (stats);
    return rc;
}

//  Worker events (any topic) about the peer that reach sub within
//  timeout_ms.  Can't fail.
static int
s_worker_events (zsock_t *sub, int timeout_ms)
{
    int count = 0;
    zsock_set_rcvtimeo (sub, timeout_ms);
    zmsg_t *msg;
    while ((msg = zmsg_recv (sub))) {
        zframe_t *topic = zmsg_pop (msg);
        zframe_t *body = zmsg_pop (msg);
        ck_ev_worker_t worker;
        ck_decode_error_t err;
        if (body && ck_decode_ev_worker (zframe_data (body), zframe_size (body),
                                         &worker, &err) == 0
        &&  streq (worker.instance, INSTANCE)) {
            char *name = zframe_strdup (topic);
            fprintf (stderr, "e2e_ready_update: %s %s\n", name, worker.instance);
            free (name);
            count++;
        }
        zframe_destroy (&topic);
        zframe_destroy (&body);
        zmsg_destroy (&msg);
    }
    return count;
}

//  The first W1 checkouts that confirm when payment says ok
static void
s_checkouts (ck_checkout_t *checkouts, size_t count)
{
    size_t found = 0;
    for (uint64_t k = 0; k < 1000 && found < count; k++)
        if (w1_expected (k).status == CK_STATUS_CONFIRMED)
            w1_checkout (k, &checkouts [found++]);
    cr_assert_eq (found, count, "W1 has too few confirmed checkouts");
}

//  A coordinator (step timeout far beyond the test: only a loss resends),
//  the real inventory and order, the peer as the only payment instance
//  at capacity 1, a SUB to worker events, and two checkouts sent.
//  Returns the peer; *sub is the SUB.
static zsock_t *
s_start (ck_client_t **client, zsock_t **sub)
{
    const char *coordinator [] = { "--step-timeout-ms", "60000", NULL };
    cr_assert_geq (e2e_start_coordinator (&s_group, coordinator), 0);
    cr_assert_geq (e2e_start_participant (&s_group, "inventory", "inventory-1", NULL), 0);
    cr_assert_geq (e2e_start_participant (&s_group, "order", "order-1", NULL), 0);
    zsock_t *peer = e2e_keep (&s_group, zsock_new_dealer (s_group.backend));
    cr_assert_not_null (peer);
    s_ready (peer, 1, false);
    //  the peer would be found dead while this waits: no heartbeats yet
    int64_t deadline = ph_now_ms () + READY_MS;
    int rc = -1;
    while (rc == -1 && ph_now_ms () < deadline) {
        s_heartbeat (peer);
        rc = e2e_wait_ready (&s_group, 1, 1, 1, 500);
    }
    cr_assert_eq (rc, 0, "the group did not come up (logs in %s)", s_group.dir);
    *sub = e2e_keep (&s_group, e2e_sub (&s_group, "worker."));
    cr_assert_not_null (*sub);

    *client = e2e_client (&s_group);
    cr_assert_not_null (*client);
    ck_checkout_t checkouts [2];
    s_checkouts (checkouts, 2);
    for (size_t i = 0; i < 2; i++)
        cr_assert_eq (ck_client_send_checkout (*client, &checkouts [i]), 0);
    return peer;
}

//  Both checkouts confirm; the peer heartbeats meanwhile
static void
s_expect_confirmed (ck_client_t *client, zsock_t *peer)
{
    int64_t deadline = ph_now_ms () + DONE_MS;
    for (int results = 0; results < 2; results++) {
        ck_command_t command = CK_CMD_NONE;
        while (command == CK_CMD_NONE && ph_now_ms () < deadline) {
            s_heartbeat (peer);
            command = ck_client_recv (client, 100);
        }
        cr_assert_eq (command, CK_CMD_RESULT, "no RESULT %d", results);
        const ck_result_t *result = &ck_client_reply (client)->result;
        cr_assert_eq (result->status, CK_STATUS_CONFIRMED, "%s: %s %s", result->checkout_id,
                      ck_status_name (result->status), result->reason.code);
    }
}

//  With update: the authorization in flight stays there, no worker event,
//  the second one comes at once, and the first attempt's answer counts
Test (e2e_ready_update, update_keeps_what_is_in_flight)
{
    ck_client_t *client;
    zsock_t *sub;
    zsock_t *peer = s_start (&client, &sub);
    ck_request_t *held = (ck_request_t *) malloc (2 * sizeof *held);
    cr_assert_not_null (held);
    cr_assert_eq (s_next_request (peer, DONE_MS, &held [0]), 0, "no first REQUEST");
    cr_assert_eq (held [0].type, CK_TYPE_AUTHORIZE_PAYMENT);
    cr_assert_eq (held [0].attempt, 1);
    cr_assert_eq (s_next_request (peer, 500, &held [1]), -1, "capacity 1 got a second");

    s_ready (peer, 2, true);
    cr_assert_eq (s_next_request (peer, 5000, &held [1]), 0, "no room after the update");
    cr_assert_str_neq (held [1].saga_id, held [0].saga_id,
                       "the request in flight was sent again (attempt %u)", held [1].attempt);
    cr_assert_eq (held [1].attempt, 1);
    ck_request_t *extra = (ck_request_t *) malloc (sizeof *extra);
    cr_assert_not_null (extra);
    cr_assert_eq (s_next_request (peer, 300, extra), -1, "%s attempt %u sent on top",
                  extra->saga_id, extra->attempt);
    cr_assert_eq (s_stats_show (peer, 2, 2, 5000), 0, "stats never showed capacity 2, load 2");
    cr_assert_eq (s_worker_events (sub, 200), 0, "an update made a worker event");

    s_reply_ok (peer, &held [0]);
    s_reply_ok (peer, &held [1]);
    s_expect_confirmed (client, peer);
    cr_assert_eq (s_next_request (peer, 300, extra), -1, "%s attempt %u sent again",
                  extra->saga_id, extra->attempt);
    free (extra);
    free (held);
}

//  A plain READY under the same routing id is a new connection: the worker
//  it was is lost, and what it held goes out again at once
Test (e2e_ready_update, plain_ready_again_is_a_new_connection)
{
    ck_client_t *client;
    zsock_t *sub;
    zsock_t *peer = s_start (&client, &sub);
    ck_request_t *held = (ck_request_t *) malloc (3 * sizeof *held);
    cr_assert_not_null (held);
    cr_assert_eq (s_next_request (peer, DONE_MS, &held [0]), 0, "no first REQUEST");
    cr_assert_eq (held [0].attempt, 1);

    s_ready (peer, 2, false);
    cr_assert_eq (peer_worker_event (sub, "worker.lost", INSTANCE, 5000), 0,
                  "the old connection was not lost");
    //  the lost one again, and the one that waited, in either order
    cr_assert_eq (s_next_request (peer, 5000, &held [1]), 0);
    cr_assert_eq (s_next_request (peer, 5000, &held [2]), 0);
    int again = streq (held [1].saga_id, held [0].saga_id)? 1:
                streq (held [2].saga_id, held [0].saga_id)? 2: 0;
    cr_assert_neq (again, 0, "the request in flight was not sent again");
    cr_assert_eq (held [again].attempt, 2);

    s_reply_ok (peer, &held [1]);
    s_reply_ok (peer, &held [2]);
    s_expect_confirmed (client, peer);
    free (held);
}

/*  test_frame.c - tests of the framing module
    Every valid command per protocol and direction, every error of
    docs/protocol.md#frames, real sockets.
*/
#include <criterion/criterion.h>
#include <czmq.h>
#include "frame.h"

TestSuite (frame, .timeout = 10);

//  A message of string frames; "<body>" stands for a small msgpack map
#define BODY "\x81\xa1v\xa5" "1.0.0"
static zmsg_t *
s_msg (const char *first, ...)
{
    zmsg_t *msg = zmsg_new ();
    va_list args;
    va_start (args, first);
    for (const char *part = first; part; part = va_arg (args, const char *))
        zmsg_addstr (msg, part);
    va_end (args);
    return msg;
}

static void
s_assert_bad (zmsg_t *msg, ck_proto_t proto, bool routed, ck_error_code_t code,
              const char *fragment)
{
    ck_frame_t frame;
    ck_decode_error_t err;
    memset (&frame, 0x55, sizeof frame);
    int rc = ck_frame_parse (msg, proto, routed, &frame, &err);
    cr_assert_eq (rc, -1);
    cr_assert_eq (err.code, code, "code %d, message: %s", err.code, err.message);
    cr_assert_not_null (strstr (err.message, fragment), "'%s' not in '%s'",
                        fragment, err.message);
    cr_assert_null (strchr (err.message, '\n'));
    cr_assert_eq (frame.command, CK_CMD_NONE);
    cr_assert_null (frame.body);
    zframe_t *first = zmsg_first (msg);
    if (routed && first && zframe_size (first) > 0) {
        //  The caller can still answer the sender
        cr_assert_eq (frame.routing_id, zframe_data (first));
        cr_assert_eq (frame.routing_id_size, zframe_size (first));
    }
    else
        cr_assert_null (frame.routing_id);
}

//  The commands a peer sends to the coordinator, and those it receives
static bool
s_valid (ck_command_t command, ck_proto_t proto, bool routed)
{
    static const ck_command_t client_in [] = {
        CK_CMD_CHECKOUT, CK_CMD_STATUS, CK_CMD_PING, CK_CMD_LIST, CK_CMD_DESCRIBE,
        CK_CMD_RETRY, CK_CMD_CANCEL, CK_CMD_NONE };
    static const ck_command_t client_out [] = {
        CK_CMD_ACCEPTED, CK_CMD_RESULT, CK_CMD_ERROR, CK_CMD_PONG, CK_CMD_SAGAS,
        CK_CMD_DESCRIPTION, CK_CMD_NONE };
    static const ck_command_t worker_in [] = {
        CK_CMD_READY, CK_CMD_REPLY, CK_CMD_HEARTBEAT, CK_CMD_DISCONNECT, CK_CMD_NONE };
    static const ck_command_t worker_out [] = {
        CK_CMD_REQUEST, CK_CMD_HEARTBEAT, CK_CMD_DISCONNECT, CK_CMD_NONE };
    const ck_command_t *list = proto == CK_PROTO_CLIENT?
        (routed? client_in: client_out): (routed? worker_in: worker_out);
    for (; *list != CK_CMD_NONE; list++)
        if (*list == command)
            return true;
    return false;
}

Test (frame, has_body)
{
    for (int command = CK_CMD_CHECKOUT; command < CK_CMD_COUNT; command++) {
        bool none = command == CK_CMD_PING || command == CK_CMD_HEARTBEAT
                 || command == CK_CMD_DISCONNECT;
        cr_assert_eq (ck_command_has_body ((ck_command_t) command), !none,
                      "%s", ck_command_name ((ck_command_t) command));
    }
}

//  Every command, well formed, in both protocols and both directions: the
//  valid ones parse with their body, the others are BAD_FRAME.
Test (frame, every_command)
{
    int valid_count = 0;
    for (int proto = CK_PROTO_CLIENT; proto <= CK_PROTO_WORKER; proto++)
    for (int routed = 0; routed <= 1; routed++)
    for (int command = CK_CMD_CHECKOUT; command < CK_CMD_COUNT; command++) {
        const char *name = ck_command_name ((ck_command_t) command);
        const char *signature = proto == CK_PROTO_CLIENT? "CKC1": "CKW1";
        bool body = ck_command_has_body ((ck_command_t) command);
        zmsg_t *msg = routed? s_msg ("peer-1", "", signature, name, body? BODY: NULL, NULL)
                            : s_msg ("", signature, name, body? BODY: NULL, NULL);
        ck_frame_t frame;
        ck_decode_error_t err;
        int rc = ck_frame_parse (msg, (ck_proto_t) proto, routed, &frame, &err);
        if (s_valid ((ck_command_t) command, (ck_proto_t) proto, routed)) {
            valid_count++;
            cr_assert_eq (rc, 0, "%s %s routed=%d: %s", signature, name, routed, err.message);
            cr_assert_eq ((int) frame.command, command);
            if (routed) {
                cr_assert_eq (frame.routing_id_size, 6);
                cr_assert (memcmp (frame.routing_id, "peer-1", 6) == 0);
            }
            else
                cr_assert_null (frame.routing_id);
            if (body) {
                //  The body is a view into the message, not a copy
                cr_assert_eq (frame.body, zframe_data (zmsg_last (msg)));
                cr_assert_eq (frame.body_size, strlen (BODY));
            }
            else
                cr_assert_null (frame.body);
        }
        else {
            cr_assert_eq (rc, -1, "%s %s routed=%d parsed", signature, name, routed);
            cr_assert_eq (err.code, CK_BAD_FRAME);
        }
        zmsg_destroy (&msg);
    }
    cr_assert_eq (valid_count, 7 + 6 + 4 + 3);
}

Test (frame, empty_message)
{
    zmsg_t *msg = zmsg_new ();
    s_assert_bad (msg, CK_PROTO_CLIENT, true, CK_BAD_FRAME, "empty message");
    s_assert_bad (msg, CK_PROTO_WORKER, false, CK_BAD_FRAME, "empty message");
    zmsg_destroy (&msg);
}

Test (frame, only_routing_id)
{
    zmsg_t *msg = s_msg ("peer-1", NULL);
    s_assert_bad (msg, CK_PROTO_CLIENT, true, CK_BAD_FRAME, "missing delimiter");
    zmsg_destroy (&msg);
}

Test (frame, missing_delimiter)
{
    zmsg_t *msg = s_msg ("peer-1", "CKC1", "PING", NULL);
    s_assert_bad (msg, CK_PROTO_CLIENT, true, CK_BAD_FRAME, "missing delimiter");
    zmsg_destroy (&msg);
    msg = s_msg ("CKW1", "HEARTBEAT", NULL);
    s_assert_bad (msg, CK_PROTO_WORKER, false, CK_BAD_FRAME, "missing delimiter");
    zmsg_destroy (&msg);
}

Test (frame, missing_signature_or_command)
{
    zmsg_t *msg = s_msg ("peer-1", "", NULL);
    s_assert_bad (msg, CK_PROTO_CLIENT, true, CK_BAD_FRAME, "missing signature");
    zmsg_destroy (&msg);
    msg = s_msg ("peer-1", "", "CKC1", NULL);
    s_assert_bad (msg, CK_PROTO_CLIENT, true, CK_BAD_FRAME, "missing command");
    zmsg_destroy (&msg);
}

Test (frame, wrong_signature)
{
    zmsg_t *msg = s_msg ("peer-1", "", "CKW1", "PING", NULL);
    s_assert_bad (msg, CK_PROTO_CLIENT, true, CK_BAD_FRAME, "wrong signature 'CKW1'");
    zmsg_destroy (&msg);
    msg = s_msg ("", "MDPW01", "REQUEST", BODY, NULL);
    s_assert_bad (msg, CK_PROTO_WORKER, false, CK_BAD_FRAME, "wrong signature 'MDPW01'");
    zmsg_destroy (&msg);
}

Test (frame, unprintable_signature_is_escaped)
{
    zmsg_t *msg = s_msg ("peer-1", "", "C\n\x01\\", "PING", NULL);
    s_assert_bad (msg, CK_PROTO_CLIENT, true, CK_BAD_FRAME, "'C\\x0a\\x01\\x5c'");
    zmsg_destroy (&msg);
    //  A long, all-unprintable command is cut to fit the message
    char command [2000];
    memset (command, 0xff, sizeof command);
    msg = s_msg ("peer-1", "", "CKC1", NULL);
    zmsg_addmem (msg, command, sizeof command);
    s_assert_bad (msg, CK_PROTO_CLIENT, true, CK_BAD_FRAME, "unknown command '\\xff");
    ck_frame_t frame;
    ck_decode_error_t err;
    ck_frame_parse (msg, CK_PROTO_CLIENT, true, &frame, &err);
    cr_assert_not_null (strstr (err.message, "...'"), "%s", err.message);
    zmsg_destroy (&msg);
}

Test (frame, unknown_command)
{
    zmsg_t *msg = s_msg ("peer-1", "", "CKC1", "FOO", BODY, NULL);
    s_assert_bad (msg, CK_PROTO_CLIENT, true, CK_BAD_FRAME, "unknown command 'FOO'");
    zmsg_destroy (&msg);
    msg = s_msg ("peer-1", "", "CKC1", "ping", NULL);
    s_assert_bad (msg, CK_PROTO_CLIENT, true, CK_BAD_FRAME, "unknown command 'ping'");
    zmsg_destroy (&msg);
}

Test (frame, wrong_direction)
{
    zmsg_t *msg = s_msg ("peer-1", "", "CKC1", "RESULT", BODY, NULL);
    s_assert_bad (msg, CK_PROTO_CLIENT, true, CK_BAD_FRAME,
                  "command RESULT is not sent to the coordinator");
    zmsg_destroy (&msg);
    msg = s_msg ("", "CKC1", "CHECKOUT", BODY, NULL);
    s_assert_bad (msg, CK_PROTO_CLIENT, false, CK_BAD_FRAME,
                  "command CHECKOUT is not sent by the coordinator");
    zmsg_destroy (&msg);
    msg = s_msg ("peer-1", "", "CKW1", "REQUEST", BODY, NULL);
    s_assert_bad (msg, CK_PROTO_WORKER, true, CK_BAD_FRAME,
                  "command REQUEST is not sent to the coordinator");
    zmsg_destroy (&msg);
}

Test (frame, wrong_protocol)
{
    zmsg_t *msg = s_msg ("peer-1", "", "CKC1", "READY", BODY, NULL);
    s_assert_bad (msg, CK_PROTO_CLIENT, true, CK_BAD_FRAME, "command READY is not of protocol CKC1");
    zmsg_destroy (&msg);
    msg = s_msg ("", "CKW1", "PONG", BODY, NULL);
    s_assert_bad (msg, CK_PROTO_WORKER, false, CK_BAD_FRAME, "command PONG is not of protocol CKW1");
    zmsg_destroy (&msg);
}

Test (frame, missing_body)
{
    zmsg_t *msg = s_msg ("peer-1", "", "CKC1", "CHECKOUT", NULL);
    s_assert_bad (msg, CK_PROTO_CLIENT, true, CK_BAD_FRAME, "missing body: CHECKOUT takes a body");
    zmsg_destroy (&msg);
    msg = s_msg ("", "CKW1", "REQUEST", NULL);
    s_assert_bad (msg, CK_PROTO_WORKER, false, CK_BAD_FRAME, "missing body");
    zmsg_destroy (&msg);
}

Test (frame, extra_frame)
{
    zmsg_t *msg = s_msg ("peer-1", "", "CKC1", "CHECKOUT", BODY, "extra", NULL);
    s_assert_bad (msg, CK_PROTO_CLIENT, true, CK_BAD_FRAME, "unexpected frame after the body");
    zmsg_destroy (&msg);
}

Test (frame, body_on_bodiless_command)
{
    zmsg_t *msg = s_msg ("peer-1", "", "CKC1", "PING", BODY, NULL);
    s_assert_bad (msg, CK_PROTO_CLIENT, true, CK_BAD_FRAME, "PING takes no body");
    zmsg_destroy (&msg);
    msg = s_msg ("", "CKW1", "HEARTBEAT", "", NULL);
    s_assert_bad (msg, CK_PROTO_WORKER, false, CK_BAD_FRAME, "HEARTBEAT takes no body");
    zmsg_destroy (&msg);
}

//  An empty body frame is a body: whether it is a valid map is the codec's
//  question (bad_request), not the framing's.
Test (frame, empty_body_is_passed_on)
{
    zmsg_t *msg = s_msg ("peer-1", "", "CKC1", "STATUS", "", NULL);
    ck_frame_t frame;
    ck_decode_error_t err;
    cr_assert_eq (ck_frame_parse (msg, CK_PROTO_CLIENT, true, &frame, &err), 0);
    cr_assert_not_null (frame.body);
    cr_assert_eq (frame.body_size, 0);
    zmsg_destroy (&msg);
}

Test (frame, body_size_limit)
{
    char *big = (char *) calloc (1, CK_MAX_BODY + 1);
    cr_assert_not_null (big);
    zmsg_t *msg = s_msg ("peer-1", "", "CKC1", "CHECKOUT", NULL);
    zmsg_addmem (msg, big, CK_MAX_BODY);
    ck_frame_t frame;
    ck_decode_error_t err;
    cr_assert_eq (ck_frame_parse (msg, CK_PROTO_CLIENT, true, &frame, &err), 0, "%s", err.message);
    cr_assert_eq (frame.body_size, CK_MAX_BODY);
    zmsg_destroy (&msg);

    msg = s_msg ("peer-1", "", "CKC1", "CHECKOUT", NULL);
    zmsg_addmem (msg, big, CK_MAX_BODY + 1);
    s_assert_bad (msg, CK_PROTO_CLIENT, true, CK_TOO_LARGE, "65537 bytes");
    //  The size is checked before the frames that follow the body
    zmsg_addstr (msg, "extra");
    s_assert_bad (msg, CK_PROTO_CLIENT, true, CK_TOO_LARGE, "larger than 65536");
    zmsg_destroy (&msg);

    msg = s_msg ("", "CKW1", "REQUEST", NULL);
    zmsg_addmem (msg, big, CK_MAX_BODY + 1);
    s_assert_bad (msg, CK_PROTO_WORKER, false, CK_TOO_LARGE, "larger than 65536");
    zmsg_destroy (&msg);
    free (big);
}

//  A DEALER connected to the router's ephemeral port (zsock_last_endpoint
//  returns a string the caller frees)
static zsock_t *
s_dealer_to (zsock_t *router)
{
    char *endpoint = zsock_last_endpoint (router);
    zsock_t *dealer = zsock_new_dealer (endpoint);
    zstr_free (&endpoint);
    return dealer;
}

//  The coordinator's ROUTER and a peer's DEALER over tcp, both ways
Test (frame, round_trip)
{
    zsock_t *router = zsock_new_router ("tcp://127.0.0.1:*");
    cr_assert_not_null (router);
    zsock_t *dealer = s_dealer_to (router);
    cr_assert_not_null (dealer);
    zsock_set_rcvtimeo (router, 5000);
    zsock_set_rcvtimeo (dealer, 5000);

    cr_assert_eq (ck_frame_send (dealer, NULL, 0, CK_PROTO_CLIENT, CK_CMD_CHECKOUT,
                                 BODY, strlen (BODY)), 0);
    zmsg_t *msg = zmsg_recv (router);
    cr_assert_not_null (msg);
    cr_assert_eq (zmsg_size (msg), 5);
    ck_frame_t frame;
    ck_decode_error_t err;
    cr_assert_eq (ck_frame_parse (msg, CK_PROTO_CLIENT, true, &frame, &err), 0, "%s", err.message);
    cr_assert_eq (frame.command, CK_CMD_CHECKOUT);
    cr_assert_eq (frame.body_size, strlen (BODY));
    cr_assert (memcmp (frame.body, BODY, frame.body_size) == 0);
    cr_assert_gt (frame.routing_id_size, 0);

    const char *reply = "\x81\xa6status\xa9" "confirmed";
    cr_assert_eq (ck_frame_send (router, frame.routing_id, frame.routing_id_size,
                                 CK_PROTO_CLIENT, CK_CMD_RESULT, reply, strlen (reply)), 0);
    cr_assert_eq (ck_frame_send (router, frame.routing_id, frame.routing_id_size,
                                 CK_PROTO_CLIENT, CK_CMD_PONG, "", 0), 0);
    zmsg_destroy (&msg);

    msg = zmsg_recv (dealer);
    cr_assert_not_null (msg);
    cr_assert_eq (ck_frame_parse (msg, CK_PROTO_CLIENT, false, &frame, &err), 0, "%s", err.message);
    cr_assert_eq (frame.command, CK_CMD_RESULT);
    cr_assert_null (frame.routing_id);
    cr_assert_eq (frame.body_size, strlen (reply));
    cr_assert (memcmp (frame.body, reply, frame.body_size) == 0);
    zmsg_destroy (&msg);
    msg = zmsg_recv (dealer);
    cr_assert_not_null (msg);
    cr_assert_eq (ck_frame_parse (msg, CK_PROTO_CLIENT, false, &frame, &err), 0, "%s", err.message);
    cr_assert_eq (frame.command, CK_CMD_PONG);
    cr_assert_eq (frame.body_size, 0);
    zmsg_destroy (&msg);

    zsock_destroy (&dealer);
    zsock_destroy (&router);
}

Test (frame, round_trip_without_body)
{
    zsock_t *router = zsock_new_router ("tcp://127.0.0.1:*");
    zsock_t *dealer = router? s_dealer_to (router): NULL;
    cr_assert (router && dealer);
    zsock_set_rcvtimeo (router, 5000);
    zsock_set_rcvtimeo (dealer, 5000);
    cr_assert_eq (ck_frame_send (dealer, NULL, 0, CK_PROTO_WORKER, CK_CMD_HEARTBEAT,
                                 NULL, 0), 0);
    zmsg_t *msg = zmsg_recv (router);
    cr_assert_not_null (msg);
    cr_assert_eq (zmsg_size (msg), 4);
    ck_frame_t frame;
    ck_decode_error_t err;
    cr_assert_eq (ck_frame_parse (msg, CK_PROTO_WORKER, true, &frame, &err), 0, "%s", err.message);
    cr_assert_eq (frame.command, CK_CMD_HEARTBEAT);
    cr_assert_null (frame.body);
    cr_assert_eq (ck_frame_send (router, frame.routing_id, frame.routing_id_size,
                                 CK_PROTO_WORKER, CK_CMD_DISCONNECT, NULL, 0), 0);
    zmsg_destroy (&msg);
    msg = zmsg_recv (dealer);
    cr_assert_not_null (msg);
    cr_assert_eq (ck_frame_parse (msg, CK_PROTO_WORKER, false, &frame, &err), 0, "%s", err.message);
    cr_assert_eq (frame.command, CK_CMD_DISCONNECT);
    zmsg_destroy (&msg);
    zsock_destroy (&dealer);
    zsock_destroy (&router);
}

Test (frame, unknown_routing_id_on_mandatory_router)
{
    zsock_t *router = zsock_new_router ("tcp://127.0.0.1:*");
    cr_assert_not_null (router);
    zsock_set_router_mandatory (router, 1);
    errno = 0;
    int rc = ck_frame_send (router, "nobody", 6, CK_PROTO_CLIENT, CK_CMD_ERROR, BODY,
                            strlen (BODY));
    int error = errno;
    zsock_destroy (&router);
    cr_assert_eq (rc, -1);
    cr_assert_eq (error, EHOSTUNREACH, "errno %d", error);
}

Test (frame, dealer_without_peer_would_block)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    cr_assert_not_null (dealer);
    errno = 0;
    int rc = ck_frame_send (dealer, NULL, 0, CK_PROTO_WORKER, CK_CMD_HEARTBEAT, NULL, 0);
    int error = errno;
    zsock_destroy (&dealer);
    cr_assert_eq (rc, -1);
    cr_assert_eq (error, EAGAIN, "errno %d", error);
}

//  ck_message_recv and ck_message_parse agree with ck_frame_parse on the
//  same messages, and a message with more parts than CK_PARTS_MAX is
//  reported and read to its end, so the next one starts on its boundary
Test (frame, received_in_place_parses_like_a_zmsg)
{
    zsock_t *out = zsock_new_pair ("@inproc://frame-in-place");
    zsock_t *in = zsock_new_pair (">inproc://frame-in-place");
    cr_assert (out && in);
    zmsg_t *cases [] = {
        s_msg ("", CK_SIGNATURE_CLIENT, "RESULT", BODY, NULL),
        s_msg ("", CK_SIGNATURE_CLIENT, "PONG", BODY, NULL),
        s_msg ("", CK_SIGNATURE_CLIENT, "RESULT", BODY, "a", "b", "c", "d", "e", NULL),
        s_msg ("x", CK_SIGNATURE_CLIENT, "RESULT", BODY, NULL),
        s_msg ("", "CKC9", "RESULT", BODY, NULL),
        s_msg ("", CK_SIGNATURE_CLIENT, "RESULT", NULL),
        s_msg ("", NULL),
        s_msg ("", CK_SIGNATURE_CLIENT, "ERROR", BODY, NULL),
    };
    size_t count = sizeof cases / sizeof cases [0];
    for (size_t i = 0; i < count; i++) {
        zmsg_t *copy = zmsg_dup (cases [i]);
        cr_assert_eq (zmsg_send (&copy, out), 0);
    }
    for (size_t i = 0; i < count; i++) {
        ck_frame_t expected, got;
        ck_decode_error_t expected_err, got_err;
        int expected_rc = ck_frame_parse (cases [i], CK_PROTO_CLIENT, false, &expected, &expected_err);
        ck_message_t message;
        int64_t until = zclock_mono () + 2000;
        int rc;
        while ((rc = ck_message_recv (&message, zsock_resolve (in))) == -1
        &&     zmq_errno () == EAGAIN && zclock_mono () < until)
            zclock_sleep (1);
        cr_assert_eq (rc, 0, "case %zu not received", i);
        cr_expect_eq (message.count, zmsg_size (cases [i]) < CK_PARTS_MAX
                                     ? zmsg_size (cases [i]): CK_PARTS_MAX);
        cr_expect_eq (message.extra, zmsg_size (cases [i]) > CK_PARTS_MAX, "case %zu", i);
        int got_rc = ck_message_parse (&message, CK_PROTO_CLIENT, false, &got, &got_err);
        cr_expect_eq (got_rc, expected_rc, "case %zu", i);
        cr_expect_eq (got.command, expected.command, "case %zu", i);
        cr_expect_eq (got.body_size, expected.body_size, "case %zu", i);
        if (expected.body)
            cr_expect_eq (memcmp (got.body, expected.body, expected.body_size), 0);
        if (expected_rc) {
            cr_expect_eq (got_err.code, expected_err.code, "case %zu", i);
            cr_expect_str_eq (got_err.message, expected_err.message, "case %zu", i);
        }
        ck_message_close (&message);
        cr_expect_eq (message.count, 0);
        zmsg_destroy (&cases [i]);
    }
    ck_message_t none;
    cr_expect_eq (ck_message_recv (&none, zsock_resolve (in)), -1);
    cr_expect_eq (zmq_errno (), EAGAIN);
    zsock_destroy (&in);
    zsock_destroy (&out);
}

/*  test_codec.c - tests of the codec on valid messages
    Round trips of every message type, interop with hand-packed msgpack, JSON, identifiers.

    Malformed input has its own file, test_codec_malformed.c.
*/
#define CK_SAMPLES_EDIT
#include <criterion/criterion.h>
#include <stdlib.h>
#include "codec_samples.h"

TestSuite (codec, .timeout = 30);

//  --------------------------------------------------------------------------
//  Helpers

//  True when msgpack-c reads body as exactly one map holding "v": CK_VERSION
static bool
s_has_version (const void *body, size_t size)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    bool found = false;
    if (msgpack_unpack_next (&unpacked, body, size, &offset) == MSGPACK_UNPACK_SUCCESS
    &&  offset == size && unpacked.data.type == MSGPACK_OBJECT_MAP) {
        const msgpack_object_map *map = &unpacked.data.via.map;
        for (uint32_t i = 0; i < map->size; i++) {
            const msgpack_object *key = &map->ptr [i].key, *val = &map->ptr [i].val;
            if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == 1
            &&  key->via.str.ptr [0] == 'v' && val->type == MSGPACK_OBJECT_STR
            &&  val->via.str.size == strlen (CK_VERSION)
            &&  memcmp (val->via.str.ptr, CK_VERSION, val->via.str.size) == 0)
                found = true;
        }
    }
    msgpack_unpacked_destroy (&unpacked);
    return found;
}

//  Decodes body as kind into a fresh, garbage-filled struct, so that a
//  decoder that forgets to zero an absent optional field is caught
static ck_sample_any_t *
s_decode (ck_sample_kind_t kind, const void *body, size_t size, const char *what)
{
    ck_sample_any_t *decoded = malloc (sizeof *decoded);
    cr_assert_not_null (decoded);
    memset (decoded, 0x5a, sizeof *decoded);
    ck_decode_error_t err;
    memset (&err, 0, sizeof err);
    int rc = ck_sample_codec (kind)->decode (body, size, decoded, &err);
    cr_assert_eq (rc, 0, "%s: decode failed: %s: %s", what,
                  ck_error_code_name (err.code), err.message);
    return decoded;
}

//  Encodes msg, checks the body, decodes it and compares every field, then
//  encodes the decoded struct again: the bytes must be the same
static void
s_round_trip (ck_sample_kind_t kind, const void *msg, const char *what)
{
    const ck_sample_codec_t *codec = ck_sample_codec (kind);
    ck_buf_t body, again;
    ck_buf_init (&body);
    ck_buf_init (&again);
    cr_assert_eq (codec->encode (msg, &body), 0, "%s: encode refused a valid message", what);
    cr_assert_gt (body.size, 0, "%s: empty body", what);
    cr_assert_leq (body.size, CK_MAX_BODY, "%s: body of %zu bytes", what, body.size);
    cr_expect (s_has_version (body.data, body.size),
               "%s: msgpack-c does not read one map with \"v\": \"%s\"", what, CK_VERSION);

    ck_sample_any_t *decoded = s_decode (kind, body.data, body.size, what);
    const char *diff = codec->diff (msg, decoded);
    cr_expect_null (diff, "%s: field '%s' differs after the round trip", what, diff);

    cr_assert_eq (codec->encode (decoded, &again), 0, "%s: re-encode failed", what);
    cr_expect (again.size == body.size && memcmp (again.data, body.data, body.size) == 0,
               "%s: re-encoding the decoded message changed the bytes", what);
    free (decoded);
    ck_buf_free (&body);
    ck_buf_free (&again);
}

//  Decodes a hand-made body as a CHECKOUT and compares it with expected
static void
s_expect_checkout (const msgpack_sbuffer *sb, const ck_checkout_t *expected, const char *what)
{
    ck_sample_any_t *decoded = s_decode (CK_SAMPLE_CHECKOUT, sb->data, sb->size, what);
    const char *diff = ck_sample_diff_checkout (expected, &decoded->checkout);
    cr_expect_null (diff, "%s: field '%s' differs", what, diff);
    free (decoded);
}

static void
s_pack_cstr (msgpack_packer *pk, const char *s)
{
    msgpack_pack_str_with_body (pk, s, strlen (s));
}

//  --------------------------------------------------------------------------
//  Client protocol round trips

Test (codec, checkout_one_item)
{
    ck_checkout_t msg;
    ck_sample_checkout (&msg, 1, false);
    s_round_trip (CK_SAMPLE_CHECKOUT, &msg, "checkout, 1 item");
}

Test (codec, checkout_hundred_items_with_ack)
{
    ck_checkout_t msg;
    ck_sample_checkout (&msg, CK_MAX_ITEMS, true);
    s_round_trip (CK_SAMPLE_CHECKOUT, &msg, "checkout, 100 items, ack");
}

Test (codec, checkout_every_w1_sample)
{
    ck_checkout_t msg;
    char what [64];
    for (uint32_t k = 0; k < 1000; k++) {
        ck_sample_w1_checkout (&msg, k);
        snprintf (what, sizeof what, "W1 checkout k=%u", k);
        s_round_trip (CK_SAMPLE_CHECKOUT, &msg, what);
    }
}

Test (codec, status_request)
{
    ck_status_request_t msg;
    ck_sample_status_request (&msg);
    s_round_trip (CK_SAMPLE_STATUS_REQUEST, &msg, "status request");
}

Test (codec, accepted)
{
    ck_accepted_t msg;
    ck_sample_accepted (&msg);
    s_round_trip (CK_SAMPLE_ACCEPTED, &msg, "accepted");
}

Test (codec, result_of_every_status)
{
    ck_result_t *msg = malloc (sizeof *msg);
    char what [64];
    for (int status = CK_STATUS_CONFIRMED; status < CK_STATUS_COUNT; status++) {
        ck_sample_result (msg, (ck_status_t) status, 0);
        snprintf (what, sizeof what, "result %s", ck_status_name ((ck_status_t) status));
        s_round_trip (CK_SAMPLE_RESULT, msg, what);
    }
    free (msg);
}

Test (codec, result_failed_with_sku_and_compensations)
{
    ck_result_t *msg = malloc (sizeof *msg);
    ck_sample_result (msg, CK_STATUS_FAILED, 3);
    cr_assert_str_eq (msg->reason.sku, "SKU-0013");
    cr_assert_eq (msg->compensated_count, 2);
    s_round_trip (CK_SAMPLE_RESULT, msg, "result failed");
    free (msg);
}

Test (codec, result_with_full_history)
{
    ck_result_t *msg = malloc (sizeof *msg);
    ck_sample_result (msg, CK_STATUS_FAILED, CK_MAX_HISTORY);
    s_round_trip (CK_SAMPLE_RESULT, msg, "result with 128 history entries");
    free (msg);
}

Test (codec, error_of_every_code)
{
    ck_error_t msg;
    char what [64];
    for (int code = CK_BAD_FRAME; code < CK_ERROR_CODE_COUNT; code++) {
        ck_sample_error (&msg, (ck_error_code_t) code);
        snprintf (what, sizeof what, "error %s", ck_error_code_name ((ck_error_code_t) code));
        s_round_trip (CK_SAMPLE_ERROR, &msg, what);
    }
}

//  not_owner names the owner's frontend, or "" while none owns the partition
Test (codec, error_not_owner_names_the_owner)
{
    ck_error_t msg;
    ck_sample_error (&msg, CK_NOT_OWNER);
    ck_sample_set (msg.owner, "tcp://10.0.0.2:5570");
    s_round_trip (CK_SAMPLE_ERROR, &msg, "not_owner with an owner");
    ck_buf_t body, json;
    ck_buf_init (&body);
    ck_buf_init (&json);
    cr_assert_eq (ck_encode_error (&msg, &body), 0);
    cr_assert_eq (ck_body_to_json (body.data, body.size, &json), 0);
    cr_assert_not_null (memmem (json.data, json.size, "\"owner\":\"tcp://10.0.0.2:5570\"", 29));
    cr_assert_not_null (memmem (json.data, json.size, "\"code\":\"not_owner\"", 18));
    msg.owner [0] = 0;
    s_round_trip (CK_SAMPLE_ERROR, &msg, "not_owner, no owner right now");
    //  Absent, the field reads as "" (an ERROR of a single coordinator)
    ck_sample_error (&msg, CK_CONFLICT);
    cr_assert_eq (ck_encode_error (&msg, &body), 0);
    ck_error_t decoded;
    ck_decode_error_t err;
    memset (&decoded, 'x', sizeof decoded);
    cr_assert_eq (ck_decode_error (body.data, body.size, &decoded, &err), 0);
    cr_assert_str_eq (decoded.owner, "");
    ck_buf_free (&body);
    ck_buf_free (&json);
}

Test (codec, pong)
{
    ck_pong_t msg;
    ck_sample_pong (&msg);
    s_round_trip (CK_SAMPLE_PONG, &msg, "pong");
}

//  --------------------------------------------------------------------------
//  Participant protocol round trips

Test (codec, ready_of_every_service)
{
    ck_ready_t msg;
    for (int service = CK_SERVICE_INVENTORY; service < CK_SERVICE_COUNT; service++) {
        ck_sample_ready (&msg, (ck_service_t) service);
        s_round_trip (CK_SAMPLE_READY, &msg, ck_service_name ((ck_service_t) service));
    }
    ck_sample_ready (&msg, CK_SERVICE_ORDER);
    msg.capacity = CK_MIN_CAPACITY;
    s_round_trip (CK_SAMPLE_READY, &msg, "ready, capacity 1");
}

//  What msgpack-c reads under "update" in a READY body: -1 absent, else 0/1
static int
s_ready_update_key (const ck_ready_t *msg)
{
    ck_buf_t body;
    ck_buf_init (&body);
    cr_assert_eq (ck_encode_ready (msg, &body), 0);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    cr_assert_eq (msgpack_unpack_next (&unpacked, body.data, body.size, &offset),
                  MSGPACK_UNPACK_SUCCESS);
    int found = -1;
    const msgpack_object_map *map = &unpacked.data.via.map;
    for (uint32_t i = 0; i < map->size; i++) {
        const msgpack_object *key = &map->ptr [i].key, *val = &map->ptr [i].val;
        if (key->type == MSGPACK_OBJECT_STR && key->via.str.size == 6
        &&  memcmp (key->via.str.ptr, "update", 6) == 0) {
            cr_assert_eq (val->type, MSGPACK_OBJECT_BOOLEAN, "update is not a bool");
            found = val->via.boolean;
        }
    }
    msgpack_unpacked_destroy (&unpacked);
    ck_buf_free (&body);
    return found;
}

//  update is sent only when true: a plain READY is the same bytes as before
Test (codec, ready_update)
{
    ck_ready_t msg;
    ck_sample_ready (&msg, CK_SERVICE_PAYMENT);
    cr_expect_eq (s_ready_update_key (&msg), -1, "a plain READY carries update");
    msg.update = true;
    msg.capacity = 2;
    s_round_trip (CK_SAMPLE_READY, &msg, "ready, update");
    cr_expect_eq (s_ready_update_key (&msg), 1);

    //  update: false on the wire reads as a plain READY
    ck_sample_ready (&msg, CK_SERVICE_PAYMENT);
    msg.capacity = 3;
    ck_buf_t plain;
    ck_buf_init (&plain);
    cr_assert_eq (ck_encode_ready (&msg, &plain), 0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    cr_assert_eq (ck_sample_edit (plain.data, plain.size, "update", CK_EDIT_SET, "F", &sb), 0);
    ck_sample_any_t *decoded = s_decode (CK_SAMPLE_READY, sb.data, sb.size, "update false");
    cr_expect_eq (decoded->ready.capacity, 3);
    cr_expect_not (decoded->ready.update);
    free (decoded);
    msgpack_sbuffer_destroy (&sb);
    ck_buf_free (&plain);
}

Test (codec, request_of_every_type)
{
    ck_request_t *msg = malloc (sizeof *msg);
    char what [64];
    const uint32_t counts [] = { 1, CK_MAX_ITEMS };
    for (int type = CK_TYPE_RESERVE_INVENTORY; type < CK_TYPE_COUNT; type++)
        for (size_t c = 0; c < 2; c++) {
            ck_sample_request (msg, (ck_type_t) type, counts [c]);
            snprintf (what, sizeof what, "request %s, %u items",
                      ck_type_name ((ck_type_t) type), counts [c]);
            s_round_trip (CK_SAMPLE_REQUEST, msg, what);
        }
    free (msg);
}

Test (codec, reply_of_every_type_and_outcome)
{
    ck_reply_t msg;
    char what [64];
    for (int type = CK_TYPE_RESERVE_INVENTORY; type < CK_TYPE_COUNT; type++)
        for (int outcome = CK_OUTCOME_OK; outcome <= CK_OUTCOME_ERROR; outcome++) {
            ck_sample_reply (&msg, (ck_type_t) type, (ck_outcome_t) outcome);
            snprintf (what, sizeof what, "reply %s %s", ck_type_name ((ck_type_t) type),
                      ck_outcome_name ((ck_outcome_t) outcome));
            s_round_trip (CK_SAMPLE_REPLY, &msg, what);
        }
}

Test (codec, reply_error_without_reason)
{
    ck_reply_t msg;
    ck_sample_reply (&msg, CK_TYPE_AUTHORIZE_PAYMENT, CK_OUTCOME_ERROR);
    memset (&msg.reason, 0, sizeof msg.reason);
    s_round_trip (CK_SAMPLE_REPLY, &msg, "reply error without reason");
}

//  --------------------------------------------------------------------------
//  Event round trips

Test (codec, ev_started)
{
    ck_ev_started_t msg;
    ck_sample_ev_started (&msg);
    s_round_trip (CK_SAMPLE_EV_STARTED, &msg, "saga.started");
}

Test (codec, ev_step)
{
    ck_ev_step_t msg;
    ck_sample_ev_step (&msg, false);
    s_round_trip (CK_SAMPLE_EV_STEP, &msg, "saga.step ok");
    ck_sample_ev_step (&msg, true);
    s_round_trip (CK_SAMPLE_EV_STEP, &msg, "saga.step timeout with reason");
}

Test (codec, ev_compensating)
{
    ck_ev_compensating_t msg;
    ck_sample_ev_compensating (&msg);
    s_round_trip (CK_SAMPLE_EV_COMPENSATING, &msg, "saga.compensating");
}

Test (codec, ev_outcome)
{
    ck_ev_outcome_t msg;
    ck_sample_ev_outcome (&msg, true);
    s_round_trip (CK_SAMPLE_EV_OUTCOME, &msg, "saga.confirmed");
    ck_sample_ev_outcome (&msg, false);
    s_round_trip (CK_SAMPLE_EV_OUTCOME, &msg, "saga.failed");
}

Test (codec, ev_worker)
{
    ck_ev_worker_t msg;
    ck_sample_ev_worker (&msg, true);
    s_round_trip (CK_SAMPLE_EV_WORKER, &msg, "worker.joined");
    ck_sample_ev_worker (&msg, false);
    s_round_trip (CK_SAMPLE_EV_WORKER, &msg, "worker.lost without capacity");
}

Test (codec, ev_socket)
{
    ck_ev_socket_t msg;
    ck_sample_ev_socket (&msg);
    s_round_trip (CK_SAMPLE_EV_SOCKET, &msg, "socket event");
}

Test (codec, ev_stats)
{
    ck_ev_stats_t *msg = malloc (sizeof *msg);
    const uint32_t counts [] = { 0, 1, CK_MAX_WORKERS };
    char what [64];
    for (size_t c = 0; c < 3; c++) {
        ck_sample_ev_stats (msg, counts [c]);
        snprintf (what, sizeof what, "stats with %u workers", counts [c]);
        s_round_trip (CK_SAMPLE_EV_STATS, msg, what);
    }
    free (msg);
}

//  A coordinator among several names itself and the partitions it owns
Test (codec, ev_stats_of_one_coordinator_among_several)
{
    ck_ev_stats_t *msg = malloc (sizeof *msg);
    ck_sample_ev_stats (msg, 2);
    ck_sample_set (msg->coordinator, "coordinator-a");
    msg->partition_count = CK_DEFAULT_PARTITIONS;
    ck_sample_set (msg->partitions, "0-20,42");
    s_round_trip (CK_SAMPLE_EV_STATS, msg, "stats with partitions");
    ck_buf_t body, json;
    ck_buf_init (&body);
    ck_buf_init (&json);
    cr_assert_eq (ck_encode_ev_stats (msg, &body), 0);
    cr_assert_eq (ck_body_to_json (body.data, body.size, &json), 0);
    const char *keys [] = {
        "\"coordinator\":\"coordinator-a\"", "\"partition_count\":64",
        "\"partitions\":\"0-20,42\""
    };
    for (size_t i = 0; i < 3; i++)
        cr_assert_not_null (memmem (json.data, json.size, keys [i], strlen (keys [i])),
                            "%s in %.*s", keys [i], (int) json.size, (char *) json.data);
    msg->partition_count = CK_MAX_PARTITIONS;
    s_round_trip (CK_SAMPLE_EV_STATS, msg, "stats with the most partitions");
    ck_buf_free (&body);
    ck_buf_free (&json);
    free (msg);
}

//  --------------------------------------------------------------------------
//  Forward compatibility and versions

Test (codec, unknown_keys_are_ignored)
{
    ck_checkout_t msg;
    ck_sample_w1_checkout (&msg, 3);
    ck_buf_t body;
    ck_buf_init (&body);
    cr_assert_eq (ck_encode_checkout (&msg, &body), 0);

    //  One unknown key of every msgpack type, at the top, in an item and in
    //  ship_to, added one after the other
    const struct { const char *path; const char *spec; } extras [] = {
        { "gift_note", "s:happy birthday" },
        { "loyalty_points", "u:18446744073709551615" },
        { "discount", "i:-5" },
        { "weight_kg", "f:1.25" },
        { "express", "T" },
        { "coupon", "n" },
        { "blob", "b:\x01\x02" },
        { "tags", "x:92 a1 61 c3" },
        { "meta", "x:82 a1 61 01 a1 62 90" },
        { "ext", "x:d4 01 07" },
        { "items[1].color", "s:blue" },
        { "items[2].warehouse", "x:81 a2 69 64 05" },
        { "ship_to.city", "s:Berlin" },
        { "ship_to.zip", "u:10115" },
    };
    void *current = malloc (body.size);
    memcpy (current, body.data, body.size);
    size_t size = body.size;
    for (size_t i = 0; i < sizeof extras / sizeof extras [0]; i++) {
        msgpack_sbuffer sb;
        msgpack_sbuffer_init (&sb);
        cr_assert_eq (ck_sample_edit (current, size, extras [i].path, CK_EDIT_SET,
                                      extras [i].spec, &sb), 0, "edit %s", extras [i].path);
        free (current);
        size = sb.size;
        current = msgpack_sbuffer_release (&sb);
        msgpack_sbuffer_destroy (&sb);

        ck_sample_any_t *decoded = s_decode (CK_SAMPLE_CHECKOUT, current, size, extras [i].path);
        const char *diff = ck_sample_diff_checkout (&msg, &decoded->checkout);
        cr_expect_null (diff, "with %s: field '%s' differs", extras [i].path, diff);
        free (decoded);
    }
    free (current);
    ck_buf_free (&body);
}

//  Decodes a CHECKOUT whose "v" was replaced (or removed, spec NULL)
static int
s_decode_with_version (const char *spec, ck_decode_error_t *err)
{
    ck_checkout_t msg;
    ck_sample_w1_checkout (&msg, 5);
    ck_buf_t body;
    ck_buf_init (&body);
    cr_assert_eq (ck_encode_checkout (&msg, &body), 0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    cr_assert_eq (ck_sample_edit (body.data, body.size, "v",
                                  spec? CK_EDIT_SET: CK_EDIT_DELETE, spec, &sb), 0);
    ck_checkout_t *decoded = malloc (sizeof *decoded);
    int rc = ck_decode_checkout (sb.data, sb.size, decoded, err);
    if (rc == 0)
        cr_expect_null (ck_sample_diff_checkout (&msg, decoded), "v %s", spec);
    free (decoded);
    msgpack_sbuffer_destroy (&sb);
    ck_buf_free (&body);
    return rc;
}

Test (codec, other_minor_and_patch_versions_are_accepted)
{
    const char *versions [] = { "s:1.2.3", "s:1.0.0", "s:1.99.0", "s:1.0.12" };
    for (size_t i = 0; i < sizeof versions / sizeof versions [0]; i++) {
        ck_decode_error_t err;
        cr_expect_eq (s_decode_with_version (versions [i], &err), 0,
                      "v %s refused: %s", versions [i] + 2, err.message);
    }
}

Test (codec, version_is_optional)
{
    ck_decode_error_t err;
    cr_expect_eq (s_decode_with_version (NULL, &err), 0, "no v refused: %s", err.message);
}

//  --------------------------------------------------------------------------
//  Interop: bodies packed by hand, as another implementation would

//  Packs W1 checkout 0 key by key; wide selects non-minimal encodings:
//  map16/array16 headers, str8 for a short string, and integers of every
//  width, signed formats included (non-negative values)
static void
s_pack_w1_zero (msgpack_sbuffer *sb, bool wide)
{
    msgpack_packer pk;
    msgpack_packer_init (&pk, sb, msgpack_sbuffer_write);
    if (wide)
        ck_sample_pack_hex (&pk, "de 0009");            //  map16 of 9
    else
        msgpack_pack_map (&pk, 9);
    s_pack_cstr (&pk, "v");
    s_pack_cstr (&pk, "1.0.0");
    s_pack_cstr (&pk, "checkout_id");
    s_pack_cstr (&pk, "chk-0");
    s_pack_cstr (&pk, "cart_id");
    s_pack_cstr (&pk, "cart-0");
    s_pack_cstr (&pk, "customer_id");
    s_pack_cstr (&pk, "cust-0");
    s_pack_cstr (&pk, "currency");
    if (wide)
        ck_sample_pack_hex (&pk, "d9 03 45 55 52");     //  str8 "EUR"
    else
        s_pack_cstr (&pk, "EUR");
    s_pack_cstr (&pk, "items");
    if (wide)
        ck_sample_pack_hex (&pk, "dc 0003");            //  array16 of 3
    else
        msgpack_pack_array (&pk, 3);
    const char *skus [] = { "SKU-0000", "SKU-0013", "SKU-0026" };
    for (int j = 0; j < 3; j++) {
        msgpack_pack_map (&pk, 3);
        s_pack_cstr (&pk, "sku");
        s_pack_cstr (&pk, skus [j]);
        s_pack_cstr (&pk, "qty");
        if (!wide)
            msgpack_pack_uint32 (&pk, (uint32_t) j + 1);
        else
        if (j == 0)
            msgpack_pack_fix_uint8 (&pk, 1);
        else
        if (j == 1)
            msgpack_pack_fix_int16 (&pk, 2);
        else
            msgpack_pack_fix_uint64 (&pk, 3);
        s_pack_cstr (&pk, "unit_price");
        uint64_t price = 100 + 13 * (uint64_t) j;
        if (!wide)
            msgpack_pack_uint64 (&pk, price);
        else
        if (j == 0)
            msgpack_pack_fix_uint16 (&pk, (uint16_t) price);
        else
        if (j == 1)
            msgpack_pack_fix_int64 (&pk, (int64_t) price);
        else
            msgpack_pack_fix_uint32 (&pk, (uint32_t) price);
    }
    s_pack_cstr (&pk, "amount");
    if (wide)
        msgpack_pack_fix_uint64 (&pk, 704);
    else
        msgpack_pack_uint64 (&pk, 704);
    s_pack_cstr (&pk, "payment_method");
    s_pack_cstr (&pk, "pm_card_declined");
    s_pack_cstr (&pk, "ship_to");
    msgpack_pack_map (&pk, 1);
    s_pack_cstr (&pk, "country");
    s_pack_cstr (&pk, "DE");
}

Test (codec, w1_sample_checkout_decodes)
{
    ck_checkout_t expected;
    ck_sample_w1_checkout (&expected, 0);
    //  the sample builder itself follows W1.md
    cr_assert_str_eq (expected.checkout_id, "chk-0");
    cr_assert_str_eq (expected.items [1].sku, "SKU-0013");
    cr_assert_eq (expected.items [2].qty, 3);
    cr_assert_eq (expected.items [2].unit_price, 126);
    cr_assert_eq (expected.amount, 704);
    cr_assert_str_eq (expected.payment_method, "pm_card_declined");

    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    s_pack_w1_zero (&sb, false);
    s_expect_checkout (&sb, &expected, "W1 k=0 packed by hand");
    msgpack_sbuffer_destroy (&sb);
}

Test (codec, integer_widths_and_long_headers_decode_the_same)
{
    ck_checkout_t expected;
    ck_sample_w1_checkout (&expected, 0);
    msgpack_sbuffer narrow, wide;
    msgpack_sbuffer_init (&narrow);
    msgpack_sbuffer_init (&wide);
    s_pack_w1_zero (&narrow, false);
    s_pack_w1_zero (&wide, true);
    cr_assert_gt (wide.size, narrow.size, "the wide body really uses wider encodings");
    s_expect_checkout (&wide, &expected, "W1 k=0 with wide integers");
    msgpack_sbuffer_destroy (&narrow);
    msgpack_sbuffer_destroy (&wide);
}

Test (codec, keys_in_any_order)
{
    //  The same CHECKOUT with its keys reversed
    ck_checkout_t expected;
    ck_sample_w1_checkout (&expected, 0);
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    s_pack_w1_zero (&sb, false);
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    cr_assert_eq (msgpack_unpack_next (&unpacked, sb.data, sb.size, NULL), MSGPACK_UNPACK_SUCCESS);
    msgpack_sbuffer reversed;
    msgpack_sbuffer_init (&reversed);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &reversed, msgpack_sbuffer_write);
    const msgpack_object_map *map = &unpacked.data.via.map;
    msgpack_pack_map (&pk, map->size);
    for (uint32_t i = map->size; i-- > 0; ) {
        msgpack_pack_object (&pk, map->ptr [i].key);
        msgpack_pack_object (&pk, map->ptr [i].val);
    }
    s_expect_checkout (&reversed, &expected, "W1 k=0 with keys reversed");
    msgpack_sbuffer_destroy (&reversed);
    msgpack_unpacked_destroy (&unpacked);
    msgpack_sbuffer_destroy (&sb);
}

//  --------------------------------------------------------------------------
//  Encoders refuse structs that break the rules

//  Expects the encoder of kind to refuse msg
static void
s_expect_refused (ck_sample_kind_t kind, const void *msg, const char *what)
{
    ck_buf_t body;
    ck_buf_init (&body);
    cr_expect_eq (ck_sample_codec (kind)->encode (msg, &body), -1,
                  "%s: the encoder accepted it", what);
    ck_buf_free (&body);
}

Test (codec, encoders_refuse_bad_checkouts)
{
    ck_checkout_t msg;
#define REFUSE_CHECKOUT(what, change) \
    ck_sample_w1_checkout (&msg, 3); change; s_expect_refused (CK_SAMPLE_CHECKOUT, &msg, what)
    REFUSE_CHECKOUT ("empty checkout_id", msg.checkout_id [0] = 0);
    REFUSE_CHECKOUT ("cart_id with a space", ck_sample_set (msg.cart_id, "cart 1"));
    REFUSE_CHECKOUT ("0 items", msg.item_count = 0);
    REFUSE_CHECKOUT ("101 items", msg.item_count = CK_MAX_ITEMS + 1);
    REFUSE_CHECKOUT ("qty 0", msg.items [1].qty = 0; msg.amount -= 2 * msg.items [1].unit_price);
    REFUSE_CHECKOUT ("qty 10001", msg.items [0].qty = CK_MAX_QTY + 1);
    REFUSE_CHECKOUT ("unit_price 10^9 + 1", msg.items [0].unit_price = CK_MAX_UNIT_PRICE + 1);
    REFUSE_CHECKOUT ("amount mismatch", msg.amount++);
    REFUSE_CHECKOUT ("currency eur", ck_sample_set (msg.currency, "eur"));
    REFUSE_CHECKOUT ("currency EU", ck_sample_set (msg.currency, "EU"));
    REFUSE_CHECKOUT ("country D", ck_sample_set (msg.ship_to.country, "D"));
    REFUSE_CHECKOUT ("sku with a slash", ck_sample_set (msg.items [2].sku, "SKU/2"));
    REFUSE_CHECKOUT ("empty payment_method", msg.payment_method [0] = 0);
    REFUSE_CHECKOUT ("unterminated customer_id",
                     memset (msg.customer_id, 'c', sizeof msg.customer_id));
#undef REFUSE_CHECKOUT
}

Test (codec, encoders_refuse_bad_participant_messages)
{
    ck_ready_t ready;
    ck_sample_ready (&ready, CK_SERVICE_PAYMENT);
    ready.capacity = 0;
    s_expect_refused (CK_SAMPLE_READY, &ready, "ready capacity 0");
    ready.capacity = CK_MAX_CAPACITY + 1;
    s_expect_refused (CK_SAMPLE_READY, &ready, "ready capacity 1025");
    ck_sample_ready (&ready, CK_SERVICE_PAYMENT);
    ready.service = CK_SERVICE_NONE;
    s_expect_refused (CK_SAMPLE_READY, &ready, "ready without service");
    ready.service = (ck_service_t) 77;
    s_expect_refused (CK_SAMPLE_READY, &ready, "ready service 77");

    ck_request_t *request = malloc (sizeof *request);
    ck_sample_request (request, CK_TYPE_RESERVE_INVENTORY, 2);
    request->type = CK_TYPE_NONE;
    s_expect_refused (CK_SAMPLE_REQUEST, request, "request without type");
    request->type = CK_TYPE_COUNT;
    s_expect_refused (CK_SAMPLE_REQUEST, request, "request type out of range");
    ck_sample_request (request, CK_TYPE_RESERVE_INVENTORY, 2);
    request->item_count = 0;
    s_expect_refused (CK_SAMPLE_REQUEST, request, "ReserveInventory without items");
    ck_sample_request (request, CK_TYPE_AUTHORIZE_PAYMENT, 0);
    request->currency [0] = 0;
    s_expect_refused (CK_SAMPLE_REQUEST, request, "AuthorizePayment without currency");
    ck_sample_request (request, CK_TYPE_CREATE_ORDER, 3);
    request->reservation_id [0] = 0;
    s_expect_refused (CK_SAMPLE_REQUEST, request, "CreateOrder without reservation_id");
    ck_sample_request (request, CK_TYPE_CREATE_ORDER, 3);
    request->attempt = 0;
    s_expect_refused (CK_SAMPLE_REQUEST, request, "request attempt 0");
    free (request);

    ck_reply_t reply;
    ck_sample_reply (&reply, CK_TYPE_CREATE_ORDER, CK_OUTCOME_REJECTED);
    memset (&reply.reason, 0, sizeof reply.reason);
    s_expect_refused (CK_SAMPLE_REPLY, &reply, "rejected reply without reason");
    ck_sample_reply (&reply, CK_TYPE_RESERVE_INVENTORY, CK_OUTCOME_OK);
    reply.result_id [0] = 0;
    s_expect_refused (CK_SAMPLE_REPLY, &reply, "ok ReserveInventory without reservation_id");
    ck_sample_reply (&reply, CK_TYPE_VOID_PAYMENT, CK_OUTCOME_TIMEOUT);
    s_expect_refused (CK_SAMPLE_REPLY, &reply, "reply outcome timeout");
    ck_sample_reply (&reply, CK_TYPE_AUTHORIZE_PAYMENT, CK_OUTCOME_ERROR);
    ck_sample_set (reply.reason.message, "bad \xc3\x28 text");
    s_expect_refused (CK_SAMPLE_REPLY, &reply, "reason message not UTF-8");
}

Test (codec, encoders_refuse_bad_client_replies_and_events)
{
    ck_error_t error;
    ck_sample_error (&error, CK_BAD_REQUEST);
    error.code = CK_OK;
    s_expect_refused (CK_SAMPLE_ERROR, &error, "error code ok");
    error.code = CK_ERROR_CODE_COUNT;
    s_expect_refused (CK_SAMPLE_ERROR, &error, "error code out of range");
    ck_sample_error (&error, CK_BAD_REQUEST);
    memset (error.message, 'm', sizeof error.message);
    s_expect_refused (CK_SAMPLE_ERROR, &error, "unterminated error message");
    ck_sample_error (&error, CK_NOT_OWNER);
    memset (error.owner, 'o', sizeof error.owner);
    s_expect_refused (CK_SAMPLE_ERROR, &error, "unterminated owner");

    ck_result_t *result = malloc (sizeof *result);
    ck_sample_result (result, CK_STATUS_CONFIRMED, 1);
    result->status = CK_STATUS_NONE;
    s_expect_refused (CK_SAMPLE_RESULT, result, "result without status");
    ck_sample_result (result, CK_STATUS_FAILED, 1);
    result->compensated_count = CK_MAX_STEPS + 1;
    s_expect_refused (CK_SAMPLE_RESULT, result, "result with 9 compensated steps");
    ck_sample_result (result, CK_STATUS_FAILED, 1);
    result->history_count = CK_MAX_HISTORY + 1;
    s_expect_refused (CK_SAMPLE_RESULT, result, "result with 129 history entries");
    free (result);

    ck_ev_compensating_t compensating;
    ck_sample_ev_compensating (&compensating);
    compensating.step_count = 0;
    s_expect_refused (CK_SAMPLE_EV_COMPENSATING, &compensating, "compensating no steps");
    ck_ev_stats_t *stats = malloc (sizeof *stats);
    ck_sample_ev_stats (stats, 2);
    stats->worker_count = CK_MAX_WORKERS + 1;
    s_expect_refused (CK_SAMPLE_EV_STATS, stats, "stats with 65 workers");
    ck_sample_ev_stats (stats, 2);
    stats->latency_bucket_count = CK_LATENCY_BUCKETS + 1;
    s_expect_refused (CK_SAMPLE_EV_STATS, stats, "stats with 17 latency buckets");
    ck_sample_ev_stats (stats, 2);
    stats->failed_reasons [1].code [0] = 0;
    s_expect_refused (CK_SAMPLE_EV_STATS, stats, "stats with a failed reason without code");
    ck_sample_ev_stats (stats, 2);
    stats->partition_count = CK_MAX_PARTITIONS + 1;
    s_expect_refused (CK_SAMPLE_EV_STATS, stats, "stats with 1025 partitions");
    free (stats);
}

//  A body the encoder produces must be one the decoder accepts: a RESULT
//  whose 128 history entries use every byte their fields allow does not
//  fit in 64 KiB (about 66.5 KB)
Test (codec, encoder_never_produces_a_body_over_the_limit)
{
    ck_result_t *msg = malloc (sizeof *msg);
    ck_sample_result (msg, CK_STATUS_STUCK, CK_MAX_HISTORY);
    for (uint32_t i = 0; i < CK_MAX_HISTORY; i++) {
        ck_reason_t *reason = &msg->history [i].reason;
        memset (reason->code, 'c', CK_ID_MAX);
        reason->code [CK_ID_MAX] = 0;
        memset (reason->message, 'm', CK_TEXT_MAX);
        reason->message [CK_TEXT_MAX] = 0;
        memset (reason->sku, 's', CK_ID_MAX);
        reason->sku [CK_ID_MAX] = 0;
        memset (msg->history [i].event, 'e', CK_NAME_MAX);
        msg->history [i].event [CK_NAME_MAX] = 0;
    }
    ck_buf_t body;
    ck_buf_init (&body);
    int rc = ck_encode_result (msg, &body);
    cr_expect (rc == -1 || body.size <= CK_MAX_BODY,
               "encode returned 0 with a body of %zu bytes, more than %d", body.size, CK_MAX_BODY);
    ck_buf_free (&body);
    free (msg);
}

Test (codec, buffer_is_reused_and_freed_safely)
{
    ck_checkout_t *big = malloc (sizeof *big);
    ck_sample_checkout (big, CK_MAX_ITEMS, true);
    ck_status_request_t small;
    ck_sample_status_request (&small);
    ck_buf_t buf;
    ck_buf_init (&buf);
    cr_assert_eq (ck_encode_checkout (big, &buf), 0);
    size_t big_size = buf.size;
    char *storage = buf.data;
    cr_assert_eq (ck_encode_status_request (&small, &buf), 0);
    cr_expect_lt (buf.size, big_size, "the second encode replaces the first");
    cr_expect_eq (buf.data, storage, "a warm buffer is not reallocated for a smaller body");
    ck_status_request_t decoded;
    ck_decode_error_t err;
    cr_expect_eq (ck_decode_status_request (buf.data, buf.size, &decoded, &err), 0);
    ck_buf_free (&buf);
    ck_buf_free (&buf);
    cr_expect_null (buf.data);
    free (big);
}

//  --------------------------------------------------------------------------
//  JSON rendering

//  Renders body as JSON and compares it with expected
static void
s_expect_json (const void *body, size_t size, const char *expected)
{
    ck_buf_t json;
    ck_buf_init (&json);
    cr_assert_eq (ck_body_to_json (body, size, &json), 0, "rendering %s", expected);
    cr_expect (json.size == strlen (expected) && memcmp (json.data, expected, json.size) == 0,
               "JSON is\n  %.*s\nexpected\n  %s", (int) json.size, json.data, expected);
    ck_buf_free (&json);
}

Test (codec, json_of_an_encoded_message)
{
    ck_accepted_t msg;
    ck_sample_accepted (&msg);
    ck_buf_t body;
    ck_buf_init (&body);
    cr_assert_eq (ck_encode_accepted (&msg, &body), 0);
    s_expect_json (body.data, body.size,
                   "{\"v\":\"1.0.0\",\"checkout_id\":\"chk-7f3a9c\",\"saga_id\":\"saga-01HZX3\"}");
    ck_buf_free (&body);
}

Test (codec, json_of_every_msgpack_type)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 10);
    s_pack_cstr (&pk, "s");
    s_pack_cstr (&pk, "a\"b\\c\n");
    s_pack_cstr (&pk, "u");
    msgpack_pack_uint64 (&pk, 18446744073709551615ULL);
    s_pack_cstr (&pk, "n");
    msgpack_pack_int64 (&pk, -7);
    s_pack_cstr (&pk, "t");
    msgpack_pack_true (&pk);
    s_pack_cstr (&pk, "f");
    msgpack_pack_false (&pk);
    s_pack_cstr (&pk, "z");
    msgpack_pack_nil (&pk);
    s_pack_cstr (&pk, "a");
    msgpack_pack_array (&pk, 2);
    msgpack_pack_uint8 (&pk, 1);
    s_pack_cstr (&pk, "x");
    s_pack_cstr (&pk, "m");
    msgpack_pack_map (&pk, 1);
    s_pack_cstr (&pk, "k");
    msgpack_pack_double (&pk, 1.5);
    s_pack_cstr (&pk, "e");
    msgpack_pack_array (&pk, 0);
    msgpack_pack_uint8 (&pk, 3);        //  a non-str key
    msgpack_pack_map (&pk, 0);
    s_expect_json (sb.data, sb.size,
                   "{\"s\":\"a\\\"b\\\\c\\u000a\",\"u\":18446744073709551615,\"n\":-7,"
                   "\"t\":true,\"f\":false,\"z\":null,\"a\":[1,\"x\"],\"m\":{\"k\":1.5},"
                   "\"e\":[],\"3\":{}}");
    msgpack_sbuffer_destroy (&sb);
}

//  UTF-8 text must read the same in the JSON: either the bytes as they are,
//  or \u escapes of the code points, never one escape per byte
Test (codec, json_keeps_utf8_text_readable)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    s_pack_cstr (&pk, "m");
    s_pack_cstr (&pk, "caf\xc3\xa9 \xe2\x82\xac");
    ck_buf_t json;
    ck_buf_init (&json);
    cr_assert_eq (ck_body_to_json (sb.data, sb.size, &json), 0);
    const char *raw = "{\"m\":\"caf\xc3\xa9 \xe2\x82\xac\"}";
    const char *escaped = "{\"m\":\"caf\\u00e9 \\u20ac\"}";
    bool same_raw = json.size == strlen (raw) && memcmp (json.data, raw, json.size) == 0;
    bool same_escaped = json.size == strlen (escaped)
                     && memcmp (json.data, escaped, json.size) == 0;
    cr_expect (same_raw || same_escaped, "JSON of \"caf\\u00e9 \\u20ac\" is %.*s",
               (int) json.size, json.data);
    ck_buf_free (&json);
    msgpack_sbuffer_destroy (&sb);
}

//  Whatever a peer put in a str, the line stays valid JSON: bytes that are
//  not UTF-8 become U+FFFD, NUL and control characters are escaped
Test (codec, json_escapes_what_is_not_text)
{
    msgpack_sbuffer sb;
    msgpack_sbuffer_init (&sb);
    msgpack_packer pk;
    msgpack_packer_init (&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map (&pk, 1);
    s_pack_cstr (&pk, "m");
    msgpack_pack_str_with_body (&pk, "a\xc3(b\0c\x01\x7f\xed\xa0\x80", 11);
    s_expect_json (sb.data, sb.size,
                   "{\"m\":\"a\\ufffd(b\\u0000c\\u0001\\u007f"
                   "\\ufffd\\ufffd\\ufffd\"}");
    msgpack_sbuffer_destroy (&sb);
}

Test (codec, json_refuses_what_is_not_one_msgpack_value)
{
    ck_buf_t json;
    ck_buf_init (&json);
    const uint8_t truncated [] = { 0x82, 0xa1, 0x61 };
    cr_expect_eq (ck_body_to_json (truncated, sizeof truncated, &json), -1);
    const uint8_t reserved [] = { 0xc1 };
    cr_expect_eq (ck_body_to_json (reserved, sizeof reserved, &json), -1);
    cr_expect_eq (ck_body_to_json ("", 0, &json), -1);
    ck_buf_free (&json);
}

//  --------------------------------------------------------------------------
//  Identifiers

Test (codec, id_valid_edges)
{
    char id65 [CK_ID_MAX + 2];
    memset (id65, 'a', sizeof id65);
    cr_expect (ck_id_valid ("a", 1));
    cr_expect (ck_id_valid (CK_SAMPLE_ID64, CK_ID_MAX), "64 bytes of every class");
    cr_expect (ck_id_valid (id65, CK_ID_MAX), "64 bytes");
    cr_expect_not (ck_id_valid (id65, CK_ID_MAX + 1), "65 bytes");
    cr_expect_not (ck_id_valid ("", 0), "empty");
    cr_expect (ck_id_valid ("._:-", 4), "punctuation alone");
    cr_expect (ck_id_valid ("AZaz09", 6));
    const char *bad [] = {
        "a b", "a/b", "a@b", "a+b", "a,b", "a;b", "a\"b", "a\\b", "a\tb", "a\nb",
        "caf\xc3\xa9", "a\x7f", "a\x80", "a#b", "a~b", "[a]", "a=b", "a%20"
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad [0]; i++)
        cr_expect_not (ck_id_valid (bad [i], strlen (bad [i])), "'%s' is not an id", bad [i]);
    cr_expect_not (ck_id_valid ("ab\0c", 4), "embedded NUL");
    cr_expect (ck_id_valid ("abc def", 3), "only len bytes are checked");
}

/*  test_codec_operator.c - the codec of the operator's commands
    LIST, SAGAS, DESCRIBE, RETRY, CANCEL, DESCRIPTION and their events: round
    trips at their limits, and bodies with wrong types, missing keys, values
    out of range and oversized ones.
*/
#include <criterion/criterion.h>
#include <msgpack.h>
#include <stdlib.h>
#include <string.h>
#include "checkout/codec.h"

TestSuite (codec_operator, .timeout = 30);

//  -------------------------------------------------------------------------
//  Building bodies by hand

static msgpack_sbuffer s_sb;
static msgpack_packer s_pk;

static void
s_begin (uint32_t keys)
{
    msgpack_sbuffer_init (&s_sb);
    msgpack_packer_init (&s_pk, &s_sb, msgpack_sbuffer_write);
    msgpack_pack_map (&s_pk, keys);
}

static void
s_str (const char *text)
{
    size_t len = strlen (text);
    msgpack_pack_str (&s_pk, len);
    msgpack_pack_str_body (&s_pk, text, len);
}

static void
s_kv (const char *key, const char *value)
{
    s_str (key);
    s_str (value);
}

static void
s_kint (const char *key, int64_t value)
{
    s_str (key);
    msgpack_pack_int64 (&s_pk, value);
}

//  Decodes the body built with decode; checks the code and that the
//  message names needle
typedef int (decode_fn) (const void *body, size_t size, void *msg, ck_decode_error_t *err);

static void
s_expect (decode_fn *decode, size_t msg_size, ck_error_code_t code, const char *needle)
{
    void *msg = calloc (1, msg_size);
    ck_decode_error_t err = { CK_OK, "" };
    int rc = decode (s_sb.data, s_sb.size, msg, &err);
    if (code == CK_OK)
        cr_assert_eq (rc, 0, "refused: %s", err.message);
    else {
        cr_assert_eq (rc, -1, "accepted, expected %s", ck_error_code_name (code));
        cr_assert_eq (err.code, code, "code %s, expected %s: %s", ck_error_code_name (err.code),
                      ck_error_code_name (code), err.message);
        if (needle)
            cr_assert_not_null (strstr (err.message, needle), "'%s' lacks '%s'",
                                err.message, needle);
    }
    free (msg);
    msgpack_sbuffer_destroy (&s_sb);
}

#define DECODER(name) ((decode_fn *) ck_decode_##name)

//  -------------------------------------------------------------------------
//  Round trips

Test (codec_operator, list_round_trip)
{
    ck_list_t list = { .status = CK_SAGA_STATE_STUCK, .since_ms = 1700000000000ULL,
                       .limit = CK_MAX_LIST, .cursor = "sg-1-000000000007" };
    ck_buf_t buf;
    ck_buf_init (&buf);
    cr_assert_eq (ck_encode_list (&list, &buf), 0);
    ck_list_t back;
    ck_decode_error_t err;
    cr_assert_eq (ck_decode_list (buf.data, buf.size, &back, &err), 0, "%s", err.message);
    cr_assert_eq (back.status, list.status);
    cr_assert_eq (back.since_ms, list.since_ms);
    cr_assert_eq (back.limit, list.limit);
    cr_assert_str_eq (back.cursor, list.cursor);
    //  every key is optional: an empty LIST is the first page of everything
    ck_list_t empty = { .status = CK_SAGA_STATE_NONE };
    cr_assert_eq (ck_encode_list (&empty, &buf), 0);
    cr_assert_eq (ck_decode_list (buf.data, buf.size, &back, &err), 0);
    cr_assert_eq (back.limit, 0);
    cr_assert_eq (back.status, CK_SAGA_STATE_NONE);
    ck_buf_free (&buf);
}

Test (codec_operator, full_sagas_page_fits_a_body)
{
    ck_sagas_t *sagas = calloc (1, sizeof *sagas);
    for (uint32_t i = 0; i < CK_MAX_LIST; i++) {
        ck_saga_summary_t *saga = &sagas->sagas [i];
        memset (saga->checkout_id, 'c', CK_ID_MAX);
        memset (saga->saga_id, 's', CK_ID_MAX);
        saga->status = (ck_saga_state_t) (CK_SAGA_STATE_RUNNING + i % 4);
        saga->step = CK_SERVICE_PAYMENT;
        saga->type = CK_TYPE_VOID_PAYMENT;
        saga->attempt = UINT32_MAX;
        saga->accepted_ms = UINT64_MAX;
        saga->elapsed_us = UINT64_MAX;
    }
    sagas->saga_count = CK_MAX_LIST;
    memset (sagas->next, 'n', CK_ID_MAX);
    ck_buf_t buf;
    ck_buf_init (&buf);
    cr_assert_eq (ck_encode_sagas (sagas, &buf), 0);
    cr_assert_lt (buf.size, CK_MAX_BODY / 2, "a page is far below the body limit");
    ck_sagas_t *back = calloc (1, sizeof *back);
    ck_decode_error_t err;
    cr_assert_eq (ck_decode_sagas (buf.data, buf.size, back, &err), 0, "%s", err.message);
    cr_assert_eq (memcmp (sagas, back, sizeof *sagas), 0);
    //  an empty page is a page
    sagas->saga_count = 0;
    sagas->next [0] = 0;
    cr_assert_eq (ck_encode_sagas (sagas, &buf), 0);
    cr_assert_eq (ck_decode_sagas (buf.data, buf.size, back, &err), 0, "%s", err.message);
    cr_assert_eq (back->saga_count, 0);
    ck_buf_free (&buf);
    free (sagas);
    free (back);
}

Test (codec_operator, operator_requests_round_trip)
{
    ck_operator_t request = { .checkout_id = "chk-1", .by = "Zoë <ops@example>" };
    memset (request.reason, 'r', CK_CANCEL_REASON_MAX);
    ck_buf_t buf;
    ck_buf_init (&buf);
    ck_operator_t back;
    ck_decode_error_t err;
    cr_assert_eq (ck_encode_cancel (&request, &buf), 0);
    cr_assert_eq (ck_decode_cancel (buf.data, buf.size, &back, &err), 0, "%s", err.message);
    cr_assert_eq (memcmp (&request, &back, sizeof request), 0);
    //  RETRY has no reason; DESCRIBE neither a reason nor a by
    cr_assert_eq (ck_encode_retry (&request, &buf), 0);
    cr_assert_eq (ck_decode_retry (buf.data, buf.size, &back, &err), 0, "%s", err.message);
    cr_assert_str_eq (back.by, request.by);
    cr_assert_str_empty (back.reason);
    cr_assert_eq (ck_encode_describe (&request, &buf), 0);
    cr_assert_eq (ck_decode_describe (buf.data, buf.size, &back, &err), 0, "%s", err.message);
    cr_assert_str_eq (back.checkout_id, "chk-1");
    cr_assert_str_empty (back.by);
    //  the encoder refuses what the decoder would
    ck_operator_t nobody = { .checkout_id = "chk-1" };
    cr_assert_eq (ck_encode_retry (&nobody, &buf), -1);
    ck_buf_free (&buf);
}

static void
s_full_description (ck_description_t *d, uint32_t history)
{
    memset (d, 0, sizeof *d);
    strcpy (d->checkout_id, "chk-1");
    strcpy (d->saga_id, "sg-1-000000000001");
    d->status = CK_SAGA_STATE_STUCK;
    strcpy (d->phase, "compensating");
    strcpy (d->cart_id, "cart-1");
    strcpy (d->customer_id, "cust-1");
    strcpy (d->currency, "EUR");
    strcpy (d->payment_method, "pm_card_visa");
    strcpy (d->ship_to.country, "FR");
    for (uint32_t i = 0; i < CK_MAX_ITEMS; i++) {
        memset (d->items [i].sku, 's', CK_ID_MAX);
        snprintf (d->items [i].sku, CK_ID_SIZE, "SKU-%04u", i);
        d->items [i].sku [8] = 's';     //  64 bytes long
        d->items [i].qty = 2;
        d->items [i].unit_price = 100;
        d->amount += 200;
    }
    d->item_count = CK_MAX_ITEMS;
    const ck_type_t actions [] = { CK_TYPE_RESERVE_INVENTORY, CK_TYPE_AUTHORIZE_PAYMENT,
                                   CK_TYPE_CREATE_ORDER };
    for (uint32_t i = 0; i < 3; i++) {
        d->steps [i].step = ck_type_service (actions [i]);
        d->steps [i].action = actions [i];
        strcpy (d->steps [i].kind, i < 2? "compensatable": "pivot");
        strcpy (d->steps [i].state, "done");
    }
    d->steps [0].compensation = CK_TYPE_RELEASE_INVENTORY;
    strcpy (d->steps [0].result_id, "res-1");
    d->step_count = 3;
    d->type = CK_TYPE_VOID_PAYMENT;
    d->attempt = 12;
    d->counted = 11;
    d->failed_step = CK_SERVICE_PAYMENT;
    strcpy (d->reason.code, "cancelled");
    strcpy (d->reason.message, "cancelled by alice");
    d->accepted_ms = 1700000000000ULL;
    for (uint32_t i = 0; i < history; i++) {
        ck_history_entry_t *entry = &d->history [i];
        entry->at_ms = 1700000000000ULL + i;
        strcpy (entry->event, "step");
        entry->step = CK_SERVICE_PAYMENT;
        entry->type = CK_TYPE_VOID_PAYMENT;
        entry->attempt = i + 1;
        entry->outcome = CK_OUTCOME_TIMEOUT;
        memset (entry->reason.code, 'c', CK_ID_MAX);
        memset (entry->reason.sku, 'k', CK_ID_MAX);
        memset (entry->reason.message, 'm', CK_TEXT_MAX);
    }
    d->history_count = history;
    d->history_total = 1000;
}

Test (codec_operator, description_round_trip_and_its_size_limit)
{
    ck_description_t *d = malloc (sizeof *d);
    ck_description_t *back = malloc (sizeof *back);
    s_full_description (d, 32);
    ck_buf_t buf;
    ck_buf_init (&buf);
    cr_assert_eq (ck_encode_description (d, &buf), 0);
    ck_decode_error_t err;
    cr_assert_eq (ck_decode_description (buf.data, buf.size, back, &err), 0, "%s", err.message);
    cr_assert_eq (memcmp (d, back, offsetof (ck_description_t, history)), 0);
    cr_assert_eq (memcmp (d->history, back->history, 32 * sizeof (ck_history_entry_t)), 0);
    cr_assert_eq (back->history_total, 1000);
    //  100 long lines and 128 entries of the longest reasons pass 64 KiB:
    //  the encoder refuses,
    //  and the coordinator sends fewer entries (coordinator_operator.c)
    s_full_description (d, CK_MAX_HISTORY);
    cr_assert_eq (ck_encode_description (d, &buf), -1);
    ck_buf_free (&buf);
    free (d);
    free (back);
}

Test (codec_operator, operator_event_round_trip)
{
    ck_ev_operator_t event = { .saga_id = "sg-1", .checkout_id = "chk-1", .by = "alice",
                               .reason = "customer asked" };
    ck_buf_t buf;
    ck_buf_init (&buf);
    cr_assert_eq (ck_encode_ev_operator (&event, &buf), 0);
    ck_ev_operator_t back;
    ck_decode_error_t err;
    cr_assert_eq (ck_decode_ev_operator (buf.data, buf.size, &back, &err), 0, "%s", err.message);
    cr_assert_eq (memcmp (&event, &back, sizeof event), 0);
    cr_assert_str_eq (ck_event_topic (CK_EVENT_SAGA_RETRIED), "saga.retried");
    cr_assert_eq (ck_event_lookup ("saga.cancelled", 14), CK_EVENT_SAGA_CANCELLED);
    ck_buf_free (&buf);
}

//  -------------------------------------------------------------------------
//  Malformed bodies

Test (codec_operator, list_refuses_wrong_values)
{
    s_begin (1); s_kv ("status", "sideways");
    s_expect (DECODER (list), sizeof (ck_list_t), CK_BAD_REQUEST, "status");
    s_begin (1); s_kint ("status", 1);
    s_expect (DECODER (list), sizeof (ck_list_t), CK_BAD_REQUEST, "status");
    s_begin (1); s_kint ("limit", 0);
    s_expect (DECODER (list), sizeof (ck_list_t), CK_BAD_REQUEST, "limit");
    s_begin (1); s_kint ("limit", CK_MAX_LIST + 1);
    s_expect (DECODER (list), sizeof (ck_list_t), CK_BAD_REQUEST, "limit");
    s_begin (1); s_kint ("since_ms", -1);
    s_expect (DECODER (list), sizeof (ck_list_t), CK_BAD_REQUEST, "since_ms");
    s_begin (1); s_kv ("since_ms", "1h");
    s_expect (DECODER (list), sizeof (ck_list_t), CK_BAD_REQUEST, "since_ms");
    s_begin (1); s_kv ("cursor", "not an id");
    s_expect (DECODER (list), sizeof (ck_list_t), CK_BAD_REQUEST, "cursor");
    s_begin (2); s_kint ("limit", 5); s_kint ("limit", 6);
    s_expect (DECODER (list), sizeof (ck_list_t), CK_BAD_REQUEST, "limit");
    s_begin (2); s_kv ("status", "failed"); s_kv ("v", "2.0.0");
    s_expect (DECODER (list), sizeof (ck_list_t), CK_UNSUPPORTED_VERSION, NULL);
    s_begin (2); s_kv ("status", "failed"); s_kint ("limit", 100);
    s_expect (DECODER (list), sizeof (ck_list_t), CK_OK, NULL);
}

Test (codec_operator, operator_requests_refuse_missing_and_wrong_keys)
{
    s_begin (1); s_kv ("by", "alice");
    s_expect (DECODER (retry), sizeof (ck_operator_t), CK_BAD_REQUEST, "checkout_id: missing");
    s_begin (1); s_kv ("checkout_id", "chk-1");
    s_expect (DECODER (retry), sizeof (ck_operator_t), CK_BAD_REQUEST, "by: missing");
    s_begin (1); s_kv ("checkout_id", "chk-1");
    s_expect (DECODER (cancel), sizeof (ck_operator_t), CK_BAD_REQUEST, "by: missing");
    s_begin (1); s_kint ("checkout_id", 7);
    s_expect (DECODER (describe), sizeof (ck_operator_t), CK_BAD_REQUEST, "checkout_id");
    s_begin (2); s_kv ("checkout_id", "chk-1"); s_kv ("by", "");
    s_expect (DECODER (retry), sizeof (ck_operator_t), CK_BAD_REQUEST, "by");
    char long_by [CK_BY_MAX + 2];
    memset (long_by, 'b', CK_BY_MAX + 1);
    long_by [CK_BY_MAX + 1] = 0;
    s_begin (2); s_kv ("checkout_id", "chk-1"); s_kv ("by", long_by);
    s_expect (DECODER (retry), sizeof (ck_operator_t), CK_BAD_REQUEST, "by");
    char long_reason [CK_CANCEL_REASON_MAX + 2];
    memset (long_reason, 'r', CK_CANCEL_REASON_MAX + 1);
    long_reason [CK_CANCEL_REASON_MAX + 1] = 0;
    s_begin (3); s_kv ("checkout_id", "chk-1"); s_kv ("by", "alice");
    s_kv ("reason", long_reason);
    s_expect (DECODER (cancel), sizeof (ck_operator_t), CK_BAD_REQUEST, "reason");
    s_begin (3); s_kv ("checkout_id", "chk-1"); s_kv ("by", "alice"); s_kint ("reason", 3);
    s_expect (DECODER (cancel), sizeof (ck_operator_t), CK_BAD_REQUEST, "reason");
    //  a by with a NUL in it is not text
    s_begin (2); s_kv ("checkout_id", "chk-1");
    s_str ("by"); msgpack_pack_str (&s_pk, 3); msgpack_pack_str_body (&s_pk, "a\0b", 3);
    s_expect (DECODER (retry), sizeof (ck_operator_t), CK_BAD_REQUEST, "by");
    //  a bin where a str belongs
    s_begin (2); s_kv ("checkout_id", "chk-1");
    s_str ("by"); msgpack_pack_bin (&s_pk, 5); msgpack_pack_bin_body (&s_pk, "alice", 5);
    s_expect (DECODER (retry), sizeof (ck_operator_t), CK_BAD_REQUEST, "by");
    s_begin (2); s_kv ("checkout_id", "chk-1"); s_kv ("by", "alice");
    s_expect (DECODER (retry), sizeof (ck_operator_t), CK_OK, NULL);
}

Test (codec_operator, oversized_and_garbage_bodies_are_refused)
{
    //  a CANCEL padded past 64 KiB with an unknown key
    size_t pad = CK_MAX_BODY;
    char *padding = malloc (pad + 1);
    memset (padding, 'x', pad);
    padding [pad] = 0;
    s_begin (4); s_kv ("checkout_id", "chk-1"); s_kv ("by", "alice");
    s_kv ("reason", "r"); s_kv ("padding", padding);
    s_expect (DECODER (cancel), sizeof (ck_operator_t), CK_TOO_LARGE, NULL);
    free (padding);
    //  an array where the map belongs; a map that claims more than it has
    msgpack_sbuffer_init (&s_sb);
    msgpack_packer_init (&s_pk, &s_sb, msgpack_sbuffer_write);
    msgpack_pack_array (&s_pk, 1);
    msgpack_pack_int (&s_pk, 1);
    s_expect (DECODER (list), sizeof (ck_list_t), CK_BAD_REQUEST, "body");
    s_begin (1000000);
    s_kv ("status", "failed");
    s_expect (DECODER (list), sizeof (ck_list_t), CK_BAD_REQUEST, "body");
    //  a SAGAS page of more entries than a page holds
    s_begin (1);
    s_str ("sagas");
    msgpack_pack_array (&s_pk, CK_MAX_LIST + 1);
    for (int i = 0; i < CK_MAX_LIST + 1; i++) {
        msgpack_pack_map (&s_pk, 4);
        s_kv ("checkout_id", "chk-1");
        s_kv ("saga_id", "sg-1");
        s_kv ("status", "running");
        s_kint ("accepted_ms", 1);
    }
    s_expect (DECODER (sagas), sizeof (ck_sagas_t), CK_BAD_REQUEST, "sagas");
    //  an entry without its status
    s_begin (1);
    s_str ("sagas");
    msgpack_pack_array (&s_pk, 1);
    msgpack_pack_map (&s_pk, 3);
    s_kv ("checkout_id", "chk-1");
    s_kv ("saga_id", "sg-1");
    s_kint ("accepted_ms", 1);
    s_expect (DECODER (sagas), sizeof (ck_sagas_t), CK_BAD_REQUEST, "sagas[0].status: missing");
}

//  The partition function is part of the contract (clients may compute
//  it): FNV-1a 32-bit, whose published values these are, modulo count
Test (codec_operator, partition_of_is_fnv1a_modulo_count)
{
    cr_assert_eq (ck_partition_of ("a", 0), 0);
    cr_assert_eq (ck_partition_of ("", 1u << 31), 2166136261u % (1u << 31));
    cr_assert_eq (ck_partition_of ("a", UINT32_MAX), 0xe40c292cu % UINT32_MAX);
    cr_assert_eq (ck_partition_of ("foobar", UINT32_MAX), 0xbf9cf968u % UINT32_MAX);
    cr_assert_eq (ck_partition_of ("foobar", 64), 0xbf9cf968u % 64);
    //  W1's ids spread over every one of the default 64 partitions
    bool seen [CK_DEFAULT_PARTITIONS] = { false };
    for (int i = 0; i < 4096; i++) {
        char id [CK_ID_SIZE];
        snprintf (id, sizeof id, "co-%d", i);
        seen [ck_partition_of (id, CK_DEFAULT_PARTITIONS)] = true;
    }
    for (int p = 0; p < CK_DEFAULT_PARTITIONS; p++)
        cr_expect (seen [p], "partition %d", p);
}

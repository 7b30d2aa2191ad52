/*  codec_messages.c - every message body of the protocol, defined once
    One schema table per body of docs/protocol.md, and the rules that span
    fields (an amount equals its lines, a REPLY's result).
*/
#include <stdlib.h>
#include <string.h>
#include "codec_schema.h"

_Static_assert (sizeof (ck_service_t) == sizeof (int), "enums are stored as int");
_Static_assert (sizeof (ck_error_code_t) == sizeof (int), "enums are stored as int");

#define COUNT_OF(a) (sizeof (a) / sizeof ((a) [0]))
#define SCHEMA(fields, check) { fields, COUNT_OF (fields), check, NULL }
#define SCHEMA_WITHOUT(fields, check, array) { fields, COUNT_OF (fields), check, &array }
#define SIZE_OF(T, name) sizeof (((T *) 0)->name)

#define F_ID(T, name, req) \
    { .key = #name, .key_len = sizeof (#name) - 1, .kind = FIELD_ID, .required = req, \
      .offset = offsetof (T, name), .size = SIZE_OF (T, name) }
#define F_TEXT(T, name, req, lo, hi) \
    { .key = #name, .key_len = sizeof (#name) - 1, .kind = FIELD_TEXT, .required = req, \
      .offset = offsetof (T, name), .size = SIZE_OF (T, name), .min = lo, .max = hi }
#define F_UPPER(T, name, n) \
    { .key = #name, .key_len = sizeof (#name) - 1, .kind = FIELD_UPPER, .required = true, \
      .offset = offsetof (T, name), .size = SIZE_OF (T, name), .min = n, .max = n }
#define F_UINT(T, name, req, lo, hi) \
    { .key = #name, .key_len = sizeof (#name) - 1, .kind = FIELD_UINT, .required = req, \
      .offset = offsetof (T, name), .size = SIZE_OF (T, name), .min = lo, .max = hi }
#define F_BOOL(T, name) \
    { .key = #name, .key_len = sizeof (#name) - 1, .kind = FIELD_BOOL, .offset = offsetof (T, name), \
      .size = SIZE_OF (T, name) }
//  Variadic so that ANY_SERVICE and ANY_TYPE expand to their three arguments
#define F_ENUM(...) F_ENUM_ (__VA_ARGS__)
#define F_ENUMS(...) F_ENUMS_ (__VA_ARGS__)
#define F_ENUM_(T, name, req, vocab, lo, hi) \
    { .key = #name, .key_len = sizeof (#name) - 1, .kind = FIELD_ENUM, .required = req, .offset = offsetof (T, name), \
      .size = SIZE_OF (T, name), .names = vocab, .first = lo, .last = hi }
#define F_MAP(T, name, req, schema) \
    { .key = #name, .key_len = sizeof (#name) - 1, .kind = FIELD_MAP, .required = req, .offset = offsetof (T, name), \
      .size = SIZE_OF (T, name), .sub = &schema }
#define F_ARRAY(T, name, count, req, lo, hi, schema) \
    { .key = #name, .key_len = sizeof (#name) - 1, .kind = FIELD_ARRAY, .required = req, .offset = offsetof (T, name), \
      .size = SIZE_OF (T, name [0]), .min = lo, .max = hi, .sub = &schema, \
      .count_offset = offsetof (T, count) }
#define F_ENUMS_(T, name, count, req, lo, hi, vocab, vlo, vhi) \
    { .key = #name, .key_len = sizeof (#name) - 1, .kind = FIELD_ARRAY, .required = req, .offset = offsetof (T, name), \
      .size = SIZE_OF (T, name [0]), .min = lo, .max = hi, .names = vocab, \
      .first = vlo, .last = vhi, .count_offset = offsetof (T, count) }

//  Vocabularies as the schema calls them; value ranges are in each field
static const char *s_services (int v) { return ck_service_name ((ck_service_t) v); }
static const char *s_types (int v) { return ck_type_name ((ck_type_t) v); }
static const char *s_outcomes (int v) { return ck_outcome_name ((ck_outcome_t) v); }
static const char *s_statuses (int v) { return ck_status_name ((ck_status_t) v); }
static const char *s_error_codes (int v) { return ck_error_code_name ((ck_error_code_t) v); }

//  Services and types include those a loaded step table added
#define ANY_SERVICE s_services, CK_SERVICE_INVENTORY, CK_SERVICE_MAX - 1
#define ANY_TYPE    s_types, CK_TYPE_RESERVE_INVENTORY, CK_TYPE_MAX - 1
#define ATTEMPT_MAX UINT32_MAX

//  --------------------------------------------------------------------------
//  Shared parts

static const field_t s_item_fields [] = {
    F_ID (ck_item_t, sku, true),
    F_UINT (ck_item_t, qty, true, 1, CK_MAX_QTY),
    F_UINT (ck_item_t, unit_price, true, 0, CK_MAX_UNIT_PRICE),
};
static const schema_t s_item = SCHEMA (s_item_fields, NULL);

//  Lines of a ReserveInventory: no prices
static const field_t s_line_fields [] = {
    F_ID (ck_item_t, sku, true),
    F_UINT (ck_item_t, qty, true, 1, CK_MAX_QTY),
};
static const schema_t s_line = SCHEMA (s_line_fields, NULL);

//  Lines of an added type's request: prices only when its step sends them
static const field_t s_any_line_fields [] = {
    F_ID (ck_item_t, sku, true),
    F_UINT (ck_item_t, qty, true, 1, CK_MAX_QTY),
    F_UINT (ck_item_t, unit_price, false, 0, CK_MAX_UNIT_PRICE),
};
static const schema_t s_any_line = SCHEMA (s_any_line_fields, NULL);

static const field_t s_ship_to_fields [] = {
    F_UPPER (ck_ship_to_t, country, 2),
};
static const schema_t s_ship_to = SCHEMA (s_ship_to_fields, NULL);

static const field_t s_reason_fields [] = {
    F_ID (ck_reason_t, code, true),
    F_TEXT (ck_reason_t, message, true, 0, CK_TEXT_MAX),
    F_ID (ck_reason_t, sku, false),
};
static const schema_t s_reason = SCHEMA (s_reason_fields, NULL);

//  Checks that amount is the sum of qty x unit_price over the items
static int
s_check_amount (const ck_item_t *items, uint32_t count, uint64_t amount,
                ck_decode_error_t *err)
{
    uint64_t sum = 0;               //  at most 100 x 10^4 x 10^9: no overflow
    for (uint32_t i = 0; i < count; i++)
        sum += (uint64_t) items [i].qty * items [i].unit_price;
    if (sum != amount)
        return ck_decode_fail (err, CK_AMOUNT_MISMATCH,
                           "amount: %llu is not the sum of the items, %llu",
                           (unsigned long long) amount, (unsigned long long) sum);
    return 0;
}

//  --------------------------------------------------------------------------
//  Client protocol

static int
s_check_checkout (const void *msg, ck_decode_error_t *err)
{
    const ck_checkout_t *self = (const ck_checkout_t *) msg;
    return s_check_amount (self->items, self->item_count, self->amount, err);
}

static const field_t s_checkout_fields [] = {
    F_ID (ck_checkout_t, checkout_id, true),
    F_ID (ck_checkout_t, cart_id, true),
    F_ID (ck_checkout_t, customer_id, true),
    F_UPPER (ck_checkout_t, currency, 3),
    F_ARRAY (ck_checkout_t, items, item_count, true, 1, CK_MAX_ITEMS, s_item),
    F_UINT (ck_checkout_t, amount, true, 0, UINT64_MAX),
    F_ID (ck_checkout_t, payment_method, true),
    F_MAP (ck_checkout_t, ship_to, true, s_ship_to),
    F_BOOL (ck_checkout_t, ack),
};
static const schema_t s_checkout = SCHEMA (s_checkout_fields, s_check_checkout);

static const field_t s_status_request_fields [] = {
    F_ID (ck_status_request_t, checkout_id, true),
};
static const schema_t s_status_request = SCHEMA (s_status_request_fields, NULL);

static const field_t s_accepted_fields [] = {
    F_ID (ck_accepted_t, checkout_id, true),
    F_ID (ck_accepted_t, saga_id, true),
};
static const schema_t s_accepted = SCHEMA (s_accepted_fields, NULL);

static const field_t s_history_fields [] = {
    F_UINT (ck_history_entry_t, at_ms, true, 0, UINT64_MAX),
    F_TEXT (ck_history_entry_t, event, true, 1, CK_NAME_MAX),
    F_ENUM (ck_history_entry_t, step, false, ANY_SERVICE),
    F_ENUM (ck_history_entry_t, type, false, ANY_TYPE),
    F_UINT (ck_history_entry_t, attempt, false, 1, ATTEMPT_MAX),
    F_ENUM (ck_history_entry_t, outcome, false, s_outcomes, CK_OUTCOME_OK, CK_OUTCOME_TIMEOUT),
    F_MAP (ck_history_entry_t, reason, false, s_reason),
};
static const schema_t s_history = SCHEMA (s_history_fields, NULL);

static const field_t s_result_fields [] = {
    F_ID (ck_result_t, checkout_id, true),
    F_ID (ck_result_t, saga_id, true),
    F_ENUM (ck_result_t, status, true, s_statuses, CK_STATUS_CONFIRMED, CK_STATUS_STUCK),
    F_ID (ck_result_t, order_id, false),
    F_ENUM (ck_result_t, failed_step, false, ANY_SERVICE),
    F_MAP (ck_result_t, reason, false, s_reason),
    F_ENUMS (ck_result_t, compensated, compensated_count, false, 0, CK_MAX_STEPS, ANY_SERVICE),
    F_UINT (ck_result_t, elapsed_us, true, 0, UINT64_MAX),
    F_ARRAY (ck_result_t, history, history_count, false, 0, CK_MAX_HISTORY, s_history),
};
static const schema_t s_result = SCHEMA (s_result_fields, NULL);

static const field_t s_error_fields [] = {
    F_ENUM (ck_error_t, code, true, s_error_codes, CK_BAD_FRAME, CK_ERROR_CODE_COUNT - 1),
    F_TEXT (ck_error_t, message, true, 0, CK_TEXT_MAX),
    F_ID (ck_error_t, checkout_id, false),
    F_TEXT (ck_error_t, owner, false, 0, CK_TEXT_MAX),
};
static const schema_t s_error = SCHEMA (s_error_fields, NULL);

static const field_t s_pong_fields [] = {
    F_TEXT (ck_pong_t, version, true, 1, CK_NAME_MAX),
    F_UINT (ck_pong_t, uptime_ms, true, 0, UINT64_MAX),
    F_ENUMS (ck_pong_t, unserved, unserved_count, false, 0, CK_MAX_STEPS, ANY_SERVICE),
};
static const schema_t s_pong = SCHEMA (s_pong_fields, NULL);

//  --------------------------------------------------------------------------
//  Operator commands

static const char *s_saga_states (int v) { return ck_saga_state_name ((ck_saga_state_t) v); }
#define ANY_SAGA_STATE s_saga_states, CK_SAGA_STATE_RUNNING, CK_SAGA_STATE_FAILED

static const field_t s_list_fields [] = {
    F_ENUM (ck_list_t, status, false, ANY_SAGA_STATE),
    F_UINT (ck_list_t, since_ms, false, 0, UINT64_MAX),
    F_UINT (ck_list_t, limit, false, 1, CK_MAX_LIST),
    F_ID (ck_list_t, cursor, false),
};
static const schema_t s_list = SCHEMA (s_list_fields, NULL);

static const field_t s_saga_summary_fields [] = {
    F_ID (ck_saga_summary_t, checkout_id, true),
    F_ID (ck_saga_summary_t, saga_id, true),
    F_ENUM (ck_saga_summary_t, status, true, ANY_SAGA_STATE),
    F_ENUM (ck_saga_summary_t, step, false, ANY_SERVICE),
    F_ENUM (ck_saga_summary_t, type, false, ANY_TYPE),
    F_UINT (ck_saga_summary_t, attempt, false, 1, ATTEMPT_MAX),
    F_UINT (ck_saga_summary_t, accepted_ms, true, 0, UINT64_MAX),
    F_UINT (ck_saga_summary_t, elapsed_us, false, 0, UINT64_MAX),
};
static const schema_t s_saga_summary = SCHEMA (s_saga_summary_fields, NULL);

static const field_t s_sagas_fields [] = {
    F_ARRAY (ck_sagas_t, sagas, saga_count, true, 0, CK_MAX_LIST, s_saga_summary),
    F_ID (ck_sagas_t, next, false),
};
static const schema_t s_sagas = SCHEMA (s_sagas_fields, NULL);

static const field_t s_describe_fields [] = {
    F_ID (ck_operator_t, checkout_id, true),
};
static const schema_t s_describe = SCHEMA (s_describe_fields, NULL);

static const field_t s_retry_fields [] = {
    F_ID (ck_operator_t, checkout_id, true),
    F_TEXT (ck_operator_t, by, true, 1, CK_BY_MAX),
};
static const schema_t s_retry = SCHEMA (s_retry_fields, NULL);

static const field_t s_cancel_fields [] = {
    F_ID (ck_operator_t, checkout_id, true),
    F_TEXT (ck_operator_t, by, true, 1, CK_BY_MAX),
    F_TEXT (ck_operator_t, reason, false, 0, CK_CANCEL_REASON_MAX),
};
static const schema_t s_cancel = SCHEMA (s_cancel_fields, NULL);

static const field_t s_step_view_fields [] = {
    F_ENUM (ck_step_view_t, step, true, ANY_SERVICE),
    F_ENUM (ck_step_view_t, action, true, ANY_TYPE),
    F_ENUM (ck_step_view_t, compensation, false, ANY_TYPE),
    F_TEXT (ck_step_view_t, kind, true, 1, CK_NAME_MAX),
    F_TEXT (ck_step_view_t, state, true, 1, CK_NAME_MAX),
    F_ID (ck_step_view_t, result_id, false),
};
static const schema_t s_step_view = SCHEMA (s_step_view_fields, NULL);

static int
s_check_description (const void *msg, ck_decode_error_t *err)
{
    const ck_description_t *self = (const ck_description_t *) msg;
    return s_check_amount (self->items, self->item_count, self->amount, err);
}

static const field_t s_description_fields [] = {
    F_ID (ck_description_t, checkout_id, true),
    F_ID (ck_description_t, saga_id, true),
    F_ENUM (ck_description_t, status, true, ANY_SAGA_STATE),
    F_TEXT (ck_description_t, phase, true, 1, CK_NAME_MAX),
    F_ID (ck_description_t, cart_id, true),
    F_ID (ck_description_t, customer_id, true),
    F_UPPER (ck_description_t, currency, 3),
    F_ARRAY (ck_description_t, items, item_count, true, 1, CK_MAX_ITEMS, s_item),
    F_UINT (ck_description_t, amount, true, 0, UINT64_MAX),
    F_ID (ck_description_t, payment_method, true),
    F_MAP (ck_description_t, ship_to, true, s_ship_to),
    F_ARRAY (ck_description_t, steps, step_count, true, 1, CK_MAX_STEPS, s_step_view),
    F_ENUM (ck_description_t, type, false, ANY_TYPE),
    F_UINT (ck_description_t, attempt, false, 1, ATTEMPT_MAX),
    F_UINT (ck_description_t, counted, false, 0, ATTEMPT_MAX),
    F_ENUM (ck_description_t, failed_step, false, ANY_SERVICE),
    F_MAP (ck_description_t, reason, false, s_reason),
    F_UINT (ck_description_t, accepted_ms, true, 0, UINT64_MAX),
    F_UINT (ck_description_t, elapsed_us, false, 0, UINT64_MAX),
    F_ARRAY (ck_description_t, history, history_count, false, 0, CK_MAX_HISTORY, s_history),
    F_UINT (ck_description_t, history_total, false, 0, UINT64_MAX),
};
static const schema_t s_description = SCHEMA (s_description_fields, s_check_description);

//  --------------------------------------------------------------------------
//  Participant protocol

static const field_t s_ready_fields [] = {
    F_ENUM (ck_ready_t, service, true, ANY_SERVICE),
    F_ID (ck_ready_t, instance, true),
    F_UINT (ck_ready_t, capacity, true, CK_MIN_CAPACITY, CK_MAX_CAPACITY),
    F_BOOL (ck_ready_t, update),
};
static const schema_t s_ready = SCHEMA (s_ready_fields, NULL);

#define REQUEST_HEAD \
    F_ID (ck_request_t, saga_id, true), \
    F_ID (ck_request_t, checkout_id, true), \
    F_ENUM (ck_request_t, type, true, ANY_TYPE), \
    F_UINT (ck_request_t, attempt, true, 1, ATTEMPT_MAX), \
    F_UINT (ck_request_t, deadline_ms, true, 0, UINT32_MAX)

static const field_t s_request_head_fields [] = { REQUEST_HEAD };
//  What the schemas without items leave alone (only its place is used)
static const field_t s_request_items =
    F_ARRAY (ck_request_t, items, item_count, false, 0, CK_MAX_ITEMS, s_line);
static const schema_t s_request_head =
    SCHEMA_WITHOUT (s_request_head_fields, NULL, s_request_items);

static const field_t s_reserve_fields [] = {
    REQUEST_HEAD,
    F_ARRAY (ck_request_t, items, item_count, true, 1, CK_MAX_ITEMS, s_line),
};
static const field_t s_authorize_fields [] = {
    REQUEST_HEAD,
    F_ID (ck_request_t, customer_id, true),
    F_UINT (ck_request_t, amount, true, 0, UINT64_MAX),
    F_UPPER (ck_request_t, currency, 3),
    F_ID (ck_request_t, payment_method, true),
};
static const field_t s_create_order_fields [] = {
    REQUEST_HEAD,
    F_ID (ck_request_t, cart_id, true),
    F_ID (ck_request_t, customer_id, true),
    F_ARRAY (ck_request_t, items, item_count, true, 1, CK_MAX_ITEMS, s_item),
    F_UINT (ck_request_t, amount, true, 0, UINT64_MAX),
    F_UPPER (ck_request_t, currency, 3),
    F_MAP (ck_request_t, ship_to, true, s_ship_to),
    F_ID (ck_request_t, reservation_id, true),
    F_ID (ck_request_t, authorization_id, true),
};

static int
s_check_create_order (const void *msg, ck_decode_error_t *err)
{
    const ck_request_t *self = (const ck_request_t *) msg;
    return s_check_amount (self->items, self->item_count, self->amount, err);
}

//  A type a step table added: its step's fields decide what is sent, so
//  every field past the head is optional here (an empty one is not sent)
static const field_t s_added_type_fields [] = {
    REQUEST_HEAD,
    F_ARRAY (ck_request_t, items, item_count, false, 0, CK_MAX_ITEMS, s_any_line),
    F_ID (ck_request_t, cart_id, false),
    F_ID (ck_request_t, customer_id, false),
    F_UINT (ck_request_t, amount, false, 0, UINT64_MAX),
    { .key = "currency", .key_len = 8, .kind = FIELD_UPPER, .required = false,
      .offset = offsetof (ck_request_t, currency), .size = SIZE_OF (ck_request_t, currency),
      .min = 3, .max = 3 },
    F_ID (ck_request_t, payment_method, false),
    F_MAP (ck_request_t, ship_to, false, s_ship_to),
    F_ID (ck_request_t, reservation_id, false),
    F_ID (ck_request_t, authorization_id, false),
};
static const schema_t s_added_type = SCHEMA (s_added_type_fields, NULL);

//  The schema of each built-in request type; compensations carry only the head
static const schema_t s_requests [CK_TYPE_COUNT] = {
    [CK_TYPE_RESERVE_INVENTORY] = SCHEMA (s_reserve_fields, NULL),
    [CK_TYPE_RELEASE_INVENTORY] = SCHEMA_WITHOUT (s_request_head_fields, NULL, s_request_items),
    [CK_TYPE_AUTHORIZE_PAYMENT] = SCHEMA_WITHOUT (s_authorize_fields, NULL, s_request_items),
    [CK_TYPE_VOID_PAYMENT] = SCHEMA_WITHOUT (s_request_head_fields, NULL, s_request_items),
    [CK_TYPE_CREATE_ORDER] = SCHEMA (s_create_order_fields, s_check_create_order),
};

static int
s_check_reply (const void *msg, ck_decode_error_t *err)
{
    const ck_reply_t *self = (const ck_reply_t *) msg;
    if (self->outcome == CK_OUTCOME_REJECTED && !self->reason.code [0])
        return ck_decode_fail (err, CK_BAD_REQUEST, "reason: missing (required when rejected)");
    const char *key = ck_type_result_key (self->type);
    if (self->outcome == CK_OUTCOME_OK && key && !self->result_id [0])
        return ck_decode_fail (err, CK_BAD_REQUEST, "%s: missing (required when ok)", key);
    return 0;
}

//  A REPLY's result id travels under its type's key (protocol.h), so the
//  schema of a REPLY is made per type: these fields, then the result's
#define REPLY_FIELDS 5
static const field_t s_reply_fields [REPLY_FIELDS + 1] = {
    F_ID (ck_reply_t, saga_id, true),
    F_ENUM (ck_reply_t, type, true, ANY_TYPE),
    F_UINT (ck_reply_t, attempt, true, 1, ATTEMPT_MAX),
    F_ENUM (ck_reply_t, outcome, true, s_outcomes, CK_OUTCOME_OK, CK_OUTCOME_ERROR),
    F_MAP (ck_reply_t, reason, false, s_reason),
    F_ID (ck_reply_t, result_id, false),
};
//  Decoded first, alone: which type, and so which key
static const schema_t s_reply_type = { &s_reply_fields [1], 1, NULL, NULL };

//  Fills fields and schema for a REPLY to type.  Can't fail.
static void
s_reply_schema (ck_type_t type, field_t *fields, schema_t *schema)
{
    memcpy (fields, s_reply_fields, sizeof s_reply_fields);
    const char *key = ck_type_result_key (type);
    fields [REPLY_FIELDS].key = key;
    fields [REPLY_FIELDS].key_len = key? (uint32_t) strlen (key): 0;
    *schema = (schema_t) { fields, key? REPLY_FIELDS + 1: REPLY_FIELDS, s_check_reply, NULL };
}

//  --------------------------------------------------------------------------
//  Events

static const field_t s_ev_started_fields [] = {
    F_ID (ck_ev_started_t, saga_id, true),
    F_ID (ck_ev_started_t, checkout_id, true),
};
static const schema_t s_ev_started = SCHEMA (s_ev_started_fields, NULL);

static const field_t s_ev_step_fields [] = {
    F_ID (ck_ev_step_t, saga_id, true),
    F_ENUM (ck_ev_step_t, step, true, ANY_SERVICE),
    F_ENUM (ck_ev_step_t, type, true, ANY_TYPE),
    F_UINT (ck_ev_step_t, attempt, true, 1, ATTEMPT_MAX),
    F_ENUM (ck_ev_step_t, outcome, true, s_outcomes, CK_OUTCOME_OK, CK_OUTCOME_TIMEOUT),
    F_MAP (ck_ev_step_t, reason, false, s_reason),
};
static const schema_t s_ev_step = SCHEMA (s_ev_step_fields, NULL);

static const field_t s_ev_compensating_fields [] = {
    F_ID (ck_ev_compensating_t, saga_id, true),
    F_ENUMS (ck_ev_compensating_t, steps, step_count, true, 1, CK_MAX_STEPS, ANY_SERVICE),
};
static const schema_t s_ev_compensating = SCHEMA (s_ev_compensating_fields, NULL);

static const field_t s_ev_outcome_fields [] = {
    F_ID (ck_ev_outcome_t, saga_id, true),
    F_ID (ck_ev_outcome_t, checkout_id, true),
    F_ID (ck_ev_outcome_t, order_id, false),
    F_MAP (ck_ev_outcome_t, reason, false, s_reason),
    F_UINT (ck_ev_outcome_t, elapsed_us, true, 0, UINT64_MAX),
};
static const schema_t s_ev_outcome = SCHEMA (s_ev_outcome_fields, NULL);

static const field_t s_ev_operator_fields [] = {
    F_ID (ck_ev_operator_t, saga_id, true),
    F_ID (ck_ev_operator_t, checkout_id, true),
    F_TEXT (ck_ev_operator_t, by, true, 1, CK_BY_MAX),
    F_TEXT (ck_ev_operator_t, reason, false, 0, CK_CANCEL_REASON_MAX),
};
static const schema_t s_ev_operator = SCHEMA (s_ev_operator_fields, NULL);

static const field_t s_ev_worker_fields [] = {
    F_ENUM (ck_ev_worker_t, service, true, ANY_SERVICE),
    F_ID (ck_ev_worker_t, instance, true),
    F_UINT (ck_ev_worker_t, capacity, false, CK_MIN_CAPACITY, CK_MAX_CAPACITY),
};
static const schema_t s_ev_worker = SCHEMA (s_ev_worker_fields, NULL);

static const field_t s_ev_socket_fields [] = {
    F_TEXT (ck_ev_socket_t, socket, true, 1, CK_NAME_MAX),
    F_TEXT (ck_ev_socket_t, endpoint, true, 0, CK_TEXT_MAX),
    F_TEXT (ck_ev_socket_t, event, true, 1, CK_NAME_MAX),
};
static const schema_t s_ev_socket = SCHEMA (s_ev_socket_fields, NULL);

static const field_t s_ev_security_fields [] = {
    F_TEXT (ck_ev_security_t, key, true, 1, CK_NAME_MAX + 8),
    F_TEXT (ck_ev_security_t, socket, true, 1, CK_NAME_MAX),
    F_TEXT (ck_ev_security_t, command, true, 1, CK_NAME_MAX),
    F_TEXT (ck_ev_security_t, role, true, 1, CK_NAME_MAX),
    F_TEXT (ck_ev_security_t, instance, false, 1, CK_ID_MAX),
    F_TEXT (ck_ev_security_t, reason, true, 1, CK_TEXT_MAX),
};
static const schema_t s_ev_security = SCHEMA (s_ev_security_fields, NULL);

static const field_t s_worker_load_fields [] = {
    F_ENUM (ck_worker_load_t, service, true, ANY_SERVICE),
    F_ID (ck_worker_load_t, instance, true),
    F_UINT (ck_worker_load_t, capacity, true, CK_MIN_CAPACITY, CK_MAX_CAPACITY),
    F_UINT (ck_worker_load_t, load, true, 0, UINT32_MAX),
};
static const schema_t s_worker_load = SCHEMA (s_worker_load_fields, NULL);

static const field_t s_reason_count_fields [] = {
    F_ID (ck_reason_count_t, code, true),
    F_UINT (ck_reason_count_t, count, true, 0, UINT64_MAX),
};
static const schema_t s_reason_count = SCHEMA (s_reason_count_fields, NULL);

static const field_t s_latency_bucket_fields [] = {
    F_UINT (ck_latency_bucket_t, le_us, true, 0, UINT64_MAX),
    F_UINT (ck_latency_bucket_t, count, true, 0, UINT64_MAX),
};
static const schema_t s_latency_bucket = SCHEMA (s_latency_bucket_fields, NULL);

#define STATS_COUNTER(name) F_UINT (ck_ev_stats_t, name, true, 0, UINT64_MAX)
static const field_t s_ev_stats_fields [] = {
    STATS_COUNTER (uptime_ms), STATS_COUNTER (started), STATS_COUNTER (confirmed),
    STATS_COUNTER (failed), STATS_COUNTER (stuck), STATS_COUNTER (bad_messages),
    STATS_COUNTER (retries), STATS_COUNTER (ignored_replies), STATS_COUNTER (overloaded),
    STATS_COUNTER (in_flight), STATS_COUNTER (latency_count), STATS_COUNTER (p50_us),
    STATS_COUNTER (p90_us), STATS_COUNTER (p99_us), STATS_COUNTER (max_us),
    F_UINT (ck_ev_stats_t, dropped, false, 0, UINT64_MAX),
    F_UINT (ck_ev_stats_t, refused, false, 0, UINT64_MAX),
    F_ARRAY (ck_ev_stats_t, workers, worker_count, false, 0, CK_MAX_WORKERS, s_worker_load),
    F_ARRAY (ck_ev_stats_t, failed_reasons, failed_reason_count, false, 0, CK_MAX_FAILED_REASONS,
             s_reason_count),
    F_UINT (ck_ev_stats_t, ended, false, 0, UINT64_MAX),
    F_UINT (ck_ev_stats_t, ended_us, false, 0, UINT64_MAX),
    F_ARRAY (ck_ev_stats_t, latency_buckets, latency_bucket_count, false, 0, CK_LATENCY_BUCKETS,
             s_latency_bucket),
    F_ID (ck_ev_stats_t, coordinator, false),
    F_UINT (ck_ev_stats_t, partition_count, false, 0, CK_MAX_PARTITIONS),
    F_TEXT (ck_ev_stats_t, partitions, false, 0, CK_TEXT_MAX),
};
static const schema_t s_ev_stats = SCHEMA (s_ev_stats_fields, NULL);

//  Decodes fields [index] of a body that failed alone into msg (of
//  msg_size), keeping it only if valid, so that the error answer can name
//  the saga or checkout: the whole body is scanned again, but only on this
//  error path
static void
s_salvage (const field_t *fields, size_t index, const void *body, size_t size, void *msg,
           size_t msg_size)
{
    field_t field = fields [index];
    field.required = false;
    schema_t alone = { &field, 1, NULL, NULL };
    void *scratch = malloc (msg_size);
    ck_decode_error_t ignored;
    if (scratch && codec_decode (&alone, body, size, scratch, msg_size, &ignored) == 0)
        memcpy ((char *) msg + field.offset, (char *) scratch + field.offset, field.size);
    free (scratch);
}

//  --------------------------------------------------------------------------
//  Public encoders and decoders

#define CODEC_PAIR(name, type, schema) \
int ck_encode_##name (const type *msg, ck_buf_t *out) \
{ \
    return codec_encode (&schema, msg, out); \
} \
int ck_decode_##name (const void *body, size_t size, type *msg, ck_decode_error_t *err) \
{ \
    return codec_decode (&schema, body, size, msg, sizeof *msg, err); \
}

int
ck_encode_checkout (const ck_checkout_t *msg, ck_buf_t *out)
{
    return codec_encode (&s_checkout, msg, out);
}

//  A CHECKOUT that fails keeps its checkout_id when that key was valid:
//  the coordinator's ERROR names it, so that the client can tell which
//  request it answers
int
ck_decode_checkout (const void *body, size_t size, ck_checkout_t *msg, ck_decode_error_t *err)
{
    int rc = codec_decode (&s_checkout, body, size, msg, sizeof *msg, err);
    if (rc && err->code != CK_TOO_LARGE) {
        memset (msg->checkout_id, 0, sizeof msg->checkout_id);
        s_salvage (s_checkout_fields, 0, body, size, msg, sizeof *msg);
    }
    return rc;
}

CODEC_PAIR (status_request, ck_status_request_t, s_status_request)
CODEC_PAIR (accepted, ck_accepted_t, s_accepted)
CODEC_PAIR (result, ck_result_t, s_result)
CODEC_PAIR (error, ck_error_t, s_error)
CODEC_PAIR (pong, ck_pong_t, s_pong)
CODEC_PAIR (ready, ck_ready_t, s_ready)
CODEC_PAIR (list, ck_list_t, s_list)
CODEC_PAIR (sagas, ck_sagas_t, s_sagas)
CODEC_PAIR (describe, ck_operator_t, s_describe)
CODEC_PAIR (retry, ck_operator_t, s_retry)
CODEC_PAIR (cancel, ck_operator_t, s_cancel)
CODEC_PAIR (description, ck_description_t, s_description)
CODEC_PAIR (ev_operator, ck_ev_operator_t, s_ev_operator)
CODEC_PAIR (ev_started, ck_ev_started_t, s_ev_started)
CODEC_PAIR (ev_step, ck_ev_step_t, s_ev_step)
CODEC_PAIR (ev_compensating, ck_ev_compensating_t, s_ev_compensating)
CODEC_PAIR (ev_outcome, ck_ev_outcome_t, s_ev_outcome)
CODEC_PAIR (ev_worker, ck_ev_worker_t, s_ev_worker)
CODEC_PAIR (ev_socket, ck_ev_socket_t, s_ev_socket)
CODEC_PAIR (ev_stats, ck_ev_stats_t, s_ev_stats)
CODEC_PAIR (ev_security, ck_ev_security_t, s_ev_security)

//  The schema of a request of type, or NULL for no known type
static const schema_t *
s_request_schema (ck_type_t type)
{
    if (type > CK_TYPE_NONE && type < CK_TYPE_COUNT)
        return &s_requests [type];
    return ck_type_name (type)? &s_added_type: NULL;
}

int
ck_encode_request (const ck_request_t *msg, ck_buf_t *out)
{
    const schema_t *schema = s_request_schema (msg->type);
    return schema? codec_encode (schema, msg, out): -1;
}

int
ck_encode_reply (const ck_reply_t *msg, ck_buf_t *out)
{
    field_t fields [REPLY_FIELDS + 1];
    schema_t schema;
    s_reply_schema (msg->type, fields, &schema);
    return codec_encode (&schema, msg, out);
}

int
ck_decode_reply (const void *body, size_t size, ck_reply_t *msg, ck_decode_error_t *err)
{
    int rc = codec_decode (&s_reply_type, body, size, msg, sizeof *msg, err);
    if (rc == 0) {
        field_t fields [REPLY_FIELDS + 1];
        schema_t schema;
        s_reply_schema (msg->type, fields, &schema);
        rc = codec_decode (&schema, body, size, msg, sizeof *msg, err);
    }
    return rc;
}


int
ck_decode_request (const void *body, size_t size, ck_request_t *msg, ck_decode_error_t *err)
{
    //  The head says which type, and so which schema, applies
    int rc = codec_decode (&s_request_head, body, size, msg, sizeof *msg, err);
    if (rc == 0)
        rc = codec_decode (s_request_schema (msg->type), body, size, msg, sizeof *msg, err);
    if (rc && err->code != CK_TOO_LARGE) {
        memset (msg, 0, sizeof *msg);
        s_salvage (s_request_head_fields, 0, body, size, msg, sizeof *msg);  //  saga_id
        s_salvage (s_request_head_fields, 2, body, size, msg, sizeof *msg);  //  type
        s_salvage (s_request_head_fields, 3, body, size, msg, sizeof *msg);  //  attempt
    }
    return rc;
}

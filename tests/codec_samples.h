/*  codec_samples.h - valid sample messages of every codec type, and their comparison
    Header-only; shared by the codec tests, the fuzz harnesses, the seed generator and the bench.

    Every builder fills a struct that the codec must accept as it is: the
    samples sit on the edges of the rules (64-byte ids, qty 10000, unit_price
    10^9 and 0, multi-byte UTF-8) so that a round trip proves more than the
    happy path.  The diff functions compare field by field and name the
    first field that differs, so a failure says where.
*/
#ifndef CK_CODEC_SAMPLES_H_INCLUDED
#define CK_CODEC_SAMPLES_H_INCLUDED

#include <stdio.h>
#include <string.h>
#include "checkout/codec.h"

//  An identifier of exactly CK_ID_MAX bytes using every allowed character class
#define CK_SAMPLE_ID64 "Id.0123456789_abcdefghijklmnopqrstuvwxyz-ABCDEFGHIJKLMNOPQRSTU:z"
_Static_assert (sizeof (CK_SAMPLE_ID64) == CK_ID_SIZE, "CK_SAMPLE_ID64 is 64 bytes");

//  Valid UTF-8 with 2-, 3- and 4-byte sequences
#define CK_SAMPLE_UTF8 "caf\xc3\xa9 \xe2\x82\xac 5 \xf0\x9f\x9b\x92"

//  Copies a NUL-terminated string into fixed storage. Can't fail (truncates).
#define ck_sample_set(field, text) \
    snprintf ((field), sizeof (field), "%s", (text))

//  -------------------------------------------------------------------------
//  Workload W1 (docs/client.md)

//  Price of catalog SKU i in cents
static inline uint64_t
ck_sample_w1_price (uint32_t sku)
{
    return 100 + sku % 900;
}

//  Fills msg with checkout k of workload W1, injected outcomes included.
static inline void
ck_sample_w1_checkout (ck_checkout_t *msg, uint32_t k)
{
    memset (msg, 0, sizeof *msg);
    snprintf (msg->checkout_id, sizeof msg->checkout_id, "chk-%u", k);
    snprintf (msg->cart_id, sizeof msg->cart_id, "cart-%u", k);
    snprintf (msg->customer_id, sizeof msg->customer_id, "cust-%u", k % 5000);
    ck_sample_set (msg->currency, "EUR");
    msg->item_count = 3;
    for (uint32_t j = 0; j < 3; j++) {
        ck_item_t *item = &msg->items [j];
        uint32_t sku = (k * 7 + j * 13) % 1000;
        if (j == 0 && k % 50 == 2)
            ck_sample_set (item->sku, "SKU-OOS");
        else
            snprintf (item->sku, sizeof item->sku, "SKU-%04u", sku);
        item->qty = 1 + (k + j) % 3;
        item->unit_price = ck_sample_w1_price (sku);
        msg->amount += item->qty * item->unit_price;
    }
    ck_sample_set (msg->payment_method,
                   k % 20 == 0? "pm_card_declined": "pm_card_visa");
    ck_sample_set (msg->ship_to.country, k % 100 == 1? "AQ": "DE");
}

//  -------------------------------------------------------------------------
//  Client protocol

//  Fills item i of a sample cart; the first two sit on the limits.
static inline void
ck_sample_item (ck_item_t *item, uint32_t i, bool priced)
{
    memset (item, 0, sizeof *item);
    snprintf (item->sku, sizeof item->sku, "SKU-%04u", i * 37 % 1000);
    item->qty = i == 0? CK_MAX_QTY: 1 + i % 7;
    if (priced)
        item->unit_price = i == 0? CK_MAX_UNIT_PRICE: i == 1? 0: 100 + i * 1009;
}

//  Fills a valid CHECKOUT of item_count (1..100) lines.
static inline void
ck_sample_checkout (ck_checkout_t *msg, uint32_t item_count, bool ack)
{
    memset (msg, 0, sizeof *msg);
    ck_sample_set (msg->checkout_id, "chk-7f3a9c");
    ck_sample_set (msg->cart_id, CK_SAMPLE_ID64);
    ck_sample_set (msg->customer_id, "cust:0042");
    ck_sample_set (msg->currency, "USD");
    msg->item_count = item_count;
    for (uint32_t i = 0; i < item_count; i++) {
        ck_sample_item (&msg->items [i], i, true);
        msg->amount += msg->items [i].qty * msg->items [i].unit_price;
    }
    ck_sample_set (msg->payment_method, "pm_card_visa");
    ck_sample_set (msg->ship_to.country, "FR");
    msg->ack = ack;
}

static inline void
ck_sample_status_request (ck_status_request_t *msg)
{
    memset (msg, 0, sizeof *msg);
    ck_sample_set (msg->checkout_id, "chk-7f3a9c");
}

static inline void
ck_sample_accepted (ck_accepted_t *msg)
{
    memset (msg, 0, sizeof *msg);
    ck_sample_set (msg->checkout_id, "chk-7f3a9c");
    ck_sample_set (msg->saga_id, "saga-01HZX3");
}

static inline void
ck_sample_reason (ck_reason_t *reason, const char *code, const char *message, const char *sku)
{
    memset (reason, 0, sizeof *reason);
    ck_sample_set (reason->code, code);
    ck_sample_set (reason->message, message);
    ck_sample_set (reason->sku, sku);
}

//  Fills history entry i of a saga: a cycle of started, step, compensating
static inline void
ck_sample_history_entry (ck_history_entry_t *entry, uint32_t i)
{
    memset (entry, 0, sizeof *entry);
    entry->at_ms = 1700000000000ULL + i * 7;
    switch (i % 4) {
        case 0:
            ck_sample_set (entry->event, "started");
            break;
        case 1:
            ck_sample_set (entry->event, "step");
            entry->step = CK_SERVICE_INVENTORY;
            entry->type = CK_TYPE_RESERVE_INVENTORY;
            entry->attempt = 1 + i;
            entry->outcome = CK_OUTCOME_OK;
            break;
        case 2:
            ck_sample_set (entry->event, "step");
            entry->step = CK_SERVICE_PAYMENT;
            entry->type = CK_TYPE_AUTHORIZE_PAYMENT;
            entry->attempt = 1;
            entry->outcome = CK_OUTCOME_REJECTED;
            ck_sample_reason (&entry->reason, "card_declined", "declined", "");
            break;
        default:
            ck_sample_set (entry->event, "compensating");
            entry->step = CK_SERVICE_INVENTORY;
            entry->type = CK_TYPE_RELEASE_INVENTORY;
            entry->attempt = 2;
            entry->outcome = CK_OUTCOME_TIMEOUT;
            ck_sample_reason (&entry->reason, "timeout", "no reply", "SKU-0013");
            break;
    }
}

//  Fills a RESULT of the given status with history_count (0..128) entries:
//  confirmed carries order_id; failed a failed_step, a reason with sku and
//  the compensated steps; stuck a reason.
static inline void
ck_sample_result (ck_result_t *msg, ck_status_t status, uint32_t history_count)
{
    memset (msg, 0, sizeof *msg);
    ck_sample_set (msg->checkout_id, "chk-7f3a9c");
    ck_sample_set (msg->saga_id, "saga-01HZX3");
    msg->status = status;
    if (status == CK_STATUS_CONFIRMED)
        ck_sample_set (msg->order_id, "ord-000017");
    if (status == CK_STATUS_FAILED) {
        msg->failed_step = CK_SERVICE_ORDER;
        ck_sample_reason (&msg->reason, "out_of_stock",
                          "only 2 left of " CK_SAMPLE_UTF8, "SKU-0013");
        msg->compensated [0] = CK_SERVICE_PAYMENT;
        msg->compensated [1] = CK_SERVICE_INVENTORY;
        msg->compensated_count = 2;
    }
    if (status == CK_STATUS_STUCK)
        ck_sample_reason (&msg->reason, "timeout", "compensation keeps failing", "");
    msg->elapsed_us = status == CK_STATUS_PENDING? 0: 1234567;
    msg->history_count = history_count;
    for (uint32_t i = 0; i < history_count; i++)
        ck_sample_history_entry (&msg->history [i], i);
}

static inline void
ck_sample_error (ck_error_t *msg, ck_error_code_t code)
{
    memset (msg, 0, sizeof *msg);
    msg->code = code;
    ck_sample_set (msg->message, "amount: 705 is not " CK_SAMPLE_UTF8);
    if (code != CK_BAD_FRAME)
        ck_sample_set (msg->checkout_id, "chk-7f3a9c");
}

static inline void
ck_sample_pong (ck_pong_t *msg)
{
    memset (msg, 0, sizeof *msg);
    ck_sample_set (msg->version, CK_VERSION);
    msg->uptime_ms = 123456789012ULL;
    msg->unserved [0] = CK_SERVICE_PAYMENT;
    msg->unserved_count = 1;
}

//  -------------------------------------------------------------------------
//  Participant protocol

static inline void
ck_sample_ready (ck_ready_t *msg, ck_service_t service)
{
    memset (msg, 0, sizeof *msg);
    msg->service = service;
    snprintf (msg->instance, sizeof msg->instance, "%s-4242", ck_service_name (service));
    msg->capacity = CK_MAX_CAPACITY;
}

//  Fills a REQUEST of the given type with exactly the fields of docs/protocol.md#types.
static inline void
ck_sample_request (ck_request_t *msg, ck_type_t type, uint32_t item_count)
{
    memset (msg, 0, sizeof *msg);
    ck_sample_set (msg->saga_id, "saga-01HZX3");
    ck_sample_set (msg->checkout_id, "chk-7f3a9c");
    msg->type = type;
    msg->attempt = 2;
    msg->deadline_ms = 5000;
    bool priced = type == CK_TYPE_CREATE_ORDER;
    if (type == CK_TYPE_RESERVE_INVENTORY || priced) {
        msg->item_count = item_count;
        for (uint32_t i = 0; i < item_count; i++)
            ck_sample_item (&msg->items [i], i, priced);
    }
    if (type == CK_TYPE_AUTHORIZE_PAYMENT || priced) {
        ck_sample_set (msg->customer_id, "cust:0042");
        msg->amount = 250000;
        ck_sample_set (msg->currency, "EUR");
    }
    if (type == CK_TYPE_AUTHORIZE_PAYMENT)
        ck_sample_set (msg->payment_method, "pm_card_visa");
    if (priced) {
        msg->amount = 0;
        for (uint32_t i = 0; i < item_count; i++)
            msg->amount += msg->items [i].qty * msg->items [i].unit_price;
        ck_sample_set (msg->cart_id, CK_SAMPLE_ID64);
        ck_sample_set (msg->ship_to.country, "DE");
        ck_sample_set (msg->reservation_id, "res-000017");
        ck_sample_set (msg->authorization_id, "auth-000017");
    }
}

//  Fills a REPLY of the given type and outcome: ok carries the type's
//  result id, rejected and error a reason.
static inline void
ck_sample_reply (ck_reply_t *msg, ck_type_t type, ck_outcome_t outcome)
{
    memset (msg, 0, sizeof *msg);
    ck_sample_set (msg->saga_id, "saga-01HZX3");
    msg->type = type;
    msg->attempt = 3;
    msg->outcome = outcome;
    if (outcome == CK_OUTCOME_OK) {
        if (type == CK_TYPE_RESERVE_INVENTORY)
            ck_sample_set (msg->result_id, "res-000017");
        if (type == CK_TYPE_AUTHORIZE_PAYMENT)
            ck_sample_set (msg->result_id, "auth-000017");
        if (type == CK_TYPE_CREATE_ORDER)
            ck_sample_set (msg->result_id, CK_SAMPLE_ID64);
    }
    if (outcome == CK_OUTCOME_REJECTED) {
        if (type == CK_TYPE_RESERVE_INVENTORY)
            ck_sample_reason (&msg->reason, "out_of_stock", "2 left", "SKU-0013");
        else if (type == CK_TYPE_AUTHORIZE_PAYMENT)
            ck_sample_reason (&msg->reason, "card_declined", "declined", "");
        else if (type == CK_TYPE_CREATE_ORDER)
            ck_sample_reason (&msg->reason, "destination_unserviceable",
                              "no delivery to AQ", "");
        else
            ck_sample_reason (&msg->reason, "compensated", "already undone", "");
    }
    if (outcome == CK_OUTCOME_ERROR)
        ck_sample_reason (&msg->reason, "db_busy", "database is locked", "");
}

//  -------------------------------------------------------------------------
//  Events

static inline void
ck_sample_ev_started (ck_ev_started_t *msg)
{
    memset (msg, 0, sizeof *msg);
    ck_sample_set (msg->saga_id, "saga-01HZX3");
    ck_sample_set (msg->checkout_id, "chk-7f3a9c");
}

//  A step event; with_reason gives an attempt that timed out
static inline void
ck_sample_ev_step (ck_ev_step_t *msg, bool with_reason)
{
    memset (msg, 0, sizeof *msg);
    ck_sample_set (msg->saga_id, "saga-01HZX3");
    msg->step = CK_SERVICE_PAYMENT;
    msg->type = CK_TYPE_AUTHORIZE_PAYMENT;
    msg->attempt = 2;
    msg->outcome = with_reason? CK_OUTCOME_TIMEOUT: CK_OUTCOME_OK;
    if (with_reason)
        ck_sample_reason (&msg->reason, "timeout", "no reply in 5000 ms", "");
}

static inline void
ck_sample_ev_compensating (ck_ev_compensating_t *msg)
{
    memset (msg, 0, sizeof *msg);
    ck_sample_set (msg->saga_id, "saga-01HZX3");
    msg->steps [0] = CK_SERVICE_PAYMENT;
    msg->steps [1] = CK_SERVICE_INVENTORY;
    msg->step_count = 2;
}

//  saga.confirmed when confirmed, else saga.failed with a reason
static inline void
ck_sample_ev_outcome (ck_ev_outcome_t *msg, bool confirmed)
{
    memset (msg, 0, sizeof *msg);
    ck_sample_set (msg->saga_id, "saga-01HZX3");
    ck_sample_set (msg->checkout_id, "chk-7f3a9c");
    if (confirmed)
        ck_sample_set (msg->order_id, "ord-000017");
    else
        ck_sample_reason (&msg->reason, "out_of_stock", "0 left", "SKU-OOS");
    msg->elapsed_us = 987654;
}

static inline void
ck_sample_ev_worker (ck_ev_worker_t *msg, bool with_capacity)
{
    memset (msg, 0, sizeof *msg);
    msg->service = CK_SERVICE_ORDER;
    ck_sample_set (msg->instance, "order-host:1234");
    msg->capacity = with_capacity? 16: 0;
}

static inline void
ck_sample_ev_socket (ck_ev_socket_t *msg)
{
    memset (msg, 0, sizeof *msg);
    ck_sample_set (msg->socket, "frontend");
    ck_sample_set (msg->endpoint, "tcp://127.0.0.1:5570");
    ck_sample_set (msg->event, "ACCEPTED");
}

//  Stats with worker_count (0..64) workers; counters of every integer width
static inline void
ck_sample_ev_stats (ck_ev_stats_t *msg, uint32_t worker_count)
{
    memset (msg, 0, sizeof *msg);
    msg->uptime_ms = 3600000;
    msg->started = 1ULL << 40;
    msg->confirmed = 70000;
    msg->failed = 300;
    msg->stuck = 0;
    msg->bad_messages = 7;
    msg->retries = 200;
    msg->ignored_replies = 3;
    msg->overloaded = 1;
    msg->dropped = 3;
    msg->refused = 2;
    msg->in_flight = 64;
    msg->latency_count = 35000;
    msg->p50_us = 900;
    msg->p90_us = 1500;
    msg->p99_us = 2400;
    msg->max_us = 18000000000ULL;
    msg->worker_count = worker_count;
    for (uint32_t i = 0; i < worker_count; i++) {
        ck_worker_load_t *worker = &msg->workers [i];
        worker->service = (ck_service_t) (1 + i % 3);
        snprintf (worker->instance, sizeof worker->instance, "%s-%u",
                  ck_service_name (worker->service), i);
        worker->capacity = 1 + i * 16;
        worker->load = i;
    }
    msg->failed_reason_count = 2;
    ck_sample_set (msg->failed_reasons [0].code, "card_declined");
    msg->failed_reasons [0].count = 200;
    ck_sample_set (msg->failed_reasons [1].code, "out_of_stock");
    msg->failed_reasons [1].count = 100;
    msg->ended = 70300;
    msg->ended_us = 1ULL << 36;
    msg->latency_bucket_count = CK_LATENCY_BUCKETS;
    for (uint32_t i = 0; i < CK_LATENCY_BUCKETS; i++)
        msg->latency_buckets [i] = (ck_latency_bucket_t) { 250ULL << i, 1000 * i };
}

//  -------------------------------------------------------------------------
//  Field-by-field comparison: each diff returns NULL when a and b hold the
//  same message, else the name of the first field that differs.

#define CK_SAMPLE_SAME(a, b, f) \
    do { if ((a)->f != (b)->f) return #f; } while (0)
#define CK_SAMPLE_SAME_STR(a, b, f) \
    do { if (strncmp ((a)->f, (b)->f, sizeof ((a)->f))) return #f; } while (0)
#define CK_SAMPLE_SAME_COUNT(a, b, f, max) \
    do { if ((a)->f != (b)->f || (a)->f > (max)) return #f; } while (0)

static inline const char *
ck_sample_diff_reason (const ck_reason_t *a, const ck_reason_t *b)
{
    CK_SAMPLE_SAME_STR (a, b, code);
    CK_SAMPLE_SAME_STR (a, b, message);
    CK_SAMPLE_SAME_STR (a, b, sku);
    return NULL;
}

static inline const char *
ck_sample_diff_items (const ck_item_t *a, const ck_item_t *b, uint32_t count)
{
    for (uint32_t i = 0; i < count; i++) {
        CK_SAMPLE_SAME_STR (&a [i], &b [i], sku);
        CK_SAMPLE_SAME (&a [i], &b [i], qty);
        CK_SAMPLE_SAME (&a [i], &b [i], unit_price);
    }
    return NULL;
}

static inline const char *
ck_sample_diff_checkout (const ck_checkout_t *a, const ck_checkout_t *b)
{
    CK_SAMPLE_SAME_STR (a, b, checkout_id);
    CK_SAMPLE_SAME_STR (a, b, cart_id);
    CK_SAMPLE_SAME_STR (a, b, customer_id);
    CK_SAMPLE_SAME_STR (a, b, currency);
    CK_SAMPLE_SAME_COUNT (a, b, item_count, CK_MAX_ITEMS);
    if (ck_sample_diff_items (a->items, b->items, a->item_count))
        return "items";
    CK_SAMPLE_SAME (a, b, amount);
    CK_SAMPLE_SAME_STR (a, b, payment_method);
    CK_SAMPLE_SAME_STR (a, b, ship_to.country);
    CK_SAMPLE_SAME (a, b, ack);
    return NULL;
}

static inline const char *
ck_sample_diff_status_request (const ck_status_request_t *a, const ck_status_request_t *b)
{
    CK_SAMPLE_SAME_STR (a, b, checkout_id);
    return NULL;
}

static inline const char *
ck_sample_diff_accepted (const ck_accepted_t *a, const ck_accepted_t *b)
{
    CK_SAMPLE_SAME_STR (a, b, checkout_id);
    CK_SAMPLE_SAME_STR (a, b, saga_id);
    return NULL;
}

static inline const char *
ck_sample_diff_history (const ck_history_entry_t *a, const ck_history_entry_t *b)
{
    CK_SAMPLE_SAME (a, b, at_ms);
    CK_SAMPLE_SAME_STR (a, b, event);
    CK_SAMPLE_SAME (a, b, step);
    CK_SAMPLE_SAME (a, b, type);
    CK_SAMPLE_SAME (a, b, attempt);
    CK_SAMPLE_SAME (a, b, outcome);
    if (ck_sample_diff_reason (&a->reason, &b->reason))
        return "history.reason";
    return NULL;
}

static inline const char *
ck_sample_diff_result (const ck_result_t *a, const ck_result_t *b)
{
    CK_SAMPLE_SAME_STR (a, b, checkout_id);
    CK_SAMPLE_SAME_STR (a, b, saga_id);
    CK_SAMPLE_SAME (a, b, status);
    CK_SAMPLE_SAME_STR (a, b, order_id);
    CK_SAMPLE_SAME (a, b, failed_step);
    if (ck_sample_diff_reason (&a->reason, &b->reason))
        return "reason";
    CK_SAMPLE_SAME_COUNT (a, b, compensated_count, CK_MAX_STEPS);
    for (uint32_t i = 0; i < a->compensated_count; i++)
        CK_SAMPLE_SAME (a, b, compensated [i]);
    CK_SAMPLE_SAME (a, b, elapsed_us);
    CK_SAMPLE_SAME_COUNT (a, b, history_count, CK_MAX_HISTORY);
    for (uint32_t i = 0; i < a->history_count; i++) {
        const char *diff = ck_sample_diff_history (&a->history [i], &b->history [i]);
        if (diff)
            return diff;
    }
    return NULL;
}

static inline const char *
ck_sample_diff_error (const ck_error_t *a, const ck_error_t *b)
{
    CK_SAMPLE_SAME (a, b, code);
    CK_SAMPLE_SAME_STR (a, b, message);
    CK_SAMPLE_SAME_STR (a, b, checkout_id);
    CK_SAMPLE_SAME_STR (a, b, owner);
    return NULL;
}

static inline const char *
ck_sample_diff_pong (const ck_pong_t *a, const ck_pong_t *b)
{
    CK_SAMPLE_SAME_STR (a, b, version);
    CK_SAMPLE_SAME (a, b, uptime_ms);
    CK_SAMPLE_SAME_COUNT (a, b, unserved_count, CK_MAX_STEPS);
    for (uint32_t i = 0; i < a->unserved_count; i++)
        if (a->unserved [i] != b->unserved [i])
            return "unserved";
    return NULL;
}

static inline const char *
ck_sample_diff_ready (const ck_ready_t *a, const ck_ready_t *b)
{
    CK_SAMPLE_SAME (a, b, service);
    CK_SAMPLE_SAME_STR (a, b, instance);
    CK_SAMPLE_SAME (a, b, capacity);
    CK_SAMPLE_SAME (a, b, update);
    return NULL;
}

static inline const char *
ck_sample_diff_request (const ck_request_t *a, const ck_request_t *b)
{
    CK_SAMPLE_SAME_STR (a, b, saga_id);
    CK_SAMPLE_SAME_STR (a, b, checkout_id);
    CK_SAMPLE_SAME (a, b, type);
    CK_SAMPLE_SAME (a, b, attempt);
    CK_SAMPLE_SAME (a, b, deadline_ms);
    CK_SAMPLE_SAME_COUNT (a, b, item_count, CK_MAX_ITEMS);
    if (ck_sample_diff_items (a->items, b->items, a->item_count))
        return "items";
    CK_SAMPLE_SAME_STR (a, b, cart_id);
    CK_SAMPLE_SAME_STR (a, b, customer_id);
    CK_SAMPLE_SAME (a, b, amount);
    CK_SAMPLE_SAME_STR (a, b, currency);
    CK_SAMPLE_SAME_STR (a, b, payment_method);
    CK_SAMPLE_SAME_STR (a, b, ship_to.country);
    CK_SAMPLE_SAME_STR (a, b, reservation_id);
    CK_SAMPLE_SAME_STR (a, b, authorization_id);
    return NULL;
}

static inline const char *
ck_sample_diff_reply (const ck_reply_t *a, const ck_reply_t *b)
{
    CK_SAMPLE_SAME_STR (a, b, saga_id);
    CK_SAMPLE_SAME (a, b, type);
    CK_SAMPLE_SAME (a, b, attempt);
    CK_SAMPLE_SAME (a, b, outcome);
    if (ck_sample_diff_reason (&a->reason, &b->reason))
        return "reason";
    CK_SAMPLE_SAME_STR (a, b, result_id);
    return NULL;
}

static inline const char *
ck_sample_diff_ev_started (const ck_ev_started_t *a, const ck_ev_started_t *b)
{
    CK_SAMPLE_SAME_STR (a, b, saga_id);
    CK_SAMPLE_SAME_STR (a, b, checkout_id);
    return NULL;
}

static inline const char *
ck_sample_diff_ev_step (const ck_ev_step_t *a, const ck_ev_step_t *b)
{
    CK_SAMPLE_SAME_STR (a, b, saga_id);
    CK_SAMPLE_SAME (a, b, step);
    CK_SAMPLE_SAME (a, b, type);
    CK_SAMPLE_SAME (a, b, attempt);
    CK_SAMPLE_SAME (a, b, outcome);
    if (ck_sample_diff_reason (&a->reason, &b->reason))
        return "reason";
    return NULL;
}

static inline const char *
ck_sample_diff_ev_compensating (const ck_ev_compensating_t *a, const ck_ev_compensating_t *b)
{
    CK_SAMPLE_SAME_STR (a, b, saga_id);
    CK_SAMPLE_SAME_COUNT (a, b, step_count, CK_MAX_STEPS);
    for (uint32_t i = 0; i < a->step_count; i++)
        CK_SAMPLE_SAME (a, b, steps [i]);
    return NULL;
}

static inline const char *
ck_sample_diff_ev_outcome (const ck_ev_outcome_t *a, const ck_ev_outcome_t *b)
{
    CK_SAMPLE_SAME_STR (a, b, saga_id);
    CK_SAMPLE_SAME_STR (a, b, checkout_id);
    CK_SAMPLE_SAME_STR (a, b, order_id);
    if (ck_sample_diff_reason (&a->reason, &b->reason))
        return "reason";
    CK_SAMPLE_SAME (a, b, elapsed_us);
    return NULL;
}

static inline const char *
ck_sample_diff_ev_worker (const ck_ev_worker_t *a, const ck_ev_worker_t *b)
{
    CK_SAMPLE_SAME (a, b, service);
    CK_SAMPLE_SAME_STR (a, b, instance);
    CK_SAMPLE_SAME (a, b, capacity);
    return NULL;
}

static inline const char *
ck_sample_diff_ev_socket (const ck_ev_socket_t *a, const ck_ev_socket_t *b)
{
    CK_SAMPLE_SAME_STR (a, b, socket);
    CK_SAMPLE_SAME_STR (a, b, endpoint);
    CK_SAMPLE_SAME_STR (a, b, event);
    return NULL;
}

static inline const char *
ck_sample_diff_ev_stats (const ck_ev_stats_t *a, const ck_ev_stats_t *b)
{
    CK_SAMPLE_SAME (a, b, uptime_ms);
    CK_SAMPLE_SAME (a, b, started);
    CK_SAMPLE_SAME (a, b, confirmed);
    CK_SAMPLE_SAME (a, b, failed);
    CK_SAMPLE_SAME (a, b, stuck);
    CK_SAMPLE_SAME (a, b, bad_messages);
    CK_SAMPLE_SAME (a, b, retries);
    CK_SAMPLE_SAME (a, b, ignored_replies);
    CK_SAMPLE_SAME (a, b, overloaded);
    CK_SAMPLE_SAME (a, b, dropped);
    CK_SAMPLE_SAME (a, b, refused);
    CK_SAMPLE_SAME (a, b, in_flight);
    CK_SAMPLE_SAME (a, b, latency_count);
    CK_SAMPLE_SAME (a, b, p50_us);
    CK_SAMPLE_SAME (a, b, p90_us);
    CK_SAMPLE_SAME (a, b, p99_us);
    CK_SAMPLE_SAME (a, b, max_us);
    CK_SAMPLE_SAME_COUNT (a, b, worker_count, CK_MAX_WORKERS);
    for (uint32_t i = 0; i < a->worker_count; i++) {
        CK_SAMPLE_SAME (a, b, workers [i].service);
        CK_SAMPLE_SAME_STR (a, b, workers [i].instance);
        CK_SAMPLE_SAME (a, b, workers [i].capacity);
        CK_SAMPLE_SAME (a, b, workers [i].load);
    }
    CK_SAMPLE_SAME_COUNT (a, b, failed_reason_count, CK_MAX_FAILED_REASONS);
    for (uint32_t i = 0; i < a->failed_reason_count; i++) {
        CK_SAMPLE_SAME_STR (a, b, failed_reasons [i].code);
        CK_SAMPLE_SAME (a, b, failed_reasons [i].count);
    }
    CK_SAMPLE_SAME (a, b, ended);
    CK_SAMPLE_SAME (a, b, ended_us);
    CK_SAMPLE_SAME_COUNT (a, b, latency_bucket_count, CK_LATENCY_BUCKETS);
    for (uint32_t i = 0; i < a->latency_bucket_count; i++) {
        CK_SAMPLE_SAME (a, b, latency_buckets [i].le_us);
        CK_SAMPLE_SAME (a, b, latency_buckets [i].count);
    }
    CK_SAMPLE_SAME_STR (a, b, coordinator);
    CK_SAMPLE_SAME (a, b, partition_count);
    CK_SAMPLE_SAME_STR (a, b, partitions);
    return NULL;
}

//  -------------------------------------------------------------------------
//  Every message kind behind one interface, for code that runs them all
//  (the fuzzer, the malformed-input table, the seed generator)

typedef enum {
    CK_SAMPLE_CHECKOUT,
    CK_SAMPLE_STATUS_REQUEST,
    CK_SAMPLE_ACCEPTED,
    CK_SAMPLE_RESULT,
    CK_SAMPLE_ERROR,
    CK_SAMPLE_PONG,
    CK_SAMPLE_READY,
    CK_SAMPLE_REQUEST,
    CK_SAMPLE_REPLY,
    CK_SAMPLE_EV_STARTED,
    CK_SAMPLE_EV_STEP,
    CK_SAMPLE_EV_COMPENSATING,
    CK_SAMPLE_EV_OUTCOME,
    CK_SAMPLE_EV_WORKER,
    CK_SAMPLE_EV_SOCKET,
    CK_SAMPLE_EV_STATS,
    CK_SAMPLE_KIND_COUNT
} ck_sample_kind_t;

//  Storage for any decoded message
typedef union {
    ck_checkout_t checkout;
    ck_status_request_t status_request;
    ck_accepted_t accepted;
    ck_result_t result;
    ck_error_t error;
    ck_pong_t pong;
    ck_ready_t ready;
    ck_request_t request;
    ck_reply_t reply;
    ck_ev_started_t ev_started;
    ck_ev_step_t ev_step;
    ck_ev_compensating_t ev_compensating;
    ck_ev_outcome_t ev_outcome;
    ck_ev_worker_t ev_worker;
    ck_ev_socket_t ev_socket;
    ck_ev_stats_t ev_stats;
} ck_sample_any_t;

typedef struct {
    const char *name;
    int (*encode) (const void *msg, ck_buf_t *out);
    int (*decode) (const void *body, size_t size, void *msg, ck_decode_error_t *err);
    const char *(*diff) (const void *a, const void *b);
} ck_sample_codec_t;

//  Typed wrappers, so the table calls each function through its own type
#define CK_SAMPLE_WRAP(kind, type_t) \
    static inline int \
    ck_sample_encode_##kind##_ (const void *msg, ck_buf_t *out) \
    { \
        return ck_encode_##kind ((const type_t *) msg, out); \
    } \
    static inline int \
    ck_sample_decode_##kind##_ (const void *body, size_t size, void *msg, \
                                ck_decode_error_t *err) \
    { \
        return ck_decode_##kind (body, size, (type_t *) msg, err); \
    } \
    static inline const char * \
    ck_sample_diff_##kind##_ (const void *a, const void *b) \
    { \
        return ck_sample_diff_##kind ((const type_t *) a, (const type_t *) b); \
    }

CK_SAMPLE_WRAP (checkout, ck_checkout_t)
CK_SAMPLE_WRAP (status_request, ck_status_request_t)
CK_SAMPLE_WRAP (accepted, ck_accepted_t)
CK_SAMPLE_WRAP (result, ck_result_t)
CK_SAMPLE_WRAP (error, ck_error_t)
CK_SAMPLE_WRAP (pong, ck_pong_t)
CK_SAMPLE_WRAP (ready, ck_ready_t)
CK_SAMPLE_WRAP (request, ck_request_t)
CK_SAMPLE_WRAP (reply, ck_reply_t)
CK_SAMPLE_WRAP (ev_started, ck_ev_started_t)
CK_SAMPLE_WRAP (ev_step, ck_ev_step_t)
CK_SAMPLE_WRAP (ev_compensating, ck_ev_compensating_t)
CK_SAMPLE_WRAP (ev_outcome, ck_ev_outcome_t)
CK_SAMPLE_WRAP (ev_worker, ck_ev_worker_t)
CK_SAMPLE_WRAP (ev_socket, ck_ev_socket_t)
CK_SAMPLE_WRAP (ev_stats, ck_ev_stats_t)

#define CK_SAMPLE_ENTRY(kind) { #kind, ck_sample_encode_##kind##_, \
    ck_sample_decode_##kind##_, ck_sample_diff_##kind##_ }

//  The codec of one message kind; kind must be valid.
static inline const ck_sample_codec_t *
ck_sample_codec (ck_sample_kind_t kind)
{
    static const ck_sample_codec_t codecs [CK_SAMPLE_KIND_COUNT] = {
        CK_SAMPLE_ENTRY (checkout),
        CK_SAMPLE_ENTRY (status_request),
        CK_SAMPLE_ENTRY (accepted),
        CK_SAMPLE_ENTRY (result),
        CK_SAMPLE_ENTRY (error),
        CK_SAMPLE_ENTRY (pong),
        CK_SAMPLE_ENTRY (ready),
        CK_SAMPLE_ENTRY (request),
        CK_SAMPLE_ENTRY (reply),
        CK_SAMPLE_ENTRY (ev_started),
        CK_SAMPLE_ENTRY (ev_step),
        CK_SAMPLE_ENTRY (ev_compensating),
        CK_SAMPLE_ENTRY (ev_outcome),
        CK_SAMPLE_ENTRY (ev_worker),
        CK_SAMPLE_ENTRY (ev_socket),
        CK_SAMPLE_ENTRY (ev_stats)
    };
    return &codecs [kind];
}

//  The message kind a command's body holds; CK_SAMPLE_KIND_COUNT when the
//  command has no body.
static inline ck_sample_kind_t
ck_sample_kind_of_command (ck_command_t command)
{
    switch (command) {
        case CK_CMD_CHECKOUT: return CK_SAMPLE_CHECKOUT;
        case CK_CMD_STATUS:   return CK_SAMPLE_STATUS_REQUEST;
        case CK_CMD_ACCEPTED: return CK_SAMPLE_ACCEPTED;
        case CK_CMD_RESULT:   return CK_SAMPLE_RESULT;
        case CK_CMD_ERROR:    return CK_SAMPLE_ERROR;
        case CK_CMD_PONG:     return CK_SAMPLE_PONG;
        case CK_CMD_READY:    return CK_SAMPLE_READY;
        case CK_CMD_REQUEST:  return CK_SAMPLE_REQUEST;
        case CK_CMD_REPLY:    return CK_SAMPLE_REPLY;
        default:              return CK_SAMPLE_KIND_COUNT;
    }
}

//  Encodes a decoded message again and decodes the result: the fuzzers'
//  round-trip property.  Returns NULL when that gives an equal message,
//  else a description of what went wrong (static storage).
static inline const char *
ck_sample_recheck (ck_sample_kind_t kind, const void *decoded, ck_buf_t *buf,
                   ck_sample_any_t *again)
{
    static char what [CK_TEXT_SIZE + 96];
    const ck_sample_codec_t *codec = ck_sample_codec (kind);
    if (codec->encode (decoded, buf)) {
        snprintf (what, sizeof what, "%s: the encoder refused what the decoder accepted",
                  codec->name);
        return what;
    }
    ck_decode_error_t err;
    if (codec->decode (buf->data, buf->size, again, &err)) {
        snprintf (what, sizeof what, "%s: the re-encoded body (%zu bytes) is refused: %s",
                  codec->name, buf->size, err.message);
        return what;
    }
    const char *diff = codec->diff (decoded, again);
    if (diff) {
        snprintf (what, sizeof what, "%s: field %s differs after a round trip",
                  codec->name, diff);
        return what;
    }
    return NULL;
}

//  -------------------------------------------------------------------------
//  Editing encoded bodies, for tests that build hostile variants of a valid
//  body.  Only compiled where CK_SAMPLES_EDIT is defined (it needs msgpack-c,
//  which the rest of the project sees only inside the codec).
#ifdef CK_SAMPLES_EDIT
#include <stdlib.h>
#include <msgpack.h>

typedef enum {
    CK_EDIT_SET,                        //  replace the value at path, or add it
    CK_EDIT_DELETE,                     //  remove the key or element at path
    CK_EDIT_DUPLICATE                   //  repeat the key or element at path
} ck_edit_op_t;

//  Appends raw bytes given as hex digits ("dd ffff ffff"; blanks ignored)
static inline void
ck_sample_pack_hex (msgpack_packer *pk, const char *hex)
{
    uint8_t byte = 0;
    int digits = 0;
    for (const char *p = hex; *p; p++) {
        int v = *p >= '0' && *p <= '9'? *p - '0':
                *p >= 'a' && *p <= 'f'? *p - 'a' + 10:
                *p >= 'A' && *p <= 'F'? *p - 'A' + 10: -1;
        if (v < 0)
            continue;
        byte = (uint8_t) (byte << 4 | v);
        if (++digits == 2) {
            pk->callback (pk->data, (const char *) &byte, 1);
            digits = 0;
            byte = 0;
        }
    }
}

//  Packs the value a spec describes:
//    s:TEXT  str          b:TEXT  bin          u:N  unsigned     i:N  signed
//    f:X     float64      T / F   booleans     n    nil
//    r:N:C   str of N times the character C    x:HEX  raw msgpack bytes
//    I:N     array of N valid items {sku, qty, unit_price}
//    A:N:TEXT  array of N copies of the str TEXT
static inline void
ck_sample_pack_spec (msgpack_packer *pk, const char *spec)
{
    const char *arg = spec [0] && spec [1] == ':'? spec + 2: "";
    switch (spec [0]) {
        case 's':
            msgpack_pack_str_with_body (pk, arg, strlen (arg));
            break;
        case 'b':
            msgpack_pack_bin_with_body (pk, arg, strlen (arg));
            break;
        case 'u':
            msgpack_pack_uint64 (pk, strtoull (arg, NULL, 10));
            break;
        case 'i':
            msgpack_pack_int64 (pk, strtoll (arg, NULL, 10));
            break;
        case 'f':
            msgpack_pack_double (pk, strtod (arg, NULL));
            break;
        case 'T':
            msgpack_pack_true (pk);
            break;
        case 'F':
            msgpack_pack_false (pk);
            break;
        case 'r': {
            char *end;
            size_t n = strtoul (arg, &end, 10);
            char c = *end == ':'? end [1]: 'a';
            msgpack_pack_str (pk, n);
            for (size_t i = 0; i < n; i++)
                msgpack_pack_str_body (pk, &c, 1);
            break;
        }
        case 'x':
            ck_sample_pack_hex (pk, arg);
            break;
        case 'I': {
            size_t n = strtoul (arg, NULL, 10);
            msgpack_pack_array (pk, n);
            for (size_t i = 0; i < n; i++) {
                msgpack_pack_map (pk, 3);
                msgpack_pack_str_with_body (pk, "sku", 3);
                msgpack_pack_str_with_body (pk, "SKU-0001", 8);
                msgpack_pack_str_with_body (pk, "qty", 3);
                msgpack_pack_uint32 (pk, 1);
                msgpack_pack_str_with_body (pk, "unit_price", 10);
                msgpack_pack_uint32 (pk, 100);
            }
            break;
        }
        case 'A': {
            char *end;
            size_t n = strtoul (arg, &end, 10);
            const char *text = *end == ':'? end + 1: "";
            msgpack_pack_array (pk, n);
            for (size_t i = 0; i < n; i++)
                msgpack_pack_str_with_body (pk, text, strlen (text));
            break;
        }
        default:
            msgpack_pack_nil (pk);
            break;
    }
}

//  Length of the first segment of a path: a key up to '.' or '[', or "[N]"
static inline size_t
ck_sample_segment (const char *path)
{
    if (path [0] == '[') {
        const char *close = strchr (path, ']');
        return close? (size_t) (close - path) + 1: strlen (path);
    }
    return strcspn (path, ".[");
}

static inline int
ck_sample_pack_edit (msgpack_packer *pk, const msgpack_object *obj, const char *path,
                     ck_edit_op_t op, const char *spec);

//  Re-packs an array with the edit applied to element [N] of path
static inline int
ck_sample_edit_array (msgpack_packer *pk, const msgpack_object *obj, const char *path,
                      const char *rest, ck_edit_op_t op, const char *spec)
{
    if (obj->type != MSGPACK_OBJECT_ARRAY)
        return -1;
    size_t index = strtoul (path + 1, NULL, 10);
    size_t count = obj->via.array.size;
    if (index >= count)
        return -1;
    bool leaf = *rest == 0;
    size_t new_count = count + (leaf && op == CK_EDIT_DELETE? -1:
                                leaf && op == CK_EDIT_DUPLICATE? 1: 0);
    msgpack_pack_array (pk, new_count);
    for (size_t i = 0; i < count; i++) {
        const msgpack_object *item = &obj->via.array.ptr [i];
        if (i != index)
            msgpack_pack_object (pk, *item);
        else
        if (leaf && op == CK_EDIT_SET)
            ck_sample_pack_spec (pk, spec);
        else
        if (leaf && op == CK_EDIT_DUPLICATE) {
            msgpack_pack_object (pk, *item);
            msgpack_pack_object (pk, *item);
        }
        else
        if (!leaf && ck_sample_pack_edit (pk, item, rest, op, spec))
            return -1;
    }
    return 0;
}

//  Re-packs a map with the edit applied to the key that starts path; SET
//  of a missing key at the end of the path appends it
static inline int
ck_sample_edit_map (msgpack_packer *pk, const msgpack_object *obj, const char *key,
                    size_t key_len, const char *rest, ck_edit_op_t op, const char *spec)
{
    if (obj->type != MSGPACK_OBJECT_MAP)
        return -1;
    size_t count = obj->via.map.size;
    size_t found = count;
    for (size_t i = 0; i < count && found == count; i++) {
        const msgpack_object *k = &obj->via.map.ptr [i].key;
        if (k->type == MSGPACK_OBJECT_STR && k->via.str.size == key_len
        &&  memcmp (k->via.str.ptr, key, key_len) == 0)
            found = i;
    }
    bool leaf = *rest == 0;
    if (found == count && !(leaf && op == CK_EDIT_SET))
        return -1;
    size_t new_count = count + (found == count? 1:
                                leaf && op == CK_EDIT_DELETE? -1:
                                leaf && op == CK_EDIT_DUPLICATE? 1: 0);
    msgpack_pack_map (pk, new_count);
    for (size_t i = 0; i < count; i++) {
        const msgpack_object_kv *kv = &obj->via.map.ptr [i];
        if (i != found) {
            msgpack_pack_object (pk, kv->key);
            msgpack_pack_object (pk, kv->val);
        }
        else
        if (leaf && op == CK_EDIT_DELETE)
            continue;
        else {
            int copies = leaf && op == CK_EDIT_DUPLICATE? 2: 1;
            for (int copy = 0; copy < copies; copy++) {
                msgpack_pack_object (pk, kv->key);
                if (leaf && op == CK_EDIT_SET)
                    ck_sample_pack_spec (pk, spec);
                else
                if (leaf)
                    msgpack_pack_object (pk, kv->val);
                else
                if (ck_sample_pack_edit (pk, &kv->val, rest, op, spec))
                    return -1;
            }
        }
    }
    if (found == count) {
        msgpack_pack_str_with_body (pk, key, key_len);
        ck_sample_pack_spec (pk, spec);
    }
    return 0;
}

//  Packs obj with one edit at path (e.g. "items[2].qty", "ship_to.country")
static inline int
ck_sample_pack_edit (msgpack_packer *pk, const msgpack_object *obj, const char *path,
                     ck_edit_op_t op, const char *spec)
{
    size_t len = ck_sample_segment (path);
    const char *rest = path + len;
    if (*rest == '.')
        rest++;
    if (path [0] == '[')
        return ck_sample_edit_array (pk, obj, path, rest, op, spec);
    return ck_sample_edit_map (pk, obj, path, len, rest, op, spec);
}

//  Writes body with one edit into out (initialised by the caller); returns
//  0, or -1 when body is not msgpack or path does not fit it.
static inline int
ck_sample_edit (const void *body, size_t size, const char *path, ck_edit_op_t op,
                const char *spec, msgpack_sbuffer *out)
{
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    int rc = -1;
    if (msgpack_unpack_next (&unpacked, body, size, &offset) == MSGPACK_UNPACK_SUCCESS) {
        msgpack_packer pk;
        msgpack_packer_init (&pk, out, msgpack_sbuffer_write);
        rc = ck_sample_pack_edit (&pk, &unpacked.data, path, op, spec);
    }
    msgpack_unpacked_destroy (&unpacked);
    return rc;
}
#endif

#endif

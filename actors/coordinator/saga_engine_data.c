/*  saga_engine_data.c - the saga record of the engine
    Its life cycle, and the REQUEST and RESULT bodies built from it.
*/
#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "saga_engine.h"

static const char *s_phase_names [] = {
    "new", "running", "compensating", "confirmed", "failed"
};
static const char *s_action_names [] = {
    NULL, "persist", "send_request", "set_timer", "reply_accepted",
    "reply_result", "publish", "ignored"
};
static const char *s_ignored_names [] = {
    NULL, "stale", "duplicate", "late", "unknown", "invalid"
};

static void
s_copy_id (char *dest, const char *source)
{
    size_t size = strnlen (source, CK_ID_MAX);
    memcpy (dest, source, size);
    dest [size] = 0;
}


//  Creates a saga in phase SAGA_NEW with a copy of the checkout's cart.

saga_t *
saga_new (const char *saga_id, const ck_checkout_t *checkout)
{
    assert (saga_id && checkout);
    assert (checkout->item_count <= CK_MAX_ITEMS);
    saga_t *self = calloc (1, sizeof (saga_t));
    if (!self)
        return NULL;
    if (saga_set_items (self, checkout->items, checkout->item_count) != 0) {
        free (self);
        return NULL;
    }
    s_copy_id (self->saga_id, saga_id);
    s_copy_id (self->checkout_id, checkout->checkout_id);
    s_copy_id (self->cart_id, checkout->cart_id);
    s_copy_id (self->customer_id, checkout->customer_id);
    s_copy_id (self->payment_method, checkout->payment_method);
    memcpy (self->currency, checkout->currency, sizeof (self->currency) - 1);
    self->ship_to = checkout->ship_to;
    self->ship_to.country [sizeof (self->ship_to.country) - 1] = 0;
    self->amount = checkout->amount;
    self->failed_step = SAGA_NO_STEP;
    return self;
}


//  Destroys a saga; safe on NULL, nulls the pointer.

void
saga_destroy (saga_t **self_p)
{
    assert (self_p);
    saga_t *self = *self_p;
    if (self) {
        free (self->items);
        free (self->reason);
        free (self->history);
        for (int step = 0; step < CK_MAX_STEPS; step++)
            free (self->results [step]);
        free (self);
        *self_p = NULL;
    }
}


//  The result id of step, "" when none.  Can't fail.

const char *
saga_result (const saga_t *self, uint32_t step)
{
    assert (self);
    assert (step < CK_MAX_STEPS);
    return self->results [step]? self->results [step]: "";
}


//  Sets the result id of step; -1 when out of memory.

int
saga_set_result (saga_t *self, uint32_t step, const char *id)
{
    assert (self && id);
    assert (step < CK_MAX_STEPS);
    char *copy = NULL;
    if (*id && !(copy = strndup (id, CK_ID_MAX)))
        return -1;
    free (self->results [step]);
    self->results [step] = copy;
    return 0;
}


//  Replaces the saga's items by a copy; -1 when out of memory.

int
saga_set_items (saga_t *self, const ck_item_t *items, uint32_t count)
{
    assert (self);
    assert (count == 0 || items);
    ck_item_t *copy = NULL;
    if (count > 0) {
        copy = malloc (count * sizeof (ck_item_t));
        if (!copy)
            return -1;
        memcpy (copy, items, count * sizeof (ck_item_t));
    }
    free (self->items);
    self->items = copy;
    self->item_count = count;
    return 0;
}


//  Replaces or clears the saga's reason; -1 when out of memory.

int
saga_set_reason (saga_t *self, const ck_reason_t *reason)
{
    assert (self);
    if (!reason) {
        free (self->reason);
        self->reason = NULL;
        return 0;
    }
    if (!self->reason) {
        self->reason = malloc (sizeof (ck_reason_t));
        if (!self->reason)
            return -1;
    }
    *self->reason = *reason;
    return 0;
}


//  True when the saga is confirmed or failed.  Can't fail.

bool
saga_terminal (const saga_t *self)
{
    assert (self);
    return self->phase == SAGA_CONFIRMED || self->phase == SAGA_FAILED;
}


//  The id of kind result among the saga's step results, "" when none.

const char *
saga_engine_result_id (saga_engine_t *self, const saga_t *saga, const char *key)
{
    assert (self && saga);
    int index = saga_def_find_result (saga_engine_def (self), key);
    return index >= 0? saga_result (saga, (uint32_t) index): "";
}


//  The ids of the steps done so far, each where requests carry its kind
static void
s_request_results (saga_engine_t *self, const saga_t *saga, ck_request_t *request)
{
    const saga_def_t *def = saga_engine_def (self);
    for (uint32_t index = 0; index < saga->step && index < def->step_count; index++) {
        char *field = saga_def_request_result (def->steps [index].result, request);
        if (field)
            s_copy_id (field, saga_result (saga, index));
    }
}

//  The cart's fields a forward request carries, by its row's bits
static void
s_request_fields (saga_engine_t *self, const saga_t *saga, unsigned fields, ck_request_t *request)
{
    if (fields & (SAGA_FIELD_ITEMS | SAGA_FIELD_PRICES)) {
        for (uint32_t index = 0; index < saga->item_count; index++) {
            s_copy_id (request->items [index].sku, saga->items [index].sku);
            request->items [index].qty = saga->items [index].qty;
            request->items [index].unit_price = fields & SAGA_FIELD_PRICES
                                              ? saga->items [index].unit_price: 0;
        }
        request->item_count = saga->item_count;
    }
    if (fields & SAGA_FIELD_CART)
        s_copy_id (request->cart_id, saga->cart_id);
    if (fields & SAGA_FIELD_CUSTOMER)
        s_copy_id (request->customer_id, saga->customer_id);
    if (fields & SAGA_FIELD_AMOUNT) {
        request->amount = saga->amount;
        memcpy (request->currency, saga->currency, sizeof (request->currency));
    }
    if (fields & SAGA_FIELD_PAYMENT)
        s_copy_id (request->payment_method, saga->payment_method);
    if (fields & SAGA_FIELD_SHIP_TO)
        request->ship_to = saga->ship_to;
    if (fields & SAGA_FIELD_RESULTS)
        s_request_results (self, saga, request);
}


//  Fills *request with the saga's current request; -1 when it has none.

int
saga_engine_request (saga_engine_t *self, const saga_t *saga, ck_request_t *request)
{
    assert (self && saga && request);
    //  The items array is most of the struct (8 KiB, zeroed it was a tenth
    //  of the coordinator's work): zero the rest, and only the slots used
    //  are written (codec.h: slots past item_count are never read)
    memset (request, 0, offsetof (ck_request_t, items));
    memset (&request->item_count, 0, sizeof (*request) - offsetof (ck_request_t, item_count));
    if ((saga->phase != SAGA_RUNNING && saga->phase != SAGA_COMPENSATING)
    ||  saga->type == CK_TYPE_NONE)
        return -1;
    const saga_def_t *def = saga_engine_def (self);
    assert (saga->step < def->step_count);
    const saga_step_t *row = &def->steps [saga->step];
    s_copy_id (request->saga_id, saga->saga_id);
    s_copy_id (request->checkout_id, saga->checkout_id);
    request->type = saga->type;
    request->attempt = saga->attempt;
    request->deadline_ms = saga_engine_policy (self)->step_timeout_ms;
    //  Compensations carry only the saga's identity (docs/protocol.md#types)
    if (saga->type == row->action)
        s_request_fields (self, saga, row->fields, request);
    return 0;
}


static ck_status_t
s_status (const saga_t *saga)
{
    if (saga->phase == SAGA_CONFIRMED)
        return CK_STATUS_CONFIRMED;
    if (saga->phase == SAGA_FAILED)
        return CK_STATUS_FAILED;
    return saga->stuck? CK_STATUS_STUCK: CK_STATUS_PENDING;
}


//  Fills *result from the saga, without history.  Can't fail.

void
saga_engine_result (saga_engine_t *self, const saga_t *saga, ck_result_t *result)
{
    assert (self && saga && result);
    //  The history array is most of the struct (tens of KiB) and is
    //  absent when history_count is 0: zero only what precedes it
    memset (result, 0, offsetof (ck_result_t, history));
    result->history_count = 0;
    const saga_def_t *def = saga_engine_def (self);
    s_copy_id (result->checkout_id, saga->checkout_id);
    s_copy_id (result->saga_id, saga->saga_id);
    result->status = s_status (saga);
    if (result->status == CK_STATUS_CONFIRMED)
        s_copy_id (result->order_id, saga_engine_result_id (self, saga, SAGA_RESULT_ORDER));
    //  failed_step and reason are for failed or stuck sagas only (docs/protocol.md#client)
    bool trouble = result->status == CK_STATUS_FAILED
                || result->status == CK_STATUS_STUCK;
    if (trouble && saga->failed_step < def->step_count)
        result->failed_step = def->steps [saga->failed_step].service;
    if (trouble && saga->reason)
        result->reason = *saga->reason;
    for (uint8_t index = 0; index < saga->comp_index && index < CK_MAX_STEPS; index++)
        result->compensated [index] = def->steps [saga->comp_steps [index]].service;
    result->compensated_count = saga->comp_index;
    if (saga_terminal (saga))
        result->elapsed_us = saga->elapsed_us;
}


//  Name of a phase, or NULL.

const char *
saga_phase_name (saga_phase_t phase)
{
    if (phase < SAGA_NEW || phase > SAGA_FAILED)
        return NULL;
    return s_phase_names [phase];
}


//  Name of an action kind, or NULL.

const char *
saga_action_name (saga_action_kind_t kind)
{
    if (kind <= SAGA_ACTION_NONE || kind > SAGA_ACTION_IGNORED)
        return NULL;
    return s_action_names [kind];
}


//  Name of an ignored reply's reason, or NULL.

const char *
saga_ignored_name (saga_ignored_t reason)
{
    if (reason <= SAGA_IGNORED_NONE || reason > SAGA_IGNORED_INVALID)
        return NULL;
    return s_ignored_names [reason];
}

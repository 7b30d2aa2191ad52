/*  saga_def.c - a saga as a table of steps
    The checkout saga's rows and the rules every table must keep.
*/
#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <czmq.h>
#include "saga_def.h"

static const saga_step_t s_checkout_steps [] = {
    {   CK_SERVICE_INVENTORY, CK_TYPE_RESERVE_INVENTORY,
        CK_TYPE_RELEASE_INVENTORY, SAGA_STEP_COMPENSATABLE,
        SAGA_FIELD_ITEMS, SAGA_RESULT_RESERVATION },
    {   CK_SERVICE_PAYMENT, CK_TYPE_AUTHORIZE_PAYMENT,
        CK_TYPE_VOID_PAYMENT, SAGA_STEP_COMPENSATABLE,
        SAGA_FIELD_CUSTOMER | SAGA_FIELD_AMOUNT | SAGA_FIELD_PAYMENT,
        SAGA_RESULT_AUTHORIZATION },
    {   CK_SERVICE_ORDER, CK_TYPE_CREATE_ORDER,
        CK_TYPE_NONE, SAGA_STEP_PIVOT,
        SAGA_FIELD_CART | SAGA_FIELD_CUSTOMER | SAGA_FIELD_ITEMS
        | SAGA_FIELD_PRICES | SAGA_FIELD_AMOUNT | SAGA_FIELD_SHIP_TO
        | SAGA_FIELD_RESULTS,
        SAGA_RESULT_ORDER }
};

static const saga_def_t s_checkout = {
    "checkout", s_checkout_steps,
    sizeof (s_checkout_steps) / sizeof (s_checkout_steps [0])
};

static const char *s_kind_names [] = {
    NULL, "compensatable", "pivot", "retriable"
};


//  The checkout saga of docs/protocol.md#saga.  Can't fail.

const saga_def_t *
saga_def_checkout (void)
{
    return &s_checkout;
}


//  True when the row is well formed on its own.  Types are opaque to the
//  engine: the table, not protocol.h, says which is forward and which undoes.

static bool
s_row_valid (const saga_step_t *row)
{
    if (!ck_service_name (row->service) || !ck_type_name (row->action))
        return false;
    if (row->kind < SAGA_STEP_COMPENSATABLE || row->kind > SAGA_STEP_RETRIABLE)
        return false;
    if (row->kind != SAGA_STEP_COMPENSATABLE)
        return row->compensation == CK_TYPE_NONE;
    return ck_type_name (row->compensation) && row->compensation != row->action;
}


//  True when type appears in rows [0, count) as an action or compensation

static bool
s_type_used (const saga_step_t *rows, uint32_t count, ck_type_t type)
{
    for (uint32_t index = 0; index < count; index++)
        if (rows [index].action == type || rows [index].compensation == type)
            return true;
    return false;
}


//  Returns 0 when def is a valid table, else -1.

int
saga_def_check (const saga_def_t *def)
{
    if (!def || !def->steps || def->step_count == 0
    ||  def->step_count > CK_MAX_STEPS)
        return -1;
    uint32_t pivots = 0;
    for (uint32_t index = 0; index < def->step_count; index++) {
        const saga_step_t *row = &def->steps [index];
        if (!s_row_valid (row))
            return -1;
        //  Kinds never go backwards: compensatable, pivot, retriable
        if (index > 0 && row->kind < def->steps [index - 1].kind)
            return -1;
        if (row->kind == SAGA_STEP_PIVOT && ++pivots > 1)
            return -1;
        if (s_type_used (def->steps, index, row->action)
        ||  (row->compensation != CK_TYPE_NONE
             && s_type_used (def->steps, index, row->compensation)))
            return -1;
    }
    return 0;
}


//  Returns the index of the step whose forward request is type, or -1.

int
saga_def_find_action (const saga_def_t *def, ck_type_t type)
{
    for (uint32_t index = 0; type != CK_TYPE_NONE && index < def->step_count; index++)
        if (def->steps [index].action == type)
            return (int) index;
    return -1;
}


//  Returns the index of the step whose compensation is type, or -1.

int
saga_def_find_compensation (const saga_def_t *def, ck_type_t type)
{
    for (uint32_t index = 0; type != CK_TYPE_NONE && index < def->step_count; index++)
        if (def->steps [index].compensation == type)
            return (int) index;
    return -1;
}


//  Name of a step kind, or NULL when out of range.

const char *
saga_step_kind_name (saga_step_kind_t kind)
{
    if (kind <= SAGA_STEP_NONE || kind > SAGA_STEP_RETRIABLE)
        return NULL;
    return s_kind_names [kind];
}


char *
saga_def_request_result (const char *key, ck_request_t *request)
{
    assert (request);
    if (key && streq (key, SAGA_RESULT_RESERVATION))
        return request->reservation_id;
    if (key && streq (key, SAGA_RESULT_AUTHORIZATION))
        return request->authorization_id;
    return NULL;
}


int
saga_def_find_result (const saga_def_t *def, const char *key)
{
    for (uint32_t index = 0; key && index < def->step_count; index++)
        if (def->steps [index].result && streq (def->steps [index].result, key))
            return (int) index;
    return -1;
}


int
saga_def_describe (const saga_def_t *def, char *out, size_t size)
{
    assert (def && out && size > 0);
    size_t at = 0;
    out [0] = 0;
    for (uint32_t index = 0; index < def->step_count; index++) {
        const saga_step_t *row = &def->steps [index];
        int n = snprintf (out + at, size - at, "%s%s:%s/%s:%s:%#x:%s",
                          index? ";": "", ck_service_name (row->service),
                          ck_type_name (row->action),
                          row->compensation? ck_type_name (row->compensation): "",
                          saga_step_kind_name (row->kind), row->fields,
                          row->result? row->result: "");
        if (n < 0 || (size_t) n >= size - at)
            return -1;
        at += (size_t) n;
    }
    return 0;
}

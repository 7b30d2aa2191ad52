/*  saga_def.h - a saga as a table of steps (coordinator and participants)
    The checkout saga is one such table; the engine walks any valid table.

    A step row names the service, the forward request type, its compensation
    (NONE unless the step is compensatable), the kind of the step, which
    fields of the cart its forward request carries and which result id an ok
    reply to it returns.  Adding a step is adding a row.

    A valid table has 1..CK_MAX_STEPS rows whose kinds never go backwards:
    compensatable steps first, then at most one pivot, then retriable steps
    (the classic saga shape: whatever can fail must be undoable, and what
    comes after the point of no return must be able to succeed).  All its
    request types, forward and compensation, are distinct, since a
    participant's idempotency key is (saga_id, type), and because attempt
    numbers restart at 1 with each request type, a late reply could not be
    told apart from a current one if a type came twice.
*/
#ifndef SAGA_DEF_H_INCLUDED
#define SAGA_DEF_H_INCLUDED

#include "protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    SAGA_STEP_NONE = 0,
    SAGA_STEP_COMPENSATABLE,            //  undone by its compensation on failure
    SAGA_STEP_PIVOT,                    //  point of no return: never undone
    SAGA_STEP_RETRIABLE                 //  after the pivot: retried until ok
} saga_step_kind_t;

//  Fields of the saga a forward request carries (bits of saga_step_t.fields);
//  saga_id, checkout_id, type, attempt and deadline_ms always go.
#define SAGA_FIELD_ITEMS        0x01    //  items: sku, qty
#define SAGA_FIELD_PRICES       0x02    //  items also carry unit_price
#define SAGA_FIELD_CART         0x04    //  cart_id
#define SAGA_FIELD_CUSTOMER     0x08    //  customer_id
#define SAGA_FIELD_AMOUNT       0x10    //  amount, currency
#define SAGA_FIELD_PAYMENT      0x20    //  payment_method
#define SAGA_FIELD_SHIP_TO      0x40    //  ship_to
#define SAGA_FIELD_RESULTS      0x80    //  reservation_id, authorization_id

//  The result id an ok reply to a forward request carries
typedef enum {
    SAGA_RESULT_NONE = 0,
    SAGA_RESULT_RESERVATION,            //  reservation_id
    SAGA_RESULT_AUTHORIZATION,          //  authorization_id
    SAGA_RESULT_ORDER                   //  order_id
} saga_result_id_t;

typedef struct {
    ck_service_t service;
    ck_type_t action;                   //  the forward request
    ck_type_t compensation;             //  NONE unless compensatable
    saga_step_kind_t kind;
    unsigned fields;                    //  SAGA_FIELD_* of the forward request
    saga_result_id_t result;
} saga_step_t;

typedef struct {
    const char *name;                   //  for logs: "checkout"
    const saga_step_t *steps;
    uint32_t step_count;
} saga_def_t;

//  The checkout saga of protocol.md §7: reserve inventory, authorize
//  payment (both compensatable), create the order (pivot).  Static: can't
//  fail, never freed.
const saga_def_t *saga_def_checkout (void);

//  Returns 0 when def is a valid table (see above), else -1.
int saga_def_check (const saga_def_t *def);

//  Returns the index of the step whose forward request is type, or -1.
int saga_def_find_action (const saga_def_t *def, ck_type_t type);

//  Returns the index of the step whose compensation is type, or -1.
int saga_def_find_compensation (const saga_def_t *def, ck_type_t type);

//  Where a reply carries the id of kind result, or NULL for
//  SAGA_RESULT_NONE: the one place a result kind meets the wire's fixed
//  reply fields.  Can't fail.
char *saga_def_reply_field (saga_result_id_t result, ck_reply_t *reply);

//  The id of kind result that reply carries (borrowed), or NULL for
//  SAGA_RESULT_NONE.  Can't fail.
const char *saga_def_reply_result (saga_result_id_t result, const ck_reply_t *reply);

//  Where a request carries the id of kind result (SAGA_FIELD_RESULTS), or
//  NULL when requests do not carry that kind.  Can't fail.
char *saga_def_request_result (saga_result_id_t result, ck_request_t *request);

//  Name of a step kind ("compensatable", "pivot", "retriable"), or NULL.
const char *saga_step_kind_name (saga_step_kind_t kind);

#ifdef __cplusplus
}
#endif

#endif

/*  saga_def.h - a saga as a table of steps (coordinator and participants)
    The checkout saga is one such table; the engine walks any valid table.

    A step row names the service, the forward request type, its compensation
    (NONE unless the step is compensatable), the kind of the step, which
    fields of the cart its forward request carries and the key of the result
    id an ok reply to it returns.  Adding a step is adding a row: in a file
    (saga_def_load, format in docs/saga-steps.md) that every process of the
    group reads with --steps, and a participant for its service.

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

#include "checkout/config.h"
#include "checkout/protocol.h"

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

//  Keys of the results the checkout saga's steps return
#define SAGA_RESULT_RESERVATION     "reservation_id"
#define SAGA_RESULT_AUTHORIZATION   "authorization_id"
#define SAGA_RESULT_ORDER           "order_id"  //  a RESULT's order_id

typedef struct {
    ck_service_t service;
    ck_type_t action;                   //  the forward request
    ck_type_t compensation;             //  NONE unless compensatable
    saga_step_kind_t kind;
    unsigned fields;                    //  SAGA_FIELD_* of the forward request
    const char *result;                 //  key of the ok result id, or NULL
} saga_step_t;

typedef struct {
    const char *name;                   //  for logs: "checkout"
    const saga_step_t *steps;
    uint32_t step_count;
} saga_def_t;

//  The checkout saga of docs/protocol.md#saga: reserve inventory, authorize
//  payment (both compensatable), create the order (pivot).  Static: can't
//  fail, never freed.
const saga_def_t *saga_def_checkout (void);

//  Returns 0 when def is a valid table (see above), else -1.
int saga_def_check (const saga_def_t *def);

//  The table this process runs: the checkout saga, unless saga_def_load
//  replaced it.  Can't fail.
const saga_def_t *saga_def_active (void);

//  Reads a step table from a ZPL file (docs/saga-steps.md), adds its
//  services and types to the protocol's vocabularies and makes it the
//  active table.  Call it once, while the process starts, before any
//  thread.  Returns 0, or -1 with one line saying what is wrong in error.
int saga_def_load (const char *path, char *error, size_t error_size);

//  The --steps FILE option every executable of the group takes, and its
//  loading: 0 (also when not given), or 2 after reporting a usage error.
#define SAGA_DEF_STEPS_OPTION \
    { "steps", CK_OPT_STRING, NULL, 0, 0, "FILE", \
      "the saga's step table, the same file for the whole group (default: the checkout saga)" }
int saga_def_load_flag (ck_config_t *config);

//  Returns the index of the step whose forward request is type, or -1.
int saga_def_find_action (const saga_def_t *def, ck_type_t type);

//  Returns the index of the step whose compensation is type, or -1.
int saga_def_find_compensation (const saga_def_t *def, ck_type_t type);

//  Where a request carries the result id under key (SAGA_FIELD_RESULTS),
//  or NULL when requests do not carry that key.  Can't fail.
char *saga_def_request_result (const char *key, ck_request_t *request);

//  The index of the step whose ok result is under key, or -1.
int saga_def_find_result (const saga_def_t *def, const char *key);

//  Writes def's rows as one line of text into out (size bytes; the
//  longest table fits 1024): two processes run the same saga exactly when
//  their lines are equal.  Returns 0, or -1 when it does not fit.
int saga_def_describe (const saga_def_t *def, char *out, size_t size);

//  Name of a step kind ("compensatable", "pivot", "retriable"), or NULL.
const char *saga_step_kind_name (saga_step_kind_t kind);

#ifdef __cplusplus
}
#endif

#endif

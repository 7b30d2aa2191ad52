/*  ledger.h - a participant's idempotency records, and answering once
    The operations a ledger backend keeps, and ledger_run over any of them.

    One entry per (saga_id, type) answered
    (docs/protocol.md#participant-guarantees): a repeat gets the recorded
    answer and does nothing else; a compensation that finds no forward
    effect leaves its entry as a tombstone, and the forward request
    that comes later is rejected "compensated".  Which types are forward,
    which compensates which and which result id an ok answer returns come
    from the active step table (saga_def_active), not from the code.

    One checkout, one saga (docs/protocol.md#participant-guarantees): an
    ok forward answer records the checkout_id its effect belongs to, and a
    forward request of another saga for that checkout is rejected
    "duplicate_checkout", naming the saga that holds it, and does nothing.
    Two coordinators that cannot see each other's sagas (each its own log)
    can both start one for the same checkout; this is where the second
    stops.

    An entry has a number, given when it is recorded; an ok forward
    answer's result id is derived from it ("res-<n>", "auth-<n>",
    "ord-<n>"), so it is short and unique in the file.  Types are stored
    by their ck_type_code, which does not depend on a table's order.  A forward entry
    may keep a detail (text) for its compensation: the inventory keeps the
    lines it took, so the release gives back exactly those.

    The SQLite backend is ledger_sqlite.c (participant_store.h opens it);
    a backend fills the operations of ledger_t.
*/
#ifndef CK_LEDGER_H_INCLUDED
#define CK_LEDGER_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "checkout/protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Longest detail, with its terminating nul: the inventory's 100 lines of
//  ["<64-char sku>",10000] fit
#define LEDGER_DETAIL_SIZE 8192

//  One recorded answer
typedef struct {
    int64_t id;                         //  its number, > 0 once recorded
    ck_outcome_t outcome;               //  OK or REJECTED; errors are never recorded
    ck_reason_t reason;                 //  of a rejection
    char detail [LEDGER_DETAIL_SIZE];   //  for the compensation; "" when none
} ledger_entry_t;

//  What find reports, as bits
#define LEDGER_FOUND_OWN     1          //  the request's own entry
#define LEDGER_FOUND_PARTNER 2          //  its partner's (see find)
#define LEDGER_FOUND_HELD    4          //  another saga's effect on the checkout

//  The rejection of a second saga for a checkout
#define LEDGER_REASON_DUPLICATE "duplicate_checkout"

//  What find looks up for one request
typedef struct {
    const char *saga_id;
    const char *checkout_id;            //  the request's; "" or NULL: none
    ck_type_t type;
    ck_type_t partner;                  //  CK_TYPE_NONE: none
    bool forward;                       //  look for another saga's effect
} ledger_query_t;

typedef struct _ledger_t ledger_t;

//  The operations of a backend; each returns -1 after logging on failure.
struct _ledger_t {
    //  Starts one request's unit of work (inside the batch's transaction,
    //  or its own when there is none).  0 or -1.
    int (*begin) (ledger_t *self);
    //  Ends it.  failed: the request failed, and nothing it wrote may
    //  become durable (the backend rolls back, or fails the batch).
    //  0, or -1 when the unit could not be made durable.
    int (*end) (ledger_t *self, bool failed);
    //  Looks up, in one read, the entries of (saga_id, type) into own and
    //  of (saga_id, partner) into other, and when query->forward the saga
    //  id of another saga with an effect recorded for checkout_id into
    //  holder (CK_ID_SIZE bytes).  Returns the LEDGER_FOUND_* bits found,
    //  or -1.
    int (*find) (ledger_t *self, const ledger_query_t *query, ledger_entry_t *own,
                 ledger_entry_t *other, char *holder);
    //  Records entry (outcome, reason, detail) as the answer to (saga_id,
    //  type), with checkout_id (NULL: none) when it is an effect held for
    //  that checkout, and sets entry->id.  0, or -1 (also when already
    //  recorded).
    int (*record) (ledger_t *self, const char *saga_id, ck_type_t type,
                   const char *checkout_id, ledger_entry_t *entry);
    //  Retention, outside any request or batch: deletes, in a transaction
    //  of its own, the entries among the max oldest (by number) that were
    //  recorded before before_ms (wall-clock ms), with the rows numbered
    //  alike in each of the count tables details (the service's detail
    //  tables, keyed by the entry's number; the same at every call).  The
    //  newest entry stays, so numbers, and the result ids made from them,
    //  are never given twice.
    //  Returns how many entries went (max: there may be more), or -1.
    int (*expire) (ledger_t *self, int64_t before_ms, int max,
                   const char *const *details, size_t count);
    //  Destroys the backend; safe on NULL, nulls the pointer.
    void (*destroy) (ledger_t **self_p);
};

//  A participant's handling of one request type, in two parts.  decide
//  sets answer->outcome (OK, or REJECTED with a reason) and may act and
//  set answer->detail; for a compensation, forward is the forward
//  request's ok entry, or NULL when there is no forward effect to undo.
//  apply (may be NULL) runs after an ok answer is recorded, with its id,
//  for an effect stored under that number.  Both return 0, or -1 on a
//  technical failure (nothing the request did is then kept).
typedef struct {
    int (*decide) (void *state, const ck_request_t *request,
                   const ledger_entry_t *forward, ledger_entry_t *answer);
    int (*apply) (void *state, const ck_request_t *request,
                  const ledger_entry_t *answer);
} ledger_handler_t;

//  Answers request once, per the checkout saga's step table: a repeat
//  gets the recorded answer; a forward request whose compensation came
//  first is rejected "compensated", one whose checkout another saga holds
//  "duplicate_checkout"; otherwise the handler decides, the answer is
//  recorded (an ok forward one with its checkout_id), and an ok one
//  applied.  Sets reply's outcome,
//  reason and result id.  Returns 0, or -1 (a type the table does not
//  have, the handler or the backend failed) with reply's answer cleared.
int ledger_run (ledger_t *ledger, const ledger_handler_t *handler, void *state,
                const ck_request_t *request, ck_reply_t *reply);

//  What the active step table says of type: forward (an action) or a
//  compensation, and its partner (its compensation, CK_TYPE_NONE for none;
//  or its action).  False when the table lacks type.
bool ledger_role (ck_type_t type, bool *forward, ck_type_t *partner);

//  Sets reply's outcome, reason and result id (an ok forward answer's)
//  from entry, the recorded answer to a request of reply->type.  Can't fail.
void ledger_answer (ck_reply_t *reply, const ledger_entry_t *entry);

//  Sets answer to the rejection "compensated" of a forward request whose
//  compensation ran first (and left a tombstone).  Can't fail.
void ledger_reject_compensated (ledger_entry_t *answer, ck_type_t compensation);

//  Sets answer to the rejection "duplicate_checkout" of a forward request
//  for checkout_id, which saga holder holds.  Can't fail.
void ledger_reject_duplicate (ledger_entry_t *answer, const char *checkout_id,
                              const char *holder);

//  The result id's prefix for type ("res-", "auth-", "ord-"; for a type
//  of a loaded table, its result key without "_id", then "-"), or NULL
//  when type returns none.  buffer (CK_NAME_SIZE bytes) may hold the
//  prefix.  Can't fail.
const char *ledger_result_prefix (ck_type_t type, char *buffer, size_t size);

#ifdef __cplusplus
}
#endif

#endif

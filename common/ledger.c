/*  ledger.c - answering a participant's request once, over any ledger
    Repeats, tombstones and result ids, driven by the saga's step table.
*/
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <czmq.h>
#include "ledger.h"
#include "saga_def.h"

//  What the step table says about one request type
typedef struct {
    bool forward;                       //  an action, else a compensation
    ck_type_t partner;                  //  its compensation / its action
    const char *result;                 //  key of an ok answer's id, or NULL
} role_t;

//  Finds type's role in the active saga; false when the table lacks it
static bool
s_role (ck_type_t type, role_t *role)
{
    const saga_def_t *def = saga_def_active ();
    int index = saga_def_find_action (def, type);
    if (index >= 0) {
        const saga_step_t *step = &def->steps [index];
        *role = (role_t) { true, step->compensation, step->result };
        return true;
    }
    index = saga_def_find_compensation (def, type);
    if (index >= 0) {
        *role = (role_t) { false, def->steps [index].action, NULL };
        return true;
    }
    return false;
}

//  The prefix of the ids this ledger derives for results under key: short
//  ones for the checkout saga's, "<key without _id>-" for others
static const char *
s_prefix (const char *key, char *buffer, size_t size)
{
    if (!key)
        return NULL;
    if (streq (key, SAGA_RESULT_RESERVATION))
        return "res-";
    if (streq (key, SAGA_RESULT_AUTHORIZATION))
        return "auth-";
    if (streq (key, SAGA_RESULT_ORDER))
        return "ord-";
    size_t len = strlen (key);
    if (len > 3 && streq (key + len - 3, "_id"))
        len -= 3;
    snprintf (buffer, size, "%.*s-", (int) len, key);
    return buffer;
}

const char *
ledger_result_prefix (ck_type_t type, char *buffer, size_t size)
{
    role_t role = { false, CK_TYPE_NONE, NULL };
    s_role (type, &role);
    return s_prefix (role.result, buffer, size);
}

//  Sets reply's answer from entry; an ok forward answer gets its result id
static void
s_answer (ck_reply_t *reply, const role_t *role, const ledger_entry_t *entry)
{
    reply->outcome = entry->outcome;
    reply->reason = entry->reason;
    char buffer [CK_NAME_SIZE];
    const char *prefix = s_prefix (role->result, buffer, sizeof buffer);
    if (prefix && entry->outcome == CK_OUTCOME_OK)
        snprintf (reply->result_id, sizeof reply->result_id, "%s%" PRId64, prefix, entry->id);
}

//  Clears whatever a failed request left in reply, keeping the echo.
static void
s_clear_answer (ck_reply_t *reply)
{
    ck_reply_t cleared = { 0 };
    memcpy (cleared.saga_id, reply->saga_id, sizeof cleared.saga_id);
    cleared.type = reply->type;
    cleared.attempt = reply->attempt;
    *reply = cleared;
}

bool
ledger_role (ck_type_t type, bool *forward, ck_type_t *partner)
{
    assert (forward && partner);
    role_t role;
    if (!s_role (type, &role))
        return false;
    *forward = role.forward;
    *partner = role.partner;
    return true;
}

void
ledger_answer (ck_reply_t *reply, const ledger_entry_t *entry)
{
    assert (reply && entry);
    role_t role = { false, CK_TYPE_NONE, NULL };
    s_role (reply->type, &role);
    s_answer (reply, &role, entry);
}

//  Sets a "compensated" rejection: the saga's compensation of this step
//  ran first and left a tombstone, so the step must never take effect.
void
ledger_reject_compensated (ledger_entry_t *answer, ck_type_t compensation)
{
    answer->outcome = CK_OUTCOME_REJECTED;
    snprintf (answer->reason.code, sizeof answer->reason.code, "compensated");
    snprintf (answer->reason.message, sizeof answer->reason.message,
              "%s already ran for this saga", ck_type_name (compensation));
}

void
ledger_reject_duplicate (ledger_entry_t *answer, const char *checkout_id,
                         const char *holder)
{
    answer->outcome = CK_OUTCOME_REJECTED;
    snprintf (answer->reason.code, sizeof answer->reason.code, LEDGER_REASON_DUPLICATE);
    snprintf (answer->reason.message, sizeof answer->reason.message,
              "checkout %s is held by saga %s", checkout_id, holder);
}

//  The body of ledger_run, inside the request's unit of work.  The
//  handler decides before anything is recorded, so a rejection is a
//  refusal to act: the rules make sure it acted on nothing (the inventory
//  takes a cart in one statement that fails whole).
static int
s_run (ledger_t *ledger, const ledger_handler_t *handler, void *state,
       const ck_request_t *request, const role_t *role, ledger_entry_t *entries,
       ck_reply_t *reply)
{
    ledger_entry_t *answer = &entries [0];
    ledger_entry_t *other = &entries [1];
    ledger_query_t query = {
        request->saga_id, request->checkout_id, request->type, role->partner,
        role->forward && request->checkout_id [0]
    };
    char holder [CK_ID_SIZE];
    int found = ledger->find (ledger, &query, answer, other, holder);
    if (found == -1)
        return -1;
    if (found & LEDGER_FOUND_OWN) {
        s_answer (reply, role, answer);     //  a repeat: the first answer wins
        return 0;
    }
    //  Not the whole entry: its detail is 8 KiB, and "" empties it
    answer->id = 0;
    answer->outcome = CK_OUTCOME_NONE;
    memset (&answer->reason, 0, sizeof answer->reason);
    answer->detail [0] = 0;
    if (role->forward && (found & LEDGER_FOUND_PARTNER))
        ledger_reject_compensated (answer, role->partner);
    else
    if (role->forward && (found & LEDGER_FOUND_HELD))
        ledger_reject_duplicate (answer, request->checkout_id, holder);
    else {
        const ledger_entry_t *forward = !role->forward && (found & LEDGER_FOUND_PARTNER)
                                     && other->outcome == CK_OUTCOME_OK? other: NULL;
        if (handler->decide (state, request, forward, answer))
            return -1;
        assert (answer->outcome == CK_OUTCOME_OK || answer->outcome == CK_OUTCOME_REJECTED);
    }
    //  Only an effect holds the checkout: a refusal leaves it free
    bool effect = role->forward && answer->outcome == CK_OUTCOME_OK
               && request->checkout_id [0];
    if (ledger->record (ledger, request->saga_id, request->type,
                        effect? request->checkout_id: NULL, answer))
        return -1;
    if (answer->outcome == CK_OUTCOME_OK && handler->apply
    &&  handler->apply (state, request, answer))
        return -1;
    s_answer (reply, role, answer);
    return 0;
}

int
ledger_run (ledger_t *ledger, const ledger_handler_t *handler, void *state,
            const ck_request_t *request, ck_reply_t *reply)
{
    assert (ledger);
    assert (handler && handler->decide);
    assert (request);
    assert (reply);
    role_t role;
    if (!s_role (request->type, &role)) {
        zsys_warning ("ledger: saga=%s type=%d error=not a step of the saga",
                      request->saga_id, (int) request->type);
        return -1;
    }
    //  On the stack (16 KiB): a malloc and free of this size per request
    //  made glibc grow and trim the thread's arena each time (a third of
    //  the inventory's CPU, perf)
    ledger_entry_t entries [2];
    int rc = ledger->begin (ledger);
    if (rc == 0) {
        rc = s_run (ledger, handler, state, request, &role, entries, reply);
        if (ledger->end (ledger, rc != 0))
            rc = -1;
    }
    if (rc)
        s_clear_answer (reply);
    return rc;
}

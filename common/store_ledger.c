/*  store_ledger.c - participants' idempotency records, over a store
    One row per (saga, request type) answered: repeats get the first
    answer, a compensation that came first turns its forward request away,
    and a request's effect and its record commit together or not at all.
*/
#include <assert.h>
#include <string.h>
#include <czmq.h>
#include "store.h"

//  The savepoint each request runs under
#define REQUEST_SAVEPOINT "ck_request"

//  Where the result id of a request type travels in its reply; NULL for
//  the compensations, which return none.
static char *
s_result_id (ck_reply_t *reply, ck_type_t type)
{
    switch (type) {
        case CK_TYPE_RESERVE_INVENTORY: return reply->reservation_id;
        case CK_TYPE_AUTHORIZE_PAYMENT: return reply->authorization_id;
        case CK_TYPE_CREATE_ORDER:      return reply->order_id;
        default:                        return NULL;
    }
}

//  The compensation of a forward type (§5); NONE when it has none.
static ck_type_t
s_compensation_of (ck_type_t type)
{
    switch (type) {
        case CK_TYPE_RESERVE_INVENTORY: return CK_TYPE_RELEASE_INVENTORY;
        case CK_TYPE_AUTHORIZE_PAYMENT: return CK_TYPE_VOID_PAYMENT;
        default:                        return CK_TYPE_NONE;
    }
}

//  Copies column into dest (size bytes), truncating; NULL gives "".
static void
s_copy_column (char *dest, size_t size, sqlite3_stmt *stmt, int column)
{
    const char *text = (const char *) sqlite3_column_text (stmt, column);
    size_t length = text? strnlen (text, size - 1): 0;
    if (length)
        memcpy (dest, text, length);
    dest [length] = 0;
}



//  Sets reply from the ledger row under stmt's cursor, recorded for type:
//  columns outcome, reason_code, reason_message, reason_sku, result_id.
static void
s_ledger_copy (sqlite3_stmt *stmt, ck_type_t type, ck_reply_t *reply)
{
    const char *outcome = (const char *) sqlite3_column_text (stmt, 0);
    reply->outcome = outcome && strcmp (outcome, "ok") == 0
                   ? CK_OUTCOME_OK: CK_OUTCOME_REJECTED;
    s_copy_column (reply->reason.code, sizeof reply->reason.code, stmt, 1);
    s_copy_column (reply->reason.message, sizeof reply->reason.message, stmt, 2);
    s_copy_column (reply->reason.sku, sizeof reply->reason.sku, stmt, 3);
    char *result_id = s_result_id (reply, type);
    if (result_id)
        s_copy_column (result_id, CK_ID_SIZE, stmt, 4);
}

int
store_ledger_find (store_t *self, const char *saga_id, ck_type_t type, ck_reply_t *reply)
{
    assert (self);
    assert (saga_id);
    assert (reply);
    sqlite3_stmt *stmt = store_prepare (self,
        "SELECT outcome, reason_code, reason_message, reason_sku, result_id"
        " FROM processed_requests WHERE saga_id = ? AND type = ?");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, saga_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, ck_type_name (type), -1, SQLITE_STATIC);
    int rc = store_step (self, stmt, "ledger_find");
    if (rc != SQLITE_ROW)
        return rc == SQLITE_DONE? 0: -1;
    s_ledger_copy (stmt, type, reply);
    sqlite3_reset (stmt);
    return 1;
}

//  Looks up the request's own answer and its compensation's tombstone in
//  one statement, once per request.  Returns 1 with reply set when the
//  request itself is recorded (it wins), else 0, with compensated set when
//  its compensation is; -1 on error.  With no compensation ?3 is NULL and
//  matches nothing.  The "+" keeps the IN off the index: as an index
//  constraint SQLite 3.40 builds an ephemeral b-tree per run (20% more
//  CPU per reserve than two lookups); this way it is one seek on saga_id
//  and two comparisons per row, and a saga has one row per type at most.
static int
s_ledger_lookup (store_t *self, const ck_request_t *request, ck_type_t compensation,
                 ck_reply_t *reply, bool *compensated)
{
    sqlite3_stmt *stmt = store_prepare (self,
        "SELECT outcome, reason_code, reason_message, reason_sku, result_id,"
        " type = ?2 FROM processed_requests"
        " WHERE saga_id = ?1 AND +type IN (?2, ?3)");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, request->saga_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, ck_type_name (request->type), -1, SQLITE_STATIC);
    if (compensation != CK_TYPE_NONE)
        sqlite3_bind_text (stmt, 3, ck_type_name (compensation), -1, SQLITE_STATIC);
    int found = 0;
    int rc;
    while ((rc = store_step (self, stmt, "ledger_find")) == SQLITE_ROW) {
        if (sqlite3_column_int (stmt, 5)) {
            s_ledger_copy (stmt, request->type, reply);
            found = 1;
        }
        else
            *compensated = true;
    }
    if (rc == -1)
        return -1;
    sqlite3_reset (stmt);
    return found;
}

int
store_ledger_record (store_t *self, const char *saga_id, ck_type_t type, const ck_reply_t *reply)
{
    assert (self);
    assert (saga_id);
    assert (reply);
    assert (reply->outcome == CK_OUTCOME_OK || reply->outcome == CK_OUTCOME_REJECTED);
    sqlite3_stmt *stmt = store_prepare (self,
        "INSERT INTO processed_requests (saga_id, type, outcome, reason_code,"
        " reason_message, reason_sku, result_id, recorded_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?)");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, saga_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 2, ck_type_name (type), -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 3, ck_outcome_name (reply->outcome), -1, SQLITE_STATIC);
    store_bind_optional (stmt, 4, reply->reason.code);
    store_bind_optional (stmt, 5, reply->reason.message);
    store_bind_optional (stmt, 6, reply->reason.sku);
    store_bind_optional (stmt, 7, s_result_id ((ck_reply_t *) reply, type));
    sqlite3_bind_int64 (stmt, 8, zclock_time ());
    return store_done (self, stmt, "ledger_record");
}

//  Sets a "compensated" rejection: the saga's compensation of this step
//  ran first and left a tombstone, so the step must never take effect.
static void
s_reject_compensated (ck_reply_t *reply, ck_type_t compensation)
{
    reply->outcome = CK_OUTCOME_REJECTED;
    snprintf (reply->reason.code, sizeof reply->reason.code, "compensated");
    snprintf (reply->reason.message, sizeof reply->reason.message,
              "%s already ran for this saga", ck_type_name (compensation));
}

//  Clears whatever a failed handler left in reply, keeping the echo.
static void
s_clear_answer (ck_reply_t *reply)
{
    ck_reply_t cleared = { 0 };
    memcpy (cleared.saga_id, reply->saga_id, sizeof cleared.saga_id);
    cleared.type = reply->type;
    cleared.attempt = reply->attempt;
    *reply = cleared;
}

//  The body of store_ledger_run, inside its savepoint.  A rejection is a
//  refusal to act, so whatever fn did before refusing (the first lines of
//  a cart whose last line is short) is rolled back to the savepoint before
//  the rejection is recorded.
static int
s_ledger_answer (store_t *self, store_handler_fn *fn, void *state,
                 const ck_request_t *request, ck_reply_t *reply)
{
    ck_type_t compensation = s_compensation_of (request->type);
    bool compensated = false;
    int found = s_ledger_lookup (self, request, compensation, reply, &compensated);
    if (found)
        return found == 1? 0: -1;       //  a repeat: the first answer wins
    if (compensated)
        s_reject_compensated (reply, compensation);
    if (reply->outcome == CK_OUTCOME_NONE) {
        if (fn (state, request, reply))
            return -1;
        assert (reply->outcome == CK_OUTCOME_OK || reply->outcome == CK_OUTCOME_REJECTED);
        if (reply->outcome == CK_OUTCOME_REJECTED
        &&  store_undo_to (self, REQUEST_SAVEPOINT))
            return -1;
    }
    return store_ledger_record (self, request->saga_id, request->type, reply);
}

int
store_ledger_run (store_t *self, store_handler_fn *fn, void *state,
                  const ck_request_t *request, ck_reply_t *reply)
{
    assert (self);
    assert (fn);
    assert (request);
    assert (reply);
    if (store_savepoint (self, REQUEST_SAVEPOINT))
        return -1;
    if (s_ledger_answer (self, fn, state, request, reply) == 0
    &&  store_release (self, REQUEST_SAVEPOINT) == 0)
        return 0;
    store_rollback_to (self, REQUEST_SAVEPOINT);
    s_clear_answer (reply);
    return -1;
}

/*  ledger_pg.c - the ledger (ledger.h) in a participant's PostgreSQL database
    A row per answer; one lookup and one insert per request.
*/
#include <assert.h>
#include <string.h>
#include <czmq.h>
#include "ledger_pg.h"
#include "checkout/participant.h"

//  The database stores outcomes and types as these numbers
_Static_assert (CK_OUTCOME_OK == 1 && CK_OUTCOME_REJECTED == 2, "ledger outcome codes");

//  The first key of the checkouts' advisory locks ("ck" + 1)
#define LEDGER_PG_CHECKOUT_LOCK "25452"

typedef struct {
    ledger_t ops;                       //  first: the ledger_t * is this
    pg_t *pg;                           //  borrowed
    bool own_transaction;               //  begin opened one for the request
    bool batch;                         //  a batch's transaction is open
    bool spoiled;                       //  a request failed after writing
    uint64_t writes;                    //  pg_writes at begin
    uint64_t failures;                  //  pg_failures at begin
    char *expire_sql;                   //  made at the first expire (pg.h
                                        //  keeps the text's address)
    size_t expire_details;              //  the detail tables it deletes from
    pg_statement_t *calls;              //  a batch's, for ledger_pg_run
    PGresult **results;
    size_t *requests;                   //  the request of each call
    size_t alloc;
} ledger_pg_t;

//  Copies a field into dest (size bytes), truncating; NULL gives "".
static void
s_copy (char *dest, size_t size, PGresult *result, int row, int column)
{
    const char *text = PQgetisnull (result, row, column)? "": PQgetvalue (result, row, column);
    size_t length = strnlen (text, size - 1);
    memcpy (dest, text, length);
    dest [length] = 0;
}

//  Sets entry from row: id, outcome, reason_code, reason_message,
//  reason_sku, detail.
static void
s_read_entry (PGresult *result, int row, ledger_entry_t *entry)
{
    entry->id = strtoll (PQgetvalue (result, row, 0), NULL, 10);
    entry->outcome = atoi (PQgetvalue (result, row, 1)) == CK_OUTCOME_OK
                   ? CK_OUTCOME_OK: CK_OUTCOME_REJECTED;
    s_copy (entry->reason.code, sizeof entry->reason.code, result, row, 2);
    s_copy (entry->reason.message, sizeof entry->reason.message, result, row, 3);
    s_copy (entry->reason.sku, sizeof entry->reason.sku, result, row, 4);
    s_copy (entry->detail, sizeof entry->detail, result, row, 5);
}

//  Both entries in one statement, by the unique index on (saga_id, type).
//  With no partner $3 is NULL and matches nothing.  The same statement
//  looks for another saga's effect on the checkout ($4, NULL: not
//  looked for) by the partial index on checkout_id: kind 2, its saga id
//  in the detail column.
//
//  First, in the same round trip, the checkout's lock (held until the
//  transaction ends), which every request of a saga takes (a saga has one
//  checkout): an instance's forward request and another's compensation of
//  the same saga must not both miss each other's uncommitted entry (the
//  compensation would leave a tombstone and the forward request take
//  effect: stock held for a failed saga), nor two sagas of one checkout
//  each other's effect.  With the lock the second waits for the first's
//  commit, and its lookup, a new statement, sees it.  Checkouts whose ids
//  hash alike just wait for each other.  A request without a checkout
//  (none comes from a coordinator) takes its saga's lock instead.
static int
s_find (ledger_t *base, const ledger_query_t *query, ledger_entry_t *own,
        ledger_entry_t *other, char *holder)
{
    ledger_pg_t *self = (ledger_pg_t *) base;
    char type_text [24], partner_text [24];
    const char *checkout = query->checkout_id? query->checkout_id: "";
    const char *lock [] = { *checkout? checkout: query->saga_id };
    const char *values [] = {
        query->saga_id, pg_int (type_text, ck_type_code (query->type)),
        query->partner == CK_TYPE_NONE
            ? NULL: pg_int (partner_text, ck_type_code (query->partner)),
        query->forward && *checkout? checkout: NULL
    };
    static const char *sql =
        "SELECT id, outcome, reason_code, reason_message, reason_sku, detail,"
        " (type = $2::integer)::integer FROM ledger WHERE saga_id = $1"
        " AND type IN ($2::integer, $3::integer)"
        " UNION ALL (SELECT 0, 0, NULL, NULL, NULL, saga_id, 2 FROM ledger"
        " WHERE checkout_id = $4 AND saga_id <> $1 LIMIT 1)";
    //  Without a checkout the caller holds the lock already (s_duplicate)
    PGresult *result = query->checkout_id
        ? pg_query_after (self->pg, "SELECT pg_advisory_xact_lock (" LEDGER_PG_CHECKOUT_LOCK
                          ", hashtext ($1))", 1, lock, sql, 4, values, "ledger_find")
        : pg_query (self->pg, sql, 4, values, "ledger_find");
    if (!result)
        return -1;
    int found = 0;
    for (int row = 0; row < PQntuples (result); row++) {
        int kind = atoi (PQgetvalue (result, row, 6));
        if (kind == 2) {
            s_copy (holder, CK_ID_SIZE, result, row, 5);
            found |= LEDGER_FOUND_HELD;
            continue;
        }
        s_read_entry (result, row, kind? own: other);
        found |= kind? LEDGER_FOUND_OWN: LEDGER_FOUND_PARTNER;
    }
    PQclear (result);
    return found;
}

//  A concurrent duplicate: another instance recorded (saga_id, type) and
//  committed while this one decided.  Its answer is the answer; it can be
//  returned as ours only if this request wrote nothing.
static int
s_duplicate (ledger_pg_t *self, const char *saga_id, ck_type_t type, ledger_entry_t *entry)
{
    if (pg_writes (self->pg) != self->writes) {
        zsys_warning ("ledger: db=%s saga=%s type=%d error=answered meanwhile by another"
                      " instance; batch rolled back, the retry reads the answer",
                      pg_name (self->pg), saga_id, (int) type);
        self->spoiled = true;
        return -1;
    }
    ledger_entry_t other;
    char holder [CK_ID_SIZE];
    ledger_query_t query = { saga_id, NULL, type, CK_TYPE_NONE, false };
    int found = s_find (&self->ops, &query, entry, &other, holder);
    if (found == -1)
        return -1;
    if (!(found & LEDGER_FOUND_OWN)) {
        zsys_error ("ledger: db=%s saga=%s type=%d error=conflicting entry not found",
                    pg_name (self->pg), saga_id, (int) type);
        return -1;
    }
    zsys_info ("ledger: db=%s saga=%s type=%d answered by another instance: its answer"
               " is returned", pg_name (self->pg), saga_id, (int) type);
    return 0;
}

static const char *
s_optional (const char *text)
{
    return text && *text? text: NULL;
}

static int
s_record (ledger_t *base, const char *saga_id, ck_type_t type, const char *checkout_id,
          ledger_entry_t *entry)
{
    ledger_pg_t *self = (ledger_pg_t *) base;
    assert (entry->outcome == CK_OUTCOME_OK || entry->outcome == CK_OUTCOME_REJECTED);
    char type_text [24], outcome_text [24], now_text [24];
    const char *values [] = {
        saga_id, pg_int (type_text, ck_type_code (type)), pg_int (outcome_text, entry->outcome),
        s_optional (entry->reason.code), s_optional (entry->reason.message),
        s_optional (entry->reason.sku), s_optional (entry->detail),
        pg_int (now_text, zclock_time ()), s_optional (checkout_id)
    };
    PGresult *result = pg_query (self->pg,
        "INSERT INTO ledger (saga_id, type, outcome, reason_code, reason_message,"
        " reason_sku, detail, recorded_at, checkout_id) VALUES ($1, $2, $3, $4, $5, $6,"
        " $7, $8, $9) ON CONFLICT (saga_id, type) DO NOTHING RETURNING id", 9, values,
        "ledger_record");
    if (!result)
        return -1;
    int rows = PQntuples (result);
    if (rows == 1)
        entry->id = strtoll (PQgetvalue (result, 0, 0), NULL, 10);
    PQclear (result);
    return rows == 1? 0: s_duplicate (self, saga_id, type, entry);
}

static int
s_begin (ledger_t *base)
{
    ledger_pg_t *self = (ledger_pg_t *) base;
    if (self->batch && (self->spoiled || !pg_in_transaction (self->pg))) {
        self->spoiled = true;           //  lost with its connection
        return -1;
    }
    self->own_transaction = !self->batch && !pg_in_transaction (self->pg);
    if (self->own_transaction && (pg_ready (self->pg) || pg_begin (self->pg)))
        return -1;
    self->writes = pg_writes (self->pg);
    self->failures = pg_failures (self->pg);
    return 0;
}

static int
s_end (ledger_t *base, bool failed)
{
    ledger_pg_t *self = (ledger_pg_t *) base;
    if (self->own_transaction) {
        self->own_transaction = false;
        if (!failed && pg_commit (self->pg) == 0)
            return 0;
        pg_rollback (self->pg);
        return -1;
    }
    //  A failed statement aborted the whole transaction in PostgreSQL
    if (failed && (pg_writes (self->pg) != self->writes
               ||  pg_failures (self->pg) != self->failures)) {
        if (!self->spoiled)
            zsys_warning ("ledger: db=%s error=a request failed after writing; the batch"
                          " will be rolled back", pg_name (self->pg));
        self->spoiled = true;
    }
    return 0;
}

//  expire's statement, one round trip: the entries among the $2 lowest
//  numbers recorded before $1 (a window by number, as in ledger_sqlite.c;
//  identity numbers are never given twice), and their detail rows.  A new
//  string owned by the caller, or NULL when out of memory.
static char *
s_expire_sql (const char *const *details, size_t count)
{
    char sql [1024];
    int at = snprintf (sql, sizeof sql,
        "WITH gone AS (DELETE FROM ledger WHERE id IN (SELECT id FROM (SELECT id,"
        " recorded_at FROM ledger ORDER BY id LIMIT $2) w WHERE recorded_at < $1"
        " AND id < (SELECT max (id) FROM ledger))"
        " RETURNING id)");
    for (size_t index = 0; index < count && at > 0 && (size_t) at < sizeof sql; index++)
        at += snprintf (sql + at, sizeof sql - (size_t) at,
                        ", d%zu AS (DELETE FROM %s WHERE id IN (SELECT id FROM gone))",
                        index, details [index]);
    if (at > 0 && (size_t) at < sizeof sql)
        at += snprintf (sql + at, sizeof sql - (size_t) at, " SELECT count (*) FROM gone");
    assert (at > 0 && (size_t) at < sizeof sql);    //  our own table names
    return strdup (sql);
}

//  The statement is made at the first call: details must be the same at
//  every call (pg.h keeps a statement's text by its address)
static int
s_expire (ledger_t *base, int64_t before_ms, int max, const char *const *details,
          size_t count)
{
    ledger_pg_t *self = (ledger_pg_t *) base;
    assert (max > 0);
    assert (count == 0 || details);
    assert (!pg_in_transaction (self->pg));
    if (!self->expire_sql) {
        if (!(self->expire_sql = s_expire_sql (details, count)))
            return -1;
        self->expire_details = count;
    }
    assert (self->expire_details == count);
    char before [24], limit [24];
    const char *values [] = { pg_int (before, before_ms), pg_int (limit, max) };
    if (pg_ready (self->pg))
        return -1;
    PGresult *result = pg_query (self->pg, self->expire_sql, 2, values, "ledger_expire");
    if (!result)
        return -1;
    int gone = atoi (PQgetvalue (result, 0, 0));
    PQclear (result);
    return gone;
}

static void
s_destroy (ledger_t **self_p)
{
    assert (self_p);
    ledger_pg_t *self = (ledger_pg_t *) *self_p;
    if (self) {
        free (self->expire_sql);
        free (self->calls);
        free (self->results);
        free (self->requests);
    }
    free (self);
    *self_p = NULL;
}

ledger_t *
ledger_pg_new (pg_t *pg)
{
    assert (pg);
    ledger_pg_t *self = (ledger_pg_t *) zmalloc (sizeof (ledger_pg_t));
    self->ops = (ledger_t) { s_begin, s_end, s_find, s_record, s_expire, s_destroy };
    self->pg = pg;
    return &self->ops;
}

bool
ledger_pg_spoiled (ledger_t *self)
{
    assert (self);
    return ((ledger_pg_t *) self)->spoiled;
}

void
ledger_pg_reset (ledger_t *self)
{
    assert (self);
    ((ledger_pg_t *) self)->spoiled = false;
}

void
ledger_pg_batch (ledger_t *self, bool open)
{
    assert (self);
    ((ledger_pg_t *) self)->batch = open;
}

//  --------------------------------------------------------------------------
//  A batch in one round trip

void
ledger_pg_param (pg_statement_t *call, const char *text)
{
    assert (call && call->count < PG_MAX_PARAMS);
    char *copy = text? strdup (text): NULL;
    assert (copy || !text);
    call->values [call->count++] = copy;
}

//  Frees call's parameters
static void
s_call_free (pg_statement_t *call)
{
    for (int index = 0; index < call->count; index++)
        free ((char *) call->values [index]);
    call->count = 0;
}

//  Makes room for count calls
static void
s_calls_grow (ledger_pg_t *self, size_t count)
{
    if (count <= self->alloc)
        return;
    self->calls = (pg_statement_t *) realloc (self->calls, count * sizeof (pg_statement_t));
    self->results = (PGresult **) realloc (self->results, count * sizeof (PGresult *));
    self->requests = (size_t *) realloc (self->requests, count * sizeof (size_t));
    assert (self->calls && self->results && self->requests);
    self->alloc = count;
}

//  Turns reply into outcome error with code and message, keeping its head
static void
s_reply_error (ck_reply_t *reply, const char *code, const char *message)
{
    ck_reply_t error = { 0 };
    memcpy (error.saga_id, reply->saga_id, sizeof error.saga_id);
    error.type = reply->type;
    error.attempt = reply->attempt;
    error.outcome = CK_OUTCOME_ERROR;
    snprintf (error.reason.code, sizeof error.reason.code, "%s", code);
    snprintf (error.reason.message, sizeof error.reason.message, "%s", message);
    *reply = error;
}

//  Sets call's head parameters (LEDGER_PG_HEAD) for request; false when
//  the step table does not have its type
static bool
s_call_head (pg_statement_t *call, const ck_request_t *request, int64_t now)
{
    bool forward;
    ck_type_t partner;
    if (!ledger_role (request->type, &forward, &partner)) {
        zsys_warning ("ledger: saga=%s type=%d error=not a step of the saga",
                      request->saga_id, (int) request->type);
        return false;
    }
    char text [24];
    ledger_pg_param (call, request->saga_id);
    ledger_pg_param (call, pg_int (text, ck_type_code (request->type)));
    ledger_pg_param (call, partner == CK_TYPE_NONE? NULL
                                                  : pg_int (text, ck_type_code (partner)));
    ledger_entry_t compensated;         //  its reason, for the message
    if (forward && partner != CK_TYPE_NONE)
        ledger_reject_compensated (&compensated, partner);
    ledger_pg_param (call, forward && partner != CK_TYPE_NONE
                           ? compensated.reason.message: NULL);
    ledger_pg_param (call, pg_int (text, now));
    ledger_pg_param (call, request->checkout_id);
    return true;
}

//  Sets reply from a call's row: id, outcome, reason_code, reason_message,
//  reason_sku
static void
s_reply_row (PGresult *result, ck_reply_t *reply)
{
    ledger_entry_t entry;
    entry.id = PQgetisnull (result, 0, 0)? 0: strtoll (PQgetvalue (result, 0, 0), NULL, 10);
    entry.outcome = atoi (PQgetvalue (result, 0, 1)) == CK_OUTCOME_OK
                  ? CK_OUTCOME_OK: CK_OUTCOME_REJECTED;
    s_copy (entry.reason.code, sizeof entry.reason.code, result, 0, 2);
    s_copy (entry.reason.message, sizeof entry.reason.message, result, 0, 3);
    s_copy (entry.reason.sku, sizeof entry.reason.sku, result, 0, 4);
    entry.detail [0] = 0;
    ledger_answer (reply, &entry);
}

void
ledger_pg_run (ledger_t *base, ledger_pg_call_fn *make, void *state,
               const ck_request_t *const *requests, ck_reply_t *const *replies,
               size_t count)
{
    ledger_pg_t *self = (ledger_pg_t *) base;
    assert (self && make);
    assert (!pg_in_transaction (self->pg));
    s_calls_grow (self, count);
    int64_t now = zclock_time ();
    size_t calls = 0;
    for (size_t index = 0; index < count; index++) {
        pg_statement_t *call = &self->calls [calls];
        memset (call, 0, sizeof *call);
        if (!s_call_head (call, requests [index], now)
        ||  make (state, requests [index], call)) {
            s_call_free (call);
            s_reply_error (replies [index], CK_REASON_INTERNAL, "handler failed");
            continue;
        }
        assert (call->sql);
        self->requests [calls++] = index;
    }
    int rc = calls == 0? 0: pg_ready (self->pg) == 0
           ? pg_batch_results (self->pg, self->calls, calls, self->results, "batch"): -1;
    if (rc)
        zsys_warning ("ledger: db=%s error=a batch of %zu failed; answered store_error",
                      pg_name (self->pg), calls);
    for (size_t at = 0; at < calls; at++) {
        ck_reply_t *reply = replies [self->requests [at]];
        PGresult *result = rc? NULL: self->results [at];
        if (result && PQntuples (result) == 1 && PQnfields (result) == 5
        &&  PQgetisnull (result, 0, 1)) {
            //  the function kept nothing and says why
            zsys_warning ("ledger: db=%s saga=%s error=%s", pg_name (self->pg),
                          reply->saga_id, PQgetvalue (result, 0, 3));
            s_reply_error (reply, CK_REASON_INTERNAL, PQgetvalue (result, 0, 3));
        }
        else
        if (result && PQntuples (result) == 1 && PQnfields (result) == 5)
            s_reply_row (result, reply);
        else
            s_reply_error (reply, CK_REASON_STORE_ERROR, "batch commit failed");
        PQclear (result);
        s_call_free (&self->calls [at]);
    }
}

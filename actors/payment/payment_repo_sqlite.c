/*  payment_repo_sqlite.c - the payment's authorizations in its SQLite file
    One row per approved authorization, keyed by its ledger entry's number.
*/
#include <assert.h>
#include <czmq.h>
#include "payment_repo.h"

//  The view reads the ledger's type and outcome numbers
_Static_assert (CK_TYPE_AUTHORIZE_PAYMENT == 3, "ledger type numbers of the view");

//  authorization_details, and authorizations as operators read them: the
//  saga and creation time come from the AuthorizePayment ledger entry of
//  the same number
#define SCHEMA \
    "CREATE TABLE IF NOT EXISTS authorization_details (" \
    " id INTEGER PRIMARY KEY," \
    " checkout_id TEXT," \
    " customer_id TEXT NOT NULL," \
    " amount INTEGER NOT NULL CHECK (amount >= 0)," \
    " currency TEXT NOT NULL," \
    " payment_method TEXT NOT NULL," \
    " voided_at INTEGER);" \
    "CREATE VIEW IF NOT EXISTS authorizations AS SELECT a.id," \
    " 'auth-' || a.id AS authorization_id, l.saga_id, a.checkout_id, a.customer_id," \
    " a.amount, a.currency, a.payment_method," \
    " CASE WHEN a.voided_at IS NULL THEN 'authorized' ELSE 'voided' END AS status," \
    " l.recorded_at AS created_at, a.voided_at" \
    " FROM authorization_details a JOIN ledger l ON l.id = a.id;"

typedef struct {
    payment_repo_t ops;                 //  first: the payment_repo_t * is this
    store_t *store;                     //  borrowed
} repo_t;

static int
s_authorize (payment_repo_t *base, int64_t id, const ck_request_t *request)
{
    repo_t *self = (repo_t *) base;
    assert (request->amount <= INT64_MAX);      //  the rules checked
    sqlite3_stmt *stmt = store_prepare (self->store,
        "INSERT INTO authorization_details (id, checkout_id, customer_id, amount,"
        " currency, payment_method) VALUES (?, ?, ?, ?, ?, ?)");
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, id);
    store_bind_optional (stmt, 2, request->checkout_id);
    sqlite3_bind_text (stmt, 3, request->customer_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 4, (int64_t) request->amount);
    sqlite3_bind_text (stmt, 5, request->currency, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 6, request->payment_method, -1, SQLITE_STATIC);
    return store_done (self->store, stmt, "authorize");
}

static int
s_cancel (payment_repo_t *base, int64_t id)
{
    repo_t *self = (repo_t *) base;
    sqlite3_stmt *stmt = store_prepare (self->store,
        "UPDATE authorization_details SET voided_at = ?2 WHERE id = ?1"
        " AND voided_at IS NULL");
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_int64 (stmt, 2, zclock_time ());
    return store_done (self->store, stmt, "void");
}

static void
s_destroy (payment_repo_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}

payment_repo_t *
payment_repo_sqlite_new (participant_store_t *store)
{
    assert (store);
    if (participant_store_schema (store, SCHEMA))
        return NULL;
    participant_store_detail (store, "authorization_details");  //  goes with its ledger entry
    repo_t *self = (repo_t *) zmalloc (sizeof (repo_t));
    self->ops = (payment_repo_t) { s_authorize, s_cancel, NULL, s_destroy };
    self->store = participant_store_store (store);
    return &self->ops;
}

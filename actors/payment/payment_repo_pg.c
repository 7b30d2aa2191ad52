/*  payment_repo_pg.c - the payment's authorizations in a PostgreSQL database
    One row per approved authorization, keyed by its ledger entry's number.
*/
#include <assert.h>
#include <czmq.h>
#include "payment_repo.h"

//  The view reads the ledger's type and outcome numbers
_Static_assert (CK_TYPE_AUTHORIZE_PAYMENT == 3, "ledger type numbers of the view");

//  authorization_details, and authorizations as operators read them (as
//  in the SQLite file)
#define SCHEMA \
    "CREATE TABLE IF NOT EXISTS authorization_details (" \
    " id BIGINT PRIMARY KEY," \
    " checkout_id TEXT," \
    " customer_id TEXT NOT NULL," \
    " amount BIGINT NOT NULL CHECK (amount >= 0)," \
    " currency TEXT NOT NULL," \
    " payment_method TEXT NOT NULL," \
    " voided_at BIGINT);" \
    "CREATE OR REPLACE VIEW authorizations AS SELECT a.id," \
    " 'auth-' || a.id AS authorization_id, l.saga_id, a.checkout_id, a.customer_id," \
    " a.amount, a.currency, a.payment_method," \
    " CASE WHEN a.voided_at IS NULL THEN 'authorized' ELSE 'voided' END AS status," \
    " l.recorded_at AS created_at, a.voided_at" \
    " FROM authorization_details a JOIN ledger l ON l.id = a.id;"

typedef struct {
    payment_repo_t ops;                 //  first: the payment_repo_t * is this
    pg_t *pg;                           //  borrowed
} repo_t;

//  Runs a write; 0 or -1
static int
s_write (repo_t *self, const char *sql, int count, const char *const *values, const char *op)
{
    PGresult *result = pg_query (self->pg, sql, count, values, op);
    PQclear (result);
    return result? 0: -1;
}

//  ON CONFLICT: the ledger may hand an entry another instance recorded
//  (ledger_pg.h), whose row that instance already inserted
static int
s_authorize (payment_repo_t *base, int64_t id, const ck_request_t *request)
{
    repo_t *self = (repo_t *) base;
    assert (request->amount <= INT64_MAX);      //  the rules checked
    char id_text [24], amount_text [24];
    const char *values [] = {
        pg_int (id_text, id), request->checkout_id [0]? request->checkout_id: NULL,
        request->customer_id, pg_int (amount_text, (int64_t) request->amount),
        request->currency, request->payment_method
    };
    return s_write (self,
        "INSERT INTO authorization_details (id, checkout_id, customer_id, amount,"
        " currency, payment_method) VALUES ($1, $2, $3, $4, $5, $6)"
        " ON CONFLICT (id) DO NOTHING", 6, values, "authorize");
}

static int
s_cancel (payment_repo_t *base, int64_t id)
{
    repo_t *self = (repo_t *) base;
    char id_text [24], now_text [24];
    const char *values [] = { pg_int (id_text, id), pg_int (now_text, zclock_time ()) };
    return s_write (self,
        "UPDATE authorization_details SET voided_at = $2 WHERE id = $1"
        " AND voided_at IS NULL", 2, values, "void");
}

static void
s_destroy (payment_repo_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}

payment_repo_t *
payment_repo_pg_new (participant_store_t *store)
{
    assert (store);
    assert (participant_store_pg (store));
    if (participant_store_schema (store, SCHEMA))
        return NULL;
    participant_store_detail (store, "authorization_details");  //  goes with its ledger entry
    repo_t *self = (repo_t *) zmalloc (sizeof (repo_t));
    self->ops = (payment_repo_t) { s_authorize, s_cancel, s_destroy };
    self->pg = participant_store_pg (store);
    return &self->ops;
}

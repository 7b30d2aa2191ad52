/*  payment_repo_pg.c - the payment's authorizations in a PostgreSQL database
    One row per approved authorization, keyed by its ledger entry's number.
*/
#include <assert.h>
#include <czmq.h>
#include "ledger_pg.h"
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
    " FROM authorization_details a JOIN ledger l ON l.id = a.id;" \
    FUNCTIONS

//  A request in one call (ledger_pg.h): the gateway's verdict comes in
//  (p_outcome, p_code, p_message); an approval keeps its details
#define FUNCTIONS \
    "CREATE OR REPLACE FUNCTION ck_authorize (" LEDGER_PG_ARGS ", p_outcome smallint," \
    " p_code text, p_message text, p_customer text, p_amount bigint," \
    " p_currency text, p_method text, " LEDGER_PG_OUT ") LANGUAGE plpgsql AS $$ BEGIN" \
    LEDGER_PG_REPEAT LEDGER_PG_COMPENSATED \
    " r_outcome := p_outcome; r_code := p_code; r_message := p_message;" \
    LEDGER_PG_EFFECT ("NULL") \
    " IF r_outcome = 1 THEN INSERT INTO authorization_details (id, checkout_id," \
    " customer_id, amount, currency, payment_method) VALUES (r_id, nullif (p_checkout, '')," \
    " p_customer, p_amount, p_currency, p_method); END IF; END $$;" \
    "CREATE OR REPLACE FUNCTION ck_void (" LEDGER_PG_ARGS ", " LEDGER_PG_OUT ")" \
    " LANGUAGE plpgsql AS $$ BEGIN" LEDGER_PG_REPEAT \
    " UPDATE authorization_details a SET voided_at = p_now FROM ledger l" \
    " WHERE l.saga_id = p_saga AND l.type = p_partner AND l.outcome = 1" \
    " AND a.id = l.id AND a.voided_at IS NULL;" \
    " r_outcome := 1;" LEDGER_PG_RECORD ("NULL") " END $$;"

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

static int
s_call (payment_repo_t *base, const ck_request_t *request, const ledger_entry_t *decided,
        pg_statement_t *call)
{
    (void) base;
    if (request->type == CK_TYPE_VOID_PAYMENT) {
        call->sql = "SELECT * FROM ck_void ($1, $2, $3, $4, $5, $6)";
        return 0;
    }
    assert (request->type == CK_TYPE_AUTHORIZE_PAYMENT && decided);
    assert (request->amount <= INT64_MAX);      //  the rules checked
    call->sql = "SELECT * FROM ck_authorize ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11,"
                " $12, $13)";
    char text [24];
    ledger_pg_param (call, pg_int (text, decided->outcome));
    ledger_pg_param (call, decided->reason.code [0]? decided->reason.code: NULL);
    ledger_pg_param (call, decided->reason.message [0]? decided->reason.message: NULL);
    ledger_pg_param (call, request->customer_id);
    ledger_pg_param (call, pg_int (text, (int64_t) request->amount));
    ledger_pg_param (call, request->currency);
    ledger_pg_param (call, request->payment_method);
    return 0;
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
    self->ops = (payment_repo_t) { s_authorize, s_cancel, s_call, s_destroy };
    self->pg = participant_store_pg (store);
    return &self->ops;
}

/*  ledger_pg.h - the ledger (ledger.h) in a participant's PostgreSQL database
    One table, ledger: a row per answer, numbered by an identity column.

    Requests run inside the participant's batch transaction, as with
    SQLite (ledger_sqlite.h): a handler decides before it writes.  In
    PostgreSQL any failed statement aborts the whole transaction, so a
    request that fails after writing, or whose statement failed, spoils the
    batch: participant_store's commit hook then refuses, the batch is rolled
    back, and every request of it is answered store_error (the coordinator
    retries; idempotency makes that safe).  Outside a transaction, each
    request runs in its own.

    The insert is ON CONFLICT (saga_id, type) DO NOTHING: an instance that
    answers a request another instance answered meanwhile (a coordinator's
    retry racing the first try) waits for that one's commit, then reads
    the stored answer and returns it, when it wrote nothing yet; otherwise
    the batch is spoiled and the retry reads the stored answer.
    See docs/postgresql.md.
*/
#ifndef CK_LEDGER_PG_H_INCLUDED
#define CK_LEDGER_PG_H_INCLUDED

#include "ledger.h"
#include "pg.h"

#ifdef __cplusplus
extern "C" {
#endif

//  The ledger's table, for the participant's schema.  checkout_id is set
//  on an ok forward answer only (an effect that holds the checkout), so
//  the partial index holds only those.
#define LEDGER_PG_SCHEMA \
    "CREATE TABLE IF NOT EXISTS ledger (" \
    " id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY," \
    " saga_id TEXT NOT NULL," \
    " type INTEGER NOT NULL," \
    " outcome SMALLINT NOT NULL CHECK (outcome IN (1, 2))," \
    " reason_code TEXT," \
    " reason_message TEXT," \
    " reason_sku TEXT," \
    " detail TEXT," \
    " recorded_at BIGINT NOT NULL," \
    " checkout_id TEXT," \
    " UNIQUE (saga_id, type));" \
    LEDGER_PG_CHECKOUT_INDEX

#define LEDGER_PG_CHECKOUT_INDEX \
    "CREATE INDEX IF NOT EXISTS ledger_checkout ON ledger (checkout_id)" \
    " WHERE checkout_id IS NOT NULL;"

//  From schema 2: the column and its index, and the services' functions of
//  the old head (five parameters, without p_checkout) dropped, since a
//  CREATE OR REPLACE with the new head would add an overload beside them;
//  each service creates its own again when it opens the database.  Entries
//  recorded before hold no checkout.
#define LEDGER_PG_MIGRATE_3 \
    "ALTER TABLE ledger ADD COLUMN IF NOT EXISTS checkout_id TEXT;" \
    LEDGER_PG_CHECKOUT_INDEX \
    "DO $$ DECLARE f regprocedure; BEGIN FOR f IN SELECT p.oid::regprocedure" \
    " FROM pg_proc p WHERE p.pronamespace = current_schema ()::regnamespace" \
    " AND p.proargnames [1:5] = ARRAY ['p_saga', 'p_type', 'p_partner'," \
    " 'p_compensated', 'p_now'] AND p.proargnames [6] IS DISTINCT FROM 'p_checkout'" \
    " LOOP EXECUTE 'DROP FUNCTION ' || f; END LOOP; END $$;"

//  A ledger over pg (borrowed: it must outlive the ledger), whose schema
//  is already there.  Returns the ledger, owned by the caller (destroy it
//  with its destroy operation).  Can't fail.
ledger_t *ledger_pg_new (pg_t *pg);

//  True when a request of the open transaction failed after writing (or a
//  statement of it failed), so the transaction must not commit.
bool ledger_pg_spoiled (ledger_t *self);

//  Forgets that: call it when a transaction starts.  Can't fail.
void ledger_pg_reset (ledger_t *self);

//  Tells the ledger a batch's transaction is open (true) or over (false).
//  Inside one, a request never opens a transaction of its own: when the
//  batch's transaction is gone (its connection was lost), the request
//  fails and the batch is spoiled.  Can't fail.
void ledger_pg_batch (ledger_t *self, bool open);

//  A whole batch in one round trip.  Each request is one call of a server
//  function of its service, which takes the checkout's lock, returns the
//  stored answer to a repeat, refuses "compensated" a forward request
//  whose compensation came first and "duplicate_checkout" one whose
//  checkout another saga holds, and otherwise acts and records the
//  answer; the calls go between BEGIN and COMMIT in one pipeline
//  (pg_batch_results).  Every function takes these first: $1 saga_id, $2
//  type, $3 the partner type (NULL: none), $4 the "compensated" message,
//  $5 the time (ms), $6 checkout_id; the service's parameters follow from
//  $7.  It returns one row: id, outcome, reason_code, reason_message,
//  reason_sku.
#define LEDGER_PG_HEAD 6

//  Pieces of the services' server functions (PL/pgSQL), which return the
//  answer in their OUT parameters r_id, r_outcome, r_code, r_message,
//  r_sku (NULL outcome: a failure that kept nothing, reason in r_message)
#define LEDGER_PG_ARGS \
    "p_saga text, p_type integer, p_partner integer, p_compensated text, p_now bigint," \
    " p_checkout text"
#define LEDGER_PG_OUT \
    "OUT r_id bigint, OUT r_outcome smallint, OUT r_code text, OUT r_message text," \
    " OUT r_sku text"
//  The checkout's lock (ledger_pg.c, s_find; the saga's when there is no
//  checkout), then a repeat's stored answer
#define LEDGER_PG_REPEAT \
    " PERFORM pg_advisory_xact_lock (25452, hashtext (coalesce (nullif (p_checkout, '')," \
    " p_saga)));" \
    " SELECT l.id, l.outcome, l.reason_code, l.reason_message, l.reason_sku" \
    " INTO r_id, r_outcome, r_code, r_message, r_sku" \
    " FROM ledger l WHERE l.saga_id = p_saga AND l.type = p_type;" \
    " IF FOUND THEN RETURN; END IF;"
//  Records the answer in r_outcome, r_code, r_message, r_sku and detail,
//  holding checkout (an SQL expression) for an effect
#define LEDGER_PG_RECORD_HOLDING(detail, checkout) \
    " INSERT INTO ledger (saga_id, type, outcome, reason_code, reason_message," \
    " reason_sku, detail, recorded_at, checkout_id) VALUES (p_saga, p_type, r_outcome," \
    " r_code, r_message, r_sku, " detail ", p_now, " checkout ") RETURNING id INTO r_id;"
//  A compensation's record: it holds nothing
#define LEDGER_PG_RECORD(detail) LEDGER_PG_RECORD_HOLDING (detail, "NULL")
//  A forward answer's record: an ok one holds the checkout
#define LEDGER_PG_EFFECT(detail) LEDGER_PG_RECORD_HOLDING (detail, \
    "CASE WHEN r_outcome = 1 THEN nullif (p_checkout, '') END")
//  A forward request whose compensation came first: refused "compensated";
//  one whose checkout another saga holds: refused "duplicate_checkout",
//  with ledger_reject_duplicate's message
#define LEDGER_PG_COMPENSATED \
    " IF EXISTS (SELECT 1 FROM ledger l WHERE l.saga_id = p_saga" \
    " AND l.type = p_partner) THEN r_outcome := 2; r_code := 'compensated';" \
    " r_message := p_compensated;" LEDGER_PG_RECORD ("NULL") " RETURN; END IF;" \
    " SELECT 'checkout ' || p_checkout || ' is held by saga ' || l.saga_id INTO r_message" \
    " FROM ledger l WHERE l.checkout_id = p_checkout AND l.saga_id <> p_saga LIMIT 1;" \
    " IF FOUND THEN r_outcome := 2; r_code := '" LEDGER_REASON_DUPLICATE "';" \
    LEDGER_PG_RECORD ("NULL") " RETURN; END IF;"

//  Makes request's call: sets call->sql (a literal) and adds the service's
//  parameters with ledger_pg_param.  0, or -1 when the request can't be
//  served (it is answered error "internal", and not sent).
typedef int (ledger_pg_call_fn) (void *state, const ck_request_t *request,
                                 pg_statement_t *call);

//  Adds a copy of text (NULL: SQL NULL) as call's next parameter.
void ledger_pg_param (pg_statement_t *call, const char *text);

//  Answers requests [0..count) into replies (zeroed but for their head) in
//  one transaction, one round trip, with the calls make makes.  When the
//  transaction fails (a statement, the COMMIT, the connection), every
//  request sent is answered error "store_error": nothing of it is kept,
//  or, for a lost COMMIT, the retry finds the stored answer.  Can't fail.
void ledger_pg_run (ledger_t *self, ledger_pg_call_fn *make, void *state,
                    const ck_request_t *const *requests, ck_reply_t *const *replies,
                    size_t count);

#ifdef __cplusplus
}
#endif

#endif

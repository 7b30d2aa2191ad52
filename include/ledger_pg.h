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

//  The ledger's table, for the participant's schema
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
    " UNIQUE (saga_id, type));"

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

#ifdef __cplusplus
}
#endif

#endif

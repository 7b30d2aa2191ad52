/*  ledger_sqlite.h - the ledger (ledger.h) in a participant's SQLite store
    One table, ledger: a row per answer, numbered by its INTEGER PRIMARY KEY.

    Requests run inside the participant's batch transaction without a
    savepoint of their own: a handler decides before it writes, so a
    rejection has nothing to undo.  A request that fails after it wrote
    something (a statement failing half-way through a request is a full
    disk or an I/O error) spoils the batch: the batch must then be rolled
    back whole (participant_store's commit hook refuses), and every request
    of it is answered store_error, which the coordinator retries.  Outside
    a transaction, each request runs in its own.

    The table and its index are documented in docs/participant-stores.md.
*/
#ifndef CK_LEDGER_SQLITE_H_INCLUDED
#define CK_LEDGER_SQLITE_H_INCLUDED

#include "ledger.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

//  The ledger's table, for the participant's schema.  checkout_id is set
//  on an ok forward answer only (an effect that holds the checkout), so
//  the partial index holds only those.
#define LEDGER_SQLITE_SCHEMA \
    "CREATE TABLE IF NOT EXISTS ledger (" \
    " id INTEGER PRIMARY KEY," \
    " saga_id TEXT NOT NULL," \
    " type INTEGER NOT NULL," \
    " outcome INTEGER NOT NULL CHECK (outcome IN (1, 2))," \
    " reason_code TEXT," \
    " reason_message TEXT," \
    " reason_sku TEXT," \
    " detail TEXT," \
    " recorded_at INTEGER NOT NULL," \
    " checkout_id TEXT," \
    " UNIQUE (saga_id, type));" \
    LEDGER_SQLITE_CHECKOUT_INDEX

#define LEDGER_SQLITE_CHECKOUT_INDEX \
    "CREATE INDEX IF NOT EXISTS ledger_checkout ON ledger (checkout_id)" \
    " WHERE checkout_id IS NOT NULL;"

//  From schema 2, whose ledger had no checkout_id: its entries hold no
//  checkout (the guard covers what is recorded from now on)
#define LEDGER_SQLITE_MIGRATE_3 \
    "ALTER TABLE ledger ADD COLUMN checkout_id TEXT;" \
    LEDGER_SQLITE_CHECKOUT_INDEX

//  A ledger over store (borrowed: it must outlive the ledger), whose
//  schema is already there.  Returns the ledger, owned by the caller
//  (destroy it with its destroy operation).  Can't fail.
ledger_t *ledger_sqlite_new (store_t *store);

//  True when a request of the open transaction failed after writing, so
//  the transaction must not commit.  Can't fail.
bool ledger_sqlite_spoiled (ledger_t *self);

//  Forgets that: call it when a transaction starts.  Can't fail.
void ledger_sqlite_reset (ledger_t *self);

#ifdef __cplusplus
}
#endif

#endif

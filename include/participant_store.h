/*  participant_store.h - a participant's store: SQLite file or PostgreSQL
    Opens it at schema version 3, and gives the runtime its hooks.

    --db chooses the backend: a libpq URI (postgresql:// or postgres://)
    is a PostgreSQL database (pg.h, ledger_pg.h; its schema version is the
    schema_version table, created under an advisory lock; see
    docs/postgresql.md), anything else a SQLite file, as follows.

    A participant keeps its state in one SQLite file (instances of a
    service may share it): a plain store (store.h), the ledger of its
    answers (ledger_sqlite.h), and the tables of its service, which its
    repository creates with participant_store_schema.  The runtime's
    group-commit hooks are here: a batch is one BEGIN IMMEDIATE ... COMMIT,
    refused at commit when a request of it failed after writing (see
    ledger_sqlite.h); the idle hook runs the WAL checkpoints.

    PRAGMA user_version is the schema version.  A new file gets version 3;
    a file of version 2 (its ledger without checkout_id) is migrated in
    place, in the opening transaction, all or nothing; a file of version 1
    (written by an older build: other tables, text ids) or of a newer
    version is refused with one log line saying what to do, never read
    with the wrong shape.  A PostgreSQL database likewise (schema_version).
    See docs/participant-stores.md.
*/
#ifndef CK_PARTICIPANT_STORE_H_INCLUDED
#define CK_PARTICIPANT_STORE_H_INCLUDED

#include "ledger.h"
#include "checkout/participant.h"
#include "pg.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define PARTICIPANT_STORE_VERSION 3

typedef struct _participant_store_t participant_store_t;

//  Opens (creating if needed) the participant's file at path with opts
//  (NULL: defaults), or connects to the PostgreSQL database when path is a
//  libpq URI (opts unused), and brings it to the current schema, in one
//  transaction.  Returns the store, owned by the caller, or NULL after
//  logging why (a file of another schema version included).
participant_store_t *participant_store_new (const char *path, const store_options_t *opts);

//  Closes the file, rolling back an open transaction; safe on NULL, nulls
//  the pointer.
void participant_store_destroy (participant_store_t **self_p);

//  The plain store, for the service's repository (borrowed); NULL on
//  PostgreSQL.
store_t *participant_store_store (participant_store_t *self);

//  The PostgreSQL connection (borrowed); NULL on SQLite.
pg_t *participant_store_pg (participant_store_t *self);

//  The file's path or the URI without password, for logs (borrowed).
const char *participant_store_name (participant_store_t *self);

//  The ledger (borrowed).
ledger_t *participant_store_ledger (participant_store_t *self);

//  Creates the service's own tables: runs sql, in the backend's dialect,
//  which must be idempotent (CREATE ... IF NOT EXISTS), in one transaction.  Returns 0, or -1 after
//  logging.
int participant_store_schema (participant_store_t *self, const char *sql);

//  Names a table of the service whose rows are keyed by their ledger
//  entry's number (id), so that retention deletes them with the entry.
//  table is borrowed (a literal); naming one twice is harmless (a
//  repository made again on the same store).  Can't fail (at most 4 tables).
void participant_store_detail (participant_store_t *self, const char *table);

//  Retention: the idle hook deletes ledger entries (and their detail rows;
//  never the stock) recorded more than retention_ms ago, in bounded
//  batches.  0, the default, keeps them for ever.  Can't fail.
void participant_store_set_retention (participant_store_t *self, uint64_t retention_ms);

//  One retention batch, outside a batch: deletes up to max (> 0) of the
//  oldest entries recorded before before_ms, and their detail rows
//  (ledger.h, expire).  Returns how many entries went, or -1.
int participant_store_expire (participant_store_t *self, int64_t before_ms, int max);

//  Ledger entries retention deleted so far.  Can't fail.
uint64_t participant_store_expired (participant_store_t *self);

//  Sets the runtime's batch_begin, batch_commit, batch_rollback and idle
//  hooks, with batch_state = self.  Can't fail.
void participant_store_hooks (participant_store_t *self, ck_participant_config_t *config);

//  The hooks themselves (state = the participant store): begin is BEGIN
//  IMMEDIATE (PostgreSQL: BEGIN, after reconnecting a lost connection);
//  commit is COMMIT, or -1 when a request of the batch failed after
//  writing; rollback is ROLLBACK; idle is store_checkpoint (PostgreSQL:
//  a reconnect when the connection was lost), then retention's batches;
//  after_batch is one retention batch when the last one came full (under
//  load idle runs once a second: this keeps retention up with the load).
int participant_store_batch_begin (void *self);
int participant_store_batch_commit (void *self);
void participant_store_batch_rollback (void *self);
void participant_store_idle (void *self);
void participant_store_after_batch (void *self);

#ifdef __cplusplus
}
#endif

#endif

/*  store.h - the SQLite file every durable process keeps its state in
    Opening (WAL, sync level, fair busy handler), statements, transactions.

    A store is one connection to one database file, used by one thread.  It
    opens in WAL mode with synchronous FULL unless told otherwise, turns
    automatic checkpoints off (they would fsync inside an unlucky commit) so
    the owner calls store_checkpoint () when idle, and installs a busy
    handler that sleeps ~50 us with jitter and retries for up to 30 s: with
    several processes on one file, sqlite3_busy_timeout starves one of them.

    Prepared statements are cached by their SQL text: store_prepare () hands
    back the same statement every time, reset and with no bindings.

    Plain SQLite only: what a participant keeps on top of a store (its
    ledger, the runtime's group-commit hooks) is in participant_store.h.

    Every failure is logged as "store: path=... op=... error=...".
*/
#ifndef CK_STORE_H_INCLUDED
#define CK_STORE_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <sqlite3.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _store_t store_t;

//  PRAGMA synchronous; FULL (the zero value) is the only level at which a
//  commit survives a power cut.  NORMAL and OFF are for experiments.
typedef enum {
    STORE_SYNC_FULL = 0,
    STORE_SYNC_NORMAL,
    STORE_SYNC_OFF
} store_sync_t;

//  Parses a sync level's name: "full", "normal" or "off".  Returns 0, or
//  -1 for any other name.
int store_sync_parse (const char *name, store_sync_t *level);

//  Options of store_new; all-zero (or a NULL pointer) gives the defaults.
typedef struct {
    store_sync_t sync;                  //  default FULL
    uint32_t busy_limit_ms;             //  give up waiting for a lock after; 0 = 30000
} store_options_t;

//  True when path names a file whose commits outlive the process: false
//  for "", ":memory:" and SQLite's in-memory URIs ("file::memory:",
//  "...?mode=memory"), where an ACCEPTED checkout or a recorded effect
//  would vanish with the process.  Can't fail.
bool store_path_durable (const char *path);

//  Opens (creating if needed) the database at path, which must pass
//  store_path_durable.  Returns a new store owned by the caller, or NULL
//  after logging why.
store_t *store_new (const char *path, const store_options_t *opts);

//  Closes the store, rolling back an open transaction; safe on NULL, nulls
//  the pointer.
void store_destroy (store_t **self_p);

//  Called every 50 ms or so while the store waits for a lock another
//  connection holds (up to the busy limit), from inside the statement
//  that waits: fn may send (heartbeats), never use the store.
typedef void (store_waiting_fn) (void *arg);
void store_set_waiting (store_t *self, store_waiting_fn *fn, void *arg);

//  The connection, for statements of the caller's own (borrowed).
sqlite3 *store_db (store_t *self);

//  The path the store was opened with (borrowed).
const char *store_path (store_t *self);

//  Runs one or more SQL statements without results (schema, pragmas).
//  Returns 0, or -1 after logging.
int store_exec (store_t *self, const char *sql);

//  The cached prepared statement for sql, reset and with its bindings
//  cleared; NULL after logging if sql does not compile.  Borrowed: the
//  store finalizes it.  Reset it (or call store_done) when finished, so it
//  holds no read snapshot.
sqlite3_stmt *store_prepare (store_t *self, const char *sql);

//  Steps stmt once: returns SQLITE_ROW or SQLITE_DONE, or -1 after logging
//  (op names what was being done) and resetting stmt.
int store_step (store_t *self, sqlite3_stmt *stmt, const char *op);

//  Steps stmt to its end and resets it: returns 0, or -1 after logging.
int store_done (store_t *self, sqlite3_stmt *stmt, const char *op);

//  Binds text to a statement's parameter, or NULL when text is NULL or
//  empty (optional ids and reasons are stored as NULL).  Can't fail.
void store_bind_optional (sqlite3_stmt *stmt, int index, const char *text);

//  Logs the connection's last error for op and returns -1, for callers
//  that use the sqlite3 API directly.
int store_fail (store_t *self, const char *op);

//  BEGIN IMMEDIATE: takes the write lock now, waiting through the busy
//  handler.  Returns 0, or -1 after logging.
int store_begin (store_t *self);

//  COMMIT.  Returns 0, or -1 after logging (the transaction may then still
//  be open: call store_rollback).
int store_commit (store_t *self);

//  ROLLBACK if a transaction is open, else nothing.  Can't fail (logs).
void store_rollback (store_t *self);

//  True between store_begin and store_commit / store_rollback.
bool store_in_transaction (store_t *self);

//  SAVEPOINT name.  Inside store_begin's transaction, returns -1 if that
//  transaction was lost (SQLite rolls back a whole transaction on some
//  errors) rather than silently opening a new, autocommitted one.
int store_savepoint (store_t *self, const char *name);

//  RELEASE name.  Returns 0, or -1 after logging.
int store_release (store_t *self, const char *name);

//  ROLLBACK TO name: undoes what followed the savepoint, which stays open.
//  Returns 0, or -1 after logging.
int store_undo_to (store_t *self, const char *name);

//  ROLLBACK TO name, then RELEASE name: undoes and forgets the savepoint.
//  Returns 0, or -1 after logging.
int store_rollback_to (store_t *self, const char *name);

//  A PASSIVE WAL checkpoint, once our commits have grown the WAL past 1000
//  frames (else nothing: a checkpoint costs an fsync): copies what it can
//  without waiting for anyone.  Past 4096 frames (16 MiB), a RESTART one
//  instead, which waits up to 250 ms for the other connections to the file
//  so that the WAL starts over: with several processes writing one file a
//  PASSIVE one never lets it, and the WAL would grow without bound.  The
//  file is truncated back to 16 MiB when it starts over.  Call it in idle
//  turns.  Returns 0, or -1 after logging.
int store_checkpoint (store_t *self);

//  What a store has done since it opened, for the benchmark's per-saga
//  figures; store_destroy logs them in one line.  wal_frames counts the
//  frames the WAL grew by across our commits: with several processes on
//  one file it includes the others' frames written in between.
typedef struct {
    uint64_t commits;                   //  commits that wrote
    uint64_t statements;                //  runs of the cached statements,
                                        //  BEGIN and COMMIT included
    uint64_t wal_frames;                //  WAL frames written
    uint64_t wal_restarts;              //  RESTART checkpoints (store_checkpoint)
} store_stats_t;

//  Fills *stats.  Can't fail.
void store_stats (store_t *self, store_stats_t *stats);

//  PRAGMA user_version (the schema version): returns it (>= 0), or -1.
int store_user_version (store_t *self);

//  Sets PRAGMA user_version.  Returns 0, or -1 after logging.
int store_set_user_version (store_t *self, int version);

//  Brings the schema to version in one BEGIN IMMEDIATE transaction (so
//  processes opening one file together don't race): runs sql, which must
//  be idempotent (CREATE ... IF NOT EXISTS), and sets user_version.
//  Returns 0, or -1 after logging, also when the file's schema is newer.
int store_schema (store_t *self, const char *sql, int version);

#ifdef __cplusplus
}
#endif

#endif

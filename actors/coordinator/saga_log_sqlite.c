/*  saga_log_sqlite.c - the saga log (saga_log.h) in a SQLite file
    Schema, group-committed transactions, persist, dedupe, recovery, history.
*/
#include <assert.h>
#include <inttypes.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <sys/file.h>
#include <czmq.h>
#include "saga_log.h"
#include "saga_record.h"

//  One row per saga, updated in place: the cart (written once) and the
//  state blob, which holds the history too, so a transition is one
//  UPDATE.  docs/saga-log.md says why each column and index is there.
#define SCHEMA \
    "CREATE TABLE IF NOT EXISTS sagas (" \
    " saga_id TEXT PRIMARY KEY NOT NULL," \
    " checkout_id TEXT NOT NULL," \
    " cart_digest INTEGER NOT NULL," \
    " phase TEXT NOT NULL," \
    " reason_code TEXT," \
    " cart BLOB NOT NULL," \
    " state BLOB NOT NULL) WITHOUT ROWID;" \
    "CREATE UNIQUE INDEX IF NOT EXISTS sagas_checkout ON sagas (checkout_id);" \
    "CREATE INDEX IF NOT EXISTS sagas_active ON sagas (phase)" \
    " WHERE phase IN ('running', 'compensating');" \
    "CREATE TABLE IF NOT EXISTS saga_table (" \
    " id INTEGER PRIMARY KEY CHECK (id = 1)," \
    " steps TEXT NOT NULL);" \
    SAGA_ENDS

//  When each terminal saga ended, oldest first, for expire: a table of its
//  own, not a column, so that a log written before retention gets it on
//  open (CREATE ... IF NOT EXISTS; the layout's version stays).  Its
//  terminal sagas are then dated now, once: saga_ends is empty only when
//  the log holds no saga that ended since.  The gate is the outer loop of
//  a CROSS JOIN, so a current log skips the scan of sagas (as a WHERE term
//  SQLite 3.40 tested it per row: 0.1 s per million sagas at every open).
#define SAGA_ENDS \
    "CREATE TABLE IF NOT EXISTS saga_ends (" \
    " ended_ms INTEGER NOT NULL," \
    " saga_id TEXT NOT NULL," \
    " PRIMARY KEY (ended_ms, saga_id)) WITHOUT ROWID;" \
    "INSERT INTO saga_ends (ended_ms, saga_id)" \
    " SELECT CAST (strftime ('%s', 'now') AS INTEGER) * 1000, saga_id" \
    " FROM (SELECT 1 WHERE NOT EXISTS (SELECT 1 FROM saga_ends)) CROSS JOIN sagas" \
    " WHERE " TERMINAL ";"

//  The active-phase condition, written exactly as in sagas_active's WHERE:
//  SQLite uses a partial index only for queries that repeat its condition
#define ACTIVE "phase IN ('running', 'compensating')"
#define TERMINAL "phase IN ('confirmed', 'failed')"

#define SQL_INSERT \
    "INSERT INTO sagas (saga_id, checkout_id, cart_digest, phase, reason_code, cart, state)" \
    " VALUES (?1, ?5, ?6, ?3, ?4, ?7, ?2)"

//  Two updates: one that does not name phase, and so leaves the
//  sagas_active index alone (most transitions keep the phase), and one
//  that does
#define SQL_UPDATE_STATE \
    "UPDATE sagas SET state = ?2, reason_code = ?4 WHERE saga_id = ?1"
#define SQL_UPDATE_PHASE \
    "UPDATE sagas SET state = ?2, phase = ?3, reason_code = ?4 WHERE saga_id = ?1"

#define SQL_SELECT_SAGA \
    "SELECT saga_id, phase, cart, state, cart_digest FROM sagas WHERE saga_id = ?1"

#define SQL_SELECT_ACTIVE \
    "SELECT saga_id, phase, cart, state, cart_digest FROM sagas WHERE " ACTIVE

#define SQL_FIND_CHECKOUT \
    "SELECT saga_id, cart_digest FROM sagas WHERE checkout_id = ?1"

#define SQL_SELECT_STATE "SELECT state FROM sagas WHERE saga_id = ?1"

#define SQL_COUNT_ACTIVE \
    "SELECT count(*) FROM sagas WHERE " ACTIVE " AND phase = ?1"

#define SQL_COUNT \
    "SELECT count(*) FROM sagas WHERE phase = ?1"

#define SQL_ENDED "INSERT INTO saga_ends (ended_ms, saga_id) VALUES (?2, ?1)"

//  expire: the oldest ends first, at most ?2 of them; a saga goes only if
//  it is terminal (a saga_ends row of another is a bug, and goes alone)
#define OLDEST_ENDS \
    "SELECT ended_ms, saga_id FROM saga_ends WHERE ended_ms < ?1 ORDER BY ended_ms LIMIT ?2"
#define SQL_EXPIRE_SAGAS \
    "DELETE FROM sagas WHERE saga_id IN (SELECT saga_id FROM (" OLDEST_ENDS "))" \
    " AND " TERMINAL
#define SQL_EXPIRE_ENDS \
    "DELETE FROM saga_ends WHERE (ended_ms, saga_id) IN (" OLDEST_ENDS ")"

//  list: newest first from a cursor.  The table is clustered on saga_id
//  (WITHOUT ROWID), so each page walks the primary key down from the
//  cursor and stops after ?2 rows that match; the active page uses the
//  partial index (its condition repeated) and sorts the active sagas,
//  which max_inflight bounds
#define LIST_COLUMNS "SELECT saga_id, phase, cart, state, cart_digest FROM sagas"
#define SQL_LIST_ALL \
    LIST_COLUMNS " WHERE saga_id < ?1 ORDER BY saga_id DESC LIMIT ?2"
#define SQL_LIST_ACTIVE \
    LIST_COLUMNS " WHERE " ACTIVE " AND saga_id < ?1 ORDER BY saga_id DESC LIMIT ?2"
#define SQL_LIST_PHASE \
    LIST_COLUMNS " WHERE saga_id < ?1 AND phase = ?3 ORDER BY saga_id DESC LIMIT ?2"

//  The log's statements, by number: looking one up in the store's cache
//  hashes its whole SQL text, a tenth of a persist's cost (measured), so
//  the log keeps the pointers the cache hands out
typedef enum {
    S_INSERT, S_UPDATE_STATE, S_UPDATE_PHASE, S_SELECT_SAGA, S_SELECT_ACTIVE,
    S_FIND_CHECKOUT, S_SELECT_STATE, S_COUNT_ACTIVE, S_COUNT, S_ENDED, S_EXPIRE_SAGAS,
    S_EXPIRE_ENDS, S_LIST_ALL, S_LIST_ACTIVE, S_LIST_PHASE, S_STATEMENTS
} statement_t;

static const char *s_sql [S_STATEMENTS] = {
    SQL_INSERT, SQL_UPDATE_STATE, SQL_UPDATE_PHASE, SQL_SELECT_SAGA, SQL_SELECT_ACTIVE,
    SQL_FIND_CHECKOUT, SQL_SELECT_STATE, SQL_COUNT_ACTIVE, SQL_COUNT, SQL_ENDED,
    SQL_EXPIRE_SAGAS, SQL_EXPIRE_ENDS, SQL_LIST_ALL, SQL_LIST_ACTIVE, SQL_LIST_PHASE
};

typedef struct {
    saga_log_t ops;                             //  first: the saga_log_t * is this
    store_t *store;
    sqlite3_stmt *statements [S_STATEMENTS];    //  borrowed from the store
    ck_buf_t cart;                              //  the cart being inserted
    ck_buf_t state;                             //  the state being written
    int owner_fd;                               //  holds the file's flock, or -1
} saga_log_sqlite_t;

//  The statement, prepared on first use; NULL after logging.  Every use
//  resets it after its last step and binds all its parameters.
static sqlite3_stmt *
s_prepare (saga_log_sqlite_t *self, statement_t which)
{
    if (!self->statements [which])
        self->statements [which] = store_prepare (self->store, s_sql [which]);
    return self->statements [which];
}

//  A file written by an older coordinator has another layout: refuse it
//  rather than read it wrong.  Returns 0 when the file is new or current.
static int
s_check_version (saga_log_sqlite_t *self, const char *path)
{
    int version = store_user_version (self->store);
    if (version == 0 || version == SAGA_LOG_VERSION)
        return 0;
    if (version > 0 && version < SAGA_LOG_VERSION)
        zsys_error ("saga_log: path=%s holds a version-%d saga log, which this coordinator "
                    "does not read: let the previous release finish its running sagas, then "
                    "start this one on a new --db file (keep the old one for lookups)",
                    path, version);
    return -1;
}


//  Closes the log; safe on NULL, nulls the pointer.

static void
s_destroy (saga_log_t **self_p)
{
    assert (self_p);
    saga_log_sqlite_t *self = (saga_log_sqlite_t *) *self_p;
    if (!self)
        return;
    store_destroy (&self->store);
    if (self->owner_fd >= 0)
        close (self->owner_fd);         //  releases the flock
    ck_buf_free (&self->cart);
    ck_buf_free (&self->state);
    free (self);
    *self_p = NULL;
}


//  BEGIN IMMEDIATE for the loop turn; 0 or -1.

static int
s_begin (saga_log_t *base)
{
    saga_log_sqlite_t *self = (saga_log_sqlite_t *) base;
    assert (self);
    return store_begin (self->store);
}


//  COMMIT of the loop turn; 0 or -1 (then roll back).

static int
s_commit (saga_log_t *base)
{
    saga_log_sqlite_t *self = (saga_log_sqlite_t *) base;
    assert (self);
    return store_commit (self->store);
}


//  ROLLBACK of the loop turn, if one is open.  Can't fail.

static void
s_rollback (saga_log_t *base)
{
    saga_log_sqlite_t *self = (saga_log_sqlite_t *) base;
    assert (self);
    store_rollback (self->store);
}


//  Binds saga_id, the state blob, the phase and the reason's code: ?1..?4
//  of every write
static void
s_bind_state (saga_log_sqlite_t *self, sqlite3_stmt *stmt, const saga_t *saga)
{
    sqlite3_bind_text (stmt, 1, saga->saga_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob (stmt, 2, self->state.data, (int) self->state.size, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 3, saga_phase_name (saga->phase), -1, SQLITE_STATIC);
    store_bind_optional (stmt, 4, saga->reason? saga->reason->code: NULL);
}

//  Inserts the saga's row.  A known checkout_id or saga_id fails the one
//  statement, which SQLite undoes alone, so the turn's transaction is left
//  as it was and may go on.
static int
s_insert (saga_log_sqlite_t *self, const saga_t *saga, uint64_t cart_digest)
{
    sqlite3_stmt *stmt = s_prepare (self, S_INSERT);
    if (!stmt)
        return -1;
    if (saga_record_cart (saga, &self->cart)) {
        zsys_error ("saga_log: path=%s op=insert saga=%s error=the cart does not encode"
                    " as a CHECKOUT", store_path (self->store), saga->saga_id);
        return -1;
    }
    s_bind_state (self, stmt, saga);
    sqlite3_bind_text (stmt, 5, saga->checkout_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 6, (sqlite3_int64) cart_digest);
    sqlite3_bind_blob (stmt, 7, self->cart.data, (int) self->cart.size, SQLITE_STATIC);
    return store_done (self->store, stmt, "insert");
}

//  Rewrites the saga's state, and its phase when that changed
static int
s_update (saga_log_sqlite_t *self, const saga_t *saga)
{
    sqlite3_stmt *stmt = s_prepare (self, saga->phase == saga->phase_logged
                                          ? S_UPDATE_STATE: S_UPDATE_PHASE);
    if (!stmt)
        return -1;
    s_bind_state (self, stmt, saga);
    if (store_done (self->store, stmt, "update"))
        return -1;
    if (sqlite3_changes (store_db (self->store)) == 1)
        return 0;
    zsys_error ("saga_log: path=%s op=update saga=%s error=no such saga",
                store_path (self->store), saga->saga_id);
    return -1;
}


//  Dates the saga's end, for expire
static int
s_ended (saga_log_sqlite_t *self, const saga_t *saga)
{
    sqlite3_stmt *stmt = s_prepare (self, S_ENDED);
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, saga->saga_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) zclock_time ());
    return store_done (self->store, stmt, "ended");
}


//  Writes the saga's row with its history appended; 0 or -1.

static int
s_persist (saga_log_t *base, saga_t *saga, bool created, uint64_t cart_digest,
                  const ck_history_entry_t *history, uint32_t history_count)
{
    saga_log_sqlite_t *self = (saga_log_sqlite_t *) base;
    assert (self);
    assert (saga);
    assert (history_count == 0 || history);
    assert (store_in_transaction (self->store));
    if (saga_record_append (saga, history, history_count)) {
        zsys_error ("saga_log: path=%s op=persist saga=%s error=out of memory",
                    store_path (self->store), saga->saga_id);
        return -1;
    }
    saga->history_logged += history_count;
    if (saga_record_state (saga, &self->state)) {
        zsys_error ("saga_log: path=%s op=persist saga=%s error=out of memory",
                    store_path (self->store), saga->saga_id);
        return -1;
    }
    if (created? s_insert (self, saga, cart_digest): s_update (self, saga))
        return -1;
    if (saga_record_ends (saga, created) && s_ended (self, saga))
        return -1;
    saga->phase_logged = saga->phase;
    return 0;
}


//  Looks checkout_id up; 1 known (fills saga_id, cart_digest), 0 not, -1.

static int
s_find_checkout (saga_log_t *base, const char *checkout_id, char *saga_id, uint64_t *cart_digest)
{
    saga_log_sqlite_t *self = (saga_log_sqlite_t *) base;
    assert (self);
    assert (checkout_id && saga_id && cart_digest);
    sqlite3_stmt *stmt = s_prepare (self, S_FIND_CHECKOUT);
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, checkout_id, -1, SQLITE_STATIC);
    int rc = store_step (self->store, stmt, "find_checkout");
    if (rc == -1)
        return -1;
    if (rc == SQLITE_DONE) {
        sqlite3_reset (stmt);
        return 0;
    }
    const char *text = (const char *) sqlite3_column_text (stmt, 0);
    size_t length = text? strlen (text): 0;
    if (length == 0 || length > CK_ID_MAX) {
        zsys_error ("saga_log: path=%s op=find_checkout checkout=%s error=invalid saga_id",
                    store_path (self->store), checkout_id);
        sqlite3_reset (stmt);
        return -1;
    }
    memcpy (saga_id, text, length + 1);
    *cart_digest = (uint64_t) sqlite3_column_int64 (stmt, 1);
    sqlite3_reset (stmt);
    return 1;
}


//  Restores the saga in stmt's current row (SQL_SELECT_SAGA's columns);
//  NULL after logging
static saga_t *
s_row_saga (saga_log_sqlite_t *self, sqlite3_stmt *stmt)
{
    const char *saga_id = (const char *) sqlite3_column_text (stmt, 0);
    const char *phase_name = (const char *) sqlite3_column_text (stmt, 1);
    int phase = -1;
    for (int index = SAGA_NEW; index <= SAGA_FAILED && phase_name; index++)
        if (strcmp (phase_name, saga_phase_name ((saga_phase_t) index)) == 0)
            phase = index;
    const char *why = "invalid saga_id or phase";
    saga_t *saga = NULL;
    if (saga_id && ck_id_valid (saga_id, strlen (saga_id)) && phase >= 0)
        saga = saga_record_restore (saga_id, (saga_phase_t) phase,
                                    sqlite3_column_blob (stmt, 2),
                                    (size_t) sqlite3_column_bytes (stmt, 2),
                                    sqlite3_column_blob (stmt, 3),
                                    (size_t) sqlite3_column_bytes (stmt, 3), &why);
    if (!saga)
        zsys_error ("saga_log: path=%s op=load saga=%.64s error=%s",
                    store_path (self->store), saga_id? saga_id: "", why);
    return saga;
}


//  Restores one saga, owned by the caller; NULL when unknown or on error.

static saga_t *
s_load (saga_log_t *base, const char *saga_id)
{
    saga_log_sqlite_t *self = (saga_log_sqlite_t *) base;
    assert (self);
    assert (saga_id);
    sqlite3_stmt *stmt = s_prepare (self, S_SELECT_SAGA);
    if (!stmt)
        return NULL;
    sqlite3_bind_text (stmt, 1, saga_id, -1, SQLITE_STATIC);
    saga_t *saga = NULL;
    if (store_step (self->store, stmt, "load") == SQLITE_ROW)
        saga = s_row_saga (self, stmt);
    sqlite3_reset (stmt);
    return saga;
}

//  A saga read for recovery, with its cart's fingerprint
typedef struct {
    saga_t *saga;
    uint64_t cart_digest;
} active_t;

//  Reads every active saga into a new array (*count entries); NULL and
//  -1 in *count after logging on error
static active_t *
s_read_active (saga_log_sqlite_t *self, int *count)
{
    *count = -1;
    sqlite3_stmt *stmt = s_prepare (self, S_SELECT_ACTIVE);
    if (!stmt)
        return NULL;
    active_t *sagas = NULL;
    size_t size = 0, used = 0;
    int rc;
    while ((rc = store_step (self->store, stmt, "each_active")) == SQLITE_ROW) {
        if (used == size) {
            size = size? size * 2: 64;
            active_t *larger = (active_t *) realloc (sagas, size * sizeof (active_t));
            if (!larger)
                break;
            sagas = larger;
        }
        if (!(sagas [used].saga = s_row_saga (self, stmt)))
            break;
        sagas [used++].cart_digest = (uint64_t) sqlite3_column_int64 (stmt, 4);
    }
    sqlite3_reset (stmt);
    if (rc != SQLITE_DONE || used > INT_MAX) {
        while (used)
            saga_destroy (&sagas [--used].saga);
        free (sagas);
        zsys_error ("saga_log: path=%s op=each_active error=recovery read failed",
                    store_path (self->store));
        return NULL;
    }
    *count = (int) used;
    return sagas;
}


//  Passes every active saga, restored, to fn; how many, or -1.

static int
s_each_active (saga_log_t *base, saga_log_active_fn *fn, void *arg)
{
    saga_log_sqlite_t *self = (saga_log_sqlite_t *) base;
    assert (self);
    assert (fn);
    int count;
    active_t *sagas = s_read_active (self, &count);
    for (int index = 0; index < count; index++)
        fn (arg, sagas [index].saga, sagas [index].cart_digest);
    free (sagas);
    return count;
}


//  Fills up to max history entries, first and last halves; count or -1.

static int
s_history (saga_log_t *base, const char *saga_id, ck_history_entry_t *entries, uint32_t max,
                  uint64_t *total)
{
    saga_log_sqlite_t *self = (saga_log_sqlite_t *) base;
    assert (self);
    assert (saga_id && total);
    assert (max == 0 || entries);
    *total = 0;
    sqlite3_stmt *stmt = s_prepare (self, S_SELECT_STATE);
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, saga_id, -1, SQLITE_STATIC);
    int rc = store_step (self->store, stmt, "history");
    int count = rc == SQLITE_DONE? 0: -1;
    const char *why = "";
    if (rc == SQLITE_ROW)
        count = saga_record_history (sqlite3_column_blob (stmt, 0),
                                     (size_t) sqlite3_column_bytes (stmt, 0),
                                     entries, max, total, &why);
    sqlite3_reset (stmt);
    if (rc == SQLITE_ROW && count < 0)
        zsys_error ("saga_log: path=%s op=history saga=%.64s error=%s",
                    store_path (self->store), saga_id, why);
    return count;
}


//  A passive checkpoint, for idle turns; 0 or -1.

static int
s_checkpoint (saga_log_t *base)
{
    saga_log_sqlite_t *self = (saga_log_sqlite_t *) base;
    assert (self);
    return store_checkpoint (self->store);
}


//  Runs one of expire's deletes; the rows it deleted, or -1
static int
s_expire_step (saga_log_sqlite_t *self, statement_t which, uint64_t before_ms, int max)
{
    sqlite3_stmt *stmt = s_prepare (self, which);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, (sqlite3_int64) before_ms);
    sqlite3_bind_int (stmt, 2, max);
    if (store_done (self->store, stmt, "expire"))
        return -1;
    return sqlite3_changes (store_db (self->store));
}


//  Deletes up to max terminal sagas that ended before before_ms, oldest
//  first, in a transaction of its own; how many, or -1.

static int
s_expire (saga_log_t *base, uint64_t before_ms, int max)
{
    saga_log_sqlite_t *self = (saga_log_sqlite_t *) base;
    assert (self);
    assert (max > 0);
    assert (!store_in_transaction (self->store));
    if (store_begin (self->store))
        return -1;
    int sagas = s_expire_step (self, S_EXPIRE_SAGAS, before_ms, max);
    int gone = sagas < 0? -1: s_expire_step (self, S_EXPIRE_ENDS, before_ms, max);
    if (gone < 0 || store_commit (self->store)) {
        store_rollback (self->store);
        return -1;
    }
    return sagas;
}


//  Counts the sagas in phase; 0 or -1.

//  One page of LIST, newest first from before; rows read, or -1.

static int
s_list (saga_log_t *base, const char *before, saga_log_list_t which, int max,
        saga_log_list_fn *fn, void *arg)
{
    saga_log_sqlite_t *self = (saga_log_sqlite_t *) base;
    assert (self && before && fn && max > 0);
    statement_t statement = which == SAGA_LOG_LIST_ALL? S_LIST_ALL
                          : which == SAGA_LOG_LIST_ACTIVE? S_LIST_ACTIVE: S_LIST_PHASE;
    sqlite3_stmt *stmt = s_prepare (self, statement);
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, before, -1, SQLITE_STATIC);
    sqlite3_bind_int (stmt, 2, max);
    if (statement == S_LIST_PHASE)
        sqlite3_bind_text (stmt, 3, saga_phase_name (which == SAGA_LOG_LIST_CONFIRMED
                                                     ? SAGA_CONFIRMED: SAGA_FAILED),
                           -1, SQLITE_STATIC);
    int count = 0, rc;
    while ((rc = store_step (self->store, stmt, "list")) == SQLITE_ROW) {
        saga_t *saga = s_row_saga (self, stmt);
        if (!saga)
            break;                      //  rc stays SQLITE_ROW: -1
        count++;
        bool more = fn (arg, saga);
        saga_destroy (&saga);
        if (!more) {
            rc = SQLITE_DONE;
            break;
        }
    }
    sqlite3_reset (stmt);
    return rc == SQLITE_DONE? count: -1;
}


static int
s_count (saga_log_t *base, saga_phase_t phase, uint64_t *count)
{
    saga_log_sqlite_t *self = (saga_log_sqlite_t *) base;
    assert (self);
    assert (count);
    const char *name = saga_phase_name (phase);
    assert (name);
    bool active = phase == SAGA_RUNNING || phase == SAGA_COMPENSATING;
    sqlite3_stmt *stmt = s_prepare (self, active? S_COUNT_ACTIVE: S_COUNT);
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, name, -1, SQLITE_STATIC);
    int rc = store_step (self->store, stmt, "count");
    if (rc == SQLITE_ROW)
        *count = (uint64_t) sqlite3_column_int64 (stmt, 0);
    sqlite3_reset (stmt);
    return rc == SQLITE_ROW? 0: -1;
}


//  A saga's state counts steps by their index in the step table, so a log
//  is read only with the table its running sagas were started with.

static int
s_use_table (saga_log_t *base, const saga_def_t *def)
{
    saga_log_sqlite_t *self = (saga_log_sqlite_t *) base;
    assert (self && def);
    char steps [1024], kept [1024] = "", where [PATH_MAX + 8];
    if (saga_def_describe (def, steps, sizeof steps))
        return -1;
    sqlite3_stmt *stmt = store_prepare (self->store, "SELECT steps FROM saga_table");
    int rc = stmt? store_step (self->store, stmt, "saga_table"): -1;
    if (rc == SQLITE_ROW && sqlite3_column_text (stmt, 0))
        snprintf (kept, sizeof kept, "%s", (const char *) sqlite3_column_text (stmt, 0));
    if (stmt)
        sqlite3_reset (stmt);
    if (rc == -1)
        return -1;
    snprintf (where, sizeof where, "path=%s", store_path (self->store));
    int change = saga_log_table_change (&self->ops, where, kept, steps);
    if (change != 0)
        return change > 0? 0: -1;
    stmt = store_prepare (self->store, "INSERT OR REPLACE INTO saga_table (id, steps) VALUES (1, ?)");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, steps, -1, SQLITE_TRANSIENT);
    return store_done (self->store, stmt, "saga_table");
}


//  Opens the log at path; NULL after logging.

//  One coordinator per file: two would both resume its running sagas.  An
//  exclusive flock on the file says so; the kernel drops it when the
//  process dies, however it dies.  (A flock and SQLite's own fcntl locks
//  do not meet on a local file system.)  0, or -1 after logging.
static int
s_own (saga_log_sqlite_t *self, const char *path, bool *refused)
{
    self->owner_fd = open (path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (self->owner_fd < 0) {
        zsys_error ("saga_log: path=%s error=%s", path, strerror (errno));
        return -1;
    }
    if (flock (self->owner_fd, LOCK_EX | LOCK_NB) == 0)
        return 0;
    if (errno == EWOULDBLOCK) {
        zsys_error ("saga_log: path=%s error=another coordinator runs on this file;"
                    " one coordinator per SQLite log (several share one on PostgreSQL)",
                    path);
        *refused = true;
    }
    else
        zsys_error ("saga_log: path=%s error=cannot lock: %s", path, strerror (errno));
    return -1;
}

saga_log_t *
saga_log_sqlite_new (const char *path, const store_options_t *options)
{
    bool refused = false;
    return saga_log_sqlite_open (path, options, &refused);
}

saga_log_t *
saga_log_sqlite_open (const char *path, const store_options_t *options, bool *refused)
{
    assert (path && refused);
    *refused = false;
    saga_log_sqlite_t *self = (saga_log_sqlite_t *) zmalloc (sizeof (saga_log_sqlite_t));
    self->ops = (saga_log_t) {
        s_use_table, s_begin, s_commit, s_rollback, s_persist, s_find_checkout, NULL, s_load,
        s_each_active, s_history, s_checkpoint, s_count, s_expire, s_list, s_destroy,
        NULL, NULL
    };
    self->owner_fd = -1;
    if (s_own (self, path, refused)) {
        saga_log_t *base = &self->ops;
        s_destroy (&base);
        return NULL;
    }
    self->store = store_new (path, options);
    if (!self->store
    ||  s_check_version (self, path)
    ||  store_schema (self->store, SCHEMA, SAGA_LOG_VERSION)) {
        zsys_error ("saga_log: path=%s op=open error=cannot open the log", path);
        saga_log_t *base = &self->ops;
        s_destroy (&base);
        return NULL;
    }
    return &self->ops;
}

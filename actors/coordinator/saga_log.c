/*  saga_log.c - the coordinator's durable saga log, in SQLite
    Schema, group-committed transactions, persist, dedupe, recovery, history.
*/
#include <assert.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <czmq.h>
#include "saga_log.h"
#include "saga_log_row.h"

//  The cart never changes after creation, so it lives apart from the small
//  state row that every transition rewrites.  docs/saga-log.md says why
//  each table, column and index is there.
#define SCHEMA \
    "CREATE TABLE IF NOT EXISTS saga_carts (" \
    " saga_id TEXT PRIMARY KEY NOT NULL," \
    " checkout_id TEXT NOT NULL," \
    " cart_digest INTEGER NOT NULL," \
    " cart_id TEXT NOT NULL," \
    " customer_id TEXT NOT NULL," \
    " payment_method TEXT NOT NULL," \
    " currency TEXT NOT NULL," \
    " ship_country TEXT NOT NULL," \
    " amount INTEGER NOT NULL," \
    " items TEXT NOT NULL) WITHOUT ROWID;" \
    "CREATE UNIQUE INDEX IF NOT EXISTS saga_carts_checkout" \
    " ON saga_carts (checkout_id);" \
    "CREATE TABLE IF NOT EXISTS sagas (" \
    " saga_id TEXT PRIMARY KEY NOT NULL," \
    " phase TEXT NOT NULL," \
    " wait TEXT NOT NULL," \
    " stuck INTEGER NOT NULL," \
    " step INTEGER NOT NULL," \
    " failed_step INTEGER," \
    " comp_steps TEXT NOT NULL," \
    " comp_index INTEGER NOT NULL," \
    " type TEXT," \
    " attempt INTEGER NOT NULL," \
    " counted INTEGER NOT NULL," \
    " accepted_us INTEGER NOT NULL," \
    " elapsed_us INTEGER NOT NULL," \
    " deadline_us INTEGER NOT NULL," \
    " reservation_id TEXT," \
    " authorization_id TEXT," \
    " order_id TEXT," \
    " reason_code TEXT," \
    " reason_message TEXT," \
    " reason_sku TEXT," \
    " history_count INTEGER NOT NULL) WITHOUT ROWID;" \
    "CREATE INDEX IF NOT EXISTS sagas_active ON sagas (phase)" \
    " WHERE phase IN ('running', 'compensating');" \
    "CREATE TABLE IF NOT EXISTS saga_history (" \
    " saga_id TEXT NOT NULL," \
    " seq INTEGER NOT NULL," \
    " at_ms INTEGER NOT NULL," \
    " event TEXT NOT NULL," \
    " step TEXT," \
    " type TEXT," \
    " attempt INTEGER," \
    " outcome TEXT," \
    " reason_code TEXT," \
    " reason_message TEXT," \
    " reason_sku TEXT," \
    " PRIMARY KEY (saga_id, seq)) WITHOUT ROWID;"

//  The active-phase condition, written exactly as in sagas_active's WHERE:
//  SQLite uses a partial index only for queries that repeat its condition
#define ACTIVE "phase IN ('running', 'compensating')"

#define SQL_INSERT_CART \
    "INSERT INTO saga_carts (saga_id, checkout_id, cart_digest, cart_id," \
    " customer_id, payment_method, currency, ship_country, amount, items)" \
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)"

#define SQL_INSERT_STATE \
    "INSERT INTO sagas (saga_id, phase, wait, stuck, step, failed_step," \
    " comp_steps, comp_index, type, attempt, counted, accepted_us," \
    " elapsed_us, deadline_us, reservation_id, authorization_id, order_id," \
    " reason_code, reason_message, reason_sku, history_count)" \
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14," \
    " ?15, ?16, ?17, ?18, ?19, ?20, ?21)"

//  Every column but phase, which only this statement's twin below sets:
//  an UPDATE that does not name phase leaves the sagas_active index alone,
//  and most transitions (a step ok, a retry) keep the phase
#define SQL_UPDATE_COLUMNS \
    " wait = ?3, stuck = ?4, step = ?5," \
    " failed_step = ?6, comp_steps = ?7, comp_index = ?8, type = ?9," \
    " attempt = ?10, counted = ?11, accepted_us = ?12, elapsed_us = ?13," \
    " deadline_us = ?14, reservation_id = ?15, authorization_id = ?16," \
    " order_id = ?17, reason_code = ?18, reason_message = ?19," \
    " reason_sku = ?20, history_count = history_count + ?21" \
    " WHERE saga_id = ?1"

#define SQL_UPDATE_STATE "UPDATE sagas SET" SQL_UPDATE_COLUMNS
#define SQL_UPDATE_PHASE "UPDATE sagas SET phase = ?2," SQL_UPDATE_COLUMNS

#define SQL_INSERT_HISTORY \
    "INSERT INTO saga_history (saga_id, seq, " SAGA_LOG_HISTORY_COLUMNS ")" \
    " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)"

#define SQL_SELECT_SAGA \
    "SELECT " SAGA_LOG_ROW_COLUMNS \
    " FROM sagas s JOIN saga_carts c USING (saga_id) WHERE s.saga_id = ?1"

#define SQL_SELECT_ACTIVE \
    "SELECT " SAGA_LOG_ROW_COLUMNS \
    " FROM sagas s JOIN saga_carts c USING (saga_id) WHERE s." ACTIVE

#define SQL_FIND_CHECKOUT \
    "SELECT saga_id, cart_digest FROM saga_carts WHERE checkout_id = ?1"

#define SQL_HISTORY_COUNT \
    "SELECT history_count FROM sagas WHERE saga_id = ?1"

//  The middle of a long history, which no one reads (saga_log_history)
#define SQL_HISTORY_PRUNE \
    "DELETE FROM saga_history WHERE saga_id = ?1 AND seq >= ?2 AND seq < ?3"

#define SQL_HISTORY_RANGE \
    "SELECT " SAGA_LOG_HISTORY_COLUMNS " FROM saga_history" \
    " WHERE saga_id = ?1 AND seq >= ?2 AND seq < ?3 ORDER BY seq"

#define SQL_COUNT_ACTIVE \
    "SELECT count(*) FROM sagas WHERE " ACTIVE " AND phase = ?1"

#define SQL_COUNT \
    "SELECT count(*) FROM sagas WHERE phase = ?1"

//  The log's statements, by number: looking one up in the store's cache
//  hashes its whole SQL text, a tenth of a persist's cost (measured), so
//  the log keeps the pointers the cache hands out
typedef enum {
    S_INSERT_CART, S_INSERT_STATE, S_UPDATE_STATE, S_UPDATE_PHASE, S_INSERT_HISTORY,
    S_SELECT_SAGA, S_SELECT_ACTIVE, S_FIND_CHECKOUT, S_HISTORY_COUNT,
    S_HISTORY_RANGE, S_HISTORY_PRUNE, S_COUNT_ACTIVE, S_COUNT, S_STATEMENTS
} statement_t;

static const char *s_sql [S_STATEMENTS] = {
    SQL_INSERT_CART, SQL_INSERT_STATE, SQL_UPDATE_STATE, SQL_UPDATE_PHASE, SQL_INSERT_HISTORY,
    SQL_SELECT_SAGA, SQL_SELECT_ACTIVE, SQL_FIND_CHECKOUT, SQL_HISTORY_COUNT,
    SQL_HISTORY_RANGE, SQL_HISTORY_PRUNE, SQL_COUNT_ACTIVE, SQL_COUNT
};

struct _saga_log_t {
    store_t *store;
    sqlite3_stmt *statements [S_STATEMENTS];    //  borrowed from the store
    char items_text [SAGA_LOG_ITEMS_SIZE];      //  the cart being inserted
};

//  The statement, prepared on first use; NULL after logging.  Every use
//  resets it after its last step and binds all its parameters.
static sqlite3_stmt *
s_prepare (saga_log_t *self, statement_t which)
{
    if (!self->statements [which])
        self->statements [which] = store_prepare (self->store, s_sql [which]);
    return self->statements [which];
}


//  Opens the log at path; NULL after logging.

saga_log_t *
saga_log_new (const char *path, const store_options_t *options)
{
    assert (path);
    saga_log_t *self = (saga_log_t *) zmalloc (sizeof (saga_log_t));
    self->store = store_new (path, options);
    if (!self->store
    ||  store_schema (self->store, SCHEMA, SAGA_LOG_VERSION)) {
        zsys_error ("saga_log: path=%s op=open error=cannot open the log", path);
        saga_log_destroy (&self);
    }
    return self;
}


//  Closes the log; safe on NULL, nulls the pointer.

void
saga_log_destroy (saga_log_t **self_p)
{
    assert (self_p);
    saga_log_t *self = *self_p;
    if (!self)
        return;
    store_destroy (&self->store);
    free (self);
    *self_p = NULL;
}


//  BEGIN IMMEDIATE for the loop turn; 0 or -1.

int
saga_log_begin (saga_log_t *self)
{
    assert (self);
    return store_begin (self->store);
}


//  COMMIT of the loop turn; 0 or -1 (then roll back).

int
saga_log_commit (saga_log_t *self)
{
    assert (self);
    return store_commit (self->store);
}


//  ROLLBACK of the loop turn, if one is open.  Can't fail.

void
saga_log_rollback (saga_log_t *self)
{
    assert (self);
    store_rollback (self->store);
}


//  Inserts the saga's cart and its state row with history_count entries.
//  The cart goes first: a known checkout_id or saga_id fails that first
//  statement, which SQLite undoes alone, so the turn's transaction is left
//  as it was and may go on.
static int
s_insert (saga_log_t *self, const saga_t *saga, uint64_t cart_digest, uint32_t history_count)
{
    sqlite3_stmt *cart = s_prepare (self, S_INSERT_CART);
    if (!cart)
        return -1;
    saga_log_bind_cart (cart, saga, cart_digest, self->items_text);
    if (store_done (self->store, cart, "insert_cart"))
        return -1;
    sqlite3_stmt *state = s_prepare (self, S_INSERT_STATE);
    if (!state)
        return -1;
    saga_log_bind_state (state, saga);
    sqlite3_bind_int64 (state, 21, history_count);
    return store_done (self->store, state, "insert_state");
}

//  The number of history entries the saga has: 1 and *count, 0 for an
//  unknown saga, or -1 after logging
static int
s_history_count (saga_log_t *self, const char *saga_id, uint64_t *count)
{
    sqlite3_stmt *stmt = s_prepare (self, S_HISTORY_COUNT);
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, saga_id, -1, SQLITE_STATIC);
    int rc = store_step (self->store, stmt, "history_count");
    if (rc == SQLITE_ROW)
        *count = (uint64_t) sqlite3_column_int64 (stmt, 0);
    sqlite3_reset (stmt);
    return rc == SQLITE_ROW? 1: rc == SQLITE_DONE? 0: -1;
}

//  Rewrites the saga's state row, adding history_count to its entries
static int
s_update (saga_log_t *self, const saga_t *saga, uint32_t history_count)
{
    sqlite3_stmt *state = s_prepare (self, saga->phase == saga->phase_logged
                                           ? S_UPDATE_STATE: S_UPDATE_PHASE);
    if (!state)
        return -1;
    saga_log_bind_state (state, saga);
    sqlite3_bind_int64 (state, 21, history_count);
    if (store_done (self->store, state, "update_state"))
        return -1;
    if (sqlite3_changes (store_db (self->store)) == 1)
        return 0;
    zsys_error ("saga_log: path=%s op=update_state saga=%s error=no such saga",
                store_path (self->store), saga->saga_id);
    return -1;
}


//  A saga that retries for ever (stuck) appends history for ever; only its
//  first and last HISTORY_KEPT entries are ever read, so the ones that
//  fall between them are deleted as new ones arrive
#define HISTORY_KEPT (CK_MAX_HISTORY / 2)

static int
s_prune (saga_log_t *self, const saga_t *saga, uint64_t before, uint64_t after)
{
    uint64_t from = before > 2 * HISTORY_KEPT? before - HISTORY_KEPT: HISTORY_KEPT;
    if (after <= 2 * HISTORY_KEPT)
        return 0;
    sqlite3_stmt *stmt = s_prepare (self, S_HISTORY_PRUNE);
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, saga->saga_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) from);
    sqlite3_bind_int64 (stmt, 3, (sqlite3_int64) (after - HISTORY_KEPT));
    return store_done (self->store, stmt, "prune_history");
}


//  Writes the saga's state and appends its history; 0 or -1.

int
saga_log_persist (saga_log_t *self, saga_t *saga, bool created, uint64_t cart_digest,
                  const ck_history_entry_t *history, uint32_t history_count)
{
    assert (self);
    assert (saga);
    assert (history_count == 0 || history);
    assert (store_in_transaction (self->store));
    //  The saga carries its count, so no persist reads the log first
    if (created)
        saga->history_logged = 0;
    uint64_t first_seq = saga->history_logged;
    if (created? s_insert (self, saga, cart_digest, history_count):
                 s_update (self, saga, history_count))
        return -1;
    sqlite3_stmt *stmt = history_count? s_prepare (self, S_INSERT_HISTORY): NULL;
    if (history_count && !stmt)
        return -1;
    for (uint32_t index = 0; index < history_count; index++) {
        saga_log_bind_history (stmt, saga->saga_id, first_seq + index, &history [index]);
        if (store_done (self->store, stmt, "insert_history"))
            return -1;
    }
    if (s_prune (self, saga, first_seq, first_seq + history_count))
        return -1;
    saga->history_logged = first_seq + history_count;
    saga->phase_logged = saga->phase;
    return 0;
}


//  Looks checkout_id up; 1 known (fills saga_id, cart_digest), 0 not, -1.

int
saga_log_find_checkout (saga_log_t *self, const char *checkout_id, char *saga_id, uint64_t *cart_digest)
{
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


//  Restores one saga, owned by the caller; NULL when unknown or on error.

saga_t *
saga_log_load (saga_log_t *self, const char *saga_id)
{
    assert (self);
    assert (saga_id);
    sqlite3_stmt *stmt = s_prepare (self, S_SELECT_SAGA);
    if (!stmt)
        return NULL;
    sqlite3_bind_text (stmt, 1, saga_id, -1, SQLITE_STATIC);
    saga_t *saga = NULL;
    if (store_step (self->store, stmt, "load") == SQLITE_ROW)
        saga = saga_log_row_saga (stmt, store_path (self->store));
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
s_read_active (saga_log_t *self, int *count)
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
        if (!(sagas [used].saga = saga_log_row_saga (stmt, store_path (self->store))))
            break;
        sagas [used++].cart_digest = saga_log_row_cart_digest (stmt);
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

int
saga_log_each_active (saga_log_t *self, saga_log_active_fn *fn, void *arg)
{
    assert (self);
    assert (fn);
    int count;
    active_t *sagas = s_read_active (self, &count);
    for (int index = 0; index < count; index++)
        fn (arg, sagas [index].saga, sagas [index].cart_digest);
    free (sagas);
    return count;
}

//  Reads history entries [from, to) into entries; the count, or -1
static int
s_history_range (saga_log_t *self, const char *saga_id, uint64_t from, uint64_t to,
                 ck_history_entry_t *entries)
{
    sqlite3_stmt *stmt = s_prepare (self, S_HISTORY_RANGE);
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, saga_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 2, (sqlite3_int64) from);
    sqlite3_bind_int64 (stmt, 3, (sqlite3_int64) to);
    uint64_t count = 0;
    int rc;
    while (count < to - from
    &&     (rc = store_step (self->store, stmt, "history")) == SQLITE_ROW) {
        if (saga_log_row_history (stmt, store_path (self->store), &entries [count]))
            break;
        count++;
    }
    sqlite3_reset (stmt);
    return count == to - from? (int) count: -1;
}


//  Fills up to max history entries, first and last halves; count or -1.

int
saga_log_history (saga_log_t *self, const char *saga_id, ck_history_entry_t *entries, uint32_t max,
                  uint64_t *total)
{
    assert (self);
    assert (saga_id && total);
    assert (max == 0 || entries);
    assert (max <= 2 * HISTORY_KEPT);   //  the middle of a long history is gone
    *total = 0;
    if (s_history_count (self, saga_id, total) == -1)
        return -1;
    if (*total <= max)
        return s_history_range (self, saga_id, 0, *total, entries);
    //  A saga that retries for ever has a long history: its start says
    //  what happened, its end where it stands; the middle is repetition
    uint32_t head = max / 2;
    uint32_t tail = max - head;
    int first = s_history_range (self, saga_id, 0, head, entries);
    int last = first < 0? -1:
               s_history_range (self, saga_id, *total - tail, *total, entries + head);
    return last < 0? -1: (int) max;
}


//  A passive checkpoint, for idle turns; 0 or -1.

int
saga_log_checkpoint (saga_log_t *self)
{
    assert (self);
    return store_checkpoint (self->store);
}


//  Counts the sagas in phase; 0 or -1.

int
saga_log_count (saga_log_t *self, saga_phase_t phase, uint64_t *count)
{
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

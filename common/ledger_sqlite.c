/*  ledger_sqlite.c - the ledger (ledger.h) in a participant's SQLite store
    A row per answer; one lookup and one insert per request.
*/
#include <assert.h>
#include <string.h>
#include <czmq.h>
#include "ledger_sqlite.h"

//  The file stores outcomes and types as these numbers
_Static_assert (CK_OUTCOME_OK == 1 && CK_OUTCOME_REJECTED == 2, "ledger outcome codes");

typedef struct {
    ledger_t ops;                       //  first: the ledger_t * is this
    store_t *store;                     //  borrowed
    bool own_transaction;               //  begin opened one for the request
    bool spoiled;                       //  a request failed after writing
    int changes;                        //  sqlite3_total_changes at begin
} ledger_sqlite_t;

//  Copies column into dest (size bytes), truncating; NULL gives "".
static void
s_copy_column (char *dest, size_t size, sqlite3_stmt *stmt, int column)
{
    const char *text = (const char *) sqlite3_column_text (stmt, column);
    size_t length = text? strnlen (text, size - 1): 0;
    if (length)
        memcpy (dest, text, length);
    dest [length] = 0;
}

//  Sets entry from the row under stmt's cursor: id, outcome, reason_code,
//  reason_message, reason_sku, detail.
static void
s_read_entry (sqlite3_stmt *stmt, ledger_entry_t *entry)
{
    entry->id = sqlite3_column_int64 (stmt, 0);
    entry->outcome = sqlite3_column_int (stmt, 1) == CK_OUTCOME_OK
                   ? CK_OUTCOME_OK: CK_OUTCOME_REJECTED;
    s_copy_column (entry->reason.code, sizeof entry->reason.code, stmt, 2);
    s_copy_column (entry->reason.message, sizeof entry->reason.message, stmt, 3);
    s_copy_column (entry->reason.sku, sizeof entry->reason.sku, stmt, 4);
    s_copy_column (entry->detail, sizeof entry->detail, stmt, 5);
}

//  Both entries in one statement: a saga has at most one row per type, so
//  this is one seek on saga_id and a row or two.  The "+" keeps the IN off
//  the index: as an index constraint SQLite 3.40 builds an ephemeral
//  b-tree per run (20% more CPU per request than two lookups).  With no
//  partner ?3 is NULL and matches nothing.  The same statement looks for
//  another saga's effect on the checkout (kind 2, its saga id in the
//  detail column), one seek on the partial index; ?4 NULL skips it.
static int
s_find (ledger_t *base, const ledger_query_t *query, ledger_entry_t *own,
        ledger_entry_t *other, char *holder)
{
    ledger_sqlite_t *self = (ledger_sqlite_t *) base;
    sqlite3_stmt *stmt = store_prepare (self->store,
        "SELECT id, outcome, reason_code, reason_message, reason_sku, detail,"
        " type = ?2 FROM ledger WHERE saga_id = ?1 AND +type IN (?2, ?3)"
        " UNION ALL SELECT * FROM (SELECT 0, 0, NULL, NULL, NULL, saga_id, 2"
        " FROM ledger WHERE checkout_id = ?4 AND saga_id <> ?1 LIMIT 1)");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, query->saga_id, -1, SQLITE_STATIC);
    sqlite3_bind_int (stmt, 2, ck_type_code (query->type));
    if (query->partner != CK_TYPE_NONE)
        sqlite3_bind_int (stmt, 3, ck_type_code (query->partner));
    if (query->forward && query->checkout_id && *query->checkout_id)
        sqlite3_bind_text (stmt, 4, query->checkout_id, -1, SQLITE_STATIC);
    int found = 0;
    int rc;
    while ((rc = store_step (self->store, stmt, "ledger_find")) == SQLITE_ROW) {
        int kind = sqlite3_column_int (stmt, 6);
        if (kind == 2) {
            s_copy_column (holder, CK_ID_SIZE, stmt, 5);
            found |= LEDGER_FOUND_HELD;
            continue;
        }
        s_read_entry (stmt, kind? own: other);
        found |= kind? LEDGER_FOUND_OWN: LEDGER_FOUND_PARTNER;
    }
    if (rc == -1)
        return -1;
    sqlite3_reset (stmt);
    return found;
}

//  The row's number is its rowid, read back from the insert: no MAX (id)
static int
s_record (ledger_t *base, const char *saga_id, ck_type_t type, const char *checkout_id,
          ledger_entry_t *entry)
{
    ledger_sqlite_t *self = (ledger_sqlite_t *) base;
    assert (entry->outcome == CK_OUTCOME_OK || entry->outcome == CK_OUTCOME_REJECTED);
    sqlite3_stmt *stmt = store_prepare (self->store,
        "INSERT INTO ledger (saga_id, type, outcome, reason_code, reason_message,"
        " reason_sku, detail, recorded_at, checkout_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, saga_id, -1, SQLITE_STATIC);
    sqlite3_bind_int (stmt, 2, ck_type_code (type));
    sqlite3_bind_int (stmt, 3, (int) entry->outcome);
    store_bind_optional (stmt, 4, entry->reason.code);
    store_bind_optional (stmt, 5, entry->reason.message);
    store_bind_optional (stmt, 6, entry->reason.sku);
    store_bind_optional (stmt, 7, entry->detail);
    sqlite3_bind_int64 (stmt, 8, zclock_time ());
    store_bind_optional (stmt, 9, checkout_id);
    if (store_done (self->store, stmt, "ledger_record"))
        return -1;
    entry->id = sqlite3_last_insert_rowid (store_db (self->store));
    return 0;
}

static int
s_begin (ledger_t *base)
{
    ledger_sqlite_t *self = (ledger_sqlite_t *) base;
    self->own_transaction = !store_in_transaction (self->store);
    if (self->own_transaction && store_begin (self->store))
        return -1;
    //  SQLite rolls a whole transaction back on some errors (a full disk):
    //  then the batch is lost, and going on would autocommit
    if (sqlite3_get_autocommit (store_db (self->store))) {
        zsys_error ("ledger: path=%s error=the batch's transaction was rolled back",
                    store_path (self->store));
        self->spoiled = true;
        return -1;
    }
    self->changes = sqlite3_total_changes (store_db (self->store));
    return 0;
}

static int
s_end (ledger_t *base, bool failed)
{
    ledger_sqlite_t *self = (ledger_sqlite_t *) base;
    if (self->own_transaction) {
        self->own_transaction = false;
        if (!failed && store_commit (self->store) == 0)
            return 0;
        store_rollback (self->store);
        return -1;
    }
    if (failed && sqlite3_total_changes (store_db (self->store)) != self->changes) {
        zsys_error ("ledger: path=%s error=a request failed after writing; the batch "
                    "will be rolled back", store_path (self->store));
        self->spoiled = true;
    }
    return 0;
}

//  The entries expire deletes: of the ?2 lowest numbers, those recorded
//  before ?1, never the highest (SQLite gives a new row the highest number
//  plus one: deleting it would give its number again).  A window by number,
//  not an index on recorded_at: numbers grow with time, and the window
//  costs the same however large the ledger is.
#define OLDEST \
    "SELECT id FROM (SELECT id, recorded_at FROM ledger ORDER BY id LIMIT ?2)" \
    " WHERE recorded_at < ?1 AND id < (SELECT max (id) FROM ledger)"

//  Runs one of expire's deletes, of table's rows; the rows it deleted, or -1
static int
s_expire_table (ledger_sqlite_t *self, const char *table, int64_t before_ms, int max)
{
    char sql [256];
    snprintf (sql, sizeof sql, "DELETE FROM %s WHERE id IN (" OLDEST ")", table);
    sqlite3_stmt *stmt = store_prepare (self->store, sql);
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, before_ms);
    sqlite3_bind_int (stmt, 2, max);
    if (store_done (self->store, stmt, "ledger_expire"))
        return -1;
    return sqlite3_changes (store_db (self->store));
}

//  The detail rows first: they are found by the entries' numbers
static int
s_expire (ledger_t *base, int64_t before_ms, int max, const char *const *details,
          size_t count)
{
    ledger_sqlite_t *self = (ledger_sqlite_t *) base;
    assert (max > 0);
    assert (count == 0 || details);
    assert (!store_in_transaction (self->store));
    if (store_begin (self->store))
        return -1;
    int rc = 0;
    for (size_t index = 0; index < count && rc == 0; index++)
        if (s_expire_table (self, details [index], before_ms, max) < 0)
            rc = -1;
    int gone = rc? -1: s_expire_table (self, "ledger", before_ms, max);
    if (gone < 0 || store_commit (self->store)) {
        store_rollback (self->store);
        return -1;
    }
    return gone;
}

static void
s_destroy (ledger_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}

ledger_t *
ledger_sqlite_new (store_t *store)
{
    assert (store);
    ledger_sqlite_t *self = (ledger_sqlite_t *) zmalloc (sizeof (ledger_sqlite_t));
    self->ops = (ledger_t) { s_begin, s_end, s_find, s_record, s_expire, s_destroy };
    self->store = store;
    return &self->ops;
}

bool
ledger_sqlite_spoiled (ledger_t *self)
{
    assert (self);
    return ((ledger_sqlite_t *) self)->spoiled;
}

void
ledger_sqlite_reset (ledger_t *self)
{
    assert (self);
    ((ledger_sqlite_t *) self)->spoiled = false;
}

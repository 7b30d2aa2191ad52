/*  inventory_repo_sqlite.c - the inventory's stock in its SQLite file
    One table, stock; a cart is taken or given back in one statement.
*/
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <czmq.h>
#include "inventory_repo.h"

//  The views read the ledger's type numbers
_Static_assert (CK_TYPE_RESERVE_INVENTORY == 1 && CK_TYPE_RELEASE_INVENTORY == 2,
                "ledger type numbers of the views");

//  stock, and the reservations as operators read them: an ok
//  ReserveInventory entry of the ledger is a reservation, its detail the
//  lines it took ([[sku, qty], ...]), and a ReleaseInventory entry of the
//  same saga released it
#define SCHEMA \
    "CREATE TABLE IF NOT EXISTS stock (" \
    " sku TEXT PRIMARY KEY NOT NULL," \
    " available INTEGER NOT NULL CHECK (available >= 0)) WITHOUT ROWID;" \
    "CREATE VIEW IF NOT EXISTS reservations AS SELECT r.id," \
    " 'res-' || r.id AS reservation_id, r.saga_id," \
    " CASE WHEN c.id IS NULL THEN 'held' ELSE 'released' END AS status," \
    " r.detail AS lines, r.recorded_at AS created_at, c.recorded_at AS released_at" \
    " FROM ledger r LEFT JOIN ledger c ON c.saga_id = r.saga_id AND c.type = 2" \
    " WHERE r.type = 1 AND r.outcome = 1;" \
    "CREATE VIEW IF NOT EXISTS reservation_lines AS SELECT" \
    " 'res-' || r.id AS reservation_id, j.key AS line, j.value ->> 0 AS sku," \
    " j.value ->> 1 AS qty FROM ledger r, json_each (r.detail) j" \
    " WHERE r.type = 1 AND r.outcome = 1;"

typedef struct {
    inventory_repo_t ops;               //  first: the inventory_repo_t * is this
    store_t *store;                     //  borrowed
    char *change_sql [CK_MAX_ITEMS + 1];    //  by SKU count, made when first used
} repo_t;

//  A cart's lines summed by SKU: a SKU on several lines is taken once per
//  line, so its lines add up
typedef struct {
    const char *sku [CK_MAX_ITEMS];
    int64_t qty [CK_MAX_ITEMS];
    uint32_t count;
} totals_t;

static void
s_totals (const ck_item_t *items, uint32_t count, totals_t *totals)
{
    totals->count = 0;
    for (uint32_t line = 0; line < count; line++) {
        uint32_t index = 0;
        while (index < totals->count && strcmp (totals->sku [index], items [line].sku))
            index++;
        if (index == totals->count) {
            totals->sku [totals->count] = items [line].sku;
            totals->qty [totals->count++] = 0;
        }
        totals->qty [index] += items [line].qty;
    }
}

//  The statement that adds a signed quantity to each of count SKUs, in
//  one statement whatever their number: "UPDATE stock SET available =
//  available + CASE sku WHEN ?1 THEN ?2 ... END WHERE sku IN (?1, ...)".
//  A take that would make a row negative fails the CHECK, and SQLite then
//  undoes the whole statement: a short line leaves no effect without a
//  savepoint.  The text is kept, at one address per count, for the
//  statement cache.
static const char *
s_change_sql (repo_t *self, uint32_t count)
{
    assert (count >= 1 && count <= CK_MAX_ITEMS);
    if (!self->change_sql [count]) {
        size_t size = 160 + 40 * (size_t) count;
        char *sql = (char *) zmalloc (size);
        size_t at = (size_t) snprintf (sql, size,
                                       "UPDATE stock SET available = available + CASE sku");
        for (uint32_t index = 0; index < count; index++)
            at += (size_t) snprintf (sql + at, size - at, " WHEN ?%u THEN ?%u",
                                     2 * index + 1, 2 * index + 2);
        at += (size_t) snprintf (sql + at, size - at, " END WHERE sku IN (");
        for (uint32_t index = 0; index < count; index++)
            at += (size_t) snprintf (sql + at, size - at, "%s?%u", index? ", ": "",
                                     2 * index + 1);
        snprintf (sql + at, size - at, ")");
        self->change_sql [count] = sql;
    }
    return self->change_sql [count];
}

//  Adds sign * qty to each SKU of totals: returns the rows changed, 0
//  when the CHECK refused (nothing changed), -1
static int
s_change (repo_t *self, const totals_t *totals, int sign, const char *op)
{
    sqlite3_stmt *stmt = store_prepare (self->store, s_change_sql (self, totals->count));
    if (!stmt)
        return -1;
    for (uint32_t index = 0; index < totals->count; index++) {
        sqlite3_bind_text (stmt, (int) (2 * index + 1), totals->sku [index], -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, (int) (2 * index + 2), sign * totals->qty [index]);
    }
    int rc = sqlite3_step (stmt);
    sqlite3_reset (stmt);
    if (rc == SQLITE_DONE)
        return sqlite3_changes (store_db (self->store));
    if (rc == SQLITE_CONSTRAINT_CHECK)
        return 0;
    return store_fail (self->store, op);
}

//  A short SKU fails the statement whole.  An unknown SKU changes no row,
//  which the count of rows changed shows: the others are then given back
//  at once, in the same transaction (unknown SKUs are a client's mistake,
//  rare enough for a second statement).
static int
s_take (inventory_repo_t *base, const ck_item_t *items, uint32_t count)
{
    repo_t *self = (repo_t *) base;
    totals_t totals;
    s_totals (items, count, &totals);
    int changed = s_change (self, &totals, -1, "take");
    if (changed <= 0 || (uint32_t) changed == totals.count)
        return changed < 0? -1: changed > 0;
    return s_change (self, &totals, 1, "take") == changed? 0: -1;
}

static int
s_give_back (inventory_repo_t *base, const ck_item_t *items, uint32_t count)
{
    repo_t *self = (repo_t *) base;
    totals_t totals;
    s_totals (items, count, &totals);
    int changed = s_change (self, &totals, 1, "give_back");
    if (changed == (int) totals.count)
        return 0;
    if (changed >= 0)
        zsys_error ("inventory: path=%s op=give_back error=%d of %u SKUs are in stock",
                    store_path (self->store), changed, totals.count);
    return -1;
}

static int
s_available (inventory_repo_t *base, const char *sku, int64_t *available)
{
    repo_t *self = (repo_t *) base;
    sqlite3_stmt *stmt = store_prepare (self->store,
        "SELECT available FROM stock WHERE sku = ?");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, sku, -1, SQLITE_STATIC);
    int rc = store_step (self->store, stmt, "available");
    if (rc == SQLITE_ROW)
        *available = sqlite3_column_int64 (stmt, 0);
    sqlite3_reset (stmt);
    return rc == SQLITE_ROW? 1: rc == SQLITE_DONE? 0: -1;
}

//  Whether stock has any row: 1 yes, 0 no, -1 error.
static int
s_stock_empty (repo_t *self)
{
    sqlite3_stmt *stmt = store_prepare (self->store,
        "SELECT NOT EXISTS (SELECT 1 FROM stock)");
    if (!stmt || store_step (self->store, stmt, "seed") != SQLITE_ROW)
        return -1;
    int empty = sqlite3_column_int (stmt, 0);
    sqlite3_reset (stmt);
    return empty;
}

static int
s_insert_rows (repo_t *self, const inventory_stock_t *rows, size_t count)
{
    for (size_t index = 0; index < count; index++) {
        sqlite3_stmt *stmt = store_prepare (self->store,
            "INSERT INTO stock (sku, available) VALUES (?, ?)");
        if (!stmt)
            return -1;
        sqlite3_bind_text (stmt, 1, rows [index].sku, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 2, rows [index].available);
        if (store_done (self->store, stmt, "seed"))
            return -1;
    }
    return 0;
}

//  The emptiness check and the load share one transaction, so of two
//  instances starting at once exactly one seeds
static int
s_seed (inventory_repo_t *base, const inventory_stock_t *rows, size_t count)
{
    repo_t *self = (repo_t *) base;
    if (store_begin (self->store))
        return -1;
    int empty = s_stock_empty (self);
    int rc = empty == 1? s_insert_rows (self, rows, count): empty == 0? 1: -1;
    if (rc == 0 && store_commit (self->store))
        rc = -1;
    if (rc != 0)
        store_rollback (self->store);
    return rc;
}

static void
s_destroy (inventory_repo_t **self_p)
{
    assert (self_p);
    repo_t *self = (repo_t *) *self_p;
    if (self) {
        for (size_t count = 0; count <= CK_MAX_ITEMS; count++)
            free (self->change_sql [count]);
        free (self);
        *self_p = NULL;
    }
}

inventory_repo_t *
inventory_repo_sqlite_new (participant_store_t *store)
{
    assert (store);
    if (participant_store_schema (store, SCHEMA))
        return NULL;
    repo_t *self = (repo_t *) zmalloc (sizeof (repo_t));
    self->ops = (inventory_repo_t) {
        s_take, s_give_back, s_available, s_seed, NULL, s_destroy
    };
    self->store = participant_store_store (store);
    return &self->ops;
}

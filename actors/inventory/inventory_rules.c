/*  inventory_rules.c - the inventory participant's business rules
    Reserves a cart's lines from stock all or nothing, and releases them.
*/
#include <assert.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <czmq.h>
#include "codec.h"
#include "inventory_rules.h"

#define SCHEMA_VERSION 1
#define SCHEMA \
    "CREATE TABLE IF NOT EXISTS stock (" \
    " sku TEXT PRIMARY KEY NOT NULL," \
    " available INTEGER NOT NULL CHECK (available >= 0)) WITHOUT ROWID;" \
    "CREATE TABLE IF NOT EXISTS reservations (" \
    " id INTEGER PRIMARY KEY," \
    " reservation_id TEXT NOT NULL UNIQUE," \
    " saga_id TEXT NOT NULL UNIQUE," \
    " status TEXT NOT NULL CHECK (status IN ('held', 'released'))," \
    " created_at INTEGER NOT NULL," \
    " released_at INTEGER);" \
    "CREATE TABLE IF NOT EXISTS reservation_lines (" \
    " reservation_id TEXT NOT NULL," \
    " line INTEGER NOT NULL," \
    " sku TEXT NOT NULL," \
    " qty INTEGER NOT NULL CHECK (qty > 0)," \
    " PRIMARY KEY (reservation_id, line)) WITHOUT ROWID;"

struct _inventory_rules_t {
    store_t *store;                     //  borrowed
    char reason [512];                  //  why the last seed failed
};

inventory_rules_t *
inventory_rules_new (store_t *store)
{
    assert (store);
    if (store_schema (store, STORE_LEDGER_SCHEMA SCHEMA, SCHEMA_VERSION))
        return NULL;
    inventory_rules_t *self = (inventory_rules_t *) zmalloc (sizeof (inventory_rules_t));
    self->store = store;
    return self;
}

void
inventory_rules_destroy (inventory_rules_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

const char *
inventory_rules_reason (inventory_rules_t *self)
{
    assert (self);
    return self->reason;
}

store_t *
inventory_rules_store (inventory_rules_t *self)
{
    assert (self);
    return self->store;
}

int64_t
inventory_rules_available (inventory_rules_t *self, const char *sku)
{
    assert (self);
    assert (sku);
    sqlite3_stmt *stmt = store_prepare (self->store,
        "SELECT available FROM stock WHERE sku = ?");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, sku, -1, SQLITE_STATIC);
    int64_t available = -1;
    if (store_step (self->store, stmt, "available") == SQLITE_ROW)
        available = sqlite3_column_int64 (stmt, 0);
    sqlite3_reset (stmt);
    return available;
}

//  -------------------------------------------------------------------------
//  Seeding

//  Trims blanks at both ends of s, in place; returns the new start.
static char *
s_trim (char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t length = strlen (s);
    while (length && strchr (" \t\r\n", s [length - 1]))
        s [--length] = 0;
    return s;
}

//  Parses one line into sku and available; returns 1 for a line with data,
//  0 for a blank or comment line, -1 (with why) for a malformed one.
static int
s_parse_line (char *line, char **sku, int64_t *available, const char **why)
{
    char *comment = strchr (line, '#');
    if (comment)
        *comment = 0;
    line = s_trim (line);
    if (*line == 0)
        return 0;
    char *comma = strchr (line, ',');
    if (!comma || strchr (comma + 1, ',')) {
        *why = "expected sku,available";
        return -1;
    }
    *comma = 0;
    *sku = s_trim (line);
    char *number = s_trim (comma + 1);
    if (!ck_id_valid (*sku, strlen (*sku))) {
        *why = "sku must be 1..64 of [A-Za-z0-9._:-]";
        return -1;
    }
    char *end;
    errno = 0;
    long long value = strtoll (number, &end, 10);
    if (*number < '0' || *number > '9' || *end || errno || value < 0) {
        *why = "available must be a non-negative integer";
        return -1;
    }
    *available = value;
    return 1;
}

//  Inserts one seed line; -1 with why when the sku is already there.
static int
s_seed_line (inventory_rules_t *self, const char *sku, int64_t available,
             const char **why)
{
    sqlite3_stmt *stmt = store_prepare (self->store,
        "INSERT INTO stock (sku, available) VALUES (?, ?) ON CONFLICT DO NOTHING");
    if (!stmt) {
        *why = "cannot insert";
        return -1;
    }
    sqlite3_bind_text (stmt, 1, sku, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 2, available);
    if (store_done (self->store, stmt, "seed")) {
        *why = "cannot insert";
        return -1;
    }
    if (sqlite3_changes (store_db (self->store)) == 0) {
        *why = "duplicate sku";
        return -1;
    }
    return 0;
}

//  Reads every line of file into the (empty) stock table; -1 on the first
//  bad one, with self->reason set.
static int
s_seed_file (inventory_rules_t *self, FILE *file, const char *path)
{
    char *line = NULL;
    size_t size = 0;
    size_t number = 0;
    int rc = 0;
    while (rc == 0 && getline (&line, &size, file) != -1) {
        number++;
        char *sku;
        int64_t available;
        const char *why = NULL;
        int parsed = s_parse_line (line, &sku, &available, &why);
        if (parsed == 1)
            parsed = s_seed_line (self, sku, available, &why);
        if (parsed == -1) {
            snprintf (self->reason, sizeof self->reason, "%s:%zu: %s", path, number, why);
            rc = -1;
        }
    }
    if (rc == 0 && ferror (file)) {
        snprintf (self->reason, sizeof self->reason, "%s: %s", path, strerror (errno));
        rc = -1;
    }
    free (line);
    return rc;
}

//  Whether stock has any row: 1 yes, 0 no, -1 error.
static int
s_stock_empty (inventory_rules_t *self)
{
    sqlite3_stmt *stmt = store_prepare (self->store,
        "SELECT NOT EXISTS (SELECT 1 FROM stock)");
    if (!stmt || store_step (self->store, stmt, "seed") != SQLITE_ROW)
        return -1;
    int empty = sqlite3_column_int (stmt, 0);
    sqlite3_reset (stmt);
    return empty;
}

int
inventory_rules_seed (inventory_rules_t *self, const char *path)
{
    assert (self);
    assert (path);
    self->reason [0] = 0;
    FILE *file = fopen (path, "r");
    if (!file) {
        snprintf (self->reason, sizeof self->reason, "%s: %s", path, strerror (errno));
        zsys_error ("inventory: op=seed error=%s", self->reason);
        return -1;
    }
    //  The emptiness check and the load share one transaction, so of two
    //  instances starting at once exactly one seeds
    int rc = store_begin (self->store);
    int empty = rc == 0? s_stock_empty (self): -1;
    if (empty == 1)
        rc = s_seed_file (self, file, path);
    if (empty == 1 && rc == 0)
        rc = store_commit (self->store);
    if (empty != 1 || rc != 0)
        store_rollback (self->store);
    fclose (file);
    if (empty == 0) {
        zsys_notice ("inventory: op=seed file=%s skipped=stock not empty", path);
        return 1;
    }
    if (empty == -1 || rc != 0) {
        if (self->reason [0] == 0)
            snprintf (self->reason, sizeof self->reason, "%s: database error", path);
        zsys_error ("inventory: op=seed error=%s", self->reason);
        return -1;
    }
    return 0;
}

//  -------------------------------------------------------------------------
//  Reserve and release

//  Inserts the saga's reservation row and sets its reservation_id,
//  "res-<n>": a sequence keeps ids unique among instances (the write lock
//  orders them) and short, whatever the saga id's length.
static int
s_insert_reservation (inventory_rules_t *self, const char *saga_id, ck_reply_t *reply)
{
    int64_t id = store_next_id (self->store,
        "SELECT COALESCE (MAX (id), 0) + 1 FROM reservations", "reserve");
    if (id < 0)
        return -1;
    sqlite3_stmt *stmt = store_prepare (self->store,
        "INSERT INTO reservations (id, reservation_id, saga_id, status, created_at)"
        " VALUES (?1, 'res-' || ?1, ?2, 'held', ?3)");
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_text (stmt, 2, saga_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 3, zclock_time ());
    if (store_done (self->store, stmt, "reserve"))
        return -1;
    snprintf (reply->reservation_id, sizeof reply->reservation_id, "res-%" PRId64, id);
    return 0;
}

//  Takes qty units of sku if that many are available; returns 1 taken,
//  0 not (unknown or short), -1 error.  The WHERE clause, not a prior
//  read, decides, so concurrent writers can never oversell.
static int
s_take (inventory_rules_t *self, const ck_item_t *item)
{
    sqlite3_stmt *stmt = store_prepare (self->store,
        "UPDATE stock SET available = available - ?1"
        " WHERE sku = ?2 AND available >= ?1");
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, item->qty);
    sqlite3_bind_text (stmt, 2, item->sku, -1, SQLITE_STATIC);
    if (store_done (self->store, stmt, "reserve"))
        return -1;
    return sqlite3_changes (store_db (self->store)) == 1;
}

static int
s_insert_line (inventory_rules_t *self, const char *reservation_id, uint32_t line,
               const ck_item_t *item)
{
    sqlite3_stmt *stmt = store_prepare (self->store,
        "INSERT INTO reservation_lines (reservation_id, line, sku, qty)"
        " VALUES (?, ?, ?, ?)");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, reservation_id, -1, SQLITE_STATIC);
    sqlite3_bind_int (stmt, 2, (int) line);
    sqlite3_bind_text (stmt, 3, item->sku, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 4, item->qty);
    return store_done (self->store, stmt, "reserve");
}

//  Sets the rejection for a line that could not be taken.
static void
s_reject_line (inventory_rules_t *self, const ck_item_t *item, ck_reply_t *reply)
{
    int64_t available = inventory_rules_available (self, item->sku);
    reply->outcome = CK_OUTCOME_REJECTED;
    reply->reservation_id [0] = 0;
    snprintf (reply->reason.sku, sizeof reply->reason.sku, "%s", item->sku);
    if (available < 0) {
        snprintf (reply->reason.code, sizeof reply->reason.code, "unknown_sku");
        snprintf (reply->reason.message, sizeof reply->reason.message,
                  "%s is not in the catalog", item->sku);
    }
    else {
        snprintf (reply->reason.code, sizeof reply->reason.code, "out_of_stock");
        snprintf (reply->reason.message, sizeof reply->reason.message,
                  "%s: %" PRIu32 " wanted, %" PRId64 " left", item->sku,
                  item->qty, available);
    }
}

//  Takes every line in order inside the ledger's savepoint; the first line
//  that can't be taken rejects the cart, and the ledger then rolls back
//  the lines taken before it.  A SKU on several lines is simply taken
//  several times, each take seeing the ones before.
static int
s_reserve (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    inventory_rules_t *self = (inventory_rules_t *) state;
    if (request->item_count < 1 || request->item_count > CK_MAX_ITEMS) {
        zsys_warning ("inventory: saga=%s error=%" PRIu32 " items",
                      request->saga_id, request->item_count);
        return -1;
    }
    if (s_insert_reservation (self, request->saga_id, reply))
        return -1;
    for (uint32_t line = 0; line < request->item_count; line++) {
        const ck_item_t *item = &request->items [line];
        int taken = s_take (self, item);
        if (taken == -1)
            return -1;
        if (taken == 0) {
            s_reject_line (self, item, reply);
            return 0;
        }
        if (s_insert_line (self, reply->reservation_id, line, item))
            return -1;
    }
    reply->outcome = CK_OUTCOME_OK;
    return 0;
}

//  Gives back qty units of sku, by primary key: one line's seek.
static int
s_give_back (inventory_rules_t *self, const char *sku, int64_t qty)
{
    sqlite3_stmt *stmt = store_prepare (self->store,
        "UPDATE stock SET available = available + ?1 WHERE sku = ?2");
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, qty);
    sqlite3_bind_text (stmt, 2, sku, -1, SQLITE_STATIC);
    return store_done (self->store, stmt, "release");
}

//  Gives back each line of the saga's held reservation, if any.  Line by
//  line, so a SKU on several lines comes back once per line, and each
//  costs a seek: one set-based UPDATE cost 4x a whole reserve.
static int
s_give_back_lines (inventory_rules_t *self, const char *saga_id)
{
    sqlite3_stmt *lines = store_prepare (self->store,
        "SELECT l.sku, l.qty FROM reservations r"
        " JOIN reservation_lines l ON l.reservation_id = r.reservation_id"
        " WHERE r.saga_id = ?1 AND r.status = 'held'");
    if (!lines)
        return -1;
    sqlite3_bind_text (lines, 1, saga_id, -1, SQLITE_STATIC);
    int rc;
    while ((rc = store_step (self->store, lines, "release")) == SQLITE_ROW) {
        const char *sku = (const char *) sqlite3_column_text (lines, 0);
        if (!sku || s_give_back (self, sku, sqlite3_column_int64 (lines, 1))) {
            sqlite3_reset (lines);
            return -1;
        }
    }
    if (rc == -1)
        return -1;
    sqlite3_reset (lines);
    return 0;
}

//  Returns a held reservation's lines to stock and marks it released.  No
//  reservation (never made, or rejected) is fine: the ledger's record of
//  this release is the tombstone that refuses a late reserve.
static int
s_release (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    inventory_rules_t *self = (inventory_rules_t *) state;
    //  First give back the held lines, then mark them released: the first
    //  step finds them by the status the second one changes
    if (s_give_back_lines (self, request->saga_id))
        return -1;
    sqlite3_stmt *stmt = store_prepare (self->store,
        "UPDATE reservations SET status = 'released', released_at = ?2"
        " WHERE saga_id = ?1 AND status = 'held'");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, request->saga_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 2, zclock_time ());
    if (store_done (self->store, stmt, "release"))
        return -1;
    reply->outcome = CK_OUTCOME_OK;
    return 0;
}

int
inventory_rules_reserve (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    assert (state);
    assert (request->type == CK_TYPE_RESERVE_INVENTORY);
    inventory_rules_t *self = (inventory_rules_t *) state;
    return store_ledger_run (self->store, s_reserve, self, request, reply);
}

int
inventory_rules_release (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    assert (state);
    assert (request->type == CK_TYPE_RELEASE_INVENTORY);
    inventory_rules_t *self = (inventory_rules_t *) state;
    return store_ledger_run (self->store, s_release, self, request, reply);
}

int
inventory_rules_handle (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    if (request->type == CK_TYPE_RESERVE_INVENTORY)
        return inventory_rules_reserve (state, request, reply);
    if (request->type == CK_TYPE_RELEASE_INVENTORY)
        return inventory_rules_release (state, request, reply);
    zsys_warning ("inventory: saga=%s type=%d error=not an inventory request",
                  request->saga_id, (int) request->type);
    return -1;
}

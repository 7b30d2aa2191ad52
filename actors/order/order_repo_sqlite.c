/*  order_repo_sqlite.c - the order participant's orders in its SQLite file
    One row per order, its lines inside it; keyed by its ledger entry's number.
*/
#include <assert.h>
#include <inttypes.h>
#include <czmq.h>
#include "order_repo.h"

//  order_details, and orders and order_lines as operators read them: the
//  saga and creation time come from the CreateOrder ledger entry of the
//  same number; lines are [[sku, qty, unit_price], ...]
#define SCHEMA \
    "CREATE TABLE IF NOT EXISTS order_details (" \
    " id INTEGER PRIMARY KEY," \
    " checkout_id TEXT," \
    " cart_id TEXT NOT NULL," \
    " customer_id TEXT NOT NULL," \
    " amount INTEGER NOT NULL CHECK (amount >= 0)," \
    " currency TEXT NOT NULL," \
    " country TEXT NOT NULL," \
    " reservation_id TEXT," \
    " authorization_id TEXT," \
    " lines TEXT NOT NULL);" \
    "CREATE VIEW IF NOT EXISTS orders AS SELECT o.id, 'ord-' || o.id AS order_id," \
    " l.saga_id, o.checkout_id, o.cart_id, o.customer_id, o.amount, o.currency," \
    " o.country, o.reservation_id, o.authorization_id, o.lines," \
    " l.recorded_at AS created_at FROM order_details o JOIN ledger l ON l.id = o.id;" \
    "CREATE VIEW IF NOT EXISTS order_lines AS SELECT 'ord-' || o.id AS order_id," \
    " j.key AS line, j.value ->> 0 AS sku, j.value ->> 1 AS qty," \
    " j.value ->> 2 AS unit_price FROM order_details o, json_each (o.lines) j;"

//  Longest lines text: 100 lines of ["<64-char sku>",10000,1000000000]
#define LINES_SIZE (CK_MAX_ITEMS * 96 + 3)

typedef struct {
    order_repo_t ops;                   //  first: the order_repo_t * is this
    store_t *store;                     //  borrowed
    char lines [LINES_SIZE];
} repo_t;

//  The lines as JSON text; SKUs are ids (docs/protocol.md#limits), which need no escaping
static void
s_lines (const ck_request_t *request, char *out, size_t size)
{
    size_t at = 0;
    out [at++] = '[';
    for (uint32_t line = 0; line < request->item_count; line++) {
        const ck_item_t *item = &request->items [line];
        at += (size_t) snprintf (out + at, size - at, "%s[\"%s\",%" PRIu32 ",%" PRIu64 "]",
                                 line? ",": "", item->sku, item->qty, item->unit_price);
        assert (at < size - 1);         //  LINES_SIZE holds the largest cart
    }
    out [at++] = ']';
    out [at] = 0;
}

static int
s_create (order_repo_t *base, int64_t id, const ck_request_t *request)
{
    repo_t *self = (repo_t *) base;
    assert (request->item_count <= CK_MAX_ITEMS && request->amount <= INT64_MAX);
    s_lines (request, self->lines, sizeof self->lines);
    sqlite3_stmt *stmt = store_prepare (self->store,
        "INSERT INTO order_details (id, checkout_id, cart_id, customer_id, amount,"
        " currency, country, reservation_id, authorization_id, lines)"
        " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, id);
    store_bind_optional (stmt, 2, request->checkout_id);
    sqlite3_bind_text (stmt, 3, request->cart_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 4, request->customer_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 5, (int64_t) request->amount);
    sqlite3_bind_text (stmt, 6, request->currency, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 7, request->ship_to.country, -1, SQLITE_STATIC);
    store_bind_optional (stmt, 8, request->reservation_id);
    store_bind_optional (stmt, 9, request->authorization_id);
    sqlite3_bind_text (stmt, 10, self->lines, -1, SQLITE_STATIC);
    return store_done (self->store, stmt, "create");
}

static void
s_destroy (order_repo_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}

order_repo_t *
order_repo_sqlite_new (participant_store_t *store)
{
    assert (store);
    if (participant_store_schema (store, SCHEMA))
        return NULL;
    participant_store_detail (store, "order_details");     //  goes with its ledger entry
    repo_t *self = (repo_t *) zmalloc (sizeof (repo_t));
    self->ops = (order_repo_t) { s_create, NULL, s_destroy };
    self->store = participant_store_store (store);
    return &self->ops;
}

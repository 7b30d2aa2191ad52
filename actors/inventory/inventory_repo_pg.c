/*  inventory_repo_pg.c - the inventory's stock in a PostgreSQL database
    One table, stock; a cart is taken by one conditional UPDATE.
*/
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <czmq.h>
#include "inventory_repo.h"
#include "ledger_pg.h"

//  The views read the ledger's type numbers
_Static_assert (CK_TYPE_RESERVE_INVENTORY == 1 && CK_TYPE_RELEASE_INVENTORY == 2,
                "ledger type numbers of the views");

//  stock, and the reservations as operators read them (as in the SQLite
//  file: an ok ReserveInventory ledger entry is a reservation, its detail
//  the lines it took, [[sku, qty], ...])
#define SCHEMA \
    "CREATE TABLE IF NOT EXISTS stock (" \
    " sku TEXT PRIMARY KEY," \
    " available BIGINT NOT NULL CHECK (available >= 0));" \
    "CREATE OR REPLACE VIEW reservations AS SELECT r.id," \
    " 'res-' || r.id AS reservation_id, r.saga_id," \
    " CASE WHEN c.id IS NULL THEN 'held' ELSE 'released' END AS status," \
    " r.detail AS lines, r.recorded_at AS created_at, c.recorded_at AS released_at" \
    " FROM ledger r LEFT JOIN ledger c ON c.saga_id = r.saga_id AND c.type = 2" \
    " WHERE r.type = 1 AND r.outcome = 1;" \
    "CREATE OR REPLACE VIEW reservation_lines AS SELECT" \
    " 'res-' || r.id AS reservation_id, j.line - 1 AS line, j.value ->> 0 AS sku," \
    " (j.value ->> 1)::bigint AS qty FROM ledger r," \
    " jsonb_array_elements (r.detail::jsonb) WITH ORDINALITY AS j (value, line)" \
    " WHERE r.type = 1 AND r.outcome = 1;" \
    FUNCTIONS

//  A request in one call (ledger_pg.h).  ck_reserve takes the summed lines
//  ($6, $7, sorted by SKU) one row at a time, each only while it stays
//  non-negative (READ COMMITTED re-checks the condition on the newest row
//  after waiting for a lock, as CHANGE_SQL); on a refusal it gives back
//  what it took and refuses with the first line, in cart order ($9, $10),
//  that can't be had (as inventory_rules.c's s_reject); a refusal no line
//  explains is an error that keeps nothing.  ck_release gives back the
//  lines the reservation recorded (a SKU gone from stock raises: the batch
//  fails, nothing kept).  One row per statement, by the primary key: a
//  join with the arrays was planned as a hash join over the whole table.
#define FUNCTIONS \
    "CREATE OR REPLACE FUNCTION ck_reserve (" LEDGER_PG_ARGS ", p_skus text[]," \
    " p_qtys bigint[], p_detail text, p_line_skus text[], p_line_qtys bigint[], " \
    LEDGER_PG_OUT ") LANGUAGE plpgsql AS $$ DECLARE v_taken integer := 0;" \
    " v_left bigint; BEGIN" LEDGER_PG_REPEAT LEDGER_PG_COMPENSATED \
    " FOR i IN 1 .. cardinality (p_skus) LOOP" \
    " UPDATE stock SET available = available - p_qtys [i]" \
    " WHERE sku = p_skus [i] AND available >= p_qtys [i];" \
    " EXIT WHEN NOT FOUND; v_taken := i; END LOOP;" \
    " IF v_taken = cardinality (p_skus) THEN r_outcome := 1;" \
    LEDGER_PG_EFFECT ("p_detail") " RETURN; END IF;" \
    " FOR i IN 1 .. v_taken LOOP UPDATE stock SET available = available + p_qtys [i]" \
    " WHERE sku = p_skus [i]; END LOOP;" \
    " FOR line IN 1 .. cardinality (p_line_skus) LOOP" \
    " SELECT s.available INTO v_left FROM stock s WHERE s.sku = p_line_skus [line];" \
    " IF NOT FOUND THEN r_code := 'unknown_sku';" \
    " r_message := p_line_skus [line] || ' is not in the catalog'; ELSE" \
    " SELECT v_left - coalesce (sum (b.qty), 0) INTO v_left" \
    " FROM unnest (p_line_skus [1:line - 1], p_line_qtys [1:line - 1]) AS b (sku, qty)" \
    " WHERE b.sku = p_line_skus [line];" \
    " CONTINUE WHEN v_left >= p_line_qtys [line]; r_code := 'out_of_stock';" \
    " r_message := format ('%s: %s wanted, %s left', p_line_skus [line]," \
    " p_line_qtys [line], v_left); END IF;" \
    " r_outcome := 2; r_sku := p_line_skus [line];" LEDGER_PG_EFFECT ("p_detail") \
    " RETURN; END LOOP;" \
    " r_message := 'cart refused but every line is in stock'; END $$;" \
    "CREATE OR REPLACE FUNCTION ck_release (" LEDGER_PG_ARGS ", " LEDGER_PG_OUT ")" \
    " LANGUAGE plpgsql AS $$ DECLARE v_id bigint; v_lines text; v_sku text;" \
    " v_qty bigint; BEGIN" LEDGER_PG_REPEAT \
    " SELECT l.id, l.detail INTO v_id, v_lines FROM ledger l WHERE l.saga_id = p_saga" \
    " AND l.type = p_partner AND l.outcome = 1;" \
    " IF FOUND THEN FOR v_sku, v_qty IN SELECT j ->> 0, sum ((j ->> 1)::bigint)" \
    " FROM jsonb_array_elements (v_lines::jsonb) AS j GROUP BY 1" \
    " ORDER BY (j ->> 0) COLLATE \"C\" LOOP" \
    " UPDATE stock SET available = available + v_qty WHERE sku = v_sku;" \
    " IF NOT FOUND THEN RAISE EXCEPTION 'saga %: SKU % of reservation res-% is not" \
    " in stock', p_saga, v_sku, v_id; END IF; END LOOP; END IF;" \
    " r_outcome := 1;" LEDGER_PG_RECORD ("NULL") " END $$;"

//  Adds a signed quantity to each SKU of the arrays, only where the row
//  stays non-negative: PostgreSQL re-checks the condition on the newest
//  row version after waiting for another transaction's lock (READ
//  COMMITTED), so two instances never take the same units.  A refused
//  row is no error (an error would abort the batch's transaction); the
//  rows changed come back.
#define CHANGE_SQL \
    "UPDATE stock s SET available = s.available + w.qty" \
    " FROM unnest ($1::text[], $2::bigint[]) AS w (sku, qty)" \
    " WHERE s.sku = w.sku AND s.available + w.qty >= 0 RETURNING s.sku"

//  Longest array text: 100 quoted SKUs of 64 characters, or quantities
#define ARRAY_SIZE (CK_MAX_ITEMS * 70 + 3)

typedef struct {
    inventory_repo_t ops;               //  first: the inventory_repo_t * is this
    pg_t *pg;                           //  borrowed
    char skus [ARRAY_SIZE];             //  '{"SKU-1","SKU-2"}'
    char qtys [ARRAY_SIZE];             //  '{-2,-1}'
} repo_t;

//  Fills the array parameters with the cart's lines summed by SKU (a SKU
//  on several lines is taken once per line), sorted by SKU so that two
//  carts lock common rows in one order.  SKUs are ids (docs/protocol.md#limits): no quoting
//  needed beyond the double quotes.  Returns the number of SKUs.
static uint32_t
s_arrays (repo_t *self, const ck_item_t *items, uint32_t count, int sign)
{
    const char *sku [CK_MAX_ITEMS];
    int64_t qty [CK_MAX_ITEMS];
    uint32_t skus = 0;
    for (uint32_t line = 0; line < count; line++) {
        uint32_t index = 0;
        while (index < skus && strcmp (sku [index], items [line].sku) < 0)
            index++;
        if (index == skus || strcmp (sku [index], items [line].sku)) {
            memmove (&sku [index + 1], &sku [index], (skus - index) * sizeof sku [0]);
            memmove (&qty [index + 1], &qty [index], (skus - index) * sizeof qty [0]);
            sku [index] = items [line].sku;
            qty [index] = 0;
            skus++;
        }
        qty [index] += sign * (int64_t) items [line].qty;
    }
    size_t at_sku = 0, at_qty = 0;
    self->skus [at_sku++] = '{';
    self->qtys [at_qty++] = '{';
    for (uint32_t index = 0; index < skus; index++) {
        at_sku += (size_t) snprintf (self->skus + at_sku, ARRAY_SIZE - at_sku, "%s\"%s\"",
                                     index? ",": "", sku [index]);
        at_qty += (size_t) snprintf (self->qtys + at_qty, ARRAY_SIZE - at_qty, "%s%lld",
                                     index? ",": "", (long long) qty [index]);
    }
    snprintf (self->skus + at_sku, ARRAY_SIZE - at_sku, "}");
    snprintf (self->qtys + at_qty, ARRAY_SIZE - at_qty, "}");
    return skus;
}

//  Runs the change over the arrays; returns the rows changed, or -1.
//  With taken, keeps the result (the SKUs changed) for the caller to clear.
static int
s_change (repo_t *self, const char *op, PGresult **taken)
{
    const char *values [] = { self->skus, self->qtys };
    PGresult *result = pg_query (self->pg, CHANGE_SQL, 2, values, op);
    if (!result)
        return -1;
    int changed = PQntuples (result);
    if (taken)
        *taken = result;
    else
        PQclear (result);
    return changed;
}

//  Whether sku is one of the SKUs in taken's rows
static bool
s_taken (PGresult *taken, const char *sku)
{
    for (int row = 0; row < PQntuples (taken); row++)
        if (streq (PQgetvalue (taken, row, 0), sku))
            return true;
    return false;
}

//  A short or unknown SKU leaves its row as it is, which the count of rows
//  changed shows: the SKUs taken are then given back at once, in the same
//  transaction (one more statement, only for refusals)
static int
s_take (inventory_repo_t *base, const ck_item_t *items, uint32_t count)
{
    repo_t *self = (repo_t *) base;
    uint32_t skus = s_arrays (self, items, count, -1);
    PGresult *taken = NULL;
    int changed = s_change (self, "take", &taken);
    if (changed < 0 || (uint32_t) changed == skus || changed == 0) {
        PQclear (taken);
        return changed < 0? -1: changed > 0;
    }
    ck_item_t lines [CK_MAX_ITEMS];
    uint32_t kept = 0;
    for (uint32_t line = 0; line < count; line++)
        if (s_taken (taken, items [line].sku))
            lines [kept++] = items [line];
    PQclear (taken);
    s_arrays (self, lines, kept, 1);
    return s_change (self, "take", NULL) == changed? 0: -1;
}

static int
s_give_back (inventory_repo_t *base, const ck_item_t *items, uint32_t count)
{
    repo_t *self = (repo_t *) base;
    uint32_t skus = s_arrays (self, items, count, 1);
    int changed = s_change (self, "give_back", NULL);
    if (changed == (int) skus)
        return 0;
    if (changed >= 0)
        zsys_error ("inventory: db=%s op=give_back error=%d of %u SKUs are in stock",
                    pg_name (self->pg), changed, skus);
    return -1;
}

static int
s_available (inventory_repo_t *base, const char *sku, int64_t *available)
{
    repo_t *self = (repo_t *) base;
    const char *values [] = { sku };
    PGresult *result = pg_query (self->pg, "SELECT available FROM stock WHERE sku = $1",
                                 1, values, "available");
    if (!result)
        return -1;
    int rows = PQntuples (result);
    if (rows == 1)
        *available = strtoll (PQgetvalue (result, 0, 0), NULL, 10);
    PQclear (result);
    return rows == 1;
}

//  Two PostgreSQL array texts built side by side, {"sku",...} and
//  {number,...}, each in a buffer of size bytes
typedef struct {
    char *skus, *numbers;
    size_t size, at_sku, at_number;
} pair_arrays_t;

static void
s_pair_add (pair_arrays_t *self, size_t index, const char *sku, long long number)
{
    const char *open = index? ",": "{";
    self->at_sku += (size_t) snprintf (self->skus + self->at_sku, self->size - self->at_sku,
                                       "%s\"%s\"", open, sku);
    self->at_number += (size_t) snprintf (self->numbers + self->at_number,
                                          self->size - self->at_number, "%s%lld", open, number);
}

//  Closes both arrays; an empty pair is {} and {}
static void
s_pair_end (pair_arrays_t *self)
{
    const char *close = self->at_sku? "}": "{}";
    snprintf (self->skus + self->at_sku, self->size - self->at_sku, "%s", close);
    snprintf (self->numbers + self->at_number, self->size - self->at_number, "%s", close);
}

//  Sends rows as two arrays in one INSERT: the W1 catalog's 1001 rows are
//  one round trip
static int
s_insert_rows (repo_t *self, const inventory_stock_t *rows, size_t count)
{
    size_t size = 16 + count * (CK_ID_SIZE + 24);
    char *skus = (char *) zmalloc (size);
    char *amounts = (char *) zmalloc (size);
    pair_arrays_t arrays = { skus, amounts, size, 0, 0 };
    for (size_t index = 0; index < count; index++)
        s_pair_add (&arrays, index, rows [index].sku, rows [index].available);
    s_pair_end (&arrays);
    const char *values [] = { skus, amounts };
    PGresult *result = pg_query (self->pg, "INSERT INTO stock (sku, available)"
                                 " SELECT * FROM unnest ($1::text[], $2::bigint[])",
                                 2, values, "seed");
    PQclear (result);
    free (skus);
    free (amounts);
    return result? 0: -1;
}

//  The table lock makes the emptiness check and the load one step, so of
//  two instances starting at once exactly one seeds; the other waits and
//  then finds rows
static int
s_seed (inventory_repo_t *base, const inventory_stock_t *rows, size_t count)
{
    repo_t *self = (repo_t *) base;
    if (pg_begin (self->pg)
    ||  pg_exec (self->pg, "LOCK TABLE stock IN EXCLUSIVE MODE", "seed")) {
        pg_rollback (self->pg);
        return -1;
    }
    PGresult *result = pg_query (self->pg, "SELECT EXISTS (SELECT 1 FROM stock)", 0, NULL,
                                 "seed");
    int rc = -1;
    if (result)
        rc = PQgetvalue (result, 0, 0) [0] == 't'? 1: count? s_insert_rows (self, rows, count): 0;
    PQclear (result);
    if (rc == 0 && pg_commit (self->pg))
        rc = -1;
    if (rc != 0)
        pg_rollback (self->pg);
    return rc;
}

//  The cart's lines in cart order, as two array texts
static void
s_line_arrays (const ck_item_t *items, uint32_t count, char *skus, char *qtys)
{
    pair_arrays_t arrays = { skus, qtys, ARRAY_SIZE, 0, 0 };
    for (uint32_t line = 0; line < count; line++)
        s_pair_add (&arrays, line, items [line].sku, items [line].qty);
    s_pair_end (&arrays);
}

static int
s_call (inventory_repo_t *base, const ck_request_t *request, const char *detail,
        pg_statement_t *call)
{
    repo_t *self = (repo_t *) base;
    if (request->type == CK_TYPE_RELEASE_INVENTORY) {
        call->sql = "SELECT * FROM ck_release ($1, $2, $3, $4, $5, $6)";
        return 0;
    }
    assert (request->type == CK_TYPE_RESERVE_INVENTORY && detail);
    assert (request->item_count >= 1 && request->item_count <= CK_MAX_ITEMS);
    call->sql = "SELECT * FROM ck_reserve ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)";
    s_arrays (self, request->items, request->item_count, 1);
    ledger_pg_param (call, self->skus);
    ledger_pg_param (call, self->qtys);
    ledger_pg_param (call, detail);
    s_line_arrays (request->items, request->item_count, self->skus, self->qtys);
    ledger_pg_param (call, self->skus);
    ledger_pg_param (call, self->qtys);
    return 0;
}

static void
s_destroy (inventory_repo_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}

inventory_repo_t *
inventory_repo_pg_new (participant_store_t *store)
{
    assert (store);
    assert (participant_store_pg (store));
    if (participant_store_schema (store, SCHEMA))
        return NULL;
    repo_t *self = (repo_t *) zmalloc (sizeof (repo_t));
    self->ops = (inventory_repo_t) {
        s_take, s_give_back, s_available, s_seed, s_call, s_destroy
    };
    self->pg = participant_store_pg (store);
    return &self->ops;
}

/*  order_repo_pg.c - the order participant's orders in a PostgreSQL database
    One row per order, its lines inside it; keyed by its ledger entry's number.
*/
#include <assert.h>
#include <inttypes.h>
#include <czmq.h>
#include "ledger_pg.h"
#include "order_repo.h"

//  order_details, and orders and order_lines as operators read them (as
//  in the SQLite file; lines are [[sku, qty, unit_price], ...])
#define SCHEMA \
    "CREATE TABLE IF NOT EXISTS order_details (" \
    " id BIGINT PRIMARY KEY," \
    " checkout_id TEXT," \
    " cart_id TEXT NOT NULL," \
    " customer_id TEXT NOT NULL," \
    " amount BIGINT NOT NULL CHECK (amount >= 0)," \
    " currency TEXT NOT NULL," \
    " country TEXT NOT NULL," \
    " reservation_id TEXT," \
    " authorization_id TEXT," \
    " lines TEXT NOT NULL);" \
    "CREATE OR REPLACE VIEW orders AS SELECT o.id, 'ord-' || o.id AS order_id," \
    " l.saga_id, o.checkout_id, o.cart_id, o.customer_id, o.amount, o.currency," \
    " o.country, o.reservation_id, o.authorization_id, o.lines," \
    " l.recorded_at AS created_at FROM order_details o JOIN ledger l ON l.id = o.id;" \
    "CREATE OR REPLACE VIEW order_lines AS SELECT 'ord-' || o.id AS order_id," \
    " j.line - 1 AS line, j.value ->> 0 AS sku, (j.value ->> 1)::bigint AS qty," \
    " (j.value ->> 2)::bigint AS unit_price FROM order_details o," \
    " jsonb_array_elements (o.lines::jsonb) WITH ORDINALITY AS j (value, line);" \
    FUNCTIONS

//  A CreateOrder in one call (ledger_pg.h): the rules' answer comes in
//  (p_outcome, p_code, p_message); an ok order keeps its details
#define FUNCTIONS \
    "CREATE OR REPLACE FUNCTION ck_create_order (" LEDGER_PG_ARGS ", p_outcome smallint," \
    " p_code text, p_message text, p_cart text, p_customer text," \
    " p_amount bigint, p_currency text, p_country text, p_reservation text," \
    " p_authorization text, p_lines text, " LEDGER_PG_OUT ")" \
    " LANGUAGE plpgsql AS $$ BEGIN" LEDGER_PG_REPEAT LEDGER_PG_COMPENSATED \
    " r_outcome := p_outcome; r_code := p_code; r_message := p_message;" \
    LEDGER_PG_EFFECT ("NULL") \
    " IF r_outcome = 1 THEN INSERT INTO order_details (id, checkout_id, cart_id," \
    " customer_id, amount, currency, country, reservation_id, authorization_id, lines)" \
    " VALUES (r_id, nullif (p_checkout, ''), p_cart, p_customer, p_amount, p_currency," \
    " p_country, p_reservation, p_authorization, p_lines); END IF; END $$;"

//  Longest lines text: 100 lines of ["<64-char sku>",10000,1000000000]
#define LINES_SIZE (CK_MAX_ITEMS * 96 + 3)

typedef struct {
    order_repo_t ops;                   //  first: the order_repo_t * is this
    pg_t *pg;                           //  borrowed
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

static const char *
s_optional (const char *text)
{
    return text [0]? text: NULL;
}

//  ON CONFLICT: the ledger may hand an entry another instance recorded
//  (ledger_pg.h), whose row that instance already inserted
static int
s_create (order_repo_t *base, int64_t id, const ck_request_t *request)
{
    repo_t *self = (repo_t *) base;
    assert (request->item_count <= CK_MAX_ITEMS && request->amount <= INT64_MAX);
    s_lines (request, self->lines, sizeof self->lines);
    char id_text [24], amount_text [24];
    const char *values [] = {
        pg_int (id_text, id), s_optional (request->checkout_id), request->cart_id,
        request->customer_id, pg_int (amount_text, (int64_t) request->amount),
        request->currency, request->ship_to.country, s_optional (request->reservation_id),
        s_optional (request->authorization_id), self->lines
    };
    PGresult *result = pg_query (self->pg,
        "INSERT INTO order_details (id, checkout_id, cart_id, customer_id, amount,"
        " currency, country, reservation_id, authorization_id, lines)"
        " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10) ON CONFLICT (id) DO NOTHING",
        10, values, "create");
    PQclear (result);
    return result? 0: -1;
}

static int
s_call (order_repo_t *base, const ck_request_t *request, const ledger_entry_t *decided,
        pg_statement_t *call)
{
    repo_t *self = (repo_t *) base;
    assert (request->type == CK_TYPE_CREATE_ORDER && decided);
    assert (request->item_count <= CK_MAX_ITEMS && request->amount <= INT64_MAX);
    call->sql = "SELECT * FROM ck_create_order ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10,"
                " $11, $12, $13, $14, $15, $16, $17)";
    s_lines (request, self->lines, sizeof self->lines);
    char text [24];
    ledger_pg_param (call, pg_int (text, decided->outcome));
    ledger_pg_param (call, s_optional (decided->reason.code));
    ledger_pg_param (call, s_optional (decided->reason.message));
    ledger_pg_param (call, request->cart_id);
    ledger_pg_param (call, request->customer_id);
    ledger_pg_param (call, pg_int (text, (int64_t) request->amount));
    ledger_pg_param (call, request->currency);
    ledger_pg_param (call, request->ship_to.country);
    ledger_pg_param (call, s_optional (request->reservation_id));
    ledger_pg_param (call, s_optional (request->authorization_id));
    ledger_pg_param (call, self->lines);
    return 0;
}

static void
s_destroy (order_repo_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}

order_repo_t *
order_repo_pg_new (participant_store_t *store)
{
    assert (store);
    assert (participant_store_pg (store));
    if (participant_store_schema (store, SCHEMA))
        return NULL;
    participant_store_detail (store, "order_details");     //  goes with its ledger entry
    repo_t *self = (repo_t *) zmalloc (sizeof (repo_t));
    self->ops = (order_repo_t) { s_create, s_call, s_destroy };
    self->pg = participant_store_pg (store);
    return &self->ops;
}

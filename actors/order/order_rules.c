/*  order_rules.c - the order participant's business rules
    Creates the order of a checkout whose destination is served (the pivot).
*/
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <czmq.h>
#include "order_rules.h"

#define SCHEMA_VERSION 1
#define SCHEMA \
    "CREATE TABLE IF NOT EXISTS orders (" \
    " id INTEGER PRIMARY KEY," \
    " order_id TEXT NOT NULL UNIQUE," \
    " saga_id TEXT NOT NULL UNIQUE," \
    " checkout_id TEXT," \
    " cart_id TEXT NOT NULL," \
    " customer_id TEXT NOT NULL," \
    " amount INTEGER NOT NULL CHECK (amount >= 0)," \
    " currency TEXT NOT NULL," \
    " country TEXT NOT NULL," \
    " reservation_id TEXT," \
    " authorization_id TEXT," \
    " created_at INTEGER NOT NULL);" \
    "CREATE TABLE IF NOT EXISTS order_lines (" \
    " order_id TEXT NOT NULL," \
    " line INTEGER NOT NULL," \
    " sku TEXT NOT NULL," \
    " qty INTEGER NOT NULL CHECK (qty > 0)," \
    " unit_price INTEGER NOT NULL CHECK (unit_price >= 0)," \
    " PRIMARY KEY (order_id, line)) WITHOUT ROWID;"

//  The assigned ISO 3166-1 alpha-2 codes (249), which "all" stands for
static const char s_iso_countries [] =
    "AD AE AF AG AI AL AM AO AQ AR AS AT AU AW AX AZ BA BB BD BE BF BG BH BI "
    "BJ BL BM BN BO BQ BR BS BT BV BW BY BZ CA CC CD CF CG CH CI CK CL CM CN "
    "CO CR CU CV CW CX CY CZ DE DJ DK DM DO DZ EC EE EG EH ER ES ET FI FJ FK "
    "FM FO FR GA GB GD GE GF GG GH GI GL GM GN GP GQ GR GS GT GU GW GY HK HM "
    "HN HR HT HU ID IE IL IM IN IO IQ IR IS IT JE JM JO JP KE KG KH KI KM KN "
    "KP KR KW KY KZ LA LB LC LI LK LR LS LT LU LV LY MA MC MD ME MF MG MH MK "
    "ML MM MN MO MP MQ MR MS MT MU MV MW MX MY MZ NA NC NE NF NG NI NL NO NP "
    "NR NU NZ OM PA PE PF PG PH PK PL PM PN PR PS PT PW PY QA RE RO RS RU RW "
    "SA SB SC SD SE SG SH SI SJ SK SL SM SN SO SR SS ST SV SX SY SZ TC TD TF "
    "TG TH TJ TK TL TM TN TO TR TT TV TW TZ UA UG UM US UY UZ VA VC VE VG VI "
    "VN VU WF WS YE YT ZA ZM ZW";

#define COUNTRY_SLOTS (26 * 26)

struct _order_rules_t {
    store_t *store;                     //  borrowed
    bool served [COUNTRY_SLOTS];        //  by s_slot of the code
};

//  The slot of a two-letter upper-case code, or -1 if s does not start
//  with one.
static int
s_slot (const char *s)
{
    if (s [0] < 'A' || s [0] > 'Z' || s [1] < 'A' || s [1] > 'Z')
        return -1;
    return (s [0] - 'A') * 26 + (s [1] - 'A');
}

//  Parses "all", "all-XX-YY" or "XX,YY" into set; returns 0, or -1 if
//  served is malformed.
static int
s_parse_served (const char *served, bool *set)
{
    memset (set, 0, COUNTRY_SLOTS * sizeof (bool));
    if (strncmp (served, "all", 3) == 0) {
        for (const char *code = s_iso_countries; *code; code += code [2]? 3: 2)
            set [s_slot (code)] = true;
        for (const char *s = served + 3; *s; s += 3) {
            int slot = s [0] == '-'? s_slot (s + 1): -1;
            if (slot == -1)
                return -1;
            set [slot] = false;
        }
        return 0;
    }
    for (const char *s = served; ; s += 3) {
        int slot = s_slot (s);
        if (slot == -1 || (s [2] != ',' && s [2] != 0))
            return -1;
        set [slot] = true;
        if (s [2] == 0)
            return 0;
    }
}

bool
order_rules_served_valid (const char *served)
{
    bool set [COUNTRY_SLOTS];
    return served && s_parse_served (served, set) == 0;
}

order_rules_t *
order_rules_new (store_t *store, const char *served)
{
    assert (store);
    if (!served)
        served = ORDER_RULES_SERVED_DEFAULT;
    order_rules_t *self = (order_rules_t *) zmalloc (sizeof (order_rules_t));
    self->store = store;
    if (s_parse_served (served, self->served)) {
        zsys_error ("order: served=%s error=expected all, all-XX-YY or XX,YY", served);
        order_rules_destroy (&self);
        return NULL;
    }
    if (store_schema (store, STORE_LEDGER_SCHEMA SCHEMA, SCHEMA_VERSION))
        order_rules_destroy (&self);
    return self;
}

void
order_rules_destroy (order_rules_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

bool
order_rules_serves (order_rules_t *self, const char *country)
{
    assert (self);
    assert (country);
    int slot = s_slot (country);
    return slot != -1 && country [2] == 0 && self->served [slot];
}

store_t *
order_rules_store (order_rules_t *self)
{
    assert (self);
    return self->store;
}

//  Inserts the order row as "ord-<n>": a sequence keeps ids unique among
//  instances (the write lock orders them) and short.
static int
s_insert_order (order_rules_t *self, const ck_request_t *request, ck_reply_t *reply)
{
    int64_t id = store_next_id (self->store,
        "SELECT COALESCE (MAX (id), 0) + 1 FROM orders", "create");
    if (id < 0)
        return -1;
    sqlite3_stmt *stmt = store_prepare (self->store,
        "INSERT INTO orders (id, order_id, saga_id, checkout_id, cart_id,"
        " customer_id, amount, currency, country, reservation_id,"
        " authorization_id, created_at)"
        " VALUES (?1, 'ord-' || ?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)");
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_text (stmt, 2, request->saga_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 3, request->checkout_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 4, request->cart_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 5, request->customer_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 6, (int64_t) request->amount);
    sqlite3_bind_text (stmt, 7, request->currency, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 8, request->ship_to.country, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 9, request->reservation_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 10, request->authorization_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 11, zclock_time ());
    if (store_done (self->store, stmt, "create"))
        return -1;
    snprintf (reply->order_id, sizeof reply->order_id, "ord-%" PRId64, id);
    return 0;
}

static int
s_insert_lines (order_rules_t *self, const ck_request_t *request, const char *order_id)
{
    for (uint32_t line = 0; line < request->item_count; line++) {
        const ck_item_t *item = &request->items [line];
        sqlite3_stmt *stmt = store_prepare (self->store,
            "INSERT INTO order_lines (order_id, line, sku, qty, unit_price)"
            " VALUES (?, ?, ?, ?, ?)");
        if (!stmt)
            return -1;
        sqlite3_bind_text (stmt, 1, order_id, -1, SQLITE_STATIC);
        sqlite3_bind_int (stmt, 2, (int) line);
        sqlite3_bind_text (stmt, 3, item->sku, -1, SQLITE_STATIC);
        sqlite3_bind_int64 (stmt, 4, item->qty);
        sqlite3_bind_int64 (stmt, 5, (int64_t) item->unit_price);
        if (store_done (self->store, stmt, "create"))
            return -1;
    }
    return 0;
}

static int
s_create (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    order_rules_t *self = (order_rules_t *) state;
    if (!order_rules_serves (self, request->ship_to.country)) {
        reply->outcome = CK_OUTCOME_REJECTED;
        snprintf (reply->reason.code, sizeof reply->reason.code,
                  "destination_unserviceable");
        snprintf (reply->reason.message, sizeof reply->reason.message,
                  "we do not ship to %s", request->ship_to.country);
        return 0;
    }
    if (request->item_count > CK_MAX_ITEMS || request->amount > INT64_MAX) {
        zsys_warning ("order: saga=%s error=bad items or amount", request->saga_id);
        return -1;
    }
    if (s_insert_order (self, request, reply)
    ||  s_insert_lines (self, request, reply->order_id))
        return -1;
    reply->outcome = CK_OUTCOME_OK;
    return 0;
}

int
order_rules_create (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    assert (state);
    assert (request->type == CK_TYPE_CREATE_ORDER);
    order_rules_t *self = (order_rules_t *) state;
    return store_ledger_run (self->store, s_create, self, request, reply);
}

int
order_rules_handle (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    if (request->type == CK_TYPE_CREATE_ORDER)
        return order_rules_create (state, request, reply);
    zsys_warning ("order: saga=%s type=%d error=not an order request",
                  request->saga_id, (int) request->type);
    return -1;
}

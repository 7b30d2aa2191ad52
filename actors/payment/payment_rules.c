/*  payment_rules.c - the payment participant's business rules (a sandbox)
    Authorizes a payment by its token, and voids an authorization.
*/
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <czmq.h>
#include "payment_rules.h"

#define SCHEMA_VERSION 1
#define SCHEMA \
    "CREATE TABLE IF NOT EXISTS authorizations (" \
    " id INTEGER PRIMARY KEY," \
    " authorization_id TEXT NOT NULL UNIQUE," \
    " saga_id TEXT NOT NULL UNIQUE," \
    " checkout_id TEXT," \
    " customer_id TEXT NOT NULL," \
    " amount INTEGER NOT NULL CHECK (amount >= 0)," \
    " currency TEXT NOT NULL," \
    " payment_method TEXT NOT NULL," \
    " status TEXT NOT NULL CHECK (status IN ('authorized', 'voided'))," \
    " created_at INTEGER NOT NULL," \
    " voided_at INTEGER);"

#define CARD_PREFIX "pm_card_"

struct _payment_rules_t {
    store_t *store;                     //  borrowed
    uint32_t latency_ms;                //  simulated gateway time
};

payment_rules_t *
payment_rules_new (store_t *store, uint32_t latency_ms)
{
    assert (store);
    if (store_schema (store, STORE_LEDGER_SCHEMA SCHEMA, SCHEMA_VERSION))
        return NULL;
    payment_rules_t *self = (payment_rules_t *) zmalloc (sizeof (payment_rules_t));
    self->store = store;
    self->latency_ms = latency_ms;
    return self;
}

void
payment_rules_destroy (payment_rules_t **self_p)
{
    assert (self_p);
    if (*self_p) {
        free (*self_p);
        *self_p = NULL;
    }
}

store_t *
payment_rules_store (payment_rules_t *self)
{
    assert (self);
    return self->store;
}

uint32_t
payment_rules_delay_ms (void *state, const ck_request_t *request)
{
    assert (state);
    assert (request);
    payment_rules_t *self = (payment_rules_t *) state;
    return request->type == CK_TYPE_AUTHORIZE_PAYMENT? self->latency_ms: 0;
}

//  The sandbox gateway's verdict on a token: NULL when approved, else the
//  rejection code.
static const char *
s_gateway_verdict (const char *token)
{
    if (strcmp (token, CARD_PREFIX "declined") == 0)
        return "card_declined";
    if (strcmp (token, CARD_PREFIX "insufficient_funds") == 0)
        return "insufficient_funds";
    if (strncmp (token, CARD_PREFIX, strlen (CARD_PREFIX)) == 0)
        return NULL;
    return "invalid_payment_method";
}

static void
s_reject (ck_reply_t *reply, const char *code, const char *token)
{
    reply->outcome = CK_OUTCOME_REJECTED;
    snprintf (reply->reason.code, sizeof reply->reason.code, "%s", code);
    snprintf (reply->reason.message, sizeof reply->reason.message,
              "payment method %s refused: %s", token, code);
}

//  Inserts the saga's authorization row as "auth-<n>": a sequence keeps
//  ids unique among instances (the write lock orders them) and short.
static int
s_insert_authorization (payment_rules_t *self, const ck_request_t *request, ck_reply_t *reply)
{
    int64_t id = store_next_id (self->store,
        "SELECT COALESCE (MAX (id), 0) + 1 FROM authorizations", "authorize");
    if (id < 0)
        return -1;
    sqlite3_stmt *stmt = store_prepare (self->store,
        "INSERT INTO authorizations (id, authorization_id, saga_id, checkout_id,"
        " customer_id, amount, currency, payment_method, status, created_at)"
        " VALUES (?1, 'auth-' || ?1, ?2, ?3, ?4, ?5, ?6, ?7, 'authorized', ?8)");
    if (!stmt)
        return -1;
    sqlite3_bind_int64 (stmt, 1, id);
    sqlite3_bind_text (stmt, 2, request->saga_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 3, request->checkout_id, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 4, request->customer_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 5, (int64_t) request->amount);
    sqlite3_bind_text (stmt, 6, request->currency, -1, SQLITE_STATIC);
    sqlite3_bind_text (stmt, 7, request->payment_method, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 8, zclock_time ());
    if (store_done (self->store, stmt, "authorize"))
        return -1;
    snprintf (reply->authorization_id, sizeof reply->authorization_id,
              "auth-%" PRId64, id);
    return 0;
}

//  Asks the sandbox gateway, then records an approved authorization.
static int
s_authorize (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    payment_rules_t *self = (payment_rules_t *) state;
    const char *code = s_gateway_verdict (request->payment_method);
    if (code) {
        s_reject (reply, code, request->payment_method);
        return 0;
    }
    if (request->amount > INT64_MAX) {
        zsys_warning ("payment: saga=%s error=amount %" PRIu64 " too large",
                      request->saga_id, request->amount);
        return -1;
    }
    if (s_insert_authorization (self, request, reply))
        return -1;
    reply->outcome = CK_OUTCOME_OK;
    return 0;
}

//  Voids the saga's authorization if there is one.  If there is none
//  (never made, or refused), the ledger's record of this void is the
//  tombstone that refuses a late authorization.
static int
s_void (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    payment_rules_t *self = (payment_rules_t *) state;
    sqlite3_stmt *stmt = store_prepare (self->store,
        "UPDATE authorizations SET status = 'voided', voided_at = ?2"
        " WHERE saga_id = ?1 AND status = 'authorized'");
    if (!stmt)
        return -1;
    sqlite3_bind_text (stmt, 1, request->saga_id, -1, SQLITE_STATIC);
    sqlite3_bind_int64 (stmt, 2, zclock_time ());
    if (store_done (self->store, stmt, "void"))
        return -1;
    reply->outcome = CK_OUTCOME_OK;
    return 0;
}

int
payment_rules_authorize (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    assert (state);
    assert (request->type == CK_TYPE_AUTHORIZE_PAYMENT);
    payment_rules_t *self = (payment_rules_t *) state;
    return store_ledger_run (self->store, s_authorize, self, request, reply);
}

int
payment_rules_void (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    assert (state);
    assert (request->type == CK_TYPE_VOID_PAYMENT);
    payment_rules_t *self = (payment_rules_t *) state;
    return store_ledger_run (self->store, s_void, self, request, reply);
}

int
payment_rules_handle (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    if (request->type == CK_TYPE_AUTHORIZE_PAYMENT)
        return payment_rules_authorize (state, request, reply);
    if (request->type == CK_TYPE_VOID_PAYMENT)
        return payment_rules_void (state, request, reply);
    zsys_warning ("payment: saga=%s type=%d error=not a payment request",
                  request->saga_id, (int) request->type);
    return -1;
}

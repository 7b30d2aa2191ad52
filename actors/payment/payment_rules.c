/*  payment_rules.c - the payment participant's business rules (a sandbox)
    Authorizes a payment by its token, and voids an authorization.
*/
#include <assert.h>
#include <stdio.h>
#include <string.h>
#include <czmq.h>
#include "ledger_pg.h"
#include "payment_rules.h"

#define CARD_PREFIX "pm_card_"

struct _payment_rules_t {
    payment_repo_t *repo;               //  owned
    ledger_t *ledger;                   //  borrowed
    uint32_t latency_ms;                //  simulated gateway time
};

payment_rules_t *
payment_rules_new (payment_repo_t **repo_p, ledger_t *ledger, uint32_t latency_ms)
{
    assert (repo_p && *repo_p);
    assert (ledger);
    payment_rules_t *self = (payment_rules_t *) zmalloc (sizeof (payment_rules_t));
    self->repo = *repo_p;
    *repo_p = NULL;
    self->ledger = ledger;
    self->latency_ms = latency_ms;
    return self;
}

void
payment_rules_destroy (payment_rules_t **self_p)
{
    assert (self_p);
    payment_rules_t *self = *self_p;
    if (self) {
        self->repo->destroy (&self->repo);
        free (self);
        *self_p = NULL;
    }
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
s_reject (ledger_entry_t *answer, const char *code, const char *token)
{
    answer->outcome = CK_OUTCOME_REJECTED;
    snprintf (answer->reason.code, sizeof answer->reason.code, "%s", code);
    snprintf (answer->reason.message, sizeof answer->reason.message,
              "payment method %s refused: %s", token, code);
}

//  Asks the sandbox gateway; an approval is kept once it has its number
static int
s_authorize (void *state, const ck_request_t *request, const ledger_entry_t *forward,
             ledger_entry_t *answer)
{
    (void) state;
    (void) forward;
    if (request->amount > INT64_MAX) {
        zsys_warning ("payment: saga=%s error=amount %" PRIu64 " too large",
                      request->saga_id, request->amount);
        return -1;
    }
    const char *code = s_gateway_verdict (request->payment_method);
    if (code)
        s_reject (answer, code, request->payment_method);
    else
        answer->outcome = CK_OUTCOME_OK;
    return 0;
}

static int
s_keep (void *state, const ck_request_t *request, const ledger_entry_t *answer)
{
    payment_rules_t *self = (payment_rules_t *) state;
    return self->repo->authorize (self->repo, answer->id, request);
}

//  Voids the saga's authorization if there is one.  If there is none
//  (never made, or refused), the ledger's record of this void is the
//  tombstone that refuses a late authorization.
static int
s_void (void *state, const ck_request_t *request, const ledger_entry_t *forward,
        ledger_entry_t *answer)
{
    (void) request;
    payment_rules_t *self = (payment_rules_t *) state;
    answer->outcome = CK_OUTCOME_OK;
    return forward? self->repo->cancel (self->repo, forward->id): 0;
}

static const ledger_handler_t s_authorize_handler = { s_authorize, s_keep };
static const ledger_handler_t s_void_handler = { s_void, NULL };

int
payment_rules_authorize (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    assert (state);
    assert (request->type == CK_TYPE_AUTHORIZE_PAYMENT);
    payment_rules_t *self = (payment_rules_t *) state;
    return ledger_run (self->ledger, &s_authorize_handler, self, request, reply);
}

int
payment_rules_void (void *state, const ck_request_t *request, ck_reply_t *reply)
{
    assert (state);
    assert (request->type == CK_TYPE_VOID_PAYMENT);
    payment_rules_t *self = (payment_rules_t *) state;
    return ledger_run (self->ledger, &s_void_handler, self, request, reply);
}

//  A request's server call: the gateway decides here, the rest is the
//  server function's (payment_repo_pg.c)
static int
s_make (void *state, const ck_request_t *request, pg_statement_t *call)
{
    payment_rules_t *self = (payment_rules_t *) state;
    ledger_entry_t decided;
    decided.outcome = CK_OUTCOME_NONE;
    memset (&decided.reason, 0, sizeof decided.reason);
    if (request->type == CK_TYPE_AUTHORIZE_PAYMENT
    &&  s_authorize (self, request, NULL, &decided))
        return -1;
    return self->repo->call (self->repo, request, &decided, call);
}

void
payment_rules_batch (void *state, const ck_request_t *const *requests,
                     ck_reply_t *const *replies, size_t count)
{
    assert (state);
    payment_rules_t *self = (payment_rules_t *) state;
    assert (self->repo->call);
    ledger_pg_run (self->ledger, s_make, self, requests, replies, count);
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

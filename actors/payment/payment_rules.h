/*  payment_rules.h - the payment participant's business rules (a sandbox)
    Authorizes a payment by its token, and voids an authorization.

    The sandbox gateway decides by token: pm_card_declined is declined,
    pm_card_insufficient_funds has insufficient funds, any other pm_card_*
    is approved, anything else is an invalid payment method.  Rejections are
    recorded like approvals, so a repeat gets the same answer.  The gateway's
    latency is simulated by the runtime, which waits payment_rules_delay_ms
    (without blocking) before calling the handler.

    Approved authorizations are kept by a repository (payment_repo.h);
    every request is answered once through the ledger (ledger.h).  The
    table, view and id scheme ("auth-<n>", the ledger entry's number) are
    documented in docs/participant-stores.md.
*/
#ifndef CK_PAYMENT_RULES_H_INCLUDED
#define CK_PAYMENT_RULES_H_INCLUDED

#include "ledger.h"
#include "payment_repo.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _payment_rules_t payment_rules_t;

//  Creates the rules over a repository (taken: *repo_p is nulled) and a
//  ledger (borrowed: it must outlive the rules); latency_ms is the
//  simulated gateway time per authorization.  Can't fail.
payment_rules_t *payment_rules_new (payment_repo_t **repo_p, ledger_t *ledger,
                                    uint32_t latency_ms);

//  Destroys the rules; safe on NULL, nulls the pointer.
void payment_rules_destroy (payment_rules_t **self_p);

//  How long the runtime waits before handling request (state = the
//  rules): the configured latency for AuthorizePayment, else 0.  Can't fail.
uint32_t payment_rules_delay_ms (void *state, const ck_request_t *request);

//  The runtime's batch_handler on PostgreSQL (the repository has call):
//  the whole batch in one round trip (ledger_pg_run).
void payment_rules_batch (void *state, const ck_request_t *const *requests,
                          ck_reply_t *const *replies, size_t count);

//  Handler for any payment request type (state = payment_rules_t);
//  returns -1 for a type payment does not serve.
int payment_rules_handle (void *state, const ck_request_t *request, ck_reply_t *reply);

//  AuthorizePayment: ok with authorization_id; rejected card_declined,
//  insufficient_funds, invalid_payment_method or compensated.  Returns 0,
//  or -1 on a technical failure.
int payment_rules_authorize (void *state, const ck_request_t *request, ck_reply_t *reply);

//  VoidPayment: always ok; voids the saga's authorization, or leaves a
//  tombstone if there is none.  Returns 0, or -1.
int payment_rules_void (void *state, const ck_request_t *request, ck_reply_t *reply);

#ifdef __cplusplus
}
#endif

#endif

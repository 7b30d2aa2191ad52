/*  order_rules.h - the order participant's business rules
    Creates the order of a checkout whose destination is served (the pivot).

    CreateOrder is the saga's pivot: nothing compensates it, so the rules
    only refuse what they must (an unserved ship_to.country) and otherwise
    record the order with its lines.

    Served countries are given as a string:
      "all"            every ISO 3166-1 alpha-2 country code
      "all-AQ-KP"      every code except those after each '-' (a deny list)
      "FR,DE,US"       only those codes (an allow list)
    The default, "all-AQ", serves every ISO country but Antarctica.  A code
    that is not an assigned ISO 3166-1 code is never served under "all".

    Orders are kept by a repository (order_repo.h); every request is
    answered once through the ledger (ledger.h).  The table, views and id
    scheme ("ord-<n>", the ledger entry's number) are documented in
    docs/participant-stores.md.
*/
#ifndef CK_ORDER_RULES_H_INCLUDED
#define CK_ORDER_RULES_H_INCLUDED

#include "ledger.h"
#include "order_repo.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ORDER_RULES_SERVED_DEFAULT "all-AQ"

typedef struct _order_rules_t order_rules_t;

//  Creates the rules over a repository (taken: *repo_p is nulled, also on
//  failure) and a ledger (borrowed: it must outlive the rules).  served is
//  the served countries string above, NULL for the default.  Returns NULL
//  after logging on a bad served string (see order_rules_served_valid).
order_rules_t *order_rules_new (order_repo_t **repo_p, ledger_t *ledger, const char *served);

//  Destroys the rules; safe on NULL, nulls the pointer.
void order_rules_destroy (order_rules_t **self_p);

//  True if served is a valid served countries string (for config checks).
//  Can't fail.
bool order_rules_served_valid (const char *served);

//  True if the rules serve country (two upper-case letters).  Can't fail.
bool order_rules_serves (order_rules_t *self, const char *country);

//  The runtime's batch_handler on PostgreSQL (the repository has call):
//  the whole batch in one round trip (ledger_pg_run).
void order_rules_batch (void *state, const ck_request_t *const *requests,
                        ck_reply_t *const *replies, size_t count);

//  Handler for any order request type (state = order_rules_t); returns -1
//  for a type order does not serve.
int order_rules_handle (void *state, const ck_request_t *request, ck_reply_t *reply);

//  CreateOrder: ok with order_id, or rejected destination_unserviceable.
//  Returns 0, or -1 on a technical failure.
int order_rules_create (void *state, const ck_request_t *request, ck_reply_t *reply);

#ifdef __cplusplus
}
#endif

#endif

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

    The tables (orders, order_lines) and the id scheme ("ord-<n>") are
    documented in docs/participant-stores.md.
*/
#ifndef CK_ORDER_RULES_H_INCLUDED
#define CK_ORDER_RULES_H_INCLUDED

#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

#define ORDER_RULES_SERVED_DEFAULT "all-AQ"

typedef struct _order_rules_t order_rules_t;

//  Creates the rules over store (borrowed: it must outlive the rules),
//  creating the schema if needed.  served is the served countries string
//  above, NULL for the default.  Returns NULL after logging on failure
//  (a bad served string included: see order_rules_served_valid).
order_rules_t *order_rules_new (store_t *store, const char *served);

//  Destroys the rules; safe on NULL, nulls the pointer.
void order_rules_destroy (order_rules_t **self_p);

//  True if served is a valid served countries string (for config checks).
//  Can't fail.
bool order_rules_served_valid (const char *served);

//  True if the rules serve country (two upper-case letters).  Can't fail.
bool order_rules_serves (order_rules_t *self, const char *country);

//  The store the rules run over (borrowed), e.g. for idle checkpoints.
store_t *order_rules_store (order_rules_t *self);

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

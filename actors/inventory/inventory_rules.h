/*  inventory_rules.h - the inventory participant's business rules
    Reserves a cart's lines from stock all or nothing, and releases them.

    Rules decide (validation, all or nothing, reasons) and know nothing
    of sockets or SQL: the stock is a repository (inventory_repo.h), and
    each request is answered once through the ledger (ledger.h), which
    keeps a reservation's lines for its release.  The participant runtime
    calls the handlers below inside one transaction per batch.

    The tables and views, and the id scheme ("res-<n>", the ledger entry's
    number), are documented in docs/participant-stores.md.
*/
#ifndef CK_INVENTORY_RULES_H_INCLUDED
#define CK_INVENTORY_RULES_H_INCLUDED

#include "inventory_repo.h"
#include "ledger.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _inventory_rules_t inventory_rules_t;

//  Creates the rules over a repository (taken: *repo_p is nulled) and a
//  ledger (borrowed: it must outlive the rules).  Can't fail.
inventory_rules_t *inventory_rules_new (inventory_repo_t **repo_p, ledger_t *ledger);

//  Destroys the rules; safe on NULL, nulls the pointer.
void inventory_rules_destroy (inventory_rules_t **self_p);

//  Loads "sku,available" lines from a CSV file ('#' starts a comment, no
//  header) into the stock, only if there is none yet, atomically.  Returns 0 loaded, 1 skipped (stock not empty), -1 on a
//  bad file (nothing loaded; inventory_rules_reason says file:line why).
int inventory_rules_seed (inventory_rules_t *self, const char *path);

//  Why the last seed failed, as "file:line: what" (borrowed; "" if none).
const char *inventory_rules_reason (inventory_rules_t *self);

//  Units of sku available now, or -1 if sku is not stocked (or on error).
int64_t inventory_rules_available (inventory_rules_t *self, const char *sku);

//  The runtime's batch_handler on PostgreSQL (the repository has call):
//  the whole batch in one round trip (ledger_pg_run).
void inventory_rules_batch (void *state, const ck_request_t *const *requests,
                            ck_reply_t *const *replies, size_t count);

//  Handler for any inventory request type (state = inventory_rules_t);
//  returns -1 for a type inventory does not serve.
int inventory_rules_handle (void *state, const ck_request_t *request, ck_reply_t *reply);

//  ReserveInventory: reserves every line or none.  ok with reservation_id;
//  rejected unknown_sku / out_of_stock (reason.sku names the line) or
//  compensated.  Returns 0, or -1 on a technical failure.
int inventory_rules_reserve (void *state, const ck_request_t *request, ck_reply_t *reply);

//  ReleaseInventory: always ok; returns the reservation's units to stock,
//  or leaves a tombstone if there is none.  Returns 0, or -1.
int inventory_rules_release (void *state, const ck_request_t *request, ck_reply_t *reply);

#ifdef __cplusplus
}
#endif

#endif

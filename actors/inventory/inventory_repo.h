/*  inventory_repo.h - where the inventory's stock lives, as operations
    The rules decide; a repository takes and gives back stock.

    A repository is a struct of operations; inventory_repo_sqlite.c keeps
    the stock in the participant's SQLite file.  Another backend fills the
    same struct and the rules stay as they are.  Every operation returns
    -1 after logging on a technical failure.
*/
#ifndef CK_INVENTORY_REPO_H_INCLUDED
#define CK_INVENTORY_REPO_H_INCLUDED

#include "participant_store.h"
#include "checkout/protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

//  One row of stock, for seeding
typedef struct {
    char sku [CK_ID_SIZE];
    int64_t available;
} inventory_stock_t;

typedef struct _inventory_repo_t inventory_repo_t;

struct _inventory_repo_t {
    //  Takes qty of sku for every line, or nothing at all: returns 1
    //  taken, 0 refused (a SKU unknown or short; nothing was taken), -1.
    //  A SKU on several lines is taken once per line.
    int (*take) (inventory_repo_t *self, const ck_item_t *items, uint32_t count);
    //  Gives back qty of sku for every line (what a take took).  0 or -1.
    int (*give_back) (inventory_repo_t *self, const ck_item_t *items, uint32_t count);
    //  Sets *available to sku's units: returns 1, 0 when sku is not
    //  stocked, or -1.
    int (*available) (inventory_repo_t *self, const char *sku, int64_t *available);
    //  Loads rows (distinct SKUs) if there is no stock yet, atomically, so
    //  of two instances starting at once exactly one loads: returns 0
    //  loaded, 1 skipped (stock not empty), or -1.
    int (*seed) (inventory_repo_t *self, const inventory_stock_t *rows, size_t count);
    //  Optional (PostgreSQL; NULL elsewhere): makes the server call that
    //  answers request whole in a batch (ledger_pg.h, ledger_pg_run): a
    //  ReserveInventory takes its valid cart's lines, detail (kept for the
    //  release), or is refused with the rules' reason; a
    //  ReleaseInventory gives back what the reservation took.  0 or -1.
    int (*call) (inventory_repo_t *self, const ck_request_t *request, const char *detail,
                 pg_statement_t *call);
    //  Destroys the repository; safe on NULL, nulls the pointer.
    void (*destroy) (inventory_repo_t **self_p);
};

//  The stock in store's SQLite file (borrowed: it must outlive the
//  repository), creating its table if needed.  Returns the repository,
//  owned by the caller, or NULL after logging.
inventory_repo_t *inventory_repo_sqlite_new (participant_store_t *store);

//  The same in store's PostgreSQL database (inventory_repo_pg.c).
inventory_repo_t *inventory_repo_pg_new (participant_store_t *store);

#ifdef __cplusplus
}
#endif

#endif

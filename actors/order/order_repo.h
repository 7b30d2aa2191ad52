/*  order_repo.h - where the order participant's orders live, as operations
    The rules decide what is served; a repository keeps the orders.

    A repository is a struct of operations; order_repo_sqlite.c keeps the
    orders in the participant's SQLite file.  Another backend fills the
    same struct and the rules stay as they are.
*/
#ifndef CK_ORDER_REPO_H_INCLUDED
#define CK_ORDER_REPO_H_INCLUDED

#include "participant_store.h"
#include "checkout/protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _order_repo_t order_repo_t;

struct _order_repo_t {
    //  Keeps the order of request, with its lines, under number id (the
    //  ledger entry's: "ord-<id>").  0, or -1 after logging.
    int (*create) (order_repo_t *self, int64_t id, const ck_request_t *request);
    //  Optional (PostgreSQL; NULL elsewhere): makes the server call that
    //  answers a CreateOrder whole in a batch (ledger_pg.h,
    //  ledger_pg_run), with decided the rules' answer (outcome, reason).
    //  0 or -1.
    int (*call) (order_repo_t *self, const ck_request_t *request,
                 const ledger_entry_t *decided, pg_statement_t *call);
    //  Destroys the repository; safe on NULL, nulls the pointer.
    void (*destroy) (order_repo_t **self_p);
};

//  The orders in store's SQLite file (borrowed: it must outlive the
//  repository), creating their table if needed.  Returns the repository,
//  owned by the caller, or NULL after logging.
order_repo_t *order_repo_sqlite_new (participant_store_t *store);

//  The same in store's PostgreSQL database (order_repo_pg.c).
order_repo_t *order_repo_pg_new (participant_store_t *store);

#ifdef __cplusplus
}
#endif

#endif

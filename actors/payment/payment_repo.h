/*  payment_repo.h - where the payment's authorizations live, as operations
    The rules ask the (sandbox) gateway; a repository keeps what it granted.

    A repository is a struct of operations; payment_repo_sqlite.c keeps the
    authorizations in the participant's SQLite file.  Another backend (a
    real gateway's records, another database) fills the same struct and
    the rules stay as they are.  Every operation returns -1 after logging
    on a technical failure.
*/
#ifndef CK_PAYMENT_REPO_H_INCLUDED
#define CK_PAYMENT_REPO_H_INCLUDED

#include "participant_store.h"
#include "checkout/protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _payment_repo_t payment_repo_t;

struct _payment_repo_t {
    //  Keeps the approved authorization of request under number id (the
    //  ledger entry's: "auth-<id>").  0 or -1.
    int (*authorize) (payment_repo_t *self, int64_t id, const ck_request_t *request);
    //  Voids authorization number id.  0 or -1.
    int (*cancel) (payment_repo_t *self, int64_t id);
    //  Optional (PostgreSQL; NULL elsewhere): makes the server call that
    //  answers request whole in a batch (ledger_pg.h, ledger_pg_run); an
    //  AuthorizePayment's decided holds the gateway's verdict (outcome,
    //  reason).  0 or -1.
    int (*call) (payment_repo_t *self, const ck_request_t *request,
                 const ledger_entry_t *decided, pg_statement_t *call);
    //  Destroys the repository; safe on NULL, nulls the pointer.
    void (*destroy) (payment_repo_t **self_p);
};

//  The authorizations in store's SQLite file (borrowed: it must outlive
//  the repository), creating their table if needed.  Returns the
//  repository, owned by the caller, or NULL after logging.
payment_repo_t *payment_repo_sqlite_new (participant_store_t *store);

//  The same in store's PostgreSQL database (payment_repo_pg.c).
payment_repo_t *payment_repo_pg_new (participant_store_t *store);

#ifdef __cplusplus
}
#endif

#endif

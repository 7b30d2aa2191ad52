/*  coordinator.h - the coordinator actor: runs checkout sagas for clients
    Frontend ROUTER for clients, backend ROUTER for participants, events PUB.

    The actor owns its sockets, the saga log and the engine.  One loop turn
    reads what is waiting, runs the engine, commits every transition of the
    turn in one transaction, and only then sends what the transitions cause
    (outbox order, protocol.md §7).
*/
#ifndef COORDINATOR_H_INCLUDED
#define COORDINATOR_H_INCLUDED

#include <czmq.h>
#include "saga_engine.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *frontend;               //  endpoints to bind
    const char *backend;
    const char *events;
    const char *db;                     //  the saga log's SQLite file
    store_sync_t sync;
    saga_policy_t policy;
    uint32_t max_inflight;              //  admission limit; default 10000
    uint32_t heartbeat_ivl_ms;          //  default 1000
    uint32_t liveness;                  //  default 3
    bool verbose;
} coordinator_config_t;

//  Starts the coordinator actor: opens the log, binds the sockets, resumes
//  every saga that is not terminal.  Returns the actor, owned by the
//  caller, or NULL after logging why it could not start.  zactor_destroy
//  stops it: it stops reading, commits what it holds and closes.
zactor_t *coordinator_new (const coordinator_config_t *config);

#ifdef __cplusplus
}
#endif

#endif

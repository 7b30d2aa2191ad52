/*  coordinator.h - the coordinator actor: runs checkout sagas for clients
    Frontend ROUTER for clients, backend ROUTER for participants, events PUB.

    The actor owns its sockets, the saga log and the engine.  One loop turn
    reads what is waiting, runs the engine, commits every transition of the
    turn in one transaction, and only then sends what the transitions cause
    (outbox order, docs/protocol.md#durability).
*/
#ifndef COORDINATOR_H_INCLUDED
#define COORDINATOR_H_INCLUDED

#include <czmq.h>
#include "checkout/curve.h"
#include "saga_engine.h"
#include "store.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    const char *frontend;               //  endpoints to bind
    const char *backend;
    const char *events;
    const char *db;                     //  the saga log: a SQLite file or a URI
    store_sync_t sync;
    saga_policy_t policy;
    uint32_t max_inflight;              //  admission limit; default 10000
    uint32_t heartbeat_ivl_ms;          //  default 1000
    uint32_t liveness;                  //  default 3
    uint64_t retention_ms;              //  keep ended sagas this long; 0 for ever
    ck_curve_keys_t curve;              //  the server's keys; CURVE off when ""
    const char *curve_allow;            //  the allow-lists' root (keyring.h)
    bool verbose;
    //  With the log on PostgreSQL, one of several coordinators
    //  (docs/coordinators.md)
    const char *instance;               //  this coordinator's id
    const char *advertise;              //  its frontend, as clients reach it
    uint32_t partitions;                //  0: CK_DEFAULT_PARTITIONS
    uint32_t lease_ttl_ms;              //  0: LEASES_TTL_MS
} coordinator_config_t;

typedef struct _coordinator_t coordinator_t;

//  Starts the coordinator in a thread of its own: opens the log, binds the
//  sockets, resumes every saga that is not terminal.  Returns a new
//  coordinator owned by the caller, or NULL after logging why it could
//  not start.
coordinator_t *coordinator_new (const coordinator_config_t *config);

//  The same; when it returns NULL, *refused (if not NULL) says whether the
//  log was refused (another coordinator's SQLite file, another partition
//  count or layout) rather than failed.
coordinator_t *coordinator_start (const coordinator_config_t *config, bool *refused);

//  Stops the coordinator: it stops reading, commits what it holds and
//  closes.  Safe on NULL, nulls the pointer.
void coordinator_destroy (coordinator_t **self_p);

//  Waits up to timeout_ms for the coordinator to stop by itself (its log
//  failed, so it could not go on).  Returns true when it did: destroy it
//  and exit non-zero.  False when it is still running.
bool coordinator_failed (coordinator_t *self, int timeout_ms);

#ifdef __cplusplus
}
#endif

#endif

/*  dispatcher.h - the coordinator's view of live participant instances
    Who is there per service, what each has in flight, who is next, who is dead.

    A worker is one participant instance, known by the routing id its READY
    came from (docs/protocol.md#worker).  The dispatcher keeps, per service,
    the live workers with their capacity and load; which request (an opaque,
    non-NULL handle the caller owns) is in flight at which worker; and a
    FIFO of handles waiting for a free worker.  It reads no clock and sends
    nothing: times are passed in, in milliseconds, and the caller sends.

    Choice (docs/protocol.md#dispatch): dispatcher_pick returns the least
    loaded worker of a service that is below its capacity; among equally
    loaded ones, the one assigned to longest ago, so that equal instances
    take turns.  Load is absolute
    (requests in flight), not relative to capacity: the fewest outstanding
    requests is the classic choice that also favours faster instances.

    Liveness (docs/protocol.md#liveness): a worker heard from at heard_ms
    is dead from heard_ms + liveness_ms on.  Removing a worker (expiry,
    DISCONNECT, or a plain READY again on its routing id) reports each of its
    in-flight handles once through a lost callback, after the worker is
    gone from every table: the callback may pick, assign and wait at once.

    An instance name belongs to one connection at a time: a READY that
    claims the name of a live worker from another routing id is refused
    (dispatcher_join returns NULL).  Whether the newcomer may take the name
    over anyway (the old connection is provably gone, or both authenticated
    with the same key) is the caller's call: it removes the old worker first.
*/
#ifndef DISPATCHER_H_INCLUDED
#define DISPATCHER_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "checkout/protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

#define DISPATCHER_ROUTING_ID_MAX 256

//  A live worker; the dispatcher owns it, callers only read it.  It stays
//  valid until it is removed (dispatcher_remove, dispatcher_expire, or a
//  dispatcher_join that replaces it).
typedef struct {
    ck_service_t service;
    char instance [CK_ID_SIZE];
    uint8_t routing_id [DISPATCHER_ROUTING_ID_MAX];
    size_t routing_id_size;
    char key [41];                      //  its CURVE public key (Z85), or ""
    uint32_t capacity;                  //  most requests in flight at once
    uint32_t load;                      //  requests it holds now (orphans too)
    int64_t heard_ms;                   //  last message from it
    int64_t sent_ms;                    //  last message to it
} dispatcher_worker_t;

typedef struct _dispatcher_t dispatcher_t;

//  A request that was in flight at a removed worker; it is no longer
//  assigned anywhere.
typedef void (dispatcher_lost_fn) (void *arg, void *handle);

//  A worker removed by expiry, or replaced by a join; valid only during
//  the call.
typedef void (dispatcher_gone_fn) (void *arg, const dispatcher_worker_t *worker);

//  Returns a new, empty dispatcher owned by the caller; a worker heard from
//  nothing for liveness_ms is dead.  Aborts when out of memory, like czmq.
dispatcher_t *dispatcher_new (uint32_t liveness_ms);

//  Destroys the dispatcher and its workers (not the handles); safe on NULL,
//  nulls the pointer.
void dispatcher_destroy (dispatcher_t **self_p);

//  READY: adds a worker for this routing id, heard and sent at now_ms.  A
//  known routing id is a new connection that reused it (a participant
//  sends a plain READY once per connection; a new capacity on the same
//  connection is dispatcher_set_capacity): the worker it was is removed first,
//  reported to gone, then its handles to lost (either may be NULL).
//  Returns the worker, or NULL when an argument is out of range (service,
//  capacity 1..1024, routing id 1..256 bytes, instance 1..64 bytes) or
//  when another routing id's live worker has this (service, instance).
dispatcher_worker_t *dispatcher_join (dispatcher_t *self,
    const void *routing_id, size_t routing_id_size, ck_service_t service,
    const char *instance, uint32_t capacity, int64_t now_ms,
    dispatcher_lost_fn *lost, dispatcher_gone_fn *gone, void *arg);

//  READY with update on the worker's own connection: a new capacity and
//  nothing else.  What it has in flight stays there and counts against the
//  new capacity; when that is below its load, dispatcher_pick passes it
//  over until the load drops under it.  Returns 0, or -1 when capacity is
//  outside 1..1024 (nothing changes).
int dispatcher_set_capacity (dispatcher_t *self, dispatcher_worker_t *worker,
                             uint32_t capacity);

//  The worker with this routing id, or NULL when unknown.
dispatcher_worker_t *dispatcher_find (dispatcher_t *self,
    const void *routing_id, size_t routing_id_size);

//  The live worker of this (service, instance), or NULL.
dispatcher_worker_t *dispatcher_instance (dispatcher_t *self, ck_service_t service,
                                          const char *instance);

//  Records that the worker was heard from at now_ms.  Can't fail.
void dispatcher_heard (dispatcher_t *self, dispatcher_worker_t *worker, int64_t now_ms);

//  Records that something was sent to the worker at now_ms.  Can't fail.
void dispatcher_sent (dispatcher_t *self, dispatcher_worker_t *worker, int64_t now_ms);

//  The least loaded worker of the service with load < capacity, turns taken
//  among equals; NULL when none has room.  Does not assign.
dispatcher_worker_t *dispatcher_pick (dispatcher_t *self, ck_service_t service);

//  Puts the handle in flight at the worker (load + 1).  The handle must not
//  be in flight anywhere.  Returns the assignment's number: assignments are
//  numbered in the order they are made, across workers.  Can't fail.
uint64_t dispatcher_assign (dispatcher_t *self, dispatcher_worker_t *worker, void *handle);

//  Takes the handle out of flight (load - 1 where it was).  Returns that
//  worker, or NULL when the handle was not in flight.
dispatcher_worker_t *dispatcher_unassign (dispatcher_t *self, void *handle);

//  A request superseded while its instance holds it (a retry after a
//  timeout, a saga that gave up): the handle leaves flight, but the
//  instance's slot stays taken under key (the caller's name for that
//  request; number is its assignment's) until the first of:
//  - dispatcher_release: the instance answered it, late;
//  - dispatcher_release_before: the instance answered a request assigned
//    after it.  An instance answers in the order it received, so this one
//    is answered too, or it (or its answer) was lost on the way;
//  - expires_ms (dispatcher_expire_orphans), for an instance that gets
//    nothing else to answer;
//  - the worker's removal.
//  So an instance is not given more than its capacity, and a lost message
//  does not keep a slot for ever.  Nothing when the handle is not in
//  flight.  Can't fail.
void dispatcher_orphan (dispatcher_t *self, void *handle, const char *key, uint64_t number,
                        int64_t expires_ms);

//  Frees the worker's orphans assigned before number (see
//  dispatcher_orphan).  Returns how many it freed.  O(the worker's orphans).
size_t dispatcher_release_before (dispatcher_t *self, dispatcher_worker_t *worker,
                                  uint64_t number);

//  Frees the slots of orphans whose expires_ms has come.  Returns how many
//  it freed.  O(orphans).
size_t dispatcher_expire_orphans (dispatcher_t *self, int64_t now_ms);

//  The instance answered the request held under key: its slot is free.
//  Returns false when the worker holds no such request.
bool dispatcher_release (dispatcher_t *self, dispatcher_worker_t *worker, const char *key);

//  The worker the handle is in flight at, or NULL.
dispatcher_worker_t *dispatcher_where (dispatcher_t *self, void *handle);

//  DISCONNECT: removes the worker, then reports each of its handles to lost
//  (which may be NULL).  The worker pointer is invalid afterwards.
void dispatcher_remove (dispatcher_t *self, dispatcher_worker_t *worker,
    dispatcher_lost_fn *lost, void *arg);

//  Removes every worker not heard from since now_ms - liveness_ms; for each
//  reports the worker to gone, then its handles to lost (either may be
//  NULL).  Returns how many workers were removed.
size_t dispatcher_expire (dispatcher_t *self, int64_t now_ms,
    dispatcher_lost_fn *lost, dispatcher_gone_fn *gone, void *arg);

//  The earliest time a worker expires (heard_ms + liveness_ms), or
//  INT64_MAX when there are no workers.  O(workers).
int64_t dispatcher_next_expiry (dispatcher_t *self);

//  Appends the handle to the service's queue of handles waiting for a
//  worker.  The handle must not be waiting already.  Can't fail.
void dispatcher_wait (dispatcher_t *self, ck_service_t service, void *handle);

//  Removes and returns the oldest handle waiting for the service, or NULL.
void *dispatcher_next_waiting (dispatcher_t *self, ck_service_t service);

//  Removes the handle from whichever queue it waits in, if any; O(1).
void dispatcher_cancel_wait (dispatcher_t *self, void *handle);

//  Number of handles waiting for the service; CK_SERVICE_NONE for all.
size_t dispatcher_waiting (dispatcher_t *self, ck_service_t service);

//  Number of live workers of the service; CK_SERVICE_NONE for all.
size_t dispatcher_count (dispatcher_t *self, ck_service_t service);

//  Calls fn for every live worker, by service then age.  fn must not add
//  or remove workers.
void dispatcher_each (dispatcher_t *self,
    void (*fn) (void *arg, dispatcher_worker_t *worker), void *arg);

#ifdef __cplusplus
}
#endif

#endif

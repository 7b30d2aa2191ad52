/*  dispatcher.c - the coordinator's view of live participant instances
    Rosters per service, maps by routing id and by handle, FIFO wait queues.
*/
#include <czmq.h>
#include "dispatcher.h"
#include "pointer_map.h"

//  A superseded request whose slot its worker keeps (dispatcher_orphan)
typedef struct {
    uint64_t number;                    //  its assignment's
    int64_t expires_ms;
} orphan_t;

static void
s_orphan_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

//  Key of by_routing_id: a worker's own bytes, or the caller's in a lookup
typedef struct {
    const uint8_t *data;
    size_t size;
} routing_key_t;

//  A worker with what callers need not see; pub comes first so that a
//  dispatcher_worker_t * handed out converts back.
typedef struct {
    dispatcher_worker_t pub;
    uint64_t turn;                      //  when it was last assigned to
    bool listed;                        //  in its roster and by_routing_id
    routing_key_t key;
    zhashx_t *orphans;                  //  key -> orphan_t: slots of requests
                                        //  superseded while it held them
} worker_t;

typedef struct {
    worker_t **items;                   //  oldest first
    size_t size, capacity;
} roster_t;

//  A handle waiting for a worker, in a doubly linked FIFO per service
typedef struct _wait_t {
    void *handle;
    ck_service_t service;
    struct _wait_t *prev, *next;
} wait_t;

typedef struct {
    wait_t *head, *tail;
    size_t size;
} queue_t;

//  Handles collected from a worker before they are reported
typedef struct {
    void **items;
    size_t size, capacity;
} handles_t;

struct _dispatcher_t {
    uint32_t liveness_ms;
    uint64_t turns;                     //  assignments so far
    roster_t rosters [CK_SERVICE_MAX];
    queue_t queues [CK_SERVICE_MAX];
    zhashx_t *by_routing_id;            //  &worker->key -> worker_t
    zhashx_t *in_flight;                //  handle -> worker_t
    zhashx_t *waits;                    //  handle -> wait_t
};

#define WORKER(pub_p) ((worker_t *) (pub_p))


//  Doubles an array's storage; memory exhaustion is fatal, as in czmq.

static void *
s_grow (void *items, size_t *capacity, size_t item_size)
{
    size_t wanted = *capacity? *capacity * 2: 16;
    void *grown = realloc (items, wanted * item_size);
    if (!grown) {
        zsys_error ("dispatcher: op=grow error=out of memory");
        abort ();
    }
    *capacity = wanted;
    return grown;
}


//  Routing ids are byte strings: FNV-1a over the bytes
static size_t
s_routing_id_hash (const void *key)
{
    const routing_key_t *routing = (const routing_key_t *) key;
    uint64_t hash = 0xcbf29ce484222325ULL;
    for (size_t index = 0; index < routing->size; index++)
        hash = (hash ^ routing->data [index]) * 0x100000001b3ULL;
    return (size_t) hash;
}

static int
s_routing_id_compare (const void *one, const void *two)
{
    const routing_key_t *a = (const routing_key_t *) one;
    const routing_key_t *b = (const routing_key_t *) two;
    if (a->size != b->size)
        return a->size < b->size? -1: 1;
    return memcmp (a->data, b->data, a->size);
}

static zhashx_t *
s_map_new (zhashx_hash_fn *hasher, zhashx_comparator_fn *comparator)
{
    zhashx_t *map = zhashx_new ();
    zhashx_set_key_hasher (map, hasher);
    zhashx_set_key_comparator (map, comparator);
    zhashx_set_key_duplicator (map, NULL);
    zhashx_set_key_destructor (map, NULL);
    return map;
}


static void
s_worker_free (worker_t *worker)
{
    zhashx_destroy (&worker->orphans);
    free (worker);
}


//  Returns a new, empty dispatcher owned by the caller.

dispatcher_t *
dispatcher_new (uint32_t liveness_ms)
{
    dispatcher_t *self = (dispatcher_t *) zmalloc (sizeof (dispatcher_t));
    self->liveness_ms = liveness_ms;
    self->by_routing_id = s_map_new (s_routing_id_hash, s_routing_id_compare);
    self->in_flight = s_map_new (pointer_map_hash, pointer_map_compare);
    self->waits = s_map_new (pointer_map_hash, pointer_map_compare);
    return self;
}


//  Destroys the dispatcher and its workers; safe on NULL, nulls the pointer.

void
dispatcher_destroy (dispatcher_t **self_p)
{
    assert (self_p);
    dispatcher_t *self = *self_p;
    if (!self)
        return;
    for (int service = 0; service < CK_SERVICE_MAX; service++) {
        roster_t *roster = &self->rosters [service];
        for (size_t index = 0; index < roster->size; index++)
            s_worker_free (roster->items [index]);
        free (roster->items);
        wait_t *wait = self->queues [service].head;
        while (wait) {
            wait_t *next = wait->next;
            free (wait);
            wait = next;
        }
    }
    zhashx_destroy (&self->by_routing_id);
    zhashx_destroy (&self->in_flight);
    zhashx_destroy (&self->waits);
    free (self);
    *self_p = NULL;
}


//  Takes the worker out of its roster and the routing id map, so that no
//  one finds or picks it; its handles stay in flight until s_drop.

static void
s_unlist (dispatcher_t *self, worker_t *worker)
{
    assert (worker->listed);
    roster_t *roster = &self->rosters [worker->pub.service];
    size_t index = 0;
    while (index < roster->size && roster->items [index] != worker)
        index++;
    assert (index < roster->size);
    memmove (roster->items + index, roster->items + index + 1,
             (roster->size - index - 1) * sizeof (worker_t *));
    roster->size--;
    zhashx_delete (self->by_routing_id, &worker->key);
    worker->listed = false;
}


//  Takes an unlisted worker's handles out of flight, reports the worker to
//  gone and then each handle to lost, and frees the worker.  Removal is
//  rare, so walking the whole in-flight map is fine.

static void
s_drop (dispatcher_t *self, worker_t *worker, dispatcher_lost_fn *lost,
        dispatcher_gone_fn *gone, void *arg)
{
    assert (!worker->listed);
    handles_t handles = { NULL, 0, 0 };
    for (void *item = zhashx_first (self->in_flight); item;
         item = zhashx_next (self->in_flight)) {
        if (item != worker)
            continue;
        if (handles.size == handles.capacity)
            handles.items = (void **) s_grow (handles.items, &handles.capacity,
                                              sizeof (void *));
        handles.items [handles.size++] = (void *) zhashx_cursor (self->in_flight);
    }
    for (size_t index = 0; index < handles.size; index++)
        zhashx_delete (self->in_flight, handles.items [index]);
    worker->pub.load = 0;
    if (gone)
        gone (arg, &worker->pub);
    for (size_t index = 0; lost && index < handles.size; index++)
        lost (arg, handles.items [index]);
    free (handles.items);
    s_worker_free (worker);
}


//  The worker of this (service, instance), or NULL

static worker_t *
s_find_instance (dispatcher_t *self, ck_service_t service, const char *instance)
{
    roster_t *roster = &self->rosters [service];
    for (size_t index = 0; index < roster->size; index++)
        if (streq (roster->items [index]->pub.instance, instance))
            return roster->items [index];
    return NULL;
}

static bool
s_capacity_valid (uint32_t capacity)
{
    return capacity >= CK_MIN_CAPACITY && capacity <= CK_MAX_CAPACITY;
}

static bool
s_join_valid (size_t routing_id_size, ck_service_t service,
              const char *instance, uint32_t capacity)
{
    size_t instance_size = instance? strnlen (instance, CK_ID_SIZE): 0;
    return routing_id_size >= 1
        && routing_id_size <= DISPATCHER_ROUTING_ID_MAX
        && ck_service_name (service)
        && instance_size >= 1 && instance_size <= CK_ID_MAX
        && s_capacity_valid (capacity);
}

static worker_t *
s_worker_new (dispatcher_t *self, const void *routing_id, size_t routing_id_size,
              ck_service_t service, const char *instance, int64_t now_ms)
{
    worker_t *worker = (worker_t *) zmalloc (sizeof (worker_t));
    worker->pub.service = service;
    strcpy (worker->pub.instance, instance);
    memcpy (worker->pub.routing_id, routing_id, routing_id_size);
    worker->pub.routing_id_size = routing_id_size;
    worker->pub.heard_ms = now_ms;
    worker->pub.sent_ms = now_ms;
    worker->key.data = worker->pub.routing_id;
    worker->key.size = routing_id_size;
    worker->listed = true;
    roster_t *roster = &self->rosters [service];
    if (roster->size == roster->capacity)
        roster->items = (worker_t **) s_grow (roster->items, &roster->capacity,
                                              sizeof (worker_t *));
    roster->items [roster->size++] = worker;
    int rc = zhashx_insert (self->by_routing_id, &worker->key, worker);
    assert (rc == 0);
    return worker;
}


//  READY: adds or refreshes the worker of this routing id, replacing the
//  worker that had it.  Returns the worker, or NULL when an argument is out
//  of range or the instance is another routing id's.

dispatcher_worker_t *
dispatcher_join (dispatcher_t *self, const void *routing_id, size_t routing_id_size,
                 ck_service_t service, const char *instance, uint32_t capacity,
                 int64_t now_ms, dispatcher_lost_fn *lost, dispatcher_gone_fn *gone,
                 void *arg)
{
    assert (self);
    if (!routing_id || !s_join_valid (routing_id_size, service, instance, capacity)) {
        zsys_warning ("dispatcher: op=join error=invalid arguments service=%d capacity=%u",
                      (int) service, capacity);
        return NULL;
    }
    //  A live instance keeps its name: anyone could claim it otherwise and
    //  take its requests.  The caller removes it first when it may go.
    worker_t *holder = s_find_instance (self, service, instance);
    if (holder && s_routing_id_compare (&holder->key, &(routing_key_t) {
            (const uint8_t *) routing_id, routing_id_size }) != 0)
        return NULL;
    //  A participant sends a plain READY once per connection, so one under
    //  a known routing id is a new connection that reused it: a process
    //  restarted under the same instance name before the old one was found
    //  dead.  What was in flight at the old one will never be answered, so
    //  it is lost now, not a step timeout later.
    worker_t *known = WORKER (dispatcher_find (self, routing_id, routing_id_size));
    if (known) {
        s_unlist (self, known);
        s_drop (self, known, lost, gone, arg);
    }
    worker_t *worker = s_worker_new (self, routing_id, routing_id_size,
                                     service, instance, now_ms);
    worker->pub.capacity = capacity;
    return &worker->pub;
}


//  A new capacity for a worker, its load untouched: dispatcher_pick
//  compares the two, so a load above a capacity that shrank only waits.

int
dispatcher_set_capacity (dispatcher_t *self, dispatcher_worker_t *worker, uint32_t capacity)
{
    assert (self);
    assert (worker);
    if (!s_capacity_valid (capacity)) {
        zsys_warning ("dispatcher: op=set_capacity error=invalid capacity=%u", capacity);
        return -1;
    }
    worker->capacity = capacity;
    return 0;
}


//  The live worker of this (service, instance), or NULL.

dispatcher_worker_t *
dispatcher_instance (dispatcher_t *self, ck_service_t service, const char *instance)
{
    assert (self);
    if (!ck_service_name (service) || !instance)
        return NULL;
    worker_t *worker = s_find_instance (self, service, instance);
    return worker? &worker->pub: NULL;
}


//  The worker with this routing id, or NULL when unknown.

dispatcher_worker_t *
dispatcher_find (dispatcher_t *self, const void *routing_id, size_t routing_id_size)
{
    assert (self);
    if (!routing_id || routing_id_size == 0)
        return NULL;
    routing_key_t probe = { (const uint8_t *) routing_id, routing_id_size };
    worker_t *worker = (worker_t *) zhashx_lookup (self->by_routing_id, &probe);
    return worker? &worker->pub: NULL;
}


//  Records that the worker was heard from at now_ms.  Can't fail.

void
dispatcher_heard (dispatcher_t *self, dispatcher_worker_t *worker, int64_t now_ms)
{
    assert (self);
    assert (worker);
    worker->heard_ms = now_ms;
}


//  Records that something was sent to the worker at now_ms.  Can't fail.

void
dispatcher_sent (dispatcher_t *self, dispatcher_worker_t *worker, int64_t now_ms)
{
    assert (self);
    assert (worker);
    worker->sent_ms = now_ms;
}


//  The least loaded worker with room; among equals, the one whose last
//  assignment is oldest.  NULL when none has room.

dispatcher_worker_t *
dispatcher_pick (dispatcher_t *self, ck_service_t service)
{
    assert (self);
    assert (service > CK_SERVICE_NONE && service < CK_SERVICE_MAX);
    roster_t *roster = &self->rosters [service];
    worker_t *best = NULL;
    for (size_t index = 0; index < roster->size; index++) {
        worker_t *worker = roster->items [index];
        if (worker->pub.load >= worker->pub.capacity)
            continue;
        if (!best || worker->pub.load < best->pub.load
        ||  (worker->pub.load == best->pub.load && worker->turn < best->turn))
            best = worker;
    }
    return best? &best->pub: NULL;
}


//  Puts the handle in flight at the worker.  Can't fail.

uint64_t
dispatcher_assign (dispatcher_t *self, dispatcher_worker_t *worker, void *handle)
{
    assert (self);
    assert (worker);
    assert (handle);
    int rc = zhashx_insert (self->in_flight, handle, worker);
    assert (rc == 0);               //  a handle is in flight at one worker
    worker->load++;
    WORKER (worker)->turn = ++self->turns;
    return self->turns;
}


//  Takes the handle out of flight; returns where it was, or NULL.

dispatcher_worker_t *
dispatcher_unassign (dispatcher_t *self, void *handle)
{
    assert (self);
    worker_t *worker = (worker_t *) zhashx_lookup (self->in_flight, handle);
    if (!worker)
        return NULL;
    zhashx_delete (self->in_flight, handle);
    assert (worker->pub.load > 0);
    worker->pub.load--;
    return &worker->pub;
}


//  The handle leaves flight, but its slot at the worker stays taken under
//  key until dispatcher_release: the instance still holds that request.

void
dispatcher_orphan (dispatcher_t *self, void *handle, const char *key, uint64_t number,
                   int64_t expires_ms)
{
    assert (self && key);
    worker_t *worker = (worker_t *) zhashx_lookup (self->in_flight, handle);
    if (!worker)
        return;
    zhashx_delete (self->in_flight, handle);
    if (!worker->orphans) {
        worker->orphans = zhashx_new ();    //  keys copied, orphans owned
        zhashx_set_destructor (worker->orphans, s_orphan_free);
    }
    orphan_t *orphan = (orphan_t *) zmalloc (sizeof (orphan_t));
    *orphan = (orphan_t) { number, expires_ms };
    if (zhashx_insert (worker->orphans, key, orphan) != 0) {
        free (orphan);
        assert (worker->pub.load > 0);
        worker->pub.load--;             //  the same request twice: one slot
    }
}


//  Frees the worker's orphans that pass test (against limit); how many.
static size_t
s_free_orphans (worker_t *worker, bool (*test) (const orphan_t *, int64_t), int64_t limit)
{
    if (!worker->orphans || zhashx_size (worker->orphans) == 0)
        return 0;
    size_t freed = 0;
    zlistx_t *keys = zhashx_keys (worker->orphans);
    for (const char *key = (const char *) zlistx_first (keys); key;
         key = (const char *) zlistx_next (keys))
        if (test ((const orphan_t *) zhashx_lookup (worker->orphans, key), limit)) {
            zhashx_delete (worker->orphans, key);
            assert (worker->pub.load > 0);
            worker->pub.load--;
            freed++;
        }
    zlistx_destroy (&keys);
    return freed;
}

static bool
s_before (const orphan_t *orphan, int64_t number)
{
    return orphan->number < (uint64_t) number;
}

static bool
s_expired (const orphan_t *orphan, int64_t now_ms)
{
    return orphan->expires_ms <= now_ms;
}


//  Frees the worker's orphans assigned before number.

size_t
dispatcher_release_before (dispatcher_t *self, dispatcher_worker_t *worker, uint64_t number)
{
    assert (self && worker);
    assert (number <= INT64_MAX);
    return s_free_orphans (WORKER (worker), s_before, (int64_t) number);
}


//  Frees the slots of the orphans whose time has come, at every worker.

size_t
dispatcher_expire_orphans (dispatcher_t *self, int64_t now_ms)
{
    assert (self);
    size_t freed = 0;
    for (int service = 0; service < CK_SERVICE_MAX; service++) {
        roster_t *roster = &self->rosters [service];
        for (size_t index = 0; index < roster->size; index++)
            freed += s_free_orphans (roster->items [index], s_expired, now_ms);
    }
    return freed;
}


//  Frees the slot held under key at the worker; false when none is.

bool
dispatcher_release (dispatcher_t *self, dispatcher_worker_t *worker, const char *key)
{
    assert (self && worker && key);
    worker_t *own = WORKER (worker);
    if (!own->orphans || !zhashx_lookup (own->orphans, key))
        return false;
    zhashx_delete (own->orphans, key);
    assert (worker->load > 0);
    worker->load--;
    return true;
}


//  The worker the handle is in flight at, or NULL.

dispatcher_worker_t *
dispatcher_where (dispatcher_t *self, void *handle)
{
    assert (self);
    worker_t *worker = (worker_t *) zhashx_lookup (self->in_flight, handle);
    return worker? &worker->pub: NULL;
}


//  DISCONNECT: removes the worker, then reports its handles to lost.

void
dispatcher_remove (dispatcher_t *self, dispatcher_worker_t *worker,
                   dispatcher_lost_fn *lost, void *arg)
{
    assert (self);
    assert (worker);
    s_unlist (self, WORKER (worker));
    s_drop (self, WORKER (worker), lost, NULL, arg);
}


//  Removes every worker whose liveness ran out by now_ms.  All of them
//  leave the rosters before the first callback, so that a lost handle is
//  never sent on to another dead worker.

size_t
dispatcher_expire (dispatcher_t *self, int64_t now_ms,
                   dispatcher_lost_fn *lost, dispatcher_gone_fn *gone, void *arg)
{
    assert (self);
    handles_t dead = { NULL, 0, 0 };
    for (int service = 0; service < CK_SERVICE_MAX; service++) {
        roster_t *roster = &self->rosters [service];
        for (size_t index = 0; index < roster->size; index++) {
            worker_t *worker = roster->items [index];
            if (worker->pub.heard_ms + self->liveness_ms > now_ms)
                continue;
            if (dead.size == dead.capacity)
                dead.items = (void **) s_grow (dead.items, &dead.capacity,
                                               sizeof (void *));
            dead.items [dead.size++] = worker;
        }
    }
    for (size_t index = 0; index < dead.size; index++)
        s_unlist (self, (worker_t *) dead.items [index]);
    for (size_t index = 0; index < dead.size; index++)
        s_drop (self, (worker_t *) dead.items [index], lost, gone, arg);
    size_t removed = dead.size;
    free (dead.items);
    return removed;
}


//  The earliest heard_ms + liveness_ms, or INT64_MAX without workers.

int64_t
dispatcher_next_expiry (dispatcher_t *self)
{
    assert (self);
    int64_t earliest = INT64_MAX;
    for (int service = 0; service < CK_SERVICE_MAX; service++) {
        roster_t *roster = &self->rosters [service];
        for (size_t index = 0; index < roster->size; index++) {
            int64_t at = roster->items [index]->pub.heard_ms + self->liveness_ms;
            if (at < earliest)
                earliest = at;
        }
    }
    return earliest;
}


//  Appends the handle to the service's wait queue.  Can't fail.

void
dispatcher_wait (dispatcher_t *self, ck_service_t service, void *handle)
{
    assert (self);
    assert (handle);
    assert (service > CK_SERVICE_NONE && service < CK_SERVICE_MAX);
    wait_t *wait = (wait_t *) zmalloc (sizeof (wait_t));
    wait->handle = handle;
    wait->service = service;
    int rc = zhashx_insert (self->waits, handle, wait);
    assert (rc == 0);               //  a handle waits in one queue, once
    queue_t *queue = &self->queues [service];
    wait->prev = queue->tail;
    if (queue->tail)
        queue->tail->next = wait;
    else
        queue->head = wait;
    queue->tail = wait;
    queue->size++;
}


//  Unlinks the wait from its queue and the map, and frees it

static void
s_wait_destroy (dispatcher_t *self, wait_t *wait)
{
    queue_t *queue = &self->queues [wait->service];
    if (wait->prev)
        wait->prev->next = wait->next;
    else
        queue->head = wait->next;
    if (wait->next)
        wait->next->prev = wait->prev;
    else
        queue->tail = wait->prev;
    queue->size--;
    zhashx_delete (self->waits, wait->handle);
    free (wait);
}


//  Removes and returns the oldest handle waiting for the service, or NULL.

void *
dispatcher_next_waiting (dispatcher_t *self, ck_service_t service)
{
    assert (self);
    assert (service > CK_SERVICE_NONE && service < CK_SERVICE_MAX);
    wait_t *wait = self->queues [service].head;
    if (!wait)
        return NULL;
    void *handle = wait->handle;
    s_wait_destroy (self, wait);
    return handle;
}


//  Removes the handle from whichever queue it waits in, if any.

void
dispatcher_cancel_wait (dispatcher_t *self, void *handle)
{
    assert (self);
    wait_t *wait = (wait_t *) zhashx_lookup (self->waits, handle);
    if (wait)
        s_wait_destroy (self, wait);
}


//  Number of handles waiting for the service; NONE for all.

size_t
dispatcher_waiting (dispatcher_t *self, ck_service_t service)
{
    assert (self);
    assert (service >= CK_SERVICE_NONE && service < CK_SERVICE_MAX);
    if (service != CK_SERVICE_NONE)
        return self->queues [service].size;
    return zhashx_size (self->waits);
}


//  Number of live workers of the service; NONE for all.

size_t
dispatcher_count (dispatcher_t *self, ck_service_t service)
{
    assert (self);
    assert (service >= CK_SERVICE_NONE && service < CK_SERVICE_MAX);
    if (service != CK_SERVICE_NONE)
        return self->rosters [service].size;
    return zhashx_size (self->by_routing_id);
}


//  Calls fn for every live worker, by service then age.

void
dispatcher_each (dispatcher_t *self,
                 void (*fn) (void *arg, dispatcher_worker_t *worker), void *arg)
{
    assert (self);
    assert (fn);
    for (int service = 0; service < CK_SERVICE_MAX; service++) {
        roster_t *roster = &self->rosters [service];
        for (size_t index = 0; index < roster->size; index++)
            fn (arg, &roster->items [index]->pub);
    }
}

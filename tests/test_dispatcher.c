/*  test_dispatcher.c - tests of the coordinator's dispatcher
    Joining, capacity, least loaded and round robin, removal, expiry, waits.
*/
#include <criterion/criterion.h>
#include <string.h>
#include "dispatcher.h"

TestSuite (dispatcher, .timeout = 30);

#define LIVENESS 3000

static char s_handles [5000];           //  distinct addresses as handles
#define H(index) ((void *) &s_handles [index])

//  What the callbacks saw
typedef struct {
    void *lost [5000];
    size_t lost_count;
    char gone [8][CK_ID_SIZE];
    size_t gone_count;
    dispatcher_t *dispatcher;           //  for callbacks that dispatch again
    dispatcher_worker_t *picked [5000]; //  where each lost handle went
} record_t;

static void
s_lost (void *arg, void *handle)
{
    record_t *record = (record_t *) arg;
    cr_assert_null (dispatcher_where (record->dispatcher, handle),
                    "a lost handle is no longer in flight");
    record->lost [record->lost_count++] = handle;
}

static void
s_gone (void *arg, const dispatcher_worker_t *worker)
{
    record_t *record = (record_t *) arg;
    strcpy (record->gone [record->gone_count++], worker->instance);
}

//  A lost callback that sends the handle on at once, as the coordinator does
static void
s_redispatch (void *arg, void *handle)
{
    record_t *record = (record_t *) arg;
    dispatcher_worker_t *worker = dispatcher_pick (record->dispatcher,
                                                   CK_SERVICE_PAYMENT);
    record->picked [record->lost_count] = worker;
    record->lost [record->lost_count++] = handle;
    if (worker)
        dispatcher_assign (record->dispatcher, worker, handle);
    else
        dispatcher_wait (record->dispatcher, CK_SERVICE_PAYMENT, handle);
}

static int
s_compare_handles (const void *one, const void *two)
{
    uintptr_t a = (uintptr_t) *(void * const *) one;
    uintptr_t b = (uintptr_t) *(void * const *) two;
    return (a > b) - (a < b);
}

static dispatcher_worker_t *
s_join (dispatcher_t *dispatcher, const char *routing_id, ck_service_t service,
        const char *instance, uint32_t capacity, int64_t now_ms)
{
    return dispatcher_join (dispatcher, routing_id, strlen (routing_id), service,
                            instance, capacity, now_ms, NULL, NULL, NULL);
}

Test (dispatcher, join_and_find)
{
    dispatcher_t *dispatcher = dispatcher_new (LIVENESS);
    dispatcher_worker_t *worker = s_join (dispatcher, "rid-a", CK_SERVICE_INVENTORY,
                                          "inventory-1", 16, 1000);
    cr_assert_not_null (worker);
    cr_assert_eq (worker->service, CK_SERVICE_INVENTORY);
    cr_assert_str_eq (worker->instance, "inventory-1");
    cr_assert_eq (worker->routing_id_size, 5);
    cr_assert_eq (memcmp (worker->routing_id, "rid-a", 5), 0);
    cr_assert_eq (worker->capacity, 16);
    cr_assert_eq (worker->load, 0);
    cr_assert_eq (worker->heard_ms, 1000);
    cr_assert_eq (worker->sent_ms, 1000);

    cr_assert_eq (dispatcher_find (dispatcher, "rid-a", 5), worker);
    cr_assert_null (dispatcher_find (dispatcher, "rid-b", 5));
    cr_assert_null (dispatcher_find (dispatcher, "rid-a", 4));
    cr_assert_null (dispatcher_find (dispatcher, "rid-a", 0));

    //  Binary routing ids, as libzmq makes them, with a zero byte inside
    const uint8_t binary [5] = { 0x00, 0x6b, 0x8b, 0x00, 0x45 };
    dispatcher_worker_t *other = dispatcher_join (dispatcher, binary, 5,
        CK_SERVICE_ORDER, "order-1", 4, 1000, NULL, NULL, NULL);
    cr_assert_not_null (other);
    cr_assert_eq (dispatcher_find (dispatcher, binary, 5), other);

    //  READY again from the same routing id: replaces, does not add
    dispatcher_worker_t *again = s_join (dispatcher, "rid-a", CK_SERVICE_INVENTORY,
                                         "inventory-1", 32, 2000);
    cr_assert_not_null (again);
    worker = again;
    cr_assert_eq (dispatcher_find (dispatcher, "rid-a", 5), worker);
    cr_assert_eq (worker->capacity, 32);
    cr_assert_eq (worker->heard_ms, 2000);
    cr_assert_eq (dispatcher_count (dispatcher, CK_SERVICE_INVENTORY), 1);
    cr_assert_eq (dispatcher_count (dispatcher, CK_SERVICE_NONE), 2);

    dispatcher_heard (dispatcher, worker, 2500);
    dispatcher_sent (dispatcher, worker, 2600);
    cr_assert_eq (worker->heard_ms, 2500);
    cr_assert_eq (worker->sent_ms, 2600);
    dispatcher_destroy (&dispatcher);
    cr_assert_null (dispatcher);
    dispatcher_destroy (&dispatcher);
}

Test (dispatcher, join_rejects_arguments_out_of_range)
{
    dispatcher_t *dispatcher = dispatcher_new (LIVENESS);
    char long_id [300];
    memset (long_id, 'x', sizeof long_id);
    char long_instance [CK_ID_SIZE + 1];
    memset (long_instance, 'i', sizeof long_instance - 1);
    long_instance [sizeof long_instance - 1] = 0;
    cr_assert_null (dispatcher_join (dispatcher, "r", 1, CK_SERVICE_NONE, "i", 1, 0, NULL, NULL, NULL));
    cr_assert_null (dispatcher_join (dispatcher, "r", 1, CK_SERVICE_COUNT, "i", 1, 0, NULL, NULL, NULL));
    cr_assert_null (dispatcher_join (dispatcher, "r", 1, CK_SERVICE_ORDER, "i", 0, 0, NULL, NULL, NULL));
    cr_assert_null (dispatcher_join (dispatcher, "r", 1, CK_SERVICE_ORDER, "i", 1025, 0, NULL, NULL, NULL));
    cr_assert_null (dispatcher_join (dispatcher, "r", 0, CK_SERVICE_ORDER, "i", 1, 0, NULL, NULL, NULL));
    cr_assert_null (dispatcher_join (dispatcher, long_id, 257, CK_SERVICE_ORDER, "i", 1, 0, NULL, NULL, NULL));
    cr_assert_null (dispatcher_join (dispatcher, "r", 1, CK_SERVICE_ORDER, "", 1, 0, NULL, NULL, NULL));
    cr_assert_null (dispatcher_join (dispatcher, "r", 1, CK_SERVICE_ORDER, long_instance, 1, 0, NULL, NULL, NULL));
    cr_assert_eq (dispatcher_count (dispatcher, CK_SERVICE_NONE), 0);
    //  The limits themselves are fine
    cr_assert_not_null (dispatcher_join (dispatcher, long_id, 256, CK_SERVICE_ORDER,
                                         "i", 1024, 0, NULL, NULL, NULL));
    dispatcher_destroy (&dispatcher);
}

Test (dispatcher, capacity_is_respected)
{
    dispatcher_t *dispatcher = dispatcher_new (LIVENESS);
    cr_assert_null (dispatcher_pick (dispatcher, CK_SERVICE_PAYMENT));
    dispatcher_worker_t *one = s_join (dispatcher, "a", CK_SERVICE_PAYMENT, "p1", 2, 0);
    dispatcher_worker_t *two = s_join (dispatcher, "b", CK_SERVICE_PAYMENT, "p2", 3, 0);
    s_join (dispatcher, "c", CK_SERVICE_ORDER, "o1", 100, 0);
    for (int index = 0; index < 5; index++) {
        dispatcher_worker_t *worker = dispatcher_pick (dispatcher, CK_SERVICE_PAYMENT);
        cr_assert_not_null (worker, "request %d", index);
        dispatcher_assign (dispatcher, worker, H (index));
    }
    cr_assert_eq (one->load, 2);
    cr_assert_eq (two->load, 3);
    cr_assert_null (dispatcher_pick (dispatcher, CK_SERVICE_PAYMENT));
    cr_assert_null (dispatcher_pick (dispatcher, CK_SERVICE_INVENTORY));
    cr_assert_not_null (dispatcher_pick (dispatcher, CK_SERVICE_ORDER));

    //  Unassign frees a slot where the handle was
    dispatcher_worker_t *where = dispatcher_where (dispatcher, H (0));
    cr_assert_not_null (where);
    cr_assert_eq (dispatcher_unassign (dispatcher, H (0)), where);
    cr_assert_null (dispatcher_where (dispatcher, H (0)));
    cr_assert_null (dispatcher_unassign (dispatcher, H (0)));
    cr_assert_eq (dispatcher_pick (dispatcher, CK_SERVICE_PAYMENT), where);
    cr_assert_eq (one->load + two->load, 4);

    //  A new READY is a new connection: the old one's load is gone with
    //  it (ready_again_under_the_same_routing_id_frees_its_load) and the
    //  new capacity holds at once
    two = s_join (dispatcher, "b", CK_SERVICE_PAYMENT, "p2", 1, 0);
    cr_assert_not_null (two);
    cr_assert_eq (two->load, 0);
    for (int index = 1; index < 5; index++)
        dispatcher_unassign (dispatcher, H (index));
    cr_assert_eq (one->load + two->load, 0);
    dispatcher_assign (dispatcher, two, H (10));
    dispatcher_assign (dispatcher, one, H (11));
    dispatcher_assign (dispatcher, one, H (12));
    cr_assert_null (dispatcher_pick (dispatcher, CK_SERVICE_PAYMENT));
    dispatcher_destroy (&dispatcher);
}

//  A superseded request keeps its slot until its instance answers it
Test (dispatcher, an_orphaned_request_keeps_its_slot_until_answered)
{
    dispatcher_t *dispatcher = dispatcher_new (LIVENESS);
    record_t *record = (record_t *) calloc (1, sizeof (record_t));
    record->dispatcher = dispatcher;
    dispatcher_worker_t *one = s_join (dispatcher, "a", CK_SERVICE_PAYMENT, "p1", 2, 0);
    uint64_t first = dispatcher_assign (dispatcher, one, H (0));
    uint64_t second = dispatcher_assign (dispatcher, one, H (1));
    cr_assert_gt (second, first, "assignments are numbered in order");
    //  H (0) timed out and is retried: the instance still holds attempt 1
    dispatcher_orphan (dispatcher, H (0), "saga-0/3/1", first, 5000);
    cr_assert_null (dispatcher_where (dispatcher, H (0)));
    cr_assert_eq (one->load, 2, "the orphan still takes its slot");
    cr_assert_null (dispatcher_pick (dispatcher, CK_SERVICE_PAYMENT), "no room for the retry");
    dispatcher_orphan (dispatcher, H (0), "saga-0/3/1", first, 5000);
    cr_assert_eq (one->load, 2, "not in flight: nothing to orphan");
    cr_assert_not (dispatcher_release (dispatcher, one, "saga-0/3/2"), "not that one");
    cr_assert (dispatcher_release (dispatcher, one, "saga-0/3/1"));
    cr_assert_eq (one->load, 1);
    cr_assert_not (dispatcher_release (dispatcher, one, "saga-0/3/1"), "released once");
    cr_assert_eq (dispatcher_pick (dispatcher, CK_SERVICE_PAYMENT), one);

    //  Orphans go with their instance; they are not lost requests
    dispatcher_orphan (dispatcher, H (1), "saga-1/3/1", second, 5000);
    dispatcher_remove (dispatcher, one, s_lost, record);
    cr_assert_eq (record->lost_count, 0);
    free (record);
    dispatcher_destroy (&dispatcher);
}

//  A request or its answer lost on the way: the orphan's slot comes back
//  when the instance answers a request sent after it (it answers in
//  order), or, with nothing else to answer, when the orphan expires
Test (dispatcher, an_orphan_whose_answer_never_comes_frees_its_slot)
{
    dispatcher_t *dispatcher = dispatcher_new (LIVENESS);
    dispatcher_worker_t *one = s_join (dispatcher, "a", CK_SERVICE_ORDER, "o1", 3, 0);
    uint64_t n0 = dispatcher_assign (dispatcher, one, H (0));
    uint64_t n1 = dispatcher_assign (dispatcher, one, H (1));
    dispatcher_orphan (dispatcher, H (0), "saga-0/4/1", n0, 5000);
    dispatcher_orphan (dispatcher, H (1), "saga-1/4/1", n1, 6000);
    uint64_t n2 = dispatcher_assign (dispatcher, one, H (2));
    cr_assert_eq (one->load, 3);
    cr_assert_eq (dispatcher_release_before (dispatcher, one, n1), 1, "only what came before");
    cr_assert_eq (one->load, 2);
    cr_assert_not (dispatcher_release (dispatcher, one, "saga-0/4/1"),
                   "its late answer frees nothing more");
    cr_assert_eq (dispatcher_unassign (dispatcher, H (2)), one);
    cr_assert_eq (dispatcher_release_before (dispatcher, one, n2), 1);
    cr_assert_eq (one->load, 0);

    //  Nothing after it: the orphan waits for its expiry
    uint64_t n3 = dispatcher_assign (dispatcher, one, H (3));
    dispatcher_orphan (dispatcher, H (3), "saga-3/4/1", n3, 7000);
    cr_assert_eq (dispatcher_expire_orphans (dispatcher, 6999), 0);
    cr_assert_eq (one->load, 1);
    cr_assert_eq (dispatcher_expire_orphans (dispatcher, 7000), 1);
    cr_assert_eq (one->load, 0);
    cr_assert_eq (dispatcher_expire_orphans (dispatcher, 100000), 0);
    dispatcher_destroy (&dispatcher);
}

Test (dispatcher, least_loaded_first)
{
    dispatcher_t *dispatcher = dispatcher_new (LIVENESS);
    dispatcher_worker_t *one = s_join (dispatcher, "a", CK_SERVICE_INVENTORY, "i1", 10, 0);
    dispatcher_worker_t *two = s_join (dispatcher, "b", CK_SERVICE_INVENTORY, "i2", 10, 0);
    dispatcher_worker_t *three = s_join (dispatcher, "c", CK_SERVICE_INVENTORY, "i3", 10, 0);
    for (int index = 0; index < 4; index++)
        dispatcher_assign (dispatcher, one, H (index));
    for (int index = 4; index < 6; index++)
        dispatcher_assign (dispatcher, two, H (index));
    for (int index = 6; index < 9; index++)
        dispatcher_assign (dispatcher, three, H (index));
    cr_assert_eq (dispatcher_pick (dispatcher, CK_SERVICE_INVENTORY), two);
    dispatcher_assign (dispatcher, two, H (9));
    //  two and three now both have 3: three was assigned to longer ago
    cr_assert_eq (dispatcher_pick (dispatcher, CK_SERVICE_INVENTORY), three);
    dispatcher_unassign (dispatcher, H (0));
    dispatcher_unassign (dispatcher, H (1));
    cr_assert_eq (dispatcher_pick (dispatcher, CK_SERVICE_INVENTORY), one);

    //  Loads stay balanced under a steady stream
    for (int index = 100; index < 110; index++)
        dispatcher_assign (dispatcher, dispatcher_pick (dispatcher, CK_SERVICE_INVENTORY),
                           H (index));
    cr_assert_eq (one->load, 6);
    cr_assert_eq (two->load, 6);
    cr_assert_eq (three->load, 6);
    dispatcher_destroy (&dispatcher);
}

Test (dispatcher, round_robin_among_equal_load)
{
    dispatcher_t *dispatcher = dispatcher_new (LIVENESS);
    dispatcher_worker_t *workers [3] = {
        s_join (dispatcher, "a", CK_SERVICE_ORDER, "o1", 4, 0),
        s_join (dispatcher, "b", CK_SERVICE_ORDER, "o2", 4, 0),
        s_join (dispatcher, "c", CK_SERVICE_ORDER, "o3", 4, 0) };
    //  One request at a time, each answered before the next: load stays
    //  zero everywhere, and the instances take turns
    int used [3] = { 0, 0, 0 };
    dispatcher_worker_t *previous = NULL;
    for (int index = 0; index < 30; index++) {
        dispatcher_worker_t *worker = dispatcher_pick (dispatcher, CK_SERVICE_ORDER);
        cr_assert_neq (worker, previous, "request %d went to the same instance", index);
        dispatcher_assign (dispatcher, worker, H (index));
        cr_assert_eq (dispatcher_unassign (dispatcher, H (index)), worker);
        for (int which = 0; which < 3; which++)
            used [which] += workers [which] == worker;
        previous = worker;
    }
    cr_assert_eq (used [0], 10);
    cr_assert_eq (used [1], 10);
    cr_assert_eq (used [2], 10);
    dispatcher_destroy (&dispatcher);
}

Test (dispatcher, remove_reports_exactly_its_handles)
{
    dispatcher_t *dispatcher = dispatcher_new (LIVENESS);
    record_t *record = (record_t *) calloc (1, sizeof (record_t));
    record->dispatcher = dispatcher;
    dispatcher_worker_t *one = s_join (dispatcher, "a", CK_SERVICE_PAYMENT, "p1", 1024, 0);
    dispatcher_worker_t *two = s_join (dispatcher, "b", CK_SERVICE_PAYMENT, "p2", 1024, 0);
    //  Thousands in flight, alternating
    for (int index = 0; index < 2000; index++)
        dispatcher_assign (dispatcher, index % 2? two: one, H (index));
    for (int index = 0; index < 2000; index += 4)
        dispatcher_unassign (dispatcher, H (index));    //  some answered
    cr_assert_eq (one->load, 500);

    dispatcher_remove (dispatcher, one, s_lost, record);
    cr_assert_eq (record->lost_count, 500);
    qsort (record->lost, record->lost_count, sizeof (void *), s_compare_handles);
    for (size_t index = 0; index < 500; index++)
        cr_assert_eq (record->lost [index], H (index * 4 + 2));
    cr_assert_null (dispatcher_find (dispatcher, "a", 1));
    cr_assert_eq (dispatcher_count (dispatcher, CK_SERVICE_PAYMENT), 1);
    cr_assert_eq (two->load, 1000);
    for (int index = 1; index < 2000; index += 2)
        cr_assert_eq (dispatcher_where (dispatcher, H (index)), two);

    //  Removing a worker with nothing in flight reports nothing
    dispatcher_worker_t *idle = s_join (dispatcher, "c", CK_SERVICE_PAYMENT, "p3", 5, 0);
    dispatcher_remove (dispatcher, idle, s_lost, record);
    cr_assert_eq (record->lost_count, 500);
    free (record);
    dispatcher_destroy (&dispatcher);
}

Test (dispatcher, lost_handles_can_be_sent_on_at_once)
{
    dispatcher_t *dispatcher = dispatcher_new (LIVENESS);
    record_t *record = (record_t *) calloc (1, sizeof (record_t));
    record->dispatcher = dispatcher;
    dispatcher_worker_t *one = s_join (dispatcher, "a", CK_SERVICE_PAYMENT, "p1", 3, 0);
    dispatcher_worker_t *two = s_join (dispatcher, "b", CK_SERVICE_PAYMENT, "p2", 2, 0);
    for (int index = 0; index < 3; index++)
        dispatcher_assign (dispatcher, one, H (index));
    dispatcher_remove (dispatcher, one, s_redispatch, record);
    //  The removed worker is never picked; what does not fit waits
    cr_assert_eq (record->lost_count, 3);
    cr_assert_eq (record->picked [0], two);
    cr_assert_eq (record->picked [1], two);
    cr_assert_null (record->picked [2]);
    cr_assert_eq (two->load, 2);
    cr_assert_eq (dispatcher_waiting (dispatcher, CK_SERVICE_PAYMENT), 1);
    cr_assert_eq (dispatcher_next_waiting (dispatcher, CK_SERVICE_PAYMENT),
                  record->lost [2]);
    free (record);
    dispatcher_destroy (&dispatcher);
}

//  An instance name belongs to its live connection: a READY claiming it
//  from another routing id is refused and changes nothing, until the
//  holder is removed
Test (dispatcher, ready_under_a_new_routing_id_is_refused_while_the_instance_lives)
{
    dispatcher_t *dispatcher = dispatcher_new (LIVENESS);
    record_t *record = (record_t *) calloc (1, sizeof (record_t));
    record->dispatcher = dispatcher;
    dispatcher_worker_t *old = s_join (dispatcher, "old", CK_SERVICE_ORDER, "order-7", 8, 0);
    dispatcher_worker_t *other = s_join (dispatcher, "x", CK_SERVICE_ORDER, "order-8", 8, 0);
    dispatcher_assign (dispatcher, old, H (1));
    dispatcher_assign (dispatcher, old, H (2));
    dispatcher_assign (dispatcher, other, H (3));

    cr_assert_null (dispatcher_join (dispatcher, "new", 3, CK_SERVICE_ORDER,
        "order-7", 4, 500, s_lost, s_gone, record), "a live instance keeps its name");
    cr_assert_eq (record->gone_count, 0);
    cr_assert_eq (record->lost_count, 0);
    cr_assert_eq (dispatcher_find (dispatcher, "old", 3), old);
    cr_assert_null (dispatcher_find (dispatcher, "new", 3));
    cr_assert_eq (dispatcher_instance (dispatcher, CK_SERVICE_ORDER, "order-7"), old);
    cr_assert_eq (dispatcher_where (dispatcher, H (1)), old);
    cr_assert_eq (dispatcher_count (dispatcher, CK_SERVICE_ORDER), 2);

    //  Once the holder is gone, the name is free
    dispatcher_remove (dispatcher, old, s_lost, record);
    cr_assert_eq (record->lost_count, 2);
    dispatcher_worker_t *fresh = dispatcher_join (dispatcher, "new", 3, CK_SERVICE_ORDER,
        "order-7", 4, 500, s_lost, s_gone, record);
    cr_assert_not_null (fresh);
    cr_assert_eq (fresh->load, 0);
    cr_assert_eq (fresh->capacity, 4);
    cr_assert_eq (dispatcher_instance (dispatcher, CK_SERVICE_ORDER, "order-7"), fresh);
    cr_assert_eq (dispatcher_where (dispatcher, H (3)), other);

    //  The same instance name in another service is another instance
    s_join (dispatcher, "inv", CK_SERVICE_INVENTORY, "order-7", 4, 500);
    cr_assert_eq (dispatcher_find (dispatcher, "new", 3), fresh);
    cr_assert_eq (dispatcher_count (dispatcher, CK_SERVICE_NONE), 3);

    //  A routing id reused by another instance replaces what it was
    dispatcher_assign (dispatcher, fresh, H (4));
    dispatcher_worker_t *reused = dispatcher_join (dispatcher, "new", 3,
        CK_SERVICE_PAYMENT, "payment-1", 4, 600, s_lost, s_gone, record);
    cr_assert_eq (reused->service, CK_SERVICE_PAYMENT);
    cr_assert_eq (record->gone_count, 1);
    cr_assert_str_eq (record->gone [0], "order-7");
    cr_assert_eq (record->lost_count, 3);
    cr_assert_eq (record->lost [2], H (4));
    cr_assert_eq (dispatcher_count (dispatcher, CK_SERVICE_ORDER), 1);
    cr_assert_eq (dispatcher_count (dispatcher, CK_SERVICE_PAYMENT), 1);
    cr_assert_null (dispatcher_instance (dispatcher, CK_SERVICE_MAX, "x"));
    free (record);
    dispatcher_destroy (&dispatcher);
}

//  A process restarted under the same instance name reconnects under the
//  same routing id before the old one was found dead: its READY frees
//  what was in flight at the old process at once
Test (dispatcher, ready_again_under_the_same_routing_id_frees_its_load)
{
    dispatcher_t *dispatcher = dispatcher_new (LIVENESS);
    record_t *record = (record_t *) calloc (1, sizeof (record_t));
    record->dispatcher = dispatcher;
    dispatcher_worker_t *old = s_join (dispatcher, "pay-1/0/1", CK_SERVICE_PAYMENT,
                                       "pay-1", 2, 0);
    dispatcher_assign (dispatcher, old, H (1));
    dispatcher_assign (dispatcher, old, H (2));
    cr_assert_null (dispatcher_pick (dispatcher, CK_SERVICE_PAYMENT), "full");

    dispatcher_worker_t *fresh = dispatcher_join (dispatcher, "pay-1/0/1", 9,
        CK_SERVICE_PAYMENT, "pay-1", 2, 100, s_lost, s_gone, record);
    cr_assert_not_null (fresh);
    cr_assert_eq (record->gone_count, 1, "the old process is reported gone");
    cr_assert_eq (record->lost_count, 2, "its requests are lost at once");
    qsort (record->lost, record->lost_count, sizeof (void *), s_compare_handles);
    cr_assert_eq (record->lost [0], H (1));
    cr_assert_eq (record->lost [1], H (2));
    cr_assert_eq (fresh->load, 0);
    cr_assert_eq (dispatcher_pick (dispatcher, CK_SERVICE_PAYMENT), fresh, "free again");
    cr_assert_eq (dispatcher_count (dispatcher, CK_SERVICE_PAYMENT), 1);
    free (record);
    dispatcher_destroy (&dispatcher);
}

//  A new capacity on the same connection keeps what is in flight: a
//  capacity below the load passes the worker over until it drops under it
Test (dispatcher, set_capacity_keeps_the_load)
{
    dispatcher_t *dispatcher = dispatcher_new (LIVENESS);
    dispatcher_worker_t *worker = s_join (dispatcher, "pay-1/0/1", CK_SERVICE_PAYMENT,
                                          "pay-1", 3, 0);
    for (int index = 0; index < 3; index++)
        dispatcher_assign (dispatcher, worker, H (index));
    cr_assert_null (dispatcher_pick (dispatcher, CK_SERVICE_PAYMENT), "full");

    cr_assert_eq (dispatcher_set_capacity (dispatcher, worker, 4), 0);
    cr_assert_eq (worker->capacity, 4);
    cr_assert_eq (worker->load, 3);
    cr_assert_eq (dispatcher_find (dispatcher, "pay-1/0/1", 9), worker, "the same worker");
    for (int index = 0; index < 3; index++)
        cr_assert_eq (dispatcher_where (dispatcher, H (index)), worker);
    cr_assert_eq (dispatcher_pick (dispatcher, CK_SERVICE_PAYMENT), worker, "room for one");
    dispatcher_assign (dispatcher, worker, H (3));
    cr_assert_null (dispatcher_pick (dispatcher, CK_SERVICE_PAYMENT));

    //  Shrunk to 2 under a load of 4: nothing until two answers are in
    cr_assert_eq (dispatcher_set_capacity (dispatcher, worker, 2), 0);
    cr_assert_eq (worker->load, 4);
    cr_assert_null (dispatcher_pick (dispatcher, CK_SERVICE_PAYMENT));
    dispatcher_unassign (dispatcher, H (0));
    cr_assert_null (dispatcher_pick (dispatcher, CK_SERVICE_PAYMENT), "load 3 of 2");
    dispatcher_unassign (dispatcher, H (1));
    cr_assert_null (dispatcher_pick (dispatcher, CK_SERVICE_PAYMENT), "load 2 of 2");
    dispatcher_unassign (dispatcher, H (2));
    cr_assert_eq (dispatcher_pick (dispatcher, CK_SERVICE_PAYMENT), worker, "load 1 of 2");

    //  Out of range: refused, nothing changes
    cr_assert_eq (dispatcher_set_capacity (dispatcher, worker, 0), -1);
    cr_assert_eq (dispatcher_set_capacity (dispatcher, worker, CK_MAX_CAPACITY + 1), -1);
    cr_assert_eq (worker->capacity, 2);
    cr_assert_eq (dispatcher_count (dispatcher, CK_SERVICE_PAYMENT), 1);
    dispatcher_destroy (&dispatcher);
}

Test (dispatcher, expiry_by_liveness)
{
    dispatcher_t *dispatcher = dispatcher_new (LIVENESS);
    record_t *record = (record_t *) calloc (1, sizeof (record_t));
    record->dispatcher = dispatcher;
    cr_assert_eq (dispatcher_next_expiry (dispatcher), INT64_MAX);
    dispatcher_worker_t *quiet = s_join (dispatcher, "a", CK_SERVICE_PAYMENT, "quiet", 4, 1000);
    dispatcher_worker_t *chatty = s_join (dispatcher, "b", CK_SERVICE_PAYMENT, "chatty", 4, 1000);
    dispatcher_worker_t *late = s_join (dispatcher, "c", CK_SERVICE_INVENTORY, "late", 4, 2500);
    dispatcher_assign (dispatcher, quiet, H (1));
    dispatcher_assign (dispatcher, chatty, H (2));
    cr_assert_eq (dispatcher_next_expiry (dispatcher), 1000 + LIVENESS);
    dispatcher_heard (dispatcher, chatty, 2000);
    cr_assert_eq (dispatcher_next_expiry (dispatcher), 1000 + LIVENESS);

    //  Just before its time nothing goes
    cr_assert_eq (dispatcher_expire (dispatcher, 1000 + LIVENESS - 1, s_lost, s_gone, record), 0);
    cr_assert_eq (dispatcher_count (dispatcher, CK_SERVICE_NONE), 3);
    //  At its time the quiet one goes, with its handle
    cr_assert_eq (dispatcher_expire (dispatcher, 1000 + LIVENESS, s_lost, s_gone, record), 1);
    cr_assert_eq (record->gone_count, 1);
    cr_assert_str_eq (record->gone [0], "quiet");
    cr_assert_eq (record->lost_count, 1);
    cr_assert_eq (record->lost [0], H (1));
    cr_assert_null (dispatcher_find (dispatcher, "a", 1));
    cr_assert_eq (dispatcher_where (dispatcher, H (2)), chatty);
    cr_assert_eq (dispatcher_next_expiry (dispatcher), 2000 + LIVENESS);

    //  Later, both others at once
    cr_assert_eq (dispatcher_expire (dispatcher, 10000, s_lost, s_gone, record), 2);
    cr_assert_eq (record->gone_count, 3);
    cr_assert_eq (record->lost_count, 2);
    cr_assert_eq (record->lost [1], H (2));
    cr_assert_eq (dispatcher_count (dispatcher, CK_SERVICE_NONE), 0);
    cr_assert_eq (dispatcher_next_expiry (dispatcher), INT64_MAX);
    (void) late;

    //  NULL callbacks are allowed
    dispatcher_worker_t *worker = s_join (dispatcher, "d", CK_SERVICE_ORDER, "o", 4, 0);
    dispatcher_assign (dispatcher, worker, H (3));
    cr_assert_eq (dispatcher_expire (dispatcher, LIVENESS, NULL, NULL, NULL), 1);
    cr_assert_null (dispatcher_where (dispatcher, H (3)));
    free (record);
    dispatcher_destroy (&dispatcher);
}

Test (dispatcher, waits_are_fifo_and_cancellable)
{
    dispatcher_t *dispatcher = dispatcher_new (LIVENESS);
    cr_assert_null (dispatcher_next_waiting (dispatcher, CK_SERVICE_INVENTORY));
    for (int index = 0; index < 10; index++)
        dispatcher_wait (dispatcher, CK_SERVICE_INVENTORY, H (index));
    dispatcher_wait (dispatcher, CK_SERVICE_ORDER, H (100));
    cr_assert_eq (dispatcher_waiting (dispatcher, CK_SERVICE_INVENTORY), 10);
    cr_assert_eq (dispatcher_waiting (dispatcher, CK_SERVICE_ORDER), 1);
    cr_assert_eq (dispatcher_waiting (dispatcher, CK_SERVICE_PAYMENT), 0);
    cr_assert_eq (dispatcher_waiting (dispatcher, CK_SERVICE_NONE), 11);

    dispatcher_cancel_wait (dispatcher, H (0));     //  head
    dispatcher_cancel_wait (dispatcher, H (5));     //  middle
    dispatcher_cancel_wait (dispatcher, H (9));     //  tail
    dispatcher_cancel_wait (dispatcher, H (9));     //  twice: no-op
    dispatcher_cancel_wait (dispatcher, H (100));
    dispatcher_cancel_wait (dispatcher, H (200));   //  never waited
    cr_assert_eq (dispatcher_waiting (dispatcher, CK_SERVICE_INVENTORY), 7);
    cr_assert_eq (dispatcher_waiting (dispatcher, CK_SERVICE_ORDER), 0);
    cr_assert_null (dispatcher_next_waiting (dispatcher, CK_SERVICE_ORDER));

    int expected [] = { 1, 2, 3, 4, 6, 7, 8 };
    for (int index = 0; index < 7; index++)
        cr_assert_eq (dispatcher_next_waiting (dispatcher, CK_SERVICE_INVENTORY),
                      H (expected [index]));
    cr_assert_null (dispatcher_next_waiting (dispatcher, CK_SERVICE_INVENTORY));
    cr_assert_eq (dispatcher_waiting (dispatcher, CK_SERVICE_NONE), 0);

    //  A handle can wait again once it left the queue
    dispatcher_wait (dispatcher, CK_SERVICE_INVENTORY, H (1));
    dispatcher_wait (dispatcher, CK_SERVICE_INVENTORY, H (2));
    cr_assert_eq (dispatcher_next_waiting (dispatcher, CK_SERVICE_INVENTORY), H (1));
    //  Destroy frees what still waits (ASan checks)
    dispatcher_destroy (&dispatcher);
}

Test (dispatcher, thousands_waiting)
{
    dispatcher_t *dispatcher = dispatcher_new (LIVENESS);
    for (int index = 0; index < 5000; index++)
        dispatcher_wait (dispatcher, CK_SERVICE_PAYMENT, H (index));
    for (int index = 1; index < 5000; index += 2)
        dispatcher_cancel_wait (dispatcher, H (index));
    cr_assert_eq (dispatcher_waiting (dispatcher, CK_SERVICE_PAYMENT), 2500);
    for (int index = 0; index < 5000; index += 2)
        cr_assert_eq (dispatcher_next_waiting (dispatcher, CK_SERVICE_PAYMENT), H (index));
    cr_assert_eq (dispatcher_waiting (dispatcher, CK_SERVICE_PAYMENT), 0);
    dispatcher_destroy (&dispatcher);
}

static void
s_count_load (void *arg, dispatcher_worker_t *worker)
{
    uint32_t *totals = (uint32_t *) arg;
    totals [worker->service] += worker->load;
    totals [0]++;
}

Test (dispatcher, counts_and_iteration)
{
    dispatcher_t *dispatcher = dispatcher_new (LIVENESS);
    cr_assert_eq (dispatcher_count (dispatcher, CK_SERVICE_NONE), 0);
    dispatcher_worker_t *one = s_join (dispatcher, "a", CK_SERVICE_INVENTORY, "i1", 8, 0);
    s_join (dispatcher, "b", CK_SERVICE_INVENTORY, "i2", 8, 0);
    dispatcher_worker_t *three = s_join (dispatcher, "c", CK_SERVICE_PAYMENT, "p1", 8, 0);
    s_join (dispatcher, "d", CK_SERVICE_ORDER, "o1", 8, 0);
    cr_assert_eq (dispatcher_count (dispatcher, CK_SERVICE_INVENTORY), 2);
    cr_assert_eq (dispatcher_count (dispatcher, CK_SERVICE_PAYMENT), 1);
    cr_assert_eq (dispatcher_count (dispatcher, CK_SERVICE_ORDER), 1);
    cr_assert_eq (dispatcher_count (dispatcher, CK_SERVICE_NONE), 4);
    dispatcher_assign (dispatcher, one, H (1));
    dispatcher_assign (dispatcher, one, H (2));
    dispatcher_assign (dispatcher, three, H (3));

    uint32_t totals [CK_SERVICE_COUNT] = { 0 };
    dispatcher_each (dispatcher, s_count_load, totals);
    cr_assert_eq (totals [0], 4);           //  workers visited
    cr_assert_eq (totals [CK_SERVICE_INVENTORY], 2);
    cr_assert_eq (totals [CK_SERVICE_PAYMENT], 1);
    cr_assert_eq (totals [CK_SERVICE_ORDER], 0);

    dispatcher_remove (dispatcher, one, NULL, NULL);
    cr_assert_eq (dispatcher_count (dispatcher, CK_SERVICE_INVENTORY), 1);
    cr_assert_eq (dispatcher_count (dispatcher, CK_SERVICE_NONE), 3);
    cr_assert_null (dispatcher_where (dispatcher, H (1)));
    dispatcher_destroy (&dispatcher);
}

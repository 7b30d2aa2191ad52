/*  test_e2e_lock_wait.c - instances that wait for their shared file's lock
    Two inventory instances share one SQLite file.  While something else
    holds its write lock, the instances wait inside a statement; they must
    go on heartbeating, so that the coordinator does not declare them dead,
    and finish their requests once the lock is free.
*/
#include <criterion/criterion.h>
#include "e2e_helpers.h"

#define READY_MS    30000
#define DONE_MS     60000
#define HOLD_MS     3000                //  3 liveness periods (200 ms x 5)

static e2e_group_t s_group;
static e2e_book_t s_book;
static sqlite3 *s_holder;

static void
s_init (void)
{
    cr_assert_eq (e2e_group_init (&s_group, "ck-e2e-lock"), 0, "no temp dir");
}

static void
s_fini (void)
{
    sqlite3_close (s_holder);
    e2e_book_fini (&s_book);
    e2e_group_fini (&s_group);
}

TestSuite (e2e_lock_wait, .init = s_init, .fini = s_fini, .timeout = 120);

//  Counts worker.lost events for inventory instances that arrive on sub
//  within ms
static int
s_inventory_lost (zsock_t *sub, int ms)
{
    int lost = 0;
    int64_t end = ph_now_ms () + ms;
    while (ph_now_ms () < end) {
        zsock_set_rcvtimeo (sub, (int) (end - ph_now_ms ()));
        zmsg_t *msg = zmsg_recv (sub);
        if (!msg)
            break;
        ck_ev_worker_t worker;
        ck_decode_error_t err;
        zframe_t *body = zmsg_last (msg);
        if (ck_decode_ev_worker (zframe_data (body), zframe_size (body), &worker, &err) == 0
        &&  worker.service == CK_SERVICE_INVENTORY)
            lost++;
        zmsg_destroy (&msg);
    }
    return lost;
}

Test (e2e_lock_wait, instances_waiting_for_the_lock_stay_alive)
{
    cr_assert_geq (e2e_start_coordinator (&s_group, NULL), 0);
    cr_assert_geq (e2e_start_participant (&s_group, "inventory", "inventory-1", NULL), 0);
    cr_assert_geq (e2e_start_participant (&s_group, "inventory", "inventory-2", NULL), 0);
    cr_assert_geq (e2e_start_participant (&s_group, "payment", "payment-1", NULL), 0);
    cr_assert_geq (e2e_start_participant (&s_group, "order", "order-1", NULL), 0);
    cr_assert_eq (e2e_wait_ready (&s_group, 2, 1, 1, READY_MS), 0,
                  "the group did not come up (logs in %s)", s_group.dir);
    zsock_t *lost = e2e_keep (&s_group, zsock_new_sub (s_group.events, "worker.lost"));
    cr_assert_not_null (lost);

    //  take the inventory file's write lock, as a stuck instance would
    char path [PATH_MAX];
    e2e_path (&s_group, "inventory.db", path, sizeof path);
    cr_assert_eq (sqlite3_open (path, &s_holder), SQLITE_OK);
    sqlite3_busy_timeout (s_holder, 10000);
    cr_assert_eq (sqlite3_exec (s_holder, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK,
                  "%s", sqlite3_errmsg (s_holder));

    ck_client_t *client = e2e_client (&s_group);
    cr_assert_not_null (client);
    cr_assert_eq (e2e_book_init (&s_book, 8), 0);
    cr_assert_eq (e2e_send_range (client, 0, 8, false), 8);
    int lost_while_held = s_inventory_lost (lost, HOLD_MS);
    cr_assert_eq (sqlite3_exec (s_holder, "COMMIT", NULL, NULL, NULL), SQLITE_OK);

    cr_assert_eq (e2e_book_wait (client, &s_book, e2e_all_terminal, DONE_MS), 0,
                  "%zu of 8 checkouts ended", s_book.terminal);
    cr_assert_eq (lost_while_held, 0, "inventory instances declared dead %d times while "
                  "they waited for the lock", lost_while_held);
    cr_assert_eq (s_inventory_lost (lost, 500), 0, "declared dead after the wait");
    char first [E2E_PROBLEM_SIZE] = "";
    cr_assert_eq (e2e_check_plan (&s_book, first), 0, "%s", first);
}

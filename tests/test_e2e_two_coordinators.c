/*  test_e2e_two_coordinators.c - one checkout sent to two coordinators
    Two coordinators on separate SQLite logs, one set of participants: one saga only.

    Each coordinator keeps its own sagas, so the same CHECKOUT sent to both
    starts two sagas; the participants' ledgers let the first through and
    refuse the second "duplicate_checkout", which the coordinator then fails
    and compensates.  The participants also split their capacity between
    the two coordinators.
*/
#include <criterion/criterion.h>
#include "e2e_helpers.h"

//  Generous bounds: the ASan build is several times slower
#define READY_MS    30000
#define REPLY_MS    30000

//  Each participant's capacity: 4 to the first coordinator, 3 to the second
#define CAPACITY    "7"

typedef struct {
    const char *frontend, *events;
    zsock_t *stats;                     //  SUB to its "stats"
} second_t;

static e2e_group_t s_group;
static e2e_dbs_t s_dbs;
static char s_frontend2 [128], s_backend2 [128], s_events2 [128];

static void
s_init (void)
{
    cr_assert_eq (e2e_group_init (&s_group, "ck-e2e2c"), 0, "no temp dir");
    snprintf (s_frontend2, sizeof s_frontend2, "ipc://%s/fe2", s_group.dir);
    snprintf (s_backend2, sizeof s_backend2, "ipc://%s/be2", s_group.dir);
    snprintf (s_events2, sizeof s_events2, "ipc://%s/ev2", s_group.dir);
}

static void
s_fini (void)
{
    e2e_dbs_close (&s_dbs);
    e2e_group_fini (&s_group);
}

TestSuite (e2e_two_coordinators, .init = s_init, .fini = s_fini, .timeout = 120);

//  The second coordinator: its own endpoints and its own log
static int
s_start_second (void)
{
    char db [PATH_MAX], heartbeat [16], liveness [16];
    e2e_path (&s_group, "coordinator-2.db", db, sizeof db);
    snprintf (heartbeat, sizeof heartbeat, "%d", s_group.heartbeat_ms);
    snprintf (liveness, sizeof liveness, "%d", s_group.liveness);
    const char *args [] = {
        "--frontend", s_frontend2, "--backend", s_backend2, "--events", s_events2,
        "--db", db, "--heartbeat-ms", heartbeat, "--liveness", liveness, NULL
    };
    return e2e_spawn (&s_group, "coordinator-2", "checkout-coordinator", args);
}

//  A client of the second coordinator, destroyed with the group
static ck_client_t *
s_client_second (void)
{
    for (int i = 0; i < E2E_MAX_CLIENTS; i++)
        if (!s_group.clients [i])
            return s_group.clients [i] = ck_client_new (s_frontend2);
    return NULL;
}

//  The capacity a stats event shows for service, summed over its workers
static uint32_t
s_capacity (const ck_ev_stats_t *stats, ck_service_t service)
{
    uint32_t capacity = 0;
    for (uint32_t i = 0; i < stats->worker_count; i++)
        if (stats->workers [i].service == service)
            capacity += stats->workers [i].capacity;
    return capacity;
}

//  Waits until sub's coordinator shows one instance of each service;
//  returns that stats event
static ck_ev_stats_t
s_wait_workers (zsock_t *sub)
{
    ck_ev_stats_t stats;
    int64_t deadline = ph_now_ms () + READY_MS;
    while (ph_now_ms () < deadline) {
        cr_assert_eq (e2e_sub_next_stats (sub, &stats, (int) (deadline - ph_now_ms ())), 0,
                      "no stats (logs in %s)", s_group.dir);
        if (e2e_stats_workers (&stats, CK_SERVICE_INVENTORY) == 1
        &&  e2e_stats_workers (&stats, CK_SERVICE_PAYMENT) == 1
        &&  e2e_stats_workers (&stats, CK_SERVICE_ORDER) == 1)
            return stats;
    }
    cr_assert_fail ("the participants did not join (logs in %s)", s_group.dir);
    return stats;
}

//  Starts both coordinators and one instance of each participant connected
//  to both; returns each coordinator's stats once every service is there
static void
s_start (ck_ev_stats_t *first, ck_ev_stats_t *second)
{
    cr_assert_geq (e2e_start_coordinator (&s_group, NULL), 0);
    cr_assert_geq (s_start_second (), 0);
    const char *extra [] = { "--coordinator", s_backend2, "--capacity", CAPACITY, NULL };
    cr_assert_geq (e2e_start_participant (&s_group, "inventory", "inventory-1", extra), 0);
    cr_assert_geq (e2e_start_participant (&s_group, "payment", "payment-1", extra), 0);
    cr_assert_geq (e2e_start_participant (&s_group, "order", "order-1", extra), 0);
    zsock_t *sub_one = e2e_keep (&s_group, e2e_sub (&s_group, "stats"));
    zsock_t *sub_two = e2e_keep (&s_group, zsock_new_sub (s_events2, "stats"));
    cr_assert (sub_one && sub_two);
    *first = s_wait_workers (sub_one);
    *second = s_wait_workers (sub_two);
}

//  Receives until a RESULT comes, and returns it
static ck_result_t
s_result (ck_client_t *client)
{
    int64_t deadline = ph_now_ms () + REPLY_MS;
    while (ph_now_ms () < deadline) {
        ck_command_t command = ck_client_recv (client, (int) (deadline - ph_now_ms ()));
        if (command == CK_CMD_RESULT)
            return ck_client_reply (client)->result;
        cr_assert (command == CK_CMD_ACCEPTED, "got %s, want RESULT (logs in %s)",
                   ck_command_name (command), s_group.dir);
    }
    cr_assert_fail ("no RESULT (logs in %s)", s_group.dir);
    return (ck_result_t) { 0 };
}

static long long
s_count (sqlite3 *db, const char *sql, const char *saga_id)
{
    long long count = e2e_db_int (db, sql, saga_id);
    cr_assert_geq (count, 0, "query failed: %s", sql);
    return count;
}

Test (e2e_two_coordinators, each_sees_its_share_of_the_capacity)
{
    ck_ev_stats_t first, second;
    s_start (&first, &second);
    const ck_service_t services [] = {
        CK_SERVICE_INVENTORY, CK_SERVICE_PAYMENT, CK_SERVICE_ORDER
    };
    for (size_t i = 0; i < 3; i++) {
        cr_expect_eq (s_capacity (&first, services [i]), 4, "%s",
                      ck_service_name (services [i]));
        cr_expect_eq (s_capacity (&second, services [i]), 3, "%s",
                      ck_service_name (services [i]));
        cr_expect_eq (s_capacity (&first, services [i]) + s_capacity (&second, services [i]),
                      (uint32_t) atoi (CAPACITY), "the shares add up to the capacity");
    }
}

//  Waits until sub's stats show each service with capacity; 0, or -1
static int
s_wait_capacity (zsock_t *sub, uint32_t capacity)
{
    int64_t deadline = ph_now_ms () + READY_MS;
    ck_ev_stats_t stats;
    while (ph_now_ms () < deadline) {
        if (e2e_sub_next_stats (sub, &stats, (int) (deadline - ph_now_ms ())))
            return -1;
        if (s_capacity (&stats, CK_SERVICE_INVENTORY) == capacity
        &&  s_capacity (&stats, CK_SERVICE_PAYMENT) == capacity
        &&  s_capacity (&stats, CK_SERVICE_ORDER) == capacity
        &&  e2e_stats_workers (&stats, CK_SERVICE_INVENTORY) == 1)
            return 0;
    }
    return -1;
}

//  The second coordinator stops: the first is given all but the 1 the
//  silent one keeps; it starts again: 4 and 3 again
Test (e2e_two_coordinators, a_silent_coordinators_share_goes_to_the_other)
{
    ck_ev_stats_t first, second;
    s_start (&first, &second);
    zsock_t *sub_one = e2e_keep (&s_group, e2e_sub (&s_group, "stats"));
    cr_assert_not_null (sub_one);
    int slot = e2e_slot (&s_group, "coordinator-2");
    cr_assert_eq (e2e_stop (&s_group, slot, SIGKILL, 5000), -1, "killed");
    cr_assert_eq (s_wait_capacity (sub_one, atoi (CAPACITY) - 1), 0,
                  "the first coordinator did not get the share (logs in %s)", s_group.dir);
    cr_assert_geq (s_start_second (), 0);
    zsock_t *sub_two = e2e_keep (&s_group, zsock_new_sub (s_events2, "stats"));
    cr_assert_not_null (sub_two);
    cr_assert_eq (s_wait_capacity (sub_two, 3), 0, "logs in %s", s_group.dir);
    cr_assert_eq (s_wait_capacity (sub_one, 4), 0, "logs in %s", s_group.dir);
}

Test (e2e_two_coordinators, one_checkout_runs_one_saga)
{
    ck_ev_stats_t first, second;
    s_start (&first, &second);
    ck_client_t *one = e2e_client (&s_group);
    ck_client_t *two = s_client_second ();
    cr_assert (one && two);
    //  W1 checkout 3 is confirmed when it runs alone
    ck_checkout_t checkout;
    w1_checkout (3, &checkout);
    cr_assert_eq (ck_client_send_checkout (one, &checkout), 0);
    cr_assert_eq (ck_client_send_checkout (two, &checkout), 0);
    ck_result_t results [2] = { s_result (one), s_result (two) };
    cr_assert_str_neq (results [0].saga_id, results [1].saga_id, "two sagas were started");
    int winner = results [0].status == CK_STATUS_CONFIRMED? 0: 1;
    const ck_result_t *won = &results [winner];
    const ck_result_t *lost = &results [1 - winner];
    cr_assert_eq (won->status, CK_STATUS_CONFIRMED, "status=%s reason=%s",
                  ck_status_name (won->status), won->reason.code);
    cr_assert_eq (lost->status, CK_STATUS_FAILED, "status=%s",
                  ck_status_name (lost->status));
    cr_assert_str_eq (lost->reason.code, "duplicate_checkout");
    cr_assert_eq (lost->failed_step, CK_SERVICE_INVENTORY,
                  "refused at the first step: failed_step=%s",
                  ck_service_name (lost->failed_step));
    char message [CK_TEXT_SIZE];
    snprintf (message, sizeof message, "checkout chk-3 is held by saga %s", won->saga_id);
    cr_assert_str_eq (lost->reason.message, message);
    cr_assert_eq (lost->order_id [0], 0);

    //  exactly one reservation held, one authorization, one order, all the
    //  winner's; the loser's compensation left a tombstone and nothing else
    cr_assert_eq (e2e_dbs_open (&s_group, &s_dbs), 0, "cannot open the databases");
    cr_assert_eq (s_count (s_dbs.inventory, "SELECT COUNT(*) FROM reservations", NULL), 1);
    cr_assert_eq (s_count (s_dbs.inventory, "SELECT COUNT(*) FROM reservations"
                           " WHERE status = 'held' AND saga_id = ?1", won->saga_id), 1);
    cr_assert_eq (s_count (s_dbs.payment, "SELECT COUNT(*) FROM authorizations", NULL), 1);
    cr_assert_eq (s_count (s_dbs.payment, "SELECT COUNT(*) FROM authorizations"
                           " WHERE status = 'authorized' AND saga_id = ?1", won->saga_id), 1);
    cr_assert_eq (s_count (s_dbs.order, "SELECT COUNT(*) FROM orders", NULL), 1);
    cr_assert_eq (s_count (s_dbs.order, "SELECT COUNT(*) FROM orders WHERE saga_id = ?1",
                           won->saga_id), 1);
    cr_assert_eq (s_count (s_dbs.inventory, "SELECT COUNT(*) FROM processed_requests"
                           " WHERE saga_id = ?1 AND reason_code = 'duplicate_checkout'",
                           lost->saga_id), 1);
    //  stock conserved: every SKU's stock plus its held units is the seed's
    cr_assert_eq (s_count (s_dbs.inventory,
        "SELECT COUNT(*) FROM stock s LEFT JOIN (SELECT j.value ->> 0 AS sku,"
        " SUM (j.value ->> 1) AS qty FROM reservations r, json_each (r.lines) j"
        " WHERE r.status = 'held' GROUP BY 1) h ON h.sku = s.sku"
        " WHERE s.available + COALESCE (h.qty, 0)"
        " != CASE s.sku WHEN 'SKU-OOS' THEN 0 ELSE 1000000 END", NULL), 0);
    long long taken = 0;
    for (uint32_t i = 0; i < checkout.item_count; i++)
        taken += checkout.items [i].qty;
    cr_assert_eq (s_count (s_dbs.inventory, "SELECT 1000000 * COUNT(*) - SUM (available)"
                           " FROM stock WHERE sku <> 'SKU-OOS'", NULL), taken,
                  "the cart was taken once");
}

/*  test_e2e_retention.c - retention end to end, through the real processes
    Rounds of W1 checkouts under a retention of seconds: the stores stop growing.
*/
#include <criterion/criterion.h>
#include "e2e_helpers.h"

#define READY_MS    30000
#define ROUND_MS    30000
#define ROUNDS      6
#define PER_ROUND   300
//  The coordinator keeps ended sagas 1 s, the participants their entries
//  2 s; a round is followed by a pause longer than both plus a batch's
//  interval (1 s), so what each round wrote is gone before it is counted
#define PAUSE_MS    4000

static e2e_group_t s_group;
static e2e_dbs_t s_dbs;
static char s_first_saga [CK_ID_SIZE];  //  r0-chk-0's saga

static void
s_init (void)
{
    cr_assert_eq (e2e_group_init (&s_group, "ck-e2e-retain"), 0, "no temp dir");
}

static void
s_fini (void)
{
    e2e_dbs_close (&s_dbs);
    e2e_group_fini (&s_group);
}

TestSuite (e2e_retention, .init = s_init, .fini = s_fini, .timeout = 120);

//  Runs checkouts r<round>-chk-0..PER_ROUND-1 of W1, 64 in flight, until
//  each has a terminal RESULT; returns how many did
static size_t
s_round (ck_client_t *client, int round)
{
    char prefix [16];
    snprintf (prefix, sizeof prefix, "r%d-", round);
    ck_checkout_t *checkout = (ck_checkout_t *) malloc (sizeof *checkout);
    cr_assert_not_null (checkout);
    size_t sent = 0, ended = 0;
    int64_t deadline = ph_now_ms () + ROUND_MS;
    while (ended < PER_ROUND && ph_now_ms () < deadline) {
        while (sent < PER_ROUND && sent - ended < 64) {
            w1_checkout_prefixed (prefix, sent++, checkout);
            cr_assert_eq (ck_client_send_checkout (client, checkout), 0);
        }
        if (ck_client_recv (client, 1000) != CK_CMD_RESULT)
            continue;
        const ck_client_reply_t *reply = ck_client_reply (client);
        if (reply->result.status == CK_STATUS_CONFIRMED
        ||  reply->result.status == CK_STATUS_FAILED)
            ended++;
        if (streq (reply->result.checkout_id, "r0-chk-0"))
            snprintf (s_first_saga, sizeof s_first_saga, "%s", reply->result.saga_id);
    }
    free (checkout);
    return ended;
}

static long long
s_count (sqlite3 *db, const char *sql)
{
    long long count = e2e_db_int (db, sql, NULL);
    cr_assert_geq (count, 0, "sql: %s", sql);
    return count;
}

Test (e2e_retention, the_log_and_the_ledgers_stop_growing_across_rounds)
{
    const char *coordinator [] = { "--retention", "1", NULL };
    const char *participant [] = { "--retention", "2", "--allow-short-retention", NULL };
    int slot = e2e_start_coordinator (&s_group, coordinator);
    cr_assert_geq (slot, 0);
    cr_assert_geq (e2e_start_participant (&s_group, "inventory", "inventory-1", participant), 0);
    cr_assert_geq (e2e_start_participant (&s_group, "payment", "payment-1", participant), 0);
    cr_assert_geq (e2e_start_participant (&s_group, "order", "order-1", participant), 0);
    cr_assert_eq (e2e_wait_ready (&s_group, 1, 1, 1, READY_MS), 0,
                  "the group did not come up (logs in %s)", s_group.dir);
    ck_client_t *client = e2e_client (&s_group);
    cr_assert_not_null (client);
    cr_assert_eq (e2e_dbs_open (&s_group, &s_dbs), 0);

    long long most_sagas = 0, most_entries = 0, most_orders = 0, peak_sagas = 0;
    for (int round = 0; round < ROUNDS; round++) {
        cr_assert_eq (s_round (client, round), PER_ROUND, "round %d: every checkout ends", round);
        long long at_end = s_count (s_dbs.coordinator, "SELECT COUNT (*) FROM sagas");
        if (at_end > peak_sagas)
            peak_sagas = at_end;
        zclock_sleep (PAUSE_MS);
        long long sagas = s_count (s_dbs.coordinator, "SELECT COUNT (*) FROM sagas");
        long long entries = s_count (s_dbs.inventory, "SELECT COUNT (*) FROM ledger");
        long long orders = s_count (s_dbs.order, "SELECT COUNT (*) FROM order_details");
        cr_log_info ("e2e_retention: round=%d sagas_at_end=%lld after_pause: sagas=%lld"
                     " inventory_ledger=%lld orders=%lld", round, at_end, sagas, entries, orders);
        most_sagas = sagas > most_sagas? sagas: most_sagas;
        most_entries = entries > most_entries? entries: most_entries;
        most_orders = orders > most_orders? orders: most_orders;
    }
    //  Without retention the log would hold (round + 1) * PER_ROUND sagas
    //  after each round and the inventory more entries than that; with it,
    //  a pause leaves less than half a round (in practice nothing but the
    //  newest entry, which stays), however many rounds ran
    cr_expect_leq (peak_sagas, 2 * PER_ROUND, "at most about a round in the log at its end");
    cr_expect_lt (most_sagas, PER_ROUND / 2, "the log is trimmed between rounds");
    cr_expect_lt (most_entries, PER_ROUND / 2, "the inventory's ledger is trimmed");
    cr_expect_lt (most_orders, PER_ROUND / 2, "the orders go with their entries");
    cr_expect_gt (s_count (s_dbs.inventory, "SELECT COUNT (*) FROM stock"), 0, "stock stays");

    //  After the retention a checkout_id is unknown, and may be used again:
    //  it runs a new saga
    cr_assert_eq (ck_client_send_status (client, "r0-chk-0"), 0);
    cr_assert_eq (ck_client_recv (client, ROUND_MS), CK_CMD_ERROR);
    cr_expect_eq (ck_client_reply (client)->error.code, CK_UNKNOWN_CHECKOUT);
    ck_checkout_t checkout;
    w1_checkout_prefixed ("r0-", 0, &checkout);
    cr_assert_eq (ck_client_send_checkout (client, &checkout), 0);
    cr_assert_eq (ck_client_recv (client, ROUND_MS), CK_CMD_RESULT);
    const ck_result_t *again = &ck_client_reply (client)->result;
    cr_expect (again->status == CK_STATUS_CONFIRMED || again->status == CK_STATUS_FAILED);
    cr_expect (s_first_saga [0] && strcmp (again->saga_id, s_first_saga),
               "a new saga: %s, the first was %s", again->saga_id, s_first_saga);

    //  The count of deleted sagas is in the log line at stop
    e2e_dbs_close (&s_dbs);
    cr_assert_eq (e2e_stop (&s_group, slot, SIGTERM, 10000), 0);
    char path [PATH_MAX];
    e2e_path (&s_group, "coordinator.log", path, sizeof path);
    char *log = ph_slurp (path);
    cr_assert_not_null (log);
    cr_expect (ph_has_line (log, "stopping in_flight=0 expired=[0-9]{4}"),
               "no expired=N line with N >= 1000 in %s", path);
    free (log);
}

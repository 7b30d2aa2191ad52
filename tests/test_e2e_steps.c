/*  test_e2e_steps.c - a 4-step saga from a table file, end to end
    The real coordinator and participants read tests/fixtures/steps-shipping.zpl
    (a shipping step between payment and order), and checkout-fake-shipping
    serves the added step: nothing else of the system knows about shipping.
*/
#include <criterion/criterion.h>
#include "e2e_helpers.h"
#include "saga_def.h"

//  Generous bounds: the ASan build is several times slower
#define READY_MS    30000
#define REPLY_MS    30000

static e2e_group_t s_group;
static e2e_dbs_t s_dbs;
static sqlite3 *s_shipping_db;
static char s_steps [PATH_MAX];
static ck_service_t s_shipping;

static void
s_init (void)
{
    cr_assert_eq (e2e_group_init (&s_group, "ck-e2e-steps"), 0, "no temp dir");
    cr_assert_eq (ph_source_file ("tests/fixtures/steps-shipping.zpl", s_steps,
                                  sizeof s_steps), 0);
    //  the client decodes RESULTs that name the added step, so it reads
    //  the table too
    char error [512];
    cr_assert_eq (saga_def_load (s_steps, error, sizeof error), 0, "%s", error);
    s_shipping = ck_service_lookup ("shipping", strlen ("shipping"));
    cr_assert_neq (s_shipping, CK_SERVICE_NONE);
}

static void
s_fini (void)
{
    sqlite3_close (s_shipping_db);
    e2e_dbs_close (&s_dbs);
    e2e_group_fini (&s_group);
}

TestSuite (e2e_steps, .init = s_init, .fini = s_fini, .timeout = 120);

//  Waits until the coordinator's stats show one instance of each service
static int
s_wait_ready (int timeout_ms)
{
    int64_t deadline = ph_now_ms () + timeout_ms;
    ck_ev_stats_t stats;
    while (ph_now_ms () < deadline) {
        if (e2e_next_stats (&s_group, &stats, (int) (deadline - ph_now_ms ())))
            return -1;
        if (e2e_stats_workers (&stats, CK_SERVICE_INVENTORY) == 1
        &&  e2e_stats_workers (&stats, CK_SERVICE_PAYMENT) == 1
        &&  e2e_stats_workers (&stats, s_shipping) == 1
        &&  e2e_stats_workers (&stats, CK_SERVICE_ORDER) == 1)
            return 0;
    }
    return -1;
}

//  Starts the group on the 4-step table and returns a client of it
static ck_client_t *
s_start (void)
{
    const char *steps [] = { "--steps", s_steps, NULL };
    cr_assert_geq (e2e_start_coordinator (&s_group, steps), 0);
    cr_assert_geq (e2e_start_participant (&s_group, "inventory", "inventory-1", steps), 0);
    cr_assert_geq (e2e_start_participant (&s_group, "payment", "payment-1", steps), 0);
    cr_assert_geq (e2e_start_participant (&s_group, "fake-shipping", "shipping-1", steps), 0);
    cr_assert_geq (e2e_start_participant (&s_group, "order", "order-1", steps), 0);
    cr_assert_eq (s_wait_ready (READY_MS), 0, "the group did not come up (logs in %s)",
                  s_group.dir);
    ck_client_t *client = e2e_client (&s_group);
    cr_assert_not_null (client);
    cr_assert_eq (e2e_dbs_open (&s_group, &s_dbs), 0);
    cr_assert_not_null (s_shipping_db = e2e_db_open (&s_group, "fake-shipping.db"));
    return client;
}

//  Submits W1 checkout k shipped to country and returns its RESULT
static ck_result_t
s_submit (ck_client_t *client, uint64_t k, const char *country)
{
    ck_checkout_t checkout;
    w1_checkout (k, &checkout);
    snprintf (checkout.ship_to.country, sizeof checkout.ship_to.country, "%s", country);
    ck_command_t command = ck_client_submit (client, &checkout, REPLY_MS);
    cr_assert_eq (command, CK_CMD_RESULT, "got %s, want RESULT", ck_command_name (command));
    return ck_client_reply (client)->result;
}

static long long
s_count (sqlite3 *db, const char *sql, const char *saga_id)
{
    long long count = e2e_db_int (db, sql, saga_id);
    cr_assert_geq (count, 0, "query failed: %s", sql);
    return count;
}

//  Rows of the shipping ledger for the saga, of type with outcome
static long long
s_shipping_rows (const char *saga_id, const char *type, const char *outcome)
{
    char sql [256];
    snprintf (sql, sizeof sql, "SELECT COUNT(*) FROM processed_requests WHERE saga_id = ?1"
              " AND type = '%s' AND outcome = '%s'", type, outcome);
    return s_count (s_shipping_db, sql, saga_id);
}

Test (e2e_steps, four_steps_confirm_with_the_added_step_in_between)
{
    ck_client_t *client = s_start ();
    ck_result_t result = s_submit (client, 3, "FR");
    cr_assert_eq (result.status, CK_STATUS_CONFIRMED, "status=%s reason=%s",
                  ck_status_name (result.status), result.reason.code);
    const char *saga = result.saga_id;
    cr_assert_eq (s_shipping_rows (saga, "ReserveShipping", "ok"), 1);
    char shipment [CK_ID_SIZE];
    cr_assert_eq (e2e_db_text (s_shipping_db, "SELECT result_id FROM processed_requests"
                               " WHERE saga_id = ?1", saga, shipment, sizeof shipment), 0);
    cr_assert_str_eq (shipment, "shipment-1", "the ledger names ids by the step's result key");
    cr_assert_eq (s_count (s_dbs.order, "SELECT COUNT(*) FROM orders WHERE saga_id = ?1",
                           saga), 1);

    //  the history shows the four steps in the table's order
    cr_assert_eq (ck_client_status (client, "chk-3", REPLY_MS), CK_CMD_RESULT);
    const ck_result_t *status = &ck_client_reply (client)->result;
    ck_service_t order [4];
    uint32_t steps = 0;
    for (uint32_t i = 0; i < status->history_count && steps < 4; i++)
        if (streq (status->history [i].event, "step"))
            order [steps++] = status->history [i].step;
    cr_assert_eq (steps, 4);
    cr_assert_eq (order [0], CK_SERVICE_INVENTORY);
    cr_assert_eq (order [1], CK_SERVICE_PAYMENT);
    cr_assert_eq (order [2], s_shipping);
    cr_assert_eq (order [3], CK_SERVICE_ORDER);
}

Test (e2e_steps, a_rejected_added_step_compensates_the_steps_before_it)
{
    ck_client_t *client = s_start ();
    ck_result_t result = s_submit (client, 3, "ZZ");
    cr_assert_eq (result.status, CK_STATUS_FAILED);
    cr_assert_eq (result.failed_step, s_shipping);
    cr_assert_str_eq (result.reason.code, "no_carrier");
    cr_assert_eq (result.compensated_count, 2);
    cr_assert_eq (result.compensated [0], CK_SERVICE_PAYMENT);
    cr_assert_eq (result.compensated [1], CK_SERVICE_INVENTORY);
    const char *saga = result.saga_id;
    cr_assert_eq (s_shipping_rows (saga, "ReserveShipping", "rejected"), 1);
    cr_assert_eq (s_shipping_rows (saga, "CancelShipping", "ok"), 0, "a refusal has nothing to undo");
    cr_assert_eq (s_count (s_dbs.inventory, "SELECT COUNT(*) FROM reservations"
                           " WHERE saga_id = ?1 AND status = 'held'", saga), 0);
    cr_assert_eq (s_count (s_dbs.payment, "SELECT COUNT(*) FROM authorizations"
                           " WHERE saga_id = ?1 AND status = 'authorized'", saga), 0);
    cr_assert_eq (s_count (s_dbs.order, "SELECT COUNT(*) FROM orders", NULL), 0);
}

Test (e2e_steps, a_rejected_pivot_compensates_the_added_step_too)
{
    ck_client_t *client = s_start ();
    //  the order service serves every country but AQ; shipping ships there
    ck_result_t result = s_submit (client, 3, "AQ");
    cr_assert_eq (result.status, CK_STATUS_FAILED);
    cr_assert_eq (result.failed_step, CK_SERVICE_ORDER);
    cr_assert_str_eq (result.reason.code, "destination_unserviceable");
    cr_assert_eq (result.compensated_count, 3);
    cr_assert_eq (result.compensated [0], s_shipping);
    cr_assert_eq (result.compensated [1], CK_SERVICE_PAYMENT);
    cr_assert_eq (result.compensated [2], CK_SERVICE_INVENTORY);
    const char *saga = result.saga_id;
    cr_assert_eq (s_shipping_rows (saga, "ReserveShipping", "ok"), 1);
    cr_assert_eq (s_shipping_rows (saga, "CancelShipping", "ok"), 1);
    cr_assert_eq (s_count (s_dbs.inventory, "SELECT COUNT(*) FROM reservations"
                           " WHERE saga_id = ?1 AND status = 'held'", saga), 0);
}

Test (e2e_steps, a_log_with_running_sagas_of_another_table_is_refused)
{
    //  A saga left running under the 4-step table (shipping never comes)
    const char *steps [] = { "--steps", s_steps, NULL };
    int coordinator = e2e_start_coordinator (&s_group, steps);
    cr_assert_geq (coordinator, 0);
    cr_assert_geq (e2e_start_participant (&s_group, "inventory", "inventory-1", steps), 0);
    ck_client_t *client = e2e_client (&s_group);
    ck_checkout_t checkout;
    w1_checkout (3, &checkout);
    checkout.ack = true;
    cr_assert_eq (ck_client_send_checkout (client, &checkout), 0);
    cr_assert_eq (ck_client_recv (client, REPLY_MS), CK_CMD_ACCEPTED);
    cr_assert_eq (e2e_stop (&s_group, coordinator, SIGTERM, 10000), 0);

    //  the built-in table would read its step index wrong: refused
    coordinator = e2e_start_coordinator (&s_group, NULL);
    int status = 0;
    cr_assert_eq (ph_wait (s_group.pids [coordinator], 20000, &status), 0,
                  "a coordinator on a log of another table kept running");
    s_group.pids [coordinator] = 0;
    cr_assert_eq (ph_exit_code (status), 1);
    char log [PATH_MAX];
    e2e_path (&s_group, "coordinator.log", log, sizeof log);
    char *text = ph_slurp (log);
    bool said = text && ph_has_line (text, "running sagas of another step table");
    free (text);
    cr_assert (said, "no line saying why in %s", log);
}

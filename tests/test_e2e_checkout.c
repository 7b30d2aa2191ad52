/*  test_e2e_checkout.c - end-to-end checkouts through the real processes
    A coordinator and one of each participant; W1 checkouts; the stores checked with sqlite3.
*/
#include <criterion/criterion.h>
#include "e2e_helpers.h"

//  Generous bounds: the ASan build is several times slower
#define READY_MS    30000
#define REPLY_MS    30000

static e2e_group_t s_group;
static e2e_book_t s_book;
static e2e_dbs_t s_dbs;

static void
s_init (void)
{
    cr_assert_eq (e2e_group_init (&s_group, "ck-e2e"), 0, "no temp dir");
}

static void
s_fini (void)
{
    e2e_dbs_close (&s_dbs);
    e2e_book_fini (&s_book);
    e2e_group_fini (&s_group);
}

TestSuite (e2e_checkout, .init = s_init, .fini = s_fini, .timeout = 120);

//  Starts the group and returns a client of it
static ck_client_t *
s_start (void)
{
    cr_assert_geq (e2e_start_group (&s_group, NULL, READY_MS), 0,
                   "the group did not come up (logs in %s)", s_group.dir);
    ck_client_t *client = e2e_client (&s_group);
    cr_assert_not_null (client);
    return client;
}

//  Submits W1 checkout k and returns its RESULT (borrowed from client)
static const ck_result_t *
s_submit (ck_client_t *client, uint64_t k)
{
    ck_checkout_t checkout;
    w1_checkout (k, &checkout);
    ck_command_t command = ck_client_submit (client, &checkout, REPLY_MS);
    cr_assert_eq (command, CK_CMD_RESULT, "chk-%llu: got %s, want RESULT",
                  (unsigned long long) k, ck_command_name (command));
    return &ck_client_reply (client)->result;
}

static void
s_open_dbs (void)
{
    cr_assert_eq (e2e_dbs_open (&s_group, &s_dbs), 0, "cannot open the databases");
}

static long long
s_count (sqlite3 *db, const char *sql, const char *saga_id)
{
    long long count = e2e_db_int (db, sql, saga_id);
    cr_assert_geq (count, 0, "query failed: %s", sql);
    return count;
}

//  True when history has an entry of event (and step, unless NONE) with outcome
static bool
s_has_entry (const ck_result_t *r, const char *event, ck_service_t step, ck_outcome_t outcome)
{
    for (uint32_t i = 0; i < r->history_count; i++) {
        const ck_history_entry_t *entry = &r->history [i];
        if (streq (entry->event, event) && (step == CK_SERVICE_NONE || entry->step == step)
        &&  (outcome == CK_OUTCOME_NONE || entry->outcome == outcome))
            return true;
    }
    return false;
}

Test (e2e_checkout, confirmed)
{
    ck_client_t *client = s_start ();
    ck_checkout_t checkout;
    w1_checkout (3, &checkout);
    ck_result_t result = *s_submit (client, 3);
    cr_assert_eq (result.status, CK_STATUS_CONFIRMED, "status=%s reason=%s",
                  ck_status_name (result.status), result.reason.code);
    cr_assert_str_eq (result.checkout_id, "chk-3");
    cr_assert (result.order_id [0], "no order_id");
    cr_assert (result.saga_id [0], "no saga_id");
    cr_assert_eq (result.compensated_count, 0);

    s_open_dbs ();
    const char *saga = result.saga_id;
    cr_assert_eq (s_count (s_dbs.inventory, "SELECT COUNT(*) FROM reservations "
                           "WHERE saga_id = ?1 AND status = 'held'", saga), 1);
    cr_assert_eq (s_count (s_dbs.inventory, "SELECT COUNT(*) FROM reservations", NULL), 1);
    cr_assert_eq (s_count (s_dbs.payment, "SELECT COUNT(*) FROM authorizations "
                           "WHERE saga_id = ?1 AND status = 'authorized'", saga), 1);
    cr_assert_eq (s_count (s_dbs.payment, "SELECT amount FROM authorizations "
                           "WHERE saga_id = ?1", saga), (long long) checkout.amount);
    cr_assert_eq (s_count (s_dbs.order, "SELECT COUNT(*) FROM orders WHERE saga_id = ?1",
                           saga), 1);
    char order_id [CK_ID_SIZE];
    cr_assert_eq (e2e_db_text (s_dbs.order, "SELECT order_id FROM orders WHERE saga_id = ?1",
                               saga, order_id, sizeof order_id), 0);
    cr_assert_str_eq (order_id, result.order_id);

    ck_command_t command = ck_client_status (client, "chk-3", REPLY_MS);
    cr_assert_eq (command, CK_CMD_RESULT, "STATUS got %s", ck_command_name (command));
    const ck_result_t *status = &ck_client_reply (client)->result;
    cr_assert_str_eq (status->saga_id, saga);
    cr_assert_eq (status->status, CK_STATUS_CONFIRMED);
    cr_assert_geq (status->history_count, 5, "history has %u entries", status->history_count);
    cr_assert_str_eq (status->history [0].event, "started");
    cr_assert (s_has_entry (status, "step", CK_SERVICE_INVENTORY, CK_OUTCOME_OK));
    cr_assert (s_has_entry (status, "step", CK_SERVICE_PAYMENT, CK_OUTCOME_OK));
    cr_assert (s_has_entry (status, "step", CK_SERVICE_ORDER, CK_OUTCOME_OK));
    cr_assert_str_eq (status->history [status->history_count - 1].event, "confirmed");
    for (uint32_t i = 1; i < status->history_count; i++)
        cr_assert_geq (status->history [i].at_ms, status->history [i - 1].at_ms,
                       "history not oldest first at %u", i);
}

//  Checks a failed RESULT against W1's plan for k
static void
s_assert_failed (const ck_result_t *r, uint64_t k)
{
    w1_expected_t want = w1_expected (k);
    cr_assert_eq (r->status, CK_STATUS_FAILED, "status=%s", ck_status_name (r->status));
    cr_assert_eq (r->failed_step, want.failed_step, "failed_step=%s",
                  ck_service_name (r->failed_step));
    cr_assert_str_eq (r->reason.code, want.reason);
    cr_assert_eq (r->order_id [0], 0, "a failed checkout has order_id %s", r->order_id);
    cr_assert_eq (r->compensated_count, want.compensated_count);
    for (uint32_t i = 0; i < want.compensated_count; i++)
        cr_assert_eq (r->compensated [i], want.compensated [i], "compensated[%u]=%s", i,
                      ck_service_name (r->compensated [i]));
}

static void
s_assert_no_order (const char *saga)
{
    cr_assert_eq (s_count (s_dbs.order, "SELECT COUNT(*) FROM orders", NULL), 0);
    cr_assert_eq (s_count (s_dbs.order, "SELECT COUNT(*) FROM orders WHERE saga_id = ?1",
                           saga), 0);
}

Test (e2e_checkout, out_of_stock)
{
    ck_client_t *client = s_start ();
    ck_result_t result = *s_submit (client, 2);
    s_assert_failed (&result, 2);
    cr_assert_str_eq (result.reason.sku, "SKU-OOS");
    s_open_dbs ();
    cr_assert_eq (s_count (s_dbs.inventory, "SELECT COUNT(*) FROM reservations", NULL), 0);
    cr_assert_eq (s_count (s_dbs.payment, "SELECT COUNT(*) FROM authorizations", NULL), 0);
    s_assert_no_order (result.saga_id);
    //  the refusal took nothing: every line of the cart is still in stock
    cr_assert_eq (s_count (s_dbs.inventory, "SELECT COUNT(*) FROM stock WHERE sku != 'SKU-OOS'"
                           " AND available != 1000000", NULL), 0);
}

Test (e2e_checkout, card_declined)
{
    ck_client_t *client = s_start ();
    ck_result_t result = *s_submit (client, 20);
    s_assert_failed (&result, 20);
    s_open_dbs ();
    const char *saga = result.saga_id;
    cr_assert_eq (s_count (s_dbs.inventory, "SELECT COUNT(*) FROM reservations "
                           "WHERE saga_id = ?1 AND status = 'released'", saga), 1);
    cr_assert_eq (s_count (s_dbs.payment, "SELECT COUNT(*) FROM authorizations "
                           "WHERE saga_id = ?1 AND status = 'authorized'", saga), 0);
    s_assert_no_order (saga);
    cr_assert_eq (s_count (s_dbs.inventory, "SELECT COUNT(*) FROM stock WHERE sku != 'SKU-OOS'"
                           " AND available != 1000000", NULL), 0, "stock not given back");
}

Test (e2e_checkout, destination_unserviceable)
{
    ck_client_t *client = s_start ();
    ck_result_t result = *s_submit (client, 1);
    s_assert_failed (&result, 1);
    s_open_dbs ();
    const char *saga = result.saga_id;
    cr_assert_eq (s_count (s_dbs.payment, "SELECT COUNT(*) FROM authorizations "
                           "WHERE saga_id = ?1 AND status = 'voided'", saga), 1);
    cr_assert_eq (s_count (s_dbs.inventory, "SELECT COUNT(*) FROM reservations "
                           "WHERE saga_id = ?1 AND status = 'released'", saga), 1);
    s_assert_no_order (saga);
    cr_assert_eq (s_count (s_dbs.inventory, "SELECT COUNT(*) FROM stock WHERE sku != 'SKU-OOS'"
                           " AND available != 1000000", NULL), 0, "stock not given back");
    //  the void came before the release
    cr_assert_eq (s_count (s_dbs.payment, "SELECT voided_at FROM authorizations "
                           "WHERE saga_id = ?1", saga) <= s_count (s_dbs.inventory,
                  "SELECT released_at FROM reservations WHERE saga_id = ?1", saga), 1);
}

static bool
s_chk4_terminal (const e2e_book_t *book)
{
    return book->items [4].terminal;
}

Test (e2e_checkout, idempotent)
{
    ck_client_t *client = s_start ();
    ck_result_t first = *s_submit (client, 3);
    cr_assert_eq (first.status, CK_STATUS_CONFIRMED);
    ck_result_t again = *s_submit (client, 3);
    cr_assert_str_eq (again.saga_id, first.saga_id);
    cr_assert_eq (again.status, first.status);
    cr_assert_str_eq (again.order_id, first.order_id);

    //  two copies at once from two clients: one saga, the same RESULT for both
    ck_client_t *other = e2e_client (&s_group);
    cr_assert_not_null (other);
    ck_checkout_t checkout;
    w1_checkout (4, &checkout);
    cr_assert_eq (ck_client_send_checkout (client, &checkout), 0);
    cr_assert_eq (ck_client_send_checkout (other, &checkout), 0);
    cr_assert_eq (e2e_book_init (&s_book, 5), 0);
    cr_assert_eq (e2e_book_wait (client, &s_book, s_chk4_terminal, REPLY_MS), 0);
    ck_result_t mine = s_book.items [4].result;
    e2e_book_fini (&s_book);
    cr_assert_eq (e2e_book_init (&s_book, 5), 0);
    cr_assert_eq (e2e_book_wait (other, &s_book, s_chk4_terminal, REPLY_MS), 0);
    cr_assert_str_eq (s_book.items [4].result.saga_id, mine.saga_id);
    cr_assert_str_eq (s_book.items [4].result.order_id, mine.order_id);
    cr_assert_eq (s_book.items [4].result.status, CK_STATUS_CONFIRMED);

    //  the same id with another cart
    checkout.items [0].qty++;
    checkout.amount += checkout.items [0].unit_price;
    ck_command_t command = ck_client_submit (client, &checkout, REPLY_MS);
    cr_assert_eq (command, CK_CMD_ERROR, "got %s", ck_command_name (command));
    cr_assert_eq (ck_client_reply (client)->error.code, CK_CONFLICT, "code=%s",
                  ck_error_code_name (ck_client_reply (client)->error.code));
    w1_checkout (3, &checkout);
    snprintf (checkout.payment_method, sizeof checkout.payment_method, "pm_card_mastercard");
    command = ck_client_submit (client, &checkout, REPLY_MS);
    cr_assert_eq (command, CK_CMD_ERROR, "got %s", ck_command_name (command));
    cr_assert_eq (ck_client_reply (client)->error.code, CK_CONFLICT);

    command = ck_client_status (client, "chk-999999", REPLY_MS);
    cr_assert_eq (command, CK_CMD_ERROR, "got %s", ck_command_name (command));
    cr_assert_eq (ck_client_reply (client)->error.code, CK_UNKNOWN_CHECKOUT);
    cr_assert_eq (ck_client_ping (client, REPLY_MS), CK_CMD_PONG);
    cr_assert_str_eq (ck_client_reply (client)->pong.version, CK_VERSION);

    s_open_dbs ();
    cr_assert_eq (s_count (s_dbs.coordinator, "SELECT COUNT(*) FROM sagas", NULL), 2);
    cr_assert_eq (s_count (s_dbs.order, "SELECT COUNT(*) FROM orders", NULL), 2);
    cr_assert_eq (s_count (s_dbs.payment, "SELECT COUNT(*) FROM authorizations", NULL), 2);
}

Test (e2e_checkout, ack)
{
    ck_client_t *client = s_start ();
    ck_checkout_t checkout;
    w1_checkout (5, &checkout);
    checkout.ack = true;
    cr_assert_eq (ck_client_send_checkout (client, &checkout), 0);
    ck_command_t command = ck_client_recv (client, REPLY_MS);
    cr_assert_eq (command, CK_CMD_ACCEPTED, "got %s", ck_command_name (command));
    ck_accepted_t accepted = ck_client_reply (client)->accepted;
    cr_assert_str_eq (accepted.checkout_id, "chk-5");
    cr_assert (accepted.saga_id [0]);
    command = ck_client_recv (client, REPLY_MS);
    cr_assert_eq (command, CK_CMD_RESULT, "got %s", ck_command_name (command));
    const ck_result_t *result = &ck_client_reply (client)->result;
    cr_assert_str_eq (result->saga_id, accepted.saga_id);
    cr_assert_eq (result->status, CK_STATUS_CONFIRMED);
}

//  Starts the group and runs W1 checkouts 0..count-1, 64 in flight, to
//  their RESULTs
static void
s_run_w1 (size_t count)
{
    ck_client_t *client = s_start ();
    cr_assert_eq (e2e_book_init (&s_book, count), 0);
    cr_assert_eq (e2e_drive (client, &s_book, 64, 90000), 0,
                  "%zu of %zu RESULTs after 90 s", s_book.terminal, count);
}

Test (e2e_checkout, batch)
{
    s_run_w1 (500);
    char problem [E2E_PROBLEM_SIZE];
    int problems = e2e_check_plan (&s_book, problem);
    cr_assert_eq (problems, 0, "%d problems; first: %s", problems, problem);
    cr_assert_eq (s_book.errors, 0);
    s_open_dbs ();
    problems = e2e_check_stores (&s_dbs, &s_book, problem);
    cr_assert_eq (problems, 0, "%d problems; first: %s", problems, problem);
    cr_assert_eq (s_count (s_dbs.coordinator, "SELECT COUNT(*) FROM sagas", NULL), 500);
}

//  Under steady load no turn of the coordinator is idle: its WAL must still
//  be checkpointed and restarted, or it grows with every saga (about 9 KiB
//  each: 2500 sagas made it 23 MiB) and every commit extends the file.
//  The store checkpoints past 1000 frames (about 4 MiB).
Test (e2e_checkout, coordinator_wal_stays_bounded_under_steady_load)
{
    s_run_w1 (2500);
    char wal [PATH_MAX];
    e2e_path (&s_group, "coordinator.db-wal", wal, sizeof wal);
    struct stat info;
    cr_assert_eq (stat (wal, &info), 0, "no %s", wal);
    cr_expect_leq (info.st_size, 12 * 1024 * 1024, "the WAL is %lld bytes after 2500 sagas",
                   (long long) info.st_size);
}

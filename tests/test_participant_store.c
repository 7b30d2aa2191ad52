/*  test_participant_store.c - tests of a participant's store and its ledger
    Schema versions, answering once, tombstones, group commit, statement counts.
*/
#include <criterion/criterion.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <czmq.h>
#include "ledger_sqlite.h"
#include "participant_store.h"
#include "process_helpers.h"
#include "participant_store_helpers.h"

static char s_dir [64];
static char s_path [128];
static participant_store_t *s_store;

//  A toy participant: counts its calls, writes a row of effects for an ok
//  answer (in apply, or in decide when early), and may fail
typedef struct {
    participant_store_t *store;
    int calls;
    ck_outcome_t outcome;               //  what decide answers
    bool fail;                          //  decide returns -1 ...
    bool fail_after_writing;            //  ... after writing its row
    int64_t forward_id;                 //  the forward entry a compensation saw
} toy_t;

static int
s_write_effect (toy_t *toy, const char *saga_id)
{
    store_t *store = participant_store_store (toy->store);
    sqlite3_stmt *stmt = store_prepare (store, "INSERT INTO effects VALUES (?)");
    sqlite3_bind_text (stmt, 1, saga_id, -1, SQLITE_TRANSIENT);
    return store_done (store, stmt, "toy");
}

static int
s_decide (void *state, const ck_request_t *request, const ledger_entry_t *forward,
          ledger_entry_t *answer)
{
    toy_t *toy = (toy_t *) state;
    toy->calls++;
    toy->forward_id = forward? forward->id: 0;
    if (toy->fail_after_writing)
        s_write_effect (toy, request->saga_id);
    if (toy->fail || toy->fail_after_writing)
        return -1;
    answer->outcome = toy->outcome;
    if (toy->outcome == CK_OUTCOME_REJECTED) {
        snprintf (answer->reason.code, sizeof answer->reason.code, "out_of_stock");
        snprintf (answer->reason.message, sizeof answer->reason.message, "none left");
        snprintf (answer->reason.sku, sizeof answer->reason.sku, "SKU-1");
    }
    else
        snprintf (answer->detail, sizeof answer->detail, "detail of %s", request->saga_id);
    return 0;
}

static int
s_apply (void *state, const ck_request_t *request, const ledger_entry_t *answer)
{
    cr_expect_gt (answer->id, 0);
    return s_write_effect ((toy_t *) state, request->saga_id);
}

static const ledger_handler_t s_toy = { s_decide, s_apply };

static void
s_setup (void)
{
    cr_assert_eq (ph_mkdtemp ("ck-test-pstore", s_dir, sizeof s_dir), 0);
    snprintf (s_path, sizeof s_path, "%s/participant.db", s_dir);
    s_store = participant_store_new (s_path, NULL);
    cr_assert_not_null (s_store);
    cr_assert_eq (participant_store_schema (s_store,
                  "CREATE TABLE IF NOT EXISTS effects (saga_id TEXT);"), 0);
}

static void
s_teardown (void)
{
    participant_store_destroy (&s_store);
    ph_rmrf (s_dir);
}

TestSuite (participant_store, .init = s_setup, .fini = s_teardown, .timeout = 30);


static void
s_request (ck_request_t *request, ck_reply_t *reply, const char *saga_id, ck_type_t type,
           uint32_t attempt)
{
    memset (request, 0, sizeof *request);
    snprintf (request->saga_id, sizeof request->saga_id, "%s", saga_id);
    request->type = type;
    request->attempt = attempt;
    memset (reply, 0, sizeof *reply);
    memcpy (reply->saga_id, request->saga_id, sizeof reply->saga_id);
    reply->type = type;
    reply->attempt = attempt;
}

//  Runs one request through the ledger, outside any batch
static int
s_run (toy_t *toy, const char *saga_id, ck_type_t type, uint32_t attempt, ck_reply_t *reply)
{
    ck_request_t request;
    s_request (&request, reply, saga_id, type, attempt);
    return ledger_run (participant_store_ledger (s_store), &s_toy, toy, &request, reply);
}

Test (participant_store, a_repeat_gets_the_stored_answer_without_running)
{
    toy_t toy = { s_store, 0, CK_OUTCOME_OK, false, false, 0 };
    ck_reply_t reply;
    cr_assert_eq (s_run (&toy, "saga-1", CK_TYPE_RESERVE_INVENTORY, 1, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    cr_expect_str_eq (reply.result_id, "res-1");
    cr_assert_eq (s_run (&toy, "saga-1", CK_TYPE_RESERVE_INVENTORY, 2, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    cr_expect_str_eq (reply.result_id, "res-1");
    cr_expect_eq (reply.attempt, 2, "the repeat's own attempt");
    cr_expect_eq (toy.calls, 1);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM effects"), 1);
    //  result ids follow the step table: each type its own prefix
    cr_assert_eq (s_run (&toy, "saga-1", CK_TYPE_AUTHORIZE_PAYMENT, 1, &reply), 0);
    cr_expect_str_eq (reply.result_id, "auth-2");
    cr_assert_eq (s_run (&toy, "saga-1", CK_TYPE_CREATE_ORDER, 1, &reply), 0);
    cr_expect_str_eq (reply.result_id, "ord-3");
}

Test (participant_store, a_rejection_is_recorded_and_repeated)
{
    toy_t toy = { s_store, 0, CK_OUTCOME_REJECTED, false, false, 0 };
    ck_reply_t reply;
    for (uint32_t attempt = 1; attempt <= 2; attempt++) {
        cr_assert_eq (s_run (&toy, "saga-2", CK_TYPE_RESERVE_INVENTORY, attempt, &reply), 0);
        cr_expect_eq (reply.outcome, CK_OUTCOME_REJECTED);
        cr_expect_str_eq (reply.reason.code, "out_of_stock");
        cr_expect_str_eq (reply.reason.message, "none left");
        cr_expect_str_eq (reply.reason.sku, "SKU-1");
        cr_expect_str_eq (reply.result_id, "");
    }
    cr_expect_eq (toy.calls, 1);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM effects"), 0, "no apply");
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM processed_requests"
                               " WHERE outcome = 'rejected' AND result_id IS NULL"), 1);
}

Test (participant_store, a_failure_before_writing_leaves_the_batch_alone)
{
    toy_t toy = { s_store, 0, CK_OUTCOME_OK, true, false, 0 };
    ck_reply_t reply;
    cr_assert_eq (participant_store_batch_begin (s_store), 0);
    cr_expect_eq (s_run (&toy, "saga-3", CK_TYPE_RESERVE_INVENTORY, 1, &reply), -1);
    cr_expect_eq (reply.outcome, CK_OUTCOME_NONE);
    cr_expect_str_eq (reply.saga_id, "saga-3");
    cr_expect_eq (reply.attempt, 1);
    toy.fail = false;
    cr_expect_eq (s_run (&toy, "saga-4", CK_TYPE_RESERVE_INVENTORY, 1, &reply), 0);
    cr_assert_eq (participant_store_batch_commit (s_store), 0);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM effects WHERE saga_id = 'saga-4'"), 1);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM ledger"), 1);
    //  a retry of the failed one runs
    cr_expect_eq (s_run (&toy, "saga-3", CK_TYPE_RESERVE_INVENTORY, 2, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
}

//  Without a savepoint per request, what a failed request wrote can't be
//  taken back alone: the batch's commit refuses, and the rollback keeps
//  nothing of any request of it
Test (participant_store, a_failure_after_writing_fails_the_whole_batch)
{
    toy_t toy = { s_store, 0, CK_OUTCOME_OK, false, false, 0 };
    ck_reply_t reply;
    cr_assert_eq (participant_store_batch_begin (s_store), 0);
    cr_expect_eq (s_run (&toy, "saga-5", CK_TYPE_RESERVE_INVENTORY, 1, &reply), 0);
    toy.fail_after_writing = true;
    cr_expect_eq (s_run (&toy, "saga-6", CK_TYPE_RESERVE_INVENTORY, 1, &reply), -1);
    cr_expect_eq (reply.outcome, CK_OUTCOME_NONE);
    cr_expect_eq (participant_store_batch_commit (s_store), -1);
    participant_store_batch_rollback (s_store);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM effects"), 0);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM ledger"), 0);
    //  the next batch is a fresh one
    toy.fail_after_writing = false;
    cr_assert_eq (participant_store_batch_begin (s_store), 0);
    cr_expect_eq (s_run (&toy, "saga-6", CK_TYPE_RESERVE_INVENTORY, 2, &reply), 0);
    cr_assert_eq (participant_store_batch_commit (s_store), 0);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM effects"), 1);
}

Test (participant_store, a_failure_outside_a_batch_keeps_nothing)
{
    toy_t toy = { s_store, 0, CK_OUTCOME_OK, false, true, 0 };
    ck_reply_t reply;
    cr_expect_eq (s_run (&toy, "saga-7", CK_TYPE_RESERVE_INVENTORY, 1, &reply), -1);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM effects"), 0);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM ledger"), 0);
}

Test (participant_store, a_compensation_first_leaves_a_tombstone)
{
    toy_t toy = { s_store, 0, CK_OUTCOME_OK, false, false, 0 };
    ck_reply_t reply;
    cr_assert_eq (s_run (&toy, "saga-8", CK_TYPE_VOID_PAYMENT, 1, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    cr_expect_eq (toy.calls, 1);
    cr_expect_eq (toy.forward_id, 0, "nothing to undo");
    for (uint32_t attempt = 1; attempt <= 2; attempt++) {
        cr_assert_eq (s_run (&toy, "saga-8", CK_TYPE_AUTHORIZE_PAYMENT, attempt, &reply), 0);
        cr_expect_eq (reply.outcome, CK_OUTCOME_REJECTED);
        cr_expect_str_eq (reply.reason.code, "compensated");
        cr_expect_str_eq (reply.result_id, "");
    }
    cr_expect_eq (toy.calls, 1, "the forward handler never ran");
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM effects"), 1, "the void's only");
    //  another step of the same saga is not affected
    cr_assert_eq (s_run (&toy, "saga-8", CK_TYPE_RESERVE_INVENTORY, 1, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
}

//  Forward requests answered before their compensation keep their own
//  answer on a repeat; the compensation sees an ok forward entry only
Test (participant_store, the_own_answer_wins_and_compensations_run_once)
{
    toy_t toy = { s_store, 0, CK_OUTCOME_OK, false, false, 0 };
    ck_reply_t reply;
    cr_assert_eq (s_run (&toy, "saga-9", CK_TYPE_RESERVE_INVENTORY, 1, &reply), 0);
    toy.outcome = CK_OUTCOME_REJECTED;
    cr_assert_eq (s_run (&toy, "saga-10", CK_TYPE_RESERVE_INVENTORY, 1, &reply), 0);
    toy.outcome = CK_OUTCOME_OK;
    cr_assert_eq (s_run (&toy, "saga-9", CK_TYPE_RELEASE_INVENTORY, 1, &reply), 0);
    cr_expect_eq (toy.forward_id, 1, "the release saw the reservation");
    cr_assert_eq (s_run (&toy, "saga-10", CK_TYPE_RELEASE_INVENTORY, 1, &reply), 0);
    cr_expect_eq (toy.forward_id, 0, "a rejected reservation has nothing to undo");
    cr_expect_eq (toy.calls, 4);
    cr_assert_eq (s_run (&toy, "saga-9", CK_TYPE_RESERVE_INVENTORY, 2, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    cr_expect_str_eq (reply.result_id, "res-1");
    cr_assert_eq (s_run (&toy, "saga-10", CK_TYPE_RESERVE_INVENTORY, 2, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_REJECTED);
    cr_expect_str_eq (reply.reason.code, "out_of_stock");
    for (uint32_t attempt = 2; attempt <= 3; attempt++)
        cr_assert_eq (s_run (&toy, "saga-9", CK_TYPE_RELEASE_INVENTORY, attempt, &reply), 0);
    cr_expect_eq (toy.calls, 4, "no handler ran for a repeat");
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM processed_requests"), 4);
}

//  --------------------------------------------------------------------------
//  One checkout, one saga

//  Runs one request of checkout through the ledger, outside any batch
static int
s_run_checkout (toy_t *toy, const char *saga_id, const char *checkout_id, ck_type_t type,
                uint32_t attempt, ck_reply_t *reply)
{
    ck_request_t request;
    s_request (&request, reply, saga_id, type, attempt);
    snprintf (request.checkout_id, sizeof request.checkout_id, "%s", checkout_id);
    return ledger_run (participant_store_ledger (s_store), &s_toy, toy, &request, reply);
}

Test (participant_store, a_second_saga_for_a_checkout_is_refused)
{
    toy_t toy = { s_store, 0, CK_OUTCOME_OK, false, false, 0 };
    ck_reply_t reply;
    cr_assert_eq (s_run_checkout (&toy, "saga-a", "co-1", CK_TYPE_RESERVE_INVENTORY, 1,
                                  &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    cr_expect_str_eq (reply.result_id, "res-1");
    for (uint32_t attempt = 1; attempt <= 2; attempt++) {
        cr_assert_eq (s_run_checkout (&toy, "saga-b", "co-1", CK_TYPE_RESERVE_INVENTORY,
                                      attempt, &reply), 0);
        cr_expect_eq (reply.outcome, CK_OUTCOME_REJECTED);
        cr_expect_str_eq (reply.reason.code, "duplicate_checkout");
        cr_expect_str_eq (reply.reason.message, "checkout co-1 is held by saga saga-a");
        cr_expect_str_empty (reply.result_id);
    }
    cr_expect_eq (toy.calls, 1, "the second saga's request did nothing");
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM effects"), 1);
    //  any forward type of the table, not only the first step's
    cr_assert_eq (s_run_checkout (&toy, "saga-b", "co-1", CK_TYPE_AUTHORIZE_PAYMENT, 1,
                                  &reply), 0);
    cr_expect_str_eq (reply.reason.code, "duplicate_checkout");
    cr_expect_eq (toy.calls, 1);
    //  the first saga goes on: its repeat and its next step
    cr_assert_eq (s_run_checkout (&toy, "saga-a", "co-1", CK_TYPE_RESERVE_INVENTORY, 2,
                                  &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    cr_expect_str_eq (reply.result_id, "res-1");
    cr_assert_eq (s_run_checkout (&toy, "saga-a", "co-1", CK_TYPE_AUTHORIZE_PAYMENT, 1,
                                  &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    cr_expect_eq (toy.calls, 2);
    //  the second saga's compensations find no effect of theirs to undo
    cr_assert_eq (s_run_checkout (&toy, "saga-b", "co-1", CK_TYPE_RELEASE_INVENTORY, 1,
                                  &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    cr_expect_eq (toy.forward_id, 0, "no forward effect handed to the release");
    cr_assert_eq (s_run_checkout (&toy, "saga-b", "co-1", CK_TYPE_VOID_PAYMENT, 1,
                                  &reply), 0);
    cr_expect_eq (toy.forward_id, 0);
    //  while the first saga's release gets its reservation
    cr_assert_eq (s_run_checkout (&toy, "saga-a", "co-1", CK_TYPE_RELEASE_INVENTORY, 1,
                                  &reply), 0);
    cr_expect_eq (toy.forward_id, 1);
    //  another checkout is free
    cr_assert_eq (s_run_checkout (&toy, "saga-c", "co-2", CK_TYPE_RESERVE_INVENTORY, 1,
                                  &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM ledger"
                                 " WHERE checkout_id IS NOT NULL"), 3,
                  "only ok forward answers hold a checkout");
}

//  A refusal is no effect: the checkout stays free for another saga
Test (participant_store, a_refused_saga_does_not_hold_its_checkout)
{
    toy_t toy = { s_store, 0, CK_OUTCOME_REJECTED, false, false, 0 };
    ck_reply_t reply;
    cr_assert_eq (s_run_checkout (&toy, "saga-a", "co-1", CK_TYPE_RESERVE_INVENTORY, 1,
                                  &reply), 0);
    cr_expect_str_eq (reply.reason.code, "out_of_stock");
    toy.outcome = CK_OUTCOME_OK;
    cr_assert_eq (s_run_checkout (&toy, "saga-b", "co-1", CK_TYPE_RESERVE_INVENTORY, 1,
                                  &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    cr_expect_eq (toy.calls, 2);
}

//  Inside one batch (one transaction) the second saga sees the first's
//  uncommitted effect
Test (participant_store, two_sagas_of_a_checkout_in_one_batch)
{
    toy_t toy = { s_store, 0, CK_OUTCOME_OK, false, false, 0 };
    ck_reply_t first, second;
    cr_assert_eq (participant_store_batch_begin (s_store), 0);
    cr_assert_eq (s_run_checkout (&toy, "saga-a", "co-1", CK_TYPE_RESERVE_INVENTORY, 1,
                                  &first), 0);
    cr_assert_eq (s_run_checkout (&toy, "saga-b", "co-1", CK_TYPE_RESERVE_INVENTORY, 1,
                                  &second), 0);
    cr_assert_eq (participant_store_batch_commit (s_store), 0);
    cr_expect_eq (first.outcome, CK_OUTCOME_OK);
    cr_expect_str_eq (second.reason.code, "duplicate_checkout");
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM effects"), 1);
}

Test (participant_store, types_outside_the_step_table_are_refused)
{
    toy_t toy = { s_store, 0, CK_OUTCOME_OK, false, false, 0 };
    ck_reply_t reply;
    cr_expect_eq (s_run (&toy, "saga-11", CK_TYPE_NONE, 1, &reply), -1);
    cr_expect_eq (toy.calls, 0);
}

Test (participant_store, find_and_record)
{
    ledger_t *ledger = participant_store_ledger (s_store);
    ledger_entry_t entry = { .outcome = CK_OUTCOME_OK, .detail = "[1]" };
    ledger_entry_t own, other;
    char holder [CK_ID_SIZE] = "";
    ledger_query_t reserve = {
        "saga-12", "co-12", CK_TYPE_RESERVE_INVENTORY, CK_TYPE_RELEASE_INVENTORY, true
    };
    cr_expect_eq (ledger->find (ledger, &reserve, &own, &other, holder), 0);
    cr_expect_eq (ledger->record (ledger, "saga-12", CK_TYPE_RESERVE_INVENTORY, "co-12",
                                  &entry), 0);
    cr_expect_eq (entry.id, 1);
    cr_expect_eq (ledger->record (ledger, "saga-12", CK_TYPE_RESERVE_INVENTORY, "co-12",
                                  &entry), -1, "recorded once only");
    entry.detail [0] = 0;
    cr_expect_eq (ledger->record (ledger, "saga-12", CK_TYPE_RELEASE_INVENTORY, NULL,
                                  &entry), 0);
    ledger_query_t release = {
        "saga-12", "co-12", CK_TYPE_RELEASE_INVENTORY, CK_TYPE_RESERVE_INVENTORY, false
    };
    cr_expect_eq (ledger->find (ledger, &release, &own, &other, holder),
                  LEDGER_FOUND_OWN | LEDGER_FOUND_PARTNER);
    //  another saga's forward request of that checkout finds its holder
    reserve.saga_id = "saga-13";
    cr_expect_eq (ledger->find (ledger, &reserve, &own, &other, holder), LEDGER_FOUND_HELD);
    cr_expect_str_eq (holder, "saga-12");
    reserve.checkout_id = "co-13";
    cr_expect_eq (ledger->find (ledger, &reserve, &own, &other, holder), 0);
    cr_expect_eq (own.id, 2, "numbers follow the rows");
    cr_expect_eq (other.id, 1);
    cr_expect_str_eq (other.detail, "[1]");
    cr_expect_eq (other.outcome, CK_OUTCOME_OK);
}

//  One request is one lookup, its effect and one insert, inside the
//  batch's BEGIN ... COMMIT; no savepoint
Test (participant_store, a_request_costs_a_lookup_and_an_insert)
{
    toy_t toy = { s_store, 0, CK_OUTCOME_OK, false, false, 0 };
    ck_reply_t reply;
    store_stats_t before, after;
    store_t *store = participant_store_store (s_store);
    cr_assert_eq (participant_store_batch_begin (s_store), 0);
    cr_assert_eq (s_run (&toy, "saga-13", CK_TYPE_RESERVE_INVENTORY, 1, &reply), 0);
    store_stats (store, &before);
    cr_assert_eq (s_run (&toy, "saga-14", CK_TYPE_RESERVE_INVENTORY, 1, &reply), 0);
    store_stats (store, &after);
    cr_expect_eq (after.statements - before.statements, 3, "lookup, effect, insert");
    store_stats (store, &before);
    cr_assert_eq (s_run (&toy, "saga-14", CK_TYPE_RESERVE_INVENTORY, 2, &reply), 0);
    store_stats (store, &after);
    cr_expect_eq (after.statements - before.statements, 1, "a repeat is its lookup");
    cr_assert_eq (participant_store_batch_commit (s_store), 0);
}

Test (participant_store, the_view_names_types_outcomes_and_result_ids)
{
    toy_t toy = { s_store, 0, CK_OUTCOME_OK, false, false, 0 };
    ck_reply_t reply;
    cr_assert_eq (s_run (&toy, "saga-15", CK_TYPE_AUTHORIZE_PAYMENT, 1, &reply), 0);
    cr_assert_eq (s_run (&toy, "saga-15", CK_TYPE_VOID_PAYMENT, 1, &reply), 0);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM processed_requests WHERE"
                               " type = 'AuthorizePayment' AND outcome = 'ok'"
                               " AND result_id = 'auth-1'"), 1);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM processed_requests WHERE"
                               " type = 'VoidPayment' AND result_id IS NULL"), 1);
}

//  The version 1 schema, as the previous build wrote it
#define SCHEMA_V1 \
    "CREATE TABLE processed_requests (saga_id TEXT NOT NULL, type TEXT NOT NULL," \
    " outcome TEXT NOT NULL CHECK (outcome IN ('ok', 'rejected')), reason_code TEXT," \
    " reason_message TEXT, reason_sku TEXT, result_id TEXT, recorded_at INTEGER NOT NULL," \
    " PRIMARY KEY (saga_id, type)) WITHOUT ROWID;" \
    "CREATE TABLE stock (sku TEXT PRIMARY KEY NOT NULL," \
    " available INTEGER NOT NULL CHECK (available >= 0)) WITHOUT ROWID;" \
    "CREATE TABLE reservations (id INTEGER PRIMARY KEY," \
    " reservation_id TEXT NOT NULL UNIQUE, saga_id TEXT NOT NULL UNIQUE," \
    " status TEXT NOT NULL CHECK (status IN ('held', 'released'))," \
    " created_at INTEGER NOT NULL, released_at INTEGER);" \
    "CREATE TABLE reservation_lines (reservation_id TEXT NOT NULL, line INTEGER NOT NULL," \
    " sku TEXT NOT NULL, qty INTEGER NOT NULL CHECK (qty > 0)," \
    " PRIMARY KEY (reservation_id, line)) WITHOUT ROWID;" \
    "INSERT INTO stock VALUES ('SKU-1', 7);" \
    "INSERT INTO reservations VALUES (1, 'res-1', 'saga-1', 'held', 1, NULL);" \
    "INSERT INTO reservation_lines VALUES ('res-1', 0, 'SKU-1', 3);" \
    "INSERT INTO processed_requests VALUES ('saga-1', 'ReserveInventory', 'ok', NULL," \
    " NULL, NULL, 'res-1', 1);" \
    "PRAGMA user_version = 1;"

Test (participant_store, a_version_1_file_is_refused_untouched)
{
    char path [160];
    snprintf (path, sizeof path, "%s/v1.db", s_dir);
    store_t *store = store_new (path, NULL);
    cr_assert_not_null (store);
    cr_assert_eq (store_exec (store, SCHEMA_V1), 0);
    store_destroy (&store);
    cr_expect_null (participant_store_new (path, NULL));
    store = store_new (path, NULL);
    cr_assert_not_null (store);
    cr_expect_eq (store_user_version (store), 1);
    sqlite3_stmt *stmt = store_prepare (store,
        "SELECT COUNT (*) FROM sqlite_schema WHERE name = 'ledger'");
    cr_assert_eq (sqlite3_step (stmt), SQLITE_ROW);
    cr_expect_eq (sqlite3_column_int (stmt, 0), 0, "nothing created");
    sqlite3_reset (stmt);
    store_destroy (&store);
}

//  Schema 2 as it was: the ledger without checkout_id
#define SCHEMA_V2 \
    "CREATE TABLE ledger (id INTEGER PRIMARY KEY, saga_id TEXT NOT NULL," \
    " type INTEGER NOT NULL, outcome INTEGER NOT NULL CHECK (outcome IN (1, 2))," \
    " reason_code TEXT, reason_message TEXT, reason_sku TEXT, detail TEXT," \
    " recorded_at INTEGER NOT NULL, UNIQUE (saga_id, type));" \
    "CREATE VIEW processed_requests AS SELECT saga_id, type, outcome FROM ledger;" \
    "INSERT INTO ledger VALUES (1, 'saga-old', 1, 1, NULL, NULL, NULL, '[]', 1);" \
    "PRAGMA user_version = 2;"

//  Makes a file of schema 2 at path, with extra (more SQL) run in it
static void
s_make_v2 (const char *path, const char *extra)
{
    store_t *store = store_new (path, NULL);
    cr_assert_not_null (store);
    cr_assert_eq (store_exec (store, SCHEMA_V2), 0);
    if (extra)
        cr_assert_eq (store_exec (store, extra), 0);
    store_destroy (&store);
}

Test (participant_store, a_version_2_file_is_migrated_in_place)
{
    char path [160];
    snprintf (path, sizeof path, "%s/v2.db", s_dir);
    s_make_v2 (path, NULL);
    participant_store_destroy (&s_store);
    s_store = participant_store_new (path, NULL);
    cr_assert_not_null (s_store, "a version 2 file opens");
    cr_expect_eq (store_user_version (participant_store_store (s_store)),
                  PARTICIPANT_STORE_VERSION);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM ledger"
                                 " WHERE saga_id = 'saga-old' AND checkout_id IS NULL"), 1,
                  "the old entry is kept");
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM sqlite_schema"
                                 " WHERE name = 'ledger_checkout'"), 1, "the index");
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM processed_requests"
                                 " WHERE checkout_id IS NULL AND result_id = 'res-1'"), 1,
                  "the view as this version makes it");
    //  the old entry's repeat is answered; new entries hold their checkout
    cr_assert_eq (participant_store_schema (s_store,
                  "CREATE TABLE IF NOT EXISTS effects (saga_id TEXT);"), 0);
    toy_t toy = { s_store, 0, CK_OUTCOME_OK, false, false, 0 };
    ck_reply_t reply;
    cr_assert_eq (s_run_checkout (&toy, "saga-old", "co-old", CK_TYPE_RESERVE_INVENTORY, 2,
                                  &reply), 0);
    cr_expect_str_eq (reply.result_id, "res-1");
    cr_assert_eq (s_run_checkout (&toy, "saga-a", "co-1", CK_TYPE_RESERVE_INVENTORY, 1,
                                  &reply), 0);
    cr_assert_eq (s_run_checkout (&toy, "saga-b", "co-1", CK_TYPE_RESERVE_INVENTORY, 1,
                                  &reply), 0);
    cr_expect_str_eq (reply.reason.code, "duplicate_checkout");
    participant_store_destroy (&s_store);
    s_store = participant_store_new (path, NULL);
    cr_expect_not_null (s_store, "and reopens as it is");
}

//  A migration that fails half-way leaves the file of schema 2, whole
Test (participant_store, a_failed_migration_changes_nothing)
{
    char path [160];
    snprintf (path, sizeof path, "%s/v2-bad.db", s_dir);
    //  a table under the index's name makes the migration's last step fail
    s_make_v2 (path, "CREATE TABLE ledger_checkout (x);");
    participant_store_destroy (&s_store);
    cr_expect_null (participant_store_new (path, NULL));
    store_t *store = store_new (path, NULL);
    cr_assert_not_null (store);
    cr_expect_eq (store_user_version (store), 2);
    sqlite3_stmt *stmt = store_prepare (store,
        "SELECT COUNT (*) FROM pragma_table_info ('ledger') WHERE name = 'checkout_id'");
    cr_assert_eq (sqlite3_step (stmt), SQLITE_ROW);
    cr_expect_eq (sqlite3_column_int (stmt, 0), 0, "the column was not added");
    sqlite3_reset (stmt);
    store_destroy (&store);
}

Test (participant_store, a_newer_file_is_refused_and_a_current_one_reopens)
{
    participant_store_destroy (&s_store);
    s_store = participant_store_new (s_path, NULL);
    cr_assert_not_null (s_store, "the current version reopens");
    cr_expect_eq (store_user_version (participant_store_store (s_store)),
                  PARTICIPANT_STORE_VERSION);
    cr_assert_eq (store_set_user_version (participant_store_store (s_store),
                                          PARTICIPANT_STORE_VERSION + 1), 0);
    participant_store_destroy (&s_store);
    cr_expect_null (participant_store_new (s_path, NULL));
}

//  -------------------------------------------------------------------------
//  Retention

//  200 sagas answered, the first 150 ten days ago; toy_details is a detail
//  table (keyed by the entry's number), effects is like the stock: never
//  touched by retention
static void
s_fill_for_retention (toy_t *toy)
{
    cr_assert_eq (participant_store_schema (s_store,
                  "CREATE TABLE toy_details (id INTEGER PRIMARY KEY, saga_id TEXT);"), 0);
    participant_store_detail (s_store, "toy_details");
    ck_reply_t reply;
    char saga_id [32];
    for (int k = 1; k <= 200; k++) {
        snprintf (saga_id, sizeof saga_id, "saga-%d", k);
        cr_assert_eq (s_run (toy, saga_id, CK_TYPE_RESERVE_INVENTORY, 1, &reply), 0);
    }
    cr_assert_eq (store_exec (participant_store_store (s_store),
                  "INSERT INTO toy_details SELECT id, saga_id FROM ledger;"
                  "UPDATE ledger SET recorded_at = recorded_at - 864000000 WHERE id <= 150;"), 0);
}

Test (participant_store, expire_takes_old_entries_and_their_details_in_bounded_batches)
{
    toy_t toy = { s_store, 0, CK_OUTCOME_OK, false, false, 0 };
    s_fill_for_retention (&toy);
    int64_t day_ago = zclock_time () - 86400000;
    cr_expect_eq (participant_store_expire (s_store, day_ago - 86400000 * 10LL, 64), 0,
                  "none is older than 20 days");
    cr_expect_eq (participant_store_expire (s_store, day_ago, 64), 64, "a batch is bounded");
    cr_expect_eq (participant_store_expire (s_store, day_ago, 64), 64);
    cr_expect_eq (participant_store_expire (s_store, day_ago, 64), 22);
    cr_expect_eq (participant_store_expire (s_store, day_ago, 64), 0, "recent entries stay");
    cr_expect_eq (participant_store_expired (s_store), 150);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM ledger"), 50);
    cr_expect_eq (pst_query_int (s_store, "SELECT MIN (id) FROM ledger"), 151);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM toy_details"), 50);
    cr_expect_eq (pst_query_int (s_store, "SELECT MIN (id) FROM toy_details"), 151);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM effects"), 200,
                  "never the service's own state");
    //  A recent saga still gets its recorded answer
    ck_reply_t reply;
    cr_assert_eq (s_run (&toy, "saga-151", CK_TYPE_RESERVE_INVENTORY, 2, &reply), 0);
    cr_expect_str_eq (reply.result_id, "res-151");
    cr_expect_eq (toy.calls, 200);
}

Test (participant_store, expire_keeps_the_newest_entry_so_numbers_never_repeat)
{
    toy_t toy = { s_store, 0, CK_OUTCOME_OK, false, false, 0 };
    s_fill_for_retention (&toy);
    int64_t future = zclock_time () + 86400000;
    while (participant_store_expire (s_store, future, 64) > 0)
        ;
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM ledger"), 1);
    cr_expect_eq (pst_query_int (s_store, "SELECT id FROM ledger"), 200);
    ck_reply_t reply;
    cr_assert_eq (s_run (&toy, "saga-new", CK_TYPE_RESERVE_INVENTORY, 1, &reply), 0);
    cr_expect_str_eq (reply.result_id, "res-201");
}

Test (participant_store, the_idle_hook_runs_retention)
{
    toy_t toy = { s_store, 0, CK_OUTCOME_OK, false, false, 0 };
    s_fill_for_retention (&toy);
    participant_store_idle (s_store);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM ledger"), 200, "off by default");
    participant_store_set_retention (s_store, 86400000);
    participant_store_idle (s_store);
    //  a time budget bounds one idle call: it may leave some for the next
    int64_t left = pst_query_int (s_store, "SELECT COUNT (*) FROM ledger");
    cr_expect (left >= 50 && left <= 200 - 128, "left=%" PRId64, left);
    for (int turn = 0; turn < 3 && left > 50; turn++) {
        zclock_sleep (1100);            //  the next batch a second later
        participant_store_idle (s_store);
        left = pst_query_int (s_store, "SELECT COUNT (*) FROM ledger");
    }
    cr_expect_eq (left, 50);
}

//  After a busy turn, one batch at a time, and only while they come full
Test (participant_store, after_batch_runs_one_retention_batch_while_there_is_a_backlog)
{
    toy_t toy = { s_store, 0, CK_OUTCOME_OK, false, false, 0 };
    s_fill_for_retention (&toy);
    participant_store_set_retention (s_store, 86400000);
    participant_store_after_batch (s_store);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM ledger"), 200 - 128);
    participant_store_after_batch (s_store);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM ledger"), 50);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM toy_details"), 50);
    cr_assert_eq (store_exec (participant_store_store (s_store),
                  "UPDATE ledger SET recorded_at = recorded_at - 864000000 WHERE id < 170;"), 0);
    participant_store_after_batch (s_store);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM ledger"), 50,
                  "the last batch was not full: the next waits a second");
}

/*  test_inventory_rules.c - tests of the inventory participant's rules
    Reservations all or nothing, release, tombstones, seeding, two writers.
*/
#if !__has_include ("inventory_rules.h")
//  CMake builds actors/inventory/ into library ck_inventory only once the
//  directory has a main.c; until then there is nothing to link against.
#include <criterion/criterion.h>
Test (inventory_rules, needs_actors_inventory_main, .disabled = true) {}
#else
#include <criterion/criterion.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <czmq.h>
#include "inventory_rules.h"
#include "process_helpers.h"
#include "participant_store_helpers.h"

static char s_dir [64];
static char s_path [128];
static participant_store_t *s_store;
static inventory_rules_t *s_rules;

//  The rules over the SQLite repository and ledger of store
static inventory_rules_t *
s_rules_over (participant_store_t *store)
{
    inventory_repo_t *repo = inventory_repo_sqlite_new (store);
    return repo? inventory_rules_new (&repo, participant_store_ledger (store)): NULL;
}

static void
s_teardown (void)
{
    inventory_rules_destroy (&s_rules);
    participant_store_destroy (&s_store);
    ph_rmrf (s_dir);
}

//  Writes text to a file of the test's directory; returns its path (static)
static const char *
s_write_file (const char *name, const char *text)
{
    static char path [256];
    snprintf (path, sizeof path, "%s/%s", s_dir, name);
    FILE *file = fopen (path, "w");
    cr_assert_not_null (file);
    fputs (text, file);
    fclose (file);
    return path;
}

static void
s_open (void)
{
    s_store = participant_store_new (s_path, NULL);
    cr_assert_not_null (s_store);
    s_rules = s_rules_over (s_store);
    cr_assert_not_null (s_rules);
}

//  A fresh store with a small catalog
static void
s_setup (void)
{
    cr_assert_eq (ph_mkdtemp ("ck-test-inventory", s_dir, sizeof s_dir), 0);
    snprintf (s_path, sizeof s_path, "%s/inventory.db", s_dir);
    s_open ();
    const char *seed = s_write_file ("seed.csv",
        "# test catalog\nSKU-A,10\nSKU-B,5\nSKU-OOS,0\n");
    cr_assert_eq (inventory_rules_seed (s_rules, seed), 0);
}

TestSuite (inventory_rules, .init = s_setup, .fini = s_teardown, .timeout = 60);


//  Builds a request; items as "SKU-A", 3, "SKU-B", 2, ..., NULL
static void
s_request (ck_request_t *request, const char *saga_id, ck_type_t type, uint32_t attempt, ...)
{
    memset (request, 0, sizeof *request);
    snprintf (request->saga_id, sizeof request->saga_id, "%s", saga_id);
    snprintf (request->checkout_id, sizeof request->checkout_id, "co-%s", saga_id);
    request->type = type;
    request->attempt = attempt;
    va_list args;
    va_start (args, attempt);
    const char *sku;
    while ((sku = va_arg (args, const char *))) {
        ck_item_t *item = &request->items [request->item_count++];
        snprintf (item->sku, sizeof item->sku, "%s", sku);
        item->qty = va_arg (args, uint32_t);
    }
    va_end (args);
}

//  Runs one request in its own batch, as the runtime would; returns the
//  handler's return code
static int
s_handle (const ck_request_t *request, ck_reply_t *reply)
{
    memset (reply, 0, sizeof *reply);
    memcpy (reply->saga_id, request->saga_id, sizeof reply->saga_id);
    reply->type = request->type;
    reply->attempt = request->attempt;
    cr_assert_eq (participant_store_batch_begin (s_store), 0);
    int rc = inventory_rules_handle (s_rules, request, reply);
    cr_assert_eq (participant_store_batch_commit (s_store), 0);
    return rc;
}

static int64_t
s_available (const char *sku)
{
    return inventory_rules_available (s_rules, sku);
}

Test (inventory_rules, reserve_takes_every_line)
{
    ck_request_t request;
    ck_reply_t reply;
    s_request (&request, "saga-1", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 3, "SKU-B", 2, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    cr_expect_str_eq (reply.result_id, "res-1");
    cr_expect_str_eq (reply.reason.code, "");
    cr_expect_eq (s_available ("SKU-A"), 7);
    cr_expect_eq (s_available ("SKU-B"), 3);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM reservations"
                               " WHERE saga_id = 'saga-1' AND status = 'held'"
                               " AND reservation_id = 'res-1'"), 1);
    cr_expect_eq (pst_query_int (s_store, "SELECT SUM (qty) FROM reservation_lines"
                               " WHERE reservation_id = 'res-1'"), 5);
    s_request (&request, "saga-2", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 1, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_str_eq (reply.result_id, "res-2");
}

Test (inventory_rules, repeat_returns_the_first_answer_without_effect)
{
    ck_request_t request;
    ck_reply_t reply;
    s_request (&request, "saga-1", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 3, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_str_eq (reply.result_id, "res-1");
    s_request (&request, "saga-1", CK_TYPE_RESERVE_INVENTORY, 2, "SKU-A", 3, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    cr_expect_str_eq (reply.result_id, "res-1");
    cr_expect_eq (reply.attempt, 2);
    cr_expect_eq (s_available ("SKU-A"), 7);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM reservations"), 1);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM reservation_lines"), 1);
}

Test (inventory_rules, unknown_sku_is_rejected_and_remembered)
{
    ck_request_t request;
    ck_reply_t reply;
    s_request (&request, "saga-1", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 1, "SKU-NOPE", 1, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_REJECTED);
    cr_expect_str_eq (reply.reason.code, "unknown_sku");
    cr_expect_str_eq (reply.reason.sku, "SKU-NOPE");
    cr_expect_neq (reply.reason.message [0], 0);
    cr_expect_str_eq (reply.result_id, "");
    cr_expect_eq (s_available ("SKU-A"), 10, "the first line was given back");
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM reservations"), 0);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM reservation_lines"), 0);
    //  the sku appears later: a repeat still gets the first answer
    cr_assert_eq (store_exec (participant_store_store (s_store), "INSERT INTO stock VALUES ('SKU-NOPE', 5)"), 0);
    request.attempt = 2;
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_REJECTED);
    cr_expect_str_eq (reply.reason.code, "unknown_sku");
    cr_expect_str_eq (reply.reason.sku, "SKU-NOPE");
    cr_expect_eq (s_available ("SKU-NOPE"), 5);
}

Test (inventory_rules, a_short_last_line_reserves_nothing)
{
    ck_request_t request;
    ck_reply_t reply;
    s_request (&request, "saga-1", CK_TYPE_RESERVE_INVENTORY, 1,
               "SKU-A", 3, "SKU-B", 2, "SKU-B", 4, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_REJECTED);
    cr_expect_str_eq (reply.reason.code, "out_of_stock");
    cr_expect_str_eq (reply.reason.sku, "SKU-B");
    cr_expect_eq (s_available ("SKU-A"), 10);
    cr_expect_eq (s_available ("SKU-B"), 5);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM reservations"), 0);
    s_request (&request, "saga-2", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-OOS", 1, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_str_eq (reply.reason.code, "out_of_stock");
    cr_expect_str_eq (reply.reason.sku, "SKU-OOS");
    cr_expect_eq (s_available ("SKU-OOS"), 0);
}

Test (inventory_rules, repeated_skus_add_up)
{
    ck_request_t request;
    ck_reply_t reply;
    //  each line alone fits, together they don't
    s_request (&request, "saga-1", CK_TYPE_RESERVE_INVENTORY, 1,
               "SKU-A", 4, "SKU-A", 4, "SKU-A", 3, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_REJECTED);
    cr_expect_str_eq (reply.reason.code, "out_of_stock");
    cr_expect_eq (s_available ("SKU-A"), 10);
    //  exactly everything
    s_request (&request, "saga-2", CK_TYPE_RESERVE_INVENTORY, 1,
               "SKU-A", 4, "SKU-B", 5, "SKU-A", 6, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    cr_expect_eq (s_available ("SKU-A"), 0);
    cr_expect_eq (s_available ("SKU-B"), 0);
    //  and the release gives back the sum of the lines
    s_request (&request, "saga-2", CK_TYPE_RELEASE_INVENTORY, 1, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    cr_expect_eq (s_available ("SKU-A"), 10);
    cr_expect_eq (s_available ("SKU-B"), 5);
}

Test (inventory_rules, release_returns_exactly_what_was_taken_once)
{
    ck_request_t request;
    ck_reply_t reply;
    s_request (&request, "saga-1", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 3, "SKU-B", 1, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    s_request (&request, "saga-2", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 2, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (s_available ("SKU-A"), 5);
    for (uint32_t attempt = 1; attempt <= 3; attempt++) {
        s_request (&request, "saga-1", CK_TYPE_RELEASE_INVENTORY, attempt, NULL);
        cr_assert_eq (s_handle (&request, &reply), 0);
        cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
        cr_expect_str_eq (reply.result_id, "");
        cr_expect_eq (s_available ("SKU-A"), 8, "attempt %u", attempt);
        cr_expect_eq (s_available ("SKU-B"), 5, "attempt %u", attempt);
    }
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM reservations"
                               " WHERE saga_id = 'saga-1' AND status = 'released'"
                               " AND released_at IS NOT NULL"), 1);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM reservations"
                               " WHERE saga_id = 'saga-2' AND status = 'held'"), 1);
    //  a reserve repeated after its release keeps its first answer, no effect
    s_request (&request, "saga-1", CK_TYPE_RESERVE_INVENTORY, 4, "SKU-A", 3, "SKU-B", 1, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    cr_expect_str_eq (reply.result_id, "res-1");
    cr_expect_eq (s_available ("SKU-A"), 8);
}

Test (inventory_rules, release_gives_back_each_line_and_nothing_else)
{
    ck_request_t request;
    ck_reply_t reply;
    //  saga-1 holds SKU-A on two lines; saga-2 holds SKU-A and SKU-B
    s_request (&request, "saga-1", CK_TYPE_RESERVE_INVENTORY, 1,
               "SKU-A", 2, "SKU-A", 3, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    s_request (&request, "saga-2", CK_TYPE_RESERVE_INVENTORY, 1,
               "SKU-B", 4, "SKU-A", 1, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (s_available ("SKU-A"), 4);
    cr_expect_eq (s_available ("SKU-B"), 1);
    s_request (&request, "saga-1", CK_TYPE_RELEASE_INVENTORY, 1, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    cr_expect_eq (s_available ("SKU-A"), 9, "both lines given back, saga-2's kept");
    cr_expect_eq (s_available ("SKU-B"), 1);
    cr_expect_eq (s_available ("SKU-OOS"), 0);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM reservations"
                               " WHERE saga_id = 'saga-2' AND status = 'held'"), 1);
    s_request (&request, "saga-2", CK_TYPE_RELEASE_INVENTORY, 1, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (s_available ("SKU-A"), 10);
    cr_expect_eq (s_available ("SKU-B"), 5);
    //  a saga that never reserved changes nothing
    s_request (&request, "saga-3", CK_TYPE_RELEASE_INVENTORY, 1, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    cr_expect_eq (s_available ("SKU-A"), 10);
    cr_expect_eq (s_available ("SKU-B"), 5);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM reservations"
                               " WHERE status = 'released'"), 2);
}

Test (inventory_rules, release_first_leaves_a_tombstone)
{
    ck_request_t request;
    ck_reply_t reply;
    s_request (&request, "saga-1", CK_TYPE_RELEASE_INVENTORY, 1, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    s_request (&request, "saga-1", CK_TYPE_RESERVE_INVENTORY, 2, "SKU-A", 3, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_REJECTED);
    cr_expect_str_eq (reply.reason.code, "compensated");
    cr_expect_str_eq (reply.result_id, "");
    cr_expect_eq (s_available ("SKU-A"), 10);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM reservations"), 0);
    //  and again, the same answer
    request.attempt = 3;
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_str_eq (reply.reason.code, "compensated");
    cr_expect_eq (s_available ("SKU-A"), 10);
    //  a repeated release does nothing either
    s_request (&request, "saga-1", CK_TYPE_RELEASE_INVENTORY, 2, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    cr_expect_eq (s_available ("SKU-A"), 10);
}

Test (inventory_rules, release_after_a_rejection_changes_nothing)
{
    ck_request_t request;
    ck_reply_t reply;
    s_request (&request, "saga-1", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 1, "SKU-B", 6, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_REJECTED);
    s_request (&request, "saga-1", CK_TYPE_RELEASE_INVENTORY, 1, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    cr_expect_eq (s_available ("SKU-A"), 10);
    cr_expect_eq (s_available ("SKU-B"), 5);
}

static void
s_reply_for (const ck_request_t *request, ck_reply_t *reply)
{
    memset (reply, 0, sizeof *reply);
    memcpy (reply->saga_id, request->saga_id, sizeof reply->saga_id);
    reply->type = request->type;
    reply->attempt = request->attempt;
}

Test (inventory_rules, one_batch_one_rejection_the_other_commits)
{
    ck_request_t first, second;
    ck_reply_t first_reply, second_reply;
    s_request (&first, "saga-1", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 2, NULL);
    s_request (&second, "saga-2", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 3, "SKU-B", 9, NULL);
    s_reply_for (&first, &first_reply);
    s_reply_for (&second, &second_reply);
    cr_assert_eq (participant_store_batch_begin (s_store), 0);
    cr_expect_eq (inventory_rules_reserve (s_rules, &first, &first_reply), 0);
    cr_expect_eq (inventory_rules_reserve (s_rules, &second, &second_reply), 0);
    cr_assert_eq (participant_store_batch_commit (s_store), 0);
    cr_expect_eq (first_reply.outcome, CK_OUTCOME_OK);
    cr_expect_eq (second_reply.outcome, CK_OUTCOME_REJECTED);
    cr_expect_eq (s_available ("SKU-A"), 8);
    cr_expect_eq (s_available ("SKU-B"), 5);
}

Test (inventory_rules, one_batch_one_failure_the_other_commits)
{
    //  a line of 0 units fails before anything is written
    ck_request_t first, second, third;
    ck_reply_t replies [3];
    s_request (&first, "saga-1", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 2, NULL);
    s_request (&second, "saga-2", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 1, "SKU-B", 0, NULL);
    s_request (&third, "saga-3", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 1, NULL);
    s_reply_for (&first, &replies [0]);
    s_reply_for (&second, &replies [1]);
    s_reply_for (&third, &replies [2]);
    cr_assert_eq (participant_store_batch_begin (s_store), 0);
    cr_expect_eq (inventory_rules_reserve (s_rules, &first, &replies [0]), 0);
    cr_expect_eq (inventory_rules_reserve (s_rules, &second, &replies [1]), -1);
    cr_expect_eq (inventory_rules_reserve (s_rules, &third, &replies [2]), 0);
    cr_assert_eq (participant_store_batch_commit (s_store), 0);
    cr_expect_eq (replies [0].outcome, CK_OUTCOME_OK);
    cr_expect_str_eq (replies [0].result_id, "res-1");
    cr_expect_eq (replies [1].outcome, CK_OUTCOME_NONE);
    cr_expect_str_eq (replies [1].result_id, "");
    cr_expect_eq (replies [2].outcome, CK_OUTCOME_OK);
    cr_expect_str_eq (replies [2].result_id, "res-2");
    cr_expect_eq (s_available ("SKU-A"), 7);
    cr_expect_eq (s_available ("SKU-B"), 5);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM processed_requests"), 2);
}

Test (inventory_rules, a_failure_after_taking_fails_the_batch_and_a_retry_succeeds)
{
    //  a trigger makes saga-2's ledger entry fail, after its stock was taken:
    //  the batch refuses to commit, and the runtime rolls it all back
    cr_assert_eq (store_exec (participant_store_store (s_store),
        "CREATE TEMP TRIGGER boom BEFORE INSERT ON main.ledger"
        " WHEN NEW.saga_id = 'saga-2' BEGIN SELECT RAISE (ABORT, 'boom'); END;"), 0);
    ck_request_t requests [3];
    ck_reply_t replies [3];
    s_request (&requests [0], "saga-1", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 2, NULL);
    s_request (&requests [1], "saga-2", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 1,
               "SKU-B", 1, NULL);
    s_request (&requests [2], "saga-3", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 1, NULL);
    cr_assert_eq (participant_store_batch_begin (s_store), 0);
    for (int i = 0; i < 3; i++) {
        s_reply_for (&requests [i], &replies [i]);
        cr_expect_eq (inventory_rules_reserve (s_rules, &requests [i], &replies [i]),
                      i == 1? -1: 0);
    }
    cr_expect_eq (replies [1].outcome, CK_OUTCOME_NONE);
    cr_expect_eq (participant_store_batch_commit (s_store), -1);
    participant_store_batch_rollback (s_store);
    cr_expect_eq (s_available ("SKU-A"), 10);
    cr_expect_eq (s_available ("SKU-B"), 5);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM processed_requests"), 0);
    //  the coordinator retries them all, once the fault is gone
    cr_assert_eq (store_exec (participant_store_store (s_store), "DROP TRIGGER boom"), 0);
    for (int i = 0; i < 3; i++) {
        requests [i].attempt = 2;
        cr_assert_eq (s_handle (&requests [i], &replies [i]), 0);
        cr_expect_eq (replies [i].outcome, CK_OUTCOME_OK);
    }
    cr_expect_str_eq (replies [1].result_id, "res-2");
    cr_expect_eq (s_available ("SKU-A"), 6);
    cr_expect_eq (s_available ("SKU-B"), 4);
}

//  A reserve is its ledger lookup, one statement that takes every line
//  and its ledger insert, whatever the number of lines; a release the
//  same.  A refused cart adds a read per line up to the first short one,
//  to say which.
Test (inventory_rules, a_request_costs_three_statements_whatever_its_lines)
{
    cr_assert_eq (store_exec (participant_store_store (s_store),
        "INSERT INTO stock VALUES ('SKU-C', 100), ('SKU-D', 100), ('SKU-E', 100)"), 0);
    store_t *store = participant_store_store (s_store);
    ck_request_t request;
    ck_reply_t reply;
    store_stats_t before, after;
    const char *sagas [] = { "saga-1", "saga-2" };
    for (int n = 0; n < 2; n++) {
        if (n == 0)
            s_request (&request, sagas [n], CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 1, NULL);
        else
            s_request (&request, sagas [n], CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 1,
                       "SKU-B", 1, "SKU-C", 2, "SKU-D", 3, "SKU-E", 4, "SKU-C", 1, NULL);
        s_reply_for (&request, &reply);
        cr_assert_eq (participant_store_batch_begin (s_store), 0);
        store_stats (store, &before);
        cr_assert_eq (inventory_rules_reserve (s_rules, &request, &reply), 0);
        store_stats (store, &after);
        cr_assert_eq (participant_store_batch_commit (s_store), 0);
        cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
        cr_expect_eq (after.statements - before.statements, 3, "reserve of %u lines",
                      request.item_count);
        s_request (&request, sagas [n], CK_TYPE_RELEASE_INVENTORY, 1, NULL);
        s_reply_for (&request, &reply);
        cr_assert_eq (participant_store_batch_begin (s_store), 0);
        store_stats (store, &before);
        cr_assert_eq (inventory_rules_release (s_rules, &request, &reply), 0);
        store_stats (store, &after);
        cr_assert_eq (participant_store_batch_commit (s_store), 0);
        cr_expect_eq (after.statements - before.statements, 3, "release");
    }
    cr_expect_eq (s_available ("SKU-C"), 100);
    //  a repeat is one lookup
    s_request (&request, "saga-1", CK_TYPE_RESERVE_INVENTORY, 2, "SKU-A", 1, NULL);
    s_reply_for (&request, &reply);
    store_stats (store, &before);
    cr_assert_eq (s_handle (&request, &reply), 0);
    store_stats (store, &after);
    cr_expect_eq (after.statements - before.statements, 3, "BEGIN, lookup, COMMIT");
}

Test (inventory_rules, a_failed_commit_keeps_nothing)
{
    ck_request_t request;
    ck_reply_t reply;
    s_request (&request, "saga-1", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 2, NULL);
    s_reply_for (&request, &reply);
    cr_assert_eq (participant_store_batch_begin (s_store), 0);
    cr_expect_eq (inventory_rules_reserve (s_rules, &request, &reply), 0);
    participant_store_batch_rollback (s_store);
    cr_expect_eq (s_available ("SKU-A"), 10);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM processed_requests"), 0);
}

Test (inventory_rules, stock_can_never_go_negative)
{
    cr_expect_eq (store_exec (participant_store_store (s_store), "UPDATE stock SET available = -1 WHERE sku = 'SKU-A'"), -1);
    cr_expect_eq (s_available ("SKU-A"), 10);
}

Test (inventory_rules, other_types_are_refused)
{
    ck_request_t request;
    ck_reply_t reply;
    s_request (&request, "saga-1", CK_TYPE_AUTHORIZE_PAYMENT, 1, NULL);
    cr_expect_eq (s_handle (&request, &reply), -1);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM processed_requests"), 0);
}

Test (inventory_rules, stock_survives_a_restart_and_seed_is_skipped)
{
    ck_request_t request;
    ck_reply_t reply;
    s_request (&request, "saga-1", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 4, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    inventory_rules_destroy (&s_rules);
    participant_store_destroy (&s_store);
    s_open ();
    const char *seed = s_write_file ("other.csv", "SKU-A,99\nSKU-Z,1\n");
    cr_expect_eq (inventory_rules_seed (s_rules, seed), 1);
    cr_expect_eq (s_available ("SKU-A"), 6);
    cr_expect_eq (s_available ("SKU-Z"), -1);
    request.attempt = 2;
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_str_eq (reply.result_id, "res-1");
    cr_expect_eq (s_available ("SKU-A"), 6);
}

//  A seed file into a fresh database: returns what seed returned
static int
s_seed_fresh (const char *text)
{
    inventory_rules_destroy (&s_rules);
    participant_store_destroy (&s_store);
    unlink (s_path);
    char other [160];
    snprintf (other, sizeof other, "%s-wal", s_path);
    unlink (other);
    snprintf (other, sizeof other, "%s-shm", s_path);
    unlink (other);
    s_open ();
    return inventory_rules_seed (s_rules, s_write_file ("fresh.csv", text));
}

Test (inventory_rules, seed_reads_comments_blanks_and_spaces)
{
    cr_assert_eq (s_seed_fresh ("# header comment\n\n  SKU-1 , 7 # trailing\r\nSKU-2,0\n"
                                "   \nSKU-3,1000000"), 0);
    cr_expect_str_eq (inventory_rules_reason (s_rules), "");
    cr_expect_eq (s_available ("SKU-1"), 7);
    cr_expect_eq (s_available ("SKU-2"), 0);
    cr_expect_eq (s_available ("SKU-3"), 1000000);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM stock"), 3);
}

//  A malformed line is reported by file and line, and nothing is loaded
static void
s_expect_seed_error (const char *text, const char *where, const char *what)
{
    cr_expect_eq (s_seed_fresh (text), -1, "seed: %s", text);
    const char *reason = inventory_rules_reason (s_rules);
    cr_expect_not_null (strstr (reason, where), "reason: %s", reason);
    cr_expect_not_null (strstr (reason, what), "reason: %s", reason);
    cr_expect_not_null (strstr (reason, "fresh.csv"), "reason: %s", reason);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM stock"), 0, "seed: %s", text);
}

Test (inventory_rules, seed_errors_name_file_and_line)
{
    s_expect_seed_error ("SKU-1,1\n# fine\nSKU-2\n", ":3:", "sku,available");
    s_expect_seed_error ("SKU-1,1,2\n", ":1:", "sku,available");
    s_expect_seed_error ("SKU-1,-4\n", ":1:", "non-negative");
    s_expect_seed_error ("SKU-1,4x\n", ":1:", "non-negative");
    s_expect_seed_error ("SKU-1,\n", ":1:", "non-negative");
    s_expect_seed_error ("SKU-1,99999999999999999999999\n", ":1:", "non-negative");
    s_expect_seed_error ("SKU 1,4\n", ":1:", "sku");
    s_expect_seed_error (",4\n", ":1:", "sku");
    s_expect_seed_error ("SKU-1,1\nSKU-2,2\nSKU-1,3\n", ":3:", "duplicate");
}

Test (inventory_rules, seed_of_a_missing_file_fails)
{
    cr_expect_eq (inventory_rules_seed (s_rules, "/nonexistent/seed.csv"), -1);
    cr_expect_not_null (strstr (inventory_rules_reason (s_rules), "/nonexistent/seed.csv"));
}

Test (inventory_rules, the_w1_catalog_loads)
{
    const char *source = getenv ("CK_SOURCE_DIR");
    char path [512];
    if (source)
        snprintf (path, sizeof path, "%s/scripts/seeds/w1-catalog.csv", source);
    else                                //  run by hand: next to this file
        snprintf (path, sizeof path, "%.*s/../scripts/seeds/w1-catalog.csv",
                  (int) (strrchr (__FILE__, '/') - __FILE__), __FILE__);
    inventory_rules_destroy (&s_rules);
    participant_store_destroy (&s_store);
    unlink (s_path);
    s_open ();
    cr_assert_eq (inventory_rules_seed (s_rules, path), 0, "%s", inventory_rules_reason (s_rules));
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM stock"), 1001);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM stock WHERE available = 1000000"), 1000);
    cr_expect_eq (s_available ("SKU-0000"), 1000000);
    cr_expect_eq (s_available ("SKU-0999"), 1000000);
    cr_expect_eq (s_available ("SKU-OOS"), 0);
}

//  -------------------------------------------------------------------------
//  Two processes reserve the same scarce SKU at once

#define SCARCE_STOCK 500
#define PER_PROCESS  1000
#define BATCH        10

typedef struct {
    uint32_t ok;
    uint32_t out_of_stock;
    uint32_t other;                     //  anything else: a failure
} tally_t;

//  The child's whole life: its own store on the shared file, PER_PROCESS
//  single-unit reservations in batches; the tally goes up the pipe
static void
s_child (int process, int out)
{
    tally_t tally = { 0, 0, 0 };
    participant_store_t *store = participant_store_new (s_path, NULL);
    inventory_rules_t *rules = store? s_rules_over (store): NULL;
    if (!rules)
        tally.other = PER_PROCESS;
    for (int i = 0; rules && i < PER_PROCESS; i += BATCH) {
        ck_request_t requests [BATCH];
        ck_reply_t replies [BATCH];
        if (participant_store_batch_begin (store)) {
            tally.other += BATCH;
            continue;
        }
        int failed = 0;
        for (int j = 0; j < BATCH; j++) {
            char saga [32];
            snprintf (saga, sizeof saga, "p%d-%d", process, i + j);
            s_request (&requests [j], saga, CK_TYPE_RESERVE_INVENTORY, 1, "SKU-SCARCE", 1, NULL);
            s_reply_for (&requests [j], &replies [j]);
            failed |= inventory_rules_reserve (rules, &requests [j], &replies [j]);
        }
        if (participant_store_batch_commit (store) || failed) {
            participant_store_batch_rollback (store);
            tally.other += BATCH;
            continue;
        }
        for (int j = 0; j < BATCH; j++)
            if (replies [j].outcome == CK_OUTCOME_OK)
                tally.ok++;
            else
            if (strcmp (replies [j].reason.code, "out_of_stock") == 0)
                tally.out_of_stock++;
            else
                tally.other++;
    }
    inventory_rules_destroy (&rules);
    participant_store_destroy (&store);
    ssize_t written = write (out, &tally, sizeof tally);
    _exit (written == sizeof tally? 0: 1);
}

Test (inventory_rules, two_processes_never_oversell)
{
    cr_assert_eq (store_exec (participant_store_store (s_store), "INSERT INTO stock VALUES ('SKU-SCARCE', 500)"), 0);
    inventory_rules_destroy (&s_rules);
    participant_store_destroy (&s_store);           //  no connection crosses the fork
    int pipes [2][2];
    pid_t pids [2];
    for (int process = 0; process < 2; process++) {
        cr_assert_eq (pipe (pipes [process]), 0);
        pids [process] = fork ();
        cr_assert_neq (pids [process], -1);
        if (pids [process] == 0) {
            close (pipes [process][0]);
            s_child (process, pipes [process][1]);
        }
        close (pipes [process][1]);
    }
    tally_t total = { 0, 0, 0 };
    for (int process = 0; process < 2; process++) {
        tally_t tally;
        cr_expect_eq (read (pipes [process][0], &tally, sizeof tally), (ssize_t) sizeof tally);
        close (pipes [process][0]);
        int status;
        cr_assert_eq (waitpid (pids [process], &status, 0), pids [process]);
        cr_expect (WIFEXITED (status) && WEXITSTATUS (status) == 0);
        total.ok += tally.ok;
        total.out_of_stock += tally.out_of_stock;
        total.other += tally.other;
    }
    cr_expect_eq (total.ok, SCARCE_STOCK);
    cr_expect_eq (total.out_of_stock, 2 * PER_PROCESS - SCARCE_STOCK);
    cr_expect_eq (total.other, 0);
    s_open ();
    cr_expect_eq (s_available ("SKU-SCARCE"), 0);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM reservations"), SCARCE_STOCK);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (DISTINCT reservation_id) FROM reservations"),
                  SCARCE_STOCK);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM processed_requests"), 2 * PER_PROCESS);
}

#endif

/*  test_order_rules.c - tests of the order participant's rules
    Orders and their lines, served countries, repeats.
*/
#if !__has_include ("order_rules.h")
//  CMake builds actors/order/ into library ck_order only once the
//  directory has a main.c; until then there is nothing to link against.
#include <criterion/criterion.h>
Test (order_rules, needs_actors_order_main, .disabled = true) {}
#else
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <czmq.h>
#include "order_rules.h"
#include "process_helpers.h"
#include "participant_store_helpers.h"

static char s_dir [64];
static char s_path [128];
static participant_store_t *s_store;
static order_rules_t *s_rules;

//  The rules over the SQLite repository and ledger of store
static order_rules_t *
s_rules_over (participant_store_t *store, const char *served)
{
    order_repo_t *repo = order_repo_sqlite_new (store);
    return repo? order_rules_new (&repo, participant_store_ledger (store), served): NULL;
}

static void
s_setup (void)
{
    cr_assert_eq (ph_mkdtemp ("ck-test-order", s_dir, sizeof s_dir), 0);
    snprintf (s_path, sizeof s_path, "%s/order.db", s_dir);
    s_store = participant_store_new (s_path, NULL);
    cr_assert_not_null (s_store);
    s_rules = s_rules_over (s_store, NULL);
    cr_assert_not_null (s_rules);
}

static void
s_teardown (void)
{
    order_rules_destroy (&s_rules);
    participant_store_destroy (&s_store);
    ph_rmrf (s_dir);
}

TestSuite (order_rules, .init = s_setup, .fini = s_teardown, .timeout = 30);


//  A CreateOrder of two lines shipped to country
static void
s_request (ck_request_t *request, ck_reply_t *reply, const char *saga_id,
           uint32_t attempt, const char *country)
{
    memset (request, 0, sizeof *request);
    snprintf (request->saga_id, sizeof request->saga_id, "%s", saga_id);
    snprintf (request->checkout_id, sizeof request->checkout_id, "co-%s", saga_id);
    request->type = CK_TYPE_CREATE_ORDER;
    request->attempt = attempt;
    snprintf (request->cart_id, sizeof request->cart_id, "cart-7");
    snprintf (request->customer_id, sizeof request->customer_id, "cust-1");
    snprintf (request->currency, sizeof request->currency, "USD");
    snprintf (request->ship_to.country, sizeof request->ship_to.country, "%s", country);
    snprintf (request->reservation_id, sizeof request->reservation_id, "res-3");
    snprintf (request->authorization_id, sizeof request->authorization_id, "auth-5");
    request->items [0] = (ck_item_t) { "SKU-A", 2, 150 };
    request->items [1] = (ck_item_t) { "SKU-B", 1, 700 };
    request->item_count = 2;
    request->amount = 1000;
    memset (reply, 0, sizeof *reply);
    memcpy (reply->saga_id, request->saga_id, sizeof reply->saga_id);
    reply->type = request->type;
    reply->attempt = attempt;
}

static ck_reply_t
s_create (const char *saga_id, uint32_t attempt, const char *country)
{
    ck_request_t request;
    ck_reply_t reply;
    s_request (&request, &reply, saga_id, attempt, country);
    cr_assert_eq (participant_store_batch_begin (s_store), 0);
    cr_assert_eq (order_rules_handle (s_rules, &request, &reply), 0);
    cr_assert_eq (participant_store_batch_commit (s_store), 0);
    cr_assert_eq (reply.attempt, attempt);
    return reply;
}

Test (order_rules, an_order_is_created_with_its_lines)
{
    ck_reply_t reply = s_create ("saga-1", 1, "FR");
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    cr_expect_str_eq (reply.result_id, "ord-1");
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM orders WHERE order_id = 'ord-1'"
                               " AND saga_id = 'saga-1' AND checkout_id = 'co-saga-1'"
                               " AND cart_id = 'cart-7' AND customer_id = 'cust-1'"
                               " AND amount = 1000 AND currency = 'USD' AND country = 'FR'"
                               " AND reservation_id = 'res-3' AND authorization_id = 'auth-5'"
                               " AND created_at > 0"), 1);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM order_lines WHERE order_id = 'ord-1'"), 2);
    cr_expect_eq (pst_query_int (s_store, "SELECT SUM (qty * unit_price) FROM order_lines"
                               " WHERE order_id = 'ord-1'"), 1000);
    reply = s_create ("saga-2", 1, "US");
    cr_expect_str_eq (reply.result_id, "ord-2");
}

Test (order_rules, a_repeat_creates_no_second_order)
{
    s_create ("saga-1", 1, "DE");
    ck_reply_t reply = s_create ("saga-1", 2, "DE");
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    cr_expect_str_eq (reply.result_id, "ord-1");
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM orders"), 1);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM order_lines"), 2);
}

Test (order_rules, antarctica_is_not_served_by_default)
{
    for (uint32_t attempt = 1; attempt <= 2; attempt++) {
        ck_reply_t reply = s_create ("saga-1", attempt, "AQ");
        cr_expect_eq (reply.outcome, CK_OUTCOME_REJECTED);
        cr_expect_str_eq (reply.reason.code, "destination_unserviceable");
        cr_expect_neq (reply.reason.message [0], 0);
        cr_expect_str_eq (reply.result_id, "");
    }
    ck_reply_t reply = s_create ("saga-2", 1, "ZZ");
    cr_expect_str_eq (reply.reason.code, "destination_unserviceable", "not an ISO code");
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM orders"), 0);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM order_lines"), 0);
}

Test (order_rules, the_default_serves_every_iso_country_but_aq)
{
    int served = 0;
    char code [3] = { 0 };
    for (code [0] = 'A'; code [0] <= 'Z'; code [0]++)
        for (code [1] = 'A'; code [1] <= 'Z'; code [1]++)
            served += order_rules_serves (s_rules, code);
    cr_expect_eq (served, 248);
    cr_expect (order_rules_serves (s_rules, "GB"));
    cr_expect (order_rules_serves (s_rules, "ZW"));
    cr_expect (order_rules_serves (s_rules, "AD"));
    cr_expect_not (order_rules_serves (s_rules, "AQ"));
    cr_expect_not (order_rules_serves (s_rules, "UK"));
    cr_expect_not (order_rules_serves (s_rules, "fr"));
    cr_expect_not (order_rules_serves (s_rules, "FRA"));
    cr_expect_not (order_rules_serves (s_rules, ""));
}

Test (order_rules, served_lists)
{
    order_rules_t *rules = s_rules_over (s_store, "all");
    cr_assert_not_null (rules);
    cr_expect (order_rules_serves (rules, "AQ"));
    order_rules_destroy (&rules);

    rules = s_rules_over (s_store, "all-AQ-KP-FR");
    cr_assert_not_null (rules);
    cr_expect_not (order_rules_serves (rules, "AQ"));
    cr_expect_not (order_rules_serves (rules, "KP"));
    cr_expect_not (order_rules_serves (rules, "FR"));
    cr_expect (order_rules_serves (rules, "DE"));
    order_rules_destroy (&rules);

    rules = s_rules_over (s_store, "FR,DE,XK");
    cr_assert_not_null (rules);
    cr_expect (order_rules_serves (rules, "FR"));
    cr_expect (order_rules_serves (rules, "XK"), "an allow list may name any code");
    cr_expect_not (order_rules_serves (rules, "US"));
    order_rules_destroy (&rules);
    cr_expect_null (rules);
}

Test (order_rules, bad_served_lists_are_refused)
{
    const char *bad [] = {
        "", "al", "all-", "all-A", "all-AQ-", "all-aq", "allAQ", "all,FR",
        "FR,", ",FR", "FR,,DE", "FR DE", "FRA", "fr", "F", "FR-DE", NULL
    };
    for (int i = 0; bad [i]; i++) {
        cr_expect_not (order_rules_served_valid (bad [i]), "'%s'", bad [i]);
        cr_expect_null (s_rules_over (s_store, bad [i]), "'%s'", bad [i]);
    }
    cr_expect_not (order_rules_served_valid (NULL));
    cr_expect (order_rules_served_valid ("all"));
    cr_expect (order_rules_served_valid ("all-AQ"));
    cr_expect (order_rules_served_valid (ORDER_RULES_SERVED_DEFAULT));
    cr_expect (order_rules_served_valid ("US"));
}

Test (order_rules, one_batch_one_rejection_the_other_commits)
{
    ck_request_t first, second;
    ck_reply_t first_reply, second_reply;
    s_request (&first, &first_reply, "saga-1", 1, "AQ");
    s_request (&second, &second_reply, "saga-2", 1, "JP");
    cr_assert_eq (participant_store_batch_begin (s_store), 0);
    cr_expect_eq (order_rules_create (s_rules, &first, &first_reply), 0);
    cr_expect_eq (order_rules_create (s_rules, &second, &second_reply), 0);
    cr_assert_eq (participant_store_batch_commit (s_store), 0);
    cr_expect_eq (first_reply.outcome, CK_OUTCOME_REJECTED);
    cr_expect_eq (second_reply.outcome, CK_OUTCOME_OK);
    //  the refusal's ledger entry took number 1: ids are unique, not dense
    cr_expect_str_eq (second_reply.result_id, "ord-2");
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM orders"), 1);
}

Test (order_rules, ids_follow_the_highest_row_in_any_instance)
{
    ck_request_t first, second;
    ck_reply_t first_reply, second_reply;
    s_request (&first, &first_reply, "saga-1", 1, "FR");
    s_request (&second, &second_reply, "saga-2", 1, "JP");
    cr_assert_eq (participant_store_batch_begin (s_store), 0);
    cr_expect_eq (order_rules_create (s_rules, &first, &first_reply), 0);
    cr_expect_eq (order_rules_create (s_rules, &second, &second_reply), 0);
    cr_assert_eq (participant_store_batch_commit (s_store), 0);
    cr_expect_str_eq (first_reply.result_id, "ord-1");
    cr_expect_str_eq (second_reply.result_id, "ord-2");
    //  a second instance on the same file continues the sequence
    participant_store_t *store = participant_store_new (s_path, NULL);
    cr_assert_not_null (store);
    order_rules_t *rules = s_rules_over (store, NULL);
    cr_assert_not_null (rules);
    s_request (&first, &first_reply, "saga-3", 1, "DE");
    cr_assert_eq (participant_store_batch_begin (store), 0);
    cr_expect_eq (order_rules_create (rules, &first, &first_reply), 0);
    cr_assert_eq (participant_store_batch_commit (store), 0);
    cr_expect_str_eq (first_reply.result_id, "ord-3");
    order_rules_destroy (&rules);
    participant_store_destroy (&store);
    //  the next id is the highest row's plus one, not a count
    cr_assert_eq (store_exec (participant_store_store (s_store),
        "INSERT INTO ledger (id, saga_id, type, outcome, recorded_at)"
        " VALUES (41, 'saga-41', 5, 1, 1);"
        "INSERT INTO order_details (id, cart_id, customer_id, amount, currency,"
        " country, lines) VALUES (41, 'cart-7', 'cust-1', 1, 'USD', 'FR', '[]')"), 0);
    ck_reply_t reply = s_create ("saga-4", 1, "US");
    cr_expect_str_eq (reply.result_id, "ord-42");
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM orders WHERE order_id = 'ord-' || id"), 5);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM order_lines WHERE order_id = 'ord-42'"), 2);
}

Test (order_rules, a_failure_leaves_no_half_order)
{
    //  the order's insert fails after its ledger entry was written: the
    //  batch refuses to commit, and its rollback keeps nothing
    cr_assert_eq (store_exec (participant_store_store (s_store),
        "CREATE TEMP TRIGGER boom BEFORE INSERT ON main.order_details"
        " BEGIN SELECT RAISE (ABORT, 'boom'); END;"), 0);
    ck_request_t request;
    ck_reply_t reply;
    s_request (&request, &reply, "saga-1", 1, "FR");
    cr_assert_eq (participant_store_batch_begin (s_store), 0);
    cr_expect_eq (order_rules_create (s_rules, &request, &reply), -1);
    cr_assert_eq (participant_store_batch_commit (s_store), -1);
    participant_store_batch_rollback (s_store);
    cr_expect_str_eq (reply.result_id, "");
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM orders"), 0);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM order_lines"), 0);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM processed_requests"), 0);
}

Test (order_rules, other_types_are_refused)
{
    ck_request_t request;
    ck_reply_t reply;
    s_request (&request, &reply, "saga-1", 1, "FR");
    request.type = CK_TYPE_RESERVE_INVENTORY;
    cr_expect_eq (order_rules_handle (s_rules, &request, &reply), -1);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM orders"), 0);
}

#endif

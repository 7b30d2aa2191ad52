/*  test_payment_rules.c - tests of the payment participant's rules
    Sandbox tokens, recorded rejections, voids, tombstones and latency.
*/
#if !__has_include ("payment_rules.h")
//  CMake builds actors/payment/ into library ck_payment only once the
//  directory has a main.c; until then there is nothing to link against.
#include <criterion/criterion.h>
Test (payment_rules, needs_actors_payment_main, .disabled = true) {}
#else
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <czmq.h>
#include "payment_rules.h"
#include "process_helpers.h"
#include "participant_store_helpers.h"

#define LATENCY_MS 25

static char s_dir [64];
static char s_path [128];
static participant_store_t *s_store;
static payment_rules_t *s_rules;

//  The rules over the SQLite repository and ledger of store
static payment_rules_t *
s_rules_over (participant_store_t *store, uint32_t latency_ms)
{
    payment_repo_t *repo = payment_repo_sqlite_new (store);
    return repo? payment_rules_new (&repo, participant_store_ledger (store), latency_ms): NULL;
}

static void
s_setup (void)
{
    cr_assert_eq (ph_mkdtemp ("ck-test-payment", s_dir, sizeof s_dir), 0);
    snprintf (s_path, sizeof s_path, "%s/payment.db", s_dir);
    s_store = participant_store_new (s_path, NULL);
    cr_assert_not_null (s_store);
    s_rules = s_rules_over (s_store, LATENCY_MS);
    cr_assert_not_null (s_rules);
}

static void
s_teardown (void)
{
    payment_rules_destroy (&s_rules);
    participant_store_destroy (&s_store);
    ph_rmrf (s_dir);
}

TestSuite (payment_rules, .init = s_setup, .fini = s_teardown, .timeout = 30);


static void
s_request (ck_request_t *request, ck_reply_t *reply, const char *saga_id, ck_type_t type,
           uint32_t attempt, const char *token)
{
    memset (request, 0, sizeof *request);
    snprintf (request->saga_id, sizeof request->saga_id, "%s", saga_id);
    snprintf (request->checkout_id, sizeof request->checkout_id, "co-%s", saga_id);
    request->type = type;
    request->attempt = attempt;
    if (type == CK_TYPE_AUTHORIZE_PAYMENT) {
        snprintf (request->customer_id, sizeof request->customer_id, "cust-1");
        snprintf (request->currency, sizeof request->currency, "EUR");
        snprintf (request->payment_method, sizeof request->payment_method, "%s", token);
        request->amount = 4200;
    }
    memset (reply, 0, sizeof *reply);
    memcpy (reply->saga_id, request->saga_id, sizeof reply->saga_id);
    reply->type = type;
    reply->attempt = attempt;
}

//  Runs one request in its own batch, as the runtime would
static int
s_handle (const ck_request_t *request, ck_reply_t *reply)
{
    cr_assert_eq (participant_store_batch_begin (s_store), 0);
    int rc = payment_rules_handle (s_rules, request, reply);
    cr_assert_eq (participant_store_batch_commit (s_store), 0);
    return rc;
}

//  Authorizes with token and returns the reply
static ck_reply_t
s_authorize (const char *saga_id, uint32_t attempt, const char *token)
{
    ck_request_t request;
    ck_reply_t reply;
    s_request (&request, &reply, saga_id, CK_TYPE_AUTHORIZE_PAYMENT, attempt, token);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_assert_eq (reply.attempt, attempt);
    return reply;
}

static ck_reply_t
s_void (const char *saga_id, uint32_t attempt)
{
    ck_request_t request;
    ck_reply_t reply;
    s_request (&request, &reply, saga_id, CK_TYPE_VOID_PAYMENT, attempt, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    return reply;
}

Test (payment_rules, a_card_is_authorized)
{
    ck_reply_t reply = s_authorize ("saga-1", 1, "pm_card_visa");
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    cr_expect_str_eq (reply.result_id, "auth-1");
    cr_expect_str_eq (reply.reason.code, "");
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM authorizations WHERE saga_id = 'saga-1'"
                               " AND authorization_id = 'auth-1' AND status = 'authorized'"
                               " AND amount = 4200 AND currency = 'EUR'"
                               " AND customer_id = 'cust-1' AND checkout_id = 'co-saga-1'"
                               " AND payment_method = 'pm_card_visa'"), 1);
    reply = s_authorize ("saga-2", 1, "pm_card_");
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK, "the bare prefix is a card too");
    cr_expect_str_eq (reply.result_id, "auth-2");
}

Test (payment_rules, a_repeat_gets_the_first_authorization)
{
    ck_reply_t first = s_authorize ("saga-1", 1, "pm_card_mastercard");
    ck_reply_t again = s_authorize ("saga-1", 2, "pm_card_mastercard");
    cr_expect_eq (again.outcome, CK_OUTCOME_OK);
    cr_expect_str_eq (again.result_id, first.result_id);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM authorizations"), 1);
}

static void
s_expect_rejection (const char *saga_id, const char *token, const char *code)
{
    for (uint32_t attempt = 1; attempt <= 2; attempt++) {
        ck_reply_t reply = s_authorize (saga_id, attempt, token);
        cr_expect_eq (reply.outcome, CK_OUTCOME_REJECTED, "%s", token);
        cr_expect_str_eq (reply.reason.code, code, "%s", token);
        cr_expect_neq (reply.reason.message [0], 0);
        cr_expect_str_eq (reply.result_id, "");
    }
}

Test (payment_rules, sandbox_tokens_are_refused_and_remembered)
{
    s_expect_rejection ("saga-1", "pm_card_declined", "card_declined");
    s_expect_rejection ("saga-2", "pm_card_insufficient_funds", "insufficient_funds");
    s_expect_rejection ("saga-3", "pm_paypal", "invalid_payment_method");
    s_expect_rejection ("saga-4", "card_visa", "invalid_payment_method");
    s_expect_rejection ("saga-5", "pm_card", "invalid_payment_method");
    s_expect_rejection ("saga-6", "PM_CARD_VISA", "invalid_payment_method");
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM authorizations"), 0);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM processed_requests"
                               " WHERE outcome = 'rejected'"), 6);
}

Test (payment_rules, void_voids_the_authorization_once)
{
    s_authorize ("saga-1", 1, "pm_card_visa");
    s_authorize ("saga-2", 1, "pm_card_visa");
    for (uint32_t attempt = 1; attempt <= 2; attempt++) {
        ck_reply_t reply = s_void ("saga-1", attempt);
        cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
        cr_expect_str_eq (reply.result_id, "");
    }
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM authorizations WHERE saga_id = 'saga-1'"
                               " AND status = 'voided' AND voided_at IS NOT NULL"), 1);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM authorizations WHERE saga_id = 'saga-2'"
                               " AND status = 'authorized'"), 1);
    //  the authorization repeated after its void keeps its first answer
    ck_reply_t reply = s_authorize ("saga-1", 3, "pm_card_visa");
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    cr_expect_str_eq (reply.result_id, "auth-1");
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM authorizations WHERE saga_id = 'saga-1'"
                               " AND status = 'voided'"), 1);
}

Test (payment_rules, void_first_leaves_a_tombstone)
{
    ck_reply_t reply = s_void ("saga-1", 1);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    reply = s_authorize ("saga-1", 2, "pm_card_visa");
    cr_expect_eq (reply.outcome, CK_OUTCOME_REJECTED);
    cr_expect_str_eq (reply.reason.code, "compensated");
    cr_expect_str_eq (reply.result_id, "");
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM authorizations"), 0);
    reply = s_authorize ("saga-1", 3, "pm_card_visa");
    cr_expect_str_eq (reply.reason.code, "compensated");
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM authorizations"), 0);
}

Test (payment_rules, void_after_a_refusal_is_ok)
{
    s_authorize ("saga-1", 1, "pm_card_declined");
    ck_reply_t reply = s_void ("saga-1", 1);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    reply = s_authorize ("saga-1", 2, "pm_card_declined");
    cr_expect_str_eq (reply.reason.code, "card_declined", "the first answer stands");
}

Test (payment_rules, one_batch_two_requests)
{
    ck_request_t first, second;
    ck_reply_t first_reply, second_reply;
    s_request (&first, &first_reply, "saga-1", CK_TYPE_AUTHORIZE_PAYMENT, 1, "pm_card_visa");
    s_request (&second, &second_reply, "saga-2", CK_TYPE_AUTHORIZE_PAYMENT, 1, "pm_card_declined");
    cr_assert_eq (participant_store_batch_begin (s_store), 0);
    cr_expect_eq (payment_rules_authorize (s_rules, &first, &first_reply), 0);
    cr_expect_eq (payment_rules_authorize (s_rules, &second, &second_reply), 0);
    cr_assert_eq (participant_store_batch_commit (s_store), 0);
    cr_expect_eq (first_reply.outcome, CK_OUTCOME_OK);
    cr_expect_eq (second_reply.outcome, CK_OUTCOME_REJECTED);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM authorizations"), 1);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM processed_requests"), 2);
}

Test (payment_rules, ids_follow_the_highest_row_in_any_instance)
{
    ck_request_t first, second;
    ck_reply_t first_reply, second_reply;
    s_request (&first, &first_reply, "saga-1", CK_TYPE_AUTHORIZE_PAYMENT, 1, "pm_card_visa");
    s_request (&second, &second_reply, "saga-2", CK_TYPE_AUTHORIZE_PAYMENT, 1, "pm_card_visa");
    cr_assert_eq (participant_store_batch_begin (s_store), 0);
    cr_expect_eq (payment_rules_authorize (s_rules, &first, &first_reply), 0);
    cr_expect_eq (payment_rules_authorize (s_rules, &second, &second_reply), 0);
    cr_assert_eq (participant_store_batch_commit (s_store), 0);
    cr_expect_str_eq (first_reply.result_id, "auth-1");
    cr_expect_str_eq (second_reply.result_id, "auth-2");
    //  a second instance on the same file continues the sequence
    participant_store_t *store = participant_store_new (s_path, NULL);
    cr_assert_not_null (store);
    payment_rules_t *rules = s_rules_over (store, 0);
    cr_assert_not_null (rules);
    s_request (&first, &first_reply, "saga-3", CK_TYPE_AUTHORIZE_PAYMENT, 1, "pm_card_visa");
    cr_assert_eq (participant_store_batch_begin (store), 0);
    cr_expect_eq (payment_rules_authorize (rules, &first, &first_reply), 0);
    cr_assert_eq (participant_store_batch_commit (store), 0);
    cr_expect_str_eq (first_reply.result_id, "auth-3");
    payment_rules_destroy (&rules);
    participant_store_destroy (&store);
    //  the next id is the highest row's plus one, not a count
    cr_assert_eq (store_exec (participant_store_store (s_store),
        "INSERT INTO ledger (id, saga_id, type, outcome, recorded_at)"
        " VALUES (41, 'saga-41', 3, 1, 1);"
        "INSERT INTO authorization_details (id, customer_id, amount, currency,"
        " payment_method) VALUES (41, 'cust-1', 1, 'EUR', 'pm_card_visa')"), 0);
    ck_reply_t reply = s_authorize ("saga-4", 1, "pm_card_visa");
    cr_expect_str_eq (reply.result_id, "auth-42");
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM authorizations"
                               " WHERE authorization_id = 'auth-' || id"), 5);
}

Test (payment_rules, a_rolled_back_batch_keeps_nothing)
{
    ck_request_t request;
    ck_reply_t reply;
    s_request (&request, &reply, "saga-1", CK_TYPE_AUTHORIZE_PAYMENT, 1, "pm_card_visa");
    cr_assert_eq (participant_store_batch_begin (s_store), 0);
    cr_expect_eq (payment_rules_authorize (s_rules, &request, &reply), 0);
    participant_store_batch_rollback (s_store);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM authorizations"), 0);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM processed_requests"), 0);
}

Test (payment_rules, latency_applies_to_authorizations_only)
{
    ck_request_t request;
    ck_reply_t reply;
    s_request (&request, &reply, "saga-1", CK_TYPE_AUTHORIZE_PAYMENT, 1, "pm_card_visa");
    cr_expect_eq (payment_rules_delay_ms (s_rules, &request), LATENCY_MS);
    s_request (&request, &reply, "saga-1", CK_TYPE_VOID_PAYMENT, 1, NULL);
    cr_expect_eq (payment_rules_delay_ms (s_rules, &request), 0);
}

Test (payment_rules, other_types_are_refused)
{
    ck_request_t request;
    ck_reply_t reply;
    s_request (&request, &reply, "saga-1", CK_TYPE_CREATE_ORDER, 1, NULL);
    cr_expect_eq (s_handle (&request, &reply), -1);
    cr_expect_eq (pst_query_int (s_store, "SELECT COUNT (*) FROM processed_requests"), 0);
}

Test (payment_rules, a_newer_schema_is_refused)
{
    cr_assert_eq (store_set_user_version (participant_store_store (s_store), 99), 0);
    payment_rules_destroy (&s_rules);
    participant_store_destroy (&s_store);
    cr_expect_null (participant_store_new (s_path, NULL));
}

#endif

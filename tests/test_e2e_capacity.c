/*  test_e2e_capacity.c - instances: their capacity, and their absence
    Requests that time out while an instance still holds them keep its
    slots until it answers; the instance drops requests nobody waits for;
    a checkout that no instance of a service would take is refused.
*/
#include <criterion/criterion.h>
#include "e2e_helpers.h"

#define READY_MS    30000
#define DONE_MS     60000
#define CHECKOUTS   12

static e2e_group_t s_group;
static e2e_book_t s_book;

static void
s_init (void)
{
    cr_assert_eq (e2e_group_init (&s_group, "ck-e2e-cap"), 0, "no temp dir");
}

static void
s_fini (void)
{
    e2e_book_fini (&s_book);
    e2e_group_fini (&s_group);
}

TestSuite (e2e_capacity, .init = s_init, .fini = s_fini, .timeout = 120);

//  The value of "name=N" in the last line of text that has it, or -1
static long
s_counter (const char *text, const char *name)
{
    char pattern [64];
    snprintf (pattern, sizeof pattern, " %s=", name);
    long value = -1;
    for (const char *at = strstr (text, pattern); at; at = strstr (at + 1, pattern))
        value = strtol (at + strlen (pattern), NULL, 10);
    return value;
}

//  A payment instance of capacity 2 that takes 400 ms per authorization,
//  behind a coordinator that waits 150 ms: every attempt times out while
//  the instance still holds it.  The coordinator used to free the slot at
//  the timeout and send the retry to the same full instance.
Test (e2e_capacity, timed_out_requests_keep_their_slots)
{
    const char *coordinator [] = { "--step-timeout-ms", "150", "--max-attempts", "3",
                                   "--backoff-ms", "10", "--backoff-max-ms", "20", NULL };
    const char *slow [] = { "--capacity", "2", "--latency-ms", "400", NULL };
    cr_assert_geq (e2e_start_group_with (&s_group, coordinator, slow, READY_MS), 0,
                   "the group did not come up (logs in %s)", s_group.dir);
    int payment = e2e_slot (&s_group, "payment-1");

    ck_client_t *client = e2e_client (&s_group);
    cr_assert_not_null (client);
    cr_assert_eq (e2e_book_init (&s_book, CHECKOUTS), 0);
    cr_assert_eq (e2e_send_range (client, 0, CHECKOUTS, false), CHECKOUTS);
    cr_assert_eq (e2e_book_wait (client, &s_book, e2e_all_terminal, DONE_MS), 0,
                  "%zu of %d checkouts ended", s_book.terminal, CHECKOUTS);
    for (size_t k = 0; k < CHECKOUTS; k++)
        cr_assert_eq (s_book.items [k].result.status, CK_STATUS_FAILED,
                      "chk-%zu: the payment step never answers in time", k);

    cr_assert_eq (e2e_stop (&s_group, payment, SIGTERM, 10000), 0);
    char log [PATH_MAX];
    e2e_path (&s_group, "payment-1.log", log, sizeof log);
    char *text = ph_slurp (log);
    cr_assert_not_null (text, "no log %s", log);
    long requests = s_counter (text, "requests");
    long over = s_counter (text, "over_capacity");
    long expired = s_counter (text, "expired");
    free (text);
    cr_assert_gt (requests, CHECKOUTS, "retries reached the instance: %ld requests", requests);
    cr_assert_eq (over, 0, "the instance was sent more than its capacity %ld times", over);
    cr_assert_gt (expired, 0, "requests nobody waited for any more were run");
}

//  Three checkouts reach a capacity-1 payment instance that takes 400 ms
//  each: the third waits 800 ms for its turn, then runs 400 ms.  With a
//  1,000 ms step timeout counted from the send, no attempt times out (600
//  ms to spare for a loaded machine); the coordinator used to count the
//  wait in the queue too and retry it.
Test (e2e_capacity, the_step_timeout_starts_when_the_request_is_sent)
{
    const char *coordinator [] = { "--step-timeout-ms", "1000", NULL };
    const char *slow [] = { "--capacity", "1", "--latency-ms", "400", NULL };
    cr_assert_geq (e2e_start_group_with (&s_group, coordinator, slow, READY_MS), 0,
                   "the group did not come up (logs in %s)", s_group.dir);

    ck_client_t *client = e2e_client (&s_group);
    cr_assert_not_null (client);
    cr_assert_eq (e2e_book_init (&s_book, 3), 0);
    //  W1 checkouts 3, 4 and 5 are confirmed ones
    ck_checkout_t checkout;
    for (uint64_t k = 3; k < 6; k++) {
        w1_checkout (k, &checkout);
        cr_assert_eq (w1_expected (k).status, CK_STATUS_CONFIRMED);
        cr_assert_eq (ck_client_send_checkout (client, &checkout), 0);
    }
    size_t confirmed = 0;
    while (confirmed < 3 && ck_client_recv (client, DONE_MS) == CK_CMD_RESULT) {
        const ck_result_t *result = &ck_client_reply (client)->result;
        cr_assert_eq (result->status, CK_STATUS_CONFIRMED, "%s: %s", result->checkout_id,
                      result->reason.code);
        confirmed++;
    }
    cr_assert_eq (confirmed, 3);
    ck_ev_stats_t stats;
    cr_assert_eq (e2e_next_stats (&s_group, &stats, 10000), 0);
    cr_assert_eq (stats.retries, 0, "%llu attempts timed out in the queue",
                  (unsigned long long) stats.retries);
}

//  With no payment instance connected for longer than a liveness period,
//  a new checkout is refused at once, saying why, instead of being
//  accepted and failing with timeout seconds later
Test (e2e_capacity, a_checkout_no_instance_would_take_is_refused)
{
    cr_assert_geq (e2e_start_coordinator (&s_group, NULL), 0);
    cr_assert_geq (e2e_start_participant (&s_group, "inventory", "inventory-1", NULL), 0);
    cr_assert_geq (e2e_start_participant (&s_group, "order", "order-1", NULL), 0);
    cr_assert_eq (e2e_wait_ready (&s_group, 1, 0, 1, READY_MS), 0);
    //  heartbeat 200 ms x liveness 5: payment is unserved after 1 s
    zclock_sleep (1500);
    ck_client_t *client = e2e_client (&s_group);
    cr_assert_not_null (client);
    //  PING says so too
    cr_assert_eq (ck_client_ping (client, 10000), CK_CMD_PONG);
    const ck_pong_t *pong = &ck_client_reply (client)->pong;
    cr_assert_eq (pong->unserved_count, 1);
    cr_assert_eq (pong->unserved [0], CK_SERVICE_PAYMENT);
    ck_checkout_t checkout;
    w1_checkout (3, &checkout);
    cr_assert_eq (ck_client_submit (client, &checkout, 10000), CK_CMD_ERROR);
    const ck_error_t *error = &ck_client_reply (client)->error;
    cr_assert_eq (error->code, CK_OVERLOADED);
    cr_assert (strstr (error->message, "no payment instance"), "%s", error->message);
    cr_assert_str_eq (error->checkout_id, "chk-3");

    //  once one is back, the same checkout goes through
    cr_assert_geq (e2e_start_participant (&s_group, "payment", "payment-1", NULL), 0);
    cr_assert_eq (e2e_wait_ready (&s_group, 1, 1, 1, READY_MS), 0);
    cr_assert_eq (ck_client_submit (client, &checkout, DONE_MS), CK_CMD_RESULT);
    cr_assert_eq (ck_client_reply (client)->result.status, CK_STATUS_CONFIRMED);
    cr_assert_eq (ck_client_ping (client, 10000), CK_CMD_PONG);
    cr_assert_eq (ck_client_reply (client)->pong.unserved_count, 0);
}

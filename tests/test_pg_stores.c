/*  test_pg_stores.c - the participants' stores on PostgreSQL
    Repeats, tombstones, all-or-nothing carts and two instances racing on one database.

    Each test starts its own throwaway cluster (pg_helpers.h).
*/
#include <criterion/criterion.h>
#include <pthread.h>
#include <stdarg.h>
#include <czmq.h>
#include "inventory_rules.h"
#include "ledger_pg.h"
#include "payment_rules.h"
#include "pg_helpers.h"

static pg_cluster_t s_cluster;
static char s_uri [256];
static char s_seed [PATH_MAX];
static participant_store_t *s_store;
static inventory_rules_t *s_rules;

//  The inventory rules over a new connection to the test's database
static inventory_rules_t *
s_rules_on (participant_store_t **store)
{
    *store = participant_store_new (s_uri, NULL);
    if (!*store)
        return NULL;
    inventory_repo_t *repo = inventory_repo_pg_new (*store);
    return repo? inventory_rules_new (&repo, participant_store_ledger (*store)): NULL;
}

static void
s_setup (void)
{
    cr_assert_eq (pg_cluster_start (&s_cluster), 0, "no PostgreSQL cluster (see /tmp/ck-pg-*.log)");
    cr_assert_eq (pg_cluster_createdb (&s_cluster, "inventory", s_uri, sizeof s_uri), 0);
    s_rules = s_rules_on (&s_store);
    cr_assert_not_null (s_rules);
    snprintf (s_seed, sizeof s_seed, "%s/seed.csv", s_cluster.dir);
    FILE *file = fopen (s_seed, "w");
    cr_assert_not_null (file);
    fputs ("SKU-A,10\nSKU-B,5\nSKU-SCARCE,500\n", file);
    fclose (file);
    cr_assert_eq (inventory_rules_seed (s_rules, s_seed), 0);
}

static void
s_teardown (void)
{
    inventory_rules_destroy (&s_rules);
    participant_store_destroy (&s_store);
    pg_cluster_stop (&s_cluster);
}

TestSuite (pg_stores, .init = s_setup, .fini = s_teardown, .timeout = 120);

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

static void
s_reply_init (ck_reply_t *reply, const ck_request_t *request)
{
    memset (reply, 0, sizeof *reply);
    memcpy (reply->saga_id, request->saga_id, sizeof reply->saga_id);
    reply->type = request->type;
    reply->attempt = request->attempt;
}

//  Runs one request in its own batch, as the runtime would
static int
s_handle (const ck_request_t *request, ck_reply_t *reply)
{
    s_reply_init (reply, request);
    cr_assert_eq (participant_store_batch_begin (s_store), 0);
    int rc = inventory_rules_handle (s_rules, request, reply);
    cr_assert_eq (participant_store_batch_commit (s_store), 0);
    return rc;
}

static long long
s_sql (const char *sql)
{
    return pg_query_int (s_uri, sql);
}

Test (pg_stores, a_repeat_gets_the_stored_answer)
{
    ck_request_t request;
    ck_reply_t first, again;
    s_request (&request, "saga-1", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 3, "SKU-B", 2, NULL);
    cr_assert_eq (s_handle (&request, &first), 0);
    cr_assert_eq (first.outcome, CK_OUTCOME_OK);
    cr_expect (strncmp (first.result_id, "res-", 4) == 0, "id %s", first.result_id);
    request.attempt = 2;
    cr_assert_eq (s_handle (&request, &again), 0);
    cr_expect_eq (again.outcome, CK_OUTCOME_OK);
    cr_expect_str_eq (again.result_id, first.result_id);
    cr_expect_eq (again.attempt, 2);
    cr_expect_eq (inventory_rules_available (s_rules, "SKU-A"), 7, "taken once");
    cr_expect_eq (inventory_rules_available (s_rules, "SKU-B"), 3);

    //  a refusal is recorded: more stock later does not change the answer
    s_request (&request, "saga-2", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-B", 4, NULL);
    cr_assert_eq (s_handle (&request, &first), 0);
    cr_expect_eq (first.outcome, CK_OUTCOME_REJECTED);
    cr_expect_str_eq (first.reason.code, "out_of_stock");
    cr_expect_str_eq (first.reason.sku, "SKU-B");
    cr_assert_eq (s_sql ("WITH u AS (UPDATE stock SET available = 100 WHERE sku = 'SKU-B'"
                         " RETURNING 1) SELECT count (*) FROM u"), 1);
    request.attempt = 2;
    cr_assert_eq (s_handle (&request, &again), 0);
    cr_expect_eq (again.outcome, CK_OUTCOME_REJECTED);
    cr_expect_str_eq (again.reason.code, "out_of_stock");
    cr_expect_eq (inventory_rules_available (s_rules, "SKU-B"), 100);
    cr_expect_eq (s_sql ("SELECT count (*) FROM processed_requests"), 2);
    cr_expect_eq (s_sql ("SELECT count (*) FROM reservations WHERE status = 'held'"), 1);
    cr_expect_eq (s_sql ("SELECT sum (qty) FROM reservation_lines"), 5);
}

Test (pg_stores, a_compensation_first_leaves_a_tombstone)
{
    ck_request_t request;
    ck_reply_t reply;
    s_request (&request, "saga-t", CK_TYPE_RELEASE_INVENTORY, 1, "SKU-A", 2, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    cr_expect_eq (inventory_rules_available (s_rules, "SKU-A"), 10, "nothing to give back");
    s_request (&request, "saga-t", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 2, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_REJECTED);
    cr_expect_str_eq (reply.reason.code, "compensated");
    cr_expect_eq (inventory_rules_available (s_rules, "SKU-A"), 10);

    //  and a release after a reservation gives back exactly once
    s_request (&request, "saga-r", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 4, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_assert_eq (reply.outcome, CK_OUTCOME_OK);
    s_request (&request, "saga-r", CK_TYPE_RELEASE_INVENTORY, 1, "SKU-A", 4, NULL);
    for (uint32_t attempt = 1; attempt <= 3; attempt++) {
        request.attempt = attempt;
        cr_assert_eq (s_handle (&request, &reply), 0);
        cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    }
    cr_expect_eq (inventory_rules_available (s_rules, "SKU-A"), 10);
}

Test (pg_stores, a_short_line_takes_nothing)
{
    ck_request_t request;
    ck_reply_t reply;
    s_request (&request, "saga-s", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 2, "SKU-B", 6, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_REJECTED);
    cr_expect_str_eq (reply.reason.code, "out_of_stock");
    cr_expect_eq (inventory_rules_available (s_rules, "SKU-A"), 10);
    cr_expect_eq (inventory_rules_available (s_rules, "SKU-B"), 5);
    s_request (&request, "saga-u", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 2, "SKU-NOPE", 1, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_REJECTED);
    cr_expect_str_eq (reply.reason.code, "unknown_sku");
    cr_expect_eq (inventory_rules_available (s_rules, "SKU-A"), 10);
    //  a SKU on two lines is taken once per line
    s_request (&request, "saga-d", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-B", 3, "SKU-B", 2, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    cr_expect_eq (inventory_rules_available (s_rules, "SKU-B"), 0);
}

Test (pg_stores, a_second_seed_keeps_the_stock)
{
    ck_request_t request;
    ck_reply_t reply;
    s_request (&request, "saga-1", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 3, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    participant_store_t *store;
    inventory_rules_t *rules = s_rules_on (&store);
    cr_assert_not_null (rules);
    cr_expect_eq (inventory_rules_seed (rules, s_seed), 1, "skipped: stock not empty");
    cr_expect_eq (inventory_rules_available (rules, "SKU-A"), 7);
    inventory_rules_destroy (&rules);
    participant_store_destroy (&store);
}

//  -------------------------------------------------------------------------
//  Two instances on one database

#define RACERS      2
#define SAGAS       300
#define BATCH       10

typedef struct {
    ck_outcome_t outcome [SAGAS];       //  NONE: error (the batch failed)
    char reservation [SAGAS][CK_ID_SIZE];
    int errors;
} racer_t;

//  One instance: its own connection, the same sagas as the other (every
//  request races a duplicate), in batches of BATCH like the runtime
static void *
s_racer (void *arg)
{
    racer_t *racer = (racer_t *) arg;
    participant_store_t *store;
    inventory_rules_t *rules = s_rules_on (&store);
    if (!rules) {
        racer->errors = -1;
        return NULL;
    }
    ck_request_t *request = (ck_request_t *) zmalloc (BATCH * sizeof (ck_request_t));
    ck_reply_t *replies = (ck_reply_t *) zmalloc (BATCH * sizeof (ck_reply_t));
    for (int first = 0; first < SAGAS; first += BATCH) {
        int begun = participant_store_batch_begin (store);
        for (int i = 0; i < BATCH; i++) {
            char saga [32];
            snprintf (saga, sizeof saga, "race-%d", first + i);
            s_request (&request [i], saga, CK_TYPE_RESERVE_INVENTORY, 1,
                       "SKU-SCARCE", (uint32_t) (1 + (first + i) % 3), NULL);
            s_reply_init (&replies [i], &request [i]);
            if (begun == 0 && inventory_rules_handle (rules, &request [i], &replies [i]))
                replies [i].outcome = CK_OUTCOME_NONE;
        }
        bool committed = begun == 0 && participant_store_batch_commit (store) == 0;
        if (begun == 0 && !committed)
            participant_store_batch_rollback (store);
        for (int i = 0; i < BATCH; i++) {
            racer->outcome [first + i] = committed? replies [i].outcome: CK_OUTCOME_NONE;
            memcpy (racer->reservation [first + i], replies [i].result_id, CK_ID_SIZE);
            racer->errors += racer->outcome [first + i] == CK_OUTCOME_NONE;
        }
    }
    free (request);
    free (replies);
    inventory_rules_destroy (&rules);
    participant_store_destroy (&store);
    return NULL;
}

Test (pg_stores, two_instances_never_oversell)
{
    static racer_t racers [RACERS];
    memset (racers, 0, sizeof racers);
    pthread_t threads [RACERS];
    for (int r = 0; r < RACERS; r++)
        cr_assert_eq (pthread_create (&threads [r], NULL, s_racer, &racers [r]), 0);
    for (int r = 0; r < RACERS; r++)
        pthread_join (threads [r], NULL);
    for (int r = 0; r < RACERS; r++)
        cr_assert_geq (racers [r].errors, 0, "racer %d could not open the database", r);

    //  demand is 600 units for 500: never negative, and what the ledger
    //  holds is exactly what left the stock
    long long available = inventory_rules_available (s_rules, "SKU-SCARCE");
    long long held = s_sql ("SELECT coalesce (sum (qty), 0) FROM reservation_lines");
    cr_expect_geq (available, 0);
    cr_expect_eq (held, 500 - available, "held %lld, available %lld", held, available);
    cr_expect_eq (s_sql ("SELECT count (*) FROM ledger"), SAGAS, "one answer per saga");
    //  both instances that answered a saga gave the same answer
    int agreed = 0;
    for (int k = 0; k < SAGAS; k++) {
        const racer_t *a = &racers [0], *b = &racers [1];
        if (a->outcome [k] == CK_OUTCOME_NONE || b->outcome [k] == CK_OUTCOME_NONE)
            continue;
        cr_expect_eq (a->outcome [k], b->outcome [k], "race-%d", k);
        cr_expect_str_eq (a->reservation [k], b->reservation [k], "race-%d", k);
        agreed++;
    }
    cr_log_info ("pg_stores: %d of %d sagas answered by both, errors %d and %d, %lld left",
                 agreed, SAGAS, racers [0].errors, racers [1].errors, available);
}

//  A release on another instance while a reservation of the same saga is
//  not committed yet: it must wait and give the stock back, not leave a
//  tombstone beside a reservation that then holds stock for a failed saga
static void *
s_release_elsewhere (void *arg)
{
    ck_reply_t *reply = (ck_reply_t *) arg;
    participant_store_t *store;
    inventory_rules_t *rules = s_rules_on (&store);
    ck_request_t request;
    s_request (&request, "saga-x", CK_TYPE_RELEASE_INVENTORY, 1, "SKU-A", 4, NULL);
    s_reply_init (reply, &request);
    if (rules && participant_store_batch_begin (store) == 0) {
        if (inventory_rules_handle (rules, &request, reply))
            reply->outcome = CK_OUTCOME_NONE;
        if (participant_store_batch_commit (store))
            reply->outcome = CK_OUTCOME_NONE;
    }
    inventory_rules_destroy (&rules);
    participant_store_destroy (&store);
    return NULL;
}

Test (pg_stores, a_compensation_waits_for_its_forward_request_in_flight)
{
    ck_request_t request;
    ck_reply_t reply, released;
    s_request (&request, "saga-x", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 4, NULL);
    s_reply_init (&reply, &request);
    cr_assert_eq (participant_store_batch_begin (s_store), 0);
    cr_assert_eq (inventory_rules_handle (s_rules, &request, &reply), 0);
    cr_assert_eq (reply.outcome, CK_OUTCOME_OK);
    pthread_t thread;
    cr_assert_eq (pthread_create (&thread, NULL, s_release_elsewhere, &released), 0);
    zclock_sleep (500);                 //  the release is waiting for the saga
    cr_assert_eq (participant_store_batch_commit (s_store), 0);
    pthread_join (thread, NULL);
    cr_expect_eq (released.outcome, CK_OUTCOME_OK);
    cr_expect_eq (inventory_rules_available (s_rules, "SKU-A"), 10, "the stock came back");
    cr_expect_eq (s_sql ("SELECT count (*) FROM reservations WHERE status = 'released'"), 1);
}

//  -------------------------------------------------------------------------
//  Payment: repeats and tombstones through its own repository

Test (pg_stores, payment_repeat_and_void_first)
{
    char uri [256];
    cr_assert_eq (pg_cluster_createdb (&s_cluster, "payment", uri, sizeof uri), 0);
    participant_store_t *store = participant_store_new (uri, NULL);
    cr_assert_not_null (store);
    payment_repo_t *repo = payment_repo_pg_new (store);
    cr_assert_not_null (repo);
    payment_rules_t *rules = payment_rules_new (&repo, participant_store_ledger (store), 0);
    ck_request_t request;
    ck_reply_t first, again;
    s_request (&request, "pay-1", CK_TYPE_AUTHORIZE_PAYMENT, 1, NULL);
    snprintf (request.customer_id, sizeof request.customer_id, "cust-1");
    snprintf (request.currency, sizeof request.currency, "EUR");
    snprintf (request.payment_method, sizeof request.payment_method, "pm_card_visa");
    request.amount = 1234;
    s_reply_init (&first, &request);
    cr_assert_eq (payment_rules_authorize (rules, &request, &first), 0);
    cr_expect_eq (first.outcome, CK_OUTCOME_OK);
    request.attempt = 2;
    s_reply_init (&again, &request);
    cr_assert_eq (payment_rules_authorize (rules, &request, &again), 0);
    cr_expect_str_eq (again.result_id, first.result_id);
    cr_expect_eq (pg_query_int (uri, "SELECT count (*) FROM authorizations"
                                " WHERE status = 'authorized' AND amount = 1234"), 1);

    //  a void before its authorization: the authorization is refused
    s_request (&request, "pay-2", CK_TYPE_VOID_PAYMENT, 1, NULL);
    s_reply_init (&first, &request);
    cr_assert_eq (payment_rules_void (rules, &request, &first), 0);
    cr_expect_eq (first.outcome, CK_OUTCOME_OK);
    s_request (&request, "pay-2", CK_TYPE_AUTHORIZE_PAYMENT, 1, NULL);
    snprintf (request.customer_id, sizeof request.customer_id, "cust-2");
    snprintf (request.currency, sizeof request.currency, "EUR");
    snprintf (request.payment_method, sizeof request.payment_method, "pm_card_visa");
    request.amount = 10;
    s_reply_init (&first, &request);
    cr_assert_eq (payment_rules_authorize (rules, &request, &first), 0);
    cr_expect_eq (first.outcome, CK_OUTCOME_REJECTED);
    cr_expect_str_eq (first.reason.code, "compensated");
    cr_expect_eq (pg_query_int (uri, "SELECT count (*) FROM authorizations"), 1);
    payment_rules_destroy (&rules);
    participant_store_destroy (&store);
}

//  -------------------------------------------------------------------------
//  A batch in one round trip (ledger_pg_run), as the runtime hands it over

//  Runs requests [0..count) as one batch through batch into replies
static void
s_batch (void (*batch) (void *, const ck_request_t *const *, ck_reply_t *const *, size_t),
         void *rules, ck_request_t *requests, ck_reply_t *replies, size_t count)
{
    const ck_request_t *handed [16];
    ck_reply_t *answers [16];
    cr_assert (count <= 16);
    for (size_t index = 0; index < count; index++) {
        s_reply_init (&replies [index], &requests [index]);
        handed [index] = &requests [index];
        answers [index] = &replies [index];
    }
    batch (rules, handed, answers, count);
}

Test (pg_stores, a_batch_answers_as_the_handlers_do)
{
    ck_request_t requests [8];
    ck_reply_t replies [8];
    s_request (&requests [0], "b-1", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 3, "SKU-B", 2, NULL);
    requests [1] = requests [0];
    requests [1].attempt = 2;           //  a repeat in the same batch
    s_request (&requests [2], "b-2", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 1, "SKU-B", 2,
               "SKU-B", 2, NULL);       //  3 of B left: the third line is short
    s_request (&requests [3], "b-t", CK_TYPE_RELEASE_INVENTORY, 1, NULL);
    s_request (&requests [4], "b-t", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 2, NULL);
    s_request (&requests [5], "b-u", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 2, "SKU-NOPE", 1,
               NULL);
    s_request (&requests [6], "b-0", CK_TYPE_RESERVE_INVENTORY, 1, NULL);  //  no lines
    s_request (&requests [7], "b-d", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-B", 1, "SKU-B", 1, NULL);
    s_batch (inventory_rules_batch, s_rules, requests, replies, 8);
    cr_expect_eq (replies [0].outcome, CK_OUTCOME_OK);
    cr_expect (strncmp (replies [0].result_id, "res-", 4) == 0, "id %s", replies [0].result_id);
    cr_expect_eq (replies [1].outcome, CK_OUTCOME_OK);
    cr_expect_str_eq (replies [1].result_id, replies [0].result_id);
    cr_expect_eq (replies [1].attempt, 2);
    cr_expect_eq (replies [2].outcome, CK_OUTCOME_REJECTED);
    cr_expect_str_eq (replies [2].reason.code, "out_of_stock");
    cr_expect_str_eq (replies [2].reason.message, "SKU-B: 2 wanted, 1 left");
    cr_expect_str_eq (replies [2].reason.sku, "SKU-B");
    cr_expect_eq (replies [3].outcome, CK_OUTCOME_OK);
    cr_expect_eq (replies [4].outcome, CK_OUTCOME_REJECTED);
    cr_expect_str_eq (replies [4].reason.code, "compensated");
    cr_expect_str_eq (replies [4].reason.message, "ReleaseInventory already ran for this saga");
    cr_expect_eq (replies [5].outcome, CK_OUTCOME_REJECTED);
    cr_expect_str_eq (replies [5].reason.code, "unknown_sku");
    cr_expect_str_eq (replies [5].reason.message, "SKU-NOPE is not in the catalog");
    cr_expect_eq (replies [6].outcome, CK_OUTCOME_ERROR, "a bad request fails alone");
    cr_expect_str_eq (replies [6].reason.code, "internal");
    cr_expect_eq (replies [7].outcome, CK_OUTCOME_OK);
    cr_expect_eq (inventory_rules_available (s_rules, "SKU-A"), 7);
    cr_expect_eq (inventory_rules_available (s_rules, "SKU-B"), 1);
    cr_expect_eq (s_sql ("SELECT count (*) FROM processed_requests"), 6);

    //  the release gives back exactly what was taken, once
    s_request (&requests [0], "b-1", CK_TYPE_RELEASE_INVENTORY, 1, NULL);
    requests [1] = requests [0];
    requests [1].attempt = 2;
    s_batch (inventory_rules_batch, s_rules, requests, replies, 2);
    cr_expect_eq (replies [0].outcome, CK_OUTCOME_OK);
    cr_expect_eq (replies [1].outcome, CK_OUTCOME_OK);
    cr_expect_eq (inventory_rules_available (s_rules, "SKU-A"), 10);
    cr_expect_eq (inventory_rules_available (s_rules, "SKU-B"), 3);
    cr_expect_eq (s_sql ("SELECT count (*) FROM reservations WHERE status = 'held'"), 1);
}

Test (pg_stores, a_failed_batch_keeps_nothing_and_answers_error)
{
    ck_request_t requests [2];
    ck_reply_t replies [2];
    s_request (&requests [0], "f-1", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 3, NULL);
    s_request (&requests [1], "f-1", CK_TYPE_RELEASE_INVENTORY, 1, NULL);
    //  a reservation whose SKU left the catalog: its release raises
    s_batch (inventory_rules_batch, s_rules, requests, replies, 1);
    cr_assert_eq (replies [0].outcome, CK_OUTCOME_OK);
    cr_assert_eq (s_sql ("WITH d AS (DELETE FROM stock WHERE sku = 'SKU-A' RETURNING 1)"
                         " SELECT count (*) FROM d"), 1);
    s_request (&requests [0], "f-2", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-B", 2, NULL);
    s_batch (inventory_rules_batch, s_rules, requests, replies, 2);
    cr_expect_eq (replies [0].outcome, CK_OUTCOME_ERROR);
    cr_expect_str_eq (replies [0].reason.code, "store_error");
    cr_expect_eq (replies [1].outcome, CK_OUTCOME_ERROR);
    cr_expect_str_eq (replies [1].reason.code, "store_error");
    cr_expect_eq (inventory_rules_available (s_rules, "SKU-B"), 5, "rolled back");
    cr_expect_eq (s_sql ("SELECT count (*) FROM ledger"), 1);
    //  and the next batch runs on the same connection
    s_batch (inventory_rules_batch, s_rules, requests, replies, 1);
    cr_expect_eq (replies [0].outcome, CK_OUTCOME_OK);
    cr_expect_eq (inventory_rules_available (s_rules, "SKU-B"), 3);
}

//  Two instances racing the same sagas through batches: never oversold,
//  one answer per saga whoever gave it
static void *
s_batch_racer (void *arg)
{
    participant_store_t *store;
    inventory_rules_t *rules = s_rules_on (&store);
    cr_assert_not_null (rules);
    ck_request_t requests [10];
    ck_reply_t *replies = (ck_reply_t *) arg;
    for (int first = 0; first < 300; first += 10) {
        for (int index = 0; index < 10; index++) {
            char saga_id [32];
            snprintf (saga_id, sizeof saga_id, "race-%d", first + index);
            s_request (&requests [index], saga_id, CK_TYPE_RESERVE_INVENTORY, 1,
                       "SKU-SCARCE", 2, NULL);
        }
        do
            s_batch (inventory_rules_batch, rules, requests, replies + first, 10);
        while (replies [first].outcome == CK_OUTCOME_ERROR);    //  a deadlock: retried
    }
    inventory_rules_destroy (&rules);
    participant_store_destroy (&store);
    return NULL;
}

Test (pg_stores, two_instances_racing_in_batches_never_oversell)
{
    static ck_reply_t one [300], two [300];
    pthread_t first, second;
    cr_assert_eq (pthread_create (&first, NULL, s_batch_racer, one), 0);
    cr_assert_eq (pthread_create (&second, NULL, s_batch_racer, two), 0);
    pthread_join (first, NULL);
    pthread_join (second, NULL);
    int ok = 0;
    for (int index = 0; index < 300; index++) {
        cr_expect_eq (one [index].outcome, two [index].outcome, "saga %d", index);
        cr_expect_str_eq (one [index].result_id, two [index].result_id);
        ok += one [index].outcome == CK_OUTCOME_OK;
    }
    cr_expect_eq (ok, 250, "500 units, 2 per saga");
    cr_expect_eq (inventory_rules_available (s_rules, "SKU-SCARCE"), 0);
    cr_expect_eq (s_sql ("SELECT count (*) FROM ledger"), 300);
}

Test (pg_stores, payment_batch)
{
    char uri [256];
    cr_assert_eq (pg_cluster_createdb (&s_cluster, "payment", uri, sizeof uri), 0);
    participant_store_t *store = participant_store_new (uri, NULL);
    cr_assert_not_null (store);
    payment_repo_t *repo = payment_repo_pg_new (store);
    cr_assert_not_null (repo);
    payment_rules_t *rules = payment_rules_new (&repo, participant_store_ledger (store), 0);
    ck_request_t requests [5];
    ck_reply_t replies [5];
    const char *methods [] = { "pm_card_visa", "pm_card_declined", "pm_card_visa" };
    for (int index = 0; index < 3; index++) {
        char saga_id [32];
        snprintf (saga_id, sizeof saga_id, "pb-%d", index);
        s_request (&requests [index], saga_id, CK_TYPE_AUTHORIZE_PAYMENT, 1, NULL);
        snprintf (requests [index].customer_id, sizeof requests [index].customer_id, "c");
        snprintf (requests [index].currency, sizeof requests [index].currency, "EUR");
        snprintf (requests [index].payment_method, sizeof requests [index].payment_method,
                  "%s", methods [index]);
        requests [index].amount = 100 + (uint64_t) index;
    }
    //  pb-2's void comes first: its authorization is refused
    s_request (&requests [3], "pb-2", CK_TYPE_VOID_PAYMENT, 1, NULL);
    ck_request_t authorize = requests [2];
    requests [2] = requests [3];
    requests [3] = authorize;
    s_request (&requests [4], "pb-0", CK_TYPE_VOID_PAYMENT, 1, NULL);
    s_batch (payment_rules_batch, rules, requests, replies, 5);
    cr_expect_eq (replies [0].outcome, CK_OUTCOME_OK);
    cr_expect (strncmp (replies [0].result_id, "auth-", 5) == 0, "id %s", replies [0].result_id);
    cr_expect_eq (replies [1].outcome, CK_OUTCOME_REJECTED);
    cr_expect_str_eq (replies [1].reason.code, "card_declined");
    cr_expect_eq (replies [2].outcome, CK_OUTCOME_OK);
    cr_expect_eq (replies [3].outcome, CK_OUTCOME_REJECTED);
    cr_expect_str_eq (replies [3].reason.code, "compensated");
    cr_expect_eq (replies [4].outcome, CK_OUTCOME_OK);
    cr_expect_eq (pg_query_int (uri, "SELECT count (*) FROM authorizations"
                                " WHERE status = 'voided' AND amount = 100"), 1);
    cr_expect_eq (pg_query_int (uri, "SELECT count (*) FROM authorizations"), 1);
    payment_rules_destroy (&rules);
    participant_store_destroy (&store);
}

//  Retention on PostgreSQL: old entries go with their detail rows, in
//  bounded batches; recent ones and the stock stay
Test (pg_stores, expire_takes_old_entries_and_their_details)
{
    char uri [256];
    cr_assert_eq (pg_cluster_createdb (&s_cluster, "payment", uri, sizeof uri), 0);
    participant_store_t *store = participant_store_new (uri, NULL);
    cr_assert_not_null (store);
    payment_repo_t *repo = payment_repo_pg_new (store);
    cr_assert_not_null (repo);
    payment_rules_t *rules = payment_rules_new (&repo, participant_store_ledger (store), 0);
    for (int k = 1; k <= 5; k++) {
        ck_request_t request;
        ck_reply_t reply;
        char saga_id [16];
        snprintf (saga_id, sizeof saga_id, "pay-%d", k);
        s_request (&request, saga_id, CK_TYPE_AUTHORIZE_PAYMENT, 1, NULL);
        snprintf (request.customer_id, sizeof request.customer_id, "cust-1");
        snprintf (request.currency, sizeof request.currency, "EUR");
        snprintf (request.payment_method, sizeof request.payment_method, "pm_card_visa");
        request.amount = 10;
        s_reply_init (&reply, &request);
        cr_assert_eq (payment_rules_authorize (rules, &request, &reply), 0);
        cr_assert_eq (reply.outcome, CK_OUTCOME_OK);
    }
    cr_assert_eq (pg_query_int (uri, "WITH u AS (UPDATE ledger SET recorded_at ="
                                " recorded_at - 864000000 WHERE saga_id IN ('pay-1', 'pay-2',"
                                " 'pay-3') RETURNING 1) SELECT count (*) FROM u"), 3);
    int64_t day_ago = zclock_time () - 86400000;
    cr_expect_eq (participant_store_expire (store, day_ago, 2), 2, "a batch is bounded");
    cr_expect_eq (participant_store_expire (store, day_ago, 2), 1);
    cr_expect_eq (participant_store_expire (store, day_ago, 2), 0, "recent entries stay");
    cr_expect_eq (pg_query_int (uri, "SELECT count (*) FROM ledger"), 2);
    cr_expect_eq (pg_query_int (uri, "SELECT count (*) FROM authorization_details"), 2);
    cr_expect_eq (pg_query_int (uri, "SELECT count (*) FROM authorizations"
                                " WHERE saga_id IN ('pay-4', 'pay-5')"), 2);
    //  the inventory's database: the stock is never touched
    participant_store_set_retention (s_store, 1);
    participant_store_idle (s_store);
    cr_expect_eq (inventory_rules_available (s_rules, "SKU-A"), 10);
    payment_rules_destroy (&rules);
    participant_store_destroy (&store);
}

//  -------------------------------------------------------------------------
//  One checkout, one saga

Test (pg_stores, a_second_saga_for_a_checkout_is_refused_in_a_batch)
{
    ck_request_t requests [4];
    ck_reply_t replies [4];
    s_request (&requests [0], "d-a", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 3, NULL);
    s_request (&requests [1], "d-b", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 3, NULL);
    snprintf (requests [1].checkout_id, sizeof requests [1].checkout_id, "co-d-a");
    requests [2] = requests [1];
    requests [2].attempt = 2;
    requests [3] = requests [0];
    requests [3].attempt = 2;
    s_batch (inventory_rules_batch, s_rules, requests, replies, 4);
    cr_expect_eq (replies [0].outcome, CK_OUTCOME_OK);
    for (int index = 1; index <= 2; index++) {
        cr_expect_eq (replies [index].outcome, CK_OUTCOME_REJECTED);
        cr_expect_str_eq (replies [index].reason.code, "duplicate_checkout");
        cr_expect_str_eq (replies [index].reason.message, "checkout co-d-a is held by saga d-a");
    }
    cr_expect_eq (replies [3].outcome, CK_OUTCOME_OK);
    cr_expect_str_eq (replies [3].result_id, replies [0].result_id);
    cr_expect_eq (inventory_rules_available (s_rules, "SKU-A"), 7, "taken once");

    //  the second saga's compensation is a no-op; the first's gives back
    s_request (&requests [0], "d-b", CK_TYPE_RELEASE_INVENTORY, 1, NULL);
    snprintf (requests [0].checkout_id, sizeof requests [0].checkout_id, "co-d-a");
    s_batch (inventory_rules_batch, s_rules, requests, replies, 1);
    cr_expect_eq (replies [0].outcome, CK_OUTCOME_OK);
    cr_expect_eq (inventory_rules_available (s_rules, "SKU-A"), 7, "the hold stays");
    s_request (&requests [0], "d-a", CK_TYPE_RELEASE_INVENTORY, 1, NULL);
    s_batch (inventory_rules_batch, s_rules, requests, replies, 1);
    cr_expect_eq (inventory_rules_available (s_rules, "SKU-A"), 10);
    cr_expect_eq (s_sql ("SELECT count (*) FROM ledger WHERE checkout_id IS NOT NULL"), 1);
}

//  The same through the handlers (ledger_run over ledger_pg.c)
Test (pg_stores, a_second_saga_for_a_checkout_is_refused_by_the_handler)
{
    ck_request_t request;
    ck_reply_t reply;
    s_request (&request, "h-a", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-B", 2, NULL);
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_OK);
    s_request (&request, "h-b", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-B", 2, NULL);
    snprintf (request.checkout_id, sizeof request.checkout_id, "co-h-a");
    cr_assert_eq (s_handle (&request, &reply), 0);
    cr_expect_eq (reply.outcome, CK_OUTCOME_REJECTED);
    cr_expect_str_eq (reply.reason.code, "duplicate_checkout");
    cr_expect_str_eq (reply.reason.message, "checkout co-h-a is held by saga h-a");
    cr_expect_eq (inventory_rules_available (s_rules, "SKU-B"), 3);
}

//  A second instance's saga of the same checkout, while the first's
//  reservation is not committed yet: it waits for the checkout's lock,
//  then sees the reservation and is refused
static void *
s_duplicate_elsewhere (void *arg)
{
    ck_reply_t *reply = (ck_reply_t *) arg;
    participant_store_t *store;
    inventory_rules_t *rules = s_rules_on (&store);
    ck_request_t request;
    s_request (&request, "race-b", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 4, NULL);
    snprintf (request.checkout_id, sizeof request.checkout_id, "co-race");
    s_reply_init (reply, &request);
    const ck_request_t *handed [] = { &request };
    ck_reply_t *answers [] = { reply };
    if (rules)
        inventory_rules_batch (rules, handed, answers, 1);
    inventory_rules_destroy (&rules);
    participant_store_destroy (&store);
    return NULL;
}

Test (pg_stores, two_instances_never_run_two_sagas_of_a_checkout)
{
    ck_request_t request;
    ck_reply_t reply, other;
    s_request (&request, "race-a", CK_TYPE_RESERVE_INVENTORY, 1, "SKU-A", 4, NULL);
    snprintf (request.checkout_id, sizeof request.checkout_id, "co-race");
    s_reply_init (&reply, &request);
    cr_assert_eq (participant_store_batch_begin (s_store), 0);
    cr_assert_eq (inventory_rules_handle (s_rules, &request, &reply), 0);
    cr_assert_eq (reply.outcome, CK_OUTCOME_OK);
    pthread_t thread;
    cr_assert_eq (pthread_create (&thread, NULL, s_duplicate_elsewhere, &other), 0);
    zclock_sleep (500);                 //  the other waits for the checkout
    cr_assert_eq (participant_store_batch_commit (s_store), 0);
    pthread_join (thread, NULL);
    cr_expect_eq (other.outcome, CK_OUTCOME_REJECTED);
    cr_expect_str_eq (other.reason.code, "duplicate_checkout");
    cr_expect_eq (inventory_rules_available (s_rules, "SKU-A"), 6, "held once");
}

//  Schema 2 as it was: the ledger without checkout_id, and a service
//  function of the old head
#define PG_SCHEMA_V2 \
    "CREATE TABLE schema_version (version INTEGER NOT NULL);" \
    "INSERT INTO schema_version VALUES (2);" \
    "CREATE TABLE ledger (id BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY," \
    " saga_id TEXT NOT NULL, type INTEGER NOT NULL, outcome SMALLINT NOT NULL," \
    " reason_code TEXT, reason_message TEXT, reason_sku TEXT, detail TEXT," \
    " recorded_at BIGINT NOT NULL, UNIQUE (saga_id, type));" \
    "INSERT INTO ledger (saga_id, type, outcome, detail, recorded_at)" \
    " VALUES ('saga-old', 1, 1, '[]', 1);" \
    "CREATE FUNCTION ck_release (p_saga text, p_type integer, p_partner integer," \
    " p_compensated text, p_now bigint) RETURNS integer LANGUAGE sql AS 'SELECT 1';"

Test (pg_stores, a_version_2_database_is_migrated)
{
    char uri [256];
    cr_assert_eq (pg_cluster_createdb (&s_cluster, "old", uri, sizeof uri), 0);
    cr_assert_eq (pg_query_int (uri, PG_SCHEMA_V2 "SELECT 1"), 1);
    participant_store_t *store;
    char saved [256];
    snprintf (saved, sizeof saved, "%s", s_uri);
    snprintf (s_uri, sizeof s_uri, "%s", uri);
    inventory_rules_t *rules = s_rules_on (&store);
    snprintf (s_uri, sizeof s_uri, "%s", saved);
    cr_assert_not_null (rules, "a version 2 database opens");
    cr_expect_eq (pg_query_int (uri, "SELECT max (version) FROM schema_version"),
                  PARTICIPANT_STORE_VERSION);
    cr_expect_eq (pg_query_int (uri, "SELECT count (*) FROM ledger WHERE saga_id ="
                                " 'saga-old' AND checkout_id IS NULL"), 1, "kept");
    cr_expect_eq (pg_query_int (uri, "SELECT count (*) FROM pg_indexes"
                                " WHERE indexname = 'ledger_checkout'"), 1);
    cr_expect_eq (pg_query_int (uri, "SELECT count (*) FROM pg_proc"
                                " WHERE proname = 'ck_release'"), 1, "the old head's is gone");
    cr_expect_eq (pg_query_int (uri, "SELECT pronargs FROM pg_proc"
                                " WHERE proname = 'ck_release'"), LEDGER_PG_HEAD);
    inventory_rules_destroy (&rules);
    participant_store_destroy (&store);
}

//  A migration that fails half-way changes nothing: here a view of the
//  operators' depends on the old function the migration drops
Test (pg_stores, a_failed_migration_changes_nothing)
{
    char uri [256];
    cr_assert_eq (pg_cluster_createdb (&s_cluster, "stuck", uri, sizeof uri), 0);
    cr_assert_eq (pg_query_int (uri, PG_SCHEMA_V2 "CREATE VIEW pinned AS SELECT ck_release"
                                " ('s', 1, NULL, NULL, 0) AS one; SELECT 1"), 1);
    participant_store_t *store = participant_store_new (uri, NULL);
    cr_expect_null (store);
    participant_store_destroy (&store);
    cr_expect_eq (pg_query_int (uri, "SELECT max (version) FROM schema_version"), 2);
    cr_expect_eq (pg_query_int (uri, "SELECT count (*) FROM information_schema.columns"
                                " WHERE table_name = 'ledger' AND column_name = 'checkout_id'"),
                  0, "the column was not added");
}

/*  saga_log_helpers.h - sample sagas and checks shared by the saga log's tests
    A W1 saga by number, every state field set by hand, a field-by-field compare.

    Header-only, for tests/test_saga_log*.c: each backend's suite runs the
    same round trips through saga_log.h.
*/
#ifndef CK_SAGA_LOG_HELPERS_H_INCLUDED
#define CK_SAGA_LOG_HELPERS_H_INCLUDED

#include <criterion/criterion.h>
#include <czmq.h>
#include "codec_samples.h"
#include "saga_log.h"

#define DIGEST_HIGH 0xFEDCBA9876543210ULL  //  uses the sign bit of an int64

//  A saga of W1 checkout k with id saga-<k>, running its first step
static saga_t *
s_saga (uint32_t k)
{
    ck_checkout_t checkout;
    ck_sample_w1_checkout (&checkout, k);
    char saga_id [CK_ID_SIZE];
    snprintf (saga_id, sizeof saga_id, "saga-%u", k);
    saga_t *saga = saga_new (saga_id, &checkout);
    cr_assert_not_null (saga);
    saga->phase = SAGA_RUNNING;
    saga->wait = SAGA_IN_FLIGHT;
    saga->type = CK_TYPE_RESERVE_INVENTORY;
    saga->attempt = 1;
    saga->accepted_us = 1700000000000000ULL + k;
    saga->deadline_us = saga->accepted_us + 5000000;
    return saga;
}

//  The name of the first field where a and b differ, or NULL
static const char *
s_diff (const saga_t *a, const saga_t *b)
{
    CK_SAMPLE_SAME_STR (a, b, saga_id);
    CK_SAMPLE_SAME_STR (a, b, checkout_id);
    CK_SAMPLE_SAME_STR (a, b, cart_id);
    CK_SAMPLE_SAME_STR (a, b, customer_id);
    CK_SAMPLE_SAME_STR (a, b, payment_method);
    CK_SAMPLE_SAME_STR (a, b, currency);
    CK_SAMPLE_SAME_STR (a, b, ship_to.country);
    CK_SAMPLE_SAME (a, b, amount);
    CK_SAMPLE_SAME (a, b, item_count);
    if (ck_sample_diff_items (a->items, b->items, a->item_count))
        return "items";
    for (int step = 0; step < CK_MAX_STEPS; step++)
        if (strcmp (saga_result (a, (uint32_t) step), saga_result (b, (uint32_t) step)))
            return "results";
    CK_SAMPLE_SAME (a, b, phase);
    CK_SAMPLE_SAME (a, b, wait);
    CK_SAMPLE_SAME (a, b, stuck);
    CK_SAMPLE_SAME (a, b, step);
    CK_SAMPLE_SAME (a, b, failed_step);
    CK_SAMPLE_SAME (a, b, comp_count);
    if (memcmp (a->comp_steps, b->comp_steps, a->comp_count))
        return "comp_steps";
    CK_SAMPLE_SAME (a, b, comp_index);
    CK_SAMPLE_SAME (a, b, type);
    CK_SAMPLE_SAME (a, b, attempt);
    CK_SAMPLE_SAME (a, b, counted);
    CK_SAMPLE_SAME (a, b, accepted_us);
    CK_SAMPLE_SAME (a, b, elapsed_us);
    CK_SAMPLE_SAME (a, b, deadline_us);
    CK_SAMPLE_SAME (a, b, history_logged);
    CK_SAMPLE_SAME (a, b, phase_logged);
    if (!a->reason != !b->reason)
        return "reason (presence)";
    if (a->reason && ck_sample_diff_reason (a->reason, b->reason))
        return "reason";
    return NULL;
}

//  Loads saga's id from the log and asserts that every field matches
static void
s_assert_loads_as (saga_log_t *log, const saga_t *saga)
{
    saga_t *loaded = saga_log_load (log, saga->saga_id);
    cr_assert_not_null (loaded, "saga=%s", saga->saga_id);
    const char *field = s_diff (saga, loaded);
    cr_expect_null (field, "saga=%s differs in %s", saga->saga_id, field);
    saga_destroy (&loaded);
}

//  Persists saga in a transaction of its own and commits
static void
s_persist_one (saga_log_t *log, saga_t *saga, bool created,
               const ck_history_entry_t *history, uint32_t count)
{
    cr_assert_eq (saga_log_begin (log), 0);
    cr_assert_eq (saga_log_persist (log, saga, created, DIGEST_HIGH, history, count), 0);
    cr_assert_eq (saga_log_commit (log), 0);
}

//  Sets every state field to a distinct, non-default value for case index
static void
s_set_state (saga_t *saga, saga_phase_t phase, saga_wait_t wait, int index)
{
    saga->phase = phase;
    saga->wait = wait;
    saga->stuck = index % 2;
    saga->step = (uint8_t) (index % 3);
    saga->failed_step = index % 4 == 0? SAGA_NO_STEP: (uint8_t) (index % 3);
    saga->comp_count = (uint8_t) (index % 3);
    for (uint8_t step = 0; step < saga->comp_count; step++)
        saga->comp_steps [step] = (uint8_t) (saga->comp_count - 1 - step);
    saga->comp_index = (uint8_t) (index % (saga->comp_count + 1));
    saga->type = (ck_type_t) (index % CK_TYPE_COUNT);
    saga->attempt = index % 5 == 0? UINT32_MAX: (uint32_t) index + 1;
    saga->counted = (uint32_t) index % 4;
    saga->accepted_us = 1700000000000000ULL + (uint64_t) index;
    saga->elapsed_us = (uint64_t) index * 1234;
    saga->deadline_us = index % 3? saga->accepted_us + 5000000: 0;
    if (index % 3 >= 1)
        cr_assert_eq (saga_set_result (saga, 0, "res-1"), 0);
    if (index % 3 == 2)
        cr_assert_eq (saga_set_result (saga, 1, CK_SAMPLE_ID64), 0);
    if (phase == SAGA_CONFIRMED)
        cr_assert_eq (saga_set_result (saga, 2, "ord-3"), 0);
    ck_reason_t reason;
    if (index % 4 == 1)
        ck_sample_reason (&reason, "out_of_stock", CK_SAMPLE_UTF8, "SKU-0013");
    else
    if (index % 4 == 2)
        ck_sample_reason (&reason, "", "", "");     //  present, all empty
    if (index % 4 == 1 || index % 4 == 2)
        cr_assert_eq (saga_set_reason (saga, &reason), 0);
}

//  What each_active handed over
typedef struct {
    zhashx_t *seen;                     //  saga_id -> phase + 1
    uint64_t digests;                   //  the sum of their cart digests
} collected_t;

static void
s_collect (void *arg, saga_t *saga, uint64_t cart_digest)
{
    collected_t *collected = (collected_t *) arg;
    collected->digests += cart_digest;
    cr_assert_eq (zhashx_insert (collected->seen, saga->saga_id,
                                 (void *) (uintptr_t) (saga->phase + 1)), 0,
                  "saga=%s returned twice", saga->saga_id);
    saga_destroy (&saga);
}

//  Whether checkout k's saga is still in the log
static bool
s_known (saga_log_t *log, uint32_t k)
{
    saga_t *saga = s_saga (k);
    char saga_id [CK_ID_SIZE];
    uint64_t digest;
    int found = saga_log_find_checkout (log, saga->checkout_id, saga_id, &digest);
    cr_assert (found == 0 || found == 1);
    saga_destroy (&saga);
    return found == 1;
}

//  expire, both backends: 100 sagas end, then 10 more later; 3 run and 2
//  compensate all along.  Only terminal sagas that ended before the cutoff
//  go, oldest first, at most max per call; running ones never.
static inline void
s_check_expire (saga_log_t *log)
{
    saga_t *sagas [115];
    cr_assert_eq (saga_log_begin (log), 0);
    for (uint32_t k = 0; k < 115; k++) {
        sagas [k] = s_saga (k);
        if (k >= 113)
            sagas [k]->phase = SAGA_COMPENSATING;
        if (k % 20 == 7 && k < 100)
            sagas [k]->phase = SAGA_FAILED;     //  ends as it is created
        cr_assert_eq (saga_log_persist (log, sagas [k], true, k, NULL, 0), 0);
    }
    cr_assert_eq (saga_log_commit (log), 0);
    cr_assert_eq (saga_log_begin (log), 0);
    for (uint32_t k = 0; k < 100; k++) {
        if (sagas [k]->phase == SAGA_RUNNING)
            sagas [k]->phase = k % 2? SAGA_CONFIRMED: SAGA_FAILED;
        cr_assert_eq (saga_log_persist (log, sagas [k], false, 0, NULL, 0), 0);
    }
    cr_assert_eq (saga_log_commit (log), 0);
    //  a persist of an ended saga dates its end no second time
    s_persist_one (log, sagas [1], false, NULL, 0);
    zclock_sleep (5);
    uint64_t cutoff = (uint64_t) zclock_time ();
    zclock_sleep (5);
    cr_assert_eq (saga_log_begin (log), 0);
    for (uint32_t k = 100; k < 110; k++) {
        sagas [k]->phase = SAGA_CONFIRMED;
        cr_assert_eq (saga_log_persist (log, sagas [k], false, 0, NULL, 0), 0);
    }
    cr_assert_eq (saga_log_commit (log), 0);

    cr_expect_eq (saga_log_expire (log, cutoff - 3600 * 1000, 64), 0, "none ended an hour ago");
    cr_expect_eq (saga_log_expire (log, cutoff, 64), 64, "a batch is bounded");
    cr_expect_eq (saga_log_expire (log, cutoff, 64), 36);
    cr_expect_eq (saga_log_expire (log, cutoff, 64), 0);
    for (uint32_t k = 0; k < 115; k++)
        cr_expect_eq (s_known (log, k), k >= 100, "saga %u", k);
    cr_expect_null (saga_log_load (log, sagas [3]->saga_id));
    uint64_t total = 9;
    cr_expect_eq (saga_log_history (log, sagas [3]->saga_id, NULL, 0, &total), 0);
    cr_expect_eq (total, 0);

    //  Everything that ended goes; running and compensating sagas never
    cr_expect_eq (saga_log_expire (log, UINT64_MAX / 2, 64), 10);
    cr_expect_eq (saga_log_expire (log, UINT64_MAX / 2, 64), 0);
    for (uint32_t k = 0; k < 115; k++)
        cr_expect_eq (s_known (log, k), k >= 110, "saga %u", k);
    collected_t collected = { zhashx_new (), 0 };
    cr_expect_eq (saga_log_each_active (log, s_collect, &collected), 5);
    zhashx_destroy (&collected.seen);
    for (uint32_t k = 0; k < 115; k++)
        saga_destroy (&sagas [k]);
}


//  What list handed over, in order
typedef struct {
    char ids [64][CK_ID_SIZE];
    saga_phase_t phases [64];
    int count;
    int stop_after;                     //  fn returns false after this many
} listed_t;

static bool
s_list_one (void *arg, const saga_t *saga)
{
    listed_t *listed = (listed_t *) arg;
    cr_assert_lt (listed->count, 64);
    snprintf (listed->ids [listed->count], CK_ID_SIZE, "%s", saga->saga_id);
    listed->phases [listed->count++] = saga->phase;
    return listed->stop_after == 0 || listed->count < listed->stop_after;
}

static int
s_strcmp_desc (const void *a, const void *b)
{
    return -strcmp ((const char *) a, (const char *) b);
}

//  list, both backends: 40 sagas of every phase with ids whose bytewise
//  order is not a locale's (case, punctuation): each page is newest, that
//  is greatest, first, bytewise; pages through the cursor see each saga
//  once; a phase filter keeps only its sagas; fn can stop a page.
static inline void
s_check_list (saga_log_t *log)
{
    char expected [40][CK_ID_SIZE];
    cr_assert_eq (saga_log_begin (log), 0);
    for (uint32_t k = 0; k < 40; k++) {
        saga_t *saga = s_saga (k);
        const char *shapes [] = { "A-%u", "a.%u", "b_%u", "B%u" };
        snprintf (saga->saga_id, CK_ID_SIZE, shapes [k % 4], k);
        snprintf (expected [k], CK_ID_SIZE, "%s", saga->saga_id);
        const saga_phase_t phases [] = { SAGA_RUNNING, SAGA_COMPENSATING, SAGA_CONFIRMED,
                                         SAGA_FAILED, SAGA_CONFIRMED };
        saga->phase = phases [k % 5];
        cr_assert_eq (saga_log_persist (log, saga, true, k, NULL, 0), 0);
        saga_destroy (&saga);
    }
    cr_assert_eq (saga_log_commit (log), 0);
    qsort (expected, 40, CK_ID_SIZE, s_strcmp_desc);

    listed_t *all = (listed_t *) calloc (1, sizeof (listed_t));
    cr_assert_eq (saga_log_list (log, SAGA_LOG_LIST_TOP, SAGA_LOG_LIST_ALL, 64, s_list_one,
                                 all), 40);
    for (int i = 0; i < 40; i++)
        cr_assert_str_eq (all->ids [i], expected [i], "row %d", i);
    //  pages of 7 through the cursor
    listed_t *paged = (listed_t *) calloc (1, sizeof (listed_t));
    char cursor [CK_ID_SIZE] = SAGA_LOG_LIST_TOP;
    for (int page = 0; page < 10; page++) {
        int before = paged->count;
        int rows = saga_log_list (log, cursor, SAGA_LOG_LIST_ALL, 7, s_list_one, paged);
        cr_assert_eq (rows, paged->count - before);
        if (rows == 0)
            break;
        snprintf (cursor, sizeof cursor, "%s", paged->ids [paged->count - 1]);
    }
    cr_assert_eq (paged->count, 40);
    for (int i = 0; i < 40; i++)
        cr_assert_str_eq (paged->ids [i], expected [i], "paged row %d", i);
    //  filters, and fn stopping the page
    const saga_log_list_t filters [] = { SAGA_LOG_LIST_ACTIVE, SAGA_LOG_LIST_CONFIRMED,
                                         SAGA_LOG_LIST_FAILED };
    const int counts [] = { 16, 16, 8 };
    for (int f = 0; f < 3; f++) {
        listed_t *some = (listed_t *) calloc (1, sizeof (listed_t));
        cr_assert_eq (saga_log_list (log, SAGA_LOG_LIST_TOP, filters [f], 64, s_list_one,
                                     some), counts [f]);
        for (int i = 0; i < some->count; i++) {
            saga_phase_t phase = some->phases [i];
            bool active = phase == SAGA_RUNNING || phase == SAGA_COMPENSATING;
            cr_assert (f == 0? active: f == 1? phase == SAGA_CONFIRMED: phase == SAGA_FAILED);
            if (i)
                cr_assert_gt (strcmp (some->ids [i - 1], some->ids [i]), 0);
        }
        free (some);
    }
    listed_t *stopped = (listed_t *) calloc (1, sizeof (listed_t));
    stopped->stop_after = 3;
    cr_assert_eq (saga_log_list (log, SAGA_LOG_LIST_TOP, SAGA_LOG_LIST_ALL, 64, s_list_one,
                                 stopped), 3);
    cr_assert_str_eq (stopped->ids [2], expected [2]);
    free (stopped);
    free (paged);
    free (all);
}

#endif

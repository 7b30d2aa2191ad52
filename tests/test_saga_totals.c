/*  test_saga_totals.c - the coordinator's totals for the stats event
    Exact cumulative counts at fixed bounds; failures by code, bounded.
*/
#include <criterion/criterion.h>
#include <czmq.h>
#include "saga_totals.h"

static saga_totals_t *s_totals;
static ck_ev_stats_t s_stats;

static void
s_init (void)
{
    s_totals = saga_totals_new ();
    memset (&s_stats, 0, sizeof s_stats);
}

static void
s_fini (void)
{
    saga_totals_destroy (&s_totals);
}

TestSuite (saga_totals, .init = s_init, .fini = s_fini, .timeout = 10);

//  The cumulative count at bound le_us, or -1 when there is no such bound
static long
s_within (uint64_t le_us)
{
    for (uint32_t i = 0; i < s_stats.latency_bucket_count; i++)
        if (s_stats.latency_buckets [i].le_us == le_us)
            return (long) s_stats.latency_buckets [i].count;
    return -1;
}

//  The failures counted under code, or -1 when code is not listed
static long
s_failed (const char *code)
{
    for (uint32_t i = 0; i < s_stats.failed_reason_count; i++)
        if (streq (s_stats.failed_reasons [i].code, code))
            return (long) s_stats.failed_reasons [i].count;
    return -1;
}

static ck_reason_t
s_reason (const char *code)
{
    ck_reason_t reason = { .message = "" };
    snprintf (reason.code, sizeof reason.code, "%s", code);
    return reason;
}

Test (saga_totals, empty_totals_list_every_bound_at_zero)
{
    saga_totals_fill (s_totals, &s_stats);
    cr_assert_eq (s_stats.ended, 0);
    cr_assert_eq (s_stats.ended_us, 0);
    cr_assert_eq (s_stats.failed_reason_count, 0);
    cr_assert_geq (s_stats.latency_bucket_count, 10);
    cr_assert_leq (s_stats.latency_bucket_count, CK_LATENCY_BUCKETS);
    for (uint32_t i = 0; i < s_stats.latency_bucket_count; i++) {
        cr_expect_eq (s_stats.latency_buckets [i].count, 0);
        if (i > 0)
            cr_expect_gt (s_stats.latency_buckets [i].le_us, s_stats.latency_buckets [i - 1].le_us);
    }
}

Test (saga_totals, bounds_are_inclusive_and_counts_cumulative)
{
    saga_totals_ended (s_totals, 1000, NULL);       //  on the 1 ms bound: within it
    saga_totals_ended (s_totals, 1001, NULL);       //  just past it
    saga_totals_ended (s_totals, 0, NULL);
    saga_totals_ended (s_totals, 60000000, NULL);   //  past every bound: +Inf only
    saga_totals_fill (s_totals, &s_stats);
    cr_expect_eq (s_stats.ended, 4);
    cr_expect_eq (s_stats.ended_us, 1000 + 1001 + 0 + 60000000);
    cr_expect_eq (s_within (250), 1);
    cr_expect_eq (s_within (500), 1);
    cr_expect_eq (s_within (1000), 2);
    cr_expect_eq (s_within (2500), 3);
    cr_expect_eq (s_within (30000000), 3);
    cr_expect_eq (s_stats.failed_reason_count, 0);
}

Test (saga_totals, totals_only_grow_across_fills)
{
    saga_totals_ended (s_totals, 3000, NULL);
    saga_totals_fill (s_totals, &s_stats);
    cr_expect_eq (s_within (5000), 1);
    saga_totals_ended (s_totals, 3000, NULL);
    saga_totals_fill (s_totals, &s_stats);
    cr_expect_eq (s_within (5000), 2);
    cr_expect_eq (s_stats.ended, 2);
}

Test (saga_totals, failures_count_by_code)
{
    ck_reason_t declined = s_reason ("card_declined");
    ck_reason_t stock = s_reason ("out_of_stock");
    ck_reason_t none = s_reason ("");
    saga_totals_ended (s_totals, 10, &declined);
    saga_totals_ended (s_totals, 10, &stock);
    saga_totals_ended (s_totals, 10, &declined);
    saga_totals_ended (s_totals, 10, &none);
    saga_totals_ended (s_totals, 10, NULL);
    saga_totals_fill (s_totals, &s_stats);
    cr_expect_eq (s_stats.failed_reason_count, 3);
    cr_expect_eq (s_failed ("card_declined"), 2);
    cr_expect_eq (s_failed ("out_of_stock"), 1);
    cr_expect_eq (s_failed ("unknown"), 1);
    cr_expect_eq (s_stats.ended, 5);
}

Test (saga_totals, codes_past_the_limit_count_as_other)
{
    //  twice as many codes as there are slots, each failing twice
    for (int round = 0; round < 2; round++)
        for (int i = 0; i < 2 * CK_MAX_FAILED_REASONS; i++) {
            char code [16];
            snprintf (code, sizeof code, "code-%d", i);
            ck_reason_t reason = s_reason (code);
            saga_totals_ended (s_totals, 10, &reason);
        }
    saga_totals_fill (s_totals, &s_stats);
    cr_assert_eq (s_stats.failed_reason_count, CK_MAX_FAILED_REASONS);
    uint64_t sum = 0;
    for (uint32_t i = 0; i < s_stats.failed_reason_count; i++)
        sum += s_stats.failed_reasons [i].count;
    cr_expect_eq (sum, 4 * CK_MAX_FAILED_REASONS, "no failure is lost");
    cr_expect_eq (s_failed ("code-0"), 2);
    cr_expect_eq (s_failed ("code-14"), 2);
    cr_expect_eq (s_failed ("code-15"), -1);
    cr_expect_eq (s_failed ("other"), 2 * (CK_MAX_FAILED_REASONS + 1));
}

Test (saga_totals, a_real_other_code_shares_the_other_slot)
{
    ck_reason_t other = s_reason ("other");
    saga_totals_ended (s_totals, 10, &other);
    for (int i = 0; i < 2 * CK_MAX_FAILED_REASONS; i++) {
        char code [16];
        snprintf (code, sizeof code, "code-%d", i);
        ck_reason_t reason = s_reason (code);
        saga_totals_ended (s_totals, 10, &reason);
    }
    saga_totals_fill (s_totals, &s_stats);
    cr_expect_eq (s_stats.failed_reason_count, CK_MAX_FAILED_REASONS);
    int others = 0;
    for (uint32_t i = 0; i < s_stats.failed_reason_count; i++)
        others += streq (s_stats.failed_reasons [i].code, "other");
    cr_expect_eq (others, 1, "one other entry");
    cr_expect_eq (s_failed ("code-14"), 1, "the slot kept for other is free for a code");
    cr_expect_eq (s_failed ("code-15"), -1);
    cr_expect_eq (s_failed ("other"), 1 + CK_MAX_FAILED_REASONS + 1);
}

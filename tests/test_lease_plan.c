/*  test_lease_plan.c - tests of the partition plan of coordinators sharing a log
    Join, leave, expiry, stale rows, a member that never releases, uneven splits.
*/
#include <criterion/criterion.h>
#include <stdio.h>
#include <string.h>
#include "lease_plan.h"

TestSuite (lease_plan, .timeout = 60);

#define TTL   3000
#define NOW   1000000
#define MAX_P 64

static lease_row_t s_rows [MAX_P];
static lease_decision_t s_decisions [MAX_P];

//  Every row owned by owner (NULL: free) until expires_ms, epoch 1
static void
s_rows_set (uint32_t count, const char *owner, int64_t expires_ms)
{
    for (uint32_t p = 0; p < count; p++)
        s_rows [p] = (lease_row_t) { owner, 1, expires_ms };
}

//  The partitions with decision, as ranges
static const char *
s_which (uint32_t count, lease_decision_t decision)
{
    static char text [256];
    bool marked [MAX_P];
    for (uint32_t p = 0; p < count; p++)
        marked [p] = s_decisions [p] == decision;
    lease_plan_ranges (marked, count, text, sizeof text);
    return text;
}

Test (lease_plan, a_lone_member_claims_every_free_partition)
{
    s_rows_set (8, NULL, 0);
    lease_member_t members [] = { { "a", NOW } };
    cr_expect_eq (lease_plan ("a", members, 1, TTL, s_rows, 8, NOW, s_decisions), 1);
    cr_expect_str_eq (s_which (8, LEASE_CLAIM), "0-7");
    //  with no row of its own yet (first round trip) it is live all the same
    cr_expect_eq (lease_plan ("a", NULL, 0, TTL, s_rows, 8, NOW, s_decisions), 1);
    cr_expect_str_eq (s_which (8, LEASE_CLAIM), "0-7");
    //  held: kept
    s_rows_set (8, "a", NOW + TTL);
    lease_plan ("a", members, 1, TTL, s_rows, 8, NOW, s_decisions);
    cr_expect_str_eq (s_which (8, LEASE_KEEP), "0-7");
}

//  b joins while a holds everything: a releases the upper half, which b
//  waits for until a's release makes it free
Test (lease_plan, a_joining_member_gets_its_range_once_released)
{
    s_rows_set (8, "a", NOW + TTL);
    lease_member_t members [] = { { "a", NOW }, { "b", NOW } };
    cr_expect_eq (lease_plan ("a", members, 2, TTL, s_rows, 8, NOW, s_decisions), 2);
    cr_expect_str_eq (s_which (8, LEASE_KEEP), "0-3");
    cr_expect_str_eq (s_which (8, LEASE_RELEASE), "4-7");
    lease_plan ("b", members, 2, TTL, s_rows, 8, NOW, s_decisions);
    cr_expect_str_eq (s_which (8, LEASE_WAIT), "4-7");
    cr_expect_str_eq (s_which (8, LEASE_NONE), "0-3");
    for (uint32_t p = 4; p < 8; p++)
        s_rows [p] = (lease_row_t) { NULL, 1, NOW };
    lease_plan ("b", members, 2, TTL, s_rows, 8, NOW, s_decisions);
    cr_expect_str_eq (s_which (8, LEASE_CLAIM), "4-7");
}

//  b dies: its heartbeat goes stale, a plans everything but waits for the
//  leases to expire, then claims them
Test (lease_plan, a_dead_members_partitions_are_claimed_after_expiry)
{
    for (uint32_t p = 0; p < 8; p++)
        s_rows [p] = (lease_row_t) { p < 4? "a": "b", 2, p < 4? NOW + TTL: NOW + 500 };
    lease_member_t members [] = { { "a", NOW }, { "b", NOW - TTL } };
    cr_expect_eq (lease_plan ("a", members, 2, TTL, s_rows, 8, NOW, s_decisions), 1);
    cr_expect_str_eq (s_which (8, LEASE_KEEP), "0-3");
    cr_expect_str_eq (s_which (8, LEASE_WAIT), "4-7");
    lease_plan ("a", members, 2, TTL, s_rows, 8, NOW + 500, s_decisions);
    cr_expect_str_eq (s_which (8, LEASE_CLAIM), "4-7", "expired exactly now: claimable");
}

//  A member whose heartbeat is fresh but that never gives up what the plan
//  gives another: the other waits (never two owners), until it expires
Test (lease_plan, a_member_that_never_releases_is_waited_for)
{
    s_rows_set (4, "a", NOW + TTL);
    lease_member_t members [] = { { "a", NOW }, { "b", NOW } };
    for (int64_t t = NOW; t < NOW + TTL; t += 1000) {
        lease_plan ("b", members, 2, TTL, s_rows, 4, t, s_decisions);
        cr_expect_str_eq (s_which (4, LEASE_WAIT), "2-3");
    }
    lease_member_t fresh [] = { { "a", NOW + TTL }, { "b", NOW + TTL } };
    lease_plan ("b", fresh, 2, TTL, s_rows, 4, NOW + TTL, s_decisions);
    cr_expect_str_eq (s_which (4, LEASE_CLAIM), "2-3");
}

//  Rows of members long gone, of unknown members and repeated member rows
Test (lease_plan, stale_rows_and_unknown_owners)
{
    s_rows [0] = (lease_row_t) { "ghost", 9, NOW - 1 };       //  expired
    s_rows [1] = (lease_row_t) { "ghost", 9, NOW + 10 };      //  live: waited for
    s_rows [2] = (lease_row_t) { "", 3, NOW + 10 };           //  free
    s_rows [3] = (lease_row_t) { "a", 4, NOW - 1 };           //  ours, expired
    lease_member_t members [] = { { "a", NOW - 10 }, { "a", NOW - 100000 },
                                  { "old", NOW - 100000 }, { "old", NOW - 2 * TTL } };
    cr_expect_eq (lease_plan ("a", members, 4, TTL, s_rows, 4, NOW, s_decisions), 1);
    cr_expect_eq (s_decisions [0], LEASE_CLAIM);
    cr_expect_eq (s_decisions [1], LEASE_WAIT);
    cr_expect_eq (s_decisions [2], LEASE_CLAIM);
    cr_expect_eq (s_decisions [3], LEASE_CLAIM, "ours but expired: claimed anew");
    //  the same expired row outside our range is lost, a live one released
    lease_member_t two [] = { { "a", NOW }, { "b", NOW }, { "b", NOW } };
    s_rows [2] = (lease_row_t) { "a", 4, NOW + 10 };
    cr_expect_eq (lease_plan ("a", two, 3, TTL, s_rows, 4, NOW, s_decisions), 2);
    cr_expect_eq (s_decisions [2], LEASE_RELEASE);
    cr_expect_eq (s_decisions [3], LEASE_LOST);
}

//  Every count of members and partitions: the live members' ranges cover
//  each partition exactly once, contiguous and in id order, sizes within
//  one of each other; n > P leaves some members nothing
Test (lease_plan, every_partition_is_planned_exactly_once)
{
    static const char *ids [] = { "c9", "a1", "b5", "d0", "a2", "e7", "b0", "f3", "g1",
                                  "h4" };
    for (uint32_t count = 1; count <= MAX_P; count++)
        for (size_t n = 1; n <= 10; n++) {
            lease_member_t members [10];
            for (size_t i = 0; i < n; i++)
                members [i] = (lease_member_t) { ids [i], NOW };
            s_rows_set (count, NULL, 0);
            int planned [MAX_P] = { 0 };
            uint32_t smallest = count, largest = 0;
            for (size_t i = 0; i < n; i++) {
                cr_assert_eq (lease_plan (ids [i], members, n, TTL, s_rows, count, NOW,
                                          s_decisions), n);
                uint32_t mine = 0;
                for (uint32_t p = 0; p < count; p++)
                    if (s_decisions [p] == LEASE_CLAIM)
                        planned [p]++, mine++;
                smallest = mine < smallest? mine: smallest;
                largest = mine > largest? mine: largest;
            }
            for (uint32_t p = 0; p < count; p++)
                cr_assert_eq (planned [p], 1, "P=%u n=%zu partition %u planned %d times",
                              count, n, p, planned [p]);
            cr_assert_leq (largest - smallest, 1, "P=%u n=%zu", count, n);
            if (n > count)
                cr_assert_eq (smallest, 0);
        }
    //  P = 10 over 3 (a1 < b5 < c9): 0-2, 3-5, 6-9
    lease_member_t three [] = { { "c9", NOW }, { "a1", NOW }, { "b5", NOW } };
    s_rows_set (10, NULL, 0);
    lease_plan ("a1", three, 3, TTL, s_rows, 10, NOW, s_decisions);
    cr_expect_str_eq (s_which (10, LEASE_CLAIM), "0-2");
    lease_plan ("c9", three, 3, TTL, s_rows, 10, NOW, s_decisions);
    cr_expect_str_eq (s_which (10, LEASE_CLAIM), "6-9");
}

//  The stats' text: ranges, and a cut with "..." when too long
Test (lease_plan, ranges_text_and_its_cut)
{
    bool held [MAX_P] = { false };
    char text [32];
    cr_expect_eq (lease_plan_ranges (held, MAX_P, text, sizeof text), 0);
    cr_expect_str_eq (text, "");
    for (uint32_t p = 0; p <= 20; p++)
        held [p] = true;
    held [42] = true;
    held [63] = true;
    cr_expect_eq (lease_plan_ranges (held, MAX_P, text, sizeof text), 23);
    cr_expect_str_eq (text, "0-20,42,63");
    memset (held, 0, sizeof held);
    for (uint32_t p = 0; p < MAX_P; p += 2)
        held [p] = true;
    cr_expect_eq (lease_plan_ranges (held, MAX_P, text, 16), 32);
    cr_expect_str_eq (text, "0,2,4,6,8,10...");
    cr_expect_leq (strlen (text), 15);
    cr_expect_str_eq (lease_decision_name (LEASE_RELEASE), "release");
}

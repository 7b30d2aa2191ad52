/*  test_saga_log_lease.c - tests of the leases and the fence on PostgreSQL
    Sharing out partitions, epochs, a stale owner fenced out, per-partition reads.

    Each test starts its own throwaway cluster (pg_helpers.h).  Two logs
    opened with saga_log_pg_open stand for two coordinators; a short TTL
    keeps the waits for expiry short.
*/
#include <criterion/criterion.h>
#include "saga_log_helpers.h"
#include "pg_helpers.h"
#include "pg.h"

#define PARTITIONS 8
#define TTL_MS     600

static pg_cluster_t s_cluster;
static char s_uri [256];

static void
s_setup (void)
{
    cr_assert_eq (pg_cluster_start (&s_cluster), 0, "the throwaway PostgreSQL starts");
    cr_assert_eq (pg_cluster_createdb (&s_cluster, "coordinator", s_uri, sizeof s_uri), 0);
}

static void
s_teardown (void)
{
    pg_cluster_stop (&s_cluster);
}

TestSuite (saga_log_lease, .init = s_setup, .fini = s_teardown, .timeout = 120);

static saga_log_t *
s_open_for (const char *instance, uint32_t partitions, uint32_t ttl_ms)
{
    leases_member_t member = { .instance = instance, .advertise = instance,
                               .partitions = partitions, .ttl_ms = ttl_ms };
    bool refused = true;
    saga_log_t *log = saga_log_pg_open (s_uri, &member, &refused);
    cr_assert_not_null (log, "%s opens", instance);
    cr_assert_not (refused);
    return log;
}

static saga_log_t *
s_open (const char *instance, uint32_t partitions)
{
    return s_open_for (instance, partitions, TTL_MS);
}

//  The partitions log holds, as ranges
static const char *
s_held (saga_log_t *log)
{
    static char text [256];
    leases_ranges (log->leases, text, sizeof text);
    return text;
}

//  A saga of W1 checkout k >= first whose partition is partition
static saga_t *
s_saga_in (uint32_t partition, uint32_t first)
{
    for (uint32_t k = first; ; k++) {
        saga_t *saga = s_saga (k);
        if (ck_partition_of (saga->checkout_id, PARTITIONS) == partition)
            return saga;
        saga_destroy (&saga);
    }
}

static void
s_count_one (void *arg, saga_t *saga, uint64_t cart_digest)
{
    (void) cart_digest;
    zlistx_add_end ((zlistx_t *) arg, strdup (saga->saga_id));
    saga_destroy (&saga);
}

Test (saga_log_lease, members_share_the_partitions_and_epochs_grow)
{
    saga_log_t *a = s_open ("a", PARTITIONS);
    cr_assert_eq (leases_renew (a->leases), 0);
    cr_expect_str_eq (s_held (a), "0-7", "alone, a takes everything");
    size_t gained = 0;
    leases_gained (a->leases, &gained);
    cr_expect_eq (gained, PARTITIONS);
    cr_expect_eq (leases_epoch (a->leases, 5), 1);
    //  b joins: it waits until a gives up the upper half
    saga_log_t *b = s_open ("b", PARTITIONS);
    cr_assert_eq (leases_renew (b->leases), 0);
    cr_expect_str_eq (s_held (b), "");
    cr_expect_str_eq (leases_owner (b->leases, 5), "a", "b sends clients to a meanwhile");
    cr_assert_eq (leases_renew (a->leases), 0);
    cr_expect_str_eq (s_held (a), "0-3");
    size_t lost = 0;
    leases_lost (a->leases, &lost);
    cr_expect_eq (lost, 4);
    cr_assert_eq (leases_renew (b->leases), 0);
    cr_expect_str_eq (s_held (b), "4-7");
    cr_expect_eq (leases_epoch (b->leases, 5), 2, "a new epoch per owner");
    cr_expect_eq (leases_epoch (a->leases, 1), 1, "renewal keeps the epoch");
    //  renewed again and again: nothing moves
    for (int round = 0; round < 3; round++) {
        cr_assert_eq (leases_renew (a->leases), 0);
        cr_assert_eq (leases_renew (b->leases), 0);
    }
    cr_expect_str_eq (s_held (a), "0-3");
    cr_expect_str_eq (s_held (b), "4-7");
    //  a leaves cleanly: b takes everything at its next renewal, without
    //  waiting for a's heartbeat and leases to age out
    leases_release_all (a->leases);
    cr_expect_str_eq (s_held (a), "");
    saga_log_destroy (&a);
    cr_expect_eq (pg_query_int (s_uri, "SELECT count (*) FROM saga_members WHERE id = 'a'"), 0);
    cr_assert_eq (leases_renew (b->leases), 0);
    cr_expect_str_eq (s_held (b), "0-7");
    cr_expect_eq (leases_epoch (b->leases, 1), 2);
    saga_log_destroy (&b);
}

//  a's lease runs out while its turn is open; b takes the partition; a's
//  commit is refused whole, and the log holds b's write only
Test (saga_log_lease, a_stale_owners_commit_is_refused_after_a_takeover)
{
    saga_log_t *a = s_open ("a", PARTITIONS);
    cr_assert_eq (leases_renew (a->leases), 0);
    saga_t *saga = s_saga_in (3, 1);
    cr_assert_eq (saga_log_begin (a), 0);
    cr_assert_eq (saga_log_persist (a, saga, true, 7, NULL, 0), 0);
    cr_assert_eq (saga_log_commit (a), 0);
    //  a pauses past its TTL: b, alone live, takes everything
    zclock_sleep (TTL_MS + 100);
    saga_log_t *b = s_open ("b", PARTITIONS);
    cr_assert_eq (leases_renew (b->leases), 0);
    cr_expect_str_eq (s_held (b), "0-7");
    cr_expect_eq (leases_epoch (b->leases, 3), 2);
    saga_t *by_b = saga_log_load (b, saga->saga_id);
    cr_assert_not_null (by_b);
    by_b->attempt = 9;
    cr_assert_eq (saga_log_begin (b), 0);
    cr_assert_eq (saga_log_persist (b, by_b, false, 0, NULL, 0), 0);
    cr_assert_eq (saga_log_commit (b), 0);
    //  a wakes and writes its stale transition, with a new saga besides
    saga->attempt = 4;
    saga_t *other = s_saga_in (6, 100);
    cr_assert_eq (saga_log_begin (a), 0);
    cr_assert_eq (saga_log_persist (a, saga, false, 0, NULL, 0), 0);
    cr_assert_eq (saga_log_persist (a, other, true, 8, NULL, 0), 0);
    cr_expect_eq (saga_log_commit (a), -1, "fenced out");
    saga_log_rollback (a);
    saga_t *loaded = saga_log_load (b, saga->saga_id);
    cr_assert_not_null (loaded);
    cr_expect_eq (loaded->attempt, 9, "b's write stands");
    cr_expect_null (saga_log_load (b, other->saga_id), "nothing of a's turn");
    //  a learns it lost everything at its next renewal
    cr_assert_eq (leases_renew (a->leases), 0);
    cr_expect_str_eq (s_held (a), "");
    size_t lost = 0;
    leases_lost (a->leases, &lost);
    cr_expect_eq (lost, PARTITIONS);
    saga_destroy (&loaded);
    saga_destroy (&by_b);
    saga_destroy (&saga);
    saga_destroy (&other);
    saga_log_destroy (&a);
    saga_log_destroy (&b);
}

//  No one takes over, but the lease ran out on the server: the commit is
//  refused all the same; once claimed again (new epoch) writes go through
Test (saga_log_lease, a_paused_owners_write_after_expiry_fails)
{
    saga_log_t *a = s_open ("a", PARTITIONS);
    cr_assert_eq (leases_renew (a->leases), 0);
    saga_t *saga = s_saga_in (2, 1);
    s_set_state (saga, SAGA_RUNNING, SAGA_IN_FLIGHT, 3);
    zclock_sleep (TTL_MS + 100);
    cr_expect_not (leases_held (a->leases, 2), "this side's clock says so too");
    cr_assert_eq (saga_log_begin (a), 0);
    cr_assert_eq (saga_log_persist (a, saga, true, 7, NULL, 0), 0);
    cr_expect_eq (saga_log_commit (a), -1);
    saga_log_rollback (a);
    cr_expect_null (saga_log_load (a, saga->saga_id));
    cr_assert_eq (leases_renew (a->leases), 0);
    cr_expect_str_eq (s_held (a), "0-7");
    cr_expect_eq (leases_epoch (a->leases, 2), 2);
    //  a forgotten partition is claimed anew, under the next epoch
    leases_forget (a->leases, 2);
    cr_expect_not (leases_held (a->leases, 2));
    cr_assert_eq (leases_renew (a->leases), 0);
    cr_expect_eq (leases_epoch (a->leases, 2), 3);
    cr_expect_eq (leases_epoch (a->leases, 1), 2);
    s_persist_one (a, saga, true, NULL, 0);
    s_assert_loads_as (a, saga);
    saga_destroy (&saga);
    saga_log_destroy (&a);
}

//  Recovery by partition reads only the sagas of those partitions
Test (saga_log_lease, per_partition_recovery)
{
    saga_log_t *a = s_open ("a", PARTITIONS);
    cr_assert_eq (leases_renew (a->leases), 0);
    saga_t *sagas [PARTITIONS * 2];
    for (uint32_t index = 0; index < PARTITIONS * 2; index++) {
        sagas [index] = s_saga_in (index % PARTITIONS, 1 + index * 1000);
        s_persist_one (a, sagas [index], true, NULL, 0);
    }
    uint32_t wanted [] = { 1, 6 };
    zlistx_t *read = zlistx_new ();
    zlistx_set_destructor (read, (zlistx_destructor_fn *) zstr_free);
    cr_expect_eq (saga_log_each_active_in (a, wanted, 2, s_count_one, read), 4);
    for (char *saga_id = (char *) zlistx_first (read); saga_id;
         saga_id = (char *) zlistx_next (read)) {
        bool expected = false;
        for (uint32_t index = 0; index < PARTITIONS * 2; index++)
            if (streq (sagas [index]->saga_id, saga_id))
                expected = index % PARTITIONS == 1 || index % PARTITIONS == 6;
        cr_expect (expected, "%s is of another partition", saga_id);
    }
    zlistx_destroy (&read);
    cr_expect_eq (pg_query_int (s_uri, "SELECT count (*) FROM sagas WHERE partition = 6"), 2);
    for (uint32_t index = 0; index < PARTITIONS * 2; index++)
        saga_destroy (&sagas [index]);
    saga_log_destroy (&a);
}

//  The partition count is recorded once; another is refused
Test (saga_log_lease, another_partition_count_is_refused)
{
    saga_log_t *a = s_open ("a", PARTITIONS);
    leases_member_t member = { .instance = "b", .advertise = "b", .partitions = 16 };
    bool refused = false;
    cr_expect_null (saga_log_pg_open (s_uri, &member, &refused));
    cr_expect (refused);
    cr_expect_eq (pg_query_int (s_uri, "SELECT count (*) FROM saga_partitions"), PARTITIONS);
    //  a tool's log (no leases) takes the recorded count, and fences nothing
    saga_log_t *tool = saga_log_new (s_uri, NULL);
    cr_assert_not_null (tool);
    cr_expect_null (tool->leases);
    saga_log_destroy (&tool);
    saga_log_destroy (&a);
}

//  A coordinator's log holding every partition reads, writes, lists and
//  expires as the tools' log does (the checks both backends pass)
static saga_log_t *
s_open_holding_all (void)
{
    saga_log_t *log = s_open_for ("a", PARTITIONS, 60000);
    cr_assert_eq (leases_renew (log->leases), 0);
    cr_assert_str_eq (s_held (log), "0-7");
    return log;
}

Test (saga_log_lease, a_fenced_log_lists_as_any_other)
{
    saga_log_t *a = s_open_holding_all ();
    s_check_list (a);
    saga_log_destroy (&a);
}

Test (saga_log_lease, a_fenced_log_expires_as_any_other)
{
    saga_log_t *a = s_open_holding_all ();
    s_check_expire (a);
    saga_log_destroy (&a);
}

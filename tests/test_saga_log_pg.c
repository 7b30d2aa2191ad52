/*  test_saga_log_pg.c - tests of the coordinator's saga log on PostgreSQL
    Round trips, dedupe, recovery, rollback, reopen, batches past one
    pipeline chunk, a failed turn, a lost server (leases and fencing:
    test_saga_log_lease.c).

    Every test starts its own throwaway cluster (pg_helpers.h) and removes
    it afterwards.  The sagas and checks are the SQLite suite's
    (saga_log_helpers.h): the two backends must agree.
*/
#include <criterion/criterion.h>
#include "saga_log_helpers.h"
#include "saga_log_pg_fixture.h"
#include "pg.h"

TestSuite (saga_log_pg, .init = s_setup, .fini = s_teardown, .timeout = 120);

static uint64_t
s_count (saga_phase_t phase)
{
    uint64_t count = 99999;
    cr_assert_eq (saga_log_count (s_log, phase, &count), 0);
    return count;
}

Test (saga_log_pg, round_trip_of_every_phase_and_wait)
{
    saga_t *sagas [(SAGA_FAILED + 1) * (SAGA_BACKING_OFF + 1)];
    int count = 0;
    cr_assert_eq (saga_log_begin (s_log), 0);
    for (int phase = SAGA_NEW; phase <= SAGA_FAILED; phase++)
        for (int wait = SAGA_IDLE; wait <= SAGA_BACKING_OFF; wait++) {
            saga_t *saga = s_saga ((uint32_t) count + 1);
            s_set_state (saga, (saga_phase_t) phase, (saga_wait_t) wait, count);
            cr_assert_eq (saga_log_persist (s_log, saga, true, count, NULL, 0), 0);
            sagas [count++] = saga;
        }
    cr_assert_eq (saga_log_commit (s_log), 0);
    for (int index = 0; index < count; index++)
        s_assert_loads_as (s_log, sagas [index]);
    cr_assert_eq (saga_log_begin (s_log), 0);
    for (int index = 0; index < count; index++) {
        saga_t *saga = sagas [index];
        s_set_state (saga, saga->phase, saga->wait, index + 7);
        if (index % 4 == 0)
            saga_set_reason (saga, NULL);
        if (index % 3 == 0)
            saga->phase = SAGA_FAILED;  //  and some change phase
        cr_assert_eq (saga_log_persist (s_log, saga, false, 0, NULL, 0), 0);
    }
    cr_assert_eq (saga_log_commit (s_log), 0);
    for (int index = 0; index < count; index++) {
        s_assert_loads_as (s_log, sagas [index]);
        saga_destroy (&sagas [index]);
    }
}

Test (saga_log_pg, find_checkout_history_and_every_bit_of_the_digest)
{
    saga_t *saga = s_saga (3);
    char saga_id [CK_ID_SIZE] = "";
    uint64_t digest = 0, total = 0;
    cr_expect_eq (saga_log_find_checkout (s_log, saga->checkout_id, saga_id, &digest), 0);
    ck_history_entry_t entries [3], read [4];
    for (uint32_t index = 0; index < 3; index++)
        ck_sample_history_entry (&entries [index], index);
    s_persist_one (s_log, saga, true, entries, 2);
    s_persist_one (s_log, saga, false, entries + 2, 1);
    cr_assert_eq (saga_log_find_checkout (s_log, saga->checkout_id, saga_id, &digest), 1);
    cr_expect_str_eq (saga_id, saga->saga_id);
    cr_expect_eq (digest, DIGEST_HIGH);
    cr_expect_eq (saga_log_history (s_log, saga->saga_id, read, 4, &total), 3);
    cr_expect_eq (total, 3);
    for (uint32_t index = 0; index < 3; index++)
        cr_expect_null (ck_sample_diff_history (&entries [index], &read [index]));
    cr_expect_eq (saga_log_history (s_log, "saga-none", read, 4, &total), 0);
    cr_expect_null (saga_log_load (s_log, "saga-none"));
    saga_destroy (&saga);
}

//  A turn's new checkouts looked up together answer as find_checkout
//  does, until the next turn, which forgets them
Test (saga_log_pg, prefetched_checkouts_answer_as_find_does)
{
    saga_t *known = s_saga (1), *later = s_saga (2);
    s_persist_one (s_log, known, true, NULL, 0);
    const char *ids [] = { known->checkout_id, later->checkout_id };
    cr_assert_eq (saga_log_prefetch (s_log, ids, 2), 0);
    char saga_id [CK_ID_SIZE] = "";
    uint64_t digest = 0;
    cr_expect_eq (saga_log_find_checkout (s_log, known->checkout_id, saga_id, &digest), 1);
    cr_expect_str_eq (saga_id, known->saga_id);
    cr_expect_eq (digest, DIGEST_HIGH);
    cr_expect_eq (saga_log_find_checkout (s_log, later->checkout_id, saga_id, &digest), 0);
    s_persist_one (s_log, later, true, NULL, 0);
    cr_expect_eq (saga_log_find_checkout (s_log, later->checkout_id, saga_id, &digest), 1,
                  "the commit forgot the prefetched answers");
    cr_expect_str_eq (saga_id, later->saga_id);
    cr_assert_eq (saga_log_prefetch (s_log, ids, 2), 0);
    cr_expect_eq (saga_log_find_checkout (s_log, later->checkout_id, saga_id, &digest), 1);
    cr_assert_eq (saga_log_prefetch (s_log, NULL, 0), 0);
    saga_destroy (&known);
    saga_destroy (&later);
}

Test (saga_log_pg, each_active_returns_exactly_the_running_and_compensating)
{
    saga_phase_t phases [] = { SAGA_RUNNING, SAGA_COMPENSATING, SAGA_CONFIRMED, SAGA_FAILED };
    cr_assert_eq (saga_log_begin (s_log), 0);
    for (uint32_t k = 0; k < 40; k++) {
        saga_t *saga = s_saga (k);
        saga->phase = phases [k % 4];
        cr_assert_eq (saga_log_persist (s_log, saga, true, k, NULL, 0), 0);
        if (k % 8 == 1) {
            //  a saga that ends in the same turn leaves the active set
            saga->phase = SAGA_FAILED;
            cr_assert_eq (saga_log_persist (s_log, saga, false, 0, NULL, 0), 0);
        }
        saga_destroy (&saga);
    }
    cr_assert_eq (saga_log_commit (s_log), 0);
    collected_t collected = { zhashx_new (), 0 };
    cr_expect_eq (saga_log_each_active (s_log, s_collect, &collected), 15);
    uint64_t digests = 0;
    for (uint32_t k = 0; k < 40; k++)
        if (k % 4 == 0 || (k % 4 == 1 && k % 8 != 1))
            digests += k;
    cr_expect_eq (collected.digests, digests);
    zhashx_destroy (&collected.seen);
    cr_expect_eq (s_count (SAGA_RUNNING), 10);
    cr_expect_eq (s_count (SAGA_COMPENSATING), 5);
    cr_expect_eq (s_count (SAGA_CONFIRMED), 10);
    cr_expect_eq (s_count (SAGA_FAILED), 15);
}

Test (saga_log_pg, rollback_leaves_nothing_and_a_reopened_log_has_everything)
{
    saga_t *kept = s_saga (1), *dropped = s_saga (2);
    s_persist_one (s_log, kept, true, NULL, 0);
    cr_assert_eq (saga_log_begin (s_log), 0);
    cr_assert_eq (saga_log_persist (s_log, dropped, true, 1, NULL, 0), 0);
    kept->attempt = 9;
    cr_assert_eq (saga_log_persist (s_log, kept, false, 0, NULL, 0), 0);
    saga_log_rollback (s_log);
    char saga_id [CK_ID_SIZE];
    uint64_t digest;
    cr_expect_eq (saga_log_find_checkout (s_log, dropped->checkout_id, saga_id, &digest), 0);
    saga_log_destroy (&s_log);
    s_log = saga_log_new (s_uri, NULL);
    cr_assert_not_null (s_log);
    saga_t *loaded = saga_log_load (s_log, kept->saga_id);
    cr_assert_not_null (loaded);
    cr_expect_eq (loaded->attempt, 1, "the rolled-back update is not there");
    saga_destroy (&loaded);
    saga_destroy (&kept);
    saga_destroy (&dropped);
}

//  Two coordinators on one log would both run its sagas
Test (saga_log_pg, expire_takes_only_old_terminal_sagas_in_bounded_batches)
{
    s_check_expire (s_log);
}

Test (saga_log_pg, list_pages_newest_first_bytewise_with_filters)
{
    s_check_list (s_log);
    //  a page can read sagas_list down from the cursor (with 40 rows the
    //  planner would rather scan and sort, so those are turned off here)
    PGconn *conn = PQconnectdb (s_uri);
    cr_assert_eq (PQstatus (conn), CONNECTION_OK);
    PQclear (PQexec (conn, "SET enable_seqscan = off; SET enable_sort = off"));
    PGresult *plan = PQexec (conn, "EXPLAIN SELECT saga_id FROM sagas"
                             " WHERE saga_id COLLATE \"C\" < 'b' ORDER BY saga_id"
                             " COLLATE \"C\" DESC LIMIT 5");
    cr_assert_eq (PQresultStatus (plan), PGRES_TUPLES_OK, "%s", PQerrorMessage (conn));
    bool indexed = false;
    for (int row = 0; row < PQntuples (plan); row++)
        indexed |= strstr (PQgetvalue (plan, row, 0), "Index") != NULL
                && strstr (PQgetvalue (plan, row, 0), "sagas_list") != NULL;
    cr_assert (indexed, "%s", PQgetvalue (plan, 0, 0));
    PQclear (plan);
    PQfinish (conn);
}

//  A turn is all or nothing: one failing statement (an update of a saga
//  the log does not have) fails the commit and nothing of the turn stays
Test (saga_log_pg, a_failed_statement_fails_the_whole_turn)
{
    saga_t *created = s_saga (5), *unknown = s_saga (6);
    cr_assert_eq (saga_log_begin (s_log), 0);
    cr_assert_eq (saga_log_persist (s_log, created, true, 5, NULL, 0), 0);
    cr_assert_eq (saga_log_persist (s_log, unknown, false, 0, NULL, 0), 0);
    cr_expect_eq (saga_log_commit (s_log), -1);
    saga_log_rollback (s_log);
    cr_expect_null (saga_log_load (s_log, created->saga_id));
    //  the log goes on
    saga_t *later = s_saga (7);
    s_persist_one (s_log, later, true, NULL, 0);
    s_assert_loads_as (s_log, later);
    //  a checkout_id already known fails its turn too
    ck_sample_set (created->saga_id, "saga-other");
    ck_sample_set (created->checkout_id, later->checkout_id);
    cr_assert_eq (saga_log_begin (s_log), 0);
    cr_assert_eq (saga_log_persist (s_log, created, true, 5, NULL, 0), 0);
    cr_expect_eq (saga_log_commit (s_log), -1);
    saga_log_rollback (s_log);
    cr_expect_eq (s_count (SAGA_RUNNING), 1);
    saga_destroy (&created);
    saga_destroy (&unknown);
    saga_destroy (&later);
}

//  More writes than one pipeline chunk: still one transaction
Test (saga_log_pg, a_turn_larger_than_a_pipeline_chunk)
{
    enum { SAGAS = PG_BATCH_CHUNK * 2 + 37 };
    saga_t **sagas = calloc (SAGAS, sizeof (saga_t *));
    cr_assert_not_null (sagas);
    ck_history_entry_t entry;
    ck_sample_history_entry (&entry, 0);
    int64_t start = zclock_usecs ();
    cr_assert_eq (saga_log_begin (s_log), 0);
    for (uint32_t k = 0; k < SAGAS; k++) {
        sagas [k] = s_saga (k);
        cr_assert_eq (saga_log_persist (s_log, sagas [k], true, k, &entry, 1), 0);
    }
    cr_assert_eq (saga_log_commit (s_log), 0);
    cr_assert_eq (saga_log_begin (s_log), 0);
    for (uint32_t k = 0; k < SAGAS; k++) {
        sagas [k]->phase = k % 2? SAGA_CONFIRMED: SAGA_RUNNING;
        sagas [k]->attempt = 2;
        cr_assert_eq (saga_log_persist (s_log, sagas [k], false, 0, &entry, 1), 0);
    }
    cr_assert_eq (saga_log_commit (s_log), 0);
    fprintf (stderr, "saga_log_pg: %d creates and %d updates in two turns: %.1f us/persist\n",
             SAGAS, SAGAS, (double) (zclock_usecs () - start) / (2.0 * SAGAS));
    cr_expect_eq (s_count (SAGA_CONFIRMED), SAGAS / 2);
    cr_expect_eq (s_count (SAGA_RUNNING), SAGAS - SAGAS / 2);
    for (uint32_t k = 0; k < SAGAS; k += 97)
        s_assert_loads_as (s_log, sagas [k]);
    for (uint32_t k = 0; k < SAGAS; k++)
        saga_destroy (&sagas [k]);
    free (sagas);
}

//  The server goes away between turns: the next turn fails (the actor then
//  stops and its restart resumes from what committed)
Test (saga_log_pg, a_lost_server_fails_the_turn_and_keeps_what_committed)
{
    saga_t *saga = s_saga (8);
    s_persist_one (s_log, saga, true, NULL, 0);
    cr_assert_eq (pg_cluster_down (&s_cluster), 0);
    saga->attempt = 4;
    int begun = saga_log_begin (s_log);
    if (begun == 0) {
        cr_assert_eq (saga_log_persist (s_log, saga, false, 0, NULL, 0), 0);
        cr_expect_eq (saga_log_commit (s_log), -1);
        saga_log_rollback (s_log);
    }
    char saga_id [CK_ID_SIZE];
    uint64_t digest;
    cr_expect_eq (saga_log_find_checkout (s_log, saga->checkout_id, saga_id, &digest), -1,
                  "no answer is not 'unknown'");
    saga_log_destroy (&s_log);
    cr_assert_eq (pg_cluster_up (&s_cluster), 0);
    s_log = saga_log_new (s_uri, NULL);
    cr_assert_not_null (s_log);
    saga_t *loaded = saga_log_load (s_log, saga->saga_id);
    cr_assert_not_null (loaded);
    cr_expect_eq (loaded->attempt, 1);
    saga_destroy (&loaded);
    saga_destroy (&saga);
}

//  Another version's log is refused and left as it was; a server that is
//  not there, or a database that does not exist, is an error, not a hang
Test (saga_log_pg, another_version_or_no_server_is_refused)
{
    saga_log_destroy (&s_log);
    cr_assert_eq (pg_query_int (s_uri, "WITH u AS (UPDATE saga_log_version SET version = 4"
                                " RETURNING 1) SELECT count (*) FROM u"), 1);
    cr_expect_null (saga_log_new (s_uri, NULL));
    cr_expect_eq (pg_query_int (s_uri, "SELECT max (version) FROM saga_log_version"), 4);
    cr_expect_eq (pg_query_int (s_uri, "SELECT count (*) FROM saga_log_version"), 1);

    char uri [300];
    snprintf (uri, sizeof uri, "postgresql://ck@127.0.0.1:%d/missing", s_cluster.port);
    cr_expect_null (saga_log_new (uri, NULL));
    snprintf (uri, sizeof uri, "postgresql://ck@127.0.0.1:%d/coordinator", pg_free_port ());
    int64_t start = zclock_mono ();
    cr_expect_null (saga_log_new (uri, NULL));
    cr_expect_lt (zclock_mono () - start, 10000);
}

/*  test_saga_log.c - tests of the coordinator's saga log
    Round trips of every saga state, history, dedupe, recovery, rollback, reopen.

    Every test works on a real SQLite file in its own temporary directory,
    removed afterwards.  Sagas come from saga_new over sample checkouts, and
    their state fields are set by hand, so that each value survives a write
    and a read on its own.
*/
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <czmq.h>
#include "saga_log_helpers.h"
#include "process_helpers.h"

static char s_dir [64];
static char s_path [128];
static saga_log_t *s_log;

static void
s_setup (void)
{
    cr_assert_eq (ph_mkdtemp ("ck-test-saga-log", s_dir, sizeof s_dir), 0);
    snprintf (s_path, sizeof s_path, "%s/saga.db", s_dir);
    s_log = saga_log_new (s_path, NULL);
    cr_assert_not_null (s_log);
}

static void
s_teardown (void)
{
    saga_log_destroy (&s_log);
    ph_rmrf (s_dir);
}

TestSuite (saga_log, .init = s_setup, .fini = s_teardown, .timeout = 60);

//  -------------------------------------------------------------------------
//  Helpers (saga_log_helpers.h has the sample sagas)

static uint64_t
s_count (saga_phase_t phase)
{
    uint64_t count = 99999;
    cr_assert_eq (saga_log_count (s_log, phase, &count), 0);
    return count;
}

//  Runs sql on a second connection to the log's file (as an operator would)
static void
s_raw_exec (const char *sql)
{
    sqlite3 *db = NULL;
    cr_assert_eq (sqlite3_open (s_path, &db), SQLITE_OK);
    sqlite3_busy_timeout (db, 5000);
    char *error = NULL;
    int rc = sqlite3_exec (db, sql, NULL, NULL, &error);
    cr_assert_eq (rc, SQLITE_OK, "sql=%s error=%s", sql, error? error: "");
    sqlite3_close (db);
}

//  -------------------------------------------------------------------------
//  Round trips

Test (saga_log, round_trip_of_every_phase_and_wait)
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

    //  Then every saga changes state: an update rewrites all of it
    cr_assert_eq (saga_log_begin (s_log), 0);
    for (int index = 0; index < count; index++) {
        saga_t *saga = sagas [index];
        s_set_state (saga, saga->phase, saga->wait, index + 7);
        if (index % 4 == 0)
            saga_set_reason (saga, NULL);
        cr_assert_eq (saga_log_persist (s_log, saga, false, 0, NULL, 0), 0);
    }
    cr_assert_eq (saga_log_commit (s_log), 0);
    for (int index = 0; index < count; index++) {
        s_assert_loads_as (s_log, sagas [index]);
        saga_destroy (&sagas [index]);
    }
}

Test (saga_log, round_trip_of_a_full_cart_on_the_limits)
{
    ck_checkout_t checkout;
    ck_sample_checkout (&checkout, CK_MAX_ITEMS, true);
    ck_sample_set (checkout.checkout_id, CK_SAMPLE_ID64);
    ck_sample_set (checkout.customer_id, CK_SAMPLE_ID64);
    ck_sample_set (checkout.payment_method, CK_SAMPLE_ID64);
    saga_t *saga = saga_new (CK_SAMPLE_ID64, &checkout);
    cr_assert_not_null (saga);
    saga->phase = SAGA_RUNNING;
    s_persist_one (s_log, saga, true, NULL, 0);
    s_assert_loads_as (s_log, saga);
    cr_expect_eq (saga->items [0].qty, CK_MAX_QTY);
    cr_expect_eq (saga->items [0].unit_price, CK_MAX_UNIT_PRICE);
    cr_expect_eq (saga->items [1].unit_price, 0);
    saga_destroy (&saga);
}

Test (saga_log, unknown_saga_loads_as_null)
{
    cr_expect_null (saga_log_load (s_log, "saga-none"));
    saga_t *saga = s_saga (1);
    cr_assert_eq (saga_log_begin (s_log), 0);
    cr_expect_eq (saga_log_persist (s_log, saga, false, 0, NULL, 0), -1,
                  "an update of a saga never created must fail");
    saga_log_rollback (s_log);
    saga_destroy (&saga);
}

//  -------------------------------------------------------------------------
//  History

Test (saga_log, history_is_appended_in_order_across_persists)
{
    ck_history_entry_t written [9];
    for (uint32_t index = 0; index < 9; index++)
        ck_sample_history_entry (&written [index], index);
    saga_t *saga = s_saga (5);
    s_persist_one (s_log, saga, true, written, 2);
    s_persist_one (s_log, saga, false, written + 2, 0);
    s_persist_one (s_log, saga, false, written + 2, 4);
    s_persist_one (s_log, saga, false, written + 6, 3);

    ck_history_entry_t read [CK_MAX_HISTORY];
    uint64_t total = 0;
    cr_assert_eq (saga_log_history (s_log, saga->saga_id, read, CK_MAX_HISTORY, &total), 9);
    cr_expect_eq (total, 9);
    for (uint32_t index = 0; index < 9; index++) {
        const char *field = ck_sample_diff_history (&written [index], &read [index]);
        cr_expect_null (field, "entry %u differs in %s", index, field);
    }
    //  Another saga's history is its own
    saga_t *other = s_saga (6);
    s_persist_one (s_log, other, true, written + 3, 1);
    cr_expect_eq (saga_log_history (s_log, other->saga_id, read, CK_MAX_HISTORY, &total), 1);
    cr_expect_eq (total, 1);
    cr_expect_null (ck_sample_diff_history (&written [3], &read [0]));
    cr_expect_eq (saga_log_history (s_log, "saga-none", read, CK_MAX_HISTORY, &total), 0);
    cr_expect_eq (total, 0);
    saga_destroy (&saga);
    saga_destroy (&other);
}

Test (saga_log, long_history_keeps_first_and_last_halves)
{
    saga_t *saga = s_saga (8);
    ck_history_entry_t batch [SAGA_HISTORY_MAX];
    uint32_t written = 0;
    cr_assert_eq (saga_log_begin (s_log), 0);
    for (int turn = 0; turn < 100; turn++) {
        uint32_t count = 1 + (uint32_t) turn % SAGA_HISTORY_MAX;
        for (uint32_t index = 0; index < count; index++)
            ck_sample_history_entry (&batch [index], written + index);
        cr_assert_eq (saga_log_persist (s_log, saga, turn == 0, 1, batch, count), 0);
        written += count;
    }
    cr_assert_eq (saga_log_commit (s_log), 0);

    uint32_t maxes [] = { 16, 17, 1, 0 };
    for (size_t m = 0; m < sizeof maxes / sizeof maxes [0]; m++) {
        uint32_t max = maxes [m];
        ck_history_entry_t read [17];
        uint64_t total = 0;
        cr_assert_eq (saga_log_history (s_log, saga->saga_id, read, max, &total), (int) max);
        cr_expect_eq (total, written);
        uint32_t head = max / 2;
        for (uint32_t index = 0; index < max; index++) {
            uint32_t seq = index < head? index: written - (max - index);
            ck_history_entry_t expected;
            ck_sample_history_entry (&expected, seq);
            const char *field = ck_sample_diff_history (&expected, &read [index]);
            cr_expect_null (field, "max=%u entry %u (seq %u) differs in %s", max, index, seq, field);
        }
    }
    saga_destroy (&saga);
}

//  -------------------------------------------------------------------------
//  Dedupe

//  A saga stuck for days appends history for ever: the log keeps only the
//  entries STATUS can show, the first and last CK_MAX_HISTORY / 2
Test (saga_log, a_long_history_keeps_only_what_can_be_read)
{
    saga_t *saga = s_saga (9);
    ck_history_entry_t batch [SAGA_HISTORY_MAX];
    uint32_t written = 0;
    for (int turn = 0; turn < 400; turn++) {
        uint32_t count = 1 + (uint32_t) turn % SAGA_HISTORY_MAX;
        for (uint32_t index = 0; index < count; index++)
            ck_sample_history_entry (&batch [index], written + index);
        s_persist_one (s_log, saga, turn == 0, batch, count);
        written += count;
    }
    cr_expect_eq (saga->history_kept, CK_MAX_HISTORY, "entries kept of %u", written);
    sqlite3 *db;
    cr_assert_eq (sqlite3_open (s_path, &db), SQLITE_OK);
    sqlite3_stmt *stmt;
    cr_assert_eq (sqlite3_prepare_v2 (db, "SELECT length (state) FROM sagas WHERE saga_id = ?1",
                  -1, &stmt, NULL), SQLITE_OK);
    sqlite3_bind_text (stmt, 1, saga->saga_id, -1, SQLITE_STATIC);
    cr_assert_eq (sqlite3_step (stmt), SQLITE_ROW);
    //  The sample entries carry a reason of up to ~300 bytes each
    cr_expect_lt (sqlite3_column_int (stmt, 0), CK_MAX_HISTORY * 400, "the row stays bounded");
    sqlite3_finalize (stmt);
    sqlite3_close (db);

    ck_history_entry_t read [CK_MAX_HISTORY];
    uint64_t total = 0;
    cr_assert_eq (saga_log_history (s_log, saga->saga_id, read, CK_MAX_HISTORY, &total),
                  CK_MAX_HISTORY);
    cr_expect_eq (total, written);
    for (uint32_t index = 0; index < CK_MAX_HISTORY; index++) {
        uint32_t seq = index < CK_MAX_HISTORY / 2? index: written - (CK_MAX_HISTORY - index);
        ck_history_entry_t expected;
        ck_sample_history_entry (&expected, seq);
        cr_expect_null (ck_sample_diff_history (&expected, &read [index]), "entry %u", index);
    }
    saga_destroy (&saga);
}

Test (saga_log, find_checkout_knows_every_saga_ever_created)
{
    saga_t *saga = s_saga (3);
    char saga_id [CK_ID_SIZE] = "";
    uint64_t digest = 0;
    cr_expect_eq (saga_log_find_checkout (s_log, saga->checkout_id, saga_id, &digest), 0);
    s_persist_one (s_log, saga, true, NULL, 0);
    cr_assert_eq (saga_log_find_checkout (s_log, saga->checkout_id, saga_id, &digest), 1);
    cr_expect_str_eq (saga_id, saga->saga_id);
    cr_expect_eq (digest, DIGEST_HIGH);
    //  A terminal saga is still known: exactly one saga per checkout_id, ever
    saga->phase = SAGA_CONFIRMED;
    saga->wait = SAGA_IDLE;
    s_persist_one (s_log, saga, false, NULL, 0);
    cr_expect_eq (saga_log_find_checkout (s_log, saga->checkout_id, saga_id, &digest), 1);
    cr_expect_eq (saga_log_find_checkout (s_log, "chk-none", saga_id, &digest), 0);
    saga_destroy (&saga);
}

Test (saga_log, a_second_saga_with_a_known_checkout_id_fails)
{
    saga_t *first = s_saga (4);
    s_persist_one (s_log, first, true, NULL, 0);
    saga_t *second = s_saga (4);
    ck_sample_set (second->saga_id, "saga-other");
    cr_assert_eq (saga_log_begin (s_log), 0);
    cr_expect_eq (saga_log_persist (s_log, second, true, 7, NULL, 0), -1);
    saga_log_rollback (s_log);
    //  The same saga created twice fails too
    cr_assert_eq (saga_log_begin (s_log), 0);
    cr_expect_eq (saga_log_persist (s_log, first, true, 7, NULL, 0), -1);
    //  A refused create wrote nothing: the turn goes on and commits
    saga_t *third = s_saga (5);
    cr_expect_eq (saga_log_persist (s_log, third, true, 7, NULL, 0), 0);
    cr_assert_eq (saga_log_commit (s_log), 0);
    s_assert_loads_as (s_log, third);
    saga_destroy (&third);

    char saga_id [CK_ID_SIZE];
    uint64_t digest;
    cr_assert_eq (saga_log_find_checkout (s_log, first->checkout_id, saga_id, &digest), 1);
    cr_expect_str_eq (saga_id, first->saga_id);
    cr_expect_null (saga_log_load (s_log, "saga-other"));
    cr_expect_eq (s_count (SAGA_RUNNING), 2);
    saga_destroy (&first);
    saga_destroy (&second);
}

//  -------------------------------------------------------------------------
//  Recovery

Test (saga_log, each_active_returns_exactly_the_running_and_compensating)
{
    saga_phase_t phases [] = { SAGA_RUNNING, SAGA_COMPENSATING, SAGA_CONFIRMED, SAGA_FAILED };
    cr_assert_eq (saga_log_begin (s_log), 0);
    for (uint32_t k = 0; k < 40; k++) {
        saga_t *saga = s_saga (k);
        saga->phase = phases [k % 4];
        cr_assert_eq (saga_log_persist (s_log, saga, true, k, NULL, 0), 0);
        //  A saga that ends later leaves the active set
        if (k % 8 == 1) {
            saga->phase = SAGA_FAILED;
            cr_assert_eq (saga_log_persist (s_log, saga, false, 0, NULL, 0), 0);
        }
        saga_destroy (&saga);
    }
    cr_assert_eq (saga_log_commit (s_log), 0);

    collected_t collected = { zhashx_new (), 0 };
    cr_expect_eq (saga_log_each_active (s_log, s_collect, &collected), 15);
    cr_expect_eq (zhashx_size (collected.seen), 15);
    uint64_t digests = 0;               //  each saga k was created with digest k
    for (uint32_t k = 0; k < 40; k++)
        if (k % 4 == 0 || (k % 4 == 1 && k % 8 != 1))
            digests += k;
    cr_expect_eq (collected.digests, digests, "each saga comes with its cart digest");
    for (uint32_t k = 0; k < 40; k++) {
        char saga_id [CK_ID_SIZE];
        snprintf (saga_id, sizeof saga_id, "saga-%u", k);
        uintptr_t phase = (uintptr_t) zhashx_lookup (collected.seen, saga_id);
        bool active = k % 4 == 0 || (k % 4 == 1 && k % 8 != 1);
        cr_expect_eq (phase != 0, active, "saga=%s", saga_id);
        if (phase)
            cr_expect_eq (phase - 1, phases [k % 4]);
    }
    zhashx_destroy (&collected.seen);
    cr_expect_eq (s_count (SAGA_RUNNING), 10);
    cr_expect_eq (s_count (SAGA_COMPENSATING), 5);
    cr_expect_eq (s_count (SAGA_CONFIRMED), 10);
    cr_expect_eq (s_count (SAGA_FAILED), 15);
    cr_expect_eq (s_count (SAGA_NEW), 0);
}

//  The callback persists every saga it gets, as the actor's resume does
static void
s_resume (void *arg, saga_t *saga, uint64_t cart_digest)
{
    (void) cart_digest;
    saga_log_t *log = (saga_log_t *) arg;
    saga->attempt++;
    ck_history_entry_t entry = { .at_ms = 1, .event = "resumed" };
    cr_assert_eq (saga_log_persist (log, saga, false, 0, &entry, 1), 0);
    saga_destroy (&saga);
}

Test (saga_log, each_active_callback_may_write_to_the_log)
{
    cr_assert_eq (saga_log_begin (s_log), 0);
    for (uint32_t k = 0; k < 300; k++) {
        saga_t *saga = s_saga (k);
        cr_assert_eq (saga_log_persist (s_log, saga, true, k, NULL, 0), 0);
        saga_destroy (&saga);
    }
    cr_assert_eq (saga_log_commit (s_log), 0);
    cr_assert_eq (saga_log_begin (s_log), 0);
    cr_expect_eq (saga_log_each_active (s_log, s_resume, s_log), 300);
    cr_assert_eq (saga_log_commit (s_log), 0);
    saga_t *saga = saga_log_load (s_log, "saga-299");
    cr_assert_not_null (saga);
    cr_expect_eq (saga->attempt, 2, "each saga resumed exactly once");
    saga_destroy (&saga);
}

Test (saga_log, each_active_uses_the_partial_index)
{
    sqlite3 *db = NULL;
    cr_assert_eq (sqlite3_open (s_path, &db), SQLITE_OK);
    sqlite3_stmt *stmt = NULL;
    cr_assert_eq (sqlite3_prepare_v2 (db,
        "EXPLAIN QUERY PLAN SELECT saga_id, phase, cart, state, cart_digest FROM sagas"
        " WHERE phase IN ('running', 'compensating')", -1, &stmt, NULL), SQLITE_OK);
    bool indexed = false;
    while (sqlite3_step (stmt) == SQLITE_ROW)
        if (strstr ((const char *) sqlite3_column_text (stmt, 3), "sagas_active"))
            indexed = true;
    sqlite3_finalize (stmt);
    sqlite3_close (db);
    cr_expect (indexed, "the recovery scan must not read terminal sagas");
}

Test (saga_log, a_damaged_row_is_an_error_not_a_crash)
{
    saga_t *saga = s_saga (1);
    s_persist_one (s_log, saga, true, NULL, 0);
    s_raw_exec ("CREATE TABLE good AS SELECT * FROM sagas");
    const char *damages [] = {
        "UPDATE sagas SET state = x'00'",
        "UPDATE sagas SET state = x'80'",                   //  an empty map
        "UPDATE sagas SET state = x'81a5737461746590'",     //  {"state": []}
        "UPDATE sagas SET state = x'dfffffffff'",           //  a map claiming 4G entries
        "UPDATE sagas SET state = x''",
        "UPDATE sagas SET phase = 'bogus'",
        "UPDATE sagas SET cart = x'80'",
        "UPDATE sagas SET cart = 'text'",
        "UPDATE sagas SET saga_id = 'bad id'",
    };
    for (size_t index = 0; index < sizeof damages / sizeof damages [0]; index++) {
        s_raw_exec ("DELETE FROM sagas; INSERT INTO sagas SELECT * FROM good");
        s_raw_exec (damages [index]);
        const char *id = strstr (damages [index], "saga_id")? "bad id": saga->saga_id;
        cr_expect_null (saga_log_load (s_log, id), "%s", damages [index]);
        if (!strstr (damages [index], "bogus"))     //  not active, so not read
            cr_expect_eq (saga_log_each_active (s_log, s_collect, NULL), -1, "%s", damages [index]);
    }
    //  A cart whose amount is not the sum of its lines is no CHECKOUT: it
    //  is not written, so never read back as one
    s_raw_exec ("DELETE FROM sagas; INSERT INTO sagas SELECT * FROM good");
    saga_t *twisted = s_saga (2);
    twisted->amount++;
    cr_assert_eq (saga_log_begin (s_log), 0);
    cr_expect_eq (saga_log_persist (s_log, twisted, true, 1, NULL, 0), -1);
    saga_log_rollback (s_log);
    saga_destroy (&twisted);
    s_raw_exec ("DELETE FROM sagas; INSERT INTO sagas SELECT * FROM good");
    saga_t *loaded = saga_log_load (s_log, saga->saga_id);
    cr_assert_not_null (loaded, "repaired by hand, it loads again");
    cr_expect_null (s_diff (saga, loaded));
    saga_destroy (&loaded);
    saga_destroy (&saga);
}

//  -------------------------------------------------------------------------
//  Transactions and files

Test (saga_log, rollback_leaves_nothing)
{
    saga_t *saga = s_saga (2);
    ck_history_entry_t entry;
    ck_sample_history_entry (&entry, 0);
    cr_assert_eq (saga_log_begin (s_log), 0);
    cr_assert_eq (saga_log_persist (s_log, saga, true, 1, &entry, 1), 0);
    saga_log_rollback (s_log);
    char saga_id [CK_ID_SIZE];
    uint64_t digest, total = 9;
    cr_expect_eq (saga_log_find_checkout (s_log, saga->checkout_id, saga_id, &digest), 0);
    cr_expect_null (saga_log_load (s_log, saga->saga_id));
    cr_expect_eq (saga_log_history (s_log, saga->saga_id, &entry, 1, &total), 0);
    cr_expect_eq (total, 0);
    cr_expect_eq (s_count (SAGA_RUNNING), 0);
    saga_log_rollback (s_log);          //  nothing open: harmless
    saga_destroy (&saga);
}

Test (saga_log, a_reopened_log_has_everything)
{
    saga_t *saga = s_saga (11);
    saga->phase = SAGA_COMPENSATING;
    saga->comp_count = 2;
    saga->comp_steps [0] = 1;
    saga->comp_steps [1] = 0;
    saga->comp_index = 1;
    ck_history_entry_t entries [3];
    for (uint32_t index = 0; index < 3; index++)
        ck_sample_history_entry (&entries [index], index);
    s_persist_one (s_log, saga, true, entries, 3);
    cr_assert_eq (saga_log_checkpoint (s_log), 0);
    saga_log_destroy (&s_log);
    cr_expect_null (s_log);
    saga_log_destroy (&s_log);          //  safe twice

    s_log = saga_log_new (s_path, NULL);
    cr_assert_not_null (s_log);
    s_assert_loads_as (s_log, saga);
    ck_history_entry_t read [4];
    uint64_t total;
    cr_expect_eq (saga_log_history (s_log, saga->saga_id, read, 4, &total), 3);
    for (uint32_t index = 0; index < 3; index++)
        cr_expect_null (ck_sample_diff_history (&entries [index], &read [index]));
    char saga_id [CK_ID_SIZE];
    uint64_t digest;
    cr_expect_eq (saga_log_find_checkout (s_log, saga->checkout_id, saga_id, &digest), 1);
    cr_expect_eq (digest, DIGEST_HIGH);
    collected_t collected = { zhashx_new (), 0 };
    cr_expect_eq (saga_log_each_active (s_log, s_collect, &collected), 1);
    cr_expect_eq (collected.digests, DIGEST_HIGH, "all 64 bits of the digest");
    zhashx_destroy (&collected.seen);
    saga_destroy (&saga);
}

//  -------------------------------------------------------------------------
//  Retention

Test (saga_log, expire_takes_only_old_terminal_sagas_in_bounded_batches)
{
    s_check_expire (s_log);
}

Test (saga_log, list_pages_newest_first_bytewise_with_filters)
{
    s_check_list (s_log);
}

//  A log written before retention has no saga_ends: on open it gets one,
//  its terminal sagas dated then, so they go one retention later
Test (saga_log, a_log_without_saga_ends_gets_its_ended_sagas_dated_on_open)
{
    saga_t *ended = s_saga (1), *running = s_saga (2);
    ended->phase = SAGA_CONFIRMED;
    s_persist_one (s_log, ended, true, NULL, 0);
    s_persist_one (s_log, running, true, NULL, 0);
    saga_log_destroy (&s_log);
    s_raw_exec ("DROP TABLE saga_ends");
    uint64_t before = (uint64_t) zclock_time () - 1000;
    s_log = saga_log_new (s_path, NULL);
    cr_assert_not_null (s_log);
    cr_expect_eq (saga_log_expire (s_log, before, 64), 0, "dated on open, not before");
    cr_expect_eq (saga_log_expire (s_log, before + 3600 * 1000, 64), 1);
    cr_expect (!s_known (s_log, 1));
    cr_expect (s_known (s_log, 2));
    //  and only once: a log whose ended sagas all went is not dated again
    saga_log_destroy (&s_log);
    s_log = saga_log_new (s_path, NULL);
    cr_assert_not_null (s_log);
    cr_expect_eq (saga_log_expire (s_log, UINT64_MAX / 2, 64), 0);
    saga_destroy (&ended);
    saga_destroy (&running);
}

//  The history count travels in the saga: a restored saga must go on
//  numbering its history where the log left it, not at 0 (which would
//  fail on the primary key, or worse, shadow entries)
Test (saga_log, a_restored_saga_appends_after_its_logged_history)
{
    saga_t *saga = s_saga (12);
    ck_history_entry_t entries [5];
    for (uint32_t index = 0; index < 5; index++)
        ck_sample_history_entry (&entries [index], index);
    s_persist_one (s_log, saga, true, entries, 3);
    saga_t *restored = saga_log_load (s_log, saga->saga_id);
    cr_assert_not_null (restored);
    cr_expect_eq (restored->history_logged, 3);
    s_persist_one (s_log, restored, false, entries + 3, 2);
    cr_expect_eq (restored->history_logged, 5);
    ck_history_entry_t read [6];
    uint64_t total;
    cr_assert_eq (saga_log_history (s_log, saga->saga_id, read, 6, &total), 5);
    for (uint32_t index = 0; index < 5; index++)
        cr_expect_null (ck_sample_diff_history (&entries [index], &read [index]),
                        "entry %u", index);
    saga_destroy (&restored);
    saga_destroy (&saga);
}

Test (saga_log, a_newer_schema_is_refused)
{
    saga_log_destroy (&s_log);
    s_raw_exec ("PRAGMA user_version = 3");
    s_log = saga_log_new (s_path, NULL);
    cr_expect_null (s_log);
    s_raw_exec ("PRAGMA user_version = 2");
    s_log = saga_log_new (s_path, NULL);
    cr_expect_not_null (s_log);
}

//  A log written by the previous release (version 1: a cart table, a state
//  row with a column per result, a history table) is refused, never read
//  as if it were this layout
Test (saga_log, a_version_1_log_is_refused)
{
    saga_log_destroy (&s_log);
    unlink (s_path);
    s_raw_exec ("CREATE TABLE saga_carts (saga_id TEXT PRIMARY KEY NOT NULL,"
                " checkout_id TEXT NOT NULL, cart_digest INTEGER NOT NULL, cart_id TEXT NOT NULL,"
                " customer_id TEXT NOT NULL, payment_method TEXT NOT NULL, currency TEXT NOT NULL,"
                " ship_country TEXT NOT NULL, amount INTEGER NOT NULL, items TEXT NOT NULL)"
                " WITHOUT ROWID;"
                "CREATE TABLE sagas (saga_id TEXT PRIMARY KEY NOT NULL, phase TEXT NOT NULL,"
                " wait TEXT NOT NULL, stuck INTEGER NOT NULL, step INTEGER NOT NULL,"
                " failed_step INTEGER, comp_steps TEXT NOT NULL, comp_index INTEGER NOT NULL,"
                " type TEXT, attempt INTEGER NOT NULL, counted INTEGER NOT NULL,"
                " accepted_us INTEGER NOT NULL, elapsed_us INTEGER NOT NULL,"
                " deadline_us INTEGER NOT NULL, reservation_id TEXT, authorization_id TEXT,"
                " order_id TEXT, reason_code TEXT, reason_message TEXT, reason_sku TEXT,"
                " history_count INTEGER NOT NULL) WITHOUT ROWID;"
                "INSERT INTO saga_carts VALUES ('s-1', 'chk-1', 7, 'cart-1', 'cust-1',"
                " 'pm_card_visa', 'EUR', 'DE', 100, 'SKU-1 1 100');"
                "INSERT INTO sagas VALUES ('s-1', 'running', 'in_flight', 0, 1, NULL, '', 0,"
                " 'AuthorizePayment', 1, 0, 1, 0, 2, 'res-1', NULL, NULL, NULL, NULL, NULL, 2);"
                "PRAGMA user_version = 1");
    s_log = saga_log_new (s_path, NULL);
    cr_expect_null (s_log);
    s_raw_exec ("SELECT count(*) FROM saga_carts");     //  and left as it was
}

//  -------------------------------------------------------------------------
//  Many sagas per transaction, and what a persist costs

Test (saga_log, many_sagas_in_one_transaction)
{
    enum { SAGAS = 5000, BATCH = 256, TRANSITIONS = 5 };
    saga_t **sagas = calloc (SAGAS, sizeof (saga_t *));
    cr_assert_not_null (sagas);
    for (uint32_t k = 0; k < SAGAS; k++)
        sagas [k] = s_saga (k);
    ck_history_entry_t entries [2];
    ck_sample_history_entry (&entries [0], 0);
    ck_sample_history_entry (&entries [1], 1);

    //  Every saga is created, then goes through a few transitions, in
    //  turns of BATCH sagas, the way the coordinator's loop batches them
    int64_t persist_us = 0, commit_us = 0, persists = 0;
    for (int transition = 0; transition < TRANSITIONS; transition++)
        for (uint32_t first = 0; first < SAGAS; first += BATCH) {
            cr_assert_eq (saga_log_begin (s_log), 0);
            int64_t start = zclock_usecs ();
            for (uint32_t k = first; k < first + BATCH && k < SAGAS; k++) {
                saga_t *saga = sagas [k];
                if (transition > 0)
                    saga->attempt++;
                if (transition == TRANSITIONS - 1)
                    saga->phase = k % 2? SAGA_CONFIRMED: SAGA_COMPENSATING;
                cr_assert_eq (saga_log_persist (s_log, saga, transition == 0, k, entries,
                                                1 + transition % 2), 0);
                persists++;
            }
            int64_t middle = zclock_usecs ();
            cr_assert_eq (saga_log_commit (s_log), 0);
            persist_us += middle - start;
            commit_us += zclock_usecs () - middle;
        }
    cr_log_info ("saga_log: %" PRId64 " persists in turns of %d: %.2f us/persist,"
                 " %.2f us/persist in commits (fsync)", persists, BATCH,
                 (double) persist_us / (double) persists, (double) commit_us / (double) persists);
    fprintf (stderr, "saga_log: bench persists=%" PRId64 " batch=%d persist_us=%.2f commit_us=%.2f\n",
             persists, BATCH, (double) persist_us / (double) persists,
             (double) commit_us / (double) persists);

    cr_expect_eq (s_count (SAGA_CONFIRMED), SAGAS / 2);
    cr_expect_eq (s_count (SAGA_COMPENSATING), SAGAS / 2);
    cr_expect_eq (s_count (SAGA_RUNNING), 0);
    for (uint32_t k = 0; k < SAGAS; k += 499)
        s_assert_loads_as (s_log, sagas [k]);
    uint64_t total;
    ck_history_entry_t read [1];
    cr_expect_eq (saga_log_history (s_log, sagas [7]->saga_id, read, 1, &total), 1);
    cr_expect_eq (total, 1 + 2 + 1 + 2 + 1);
    for (uint32_t k = 0; k < SAGAS; k++)
        saga_destroy (&sagas [k]);
    free (sagas);
}

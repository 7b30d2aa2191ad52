/*  test_saga_log_pg_turn.c - tests of a turn's writes to the saga log on PostgreSQL
    A few array statements per turn, whatever its size; every byte kept exactly.

    The statement counts need no server; the round trips start their own
    throwaway cluster (pg_helpers.h) and go through saga_log.h, as the
    coordinator does.
*/
#include <criterion/criterion.h>
#include "saga_log_helpers.h"
#include "saga_log_pg_turn.h"
#include "saga_record.h"
#include "saga_log_pg_fixture.h"
#include "pg.h"

enum { SAGAS = 500, STAMPS = 32 };

TestSuite (saga_log_pg_turn, .timeout = 120);

//  A row of saga k, its state one byte long
static saga_log_pg_row_t
s_row (uint32_t k, char *saga_id, const char *phase)
{
    snprintf (saga_id, CK_ID_SIZE, "saga-%u", k);
    return (saga_log_pg_row_t) {
        .saga_id = saga_id, .state = "s", .state_size = 1, .phase = phase,
        .checkout_id = saga_id, .cart = "c", .cart_size = 1, .partition = k % 16
    };
}

Test (saga_log_pg_turn, a_turn_is_at_most_three_statements_however_many_sagas)
{
    saga_log_pg_turn_t *turn = saga_log_pg_turn_new ();
    cr_assert_not_null (turn);
    pg_statement_t statements [SAGA_LOG_PG_TURN_STATEMENTS];
    cr_expect (saga_log_pg_turn_empty (turn));
    cr_expect_eq (saga_log_pg_turn_statements (turn, statements), 0);
    char saga_id [CK_ID_SIZE];
    for (uint32_t k = 0; k < SAGAS; k++) {
        saga_log_pg_row_t row = s_row (k, saga_id, "running");
        cr_assert_eq (k % 2? saga_log_pg_turn_update (turn, &row)
                           : saga_log_pg_turn_insert (turn, &row), 0);
        row.phase = "confirmed";
        cr_assert_eq (saga_log_pg_turn_update (turn, &row), 0);
        cr_assert_eq (saga_log_pg_turn_ended (turn, k, saga_id, k % 16), 0);
    }
    cr_expect_not (saga_log_pg_turn_empty (turn));
    cr_assert_eq (saga_log_pg_turn_statements (turn, statements), 3);
    //  inserts, updates, ends: each column one array of every saga of it
    cr_expect_eq (statements [0].count, 8);
    cr_expect_eq (statements [1].count, 4);
    cr_expect_eq (statements [2].count, 3);
    for (int index = 0; index < 3; index++)
        for (int param = 0; param < statements [index].count; param++) {
            const unsigned char *array =
                (const unsigned char *) statements [index].values [param];
            cr_expect_eq (statements [index].formats [param], 1);
            //  one dimension of SAGAS / 2 (or SAGAS ends), from 1
            cr_expect_eq (array [3], 1);
            uint32_t size = (uint32_t) array [12] << 24 | (uint32_t) array [13] << 16
                          | (uint32_t) array [14] << 8 | array [15];
            cr_expect_eq (size, index == 2? SAGAS: SAGAS / 2, "statement %d param %d",
                          index, param);
        }
    //  a turn of updates only is one statement; clear forgets it all
    saga_log_pg_turn_clear (turn);
    cr_expect (saga_log_pg_turn_empty (turn));
    saga_log_pg_row_t row = s_row (1, saga_id, "running");
    cr_assert_eq (saga_log_pg_turn_update (turn, &row), 0);
    cr_assert_eq (saga_log_pg_turn_statements (turn, statements), 1);
    cr_expect_eq (statements [0].count, 4);
    saga_log_pg_turn_destroy (&turn);
    saga_log_pg_turn_destroy (&turn);
    cr_expect_null (turn);
}

//  History stamps whose big-endian bytes are 0..255 in turn: the state
//  blob of a saga that logged them holds every byte value
static void
s_stamps (ck_history_entry_t *entries)
{
    for (uint32_t k = 0; k < STAMPS; k++) {
        ck_sample_history_entry (&entries [k], k);
        uint64_t stamp = 0;
        for (uint32_t byte = 0; byte < 8; byte++)
            stamp = stamp << 8 | (8 * k + byte);
        entries [k].at_ms = stamp;
    }
}

//  Asserts that the log's state and cart of every saga are byte for byte
//  what the saga encodes to, and that the states hold every byte value
static void
s_assert_rows_exact (saga_t **sagas)
{
    PGconn *conn = PQconnectdb (s_uri);
    cr_assert_eq (PQstatus (conn), CONNECTION_OK);
    ck_buf_t state, cart;
    ck_buf_init (&state);
    ck_buf_init (&cart);
    bool seen [256] = { false };
    for (uint32_t k = 0; k < SAGAS; k++) {
        const char *values [] = { sagas [k]->saga_id };
        PGresult *result = PQexecParams (conn, "SELECT state, cart FROM sagas"
                                         " WHERE saga_id = $1", 1, NULL, values, NULL,
                                         NULL, 1);
        cr_assert_eq (PQntuples (result), 1, "saga=%s", sagas [k]->saga_id);
        cr_assert_eq (saga_record_state (sagas [k], &state), 0);
        cr_assert_eq (saga_record_cart (sagas [k], &cart), 0);
        cr_assert_eq ((size_t) PQgetlength (result, 0, 0), state.size);
        cr_assert_eq (memcmp (PQgetvalue (result, 0, 0), state.data, state.size), 0);
        cr_assert_eq ((size_t) PQgetlength (result, 0, 1), cart.size);
        cr_assert_eq (memcmp (PQgetvalue (result, 0, 1), cart.data, cart.size), 0);
        for (size_t at = 0; at < state.size; at++)
            seen [(unsigned char) state.data [at]] = true;
        PQclear (result);
    }
    for (int byte = 0; byte < 256; byte++)
        cr_expect (seen [byte], "no state holds byte %d", byte);
    ck_buf_free (&state);
    ck_buf_free (&cart);
    PQfinish (conn);
}

//  Created, moved twice and, one in three, ended, all in one turn; then
//  moved again in a turn of updates only
Test (saga_log_pg_turn, many_sagas_in_one_turn_round_trip_exactly,
      .init = s_setup, .fini = s_teardown)
{
    saga_t **sagas = calloc (SAGAS, sizeof (saga_t *));
    cr_assert_not_null (sagas);
    ck_history_entry_t entries [STAMPS];
    s_stamps (entries);
    cr_assert_eq (saga_log_begin (s_log), 0);
    uint32_t ended = 0;
    for (uint32_t k = 0; k < SAGAS; k++) {
        sagas [k] = s_saga (k);
        cr_assert_eq (saga_log_persist (s_log, sagas [k], true, DIGEST_HIGH + k, NULL, 0), 0);
        s_set_state (sagas [k], SAGA_RUNNING, SAGA_IN_FLIGHT, (int) k);
        cr_assert_eq (saga_log_persist (s_log, sagas [k], false, 0, entries, STAMPS / 2), 0);
        sagas [k]->phase = k % 3 == 0? SAGA_CONFIRMED: k % 3 == 1? SAGA_COMPENSATING
                                                                  : SAGA_RUNNING;
        ended += k % 3 == 0;
        cr_assert_eq (saga_log_persist (s_log, sagas [k], false, 0, entries + STAMPS / 2,
                                        STAMPS / 2), 0);
    }
    cr_assert_eq (saga_log_commit (s_log), 0);
    for (uint32_t k = 0; k < SAGAS; k++)
        s_assert_loads_as (s_log, sagas [k]);
    s_assert_rows_exact (sagas);
    cr_expect_eq (pg_query_int (s_uri, "SELECT count (*) FROM saga_ends"), (int) ended);
    cr_expect_eq (pg_query_int (s_uri, "SELECT count (*) FROM saga_ends e JOIN sagas s"
                                " USING (saga_id, partition) WHERE s.phase = 'confirmed'"),
                  (int) ended);
    uint64_t digest = 0;
    char saga_id [CK_ID_SIZE];
    cr_expect_eq (saga_log_find_checkout (s_log, sagas [SAGAS - 1]->checkout_id, saga_id,
                                          &digest), 1);
    cr_expect_eq (digest, DIGEST_HIGH + SAGAS - 1);

    //  updates only: the running ones end, the others take a reason
    cr_assert_eq (saga_log_begin (s_log), 0);
    for (uint32_t k = 0; k < SAGAS; k++) {
        saga_t *saga = sagas [k];
        saga->attempt = 7 + k;
        if (saga->phase == SAGA_RUNNING) {
            saga->phase = SAGA_FAILED;
            ended++;
        }
        else {
            ck_reason_t reason;
            ck_sample_reason (&reason, "card_declined", "every \\ 'quote' \"here\"", "");
            cr_assert_eq (saga_set_reason (saga, &reason), 0);
        }
        cr_assert_eq (saga_log_persist (s_log, saga, false, 0, NULL, 0), 0);
    }
    cr_assert_eq (saga_log_commit (s_log), 0);
    for (uint32_t k = 0; k < SAGAS; k++)
        s_assert_loads_as (s_log, sagas [k]);
    s_assert_rows_exact (sagas);
    cr_expect_eq (pg_query_int (s_uri, "SELECT count (*) FROM saga_ends"), (int) ended);
    cr_expect_eq (pg_query_int (s_uri, "SELECT count (*) FROM sagas"
                                " WHERE reason_code = 'card_declined'"), SAGAS - SAGAS / 3);
    for (uint32_t k = 0; k < SAGAS; k++)
        saga_destroy (&sagas [k]);
    free (sagas);
}

//  One update of a saga the log does not have, among many writes, fails
//  the commit, and nothing of the turn stays
Test (saga_log_pg_turn, a_missing_saga_among_many_fails_the_whole_turn,
      .init = s_setup, .fini = s_teardown)
{
    saga_t **sagas = calloc (SAGAS, sizeof (saga_t *));
    cr_assert_not_null (sagas);
    cr_assert_eq (saga_log_begin (s_log), 0);
    for (uint32_t k = 0; k < SAGAS; k++) {
        sagas [k] = s_saga (k);
        cr_assert_eq (saga_log_persist (s_log, sagas [k], true, k, NULL, 0), 0);
    }
    cr_assert_eq (saga_log_commit (s_log), 0);
    saga_t *unknown = s_saga (SAGAS + 1), *created = s_saga (SAGAS + 2);
    cr_assert_eq (saga_log_begin (s_log), 0);
    cr_assert_eq (saga_log_persist (s_log, created, true, 1, NULL, 0), 0);
    for (uint32_t k = 0; k < SAGAS; k++) {
        sagas [k]->attempt = 5;
        sagas [k]->phase = k % 2? SAGA_FAILED: SAGA_RUNNING;
        cr_assert_eq (saga_log_persist (s_log, sagas [k], false, 0, NULL, 0), 0);
        if (k == SAGAS / 2)
            cr_assert_eq (saga_log_persist (s_log, unknown, false, 0, NULL, 0), 0);
    }
    cr_expect_eq (saga_log_commit (s_log), -1);
    saga_log_rollback (s_log);
    cr_expect_null (saga_log_load (s_log, created->saga_id));
    cr_expect_null (saga_log_load (s_log, unknown->saga_id));
    cr_expect_eq (pg_query_int (s_uri, "SELECT count (*) FROM sagas WHERE phase <> 'running'"),
                  0);
    cr_expect_eq (pg_query_int (s_uri, "SELECT count (*) FROM saga_ends"), 0);
    saga_t *loaded = saga_log_load (s_log, sagas [1]->saga_id);
    cr_assert_not_null (loaded);
    cr_expect_eq (loaded->attempt, 1);
    saga_destroy (&loaded);
    //  the same turn without the stranger commits (from the phases the
    //  log has, as the coordinator reloads them after a failed turn)
    cr_assert_eq (saga_log_begin (s_log), 0);
    for (uint32_t k = 0; k < SAGAS; k++) {
        sagas [k]->phase_logged = SAGA_RUNNING;
        cr_assert_eq (saga_log_persist (s_log, sagas [k], false, 0, NULL, 0), 0);
    }
    cr_assert_eq (saga_log_commit (s_log), 0);
    cr_expect_eq (pg_query_int (s_uri, "SELECT count (*) FROM saga_ends"), SAGAS / 2);
    s_assert_loads_as (s_log, sagas [SAGAS - 1]);
    for (uint32_t k = 0; k < SAGAS; k++)
        saga_destroy (&sagas [k]);
    free (sagas);
    saga_destroy (&unknown);
    saga_destroy (&created);
}

//  Sequential scans of sagas so far.  A session hands its counts in when
//  it goes idle a second or more after it last did: the log's session
//  does, with one lookup after a pause
static long long
s_seq_scans (const char *saga_id)
{
    zclock_sleep (1200);
    saga_t *saga = saga_log_load (s_log, saga_id);
    cr_assert_not_null (saga);
    saga_destroy (&saga);
    zclock_sleep (200);
    return pg_query_int (s_uri, "SELECT seq_scan FROM pg_stat_user_tables"
                         " WHERE relname = 'sagas'");
}

//  Creates sagas [from..to) in one turn
static void
s_create (saga_t **sagas, uint32_t from, uint32_t to)
{
    cr_assert_eq (saga_log_begin (s_log), 0);
    for (uint32_t k = from; k < to; k++)
        cr_assert_eq (saga_log_persist (s_log, sagas [k], true, k, NULL, 0), 0);
    cr_assert_eq (saga_log_commit (s_log), 0);
}

//  Moves sagas [0..count) once per turn, turns times
static void
s_update_turns (saga_t **sagas, uint32_t count, int turns)
{
    for (int turn = 0; turn < turns; turn++) {
        cr_assert_eq (saga_log_begin (s_log), 0);
        for (uint32_t k = 0; k < count; k++) {
            sagas [k]->attempt++;
            cr_assert_eq (saga_log_persist (s_log, sagas [k], false, 0, NULL, 0), 0);
        }
        cr_assert_eq (saga_log_commit (s_log), 0);
    }
}

//  Turns of updates after the log grew from a few sagas to thousands, in
//  the same session, look each saga up by its key: no plan made while the
//  table was small scans all of it
Test (saga_log_pg_turn, updates_read_by_the_key_however_the_log_grew,
      .init = s_setup, .fini = s_teardown)
{
    enum { FEW = 20, MANY = 3000, TURNS = 8 };
    saga_t **sagas = calloc (MANY, sizeof (saga_t *));
    cr_assert_not_null (sagas);
    for (uint32_t k = 0; k < MANY; k++)
        sagas [k] = s_saga (k);
    s_create (sagas, 0, FEW);
    s_update_turns (sagas, FEW, TURNS);
    s_create (sagas, FEW, MANY);
    long long before = s_seq_scans (sagas [0]->saga_id);
    cr_assert_geq (before, 0);
    s_update_turns (sagas, FEW, TURNS);
    cr_expect_eq (s_seq_scans (sagas [0]->saga_id), before,
                  "a turn's update scanned the whole table");
    s_assert_loads_as (s_log, sagas [FEW - 1]);
    for (uint32_t k = 0; k < MANY; k++)
        saga_destroy (&sagas [k]);
    free (sagas);
}

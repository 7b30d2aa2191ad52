/*  saga_log_pg_schema.c - the saga log's tables on PostgreSQL
    Created all at once under an advisory lock; version and partition count checked.
*/
#include <assert.h>
#include <stdlib.h>
#include <czmq.h>
#include "checkout/protocol.h"
#include "saga_log_pg_schema.h"

//  The schema lock (shared with the participants' databases, which a
//  coordinator never opens)
#define SAGA_LOG_PG_SCHEMA_LOCK "25451"
//  The layout on PostgreSQL: 3 added partitions and leases to SQLite's 2
#define SAGA_LOG_PG_VERSION 3
//  docs/saga-log.md: the same columns as SQLite's; fillfactor leaves room
//  in each page for the next version of a row (most transitions change no
//  indexed column, so PostgreSQL updates them in place: HOT)
#define SCHEMA \
    "CREATE TABLE IF NOT EXISTS sagas (" \
    " saga_id TEXT PRIMARY KEY," \
    " checkout_id TEXT NOT NULL," \
    " cart_digest BIGINT NOT NULL," \
    " phase TEXT NOT NULL," \
    " reason_code TEXT," \
    " cart BYTEA NOT NULL," \
    " state BYTEA NOT NULL," \
    " partition INTEGER NOT NULL) WITH (fillfactor = 70);" \
    "CREATE UNIQUE INDEX IF NOT EXISTS sagas_checkout ON sagas (checkout_id);" \
    "CREATE INDEX IF NOT EXISTS sagas_active ON sagas (phase)" \
    " WHERE phase IN ('running', 'compensating');" \
    "CREATE INDEX IF NOT EXISTS sagas_list ON sagas (saga_id COLLATE \"C\");" \
    "CREATE INDEX IF NOT EXISTS sagas_active_partition ON sagas (partition)" \
    " WHERE phase IN ('running', 'compensating');" \
    "CREATE TABLE IF NOT EXISTS saga_table (" \
    " id INTEGER PRIMARY KEY CHECK (id = 1)," \
    " steps TEXT NOT NULL);" \
    "CREATE TABLE IF NOT EXISTS saga_log_version (version INTEGER NOT NULL);" \
    SAGA_ENDS \
    "CREATE OR REPLACE FUNCTION saga_log_updated (changed BIGINT, saga_id TEXT)" \
    " RETURNS void LANGUAGE plpgsql AS $$ BEGIN IF changed <> 1 THEN" \
    " RAISE EXCEPTION 'saga_log: no such saga: %', saga_id USING ERRCODE = 'P0002';" \
    " END IF; END $$;" \
    SAGA_LOG_UPDATE \
    LEASES

//  A turn's updates, one row per saga (saga_log_pg_turn.c), failing on a
//  saga the log does not have.  The plan is made with scans and hash or
//  merge joins off, so that it looks each saga up by its key: the plan
//  PostgreSQL keeps after five calls is made for the table as it was, and
//  one made while the log held a few hundred sagas joined the arrays to
//  it by a hash join over the whole table, every turn after.
#define SAGA_LOG_UPDATE \
    "CREATE OR REPLACE FUNCTION saga_log_update (ids TEXT[], states BYTEA[]," \
    " phases TEXT[], reasons TEXT[]) RETURNS void LANGUAGE plpgsql" \
    " SET enable_seqscan = off SET enable_hashjoin = off SET enable_mergejoin = off" \
    " AS $$ DECLARE changed BIGINT; BEGIN" \
    " UPDATE sagas SET state = u.state, phase = u.phase, reason_code = u.reason_code" \
    " FROM unnest (ids, states, phases, reasons) AS u (saga_id, state, phase, reason_code)" \
    " WHERE sagas.saga_id = u.saga_id;" \
    " GET DIAGNOSTICS changed = ROW_COUNT;" \
    " IF changed <> cardinality (ids) THEN" \
    " PERFORM saga_log_updated (0, (SELECT id FROM unnest (ids) AS id WHERE NOT EXISTS" \
    " (SELECT 1 FROM sagas s WHERE s.saga_id = id) LIMIT 1));" \
    " END IF; END $$;"

//  The coordinators sharing the log, the partitions' leases (one row each,
//  made with the count, which is recorded once), and the fence a
//  coordinator's commit starts with.  Lease times are the server's.
#define LEASES \
    "CREATE TABLE IF NOT EXISTS saga_members (" \
    " id TEXT PRIMARY KEY," \
    " frontend TEXT NOT NULL," \
    " heartbeat_at TIMESTAMPTZ NOT NULL);" \
    "CREATE TABLE IF NOT EXISTS saga_partitions (" \
    " partition INTEGER PRIMARY KEY," \
    " owner TEXT," \
    " epoch BIGINT NOT NULL DEFAULT 0," \
    " expires_at TIMESTAMPTZ NOT NULL DEFAULT to_timestamp (0));" \
    "CREATE TABLE IF NOT EXISTS saga_partition_count (" \
    " id INTEGER PRIMARY KEY CHECK (id = 1)," \
    " count INTEGER NOT NULL);" \
    "CREATE OR REPLACE FUNCTION saga_log_fence (me TEXT, parts INTEGER[], epochs BIGINT[])" \
    " RETURNS void LANGUAGE plpgsql AS $$ DECLARE held INTEGER; BEGIN" \
    " SELECT count (*) INTO held FROM (SELECT 1 FROM saga_partitions p" \
    " JOIN unnest (parts, epochs) AS w (partition, epoch)" \
    " ON p.partition = w.partition AND p.epoch = w.epoch" \
    " WHERE p.owner = me AND p.expires_at > clock_timestamp ()" \
    " ORDER BY p.partition FOR SHARE OF p) AS locked;" \
    " IF held <> cardinality (parts) THEN RAISE EXCEPTION" \
    " 'saga_log: % no longer holds every partition its turn writes', me" \
    " USING ERRCODE = '" SAGA_LOG_PG_FENCED "'; END IF; END $$;"

//  When each terminal saga ended, for expire; a log written before
//  retention gets the table on open, its terminal sagas dated now, once
//  (see saga_log_sqlite.c)
#define SAGA_ENDS \
    "CREATE TABLE IF NOT EXISTS saga_ends (" \
    " ended_ms BIGINT NOT NULL," \
    " saga_id TEXT NOT NULL," \
    " partition INTEGER NOT NULL," \
    " PRIMARY KEY (ended_ms, saga_id));" \
    "CREATE INDEX IF NOT EXISTS saga_ends_partition ON saga_ends (partition, ended_ms);" \
    "INSERT INTO saga_ends (ended_ms, saga_id, partition)" \
    " SELECT (extract (epoch FROM now ()) * 1000)::bigint, saga_id, partition FROM sagas" \
    " WHERE " SAGA_LOG_PG_TERMINAL " AND NOT EXISTS (SELECT 1 FROM saga_ends);"

//  The partition count of the log: records wanted (0: the default) in a
//  new log with a lease row per partition, or checks it against the one
//  recorded (0: whatever it is); 0, or -1 (*refused when the counts differ)
static int
s_partitions (pg_t *pg, uint32_t wanted, uint32_t *count, bool *refused)
{
    PGresult *result = pg_query (pg, "SELECT count FROM saga_partition_count", 0,
                                 NULL, "schema");
    if (!result)
        return -1;
    uint32_t recorded = PQntuples (result) == 1
                      ? (uint32_t) strtoul (PQgetvalue (result, 0, 0), NULL, 10): 0;
    PQclear (result);
    if (recorded && wanted && recorded != wanted) {
        zsys_error ("saga_log: db=%s has %u partitions; start every coordinator of it with"
                    " --partitions %u", pg_name (pg), recorded, recorded);
        *refused = true;
        return -1;
    }
    *count = recorded? recorded: wanted? wanted: CK_DEFAULT_PARTITIONS;
    if (recorded)
        return 0;
    char text [24];
    const char *values [] = { pg_int (text, *count) };
    result = pg_query (pg, "INSERT INTO saga_partitions (partition)"
                       " SELECT generate_series (0, $1::integer - 1)", 1, values, "schema");
    PQclear (result);
    if (!result)
        return -1;
    result = pg_query (pg, "INSERT INTO saga_partition_count (id, count)"
                       " VALUES (1, $1::integer)", 1, values, "schema");
    PQclear (result);
    return result? 0: -1;
}

//  Creates the tables of a new database, or checks an existing one's
//  version, in one transaction under the schema lock; the version row
//  is written here
int
saga_log_pg_schema (pg_t *pg, uint32_t partitions, uint32_t *count, bool *refused)
{
    assert (pg && count && refused);
    if (pg_begin (pg)
    ||  pg_exec (pg, "SELECT pg_advisory_xact_lock (" SAGA_LOG_PG_SCHEMA_LOCK ")", "schema")
    ||  pg_exec (pg, SCHEMA, "schema"))
        return -1;
    PGresult *result = pg_query (pg, "SELECT max (version) FROM saga_log_version", 0,
                                 NULL, "schema");
    if (!result)
        return -1;
    int version = PQgetisnull (result, 0, 0)? 0: atoi (PQgetvalue (result, 0, 0));
    PQclear (result);
    if (version != 0 && version != SAGA_LOG_PG_VERSION) {
        zsys_error ("saga_log: db=%s holds a version-%d saga log; this coordinator reads"
                    " version %d", pg_name (pg), version, SAGA_LOG_PG_VERSION);
        *refused = true;
        return -1;
    }
    _Static_assert (SAGA_LOG_PG_VERSION == 3, "the schema's version row");
    if (version == 0
    &&  pg_exec (pg, "INSERT INTO saga_log_version VALUES (3)", "schema"))
        return -1;
    if (s_partitions (pg, partitions, count, refused))
        return -1;
    return pg_commit (pg);
}


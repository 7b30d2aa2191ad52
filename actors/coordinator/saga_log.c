/*  saga_log.c - the saga log's backend, chosen by what --db names
    A file path is SQLite, the embedded default; a libpq URI PostgreSQL.
*/
#include <czmq.h>
#include <inttypes.h>
#include "pg.h"
#include "saga_log.h"

saga_log_t *
saga_log_new (const char *db, const store_options_t *options)
{
    assert (db);
    return pg_uri_is (db)? saga_log_pg_new (db): saga_log_sqlite_new (db, options);
}

int
saga_log_table_change (saga_log_t *self, const char *where, const char *kept,
                       const char *steps)
{
    assert (self && where && kept && steps);
    if (streq (kept, steps))
        return 1;
    uint64_t running = 0, compensating = 0;
    if (saga_log_count (self, SAGA_RUNNING, &running)
    ||  saga_log_count (self, SAGA_COMPENSATING, &compensating))
        return -1;
    if (*kept && running + compensating > 0) {
        zsys_error ("saga_log: %s holds %" PRIu64 " running sagas of another step table"
                    " (%s): start with that table (--steps) until they end, or use a new --db",
                    where, running + compensating, kept);
        return -1;
    }
    return 0;
}

void
saga_log_destroy (saga_log_t **self_p)
{
    assert (self_p);
    if (*self_p)
        (*self_p)->destroy (self_p);
}

/*  saga_log.c - the saga log's backend, chosen by what --db names
    A file path is SQLite, the embedded default; a libpq URI PostgreSQL.
*/
#include <czmq.h>
#include "pg.h"
#include "saga_log.h"

saga_log_t *
saga_log_new (const char *db, const store_options_t *options)
{
    assert (db);
    return pg_uri_is (db)? saga_log_pg_new (db): saga_log_sqlite_new (db, options);
}

void
saga_log_destroy (saga_log_t **self_p)
{
    assert (self_p);
    if (*self_p)
        (*self_p)->destroy (self_p);
}

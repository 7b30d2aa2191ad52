/*  saga_log.c - the saga log's backend, chosen by what --db names
    A file path is SQLite, the embedded default.
*/
#include <czmq.h>
#include "saga_log.h"

saga_log_t *
saga_log_new (const char *db, const store_options_t *options)
{
    assert (db);
    if (strncmp (db, "postgresql://", 13) == 0 || strncmp (db, "postgres://", 11) == 0) {
        zsys_error ("saga_log: db=%s error=this build keeps the saga log in SQLite only;"
                    " give a file path", db);
        return NULL;
    }
    return saga_log_sqlite_new (db, options);
}

void
saga_log_destroy (saga_log_t **self_p)
{
    assert (self_p);
    if (*self_p)
        (*self_p)->destroy (self_p);
}

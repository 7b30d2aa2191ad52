/*  pg.h - one libpq connection that survives its server
    Prepared statements by SQL text, transactions, reconnects with back-off.

    A participant on PostgreSQL keeps one connection.  Each statement is
    prepared once per session (named after its place in a small cache, so
    the server parses it once) and run with text parameters.  A failed
    statement is logged once with its SQLSTATE.  When the connection is
    lost (server restart, network), the next pg_ready reconnects with
    PQreset, no more often than a back-off that doubles from 100 ms to 5 s,
    and the statements are prepared again; until then every call fails
    fast, so a participant answers "error" and keeps heartbeating.
*/
#ifndef CK_PG_H_INCLUDED
#define CK_PG_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <libpq-fe.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _pg_t pg_t;

//  True when text is a libpq URI (postgresql:// or postgres://).  Can't fail.
bool pg_uri_is (const char *text);

//  True when uri parses as a libpq URI; else false with libpq's reason in
//  error (size bytes).  Reads nothing but the text.
bool pg_uri_valid (const char *uri, char *error, size_t size);

//  Connects to uri as application (the server's application_name, which
//  pg_stat_activity shows).  Returns the connection, owned by the caller,
//  or NULL after logging why.
pg_t *pg_new (const char *uri, const char *application);

//  Closes the connection; safe on NULL, nulls the pointer.
void pg_destroy (pg_t **self_p);

//  The URI without its password, for logs (borrowed).
const char *pg_name (pg_t *self);

//  Makes sure the connection is up: reconnects a lost one when its back-off
//  allows.  Returns 0 when connected, -1 (logged once per outage) if not.
int pg_ready (pg_t *self);

//  Runs sql (prepared once per session) with count text parameters (NULL
//  is SQL NULL).  Returns the result (the caller PQclears it), or NULL
//  after logging with op and remembering the SQLSTATE.
PGresult *pg_query (pg_t *self, const char *sql, int count, const char *const *values,
                    const char *op);

//  Runs first, then sql, in one round trip (pipeline mode), each as
//  pg_query does; sql starts after first has finished, so in READ
//  COMMITTED it sees what was committed while first waited (a lock).
//  Returns sql's result, or NULL after logging.
PGresult *pg_query_after (pg_t *self, const char *first, int first_count,
                          const char *const *first_values, const char *sql, int count,
                          const char *const *values, const char *op);

//  Parameters of one statement of a batch, at most
#define PG_MAX_PARAMS 20

//  One statement of a batch: count parameters, each text (formats 0) or
//  binary (formats 1, with its length); a NULL value is SQL NULL.  A
//  statement that must not succeed quietly (an update that finds no row)
//  has to raise an error on the server: the COMMIT follows it unread.
typedef struct {
    const char *sql;                    //  prepared once per session
    int count;
    const char *values [PG_MAX_PARAMS];
    int lengths [PG_MAX_PARAMS];
    int formats [PG_MAX_PARAMS];
} pg_statement_t;

//  Runs BEGIN, statements [0..count) and COMMIT as one transaction, sent
//  together in pipeline mode and read back together: one round trip for
//  up to PG_BATCH_CHUNK statements (a larger batch reads back after each
//  chunk, so neither side's buffers fill).  Returns 0 when every statement
//  and the COMMIT succeeded; -1 after logging (the transaction is rolled
//  back, or, when the connection was lost, its outcome is unknown).
#define PG_BATCH_CHUNK 512
int pg_batch (pg_t *self, const pg_statement_t *statements, size_t count, const char *op);

//  The same, keeping each statement's result in results [0..count) (the
//  caller PQclears them); on -1 every one is NULL.
int pg_batch_results (pg_t *self, const pg_statement_t *statements, size_t count,
                      PGresult **results, const char *op);

//  Runs sql without parameters and without preparing (several statements
//  allowed).  0, or -1 after logging.
int pg_exec (pg_t *self, const char *sql, const char *op);

//  Transactions: BEGIN, COMMIT, ROLLBACK.  0 or -1 (a failed COMMIT means
//  the outcome is unknown: treat the work as not done, and retry it).
int pg_begin (pg_t *self);
int pg_commit (pg_t *self);
int pg_rollback (pg_t *self);

//  True inside a transaction (also an aborted one).  Can't fail.
bool pg_in_transaction (pg_t *self);

//  Rows written by INSERT/UPDATE/DELETE on this connection so far.
uint64_t pg_writes (pg_t *self);

//  Failed statements so far (a failed statement aborts its transaction).
uint64_t pg_failures (pg_t *self);

//  SQLSTATE of the last failure ("" if none or no server answer).
const char *pg_sqlstate (pg_t *self);

//  Formats a 64-bit integer parameter into buffer (24 bytes).  Returns buffer.
const char *pg_int (char *buffer, int64_t value);

#ifdef __cplusplus
}
#endif

#endif

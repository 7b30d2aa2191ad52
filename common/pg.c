/*  pg.c - one libpq connection that survives its server
    Prepared statements by SQL text, transactions, reconnects with back-off.
*/
#include <assert.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <czmq.h>
#include "pg.h"

#define MAX_STATEMENTS  32              //  a process has a handful
#define BACKOFF_MIN_MS  100
#define BACKOFF_MAX_MS  5000

typedef struct {
    const char *sql;                    //  the caller's text (a literal)
    bool prepared;                      //  in the current session
} statement_t;

struct _pg_t {
    PGconn *conn;
    char name [256];                    //  the URI without password
    statement_t statements [MAX_STATEMENTS];
    size_t statement_count;
    bool lost;                          //  the connection went down
    int64_t retry_at;                   //  next reconnect, zclock_mono
    int backoff_ms;
    uint64_t writes;
    uint64_t failures;
    char sqlstate [6];
};

bool
pg_uri_is (const char *text)
{
    return text && (strncmp (text, "postgresql://", 13) == 0
                ||  strncmp (text, "postgres://", 11) == 0);
}

bool
pg_uri_valid (const char *uri, char *error, size_t size)
{
    char *message = NULL;
    PQconninfoOption *options = PQconninfoParse (uri, &message);
    bool valid = options != NULL;
    if (!valid) {
        snprintf (error, size, "%s", message? message: "out of memory");
        //  libpq ends its messages with a newline
        size_t len = strlen (error);
        if (len && error [len - 1] == '\n')
            error [len - 1] = 0;
    }
    PQconninfoFree (options);
    PQfreemem (message);
    return valid;
}

//  Copies uri into name with any password (user:password@) cut out
static void
s_redact (const char *uri, char *name, size_t size)
{
    const char *scheme_end = strstr (uri, "://");
    const char *at = strchr (uri, '@');
    const char *colon = scheme_end? strchr (scheme_end + 3, ':'): NULL;
    if (scheme_end && at && colon && colon < at)
        snprintf (name, size, "%.*s:***%s", (int) (colon - uri), uri, at);
    else
        snprintf (name, size, "%s", uri);
}

//  Every server notice would go to stderr; the participant's log is enough
static void
s_quiet (void *arg, const char *message)
{
    (void) arg;
    (void) message;
}

pg_t *
pg_new (const char *uri, const char *application)
{
    assert (uri);
    assert (application);
    pg_t *self = (pg_t *) zmalloc (sizeof (pg_t));
    s_redact (uri, self->name, sizeof self->name);
    //  expand_dbname: the URI is parsed; it overrides the keys before it,
    //  the keys after it override its own.  A server that went silent (its
    //  host died, the network cut) closes nothing: without keepalives and a
    //  user timeout a reply lost in the cut is waited for until the kernel's
    //  two hours of keepalive, and the process with it.  With them the
    //  session is seen dead within about 5 s and reconnects.
    const char *keys [] = { "keepalives_idle", "keepalives_interval", "keepalives_count",
                            "tcp_user_timeout", "dbname", "connect_timeout",
                            "application_name", NULL };
    const char *values [] = { "2", "1", "3", "5000", uri, "5", application, NULL };
    self->conn = PQconnectdbParams (keys, values, 1);
    if (!self->conn || PQstatus (self->conn) != CONNECTION_OK) {
        const char *why = self->conn? PQerrorMessage (self->conn): "out of memory";
        zsys_error ("pg: db=%s error=cannot connect: %.*s", self->name,
                    (int) strcspn (why, "\n"), why);
        pg_destroy (&self);
        return NULL;
    }
    PQsetNoticeProcessor (self->conn, s_quiet, NULL);
    self->backoff_ms = BACKOFF_MIN_MS;
    return self;
}

void
pg_destroy (pg_t **self_p)
{
    assert (self_p);
    pg_t *self = *self_p;
    if (!self)
        return;
    if (self->conn)
        PQfinish (self->conn);
    free (self);
    *self_p = NULL;
}

const char *
pg_name (pg_t *self)
{
    assert (self);
    return self->name;
}

//  Notes a lost connection: statements must be prepared again in the next
//  session, and reconnects wait their back-off
static void
s_lost (pg_t *self)
{
    if (self->lost)
        return;
    self->lost = true;
    self->retry_at = zclock_mono ();
    for (size_t index = 0; index < self->statement_count; index++)
        self->statements [index].prepared = false;
    zsys_warning ("pg: db=%s error=connection lost; reconnecting with back-off", self->name);
}

int
pg_ready (pg_t *self)
{
    assert (self);
    if (!self->lost && PQstatus (self->conn) == CONNECTION_OK)
        return 0;
    s_lost (self);
    int64_t now = zclock_mono ();
    if (now < self->retry_at)
        return -1;
    PQreset (self->conn);
    if (PQstatus (self->conn) == CONNECTION_OK) {
        zsys_notice ("pg: db=%s reconnected", self->name);
        self->lost = false;
        self->backoff_ms = BACKOFF_MIN_MS;
        return 0;
    }
    self->retry_at = now + self->backoff_ms;
    self->backoff_ms = self->backoff_ms * 2 > BACKOFF_MAX_MS? BACKOFF_MAX_MS: self->backoff_ms * 2;
    return -1;
}

//  Logs a failed result (NULL: no answer) and remembers its SQLSTATE
static void
s_fail (pg_t *self, PGresult *result, const char *op)
{
    self->failures++;
    const char *state = result? PQresultErrorField (result, PG_DIAG_SQLSTATE): NULL;
    snprintf (self->sqlstate, sizeof self->sqlstate, "%s", state? state: "");
    const char *why = result? PQresultErrorMessage (result): PQerrorMessage (self->conn);
    if (!why || !*why)
        why = PQerrorMessage (self->conn);
    if (PQstatus (self->conn) != CONNECTION_OK)
        s_lost (self);
    else
        zsys_warning ("pg: db=%s op=%s sqlstate=%s error=%.*s", self->name, op,
                      self->sqlstate, (int) strcspn (why, "\n"), why);
}

//  Checks result; counts the rows a write changed.  Returns result or NULL.
static PGresult *
s_check (pg_t *self, PGresult *result, const char *op)
{
    ExecStatusType status = result? PQresultStatus (result): PGRES_FATAL_ERROR;
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        const char *tuples = PQcmdTuples (result);
        const char *command = PQcmdStatus (result);
        if (*tuples && strncmp (command, "SELECT", 6) != 0)
            self->writes += strtoull (tuples, NULL, 10);
        return result;
    }
    s_fail (self, result, op);
    PQclear (result);
    return NULL;
}

//  The statement's slot, prepared in this session; -1 after logging
static int
s_prepare (pg_t *self, const char *sql, int count)
{
    size_t index = 0;
    while (index < self->statement_count && self->statements [index].sql != sql
       &&  strcmp (self->statements [index].sql, sql))
        index++;
    if (index == self->statement_count) {
        assert (index < MAX_STATEMENTS);    //  our own statements
        self->statements [self->statement_count++] = (statement_t) { sql, false };
    }
    if (!self->statements [index].prepared) {
        char name [24];                 //  "ck" and any size_t: no truncation warning
        snprintf (name, sizeof name, "ck%zu", index);
        PGresult *result = s_check (self, PQprepare (self->conn, name, sql, count, NULL),
                                    "prepare");
        if (!result)
            return -1;
        PQclear (result);
        self->statements [index].prepared = true;
    }
    return (int) index;
}

PGresult *
pg_query (pg_t *self, const char *sql, int count, const char *const *values, const char *op)
{
    assert (self);
    assert (sql);
    if (self->lost) {
        self->failures++;
        return NULL;
    }
    int index = s_prepare (self, sql, count);
    if (index < 0)
        return NULL;
    char name [16];
    snprintf (name, sizeof name, "ck%d", index);
    return s_check (self, PQexecPrepared (self->conn, name, count, values, NULL, NULL, 0), op);
}

//  Reads one pipelined statement's result and the NULL after it; returns
//  the result when it succeeded, else NULL after logging
static PGresult *
s_pipeline_result (pg_t *self, const char *op)
{
    PGresult *result = PQgetResult (self->conn);
    PGresult *extra;
    while ((extra = PQgetResult (self->conn)))
        PQclear (extra);
    if (result && PQresultStatus (result) == PGRES_PIPELINE_ABORTED) {
        PQclear (result);
        return NULL;                    //  the statement before it failed
    }
    return s_check (self, result, op);
}

PGresult *
pg_query_after (pg_t *self, const char *first, int first_count,
                const char *const *first_values, const char *sql, int count,
                const char *const *values, const char *op)
{
    assert (self);
    if (self->lost) {
        self->failures++;
        return NULL;
    }
    int first_index = s_prepare (self, first, first_count);
    int index = first_index < 0? -1: s_prepare (self, sql, count);
    if (index < 0)
        return NULL;
    char first_name [16], name [16];
    snprintf (first_name, sizeof first_name, "ck%d", first_index);
    snprintf (name, sizeof name, "ck%d", index);
    if (!PQenterPipelineMode (self->conn)
    ||  !PQsendQueryPrepared (self->conn, first_name, first_count, first_values, NULL, NULL, 0)
    ||  !PQsendQueryPrepared (self->conn, name, count, values, NULL, NULL, 0)
    ||  !PQpipelineSync (self->conn)) {
        s_fail (self, NULL, op);
        if (PQstatus (self->conn) == CONNECTION_OK)
            PQexitPipelineMode (self->conn);
        return NULL;
    }
    PGresult *before = s_pipeline_result (self, op);
    PGresult *result = s_pipeline_result (self, op);
    PGresult *sync = PQgetResult (self->conn);
    if (sync && PQresultStatus (sync) != PGRES_PIPELINE_SYNC && result) {
        PQclear (result);
        result = NULL;
        s_fail (self, NULL, op);
    }
    PQclear (sync);
    PQclear (before);
    PQexitPipelineMode (self->conn);
    if (!before && result) {            //  cannot happen: an error aborts the rest
        PQclear (result);
        result = NULL;
    }
    return result;
}

//  Sends one chunk of a batch: BEGIN first when first, COMMIT after when
//  last, then a sync.  0, or -1 when libpq could not queue it.
static int
s_batch_send (pg_t *self, const pg_statement_t *statements, const int *slots, size_t count,
              bool first, bool last)
{
    if (first && !PQsendQueryParams (self->conn, "BEGIN", 0, NULL, NULL, NULL, NULL, 0))
        return -1;
    for (size_t index = 0; index < count; index++) {
        const pg_statement_t *statement = &statements [index];
        char name [16];
        snprintf (name, sizeof name, "ck%d", slots [index]);
        if (!PQsendQueryPrepared (self->conn, name, statement->count, statement->values,
                                  statement->lengths, statement->formats, 0))
            return -1;
    }
    if (last && !PQsendQueryParams (self->conn, "COMMIT", 0, NULL, NULL, NULL, NULL, 0))
        return -1;
    return PQpipelineSync (self->conn)? 0: -1;
}

//  Reads back what s_batch_send sent, in order; 0 when all succeeded.
//  With kept, keeps each statement's result there (NULL when it failed).
static int
s_batch_read (pg_t *self, size_t count, bool first, bool last, PGresult **kept,
              const char *op)
{
    int rc = 0;
    size_t results = count + (first? 1: 0) + (last? 1: 0);
    for (size_t index = 0; index < results; index++) {
        PGresult *result = s_pipeline_result (self, op);
        if (!result)
            rc = -1;
        size_t statement = index - (first? 1: 0);
        if (kept && index >= (first? 1u: 0u) && statement < count)
            kept [statement] = result;
        else
            PQclear (result);
    }
    PGresult *sync = PQgetResult (self->conn);
    if (!sync || PQresultStatus (sync) != PGRES_PIPELINE_SYNC) {
        s_fail (self, sync, op);
        rc = -1;
    }
    PQclear (sync);
    return rc;
}

int
pg_batch (pg_t *self, const pg_statement_t *statements, size_t count, const char *op)
{
    return pg_batch_results (self, statements, count, NULL, op);
}

int
pg_batch_results (pg_t *self, const pg_statement_t *statements, size_t count,
                  PGresult **results, const char *op)
{
    assert (self);
    assert (statements || count == 0);
    for (size_t index = 0; results && index < count; index++)
        results [index] = NULL;
    if (self->lost) {
        self->failures++;
        return -1;
    }
    int slots [PG_BATCH_CHUNK];
    int rc = 0;
    for (size_t done = 0; rc == 0 && (done < count || done == 0); ) {
        size_t chunk = count - done > PG_BATCH_CHUNK? PG_BATCH_CHUNK: count - done;
        for (size_t index = 0; index < chunk && rc == 0; index++) {
            assert (statements [done + index].count <= PG_MAX_PARAMS);
            slots [index] = s_prepare (self, statements [done + index].sql,
                                       statements [done + index].count);
            rc = slots [index] < 0? -1: 0;
        }
        if (rc)
            break;
        bool first = done == 0, last = done + chunk == count;
        if (!PQenterPipelineMode (self->conn)
        ||  s_batch_send (self, statements + done, slots, chunk, first, last)) {
            s_fail (self, NULL, op);
            rc = -1;
        }
        else
            rc = s_batch_read (self, chunk, first, last, results? results + done: NULL, op);
        //  a pipeline left with results unread is no state to go on from
        if (PQstatus (self->conn) != CONNECTION_OK || !PQexitPipelineMode (self->conn))
            s_lost (self);
        done += chunk;
        if (done == count)
            break;
    }
    if (rc) {
        pg_rollback (self);
        for (size_t index = 0; results && index < count; index++) {
            PQclear (results [index]);
            results [index] = NULL;
        }
    }
    return rc;
}

int
pg_exec (pg_t *self, const char *sql, const char *op)
{
    assert (self);
    if (self->lost) {
        self->failures++;
        return -1;
    }
    PGresult *result = s_check (self, PQexec (self->conn, sql), op);
    PQclear (result);
    return result? 0: -1;
}

int
pg_begin (pg_t *self)
{
    return pg_exec (self, "BEGIN", "begin");
}

int
pg_commit (pg_t *self)
{
    assert (self);
    //  COMMIT of an aborted transaction "succeeds" as a ROLLBACK: refuse it
    if (PQtransactionStatus (self->conn) == PQTRANS_INERROR) {
        zsys_warning ("pg: db=%s error=commit of a failed transaction", self->name);
        return -1;
    }
    return pg_exec (self, "COMMIT", "commit");
}

int
pg_rollback (pg_t *self)
{
    assert (self);
    if (self->lost || PQtransactionStatus (self->conn) == PQTRANS_IDLE)
        return 0;
    return pg_exec (self, "ROLLBACK", "rollback");
}

bool
pg_in_transaction (pg_t *self)
{
    assert (self);
    PGTransactionStatusType status = PQtransactionStatus (self->conn);
    return !self->lost && (status == PQTRANS_INTRANS || status == PQTRANS_INERROR);
}

uint64_t
pg_writes (pg_t *self)
{
    assert (self);
    return self->writes;
}

uint64_t
pg_failures (pg_t *self)
{
    assert (self);
    return self->failures;
}

const char *
pg_sqlstate (pg_t *self)
{
    assert (self);
    return self->sqlstate;
}

const char *
pg_int (char *buffer, int64_t value)
{
    snprintf (buffer, 24, "%" PRId64, value);
    return buffer;
}

/*  participant_store.c - a participant's store: SQLite file or PostgreSQL
    Opening at schema version 2, the operators' ledger view, group commit.
*/
#include <assert.h>
#include <czmq.h>
#include "ledger_pg.h"
#include "ledger_sqlite.h"
#include "participant_store.h"

//  Held by every participant opening a PostgreSQL database while it
//  creates or checks the schema: CREATE TABLE IF NOT EXISTS is not safe
//  against a concurrent one ("ck" in ASCII)
#define PG_SCHEMA_LOCK "25451"

//  Retention, from the idle hook: batches of EXPIRE_BATCH entries, as many
//  as fit in EXPIRE_BUDGET_MS while they come full, else one batch a
//  second; after a busy turn, one batch while they come full
#define MAX_DETAILS      4
#define EXPIRE_BATCH     128
#define EXPIRE_BUDGET_MS 5
#define EXPIRE_IVL_MS    1000

struct _participant_store_t {
    store_t *store;                     //  the SQLite backend, or
    pg_t *pg;                           //  the PostgreSQL one
    ledger_t *ledger;
    const char *details [MAX_DETAILS];  //  tables keyed by a ledger entry's id
    size_t detail_count;
    uint64_t retention_ms;              //  0: for ever
    int64_t expire_due;                 //  next batch, zclock_mono
    uint64_t expired;                   //  entries deleted
};

//  Appends the text of format to buffer at *at; false when it is full
static bool
s_append (char *buffer, size_t size, size_t *at, const char *format, const char *a,
          const char *b)
{
    int length = snprintf (buffer + *at, size - *at, format, a, b);
    if (length < 0 || (size_t) length >= size - *at)
        return false;
    *at += (size_t) length;
    return true;
}

//  processed_requests: the ledger as operators read it, with the wire's
//  names and result ids, built from the types and the step table
static bool
s_view_sql (char *sql, size_t size, const char *create)
{
    size_t at = 0;
    bool fits = s_append (sql, size, &at, "%s%s", create,
                          " processed_requests AS SELECT saga_id, CASE type");
    char number [16];
    for (int type = CK_TYPE_NONE + 1; type < CK_TYPE_MAX; type++) {
        if (!ck_type_name ((ck_type_t) type))
            continue;
        snprintf (number, sizeof number, "%d", (int) ck_type_code ((ck_type_t) type));
        fits = fits && s_append (sql, size, &at, " WHEN %s THEN '%s'", number,
                                 ck_type_name ((ck_type_t) type));
    }
    fits = fits && s_append (sql, size, &at, "%s%s", " END AS type, CASE outcome WHEN 1"
                             " THEN 'ok' ELSE 'rejected' END AS outcome, reason_code,"
                             " reason_message, reason_sku, CASE WHEN outcome = 1 THEN"
                             " CASE type", "");
    char buffer [CK_NAME_SIZE];
    for (int type = CK_TYPE_NONE + 1; type < CK_TYPE_MAX; type++) {
        const char *prefix = ledger_result_prefix ((ck_type_t) type, buffer, sizeof buffer);
        snprintf (number, sizeof number, "%d", (int) ck_type_code ((ck_type_t) type));
        if (prefix)
            fits = fits && s_append (sql, size, &at, " WHEN %s THEN '%s' || id", number, prefix);
    }
    return fits && s_append (sql, size, &at, "%s%s", " END END AS result_id, recorded_at,"
                             " checkout_id FROM ledger;", "");
}

//  Creates the ledger in a new file, migrates one of schema 2 in place,
//  accepts a current one, refuses any other version, in the caller's
//  transaction (a failed migration leaves the file as it was)
static int
s_upgrade (participant_store_t *self, int version)
{
    const char *path = store_path (self->store);
    if (version > PARTICIPANT_STORE_VERSION) {
        zsys_error ("participant_store: path=%s error=written by a newer version (schema %d,"
                    " this build reads %d); use that build", path, version,
                    PARTICIPANT_STORE_VERSION);
        return -1;
    }
    if (version > 0 && version < 2) {
        zsys_error ("participant_store: path=%s error=written by an older version (schema %d,"
                    " this build reads %d); start from an empty --db, or finish its sagas"
                    " with the older build first", path, version, PARTICIPANT_STORE_VERSION);
        return -1;
    }
    if (version == PARTICIPANT_STORE_VERSION)
        return 0;
    char view [8192];                   //  fits CK_TYPE_MAX types of CK_NAME_MAX
    bool fits = s_view_sql (view, sizeof view, "CREATE VIEW IF NOT EXISTS");
    assert (fits);                      //  our own names
    (void) fits;
    if (version == 2) {
        zsys_notice ("participant_store: path=%s migrating schema 2 to %d (checkout_id)",
                     path, PARTICIPANT_STORE_VERSION);
        if (store_exec (self->store, LEDGER_SQLITE_MIGRATE_3 "DROP VIEW IF EXISTS"
                        " processed_requests;"))
            return -1;
    }
    else
    if (store_exec (self->store, LEDGER_SQLITE_SCHEMA))
        return -1;
    if (store_exec (self->store, view)
    ||  store_set_user_version (self->store, PARTICIPANT_STORE_VERSION))
        return -1;
    return 0;
}

//  The schema version in a PostgreSQL database: 0 when it is new, or -1
static int
s_pg_version (pg_t *pg)
{
    if (pg_exec (pg, "SELECT pg_advisory_xact_lock (" PG_SCHEMA_LOCK ");"
                 "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)",
                 "schema"))
        return -1;
    PGresult *result = pg_query (pg, "SELECT max (version) FROM schema_version", 0, NULL,
                                 "schema");
    if (!result)
        return -1;
    int version = PQgetisnull (result, 0, 0)? 0: atoi (PQgetvalue (result, 0, 0));
    PQclear (result);
    return version;
}

//  Creates the ledger in a new database, migrates one of schema 2,
//  accepts a current one, refuses any other version, in the caller's
//  transaction (all or nothing: PostgreSQL's DDL is transactional)
static int
s_pg_upgrade (participant_store_t *self, int version)
{
    if (version != 0 && version != 2 && version != PARTICIPANT_STORE_VERSION) {
        zsys_error ("participant_store: db=%s error=written by %s version (schema %d, this"
                    " build reads %d)", pg_name (self->pg),
                    version > PARTICIPANT_STORE_VERSION? "a newer": "an older", version,
                    PARTICIPANT_STORE_VERSION);
        return -1;
    }
    if (version == PARTICIPANT_STORE_VERSION)
        return 0;
    char view [8192];
    bool fits = s_view_sql (view, sizeof view, "CREATE OR REPLACE VIEW");
    assert (fits);                      //  our own names
    (void) fits;
    if (version == 2)
        zsys_notice ("participant_store: db=%s migrating schema 2 to %d (checkout_id)",
                     pg_name (self->pg), PARTICIPANT_STORE_VERSION);
    if (pg_exec (self->pg, version == 2? LEDGER_PG_MIGRATE_3: LEDGER_PG_SCHEMA, "schema")
    ||  pg_exec (self->pg, view, "schema")
    ||  pg_exec (self->pg, "INSERT INTO schema_version VALUES (3)", "schema"))
        return -1;
    return 0;
}

//  Connects and brings the database to the current schema, in one
//  transaction under the schema lock
static participant_store_t *
s_new_pg (participant_store_t *self, const char *uri)
{
    self->pg = pg_new (uri, "checkout-participant");
    if (!self->pg) {
        participant_store_destroy (&self);
        return NULL;
    }
    int version = pg_begin (self->pg) == 0? s_pg_version (self->pg): -1;
    if (version < 0 || s_pg_upgrade (self, version) || pg_commit (self->pg)) {
        pg_rollback (self->pg);
        participant_store_destroy (&self);
        return NULL;
    }
    self->ledger = ledger_pg_new (self->pg);
    return self;
}

participant_store_t *
participant_store_new (const char *path, const store_options_t *opts)
{
    assert (path);
    participant_store_t *self = (participant_store_t *) zmalloc (sizeof (participant_store_t));
    if (pg_uri_is (path))
        return s_new_pg (self, path);
    self->store = store_new (path, opts);
    if (!self->store) {
        participant_store_destroy (&self);
        return NULL;
    }
    //  One BEGIN IMMEDIATE: of two instances opening a new file together,
    //  one creates and the other finds version 2
    int rc = store_begin (self->store);
    int version = rc == 0? store_user_version (self->store): -1;
    if (version < 0 || s_upgrade (self, version) || store_commit (self->store)) {
        store_rollback (self->store);
        participant_store_destroy (&self);
        return NULL;
    }
    self->ledger = ledger_sqlite_new (self->store);
    return self;
}

void
participant_store_destroy (participant_store_t **self_p)
{
    assert (self_p);
    participant_store_t *self = *self_p;
    if (!self)
        return;
    if (self->ledger)
        self->ledger->destroy (&self->ledger);
    if (self->pg)
        pg_rollback (self->pg);
    pg_destroy (&self->pg);
    store_destroy (&self->store);
    free (self);
    *self_p = NULL;
}

store_t *
participant_store_store (participant_store_t *self)
{
    assert (self);
    return self->store;
}

pg_t *
participant_store_pg (participant_store_t *self)
{
    assert (self);
    return self->pg;
}

const char *
participant_store_name (participant_store_t *self)
{
    assert (self);
    return self->pg? pg_name (self->pg): store_path (self->store);
}

ledger_t *
participant_store_ledger (participant_store_t *self)
{
    assert (self);
    return self->ledger;
}

int
participant_store_schema (participant_store_t *self, const char *sql)
{
    assert (self);
    assert (sql);
    if (self->pg) {
        if (pg_begin (self->pg) == 0
        &&  pg_exec (self->pg, "SELECT pg_advisory_xact_lock (" PG_SCHEMA_LOCK ")", "schema") == 0
        &&  pg_exec (self->pg, sql, "schema") == 0
        &&  pg_commit (self->pg) == 0)
            return 0;
        pg_rollback (self->pg);
        return -1;
    }
    if (store_begin (self->store))
        return -1;
    if (store_exec (self->store, sql) || store_commit (self->store)) {
        store_rollback (self->store);
        return -1;
    }
    return 0;
}

void
participant_store_detail (participant_store_t *self, const char *table)
{
    assert (self && table);
    for (size_t index = 0; index < self->detail_count; index++)
        if (streq (self->details [index], table))
            return;                     //  a repository made again on the store
    assert (self->detail_count < MAX_DETAILS);     //  our own tables
    self->details [self->detail_count++] = table;
}

void
participant_store_set_retention (participant_store_t *self, uint64_t retention_ms)
{
    assert (self);
    self->retention_ms = retention_ms;
}

int
participant_store_expire (participant_store_t *self, int64_t before_ms, int max)
{
    assert (self);
    int gone = self->ledger->expire (self->ledger, before_ms, max, self->details,
                                     self->detail_count);
    if (gone > 0)
        self->expired += (uint64_t) gone;
    return gone;
}

uint64_t
participant_store_expired (participant_store_t *self)
{
    assert (self);
    return self->expired;
}

//  The retention batches due now (see EXPIRE_BATCH), for at most
//  budget_ms (0: one batch)
static void
s_expire_due (participant_store_t *self, int64_t budget_ms)
{
    int64_t start = zclock_mono ();
    bool in_transaction = self->pg? pg_in_transaction (self->pg)
                                  : store_in_transaction (self->store);
    if (self->retention_ms == 0 || start < self->expire_due || in_transaction)
        return;
    int64_t before_ms = zclock_time () - (int64_t) self->retention_ms;
    int gone;
    do
        gone = participant_store_expire (self, before_ms, EXPIRE_BATCH);
    while (gone == EXPIRE_BATCH && zclock_mono () - start < budget_ms);
    if (gone < 0)
        zsys_warning ("participant_store: path=%s op=expire error=retention batch failed;"
                      " next in %d ms", participant_store_name (self), EXPIRE_IVL_MS);
    self->expire_due = gone == EXPIRE_BATCH? zclock_mono (): zclock_mono () + EXPIRE_IVL_MS;
}

static void
s_set_keepalive (void *state, void (*keepalive) (void *arg), void *arg)
{
    participant_store_t *self = (participant_store_t *) state;
    //  SQLite waits for a lock inside its busy handler; a PostgreSQL
    //  statement that waits for a lock blocks in libpq (not covered yet)
    if (self->store)
        store_set_waiting (self->store, keepalive, arg);
}

void
participant_store_hooks (participant_store_t *self, ck_participant_config_t *config)
{
    assert (self);
    assert (config);
    config->batch_begin = participant_store_batch_begin;
    config->batch_commit = participant_store_batch_commit;
    config->batch_rollback = participant_store_batch_rollback;
    config->idle = participant_store_idle;
    config->after_batch = participant_store_after_batch;
    config->set_keepalive = s_set_keepalive;
    config->batch_state = self;
}

int
participant_store_batch_begin (void *state)
{
    participant_store_t *self = (participant_store_t *) state;
    assert (self);
    if (self->pg) {
        ledger_pg_reset (self->ledger);
        if (pg_ready (self->pg) || pg_begin (self->pg))
            return -1;
        ledger_pg_batch (self->ledger, true);
        return 0;
    }
    ledger_sqlite_reset (self->ledger);
    return store_begin (self->store);
}

int
participant_store_batch_commit (void *state)
{
    participant_store_t *self = (participant_store_t *) state;
    assert (self);
    bool spoiled = self->pg? ledger_pg_spoiled (self->ledger)
                           : ledger_sqlite_spoiled (self->ledger);
    if (spoiled) {
        zsys_error ("participant_store: path=%s error=batch not committed: a request"
                    " failed after writing", participant_store_name (self));
        return -1;
    }
    if (!self->pg)
        return store_commit (self->store);
    ledger_pg_batch (self->ledger, false);
    return pg_commit (self->pg);
}

void
participant_store_batch_rollback (void *state)
{
    participant_store_t *self = (participant_store_t *) state;
    assert (self);
    if (self->pg) {
        pg_rollback (self->pg);
        ledger_pg_reset (self->ledger);
        ledger_pg_batch (self->ledger, false);
        return;
    }
    store_rollback (self->store);
    ledger_sqlite_reset (self->ledger);
}

void
participant_store_idle (void *state)
{
    participant_store_t *self = (participant_store_t *) state;
    assert (self);
    //  PostgreSQL checkpoints itself; an idle turn reconnects a lost
    //  connection, so the first request after an outage finds it up
    if (self->pg) {
        if (pg_ready (self->pg))
            return;                     //  down: logged once per outage
    }
    else
        store_checkpoint (self->store);
    s_expire_due (self, EXPIRE_BUDGET_MS);
}

//  One batch after a busy turn, only while batches come full (a backlog):
//  a request batch records at most max-batch entries, a retention batch
//  deletes up to EXPIRE_BATCH, so retention keeps up with any load; with
//  no backlog the next batch waits a second, as from the idle hook
void
participant_store_after_batch (void *state)
{
    participant_store_t *self = (participant_store_t *) state;
    assert (self);
    if (self->pg && pg_ready (self->pg))
        return;
    s_expire_due (self, 0);
}

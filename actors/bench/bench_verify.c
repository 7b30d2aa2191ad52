/*  bench_verify.c - W1's invariants, checked in the SQLite files after a run
    One read-only connection, the participants attached; SQL reads, C judges.

    The participants' reservations, authorizations and orders are read
    through their views (docs/participant-stores.md), which join each
    service's rows with its ledger.  A process on PostgreSQL has
    <service>.uri (its libpq URI) instead of <service>.db (coordinator.uri
    for the saga log): the rows the checks read are copied into an
    in-memory schema of the same name, so every check is the same SQL for
    both backends.
*/
#include <assert.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sqlite3.h>
#include <unistd.h>
#include <libpq-fe.h>
#include "bench_plan.h"
#include "bench_verify.h"
#include "w1.h"

#define BUSY_TIMEOUT_MS 5000            //  the processes may still be writing

//  The four files, and the schema names the participants are attached as
static const struct { const char *file; const char *schema; } s_files [] = {
    { "coordinator.db", "main" }, { "inventory.db", "inv" },
    { "payment.db", "pay" }, { "order.db", "ord" }
};
#define FILE_COUNT (sizeof s_files / sizeof s_files [0])

//  What the checks read of a process on PostgreSQL, by schema: the
//  in-memory table (indexed by saga, as the views' ledger is), the query
//  on the participant's database, and the insert
static const struct {
    const char *schema;
    const char *create;
    const char *select;
    const char *insert;
    int columns;
} s_pg_tables [] = {
    { "main", "CREATE TABLE main.sagas (saga_id TEXT PRIMARY KEY, checkout_id TEXT NOT NULL,"
      " phase TEXT, reason_code TEXT); CREATE INDEX main.sagas_checkout ON sagas (checkout_id)",
      "SELECT saga_id, checkout_id, phase, reason_code FROM sagas",
      "INSERT INTO main.sagas VALUES (?1, ?2, ?3, ?4)", 4 },
    { "inv", "CREATE TABLE inv.reservations (reservation_id TEXT, saga_id TEXT, status TEXT,"
      " lines TEXT); CREATE INDEX inv.reservations_saga ON reservations (saga_id)",
      "SELECT reservation_id, saga_id, status, lines FROM reservations",
      "INSERT INTO inv.reservations VALUES (?1, ?2, ?3, ?4)", 4 },
    { "inv", "CREATE TABLE inv.stock (sku TEXT PRIMARY KEY, available INTEGER NOT NULL)",
      "SELECT sku, available FROM stock", "INSERT INTO inv.stock VALUES (?1, ?2)", 2 },
    { "pay", "CREATE TABLE pay.authorizations (authorization_id TEXT, saga_id TEXT,"
      " status TEXT); CREATE INDEX pay.authorizations_saga ON authorizations (saga_id)",
      "SELECT authorization_id, saga_id, status FROM authorizations",
      "INSERT INTO pay.authorizations VALUES (?1, ?2, ?3)", 3 },
    { "ord", "CREATE TABLE ord.orders (order_id TEXT, saga_id TEXT);"
      " CREATE INDEX ord.orders_saga ON orders (saga_id)",
      "SELECT order_id, saga_id FROM orders", "INSERT INTO ord.orders VALUES (?1, ?2)", 2 }
};
#define PG_TABLE_COUNT (sizeof s_pg_tables / sizeof s_pg_tables [0])

//  Everything about one checkout: its saga(s), their state, the
//  participants' rows of each saga (NULL when absent)
#define SQL_CHECKOUT \
    "SELECT c.saga_id, c.phase, c.reason_code," \
    " (SELECT status FROM inv.reservations r WHERE r.saga_id = c.saga_id)," \
    " (SELECT status FROM pay.authorizations a WHERE a.saga_id = c.saga_id)," \
    " (SELECT order_id FROM ord.orders o WHERE o.saga_id = c.saga_id)" \
    " FROM main.sagas c WHERE c.checkout_id = ?1 ORDER BY c.saga_id"

//  What held reservations take of each SKU: a reservation keeps its lines
//  as JSON ([[sku, qty], ...]) in its ledger entry
#define SQL_HELD_LINES \
    "SELECT j.value ->> 0 AS sku, j.value ->> 1 AS qty" \
    " FROM inv.reservations r, json_each (r.lines) j WHERE r.status = 'held'"

//  Every stock row with what held reservations take of it
#define SQL_STOCK \
    "SELECT s.sku, s.available, COALESCE (h.qty, 0) FROM inv.stock s LEFT JOIN" \
    " (SELECT sku, SUM (qty) AS qty FROM (" SQL_HELD_LINES ") GROUP BY sku) h" \
    " ON h.sku = s.sku ORDER BY s.sku"

//  Held lines of SKUs the stock table does not have
#define SQL_HELD_UNKNOWN \
    "SELECT DISTINCT sku FROM (" SQL_HELD_LINES ")" \
    " WHERE sku NOT IN (SELECT sku FROM inv.stock)"

//  Effects of sagas that no checkout has
#define SQL_ORPHANS \
    "SELECT 'held reservation ' || reservation_id, saga_id FROM inv.reservations" \
    " WHERE status = 'held' AND saga_id NOT IN (SELECT saga_id FROM main.sagas)" \
    " UNION ALL SELECT 'authorization ' || authorization_id, saga_id FROM pay.authorizations" \
    " WHERE status = 'authorized' AND saga_id NOT IN (SELECT saga_id FROM main.sagas)" \
    " UNION ALL SELECT 'order ' || order_id, saga_id FROM ord.orders" \
    " WHERE saga_id NOT IN (SELECT saga_id FROM main.sagas)"

typedef struct {
    const bench_verify_config_t *config;
    FILE *out;
    sqlite3 *db;
    uint64_t first, count;
    int64_t violations;
    uint64_t skus;                      //  stock rows checked
    bench_tally_t tally;
} verify_t;

//  One row of SQL_CHECKOUT
typedef struct {
    const char *saga_id;
    const char *phase;
    const char *reason_code;
    const char *reservation;            //  status, or NULL when none
    const char *authorization;          //  status, or NULL when none
    const char *order_id;               //  NULL when none
} saga_row_t;

static void
s_violation (verify_t *self, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

static void
s_violation (verify_t *self, const char *format, ...)
{
    self->violations++;
    uint32_t shown = self->config->max_shown;
    if (shown && self->violations > shown)
        return;
    va_list args;
    va_start (args, format);
    fprintf (self->out, "violation: ");
    vfprintf (self->out, format, args);
    fprintf (self->out, "\n");
    va_end (args);
}

static const char *
s_text (sqlite3_stmt *stmt, int column)
{
    return (const char *) sqlite3_column_text (stmt, column);
}

//  Fills uri with the process's libpq URI when <dir>/<service>.uri
//  (in place of <service>.db) has one; false when it has none
static bool
s_pg_uri (verify_t *self, size_t index, char *uri, size_t size)
{
    char path [4096];
    snprintf (path, sizeof path, "%s/%.*s.uri", self->config->data_dir,
              (int) (strlen (s_files [index].file) - 3), s_files [index].file);
    FILE *file = fopen (path, "r");
    if (!file)
        return false;
    bool found = fgets (uri, (int) size, file) != NULL;
    fclose (file);
    uri [strcspn (uri, "\r\n")] = 0;
    return found && uri [0];
}

//  Copies one table's rows from conn into its in-memory schema; -1 after
//  saying why
static int
s_pg_copy (verify_t *self, PGconn *conn, size_t table)
{
    if (sqlite3_exec (self->db, s_pg_tables [table].create, NULL, NULL, NULL) != SQLITE_OK) {
        fprintf (self->out, "verify: %s\n", sqlite3_errmsg (self->db));
        return -1;
    }
    PGresult *result = PQexec (conn, s_pg_tables [table].select);
    sqlite3_stmt *stmt = NULL;
    int rc = PQresultStatus (result) == PGRES_TUPLES_OK? 0: -1;
    if (rc)
        fprintf (self->out, "verify: %s: %s", s_pg_tables [table].select,
                 PQresultErrorMessage (result));
    else
    if (sqlite3_prepare_v2 (self->db, s_pg_tables [table].insert, -1, &stmt, NULL) != SQLITE_OK)
        rc = -1;
    for (int row = 0; rc == 0 && row < PQntuples (result); row++) {
        for (int column = 0; column < s_pg_tables [table].columns; column++)
            if (PQgetisnull (result, row, column))
                sqlite3_bind_null (stmt, column + 1);
            else
                sqlite3_bind_text (stmt, column + 1, PQgetvalue (result, row, column), -1,
                                   SQLITE_STATIC);
        rc = sqlite3_step (stmt) == SQLITE_DONE? 0: -1;
        sqlite3_reset (stmt);
    }
    if (rc && stmt)
        fprintf (self->out, "verify: %s\n", sqlite3_errmsg (self->db));
    sqlite3_finalize (stmt);
    PQclear (result);
    return rc;
}

//  Attaches an in-memory schema for participant index and copies its rows
//  from the database at uri; -1 after saying why
static int
s_attach_pg (verify_t *self, size_t index, const char *uri)
{
    const char *schema = s_files [index].schema;
    int rc = 0;
    if (index > 0) {
        char *sql = sqlite3_mprintf ("ATTACH ':memory:' AS %s", schema);
        rc = sqlite3_exec (self->db, sql, NULL, NULL, NULL) == SQLITE_OK? 0: -1;
        sqlite3_free (sql);
    }
    else
    if (sqlite3_open_v2 (":memory:", &self->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI,
                         NULL) != SQLITE_OK)
        rc = -1;
    PGconn *conn = PQconnectdb (uri);
    if (PQstatus (conn) != CONNECTION_OK) {
        fprintf (self->out, "verify: cannot connect to the %s database: %s", schema,
                 PQerrorMessage (conn));
        rc = -1;
    }
    //  one snapshot for all its tables, so stock and reservations agree
    PQclear (PQexec (conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY"));
    sqlite3_exec (self->db, "BEGIN", NULL, NULL, NULL);
    for (size_t table = 0; rc == 0 && table < PG_TABLE_COUNT; table++)
        if (strcmp (s_pg_tables [table].schema, schema) == 0)
            rc = s_pg_copy (self, conn, table);
    sqlite3_exec (self->db, rc? "ROLLBACK": "COMMIT", NULL, NULL, NULL);
    PQfinish (conn);
    return rc;
}

//  A file's name for sqlite3_open_v2 and ATTACH: with a participant on
//  PostgreSQL, a read-only URI filename, so that the in-memory schemas
//  attached next are writable (they take the main file's flags)
static char *
s_main_name (const char *path, bool uri)
{
    if (!uri)
        return sqlite3_mprintf ("%s", path);
    char *name = sqlite3_mprintf ("file:");
    for (const char *c = path; name && *c; c++) {
        char *longer = strchr ("%?#", *c)? sqlite3_mprintf ("%s%%%02X", name, (unsigned char) *c)
                                         : sqlite3_mprintf ("%s%c", name, *c);
        sqlite3_free (name);
        name = longer;
    }
    char *full = name? sqlite3_mprintf ("%s?mode=ro", name): NULL;
    sqlite3_free (name);
    return full;
}

//  Opens coordinator.db read only and attaches the others; -1 after saying why
static int
s_open (verify_t *self)
{
    char path [4096];
    char uris [FILE_COUNT][1024] = { { 0 } };
    bool any_pg = false;
    for (size_t i = 0; i < FILE_COUNT; i++)
        any_pg |= s_pg_uri (self, i, uris [i], sizeof uris [i]);
    for (size_t i = 0; i < FILE_COUNT; i++) {
        if (uris [i][0]) {
            if (s_attach_pg (self, i, uris [i]))
                return -1;
            continue;
        }
        snprintf (path, sizeof path, "%s/%s", self->config->data_dir, s_files [i].file);
        if (access (path, R_OK) != 0) {
            fprintf (self->out, "verify: cannot read %s\n", path);
            return -1;
        }
        int rc;
        if (i == 0) {
            char *name = s_main_name (path, any_pg);
            rc = sqlite3_open_v2 (name, &self->db, any_pg? SQLITE_OPEN_READWRITE | SQLITE_OPEN_URI
                                                         : SQLITE_OPEN_READONLY, NULL);
            sqlite3_free (name);
        }
        else {
            //  An attached file is opened with the main file's flags: read
            //  only, or (with a participant on PostgreSQL) a read-only URI
            char *name = s_main_name (path, any_pg);
            char *sql = sqlite3_mprintf ("ATTACH %Q AS %s", name, s_files [i].schema);
            rc = sqlite3_exec (self->db, sql, NULL, NULL, NULL);
            sqlite3_free (sql);
            sqlite3_free (name);
        }
        if (rc != SQLITE_OK) {
            fprintf (self->out, "verify: cannot open %s: %s\n", path,
                     self->db? sqlite3_errmsg (self->db): sqlite3_errstr (rc));
            return -1;
        }
    }
    sqlite3_busy_timeout (self->db, BUSY_TIMEOUT_MS);
    return 0;
}

static sqlite3_stmt *
s_prepare (verify_t *self, const char *sql)
{
    sqlite3_stmt *stmt = NULL;
    if (sqlite3_prepare_v2 (self->db, sql, -1, &stmt, NULL) != SQLITE_OK) {
        fprintf (self->out, "verify: cannot read the files in %s: %s\n",
                 self->config->data_dir, sqlite3_errmsg (self->db));
        return NULL;
    }
    return stmt;
}

//  Ends a statement's loop; -1 after saying why when it stopped on an error
static int
s_finalize (verify_t *self, sqlite3_stmt *stmt, int rc)
{
    sqlite3_finalize (stmt);
    if (rc == SQLITE_DONE)
        return 0;
    fprintf (self->out, "verify: reading failed: %s\n", sqlite3_errmsg (self->db));
    return -1;
}

//  Without --n, the range is every W1 checkout id under the prefix
static int
s_infer_range (verify_t *self)
{
    sqlite3_stmt *stmt = s_prepare (self, "SELECT checkout_id FROM main.sagas");
    if (!stmt)
        return -1;
    uint64_t low = UINT64_MAX, high = 0, k;
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        const char *checkout_id = s_text (stmt, 0);
        if (checkout_id && bench_plan_key (checkout_id, self->config->prefix, &k) == 0) {
            low = k < low? k: low;
            high = k > high? k: high;
        }
    }
    if (s_finalize (self, stmt, rc) == -1)
        return -1;
    if (low == UINT64_MAX) {
        fprintf (self->out, "verify: no W1 checkout in %s/coordinator.db\n",
                 self->config->data_dir);
        return -1;
    }
    self->first = low;
    self->count = high - low + 1;
    return 0;
}

//  Judges one saga of a checkout; returns the outcome it ended as
static bench_outcome_t
s_check_saga (verify_t *self, const char *checkout_id, const saga_row_t *row)
{
    bool confirmed = row->phase && strcmp (row->phase, "confirmed") == 0;
    bool failed = row->phase && strcmp (row->phase, "failed") == 0;
    if (confirmed) {
        if (!row->reservation || strcmp (row->reservation, "held") != 0)
            s_violation (self, "%s confirmed but reservation %s", checkout_id,
                         row->reservation? row->reservation: "missing");
        if (!row->authorization || strcmp (row->authorization, "authorized") != 0)
            s_violation (self, "%s confirmed but authorization %s", checkout_id,
                         row->authorization? row->authorization: "missing");
        if (!row->order_id)
            s_violation (self, "%s confirmed but order missing", checkout_id);
        return BENCH_CONFIRMED;
    }
    if (!failed) {
        s_violation (self, "%s not terminal (phase %s)", checkout_id,
                     row->phase? row->phase: "?");
        return BENCH_STUCK;
    }
    if (row->reservation && strcmp (row->reservation, "released") != 0)
        s_violation (self, "%s failed but reservation %s", checkout_id, row->reservation);
    if (row->authorization && strcmp (row->authorization, "voided") != 0)
        s_violation (self, "%s failed but authorization %s", checkout_id, row->authorization);
    if (row->order_id)
        s_violation (self, "%s failed but order %s exists", checkout_id, row->order_id);
    return bench_plan_classify (CK_STATUS_FAILED, row->reason_code);
}

static void
s_read_row (sqlite3_stmt *stmt, saga_row_t *row)
{
    row->saga_id = s_text (stmt, 0);
    row->phase = s_text (stmt, 1);
    row->reason_code = s_text (stmt, 2);
    row->reservation = s_text (stmt, 3);
    row->authorization = s_text (stmt, 4);
    row->order_id = s_text (stmt, 5);
}

//  Checks checkout k: one saga, its effects, its outcome against the plan
static int
s_check_checkout (verify_t *self, sqlite3_stmt *stmt, uint64_t k)
{
    ck_checkout_t checkout;
    int valid = w1_checkout_prefixed (self->config->prefix, k, &checkout);
    assert (valid == 0);                //  main checked the prefix
    (void) valid;
    sqlite3_reset (stmt);
    sqlite3_bind_text (stmt, 1, checkout.checkout_id, -1, SQLITE_STATIC);
    int rc, sagas = 0;
    bench_outcome_t outcome = BENCH_OUTCOME_COUNT;
    char first_saga [CK_ID_SIZE] = "";
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW) {
        saga_row_t row;
        s_read_row (stmt, &row);
        bench_outcome_t got = s_check_saga (self, checkout.checkout_id, &row);
        if (sagas++ == 0) {
            outcome = got;
            snprintf (first_saga, sizeof first_saga, "%s", row.saga_id? row.saga_id: "");
        }
        else
            s_violation (self, "%s has more than one saga (%s, %s)", checkout.checkout_id,
                         first_saga, row.saga_id? row.saga_id: "");
    }
    if (rc != SQLITE_DONE)
        return -1;
    if (sagas == 0) {
        s_violation (self, "%s has no saga", checkout.checkout_id);
        return 0;
    }
    self->tally.got [outcome]++;
    //  A saga that is not terminal was reported as such already
    bench_outcome_t planned = bench_plan_expected (k);
    if (outcome != planned && outcome != BENCH_STUCK)
        s_violation (self, "%s ended %s, W1 plans %s", checkout.checkout_id,
                     bench_outcome_name (outcome), bench_outcome_name (planned));
    return 0;
}

static int
s_check_checkouts (verify_t *self)
{
    sqlite3_stmt *stmt = s_prepare (self, SQL_CHECKOUT);
    if (!stmt)
        return -1;
    bench_tally_plan (&self->tally, self->first, self->count);
    for (uint64_t k = self->first; k < self->first + self->count; k++)
        if (s_check_checkout (self, stmt, k) == -1)
            return s_finalize (self, stmt, SQLITE_ERROR);
    sqlite3_finalize (stmt);
    for (int i = 0; i < BENCH_OUTCOME_COUNT; i++)
        if (self->tally.expected [i] != self->tally.got [i])
            s_violation (self, "outcome %s: W1 plans %llu, found %llu",
                         bench_outcome_name ((bench_outcome_t) i),
                         (unsigned long long) self->tally.expected [i],
                         (unsigned long long) self->tally.got [i]);
    return 0;
}

//  Initial stock of a SKU in W1's catalog; -1 when it is not in it
static int64_t
s_initial_stock (const char *sku)
{
    if (strcmp (sku, W1_OOS_SKU) == 0)
        return 0;
    unsigned index = 0;
    int used = 0;
    if (strlen (sku) == 8 && sscanf (sku, "SKU-%4u%n", &index, &used) == 1 && used == 8
    &&  index < W1_SKU_COUNT)
        return W1_INITIAL_STOCK;
    return -1;
}

static void
s_check_sku (verify_t *self, const char *sku, int64_t available, int64_t held)
{
    int64_t initial = s_initial_stock (sku);
    if (initial < 0)
        s_violation (self, "stock of %s: not in W1's catalog", sku);
    else
    if (initial - held != available)
        s_violation (self, "stock of %s: initial %lld - held %lld = %lld, but available %lld",
                     sku, (long long) initial, (long long) held,
                     (long long) (initial - held), (long long) available);
    else
        self->skus++;
}

//  Stock conservation for every SKU, and no held line outside the stock
static int
s_check_stock (verify_t *self)
{
    sqlite3_stmt *stmt = s_prepare (self, SQL_STOCK);
    if (!stmt)
        return -1;
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        s_check_sku (self, s_text (stmt, 0)? s_text (stmt, 0): "", sqlite3_column_int64 (stmt, 1),
                     sqlite3_column_int64 (stmt, 2));
    if (s_finalize (self, stmt, rc) == -1 || !(stmt = s_prepare (self, SQL_HELD_UNKNOWN)))
        return -1;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        s_violation (self, "held reservation lines of %s, which has no stock row",
                     s_text (stmt, 0));
    if (self->skus < W1_SKU_COUNT + 1)
        s_violation (self, "stock: %llu of W1's %d SKUs conserved",
                     (unsigned long long) self->skus, W1_SKU_COUNT + 1);
    return s_finalize (self, stmt, rc);
}

static int
s_check_orphans (verify_t *self)
{
    sqlite3_stmt *stmt = s_prepare (self, SQL_ORPHANS);
    if (!stmt)
        return -1;
    int rc;
    while ((rc = sqlite3_step (stmt)) == SQLITE_ROW)
        s_violation (self, "%s of saga %s, which no checkout has", s_text (stmt, 0),
                     s_text (stmt, 1));
    return s_finalize (self, stmt, rc);
}

static int
s_check_all (verify_t *self)
{
    if (s_open (self) == -1)
        return -1;
    if (!self->config->range_given && s_infer_range (self) == -1)
        return -1;
    if (s_check_checkouts (self) == -1 || s_check_stock (self) == -1
    ||  s_check_orphans (self) == -1)
        return -1;
    return 0;
}

//  Checks every invariant; the number of violations, or -1 (unreadable).
int64_t
bench_verify_run (const bench_verify_config_t *config, FILE *out)
{
    assert (config && config->data_dir && out);
    verify_t self = { .config = config, .out = out, .first = config->first,
                      .count = config->count };
    int rc = s_check_all (&self);
    sqlite3_close (self.db);
    if (rc == -1)
        return -1;
    if (config->max_shown && self.violations > config->max_shown)
        fprintf (out, "violation: ... and %lld more\n",
                 (long long) (self.violations - config->max_shown));
    fprintf (out, "verify: %s: %llu checkouts (k=%llu..%llu), %llu SKUs conserved, "
             "%lld violations\n", self.violations? "FAILED": "ok",
             (unsigned long long) self.count, (unsigned long long) self.first,
             (unsigned long long) (self.first + self.count - 1),
             (unsigned long long) self.skus, (long long) self.violations);
    return self.violations;
}

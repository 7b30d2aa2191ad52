/*  test_pg_roles.c - one least-privilege PostgreSQL role per service (scripts/pg roles)
    The real coordinator and participants on their own roles; each reaches its own database only.
*/
#include <criterion/criterion.h>
#include "e2e_helpers.h"
#include "pg_helpers.h"

//  Generous bounds: the ASan build is several times slower
#define READY_MS    30000
#define RUN_MS      120000
#define EXIT_MS     20000

enum { INVENTORY, PAYMENT, ORDER, COORDINATOR, READER, ROLES };

static const char *s_databases [] = { "inventory", "payment", "order", "coordinator" };
static const char *s_roles [] = {
    "ck_inventory", "ck_payment", "ck_order", "ck_coordinator", "ck_reader"
};

static bool s_found;                    //  PostgreSQL is installed
static e2e_group_t s_group;
static e2e_book_t s_book;
static pg_cluster_t s_cluster;

static void
s_init (void)
{
    s_found = pg_binaries_found ();
    if (!s_found)
        return;
    cr_assert_eq (e2e_group_init (&s_group, "ck-pg-roles"), 0, "no temp dir");
    cr_assert_eq (pg_cluster_start (&s_cluster), 0, "no PostgreSQL cluster");
    cr_assert_eq (pg_cluster_roles (&s_cluster), 0, "scripts/pg roles failed (see %s.log)",
                  s_cluster.dir);
}

static void
s_fini (void)
{
    e2e_book_fini (&s_book);
    e2e_group_fini (&s_group);
    pg_cluster_stop (&s_cluster);
}

TestSuite (pg_roles, .init = s_init, .fini = s_fini, .timeout = 240);

//  The test says why it does not run, and passes, without PostgreSQL's
//  server (cr_skip_test would leak its message under ASan)
static bool
s_can_run (void)
{
    if (!s_found)
        fprintf (stderr, "pg_roles: not run: PostgreSQL server binaries not installed\n");
    return s_found;
}

//  The URI of database for role (scripts/pg uri --role); a static buffer
//  per role and database
static const char *
s_uri (int database, int role)
{
    static char uris [ROLES][4][256];
    char *uri = uris [role][database];
    if (!uri [0])
        cr_assert_eq (pg_cluster_role_uri (&s_cluster, s_databases [database], s_roles [role],
                                           uri, sizeof uris [0][0]), 0);
    return uri;
}

//  The administrator's URI (role ck, trust on the throwaway cluster)
static const char *
s_admin_uri (int database)
{
    static char uri [256];
    snprintf (uri, sizeof uri, "postgresql://ck@127.0.0.1:%d/%s", s_cluster.port,
              s_databases [database]);
    return uri;
}

//  Runs sql on a new connection to uri, after the statement before (may be
//  NULL) in a transaction of its own; returns its SQLSTATE ("00000" when it
//  succeeded, "08006" when the connection failed) in state and the error
//  in error
static void
s_run (const char *uri, const char *before, const char *sql, char state [6], char *error,
       size_t size)
{
    PGconn *conn = PQconnectdb (uri);
    if (PQstatus (conn) != CONNECTION_OK) {
        snprintf (state, 6, "08006");
        const char *why = PQerrorMessage (conn);
        snprintf (error, size, "%s", why);
        PQfinish (conn);
        return;
    }
    if (before)
        PQclear (PQexec (conn, before));
    PGresult *result = PQexec (conn, sql);
    ExecStatusType status = PQresultStatus (result);
    if (status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK) {
        snprintf (state, 6, "00000");
        error [0] = 0;
    }
    else {
        const char *code = PQresultErrorField (result, PG_DIAG_SQLSTATE);
        snprintf (state, 6, "%s", code? code: "?????");
        snprintf (error, size, "%s", PQresultErrorMessage (result));
    }
    PQclear (result);
    PQfinish (conn);
}

//  sql on uri must fail with SQLSTATE expected (42501: insufficient
//  privilege; 25006: read-only transaction)
static void
s_refused (const char *uri, const char *sql, const char *expected)
{
    char state [6], error [512];
    s_run (uri, NULL, sql, state, error, sizeof error);
    cr_expect_str_eq (state, expected, "%s on %s: %s", sql, uri, error);
}

//  As s_refused, in a session that asked for read-write transactions
static void
s_refused_writable (const char *uri, const char *sql, const char *expected)
{
    char state [6], error [512];
    s_run (uri, "SET default_transaction_read_only = off", sql, state, error, sizeof error);
    cr_expect_str_eq (state, expected, "%s on %s: %s", sql, uri, error);
}

//  sql on uri must succeed
static void
s_allowed (const char *uri, const char *sql)
{
    char state [6], error [512];
    s_run (uri, NULL, sql, state, error, sizeof error);
    cr_expect_str_eq (state, "00000", "%s on %s: %s", sql, uri, error);
}

//  Connecting to uri must fail, libpq's message containing why
static void
s_cannot_connect (const char *uri, const char *why)
{
    PGconn *conn = PQconnectdb (uri);
    cr_expect_neq (PQstatus (conn), CONNECTION_OK, "%s connected", uri);
    cr_expect (strstr (PQerrorMessage (conn), why), "%s: %s", uri, PQerrorMessage (conn));
    PQfinish (conn);
}

Test (pg_roles, roles_have_no_power_beyond_their_database)
{
    if (!s_can_run ())
        return;
    cr_expect_eq (pg_query_int (s_admin_uri (INVENTORY),
                                "SELECT count (*) FROM pg_roles WHERE rolname LIKE 'ck\\_%'"
                                " AND rolcanlogin AND NOT (rolsuper OR rolcreatedb"
                                " OR rolcreaterole OR rolreplication OR rolbypassrls)"), ROLES);
    //  no service role reaches another's database
    for (int role = INVENTORY; role <= COORDINATOR; role++)
        for (int database = INVENTORY; database <= COORDINATOR; database++)
            if (database != role)
                s_cannot_connect (s_uri (database, role), "permission denied for database");
    //  nor the cluster's maintenance database's objects (nothing to create there)
    char uri [512];
    snprintf (uri, sizeof uri, "postgresql://ck_inventory@127.0.0.1:%d/postgres?passfile=%s/pgpass",
              s_cluster.port, s_cluster.dir);
    s_refused (uri, "CREATE TABLE t (x INTEGER)", "42501");
    //  a password is required: trust stays with the administrator
    snprintf (uri, sizeof uri, "postgresql://ck_inventory@127.0.0.1:%d/inventory"
              "?passfile=%s/no-such-file", s_cluster.port, s_cluster.dir);
    s_cannot_connect (uri, "no password supplied");
    //  each creates tables in its own public schema, and nothing more
    s_allowed (s_uri (COORDINATOR, COORDINATOR), "CREATE TABLE sagas_probe (x INTEGER)");
    s_refused (s_uri (INVENTORY, INVENTORY), "CREATE SCHEMA other", "42501");
    s_refused (s_uri (INVENTORY, INVENTORY), "CREATE DATABASE other", "42501");
    s_refused (s_uri (INVENTORY, INVENTORY), "CREATE ROLE other", "42501");
    //  the reader sees the coordinator's table and writes nothing, even
    //  when its session is not read-only
    s_allowed (s_uri (COORDINATOR, READER), "SELECT count (*) FROM sagas_probe");
    s_refused (s_uri (COORDINATOR, READER), "INSERT INTO sagas_probe VALUES (1)", "25006");
    s_refused_writable (s_uri (COORDINATOR, READER), "INSERT INTO sagas_probe VALUES (1)",
                        "42501");
    //  running scripts/pg roles again keeps the roles and their passwords
    cr_assert_eq (pg_cluster_roles (&s_cluster), 0);
    s_allowed (s_uri (COORDINATOR, COORDINATOR), "INSERT INTO sagas_probe VALUES (1)");
}

//  Starts checkout-<service> as <service>-1 on db, with the W1 catalog for
//  inventory.  Returns its slot.
static int
s_start_participant (int service, const char *db)
{
    char heartbeat [16], liveness [16], program [64], instance [32];
    snprintf (heartbeat, sizeof heartbeat, "%d", s_group.heartbeat_ms);
    snprintf (liveness, sizeof liveness, "%d", s_group.liveness);
    snprintf (program, sizeof program, "checkout-%s", s_databases [service]);
    snprintf (instance, sizeof instance, "%s-1", s_databases [service]);
    const char *args [E2E_MAX_ARGS] = {
        "--coordinator", s_group.backend, "--db", db, "--instance", instance,
        "--heartbeat-ms", heartbeat, "--liveness", liveness, NULL
    };
    if (service == INVENTORY) {
        args [10] = "--seed";
        args [11] = s_group.seed;
    }
    int slot = e2e_spawn (&s_group, instance, program, args);
    cr_assert_geq (slot, 0);
    return slot;
}

//  Runs checkout-bench --verify with the reader's URIs in <name>.uri;
//  returns its exit code and its output in *output (owned by the caller)
static int
s_verify (char **output)
{
    for (int service = INVENTORY; service <= COORDINATOR; service++) {
        char name [32], path [PATH_MAX];
        snprintf (name, sizeof name, "%s.uri", s_databases [service]);
        e2e_path (&s_group, name, path, sizeof path);
        FILE *file = fopen (path, "w");
        cr_assert_not_null (file);
        fprintf (file, "%s\n", s_uri (service, READER));
        fclose (file);
    }
    char exe [PATH_MAX + 32], log [PATH_MAX];
    snprintf (exe, sizeof exe, "%s/checkout-bench", s_group.bin);
    e2e_path (&s_group, "verify.txt", log, sizeof log);
    const char *argv [] = { exe, "--verify", "--data", s_group.dir, "--n", "200", NULL };
    pid_t pid = ph_spawn (exe, (char *const *) argv, log);
    int status;
    cr_assert_eq (ph_wait (pid, 60000, &status), 0, "verify did not end");
    *output = ph_slurp (log);
    return ph_exit_code (status);
}

Test (pg_roles, the_group_serves_checkouts_on_its_own_roles)
{
    if (!s_can_run ())
        return;
    s_group.coordinator_db = s_uri (COORDINATOR, COORDINATOR);
    cr_assert_geq (e2e_start_coordinator (&s_group, NULL), 0);
    for (int service = INVENTORY; service <= ORDER; service++)
        s_start_participant (service, s_uri (service, service));
    cr_assert_eq (e2e_wait_ready (&s_group, 1, 1, 1, READY_MS), 0,
                  "the group did not come up (logs in %s)", s_group.dir);
    ck_client_t *client = e2e_client (&s_group);
    cr_assert_not_null (client);
    cr_assert_eq (e2e_book_init (&s_book, 200), 0);
    cr_assert_eq (e2e_drive (client, &s_book, 32, RUN_MS), 0,
                  "%zu of 200 terminal (logs in %s)", s_book.terminal, s_group.dir);
    char first [E2E_PROBLEM_SIZE];
    int problems = e2e_check_plan (&s_book, first);
    cr_expect_eq (problems, 0, "%d problems; first: %s", problems, first);

    //  each process owns every table and view it made, in its database only
    for (int service = INVENTORY; service <= COORDINATOR; service++) {
        char sql [256];
        snprintf (sql, sizeof sql, "SELECT count (*) FROM pg_class WHERE relnamespace ="
                  " 'public'::regnamespace AND relkind IN ('r', 'v') AND relowner <> '%s'::regrole",
                  s_roles [service]);
        cr_expect_eq (pg_query_int (s_admin_uri (service), sql), 0, "%s", s_databases [service]);
    }
    //  the reader reads them, and checkout-bench --verify with it
    long long confirmed = 0;
    for (size_t k = 0; k < s_book.count; k++)
        confirmed += s_book.items [k].result.status == CK_STATUS_CONFIRMED;
    cr_expect_gt (confirmed, 0);
    cr_expect_eq (pg_query_int (s_uri (ORDER, READER), "SELECT count (*) FROM orders"), confirmed);
    cr_expect_eq (pg_query_int (s_uri (COORDINATOR, READER), "SELECT count (*) FROM sagas"),
                  (long long) s_book.count);
    char *output = NULL;
    cr_expect_eq (s_verify (&output), 0, "%s", output? output: "");
    cr_expect (output && strstr (output, "0 violations"), "%s", output? output: "");
    free (output);
    //  ... and writes nothing
    s_refused_writable (s_uri (INVENTORY, READER), "UPDATE stock SET available = 0", "42501");
    s_refused_writable (s_uri (PAYMENT, READER), "DELETE FROM ledger", "42501");
    s_refused_writable (s_uri (COORDINATOR, READER), "DELETE FROM sagas", "42501");
    s_refused (s_uri (INVENTORY, READER), "UPDATE stock SET available = 0", "25006");

    //  payment cannot reach the stock; granted CONNECT by mistake, it still
    //  may neither change nor read it
    s_cannot_connect (s_uri (INVENTORY, PAYMENT), "permission denied for database");
    s_allowed (s_admin_uri (INVENTORY), "GRANT CONNECT ON DATABASE inventory TO ck_payment");
    s_refused (s_uri (INVENTORY, PAYMENT), "UPDATE stock SET available = 0", "42501");
    s_refused (s_uri (INVENTORY, PAYMENT), "SELECT count (*) FROM ledger", "42501");
    s_allowed (s_admin_uri (INVENTORY), "REVOKE CONNECT ON DATABASE inventory FROM ck_payment");
    //  inventory cannot reach the payments
    s_cannot_connect (s_uri (PAYMENT, INVENTORY), "permission denied for database");
    //  the refused UPDATEs changed nothing (SKU-OOS has none from the start)
    cr_expect_eq (pg_query_int (s_uri (INVENTORY, READER), "SELECT count (*) FROM stock"
                                " WHERE available = 0 AND sku <> 'SKU-OOS'"), 0);
    for (int slot = 0; slot <= 3; slot++)
        cr_expect (e2e_running (&s_group, slot), "%s exited", s_group.names [slot]);
}

//  Waits for the process in slot to exit by itself; returns its exit code
//  (-1 when killed by a signal), or -2 when it still runs (then killed)
static int
s_exit_code (int slot)
{
    int status;
    if (ph_wait (s_group.pids [slot], EXIT_MS, &status)) {
        ph_kill_reap (&s_group.pids [slot]);
        return -2;
    }
    s_group.pids [slot] = 0;
    return ph_exit_code (status);
}

//  The log of the process in slot (owned by the caller)
static char *
s_log (int slot)
{
    char name [48], path [PATH_MAX];
    snprintf (name, sizeof name, "%s.log", s_group.names [slot]);
    e2e_path (&s_group, name, path, sizeof path);
    return ph_slurp (path);
}

//  A process started with a role not its own stops at once, exit 1, saying
//  why: the wrong database refuses the connection, the reader's session
//  cannot create the tables, no password is no login
Test (pg_roles, a_process_on_another_services_role_does_not_start)
{
    if (!s_can_run ())
        return;
    struct {
        int service, role;
        const char *why;
    } cases [] = {
        { PAYMENT, INVENTORY, "permission denied for database \"payment\"" },
        { INVENTORY, ORDER, "permission denied for database \"inventory\"" },
        { ORDER, READER, "read-only transaction" },
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases [0]; k++) {
        //  the URI of the service's database with the other role
        char db [512];
        cr_assert_eq (pg_cluster_role_uri (&s_cluster, s_databases [cases [k].service],
                                           s_roles [cases [k].role], db, sizeof db), 0);
        int slot = s_start_participant (cases [k].service, db);
        cr_expect_eq (s_exit_code (slot), 1, "%s with %s", s_databases [cases [k].service],
                      s_roles [cases [k].role]);
        char *log = s_log (slot);
        cr_expect (log && strstr (log, "cannot open the database"), "%s", log? log: "");
        cr_expect (log && strstr (log, cases [k].why), "%s", log? log: "");
        free (log);
        s_group.names [slot][0] = 0;
    }
    char db [512];
    snprintf (db, sizeof db, "postgresql://ck_payment@127.0.0.1:%d/payment"
              "?passfile=%s/no-such-file", s_cluster.port, s_cluster.dir);
    int slot = s_start_participant (PAYMENT, db);
    cr_expect_eq (s_exit_code (slot), 1);
    char *log = s_log (slot);
    cr_expect (log && strstr (log, "no password supplied"), "%s", log? log: "");
    free (log);

    //  the coordinator likewise, with a participant's role and the reader's
    int roles [] = { ORDER, READER };
    const char *whys [] = { "permission denied for database \"coordinator\"",
                            "read-only transaction" };
    for (size_t k = 0; k < 2; k++) {
        char uri [512];
        cr_assert_eq (pg_cluster_role_uri (&s_cluster, "coordinator", s_roles [roles [k]],
                                           uri, sizeof uri), 0);
        s_group.coordinator_db = uri;
        slot = e2e_start_coordinator (&s_group, NULL);
        cr_assert_geq (slot, 0);
        cr_expect_eq (s_exit_code (slot), 1, "coordinator with %s", s_roles [roles [k]]);
        log = s_log (slot);
        cr_expect (log && strstr (log, "could not start"), "%s", log? log: "");
        cr_expect (log && strstr (log, whys [k]), "%s", log? log: "");
        free (log);
        s_group.names [slot][0] = 0;
        s_group.coordinator_db = NULL;
    }
    //  none of them made a table
    for (int service = INVENTORY; service <= COORDINATOR; service++)
        cr_expect_eq (pg_query_int (s_admin_uri (service), "SELECT count (*) FROM pg_class"
                                    " WHERE relnamespace = 'public'::regnamespace"), 0);
}

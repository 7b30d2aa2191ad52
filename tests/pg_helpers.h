/*  pg_helpers.h - a throwaway PostgreSQL cluster per test
    Started with scripts/pg on a port of its own, killed by PID and removed at the end.

    Header-only like process_helpers.h, which it builds on.  A test keeps
    one pg_cluster_t: pg_cluster_start makes a temp dir and starts a
    cluster in it (never the packaged one), pg_cluster_createdb makes a
    database and gives its URI, pg_cluster_stop (call it from .fini)
    stops the server with pg_ctl -m immediate, SIGKILLs its postmaster by
    PID if it is still there, and removes the dir.  Nothing asserts.
*/
#ifndef CK_PG_HELPERS_H_INCLUDED
#define CK_PG_HELPERS_H_INCLUDED

#include <glob.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <libpq-fe.h>
#include "process_helpers.h"

typedef struct {
    char dir [64];                      //  /tmp/ck-pg-XXXXXX
    char script [PATH_MAX];             //  scripts/pg
    int port;
    pid_t postmaster;                   //  from postmaster.pid
} pg_cluster_t;

//  A port nobody listens on now: the kernel's pick for port 0
static inline int
pg_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t length = sizeof addr;
    int port = -1;
    if (fd >= 0 && bind (fd, (struct sockaddr *) &addr, sizeof addr) == 0
    &&  getsockname (fd, (struct sockaddr *) &addr, &length) == 0)
        port = ntohs (addr.sin_port);
    if (fd >= 0)
        close (fd);
    return port;
}

//  Runs scripts/pg with args (NULL-terminated), output in <dir>/pg.log.
//  Returns its exit code, or -1.
static inline int
pg_cluster_run (pg_cluster_t *c, const char *const *args)
{
    const char *argv [12];
    int argc = 0;
    argv [argc++] = c->script;
    for (; *args && argc < 11; args++)
        argv [argc++] = *args;
    argv [argc] = NULL;
    char log [PATH_MAX];
    snprintf (log, sizeof log, "%s.log", c->dir);
    pid_t pid = ph_spawn (c->script, (char *const *) argv, log);
    int status;
    if (pid <= 0 || ph_wait (pid, 60000, &status))
        return -1;
    return ph_exit_code (status);
}

//  Reads the postmaster's PID from its pid file; 0 when there is none
static inline pid_t
pg_cluster_pid (pg_cluster_t *c)
{
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/data/postmaster.pid", c->dir);
    FILE *file = fopen (path, "r");
    long pid = 0;
    if (file) {
        if (fscanf (file, "%ld", &pid) != 1)
            pid = 0;
        fclose (file);
    }
    return (pid_t) pid;
}

//  Starts the cluster again (after pg_cluster_restart's stop, or a new
//  one in a fresh dir).  Returns 0, or -1.
static inline int
pg_cluster_up (pg_cluster_t *c)
{
    char port [16];
    snprintf (port, sizeof port, "%d", c->port);
    const char *args [] = { "start", c->dir, "--port", port, NULL };
    if (pg_cluster_run (c, args) != 0)
        return -1;
    c->postmaster = pg_cluster_pid (c);
    return c->postmaster > 0? 0: -1;
}

//  True when the server binaries scripts/pg runs are installed
static inline bool
pg_binaries_found (void)
{
    glob_t found;
    bool any = glob ("/usr/lib/postgresql/*/bin/pg_ctl", 0, NULL, &found) == 0;
    globfree (&found);
    return any;
}

//  Makes a temp dir and starts a cluster in it on a free port.  Returns 0,
//  or -1.
static inline int
pg_cluster_start (pg_cluster_t *c)
{
    memset (c, 0, sizeof *c);
    const char *source = getenv ("CK_SOURCE_DIR");
    char bin [PATH_MAX - 32];
    if (source)
        snprintf (c->script, sizeof c->script, "%.*s/scripts/pg", PATH_MAX - 32, source);
    else
    if (ph_bin_dir (bin, sizeof bin) == 0)
        snprintf (c->script, sizeof c->script, "%s/../../scripts/pg", bin);
    else
        return -1;
    c->port = pg_free_port ();
    if (c->port <= 0 || ph_mkdtemp ("ck-pg", c->dir, sizeof c->dir))
        return -1;
    chmod (c->dir, 0755);
    return pg_cluster_up (c);
}

//  Creates database name and fills uri with its libpq URI.  Returns 0, or -1.
static inline int
pg_cluster_createdb (pg_cluster_t *c, const char *name, char *uri, size_t size)
{
    const char *args [] = { "createdb", c->dir, name, NULL };
    if (pg_cluster_run (c, args) != 0)
        return -1;
    snprintf (uri, size, "postgresql://ck@127.0.0.1:%d/%s", c->port, name);
    return 0;
}

//  Runs scripts/pg with args (NULL-terminated) and keeps the first line it
//  printed in out.  Returns 0, or -1 when it failed or printed nothing.
static inline int
pg_cluster_output (pg_cluster_t *c, const char *const *args, char *out, size_t size)
{
    const char *argv [12];
    int argc = 0;
    argv [argc++] = c->script;
    for (; *args && argc < 11; args++)
        argv [argc++] = *args;
    argv [argc] = NULL;
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s.out", c->dir);
    unlink (path);
    pid_t pid = ph_spawn2 (c->script, (char *const *) argv, path, NULL);
    int status;
    int rc = pid > 0 && ph_wait (pid, 60000, &status) == 0
          && ph_exit_code (status) == 0? 0: -1;
    char *text = ph_slurp (path);
    unlink (path);
    if (rc == 0 && text && *text)
        snprintf (out, size, "%.*s", (int) strcspn (text, "\n"), text);
    else
        rc = -1;
    free (text);
    return rc;
}

//  Creates the databases and least-privilege roles of scripts/pg-roles.sql
//  with their passwords.  Returns 0, or -1.
static inline int
pg_cluster_roles (pg_cluster_t *c)
{
    const char *args [] = { "roles", c->dir, NULL };
    return pg_cluster_run (c, args) == 0? 0: -1;
}

//  Fills uri with the URI of database name for role (scripts/pg uri
//  --role).  Returns 0, or -1.
static inline int
pg_cluster_role_uri (pg_cluster_t *c, const char *name, const char *role,
                     char *uri, size_t size)
{
    const char *args [] = { "uri", c->dir, name, "--role", role, NULL };
    return pg_cluster_output (c, args, uri, size);
}

//  Stops the server (fast: sessions are cut, as in a restart) and waits
//  until it is gone.  Returns 0, or -1.
static inline int
pg_cluster_down (pg_cluster_t *c)
{
    const char *args [] = { "stop", c->dir, NULL };
    int rc = pg_cluster_run (c, args);
    c->postmaster = 0;
    return rc == 0? 0: -1;
}

//  Stops the server at once, kills its postmaster by PID if it is still
//  there, and removes the dir.  Safe twice.
static inline void
pg_cluster_stop (pg_cluster_t *c)
{
    if (!c->dir [0])
        return;
    const char *args [] = { "stop", c->dir, "--immediate", NULL };
    pg_cluster_run (c, args);
    pid_t pid = c->postmaster? c->postmaster: pg_cluster_pid (c);
    if (pid > 0 && kill (pid, 0) == 0)
        kill (pid, SIGKILL);
    char log [PATH_MAX];
    snprintf (log, sizeof log, "%s.log", c->dir);
    unlink (log);
    ph_rmrf (c->dir);
    c->dir [0] = 0;
}

//  Runs a query returning one integer on uri.  Returns it, or -1.
static inline long long
pg_query_int (const char *uri, const char *sql)
{
    PGconn *conn = PQconnectdb (uri);
    long long value = -1;
    if (PQstatus (conn) == CONNECTION_OK) {
        PGresult *result = PQexec (conn, sql);
        if (PQresultStatus (result) == PGRES_TUPLES_OK && PQntuples (result) == 1
        &&  !PQgetisnull (result, 0, 0))
            value = atoll (PQgetvalue (result, 0, 0));
        PQclear (result);
    }
    PQfinish (conn);
    return value;
}

//  Runs a statement returning no rows on uri.  Returns 0, or -1.
static inline int
pg_query_exec (const char *uri, const char *sql)
{
    PGconn *conn = PQconnectdb (uri);
    int rc = -1;
    if (PQstatus (conn) == CONNECTION_OK) {
        PGresult *result = PQexec (conn, sql);
        rc = PQresultStatus (result) == PGRES_COMMAND_OK? 0: -1;
        PQclear (result);
    }
    PQfinish (conn);
    return rc;
}

#endif

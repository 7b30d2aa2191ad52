/*  store.c - the SQLite file every durable process keeps its state in
    Opening, the fair busy handler, the statement cache, transactions,
    savepoints, checkpoints.
*/
#include <assert.h>
#include <inttypes.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <czmq.h>
#include "store.h"

#define BUSY_LIMIT_MS    30000
#define BUSY_SLEEP_US    30             //  plus 0..49 us of jitter
#define FRONT_SLOTS      64             //  statements found by address

//  A statement found by the address of its SQL text: callers pass string
//  literals, and hashing a whole text in the cache costs about 1,100
//  instructions per statement (a tenth of a participant's request,
//  callgrind); this costs a pointer hash and one strcmp
typedef struct {
    const char *sql;
    sqlite3_stmt *stmt;
} front_t;

//  How often a wait for a lock calls the store's waiting function
#define WAITING_EVERY_MS    50

struct _store_t {
    sqlite3 *db;
    char *path;
    zhashx_t *statements;               //  SQL text -> sqlite3_stmt *
    front_t front [FRONT_SLOTS];        //  address of SQL text -> statement
    char savepoint_sql [3][128];        //  the last savepoint statement of
                                        //  each kind (s_savepoint_op)
    int64_t busy_limit_ms;
    int64_t busy_since;                 //  monotonic ms of the first BUSY
    store_waiting_fn *waiting;          //  called while we wait for a lock
    void *waiting_arg;
    int64_t waiting_called;             //  monotonic ms of its last call
    uint32_t random;                    //  xorshift state for the jitter
    bool in_transaction;                //  between store_begin and its end
    int wal_frames;                     //  WAL length after our last commit,
                                        //  0 after store_checkpoint
    int wal_seen;                       //  WAL length the hook last reported
    uint64_t commits;                   //  commits that wrote (the hook's calls)
    uint64_t frames_written;            //  frames the WAL grew by at them
    uint64_t restarts;                  //  RESTART checkpoints that completed
};

//  A checkpoint is worth its fsync only once the WAL has grown; SQLite's own
//  automatic threshold, moved off the commit path into idle turns
#define CHECKPOINT_FRAMES 1000

//  A PASSIVE checkpoint copies the WAL back but cannot make it restart
//  while another process on the file is always inside a transaction: the
//  WAL then grows for ever (two instances on one file took an inventory
//  WAL past 370 MB in 20 s).  Past this length a checkpoint waits, at most
//  RESTART_WAIT_MS, for the other connections' transactions to end, so the
//  next commit writes the WAL from its start again; JOURNAL_LIMIT_BYTES
//  then truncates the file back.  4096 frames are 16 MiB of 4 KiB pages.
#define RESTART_FRAMES 4096
#define RESTART_WAIT_MS 250
#define JOURNAL_LIMIT_BYTES "16777216"

//  sqlite3_wal_hook: told the WAL's length after each of our commits
static int
s_wal_hook (void *arg, sqlite3 *db, const char *name, int frames)
{
    (void) db;
    (void) name;
    store_t *self = (store_t *) arg;
    //  A shorter WAL than last time has restarted after a checkpoint: it
    //  holds only what was written since
    self->frames_written += (uint64_t) (frames >= self->wal_seen? frames - self->wal_seen: frames);
    self->wal_seen = frames;
    self->wal_frames = frames;
    self->commits++;
    return SQLITE_OK;
}

//  A cheap generator for the busy handler's jitter; quality is irrelevant,
//  it only has to keep two waiting processes out of lock-step.
static uint32_t
s_random (store_t *self)
{
    uint32_t x = self->random;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    self->random = x;
    return x;
}

//  SQLite calls this while another connection holds the lock we need.
//  Short sleeps with jitter keep two writers fair (the built-in handler
//  sleeps ever longer and starves one); we give up only after the limit.
static int
s_busy_handler (void *arg, int count)
{
    store_t *self = (store_t *) arg;
    int64_t now = zclock_mono ();
    if (count == 0)
        self->busy_since = now;
    else
    if (now - self->busy_since >= self->busy_limit_ms) {
        zsys_warning ("store: path=%s op=lock error=busy for %" PRId64 " ms",
                      self->path, now - self->busy_since);
        return 0;
    }
    //  a long wait must not silence the caller (a participant's heartbeats)
    if (self->waiting && now - self->waiting_called >= WAITING_EVERY_MS) {
        self->waiting_called = now;
        self->waiting (self->waiting_arg);
    }
    long us = BUSY_SLEEP_US + (long) (s_random (self) % 50);
    struct timespec pause = { 0, us * 1000 };
    nanosleep (&pause, NULL);
    return 1;
}


void
store_set_waiting (store_t *self, store_waiting_fn *fn, void *arg)
{
    assert (self);
    self->waiting = fn;
    self->waiting_arg = arg;
}

static void
s_statement_destroy (void **item_p)
{
    sqlite3_finalize ((sqlite3_stmt *) *item_p);
    *item_p = NULL;
}

int
store_fail (store_t *self, const char *op)
{
    assert (self);
    zsys_error ("store: path=%s op=%s error=%s", self->path, op,
                sqlite3_errmsg (self->db));
    return -1;
}

//  Switches the file to WAL.  The first switch of a new file needs an
//  exclusive lock, and SQLite answers BUSY there without calling the busy
//  handler: two instances of a service started together on a new file
//  collided in about one start in four.  So wait here, as the handler
//  would, up to the same limit.
static int
s_journal_wal (store_t *self)
{
    int64_t since = zclock_mono ();
    while (true) {
        sqlite3_stmt *stmt = NULL;
        int rc = sqlite3_prepare_v2 (self->db, "PRAGMA journal_mode = WAL", -1, &stmt, NULL);
        if (rc == SQLITE_OK)
            rc = sqlite3_step (stmt);
        if (rc == SQLITE_ROW) {
            const char *mode = (const char *) sqlite3_column_text (stmt, 0);
            if (!mode || strcmp (mode, "wal") != 0)
                zsys_warning ("store: path=%s op=journal_mode error=got %s, not wal",
                              self->path, mode? mode: "nothing");
            sqlite3_finalize (stmt);
            return 0;
        }
        sqlite3_finalize (stmt);
        if (((rc & 0xff) != SQLITE_BUSY && (rc & 0xff) != SQLITE_LOCKED)
        ||  zclock_mono () - since > self->busy_limit_ms)
            return store_fail (self, "journal_mode");
        zclock_sleep (1 + (int) (s_random (self) % 5));
    }
}

//  Sets the pragmas every store runs with
static int
s_configure (store_t *self, const store_options_t *opts)
{
    static const char *sync_sql [] = {
        "PRAGMA synchronous = FULL", "PRAGMA synchronous = NORMAL",
        "PRAGMA synchronous = OFF"
    };
    if (s_journal_wal (self))
        return -1;
    if ((unsigned) opts->sync > STORE_SYNC_OFF) {
        zsys_error ("store: path=%s op=open error=bad sync level %d",
                    self->path, (int) opts->sync);
        return -1;
    }
    if (store_exec (self, sync_sql [opts->sync])
    ||  store_exec (self, "PRAGMA wal_autocheckpoint = 0")
    ||  store_exec (self, "PRAGMA journal_size_limit = " JOURNAL_LIMIT_BYTES))
        return -1;
    sqlite3_wal_hook (self->db, s_wal_hook, self);
    return 0;
}

int
store_sync_parse (const char *name, store_sync_t *level)
{
    static const char *names [] = { "full", "normal", "off" };
    for (int i = 0; i < 3; i++)
        if (name && strcmp (name, names [i]) == 0) {
            *level = (store_sync_t) i;
            return 0;
        }
    return -1;
}

//  SQLite counts every allocation under a global mutex for
//  sqlite3_memory_used, which nothing here reads: 4% of the coordinator's
//  instructions and 7% of the inventory's (callgrind).  sqlite3_config works only before SQLite
//  initializes, that is before the process's first open, so the first
//  store turns it off; later calls are refused (SQLITE_MISUSE), harmlessly.
//  The same goes for statement journals (a write of several rows that may
//  fail half-way keeps the pages it changes, to undo them): held in memory
//  up to a spill size, SQLite allocates them in chunks of that size, 64
//  KiB by default, so every such statement made glibc grow and trim the
//  thread's arena (madvise, page faults: half of the inventory's CPU,
//  perf).  Never spilling gives 1 KiB chunks from the free lists; the
//  journals here hold a few pages.
static void
s_configure_sqlite (void)
{
    static bool configured = false;
    if (!configured) {
        sqlite3_config (SQLITE_CONFIG_MEMSTATUS, 0);
        sqlite3_config (SQLITE_CONFIG_STMTJRNL_SPILL, -1);
        configured = true;
    }
}

bool
store_path_durable (const char *path)
{
    assert (path);
    if (*path == 0 || strcmp (path, ":memory:") == 0)
        return false;
    //  A URI is only read as one with SQLITE_OPEN_URI or a build default;
    //  refuse the in-memory forms either way rather than depend on that
    if (strncmp (path, "file:", 5) == 0)
        return strstr (path, ":memory:") == NULL && strstr (path, "mode=memory") == NULL;
    return true;
}

store_t *
store_new (const char *path, const store_options_t *opts)
{
    assert (path);
    store_options_t defaults = { STORE_SYNC_FULL, 0 };
    if (!opts)
        opts = &defaults;
    if (!store_path_durable (path)) {
        zsys_error ("store: path=%s op=open error=not a file: commits would not outlive "
                    "the process", path);
        return NULL;
    }
    store_t *self = (store_t *) zmalloc (sizeof (store_t));
    self->path = strdup (path);
    self->statements = zhashx_new ();
    zhashx_set_destructor (self->statements, s_statement_destroy);
    self->busy_limit_ms = opts->busy_limit_ms? opts->busy_limit_ms: BUSY_LIMIT_MS;
    self->random = (uint32_t) getpid () * 2654435761u ^ (uint32_t) zclock_usecs ();
    if (self->random == 0)
        self->random = 1;

    s_configure_sqlite ();
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2 (path, &self->db, flags, NULL) != SQLITE_OK) {
        if (self->db)
            store_fail (self, "open");
        else
            zsys_error ("store: path=%s op=open error=out of memory", path);
        store_destroy (&self);
        return NULL;
    }
    sqlite3_extended_result_codes (self->db, 1);
    sqlite3_busy_handler (self->db, s_busy_handler, self);
    if (s_configure (self, opts)) {
        store_destroy (&self);
        return NULL;
    }
    return self;
}

void
store_destroy (store_t **self_p)
{
    assert (self_p);
    store_t *self = *self_p;
    if (!self)
        return;
    if (self->in_transaction)
        store_rollback (self);
    if (self->db) {
        store_stats_t stats;
        store_stats (self, &stats);
        zsys_info ("store: path=%s commits=%" PRIu64 " statements=%" PRIu64
                   " wal_frames=%" PRIu64 " wal_restarts=%" PRIu64, self->path,
                   stats.commits, stats.statements, stats.wal_frames, stats.wal_restarts);
    }
    zhashx_destroy (&self->statements);     //  finalizes before the close
    if (self->db && sqlite3_close (self->db) != SQLITE_OK)
        store_fail (self, "close");
    free (self->path);
    free (self);
    *self_p = NULL;
}

sqlite3 *
store_db (store_t *self)
{
    assert (self);
    return self->db;
}

const char *
store_path (store_t *self)
{
    assert (self);
    return self->path;
}

int
store_exec (store_t *self, const char *sql)
{
    assert (self);
    assert (sql);
    char *error = NULL;
    if (sqlite3_exec (self->db, sql, NULL, NULL, &error) == SQLITE_OK)
        return 0;
    zsys_error ("store: path=%s op=exec error=%s sql=\"%.60s\"", self->path,
                error? error: sqlite3_errmsg (self->db), sql);
    sqlite3_free (error);
    return -1;
}

sqlite3_stmt *
store_prepare (store_t *self, const char *sql)
{
    assert (self);
    assert (sql);
    //  The address may be a buffer reused for another text: the text the
    //  statement was prepared from decides
    front_t *front = &self->front [((uintptr_t) sql >> 3) % FRONT_SLOTS];
    sqlite3_stmt *stmt = front->sql == sql && strcmp (sqlite3_sql (front->stmt), sql) == 0
                       ? front->stmt: (sqlite3_stmt *) zhashx_lookup (self->statements, sql);
    if (stmt) {
        *front = (front_t) { sql, stmt };
        sqlite3_reset (stmt);
        sqlite3_clear_bindings (stmt);
        return stmt;
    }
    if (sqlite3_prepare_v3 (self->db, sql, -1, SQLITE_PREPARE_PERSISTENT,
                            &stmt, NULL) != SQLITE_OK) {
        zsys_error ("store: path=%s op=prepare error=%s sql=\"%.60s\"",
                    self->path, sqlite3_errmsg (self->db), sql);
        return NULL;
    }
    zhashx_insert (self->statements, sql, stmt);
    self->front [((uintptr_t) sql >> 3) % FRONT_SLOTS] = (front_t) { sql, stmt };
    return stmt;
}

int
store_step (store_t *self, sqlite3_stmt *stmt, const char *op)
{
    assert (self);
    assert (stmt);
    int rc = sqlite3_step (stmt);
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return rc;
    store_fail (self, op);
    sqlite3_reset (stmt);
    return -1;
}

int
store_done (store_t *self, sqlite3_stmt *stmt, const char *op)
{
    int rc;
    while ((rc = store_step (self, stmt, op)) == SQLITE_ROW)
        ;
    if (rc == -1)
        return -1;
    sqlite3_reset (stmt);
    return 0;
}

//  Runs one cached statement without parameters or results.
static int
s_run (store_t *self, const char *sql, const char *op)
{
    sqlite3_stmt *stmt = store_prepare (self, sql);
    return stmt? store_done (self, stmt, op): -1;
}

int
store_begin (store_t *self)
{
    assert (self);
    assert (!self->in_transaction);
    if (s_run (self, "BEGIN IMMEDIATE", "begin"))
        return -1;
    self->in_transaction = true;
    return 0;
}

int
store_commit (store_t *self)
{
    assert (self);
    if (s_run (self, "COMMIT", "commit"))
        return -1;
    self->in_transaction = false;
    return 0;
}

void
store_rollback (store_t *self)
{
    assert (self);
    if (!sqlite3_get_autocommit (self->db))
        s_run (self, "ROLLBACK", "rollback");
    self->in_transaction = false;
}

bool
store_in_transaction (store_t *self)
{
    assert (self);
    return self->in_transaction;
}

enum { SAVEPOINT_BEGIN, SAVEPOINT_RELEASE, SAVEPOINT_ROLLBACK };
static const char *s_verbs [] = { "SAVEPOINT", "RELEASE", "ROLLBACK TO" };

//  Runs "<verb> "name"" through the statement cache, so a savepoint per
//  request costs no parsing.  The text is kept per kind and rebuilt only
//  for another name: one name used for every request (the ledger's) keeps
//  one text at one address, which store_prepare finds without hashing.
static int
s_savepoint_op (store_t *self, int op, const char *name)
{
    assert (name);
    char *sql = self->savepoint_sql [op];
    size_t at = strlen (s_verbs [op]) + 2;     //  after <verb> and the quote
    size_t length = strlen (name);
    if (strncmp (sql + at, name, length) != 0 || strcmp (sql + at + length, "\"") != 0) {
        int size = snprintf (sql, sizeof self->savepoint_sql [op], "%s \"%s\"",
                             s_verbs [op], name);
        if (size < 0 || (size_t) size >= sizeof self->savepoint_sql [op]) {
            sql [0] = 0;
            zsys_error ("store: path=%s op=%s error=savepoint name too long",
                        self->path, s_verbs [op]);
            return -1;
        }
    }
    return s_run (self, sql, s_verbs [op]);
}

int
store_savepoint (store_t *self, const char *name)
{
    assert (self);
    if (self->in_transaction && sqlite3_get_autocommit (self->db)) {
        zsys_error ("store: path=%s op=savepoint error=transaction was rolled back",
                    self->path);
        return -1;
    }
    return s_savepoint_op (self, SAVEPOINT_BEGIN, name);
}

int
store_release (store_t *self, const char *name)
{
    assert (self);
    return s_savepoint_op (self, SAVEPOINT_RELEASE, name);
}

int
store_undo_to (store_t *self, const char *name)
{
    assert (self);
    return s_savepoint_op (self, SAVEPOINT_ROLLBACK, name);
}

int
store_rollback_to (store_t *self, const char *name)
{
    assert (self);
    if (store_undo_to (self, name))
        return -1;
    return store_release (self, name);
}

void
store_stats (store_t *self, store_stats_t *stats)
{
    assert (self);
    assert (stats);
    stats->commits = self->commits;
    stats->wal_frames = self->frames_written;
    stats->wal_restarts = self->restarts;
    //  SQLite counts each statement's runs itself: nothing on the hot path
    stats->statements = 0;
    for (sqlite3_stmt *stmt = (sqlite3_stmt *) zhashx_first (self->statements); stmt;
         stmt = (sqlite3_stmt *) zhashx_next (self->statements))
        stats->statements += (uint64_t) sqlite3_stmt_status (stmt, SQLITE_STMTSTATUS_RUN, 0);
}

int
store_checkpoint (store_t *self)
{
    assert (self);
    if (self->in_transaction || self->wal_frames < CHECKPOINT_FRAMES)
        return 0;                       //  can't copy our own pages / not worth it
    bool restart = self->wal_frames >= RESTART_FRAMES;
    //  the next commit reports the WAL's length again, restarted or not
    self->wal_frames = 0;
    int64_t busy_limit_ms = self->busy_limit_ms;
    if (restart)
        self->busy_limit_ms = RESTART_WAIT_MS;
    int rc = sqlite3_wal_checkpoint_v2 (self->db, NULL, restart? SQLITE_CHECKPOINT_RESTART:
                                        SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
    self->busy_limit_ms = busy_limit_ms;
    if (restart)
        self->restarts += rc == SQLITE_OK;
    //  BUSY: another process is checkpointing, or a RESTART did not get its
    //  turn in time; the next call tries again, as the WAL is still long
    if (rc == SQLITE_OK || rc == SQLITE_BUSY)
        return 0;
    return store_fail (self, "checkpoint");
}

int
store_user_version (store_t *self)
{
    assert (self);
    sqlite3_stmt *stmt = store_prepare (self, "PRAGMA user_version");
    if (!stmt || store_step (self, stmt, "user_version") != SQLITE_ROW)
        return -1;
    int version = sqlite3_column_int (stmt, 0);
    sqlite3_reset (stmt);
    return version;
}

int
store_set_user_version (store_t *self, int version)
{
    assert (self);
    assert (version >= 0);
    char sql [64];
    snprintf (sql, sizeof sql, "PRAGMA user_version = %d", version);
    return store_exec (self, sql);
}

int
store_schema (store_t *self, const char *sql, int version)
{
    assert (self);
    assert (sql);
    if (store_begin (self))
        return -1;
    int current = store_user_version (self);
    if (current > version)
        zsys_error ("store: path=%s op=schema error=version %d is newer than %d",
                    self->path, current, version);
    if (current < 0 || current > version
    ||  store_exec (self, sql)
    ||  store_set_user_version (self, version)
    ||  store_commit (self)) {
        store_rollback (self);
        return -1;
    }
    return 0;
}

void
store_bind_optional (sqlite3_stmt *stmt, int index, const char *text)
{
    if (text && *text)
        sqlite3_bind_text (stmt, index, text, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null (stmt, index);
}

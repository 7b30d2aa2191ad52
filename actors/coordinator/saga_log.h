/*  saga_log.h - the coordinator's durable saga log, over any backend
    Every saga's current state and its history; dedupe by checkout_id; recovery.

    The log is the coordinator's outbox record (docs/protocol.md, "Durability
    and recovery"): the actor opens one transaction per loop turn
    (saga_log_begin), persists every saga the turn changed, commits, and
    sends what must wait for the commit only then.  A saga is one record,
    written whole (saga_record.h encodes its cart and state).
    docs/saga-log.md has the layout and the reasons.

    A backend fills the operations of saga_log_t; the coordinator calls
    them through the saga_log_* functions below and never knows which
    backend it has.  saga_log_new chooses one by the --db value: a file
    path is SQLite (saga_log_sqlite.c: WAL, synchronous FULL, prepared
    statements cached), a libpq URI PostgreSQL (saga_log_pg.c: a turn's
    writes sent as one pipelined transaction).  One thread uses a log.
*/
#ifndef SAGA_LOG_H_INCLUDED
#define SAGA_LOG_H_INCLUDED

#include "store.h"
#include "saga_engine.h"
#include "leases.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SAGA_LOG_VERSION 2              //  version of the layout

typedef struct _saga_log_t saga_log_t;

//  Recovery's callback: takes ownership of saga (see each_active)
typedef void (saga_log_active_fn) (void *arg, saga_t *saga, uint64_t cart_digest);

//  list's callback: saga is borrowed for the call; returns false to stop
typedef bool (saga_log_list_fn) (void *arg, const saga_t *saga);

//  Which sagas list reads, by phase
typedef enum {
    SAGA_LOG_LIST_ALL = 0,
    SAGA_LOG_LIST_ACTIVE,               //  running or compensating
    SAGA_LOG_LIST_CONFIRMED,
    SAGA_LOG_LIST_FAILED
} saga_log_list_t;

//  A bound above every saga_id, for list's first page: identifiers are
//  made of characters below it (ck_id_valid)
#define SAGA_LOG_LIST_TOP "\x7f"

//  The operations of a backend; those returning int return 0 (or a count,
//  or 1 for found) and -1 after logging on failure.
struct _saga_log_t {
    //  Records that the log runs sagas of def, outside a transaction.  A
    //  log whose running sagas were started with another table is refused
    //  (it would read their steps wrong).
    int (*use_table) (saga_log_t *self, const saga_def_t *def);
    //  Opens the loop turn's transaction.
    int (*begin) (saga_log_t *self);
    //  Commits it: after 0, every persist of the turn is durable; after
    //  -1, call rollback.
    int (*commit) (saga_log_t *self);
    //  Abandons the turn's transaction, if one is open.  Can't fail (logs).
    void (*rollback) (saga_log_t *self);
    //  Inside a transaction, writes the saga's whole current state: a new
    //  record (with its cart and cart_digest, a fingerprint of the cart
    //  the actor computes) when created, else an update; history
    //  [0..history_count) is appended to the saga's bounded history first
    //  (saga->history_logged advances).  On -1 roll the turn back, except
    //  when a create failed because its checkout_id or saga_id is known,
    //  which writes nothing and leaves the transaction usable (check
    //  find_checkout first).
    int (*persist) (saga_log_t *self, saga_t *saga, bool created, uint64_t cart_digest,
                    const ck_history_entry_t *history, uint32_t history_count);
    //  Looks checkout_id up among every saga ever created: 1 when known
    //  (fills saga_id, CK_ID_SIZE bytes, and *cart_digest), 0 when not.
    int (*find_checkout) (saga_log_t *self, const char *checkout_id, char *saga_id,
                          uint64_t *cart_digest);
    //  Optional (NULL: nothing to gain): looks checkout_ids [0..count) up
    //  together, so that find_checkout answers them without a round trip
    //  until the next prefetch (count 0 forgets them), commit, rollback
    //  or expire.  The answers are what was committed at the prefetch:
    //  the caller must not ask find_checkout about a checkout it created
    //  since (the actor looks its own running sagas up first).  0, or -1
    //  (logged; find_checkout then asks the database).
    int (*prefetch) (saga_log_t *self, const char *const *checkout_ids, size_t count);
    //  Restores a saga as last persisted: a new saga owned by the caller,
    //  or NULL when unknown or on error (logged).
    saga_t *(*load) (saga_log_t *self, const char *saga_id);
    //  Recovery: restores every saga that is not terminal and passes each,
    //  with its cart_digest, to fn, which takes ownership.  All are read
    //  before the first call, so fn may use the log.  Returns how many.
    int (*each_active) (saga_log_t *self, saga_log_active_fn *fn, void *arg);
    //  Fills entries with up to max history entries of the saga, oldest
    //  first, and sets *total to how many it has.  When total > max,
    //  entries holds the first max / 2 and the last max - max / 2 (the log
    //  keeps only the first and last CK_MAX_HISTORY / 2 of a saga that
    //  retries for ever, so max is at most CK_MAX_HISTORY).  Returns the
    //  count filled (0 for an unknown saga, total 0).
    int (*history) (saga_log_t *self, const char *saga_id, ck_history_entry_t *entries,
                    uint32_t max, uint64_t *total);
    //  Housekeeping after a commit, outside a transaction (SQLite: a
    //  passive WAL checkpoint once the WAL is past its threshold).
    int (*checkpoint) (saga_log_t *self);
    //  Sets *count to the number of sagas in phase.  Cheap for RUNNING and
    //  COMPENSATING; may scan for the others, so not for every loop turn.
    int (*count) (saga_log_t *self, saga_phase_t phase, uint64_t *count);
    //  Retention, outside a transaction: deletes up to max (> 0) terminal
    //  sagas that ended before before_ms (wall-clock ms), oldest first, in
    //  a transaction of its own.  Never a running or compensating saga.
    //  Returns how many went (max: there may be more).
    int (*expire) (saga_log_t *self, uint64_t before_ms, int max);
    //  Operators' LIST, outside a transaction: restores the sagas `which`
    //  selects whose saga_id sorts (bytewise) before `before` (SAGA_LOG_LIST_TOP for
    //  the first page), greatest first, and passes each to fn until fn
    //  returns false or max (> 0) have been read.  Saga ids grow with time,
    //  so that is newest first.  Returns how many it read, or -1.
    int (*list) (saga_log_t *self, const char *before, saga_log_list_t which, int max,
                 saga_log_list_fn *fn, void *arg);
    //  Closes the log, rolling back an open transaction; nulls the pointer.
    void (*destroy) (saga_log_t **self_p);
    //  Optional (PostgreSQL): each_active for the sagas of partitions
    //  [0..count) only, for a coordinator that has just taken them.
    int (*each_active_in) (saga_log_t *self, const uint32_t *partitions, size_t count,
                           saga_log_active_fn *fn, void *arg);
    //  The partitions this coordinator holds when several share the log
    //  (PostgreSQL opened with saga_log_pg_open), else NULL: every commit
    //  is then fenced by their epochs, and list, load and find_checkout
    //  still read every partition.
    leases_t *leases;
};

//  Opens the log that db names, creating it if needed; options apply to
//  a SQLite file (NULL: defaults).  Returns a new log owned by the caller,
//  or NULL after logging why (also when the file's layout is another
//  version's).
saga_log_t *saga_log_new (const char *db, const store_options_t *options);

//  The SQLite backend, on the file at path.
saga_log_t *saga_log_sqlite_new (const char *path, const store_options_t *options);

//  The same, for the coordinator: *refused when another process has the
//  file open as its log (one coordinator per SQLite log; logged).
saga_log_t *saga_log_sqlite_open (const char *path, const store_options_t *options,
                                  bool *refused);

//  The PostgreSQL backend, in the database uri (a libpq URI) names, for
//  tools and tests: no leases, no fence, the partition count the log
//  records (CK_DEFAULT_PARTITIONS for a new one).
saga_log_t *saga_log_pg_new (const char *uri);

//  The PostgreSQL backend for a coordinator among several: records
//  member->partitions in a new log, and refuses a log that records
//  another count (*refused set: a one-line reason is logged); then
//  member takes part in the leases (log->leases), holding nothing until
//  its first leases_renew.  NULL after logging.
saga_log_t *saga_log_pg_open (const char *uri, const leases_member_t *member,
                              bool *refused);

//  Destroys the log; safe on NULL, nulls the pointer.
void saga_log_destroy (saga_log_t **self_p);

//  For a backend's use_table: may the log record the step table steps in
//  place of kept (the one it holds, "" for none)?  Returns 1 when they are
//  the same (nothing to write), 0 when steps is to be written, -1 when
//  refused (the log still runs sagas of kept; logged, naming the log as
//  where says, e.g. "path=coordinator.db") or the count failed.
int saga_log_table_change (saga_log_t *self, const char *where, const char *kept,
                           const char *steps);

//  The operations, called through the log (see saga_log_t)
static inline int
saga_log_use_table (saga_log_t *self, const saga_def_t *def)
{
    return self->use_table (self, def);
}

static inline int
saga_log_begin (saga_log_t *self)
{
    return self->begin (self);
}

static inline int
saga_log_commit (saga_log_t *self)
{
    return self->commit (self);
}

static inline void
saga_log_rollback (saga_log_t *self)
{
    self->rollback (self);
}

static inline int
saga_log_persist (saga_log_t *self, saga_t *saga, bool created, uint64_t cart_digest,
                  const ck_history_entry_t *history, uint32_t history_count)
{
    return self->persist (self, saga, created, cart_digest, history, history_count);
}

static inline int
saga_log_find_checkout (saga_log_t *self, const char *checkout_id, char *saga_id,
                        uint64_t *cart_digest)
{
    return self->find_checkout (self, checkout_id, saga_id, cart_digest);
}

static inline int
saga_log_prefetch (saga_log_t *self, const char *const *checkout_ids, size_t count)
{
    return self->prefetch? self->prefetch (self, checkout_ids, count): 0;
}

static inline saga_t *
saga_log_load (saga_log_t *self, const char *saga_id)
{
    return self->load (self, saga_id);
}

static inline int
saga_log_each_active (saga_log_t *self, saga_log_active_fn *fn, void *arg)
{
    return self->each_active (self, fn, arg);
}

//  each_active_in, or each_active when the log has no partitions
static inline int
saga_log_each_active_in (saga_log_t *self, const uint32_t *partitions, size_t count,
                         saga_log_active_fn *fn, void *arg)
{
    return self->each_active_in? self->each_active_in (self, partitions, count, fn, arg)
                               : self->each_active (self, fn, arg);
}

static inline int
saga_log_history (saga_log_t *self, const char *saga_id, ck_history_entry_t *entries,
                  uint32_t max, uint64_t *total)
{
    return self->history (self, saga_id, entries, max, total);
}

static inline int
saga_log_checkpoint (saga_log_t *self)
{
    return self->checkpoint (self);
}

static inline int
saga_log_count (saga_log_t *self, saga_phase_t phase, uint64_t *count)
{
    return self->count (self, phase, count);
}

static inline int
saga_log_expire (saga_log_t *self, uint64_t before_ms, int max)
{
    return self->expire (self, before_ms, max);
}

static inline int
saga_log_list (saga_log_t *self, const char *before, saga_log_list_t which, int max,
               saga_log_list_fn *fn, void *arg)
{
    return self->list (self, before, which, max, fn, arg);
}

#ifdef __cplusplus
}
#endif

#endif

/*  saga_log.h - the coordinator's durable saga log, in SQLite
    Every saga's current state and its history; dedupe by checkout_id; recovery.

    The log is the coordinator's outbox record (protocol.md §4, §7): the
    actor opens one transaction per loop turn (saga_log_begin), persists
    every saga the turn changed, commits, and only then sends the messages
    those transitions caused.  The cart of a saga is written once, when the
    saga is created; the hot path rewrites only a small state row and
    appends history rows.  docs/saga-log.md has the tables and the reasons.

    A log is one store (include/store.h): WAL, synchronous FULL, no
    automatic checkpoints (call saga_log_checkpoint after each commit),
    prepared statements cached.  One thread uses it.
*/
#ifndef SAGA_LOG_H_INCLUDED
#define SAGA_LOG_H_INCLUDED

#include "store.h"
#include "saga_engine.h"

#ifdef __cplusplus
extern "C" {
#endif

#define SAGA_LOG_VERSION 2              //  PRAGMA user_version of the schema

typedef struct _saga_log_t saga_log_t;

//  Opens (creating if needed) the log at path and brings its schema to
//  SAGA_LOG_VERSION; options as for store_new (NULL: defaults).  Returns a
//  new log owned by the caller, or NULL after logging why (also when the
//  file's schema is newer than this code).
saga_log_t *saga_log_new (const char *path, const store_options_t *options);

//  Closes the log, rolling back an open transaction; safe on NULL, nulls
//  the pointer.
void saga_log_destroy (saga_log_t **self_p);

//  Opens the loop turn's transaction (BEGIN IMMEDIATE).  Returns 0, or -1
//  after logging.
int saga_log_begin (saga_log_t *self);

//  Commits the turn's transaction: after 0, every persist of the turn is
//  durable.  Returns 0, or -1 after logging (then call saga_log_rollback).
int saga_log_commit (saga_log_t *self);

//  Abandons the turn's transaction, if one is open.  Can't fail (logs).
void saga_log_rollback (saga_log_t *self);

//  Inside a transaction, writes the saga's whole current state: a new row
//  (with its cart and cart_digest, a fingerprint of the cart the actor
//  computes) when created, else an update of its state; then appends
//  history [0..history_count), numbered per saga from saga->history_logged,
//  which it then advances (a restored saga has it from its row).  Returns
//  0, or -1 after logging: then roll the turn back, except when a create
//  failed because its checkout_id or saga_id is known, which writes
//  nothing and leaves the transaction usable (check find_checkout first).
int saga_log_persist (saga_log_t *self, saga_t *saga, bool created, uint64_t cart_digest,
                      const ck_history_entry_t *history, uint32_t history_count);

//  Looks checkout_id up among every saga ever created.  Returns 1 when
//  known (fills saga_id, CK_ID_SIZE bytes, and *cart_digest), 0 when not,
//  -1 after logging.
int saga_log_find_checkout (saga_log_t *self, const char *checkout_id, char *saga_id, uint64_t *cart_digest);

//  Restores a saga as it was last persisted.  Returns a new saga owned by
//  the caller, or NULL when the saga is unknown or on error (logged).
saga_t *saga_log_load (saga_log_t *self, const char *saga_id);

//  Recovery: restores every saga that is not terminal (RUNNING or
//  COMPENSATING) and passes each, with its cart_digest, to fn, which takes
//  ownership.  All are read before the first call, so fn may use the log.
//  Returns how many, or -1 after logging (then fn was not called).
typedef void (saga_log_active_fn) (void *arg, saga_t *saga, uint64_t cart_digest);
int saga_log_each_active (saga_log_t *self, saga_log_active_fn *fn, void *arg);

//  Fills entries with up to max history entries of the saga, oldest
//  first, and sets *total to how many it has.  When total > max, entries
//  holds the first max / 2 and the last max - max / 2, in that order (a
//  stuck saga can retry for ever: the log keeps only its first and last
//  CK_MAX_HISTORY / 2 entries, so max is at most CK_MAX_HISTORY).  Returns
//  the count filled (0 for an unknown saga, total 0), or -1 after logging.
int saga_log_history (saga_log_t *self, const char *saga_id, ck_history_entry_t *entries, uint32_t max,
                      uint64_t *total);

//  A passive WAL checkpoint once the WAL has grown past the store's
//  threshold (1000 frames); does nothing before, or inside a transaction.
//  Returns 0, or -1 after logging.
int saga_log_checkpoint (saga_log_t *self);

//  Sets *count to the number of sagas in phase.  Cheap for RUNNING and
//  COMPENSATING (an index of the active sagas); a scan of the table for
//  the others, so not for every loop turn.  Returns 0, or -1 after logging.
int saga_log_count (saga_log_t *self, saga_phase_t phase, uint64_t *count);

#ifdef __cplusplus
}
#endif

#endif

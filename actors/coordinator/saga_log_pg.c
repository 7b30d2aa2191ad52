/*  saga_log_pg.c - the saga log (saga_log.h) in a PostgreSQL database
    The same rows as SQLite's; a turn's writes go out as one pipelined batch.

    persist does no I/O: it encodes the saga and queues its row in the turn
    (saga_log_pg_turn.c), which makes of a turn's writes at most three
    statements, whatever the number of sagas.  commit sends BEGIN, the
    fence, those statements and COMMIT in one round trip (pg_batch), so a
    turn costs one round trip however many sagas it moved.  Reads
    (find_checkout, load, history) run at once on the idle connection and
    see what is committed; the actor never needs an uncommitted row back
    (it holds running sagas in memory and answers STATUS after the commit).

    Several coordinators may share the database (docs/coordinators.md):
    each saga row carries its partition, and a coordinator opened with
    saga_log_pg_open holds some partitions through leases (leases_pg.c).
    Its commit then starts with saga_log_fence, which locks the lease rows
    of the partitions the turn writes (FOR SHARE: a takeover waits for the
    commit) and fails the whole transaction unless this coordinator still
    holds each under the epoch it knows, unexpired on the server's clock.
*/
#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <czmq.h>
#include "pg.h"
#include "saga_log.h"
#include "saga_record.h"
#include "saga_log_pg_schema.h"
#include "saga_log_pg_turn.h"

#define ACTIVE SAGA_LOG_PG_ACTIVE
#define TERMINAL SAGA_LOG_PG_TERMINAL

#define SQL_SELECT_SAGA \
    "SELECT saga_id, phase, cart, state, cart_digest FROM sagas WHERE saga_id = $1"
#define SQL_SELECT_ACTIVE \
    "SELECT saga_id, phase, cart, state, cart_digest FROM sagas WHERE " ACTIVE
#define SQL_SELECT_ACTIVE_IN SQL_SELECT_ACTIVE " AND partition = ANY ($1::integer[])"
#define SQL_FENCE "SELECT saga_log_fence ($1, $2::integer[], $3::bigint[])"
#define SQL_FIND_CHECKOUT \
    "SELECT saga_id, cart_digest FROM sagas WHERE checkout_id = $1"
#define SQL_FIND_CHECKOUTS \
    "SELECT checkout_id, saga_id, cart_digest FROM sagas WHERE checkout_id = ANY ($1::text[])"
#define SQL_SELECT_STATE "SELECT state FROM sagas WHERE saga_id = $1"
#define SQL_COUNT "SELECT count (*) FROM sagas WHERE phase = $1"
//  The oldest ends, at most $2, and their sagas if terminal, in one
//  statement (one round trip, its own transaction)
#define SQL_EXPIRE_OF(where) \
    "WITH ends AS (DELETE FROM saga_ends WHERE (ended_ms, saga_id) IN" \
    " (SELECT ended_ms, saga_id FROM saga_ends WHERE ended_ms < $1" where \
    " ORDER BY ended_ms LIMIT $2) RETURNING saga_id)," \
    " gone AS (DELETE FROM sagas WHERE saga_id IN (SELECT saga_id FROM ends)" \
    " AND " TERMINAL " RETURNING 1)" \
    " SELECT count (*) FROM gone"
#define SQL_EXPIRE SQL_EXPIRE_OF ("")
//  A coordinator among several expires the sagas of its own partitions
#define SQL_EXPIRE_IN SQL_EXPIRE_OF (" AND partition = ANY ($3::integer[])")
//  list: newest first from a cursor, bytewise as in SQLite (the database's
//  own collation may sort ids otherwise): sagas_list is that order, so a
//  page reads its index down from the cursor and stops after $2 rows that
//  match (it only ever adds an index entry on insert: saga_id never
//  changes, and updates stay HOT)
#define LIST_COLUMNS "SELECT saga_id, phase, cart, state, cart_digest FROM sagas"
#define LIST_ORDER " ORDER BY saga_id COLLATE \"C\" DESC LIMIT $2"
#define SQL_LIST_ALL \
    LIST_COLUMNS " WHERE saga_id COLLATE \"C\" < $1" LIST_ORDER
#define SQL_LIST_ACTIVE \
    LIST_COLUMNS " WHERE " ACTIVE " AND saga_id COLLATE \"C\" < $1" LIST_ORDER
#define SQL_LIST_PHASE \
    LIST_COLUMNS " WHERE saga_id COLLATE \"C\" < $1 AND phase = $3" LIST_ORDER
#define SQL_COUNT_ACTIVE "SELECT count (*) FROM sagas WHERE " ACTIVE " AND phase = $1"

typedef struct {
    saga_log_t ops;                     //  first: the saga_log_t * is this
    pg_t *pg;
    bool in_turn;                       //  begin was called, commit not yet
    saga_log_pg_turn_t *turn;           //  the turn's writes
    ck_buf_t cart, state;               //  the saga being encoded
    zhashx_t *prefetched;               //  checkout_id -> found_t, or NULL
    uint32_t count;                     //  partitions
    bool *touched;                      //  [count]: the turn writes to it
    uint32_t *touched_list;
    size_t touched_count;
    char *fence_parts, *fence_epochs;   //  the fence's arrays, as texts
} saga_log_pg_t;

static void s_found_destroy (void **item_p);

//  A prefetched answer of find_checkout (valid while the actor reads a
//  turn's messages: commit, rollback and expire forget them all)
typedef struct {
    bool known;
    char saga_id [CK_ID_SIZE];
    uint64_t cart_digest;
} found_t;

//  Forgets the turn's writes, keeping the storage
static void
s_turn_clear (saga_log_pg_t *self)
{
    saga_log_pg_turn_clear (self->turn);
    for (size_t index = 0; index < self->touched_count; index++)
        self->touched [self->touched_list [index]] = false;
    self->touched_count = 0;
}

//  Notes that the turn writes to the saga's partition; returns it
static uint32_t
s_touch (saga_log_pg_t *self, const char *checkout_id)
{
    uint32_t partition = ck_partition_of (checkout_id, self->count);
    if (!self->touched [partition]) {
        self->touched [partition] = true;
        self->touched_list [self->touched_count++] = partition;
    }
    return partition;
}

//  The fence: this coordinator, the partitions the turn writes and the
//  epochs it holds them under, as array texts (the buffers hold any
//  number of partitions up to the count)
static void
s_fence (saga_log_pg_t *self, pg_statement_t *fence)
{
    size_t at = 0, epochs_at = 0;
    char *parts = self->fence_parts, *epochs = self->fence_epochs;
    parts [at++] = epochs [epochs_at++] = '{';
    for (size_t index = 0; index < self->touched_count; index++) {
        uint32_t partition = self->touched_list [index];
        at += (size_t) sprintf (parts + at, "%s%u", index? ",": "", partition);
        epochs_at += (size_t) sprintf (epochs + epochs_at, "%s%" PRId64, index? ",": "",
                                       leases_epoch (self->ops.leases, partition));
    }
    memcpy (parts + at, "}", 2);
    memcpy (epochs + epochs_at, "}", 2);
    *fence = (pg_statement_t) { .sql = SQL_FENCE, .count = 3 };
    fence->values [0] = leases_instance (self->ops.leases);
    fence->values [1] = parts;
    fence->values [2] = epochs;
}


static void
s_destroy (saga_log_t **self_p)
{
    assert (self_p);
    saga_log_pg_t *self = (saga_log_pg_t *) *self_p;
    if (!self)
        return;
    pg_destroy (&self->pg);
    saga_log_pg_turn_destroy (&self->turn);
    free (self->fence_parts);
    free (self->fence_epochs);
    ck_buf_free (&self->cart);
    ck_buf_free (&self->state);
    zhashx_destroy (&self->prefetched);
    leases_destroy (&self->ops.leases);
    free (self->touched);
    free (self->touched_list);
    free (self);
    *self_p = NULL;
}


//  Opens the turn: writes are only queued until commit.

static int
s_begin (saga_log_t *base)
{
    saga_log_pg_t *self = (saga_log_pg_t *) base;
    assert (self && !self->in_turn);
    if (pg_ready (self->pg))
        return -1;
    s_turn_clear (self);
    self->in_turn = true;
    return 0;
}


//  Sends the turn's writes in one transaction, one round trip; 0 or -1.

static int
s_commit (saga_log_t *base)
{
    saga_log_pg_t *self = (saga_log_pg_t *) base;
    assert (self && self->in_turn);
    self->in_turn = false;
    zhashx_purge (self->prefetched);
    if (saga_log_pg_turn_empty (self->turn)) {
        s_turn_clear (self);
        return 0;
    }
    //  the fence goes first, its partitions known now
    pg_statement_t batch [1 + SAGA_LOG_PG_TURN_STATEMENTS];
    int count = 0;
    if (self->ops.leases)
        s_fence (self, &batch [count++]);
    int writes = saga_log_pg_turn_statements (self->turn, batch + count);
    if (writes < 0) {
        s_turn_clear (self);
        zsys_error ("saga_log: db=%s op=commit error=out of memory", pg_name (self->pg));
        return -1;
    }
    int rc = pg_batch (self->pg, batch, (size_t) (count + writes), "commit");
    s_turn_clear (self);
    if (rc && streq (pg_sqlstate (self->pg), SAGA_LOG_PG_FENCED))
        zsys_warning ("saga_log: db=%s op=commit fenced: a partition of the turn is no"
                      " longer this coordinator's; nothing of the turn was written",
                      pg_name (self->pg));
    return rc;
}


//  Drops the turn's queued writes.  Can't fail.

static void
s_rollback (saga_log_t *base)
{
    saga_log_pg_t *self = (saga_log_pg_t *) base;
    assert (self);
    self->in_turn = false;
    zhashx_purge (self->prefetched);
    s_turn_clear (self);
    pg_rollback (self->pg);
}

//  Queues the saga's insert or update: saga_id, state and reason (and the
//  phase when it changed, the cart columns when created); -1 when out of
//  memory
static int
s_queue (saga_log_pg_t *self, const saga_t *saga, bool created, uint64_t cart_digest)
{
    uint32_t partition = s_touch (self, saga->checkout_id);
    saga_log_pg_row_t row = {
        .saga_id = saga->saga_id,
        .state = self->state.data, .state_size = self->state.size,
        .phase = saga_phase_name (saga->phase),
        .reason = saga->reason? saga->reason->code: NULL,
        .checkout_id = saga->checkout_id,
        .cart_digest = (int64_t) cart_digest,
        .cart = self->cart.data, .cart_size = self->cart.size,
        .partition = partition
    };
    int rc = created? saga_log_pg_turn_insert (self->turn, &row)
                    : saga_log_pg_turn_update (self->turn, &row);
    if (!rc && saga_record_ends (saga, created))
        rc = saga_log_pg_turn_ended (self->turn, zclock_time (), saga->saga_id, partition);
    return rc;
}


//  Queues the saga's row with its history appended; 0 or -1.

static int
s_persist (saga_log_t *base, saga_t *saga, bool created, uint64_t cart_digest,
           const ck_history_entry_t *history, uint32_t history_count)
{
    saga_log_pg_t *self = (saga_log_pg_t *) base;
    assert (self && self->in_turn);
    assert (saga);
    assert (history_count == 0 || history);
    if (created && saga_record_cart (saga, &self->cart)) {
        zsys_error ("saga_log: db=%s op=insert saga=%s error=the cart does not encode"
                    " as a CHECKOUT", pg_name (self->pg), saga->saga_id);
        return -1;
    }
    if (saga_record_append (saga, history, history_count)) {
        zsys_error ("saga_log: db=%s op=persist saga=%s error=out of memory",
                    pg_name (self->pg), saga->saga_id);
        return -1;
    }
    saga->history_logged += history_count;
    if (saga_record_state (saga, &self->state)
    ||  s_queue (self, saga, created, cart_digest)) {
        zsys_error ("saga_log: db=%s op=persist saga=%s error=out of memory",
                    pg_name (self->pg), saga->saga_id);
        return -1;
    }
    saga->phase_logged = saga->phase;
    return 0;
}


//  Looks checkout_id up; 1 known (fills saga_id, cart_digest), 0 not, -1.

static void
s_found_destroy (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

//  Keeps found's answer for checkout_id; false when out of memory
static bool
s_found_keep (saga_log_pg_t *self, const char *checkout_id, const char *saga_id,
              uint64_t cart_digest)
{
    found_t *found = (found_t *) calloc (1, sizeof (found_t));
    if (!found)
        return false;
    size_t length = saga_id? strlen (saga_id): 0;
    found->known = saga_id != NULL;
    if (length > CK_ID_MAX)
        found->known = false, length = 0;   //  find_checkout asks and says why
    memcpy (found->saga_id, saga_id? saga_id: "", length);
    found->cart_digest = cart_digest;
    zhashx_update (self->prefetched, checkout_id, found);
    return length > 0 || !saga_id;
}

//  One query for every id; the ids are ids (docs/protocol.md#limits): no quoting
//  beyond the double quotes
static int
s_prefetch (saga_log_t *base, const char *const *checkout_ids, size_t count)
{
    saga_log_pg_t *self = (saga_log_pg_t *) base;
    assert (self);
    zhashx_purge (self->prefetched);
    if (count == 0)
        return 0;
    char *array = (char *) malloc (count * (CK_ID_SIZE + 3) + 3);
    if (!array)
        return -1;
    size_t at = 0;
    array [at++] = '{';
    for (size_t index = 0; index < count; index++)
        at += (size_t) sprintf (array + at, "%s\"%s\"", index? ",": "", checkout_ids [index]);
    array [at++] = '}';
    array [at] = 0;
    const char *values [] = { array };
    PGresult *result = pg_query (self->pg, SQL_FIND_CHECKOUTS, 1, values, "find_checkouts");
    free (array);
    bool kept = result != NULL;
    for (size_t index = 0; kept && index < count; index++)
        kept = s_found_keep (self, checkout_ids [index], NULL, 0);
    for (int row = 0; kept && row < PQntuples (result); row++)
        kept = s_found_keep (self, PQgetvalue (result, row, 0), PQgetvalue (result, row, 1),
                             (uint64_t) strtoll (PQgetvalue (result, row, 2), NULL, 10));
    PQclear (result);
    if (!kept)
        zhashx_purge (self->prefetched);
    return kept? 0: -1;
}

static int
s_find_checkout (saga_log_t *base, const char *checkout_id, char *saga_id, uint64_t *cart_digest)
{
    saga_log_pg_t *self = (saga_log_pg_t *) base;
    assert (self);
    assert (checkout_id && saga_id && cart_digest);
    found_t *prefetched = (found_t *) zhashx_lookup (self->prefetched, checkout_id);
    if (prefetched && !prefetched->known)
        return 0;
    if (prefetched) {
        memcpy (saga_id, prefetched->saga_id, CK_ID_SIZE);
        *cart_digest = prefetched->cart_digest;
        return 1;
    }
    const char *values [] = { checkout_id };
    PGresult *result = pg_query (self->pg, SQL_FIND_CHECKOUT, 1, values, "find_checkout");
    if (!result)
        return -1;
    int found = PQntuples (result) > 0? 1: 0;
    if (found) {
        const char *text = PQgetvalue (result, 0, 0);
        size_t length = strlen (text);
        if (length == 0 || length > CK_ID_MAX) {
            zsys_error ("saga_log: db=%s op=find_checkout checkout=%s error=invalid saga_id",
                        pg_name (self->pg), checkout_id);
            found = -1;
        }
        else {
            memcpy (saga_id, text, length + 1);
            *cart_digest = (uint64_t) strtoll (PQgetvalue (result, 0, 1), NULL, 10);
        }
    }
    PQclear (result);
    return found;
}

//  A bytea column of a text result, decoded: owned by the caller (free
//  with PQfreemem), NULL when out of memory
static unsigned char *
s_bytea (PGresult *result, int row, int column, size_t *size)
{
    *size = 0;
    return PQunescapeBytea ((const unsigned char *) PQgetvalue (result, row, column), size);
}

//  Restores the saga in row (SQL_SELECT_SAGA's columns); NULL after logging
static saga_t *
s_row_saga (saga_log_pg_t *self, PGresult *result, int row)
{
    const char *saga_id = PQgetvalue (result, row, 0);
    const char *phase_name = PQgetvalue (result, row, 1);
    int phase = -1;
    for (int index = SAGA_NEW; index <= SAGA_FAILED; index++)
        if (strcmp (phase_name, saga_phase_name ((saga_phase_t) index)) == 0)
            phase = index;
    const char *why = "invalid saga_id or phase";
    size_t cart_size, state_size;
    unsigned char *cart = s_bytea (result, row, 2, &cart_size);
    unsigned char *state = s_bytea (result, row, 3, &state_size);
    saga_t *saga = NULL;
    if (!cart || !state)
        why = "out of memory";
    else
    if (ck_id_valid (saga_id, strlen (saga_id)) && phase >= 0)
        saga = saga_record_restore (saga_id, (saga_phase_t) phase, cart, cart_size,
                                    state, state_size, &why);
    PQfreemem (cart);
    PQfreemem (state);
    if (!saga)
        zsys_error ("saga_log: db=%s op=load saga=%.64s error=%s",
                    pg_name (self->pg), saga_id, why);
    return saga;
}


//  Restores one saga, owned by the caller; NULL when unknown or on error.

static saga_t *
s_load (saga_log_t *base, const char *saga_id)
{
    saga_log_pg_t *self = (saga_log_pg_t *) base;
    assert (self && saga_id);
    const char *values [] = { saga_id };
    PGresult *result = pg_query (self->pg, SQL_SELECT_SAGA, 1, values, "load");
    saga_t *saga = result && PQntuples (result) == 1? s_row_saga (self, result, 0): NULL;
    PQclear (result);
    return saga;
}


//  Passes every active saga, restored, to fn; how many, or -1.

static int
s_each_active_of (saga_log_pg_t *self, const char *partitions, saga_log_active_fn *fn,
                  void *arg)
{
    const char *values [] = { partitions };
    PGresult *result = partitions
        ? pg_query (self->pg, SQL_SELECT_ACTIVE_IN, 1, values, "each_active")
        : pg_query (self->pg, SQL_SELECT_ACTIVE, 0, NULL, "each_active");
    if (!result)
        return -1;
    int rows = PQntuples (result);
    saga_t **sagas = (saga_t **) calloc ((size_t) rows + 1, sizeof (saga_t *));
    int row = 0;
    while (sagas && row < rows && (sagas [row] = s_row_saga (self, result, row)))
        row++;
    if (!sagas || row < rows) {
        while (sagas && row > 0)
            saga_destroy (&sagas [--row]);
        free (sagas);
        PQclear (result);
        zsys_error ("saga_log: db=%s op=each_active error=recovery read failed",
                    pg_name (self->pg));
        return -1;
    }
    //  all read before the first call: fn may use the log
    for (row = 0; row < rows; row++)
        fn (arg, sagas [row], (uint64_t) strtoll (PQgetvalue (result, row, 4), NULL, 10));
    free (sagas);
    PQclear (result);
    return rows;
}

static int
s_each_active (saga_log_t *base, saga_log_active_fn *fn, void *arg)
{
    saga_log_pg_t *self = (saga_log_pg_t *) base;
    assert (self && fn);
    return s_each_active_of (self, NULL, fn, arg);
}

//  "{a,b,c}" of partitions [0..count): a new string, or NULL when out of
//  memory
static char *
s_partition_array (const uint32_t *partitions, size_t count)
{
    char *array = (char *) malloc (count * 12 + 3);
    if (!array)
        return NULL;
    size_t at = 0;
    array [at++] = '{';
    for (size_t index = 0; index < count; index++)
        at += (size_t) sprintf (array + at, "%s%u", index? ",": "", partitions [index]);
    memcpy (array + at, "}", 2);
    return array;
}

//  The active sagas of some partitions only: a coordinator taking them over
static int
s_each_active_in (saga_log_t *base, const uint32_t *partitions, size_t count,
                  saga_log_active_fn *fn, void *arg)
{
    saga_log_pg_t *self = (saga_log_pg_t *) base;
    assert (self && fn && (count == 0 || partitions));
    if (count == 0)
        return 0;
    char *array = s_partition_array (partitions, count);
    int rc = array? s_each_active_of (self, array, fn, arg): -1;
    free (array);
    return rc;
}


//  Fills up to max history entries, first and last halves; count or -1.

static int
s_history (saga_log_t *base, const char *saga_id, ck_history_entry_t *entries, uint32_t max,
           uint64_t *total)
{
    saga_log_pg_t *self = (saga_log_pg_t *) base;
    assert (self && saga_id && total);
    assert (max == 0 || entries);
    *total = 0;
    const char *values [] = { saga_id };
    PGresult *result = pg_query (self->pg, SQL_SELECT_STATE, 1, values, "history");
    if (!result)
        return -1;
    int count = 0;
    if (PQntuples (result) == 1) {
        size_t size;
        const char *why = "out of memory";
        unsigned char *state = s_bytea (result, 0, 0, &size);
        count = state? saga_record_history (state, size, entries, max, total, &why): -1;
        if (count < 0)
            zsys_error ("saga_log: db=%s op=history saga=%.64s error=%s",
                        pg_name (self->pg), saga_id, why);
        PQfreemem (state);
    }
    PQclear (result);
    return count;
}


//  Nothing to do: the server checkpoints and vacuums on its own.

static int
s_checkpoint (saga_log_t *base)
{
    (void) base;
    return 0;
}


//  Counts the sagas in phase; 0 or -1.

//  One page of LIST, newest first from before; rows read, or -1.

static int
s_list (saga_log_t *base, const char *before, saga_log_list_t which, int max,
        saga_log_list_fn *fn, void *arg)
{
    saga_log_pg_t *self = (saga_log_pg_t *) base;
    assert (self && before && fn && max > 0);
    char limit [16];
    snprintf (limit, sizeof limit, "%d", max);
    const char *phase = saga_phase_name (which == SAGA_LOG_LIST_CONFIRMED
                                         ? SAGA_CONFIRMED: SAGA_FAILED);
    const char *values [] = { before, limit, phase };
    const char *sql = which == SAGA_LOG_LIST_ALL? SQL_LIST_ALL
                    : which == SAGA_LOG_LIST_ACTIVE? SQL_LIST_ACTIVE: SQL_LIST_PHASE;
    int count = which == SAGA_LOG_LIST_ALL || which == SAGA_LOG_LIST_ACTIVE? 2: 3;
    PGresult *result = pg_query (self->pg, sql, count, values, "list");
    if (!result)
        return -1;
    int rows = PQntuples (result);
    bool more = true;
    count = 0;
    while (more && count < rows) {
        saga_t *saga = s_row_saga (self, result, count);
        if (!saga) {
            count = -1;
            break;
        }
        count++;
        more = fn (arg, saga);
        saga_destroy (&saga);
    }
    PQclear (result);
    return count;
}


static int
s_count (saga_log_t *base, saga_phase_t phase, uint64_t *count)
{
    saga_log_pg_t *self = (saga_log_pg_t *) base;
    assert (self && count);
    bool active = phase == SAGA_RUNNING || phase == SAGA_COMPENSATING;
    const char *values [] = { saga_phase_name (phase) };
    PGresult *result = pg_query (self->pg, active? SQL_COUNT_ACTIVE: SQL_COUNT, 1, values,
                                 "count");
    if (!result)
        return -1;
    *count = (uint64_t) strtoull (PQgetvalue (result, 0, 0), NULL, 10);
    PQclear (result);
    return 0;
}


//  Deletes up to max terminal sagas that ended before before_ms, oldest
//  first; how many, or -1.

static int
s_expire (saga_log_t *base, uint64_t before_ms, int max)
{
    saga_log_pg_t *self = (saga_log_pg_t *) base;
    assert (self && !self->in_turn);
    assert (max > 0);
    zhashx_purge (self->prefetched);
    char before [24], limit [24];
    char *held = NULL;
    if (self->ops.leases) {
        uint32_t *partitions = (uint32_t *) calloc (self->count, sizeof (uint32_t));
        size_t count = 0;
        for (uint32_t partition = 0; partitions && partition < self->count; partition++)
            if (leases_held (self->ops.leases, partition))
                partitions [count++] = partition;
        held = partitions? s_partition_array (partitions, count): NULL;
        free (partitions);
        if (!held)
            return -1;
        if (count == 0) {
            free (held);
            return 0;
        }
    }
    const char *values [] = { pg_int (before, (int64_t) before_ms), pg_int (limit, max), held };
    if (pg_ready (self->pg)) {
        free (held);
        return -1;
    }
    PGresult *result = held? pg_query (self->pg, SQL_EXPIRE_IN, 3, values, "expire")
                           : pg_query (self->pg, SQL_EXPIRE, 2, values, "expire");
    free (held);
    if (!result)
        return -1;
    int count = atoi (PQgetvalue (result, 0, 0));
    PQclear (result);
    return count;
}


//  The step table the log's sagas run; refused when running sagas were
//  started with another (see saga_log_sqlite.c).

static int
s_use_table (saga_log_t *base, const saga_def_t *def)
{
    saga_log_pg_t *self = (saga_log_pg_t *) base;
    assert (self && def);
    char steps [1024], kept [1024] = "";
    if (saga_def_describe (def, steps, sizeof steps))
        return -1;
    PGresult *result = pg_query (self->pg, "SELECT steps FROM saga_table", 0, NULL, "saga_table");
    if (!result)
        return -1;
    if (PQntuples (result) == 1)
        snprintf (kept, sizeof kept, "%s", PQgetvalue (result, 0, 0));
    PQclear (result);
    char where [300];
    snprintf (where, sizeof where, "db=%s", pg_name (self->pg));
    int change = saga_log_table_change (base, where, kept, steps);
    if (change != 0)
        return change > 0? 0: -1;
    const char *values [] = { steps };
    result = pg_query (self->pg, "INSERT INTO saga_table (id, steps) VALUES (1, $1)"
                       " ON CONFLICT (id) DO UPDATE SET steps = excluded.steps", 1, values,
                       "saga_table");
    PQclear (result);
    return result? 0: -1;
}

//  Opens the log in the database uri names; NULL after logging.
static saga_log_t *
s_open (const char *uri, const leases_member_t *member, bool *refused)
{
    assert (uri);
    saga_log_pg_t *self = (saga_log_pg_t *) zmalloc (sizeof (saga_log_pg_t));
    self->prefetched = zhashx_new ();
    zhashx_set_destructor (self->prefetched, s_found_destroy);
    self->turn = saga_log_pg_turn_new ();
    self->ops = (saga_log_t) {
        s_use_table, s_begin, s_commit, s_rollback, s_persist, s_find_checkout, s_prefetch,
        s_load, s_each_active, s_history, s_checkpoint, s_count, s_expire, s_list, s_destroy,
        s_each_active_in, NULL
    };
    self->pg = pg_new (uri, "checkout-coordinator");
    if (!self->turn || !self->pg
    ||  saga_log_pg_schema (self->pg, member? member->partitions: 0, &self->count, refused)) {
        if (self->pg)
            pg_rollback (self->pg);
        zsys_error ("saga_log: db=%s op=open error=cannot open the log",
                    self->pg? pg_name (self->pg): "(the --db URI)");
        saga_log_t *base = &self->ops;
        s_destroy (&base);
        return NULL;
    }
    self->touched = (bool *) zmalloc (self->count * sizeof (bool));
    self->touched_list = (uint32_t *) zmalloc (self->count * sizeof (uint32_t));
    self->fence_parts = (char *) zmalloc (self->count * 12 + 3);
    self->fence_epochs = (char *) zmalloc (self->count * 22 + 3);
    if (member)
        self->ops.leases = leases_new (self->pg, member);
    return &self->ops;
}

saga_log_t *
saga_log_pg_new (const char *uri)
{
    bool refused = false;
    return s_open (uri, NULL, &refused);
}

saga_log_t *
saga_log_pg_open (const char *uri, const leases_member_t *member, bool *refused)
{
    assert (member && refused);
    *refused = false;
    return s_open (uri, member, refused);
}

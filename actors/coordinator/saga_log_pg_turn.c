/*  saga_log_pg_turn.c - a turn's writes to the saga log on PostgreSQL
    Queued per saga, sent as at most three array statements however many.

    A statement costs the server a parse of its message, a bind, an
    executor start and a function call per row it checks; a turn moving
    200 sagas as 200 statements paid that 200 times.  Here the turn keeps
    one row per saga (a later transition of the same saga replaces its
    columns: every write carries the whole state, so only the last counts)
    and sends each column as one array in PostgreSQL's binary array format
    (no quoting or escaping of the state blobs, no hex on the wire): one
    INSERT ... unnest for the new sagas, one UPDATE ... FROM unnest for the
    others, one INSERT ... unnest into saga_ends.

    The UPDATE is a server function, saga_log_update: it counts the rows it
    changed and raises (saga_log_updated, P0002) with the first saga it
    missed when the count falls short, since an update of a saga the log
    does not have is a bug and must fail the turn's COMMIT, which is sent
    before any result is read; and its plan is made with scans and hash
    joins off, because the one PostgreSQL keeps for a prepared join is
    made for the table as it was: made while the log was small, it scans
    the whole table every turn after.
*/
#include <assert.h>
#include <limits.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <czmq.h>
#include "saga_log_pg_turn.h"

#define SQL_INSERT \
    "INSERT INTO sagas (saga_id, state, phase, reason_code, checkout_id, cart_digest, cart," \
    " partition) SELECT * FROM unnest ($1::text[], $2::bytea[], $3::text[], $4::text[]," \
    " $5::text[], $6::bigint[], $7::bytea[], $8::integer[])"
//  saga_log_update (saga_log_pg_schema.c): the UPDATE ... FROM unnest,
//  failing on a missing saga, its plan made to look each saga up by key
#define SQL_UPDATE \
    "SELECT saga_log_update ($1::text[], $2::bytea[], $3::text[], $4::text[])"
#define SQL_ENDED \
    "INSERT INTO saga_ends (ended_ms, saga_id, partition)" \
    " SELECT * FROM unnest ($1::bigint[], $2::text[], $3::integer[])"

//  The element types of the arrays (pg_type.oid, fixed since 8.x)
#define OID_BYTEA 17
#define OID_INT8 20
#define OID_INT4 23
#define OID_TEXT 25

//  Bytes in the arena; size -1 is SQL NULL
typedef struct {
    size_t offset;
    int size;
} span_t;

typedef struct {
    span_t saga_id, state, phase, reason;
    span_t checkout_id, cart;           //  created only
    int64_t cart_digest;
    uint32_t partition;
    bool created;
} row_t;

typedef struct {
    int64_t ended_ms;
    span_t saga_id;
    uint32_t partition;
} end_t;

//  A growable byte buffer; failed once it could not grow
typedef struct {
    char *data;
    size_t size, capacity;
    bool failed;
} bytes_t;

struct _saga_log_pg_turn_t {
    row_t *rows;
    size_t row_count, row_size, created;
    end_t *ends;
    size_t end_count, end_size;
    zhashx_t *index;                    //  saga_id -> row index + 1
    bytes_t arena;                      //  the rows' bytes
    bytes_t out;                        //  the statements' arrays
};

//  Makes room for size more bytes; false when out of memory
static bool
s_room (bytes_t *bytes, size_t size)
{
    if (bytes->failed)
        return false;
    if (bytes->size + size > bytes->capacity) {
        size_t wanted = bytes->capacity? bytes->capacity * 2: 64 * 1024;
        while (wanted < bytes->size + size)
            wanted *= 2;
        char *larger = (char *) realloc (bytes->data, wanted);
        if (!larger) {
            bytes->failed = true;
            return false;
        }
        bytes->data = larger;
        bytes->capacity = wanted;
    }
    return true;
}

static void
s_put (bytes_t *bytes, const void *data, size_t size)
{
    if (size && s_room (bytes, size)) {
        memcpy (bytes->data + bytes->size, data, size);
        bytes->size += size;
    }
}

//  Integers go big-endian, as PostgreSQL's binary formats have them
static void
s_put_int (bytes_t *bytes, uint64_t value, int width)
{
    unsigned char buffer [8];
    for (int index = 0; index < width; index++)
        buffer [index] = (unsigned char) (value >> (8 * (width - 1 - index)));
    s_put (bytes, buffer, (size_t) width);
}

//  Copies data (NULL: SQL NULL) into the arena
static span_t
s_keep (saga_log_pg_turn_t *self, const void *data, size_t size)
{
    span_t span = { self->arena.size, -1 };
    if (!data)
        return span;
    if (size > INT_MAX) {
        self->arena.failed = true;
        return span;
    }
    s_put (&self->arena, data, size);
    span.size = (int) size;
    return span;
}

static span_t
s_keep_text (saga_log_pg_turn_t *self, const char *text)
{
    return s_keep (self, text, text? strlen (text): 0);
}

saga_log_pg_turn_t *
saga_log_pg_turn_new (void)
{
    saga_log_pg_turn_t *self = (saga_log_pg_turn_t *) calloc (1, sizeof *self);
    if (self)
        self->index = zhashx_new ();
    if (!self || !self->index) {
        free (self);
        return NULL;
    }
    return self;
}

void
saga_log_pg_turn_destroy (saga_log_pg_turn_t **self_p)
{
    assert (self_p);
    saga_log_pg_turn_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->index);
    free (self->rows);
    free (self->ends);
    free (self->arena.data);
    free (self->out.data);
    free (self);
    *self_p = NULL;
}

void
saga_log_pg_turn_clear (saga_log_pg_turn_t *self)
{
    assert (self);
    self->row_count = self->created = self->end_count = 0;
    self->arena.size = self->out.size = 0;
    self->arena.failed = self->out.failed = false;
    zhashx_purge (self->index);
}

bool
saga_log_pg_turn_empty (saga_log_pg_turn_t *self)
{
    assert (self);
    return self->row_count == 0 && self->end_count == 0;
}

//  A new row, indexed by its saga; NULL when out of memory
static row_t *
s_row_new (saga_log_pg_turn_t *self, const char *saga_id)
{
    if (self->row_count == self->row_size) {
        size_t size = self->row_size? self->row_size * 2: 256;
        row_t *larger = (row_t *) realloc (self->rows, size * sizeof *larger);
        if (!larger)
            return NULL;
        self->rows = larger;
        self->row_size = size;
    }
    self->row_count++;
    zhashx_update (self->index, saga_id, (void *) (uintptr_t) self->row_count);
    row_t *row = &self->rows [self->row_count - 1];
    memset (row, 0, sizeof *row);
    return row;
}

//  Sets the columns every transition writes
static int
s_row_set (saga_log_pg_turn_t *self, row_t *row, const saga_log_pg_row_t *from)
{
    row->saga_id = s_keep_text (self, from->saga_id);
    row->state = s_keep (self, from->state, from->state_size);
    row->phase = s_keep_text (self, from->phase);
    row->reason = s_keep_text (self, from->reason);
    return self->arena.failed? -1: 0;
}

int
saga_log_pg_turn_insert (saga_log_pg_turn_t *self, const saga_log_pg_row_t *from)
{
    assert (self && from && from->saga_id && from->phase && from->checkout_id);
    assert (from->state && from->cart);
    row_t *row = s_row_new (self, from->saga_id);
    if (!row || s_row_set (self, row, from))
        return -1;
    row->created = true;
    row->checkout_id = s_keep_text (self, from->checkout_id);
    row->cart = s_keep (self, from->cart, from->cart_size);
    row->cart_digest = from->cart_digest;
    row->partition = from->partition;
    self->created++;
    return self->arena.failed? -1: 0;
}

int
saga_log_pg_turn_update (saga_log_pg_turn_t *self, const saga_log_pg_row_t *from)
{
    assert (self && from && from->saga_id && from->phase && from->state);
    uintptr_t found = (uintptr_t) zhashx_lookup (self->index, from->saga_id);
    row_t *row = found? &self->rows [found - 1]: s_row_new (self, from->saga_id);
    return row? s_row_set (self, row, from): -1;
}

int
saga_log_pg_turn_ended (saga_log_pg_turn_t *self, int64_t ended_ms, const char *saga_id,
                        uint32_t partition)
{
    assert (self && saga_id);
    if (self->end_count == self->end_size) {
        size_t size = self->end_size? self->end_size * 2: 256;
        end_t *larger = (end_t *) realloc (self->ends, size * sizeof *larger);
        if (!larger)
            return -1;
        self->ends = larger;
        self->end_size = size;
    }
    end_t *end = &self->ends [self->end_count++];
    *end = (end_t) { ended_ms, s_keep_text (self, saga_id), partition };
    return self->arena.failed? -1: 0;
}

//  Starts a one-dimensional binary array of count elements of type oid;
//  where its has-null flag sits
static size_t
s_array_start (bytes_t *out, uint32_t oid, size_t count)
{
    s_put_int (out, 1, 4);                  //  dimensions
    size_t flag = out->size;
    s_put_int (out, 0, 4);                  //  has nulls
    s_put_int (out, oid, 4);
    s_put_int (out, count, 4);
    s_put_int (out, 1, 4);                  //  lower bound
    return flag;
}

//  One array of a span column (field: its offset in row_t) of the rows
//  created or not
static void
s_span_array (saga_log_pg_turn_t *self, uint32_t oid, size_t field, bool created)
{
    bytes_t *out = &self->out;
    size_t count = created? self->created: self->row_count - self->created;
    size_t flag = s_array_start (out, oid, count);
    bool nulls = false;
    for (size_t index = 0; index < self->row_count; index++) {
        const row_t *row = &self->rows [index];
        if (row->created != created)
            continue;
        const span_t *span = (const span_t *) ((const char *) row + field);
        s_put_int (out, (uint32_t) span->size, 4);
        if (span->size > 0)
            s_put (out, self->arena.data + span->offset, (size_t) span->size);
        nulls |= span->size < 0;
    }
    if (nulls && !out->failed)
        out->data [flag + 3] = 1;
}

//  The new sagas' numbers: cart_digest (width 8) or partition (4)
static void
s_int_array (saga_log_pg_turn_t *self, int width)
{
    bytes_t *out = &self->out;
    s_array_start (out, width == 8? OID_INT8: OID_INT4, self->created);
    for (size_t index = 0; index < self->row_count; index++) {
        const row_t *row = &self->rows [index];
        if (!row->created)
            continue;
        s_put_int (out, (uint64_t) width, 4);
        s_put_int (out, width == 8? (uint64_t) row->cart_digest: row->partition, width);
    }
}

//  A statement's parameters while its arrays are written: where each
//  starts in out (out moves as it grows, so pointers come at the end)
typedef struct {
    pg_statement_t *statement;
    size_t starts [PG_MAX_PARAMS + 1];
} params_t;

//  Starts the next parameter, a binary array from here on
static void
s_param (saga_log_pg_turn_t *self, params_t *params)
{
    pg_statement_t *statement = params->statement;
    assert (statement->count < PG_MAX_PARAMS);
    params->starts [statement->count] = self->out.size;
    statement->formats [statement->count] = 1;
    statement->count++;
}

//  Points the statement's parameters at their arrays, once out is written
static void
s_params_end (saga_log_pg_turn_t *self, params_t *params, size_t end)
{
    pg_statement_t *statement = params->statement;
    params->starts [statement->count] = end;
    for (int param = 0; param < statement->count; param++) {
        statement->values [param] = self->out.data + params->starts [param];
        statement->lengths [param] = (int) (params->starts [param + 1] - params->starts [param]);
    }
}

static void
s_inserts (saga_log_pg_turn_t *self, params_t *params)
{
    s_param (self, params);
    s_span_array (self, OID_TEXT, offsetof (row_t, saga_id), true);
    s_param (self, params);
    s_span_array (self, OID_BYTEA, offsetof (row_t, state), true);
    s_param (self, params);
    s_span_array (self, OID_TEXT, offsetof (row_t, phase), true);
    s_param (self, params);
    s_span_array (self, OID_TEXT, offsetof (row_t, reason), true);
    s_param (self, params);
    s_span_array (self, OID_TEXT, offsetof (row_t, checkout_id), true);
    s_param (self, params);
    s_int_array (self, 8);
    s_param (self, params);
    s_span_array (self, OID_BYTEA, offsetof (row_t, cart), true);
    s_param (self, params);
    s_int_array (self, 4);
}

static void
s_updates (saga_log_pg_turn_t *self, params_t *params)
{
    s_param (self, params);
    s_span_array (self, OID_TEXT, offsetof (row_t, saga_id), false);
    s_param (self, params);
    s_span_array (self, OID_BYTEA, offsetof (row_t, state), false);
    s_param (self, params);
    s_span_array (self, OID_TEXT, offsetof (row_t, phase), false);
    s_param (self, params);
    s_span_array (self, OID_TEXT, offsetof (row_t, reason), false);
}

static void
s_ends (saga_log_pg_turn_t *self, params_t *params)
{
    bytes_t *out = &self->out;
    s_param (self, params);
    s_array_start (out, OID_INT8, self->end_count);
    for (size_t index = 0; index < self->end_count; index++) {
        s_put_int (out, 8, 4);
        s_put_int (out, (uint64_t) self->ends [index].ended_ms, 8);
    }
    s_param (self, params);
    s_array_start (out, OID_TEXT, self->end_count);
    for (size_t index = 0; index < self->end_count; index++) {
        const span_t *span = &self->ends [index].saga_id;
        s_put_int (out, (uint32_t) span->size, 4);
        s_put (out, self->arena.data + span->offset, (size_t) span->size);
    }
    s_param (self, params);
    s_array_start (out, OID_INT4, self->end_count);
    for (size_t index = 0; index < self->end_count; index++) {
        s_put_int (out, 4, 4);
        s_put_int (out, self->ends [index].partition, 4);
    }
}

int
saga_log_pg_turn_statements (saga_log_pg_turn_t *self, pg_statement_t *statements)
{
    assert (self && statements);
    params_t params [SAGA_LOG_PG_TURN_STATEMENTS];
    size_t ends [SAGA_LOG_PG_TURN_STATEMENTS];
    int count = 0;
    self->out.size = 0;
    self->out.failed = false;
    if (self->created) {
        statements [count] = (pg_statement_t) { .sql = SQL_INSERT };
        params [count].statement = &statements [count];
        s_inserts (self, &params [count]);
        ends [count++] = self->out.size;
    }
    if (self->row_count > self->created) {
        statements [count] = (pg_statement_t) { .sql = SQL_UPDATE };
        params [count].statement = &statements [count];
        s_updates (self, &params [count]);
        ends [count++] = self->out.size;
    }
    if (self->end_count) {
        statements [count] = (pg_statement_t) { .sql = SQL_ENDED };
        params [count].statement = &statements [count];
        s_ends (self, &params [count]);
        ends [count++] = self->out.size;
    }
    if (self->out.failed || self->out.size > INT_MAX)
        return -1;
    for (int index = 0; index < count; index++)
        s_params_end (self, &params [index], ends [index]);
    return count;
}

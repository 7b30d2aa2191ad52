/*  saga_log_pg_turn.h - a turn's writes to the saga log on PostgreSQL
    Queued per saga, sent as at most three array statements however many.
*/
#ifndef SAGA_LOG_PG_TURN_H_INCLUDED
#define SAGA_LOG_PG_TURN_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "pg.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _saga_log_pg_turn_t saga_log_pg_turn_t;

//  The statements a turn can take: its new sagas, its updated ones, its ends
#define SAGA_LOG_PG_TURN_STATEMENTS 3

//  An empty turn, owned by the caller; NULL when out of memory.
saga_log_pg_turn_t *saga_log_pg_turn_new (void);

//  Frees the turn; safe on NULL, nulls the pointer.
void saga_log_pg_turn_destroy (saga_log_pg_turn_t **self_p);

//  Forgets the turn's writes, keeping the storage.  Can't fail.
void saga_log_pg_turn_clear (saga_log_pg_turn_t *self);

//  True when nothing is queued.  Can't fail.
bool saga_log_pg_turn_empty (saga_log_pg_turn_t *self);

//  What a saga's row holds: the columns written on every transition, and
//  those written once, when the saga is created (reason NULL: none)
typedef struct {
    const char *saga_id;
    const void *state;
    size_t state_size;
    const char *phase;
    const char *reason;
    //  created only
    const char *checkout_id;
    int64_t cart_digest;
    const void *cart;
    size_t cart_size;
    uint32_t partition;
} saga_log_pg_row_t;

//  Queues a new saga's row (copies every field).  0, or -1 when out of
//  memory.
int saga_log_pg_turn_insert (saga_log_pg_turn_t *self, const saga_log_pg_row_t *row);

//  Queues a transition of a saga (saga_id, state, phase, reason; copied):
//  it replaces the turn's earlier write of the same saga, so a saga
//  created in the turn is inserted as it ends the turn.  0, or -1 when out
//  of memory.
int saga_log_pg_turn_update (saga_log_pg_turn_t *self, const saga_log_pg_row_t *row);

//  Queues the end of a saga (saga_ends).  0, or -1 when out of memory.
int saga_log_pg_turn_ended (saga_log_pg_turn_t *self, int64_t ended_ms, const char *saga_id,
                            uint32_t partition);

//  Fills statements [0..SAGA_LOG_PG_TURN_STATEMENTS) with the turn's
//  writes, in the order they must run: inserts, updates (which fail on the
//  server when a saga is missing), ends.  Their parameters are binary
//  arrays the turn owns until the next call or clear.  Returns how many
//  statements, or -1 when out of memory.
int saga_log_pg_turn_statements (saga_log_pg_turn_t *self, pg_statement_t *statements);

#ifdef __cplusplus
}
#endif

#endif

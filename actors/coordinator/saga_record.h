/*  saga_record.h - private to the saga log: a saga as the blobs of its row
    The cart, the state and the bounded history, in msgpack.

    Only the saga log backends (saga_log_sqlite.c) include this.  The cart is a CHECKOUT body, written
    once; the state blob holds everything else the engine needs to go on
    (positional, so it stays small) and the history, and is rewritten with
    every transition.  A blob read back is external input (the file may be
    old, damaged or edited by hand), so the readers validate and say what
    is wrong instead of asserting.  docs/saga-log.md has the layouts.
*/
#ifndef SAGA_RECORD_H_INCLUDED
#define SAGA_RECORD_H_INCLUDED

#include "checkout/codec.h"
#include "saga_engine.h"

//  The saga's cart as a CHECKOUT body, into out.  Returns 0, or -1 when
//  out of memory.
int saga_record_cart (const saga_t *saga, ck_buf_t *out);

//  Appends history [0..count) to the saga's encoded history, dropping the
//  oldest entries after the first CK_MAX_HISTORY / 2 once it holds more
//  than CK_MAX_HISTORY.  Returns 0, or -1 when out of memory (the saga's
//  history is then as it was).
int saga_record_append (saga_t *saga, const ck_history_entry_t *history, uint32_t count);

//  The saga's state and encoded history as the state blob, into out.
//  Returns 0, or -1 when out of memory.
int saga_record_state (const saga_t *saga, ck_buf_t *out);

//  True when persisting the saga now ends it: terminal, and its row is new
//  or was not (the log dates its end once, for expire).  Can't fail.
bool saga_record_ends (const saga_t *saga, bool created);

//  Restores a saga from its row: saga_id, phase, and the two blobs.
//  Returns a new saga owned by the caller, or NULL with why (a short
//  phrase) when a blob is invalid or out of memory.
saga_t *saga_record_restore (const char *saga_id, saga_phase_t phase,
                             const void *cart, size_t cart_size,
                             const void *state, size_t state_size, const char **why);

//  Decodes the history of a state blob: up to max entries, the first
//  max / 2 and the last max - max / 2 when it has more; sets *total to how
//  many the saga ever had.  Returns the count filled, or -1 with why.
int saga_record_history (const void *state, size_t state_size, ck_history_entry_t *entries,
                         uint32_t max, uint64_t *total, const char **why);

#endif

/*  deadlines.h - one timer per handle, earliest first
    A binary min-heap of (handle, at_us) with a handle -> slot index.

    The coordinator keeps one deadline per saga (step timeout, retry
    back-off) and moves it on every transition, so set and cancel are as
    cheap as pop: O(log n) each, O(1) to read the earliest.  Time is passed
    in, in microseconds of whatever clock the caller uses; the module reads
    no clock.  A handle is any non-NULL pointer the caller owns; the module
    never dereferences it.
*/
#ifndef DEADLINES_H_INCLUDED
#define DEADLINES_H_INCLUDED

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _deadlines_t deadlines_t;

//  Returns a new, empty set owned by the caller.  Aborts when out of
//  memory, like czmq.
deadlines_t *deadlines_new (void);

//  Destroys the set (not the handles); safe on NULL, nulls the pointer.
void deadlines_destroy (deadlines_t **self_p);

//  Sets the handle's deadline to at_us, replacing any earlier one; at_us 0
//  cancels it.  Can't fail.
void deadlines_set (deadlines_t *self, void *handle, uint64_t at_us);

//  Removes the handle's deadline, if it has one.  Can't fail.
void deadlines_cancel (deadlines_t *self, void *handle);

//  The earliest deadline, or 0 when there is none.
uint64_t deadlines_next (deadlines_t *self);

//  Removes and returns a handle whose deadline is <= now_us (the earliest
//  one), or NULL when none is due.  Call until NULL to drain.
void *deadlines_pop_due (deadlines_t *self, uint64_t now_us);

//  Number of handles with a deadline.
size_t deadlines_size (deadlines_t *self);

#ifdef __cplusplus
}
#endif

#endif

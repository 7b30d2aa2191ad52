/*  saga_totals.c - what the coordinator's sagas added up to since it started
    Failed sagas by reason code, and exact counts at fixed latency bounds.
*/
#include <czmq.h>
#include "saga_totals.h"

//  The bounds, in microseconds: from a fast saga on one host (a few
//  hundred us) to the step timeouts of a slow participant.  They are part
//  of what a dashboard compares across coordinators: change them only with
//  docs/protocol.md and docs/operations.md.
static const uint64_t s_bounds [] = {
    250, 500, 1000, 2500, 5000, 10000, 25000, 50000, 100000, 250000, 500000,
    1000000, 2500000, 5000000, 10000000, 30000000
};
#define BOUNDS (sizeof s_bounds / sizeof s_bounds [0])
_Static_assert (BOUNDS <= CK_LATENCY_BUCKETS, "more bounds than the stats event holds");

#define OTHER_CODE      "other"
#define UNKNOWN_CODE    "unknown"

struct _saga_totals_t {
    uint64_t ended;
    uint64_t ended_us;
    uint64_t within [BOUNDS];           //  sagas over s_bounds [i - 1], up to s_bounds [i]
    ck_reason_count_t failed [CK_MAX_FAILED_REASONS];
    uint32_t failed_count;
};


//  Returns new, zero totals owned by the caller.

saga_totals_t *
saga_totals_new (void)
{
    return (saga_totals_t *) zmalloc (sizeof (saga_totals_t));
}


//  Destroys the totals; safe on NULL, nulls the pointer.

void
saga_totals_destroy (saga_totals_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}


//  The counter of code, or NULL when it has none yet

static ck_reason_count_t *
s_find (saga_totals_t *self, const char *code)
{
    for (uint32_t i = 0; i < self->failed_count; i++)
        if (streq (self->failed [i].code, code))
            return &self->failed [i];
    return NULL;
}


//  The counter of code.  A slot is kept for "other" until it is listed:
//  once the others are taken, a flood of new codes adds to it and pushes
//  out none.

static ck_reason_count_t *
s_failed_slot (saga_totals_t *self, const char *code)
{
    ck_reason_count_t *slot = s_find (self, code);
    if (slot)
        return slot;
    uint32_t room = s_find (self, OTHER_CODE)? CK_MAX_FAILED_REASONS: CK_MAX_FAILED_REASONS - 1;
    if (self->failed_count >= room && !streq (code, OTHER_CODE))
        return s_failed_slot (self, OTHER_CODE);
    assert (self->failed_count < CK_MAX_FAILED_REASONS);
    slot = &self->failed [self->failed_count++];
    snprintf (slot->code, sizeof slot->code, "%s", code);
    return slot;
}


//  Counts one saga that ended; failed is its reason, NULL when confirmed.
//  Can't fail.

void
saga_totals_ended (saga_totals_t *self, uint64_t elapsed_us, const ck_reason_t *failed)
{
    assert (self);
    self->ended++;
    self->ended_us += elapsed_us;
    for (size_t i = 0; i < BOUNDS; i++)
        if (elapsed_us <= s_bounds [i]) {
            self->within [i]++;
            break;
        }
    if (failed) {
        const char *code = failed->code [0]? failed->code: UNKNOWN_CODE;
        s_failed_slot (self, code)->count++;
    }
}


//  Fills the totals' fields of stats, the bucket counts made cumulative.
//  Can't fail.

void
saga_totals_fill (saga_totals_t *self, ck_ev_stats_t *stats)
{
    assert (self);
    stats->ended = self->ended;
    stats->ended_us = self->ended_us;
    uint64_t below = 0;
    for (size_t i = 0; i < BOUNDS; i++) {
        below += self->within [i];
        stats->latency_buckets [i] = (ck_latency_bucket_t) { s_bounds [i], below };
    }
    stats->latency_bucket_count = BOUNDS;
    memcpy (stats->failed_reasons, self->failed, sizeof self->failed);
    stats->failed_reason_count = self->failed_count;
}

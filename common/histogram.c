/*  histogram.c - latency distribution in fixed memory
    Log-linear buckets: an index from the value's top bit and next 7 bits.
*/
#include <czmq.h>
#include <math.h>
#include "histogram.h"

#define SUB_BITS    7                           //  128 buckets per doubling
#define SUB_COUNT   (1u << SUB_BITS)
#define LINEAR_MAX  (2 * SUB_COUNT)             //  below: one bucket per value
#define BUCKETS     ((65 - SUB_BITS) * SUB_COUNT)   //  up to UINT64_MAX

struct _histogram_t {
    uint64_t count;
    uint64_t min;                               //  UINT64_MAX when empty
    uint64_t max;
    uint64_t buckets [BUCKETS];
};


//  The bucket of a value.  Above LINEAR_MAX the value is shifted right
//  until 8 significant bits remain; their top bit is always set, so
//  shift * 128 + those bits is contiguous with the linear range below.

static size_t
s_index (uint64_t value)
{
    if (value < LINEAR_MAX)
        return (size_t) value;
    unsigned shift = 63 - __builtin_clzll (value) - SUB_BITS;
    return (size_t) shift * SUB_COUNT + (size_t) (value >> shift);
}


//  The value that stands for a bucket: its middle, so that the error is at
//  most half a bucket width either way.

static uint64_t
s_middle (size_t index)
{
    if (index < LINEAR_MAX)
        return index;
    unsigned shift = (unsigned) (index >> SUB_BITS) - 1;
    uint64_t low = (uint64_t) (index - (size_t) shift * SUB_COUNT) << shift;
    return low + ((uint64_t) 1 << shift) / 2;
}


//  Returns a new, empty histogram owned by the caller.

histogram_t *
histogram_new (void)
{
    histogram_t *self = (histogram_t *) zmalloc (sizeof (histogram_t));
    self->min = UINT64_MAX;
    return self;
}


//  Destroys the histogram; safe on NULL, nulls the pointer.

void
histogram_destroy (histogram_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}


//  Records one sample, in microseconds.  Can't fail.

void
histogram_record (histogram_t *self, uint64_t us)
{
    assert (self);
    self->buckets [s_index (us)]++;
    self->count++;
    if (us < self->min)
        self->min = us;
    if (us > self->max)
        self->max = us;
}


//  Forgets every sample.  Can't fail.

void
histogram_reset (histogram_t *self)
{
    assert (self);
    memset (self, 0, sizeof (histogram_t));
    self->min = UINT64_MAX;
}


//  Number of samples recorded since the last reset.

uint64_t
histogram_count (histogram_t *self)
{
    assert (self);
    return self->count;
}


//  Exact largest sample, or 0 when empty.

uint64_t
histogram_max (histogram_t *self)
{
    assert (self);
    return self->max;
}


//  Exact smallest sample, or 0 when empty.

uint64_t
histogram_min (histogram_t *self)
{
    assert (self);
    return self->count? self->min: 0;
}


//  The p-th percentile by nearest rank (the smallest sample with at least
//  p% of the samples at or below it), within 1%; 0 when empty.

uint64_t
histogram_percentile (histogram_t *self, double p)
{
    assert (self);
    if (self->count == 0)
        return 0;
    if (!(p > 0))                               //  also catches NaN
        return self->min;
    if (p >= 100)
        return self->max;
    uint64_t rank = (uint64_t) ceil (p / 100 * (double) self->count);
    if (rank < 1)
        rank = 1;
    if (rank > self->count)
        rank = self->count;

    uint64_t seen = 0;
    size_t index = 0;
    for (; index < BUCKETS - 1; index++) {
        seen += self->buckets [index];
        if (seen >= rank)
            break;
    }
    uint64_t value = s_middle (index);
    if (value < self->min)
        value = self->min;
    if (value > self->max)
        value = self->max;
    return value;
}


//  Adds every sample of from into self; from is left unchanged.

void
histogram_merge (histogram_t *self, histogram_t *from)
{
    assert (self);
    assert (from);
    if (from->count == 0)
        return;
    for (size_t index = 0; index < BUCKETS; index++)
        self->buckets [index] += from->buckets [index];
    self->count += from->count;
    if (from->min < self->min)
        self->min = from->min;
    if (from->max > self->max)
        self->max = from->max;
}

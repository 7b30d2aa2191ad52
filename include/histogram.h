/*  histogram.h - latency distribution in fixed memory
    Log-linear buckets over microseconds: percentiles within 1%, no sorting.

    Values below 256 us get a bucket each; above, every power of two is cut
    into 128 equal buckets, so a bucket is never wider than 1/128 of its
    lowest value (the HdrHistogram layout with two significant digits).  The
    buckets cover every uint64_t, so no value is clamped; the table is a
    fixed ~58 KiB, and recording is a few instructions.

    A percentile is the middle of the bucket holding the sample of that
    nearest rank, kept within [min, max]: it is at most 0.4% away from the
    exact sample, and p0 and p100 are the exact min and max.
*/
#ifndef CK_HISTOGRAM_H_INCLUDED
#define CK_HISTOGRAM_H_INCLUDED

#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct _histogram_t histogram_t;

//  Returns a new, empty histogram owned by the caller.  Aborts when out of
//  memory, like czmq.
histogram_t *histogram_new (void);

//  Destroys the histogram; safe on NULL, nulls the pointer.
void histogram_destroy (histogram_t **self_p);

//  Records one sample, in microseconds.  Can't fail.
void histogram_record (histogram_t *self, uint64_t us);

//  Forgets every sample.  Can't fail.
void histogram_reset (histogram_t *self);

//  Number of samples recorded since the last reset.
uint64_t histogram_count (histogram_t *self);

//  Exact largest sample, or 0 when empty.
uint64_t histogram_max (histogram_t *self);

//  Exact smallest sample, or 0 when empty.
uint64_t histogram_min (histogram_t *self);

//  The p-th percentile (p in 0..100, clamped) by nearest rank, within 1%;
//  0 when empty.
uint64_t histogram_percentile (histogram_t *self, double p);

//  Adds every sample of from into self; from is left unchanged.
void histogram_merge (histogram_t *self, histogram_t *from);

#ifdef __cplusplus
}
#endif

#endif

/*  saga_totals.h - what the coordinator's sagas added up to since it started
    Failed sagas by reason code and latency at fixed bounds, for the stats event.

    The stats event's percentiles cover one interval and do not add up
    across coordinators; these totals do (Prometheus' counters and
    cumulative histogram buckets): they only grow, and the bounds are fixed.
    Memory is fixed too: past CK_MAX_FAILED_REASONS codes, failures count
    under "other".
*/
#ifndef SAGA_TOTALS_H_INCLUDED
#define SAGA_TOTALS_H_INCLUDED

#include <stdint.h>
#include "checkout/protocol.h"

typedef struct _saga_totals_t saga_totals_t;

//  Returns new, zero totals owned by the caller.  Aborts when out of
//  memory, like czmq.
saga_totals_t *saga_totals_new (void);

//  Destroys the totals; safe on NULL, nulls the pointer.
void saga_totals_destroy (saga_totals_t **self_p);

//  Counts one saga that ended (confirmed or failed) after elapsed_us;
//  failed is its reason when it failed, NULL when it was confirmed (a
//  failure without a reason code counts as "unknown").  Can't fail.
void saga_totals_ended (saga_totals_t *self, uint64_t elapsed_us, const ck_reason_t *failed);

//  Fills the totals' fields of stats (failed_reasons, ended, ended_us,
//  latency_buckets).  Can't fail.
void saga_totals_fill (saga_totals_t *self, ck_ev_stats_t *stats);

#endif

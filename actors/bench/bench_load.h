/*  bench_load.h - the W1 closed loop: C checkouts in flight against coordinators
    Submits, retries on overloaded, times out, records latency and outcomes.

    Checkouts first..first+count-1 go out in order over one or a few
    clients (each a DEALER per frontend, following not_owner to the owner:
    client.h); as each RESULT comes back, the next checkout takes its slot, so
    exactly concurrency checkouts are in flight until the tail.  A checkout
    answered ERROR overloaded keeps its slot and is sent again after a short
    pause (5 ms, doubling to 100 ms).  One with no RESULT within timeout_ms
    of its first submit is counted as a timeout and frees its slot.
    Latency is measured from the submit a RESULT answers (the last one when
    overloaded retries happened) to the RESULT.

    For runs across coordinator restarts (scripts/crash-test): with
    resubmit_ms, a checkout that has heard nothing for that long since its
    last submit is sent again under the same checkout_id (the coordinator
    dedupes by it), since a coordinator killed after reading it forgot it
    if it was not durable yet.  With outcomes, the first RESULT of every
    checkout is written there as one line `checkout_id saga_id status
    reason_code` ("-" for no reason), flushed as the run goes.
*/
#ifndef BENCH_LOAD_H_INCLUDED
#define BENCH_LOAD_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include "checkout/curve.h"
#include "bench_plan.h"
#include "histogram.h"
#include "checkout/protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BENCH_LOAD_EXAMPLES     5       //  mismatching checkouts kept to show
#define BENCH_LOAD_EXAMPLE_SIZE 160

typedef struct {
    const char *frontend;               //  coordinators' frontends, comma-separated
    ck_curve_keys_t curve;              //  CURVE client keys; off when ""
    const char *prefix;                 //  in front of W1's ids; NULL for none
    uint64_t first;                     //  first checkout k
    uint64_t count;                     //  checkouts to run, >= 1
    uint32_t concurrency;               //  checkouts in flight, >= 1
    uint32_t clients;                   //  DEALER sockets, >= 1
    int timeout_ms;                     //  per checkout, > 0
    int resubmit_ms;                    //  send again after this silence; 0: never
    FILE *outcomes;                     //  first RESULT per checkout; NULL: none
    bool progress;                      //  draw a progress bar on stderr
    bool verbose;                       //  log every mismatch and error
} bench_load_config_t;

//  What a run counted; the latency histogram is apart (bench_load_latency)
typedef struct {
    bench_tally_t tally;                //  expected vs got, per outcome
    uint64_t results;                   //  RESULTs that ended a checkout
    uint64_t mismatches;                //  checkouts whose RESULT broke the plan
    uint64_t overloaded;                //  ERROR overloaded, each retried
    uint64_t errors [CK_ERROR_CODE_COUNT];  //  other ERRORs, by code
    uint64_t late;                      //  RESULTs after their checkout timed out
    uint64_t duplicates;                //  second RESULT for one checkout
    uint64_t unmatched;                 //  replies naming no checkout of the run
    uint64_t malformed;                 //  replies breaking the protocol
    uint64_t send_failures;             //  sends refused (queue full), retried
    uint64_t resubmits;                 //  sent again after resubmit_ms of silence
    uint64_t redirects;                 //  not_owner answers the clients followed
    uint64_t outcome_errors;            //  outcome lines that could not be written
    uint64_t elapsed_us;                //  first submit to last RESULT
    double throughput;                  //  results per second over elapsed_us
    bool interrupted;                   //  stopped by a signal before the end
    bool unanswered;                    //  stopped: no coordinator ever answered
    char examples [BENCH_LOAD_EXAMPLES][BENCH_LOAD_EXAMPLE_SIZE];
    uint32_t example_count;
} bench_load_stats_t;

typedef struct _bench_load_t bench_load_t;

//  Creates a load generator for config (copied; frontend, prefix and
//  outcomes are borrowed and must outlive it) with its clients
//  connected.  Returns a new object owned by the caller, or NULL after
//  logging (bad endpoint).
bench_load_t *bench_load_new (const bench_load_config_t *config);

//  Destroys it; safe on NULL, nulls the pointer.
void bench_load_destroy (bench_load_t **self_p);

//  Runs the closed loop to the end, or until the process is interrupted.
//  When the first checkouts time out and no coordinator has answered
//  anything, it stops there (every other one would wait as long) and
//  counts the rest as timed out: nothing listens, or the handshake fails
//  (a coordinator under CURVE, a client without keys).
//  Returns 0 when every checkout got a RESULT that matches the plan and
//  every outcome line was written, else -1 (details in the stats).
int bench_load_run (bench_load_t *self);

//  The run's counters (borrowed). Can't fail.
const bench_load_stats_t *bench_load_stats (bench_load_t *self);

//  The latency of every RESULT, in microseconds (borrowed). Can't fail.
histogram_t *bench_load_latency (bench_load_t *self);

#ifdef __cplusplus
}
#endif

#endif

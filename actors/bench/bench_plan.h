/*  bench_plan.h - W1's outcomes as the bench counts them: expected vs got
    One vocabulary for the closed loop (RESULTs) and the verifier (SQLite rows).
*/
#ifndef BENCH_PLAN_H_INCLUDED
#define BENCH_PLAN_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "checkout/protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

//  What a checkout ended as.  The first four are W1's plan; the rest can
//  only be got, never expected.
typedef enum {
    BENCH_CONFIRMED = 0,
    BENCH_OUT_OF_STOCK,
    BENCH_CARD_DECLINED,
    BENCH_UNSERVICEABLE,
    BENCH_OTHER_FAILURE,                //  failed with a reason W1 never injects
    BENCH_STUCK,                        //  RESULT stuck, or a saga not terminal
    BENCH_ERROR,                        //  ERROR other than overloaded
    BENCH_TIMEOUT,                      //  no RESULT within --timeout
    BENCH_OUTCOME_COUNT
} bench_outcome_t;

//  Expected and got, per outcome, over a range of checkouts
typedef struct {
    uint64_t expected [BENCH_OUTCOME_COUNT];
    uint64_t got [BENCH_OUTCOME_COUNT];
} bench_tally_t;

//  Name of an outcome ("confirmed", "out_of_stock", ...), or NULL when out
//  of range.
const char *bench_outcome_name (bench_outcome_t outcome);

//  The outcome W1 plans for checkout k. Can't fail.
bench_outcome_t bench_plan_expected (uint64_t k);

//  Classifies a terminal status and its reason code (may be NULL).  Can't
//  fail: what W1 does not plan is OTHER_FAILURE or STUCK.
bench_outcome_t bench_plan_classify (ck_status_t status, const char *reason_code);

//  Zeroes the tally and fills its expected counts for checkouts
//  first..first+count-1. Can't fail.
void bench_tally_plan (bench_tally_t *self, uint64_t first, uint64_t count);

//  True when every outcome was got exactly as often as expected.
bool bench_tally_matches (const bench_tally_t *self);

//  Checks a RESULT of checkout k against W1's plan: status, failed step,
//  reason code and the compensated steps in order.  Returns true when it
//  matches; else false with a one-line why in why [0..size).
bool bench_plan_check_result (uint64_t k, const ck_result_t *result, char *why, size_t size);

//  Parses "<prefix>chk-<k>" into *k.  Returns 0, or -1 when checkout_id is
//  not a W1 checkout id under prefix (NULL for none).
int bench_plan_key (const char *checkout_id, const char *prefix, uint64_t *k);

#ifdef __cplusplus
}
#endif

#endif

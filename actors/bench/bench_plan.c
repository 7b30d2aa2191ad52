/*  bench_plan.c - W1's outcomes as the bench counts them: expected vs got
    Classifies RESULTs and saga rows alike, so the run and the verify agree.
*/
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "bench_plan.h"
#include "w1.h"

static const char *s_outcome_names [BENCH_OUTCOME_COUNT] = {
    "confirmed", "out_of_stock", "card_declined", "destination_unserviceable",
    "other_failure", "stuck", "error", "timeout"
};

//  Returns the outcome's name, or NULL out of range.
const char *
bench_outcome_name (bench_outcome_t outcome)
{
    if ((int) outcome < 0 || outcome >= BENCH_OUTCOME_COUNT)
        return NULL;
    return s_outcome_names [outcome];
}

//  Returns the outcome W1 plans for checkout k. Can't fail.
bench_outcome_t
bench_plan_expected (uint64_t k)
{
    w1_expected_t expected = w1_expected (k);
    return bench_plan_classify (expected.status, expected.reason);
}

//  Classifies a status and reason code. Can't fail.
bench_outcome_t
bench_plan_classify (ck_status_t status, const char *reason_code)
{
    if (status == CK_STATUS_CONFIRMED)
        return BENCH_CONFIRMED;
    if (status != CK_STATUS_FAILED)
        return BENCH_STUCK;
    //  The first three planned outcomes are named after their reason code
    for (int outcome = BENCH_OUT_OF_STOCK; outcome <= BENCH_UNSERVICEABLE; outcome++)
        if (reason_code && strcmp (reason_code, s_outcome_names [outcome]) == 0)
            return (bench_outcome_t) outcome;
    return BENCH_OTHER_FAILURE;
}

//  Zeroes the tally and counts the plan of first..first+count-1.
void
bench_tally_plan (bench_tally_t *self, uint64_t first, uint64_t count)
{
    assert (self);
    memset (self, 0, sizeof *self);
    for (uint64_t k = first; k < first + count; k++)
        self->expected [bench_plan_expected (k)]++;
}

//  True when got equals expected for every outcome.
bool
bench_tally_matches (const bench_tally_t *self)
{
    assert (self);
    for (int outcome = 0; outcome < BENCH_OUTCOME_COUNT; outcome++)
        if (self->expected [outcome] != self->got [outcome])
            return false;
    return true;
}

//  Writes "inventory,payment" (or "none") for a list of steps
static void
s_steps_text (const ck_service_t *steps, uint32_t count, char *out, size_t size)
{
    size_t used = 0;
    out [0] = 0;
    for (uint32_t i = 0; i < count && used < size; i++) {
        const char *name = ck_service_name (steps [i]);
        int n = snprintf (out + used, size - used, "%s%s", i? ",": "", name? name: "?");
        used += n > 0? (size_t) n: 0;
    }
    if (count == 0)
        snprintf (out, size, "none");
}

//  True when the compensated steps are W1's, in the same order
static bool
s_same_steps (const w1_expected_t *expected, const ck_result_t *result)
{
    if (result->compensated_count != expected->compensated_count)
        return false;
    for (uint32_t i = 0; i < expected->compensated_count; i++)
        if (result->compensated [i] != expected->compensated [i])
            return false;
    return true;
}

//  Checks a RESULT of checkout k against the plan; false with why if not.
bool
bench_plan_check_result (uint64_t k, const ck_result_t *result, char *why, size_t size)
{
    assert (result && why && size);
    w1_expected_t expected = w1_expected (k);
    bench_outcome_t want = bench_plan_classify (expected.status, expected.reason);
    bench_outcome_t got = bench_plan_classify (result->status, result->reason.code);
    if (got != want) {
        snprintf (why, size, "expected %s, got %s (%s)", s_outcome_names [want],
                  s_outcome_names [got], result->reason.code [0]? result->reason.code:
                  ck_status_name (result->status)? ck_status_name (result->status): "?");
        return false;
    }
    if (want == BENCH_CONFIRMED)
        return true;
    if (result->failed_step != expected.failed_step) {
        const char *name = ck_service_name (result->failed_step);
        snprintf (why, size, "%s failed at step %s, expected %s", s_outcome_names [want],
                  name? name: "none", ck_service_name (expected.failed_step));
        return false;
    }
    if (!s_same_steps (&expected, result)) {
        char got_steps [64], want_steps [64];
        s_steps_text (result->compensated, result->compensated_count, got_steps,
                      sizeof got_steps);
        s_steps_text (expected.compensated, expected.compensated_count, want_steps,
                      sizeof want_steps);
        snprintf (why, size, "%s compensated %s, expected %s", s_outcome_names [want],
                  got_steps, want_steps);
        return false;
    }
    return true;
}

//  Parses "<prefix>chk-<k>"; 0, or -1 when it is not one.
int
bench_plan_key (const char *checkout_id, const char *prefix, uint64_t *k)
{
    assert (checkout_id && k);
    size_t prefix_len = prefix? strlen (prefix): 0;
    if (strncmp (checkout_id, prefix? prefix: "", prefix_len) != 0)
        return -1;
    const char *digits = checkout_id + prefix_len;
    if (strncmp (digits, "chk-", 4) != 0)
        return -1;
    digits += 4;
    //  Only the form w1.c writes: decimal, no sign, no leading zero
    if (!isdigit ((unsigned char) digits [0]) || (digits [0] == '0' && digits [1]))
        return -1;
    char *end = NULL;
    errno = 0;
    unsigned long long value = strtoull (digits, &end, 10);
    if (errno || *end)
        return -1;
    *k = (uint64_t) value;
    return 0;
}

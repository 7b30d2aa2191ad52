/*  test_histogram.c - tests of the latency histogram
    Percentiles against sorted samples, exact extremes, reset and merge.
*/
#include <criterion/criterion.h>
#include <math.h>
#include <stdlib.h>
#include "histogram.h"

TestSuite (histogram, .timeout = 30);

//  A small deterministic generator, so that failures replay
static uint64_t
s_random (uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

static int
s_compare (const void *one, const void *two)
{
    uint64_t a = *(const uint64_t *) one, b = *(const uint64_t *) two;
    return (a > b) - (a < b);
}

//  The exact nearest-rank percentile of sorted samples
static uint64_t
s_exact (const uint64_t *sorted, size_t count, double p)
{
    size_t rank = (size_t) ceil (p / 100 * (double) count);
    if (rank < 1)
        rank = 1;
    return sorted [rank - 1];
}

//  Records the samples, then checks percentiles against the exact ones:
//  within 0.5%, what half a bucket's width allows (the contract says 1%)
static void
s_check_distribution (uint64_t *samples, size_t count)
{
    histogram_t *histogram = histogram_new ();
    for (size_t index = 0; index < count; index++)
        histogram_record (histogram, samples [index]);
    qsort (samples, count, sizeof (uint64_t), s_compare);

    cr_assert_eq (histogram_count (histogram), count);
    cr_assert_eq (histogram_min (histogram), samples [0]);
    cr_assert_eq (histogram_max (histogram), samples [count - 1]);
    static const double ps [] = {
        0.1, 1, 10, 25, 50, 75, 90, 95, 99, 99.9, 99.99 };
    for (size_t index = 0; index < sizeof ps / sizeof ps [0]; index++) {
        uint64_t exact = s_exact (samples, count, ps [index]);
        uint64_t got = histogram_percentile (histogram, ps [index]);
        double error = fabs ((double) got - (double) exact);
        cr_assert (error <= (double) exact / 200,
                   "p%g: got %lu, exact %lu", ps [index],
                   (unsigned long) got, (unsigned long) exact);
    }
    cr_assert_eq (histogram_percentile (histogram, 100), samples [count - 1]);
    cr_assert_eq (histogram_percentile (histogram, 0), samples [0]);
    histogram_destroy (&histogram);
    cr_assert_null (histogram);
}

Test (histogram, empty_returns_zero)
{
    histogram_t *histogram = histogram_new ();
    cr_assert_eq (histogram_count (histogram), 0);
    cr_assert_eq (histogram_min (histogram), 0);
    cr_assert_eq (histogram_max (histogram), 0);
    cr_assert_eq (histogram_percentile (histogram, 0), 0);
    cr_assert_eq (histogram_percentile (histogram, 50), 0);
    cr_assert_eq (histogram_percentile (histogram, 100), 0);
    histogram_destroy (&histogram);
    histogram_destroy (&histogram);         //  idempotent
}

Test (histogram, single_sample_is_every_percentile)
{
    histogram_t *histogram = histogram_new ();
    histogram_record (histogram, 123457);
    cr_assert_eq (histogram_min (histogram), 123457);
    cr_assert_eq (histogram_max (histogram), 123457);
    cr_assert_eq (histogram_percentile (histogram, 1), 123457);
    cr_assert_eq (histogram_percentile (histogram, 50), 123457);
    cr_assert_eq (histogram_percentile (histogram, 99.9), 123457);
    histogram_destroy (&histogram);
}

Test (histogram, uniform_percentiles_within_one_percent)
{
    size_t count = 100000;
    uint64_t *samples = (uint64_t *) malloc (count * sizeof (uint64_t));
    for (size_t index = 0; index < count; index++)
        samples [index] = count - index;        //  1..100000, unsorted
    s_check_distribution (samples, count);
    free (samples);
}

Test (histogram, log_uniform_one_us_to_one_hour)
{
    size_t count = 200000;
    uint64_t *samples = (uint64_t *) malloc (count * sizeof (uint64_t));
    uint64_t state = 88172645463325252ULL;
    double span = log (3600.0 * 1000 * 1000);
    for (size_t index = 0; index < count; index++) {
        double unit = (double) (s_random (&state) >> 11) / (double) (1ULL << 53);
        samples [index] = (uint64_t) exp (unit * span);
    }
    s_check_distribution (samples, count);
    free (samples);
}

Test (histogram, bimodal_latencies)
{
    //  Most sagas fast, a tail stuck behind retries
    size_t count = 50000;
    uint64_t *samples = (uint64_t *) malloc (count * sizeof (uint64_t));
    uint64_t state = 42;
    for (size_t index = 0; index < count; index++) {
        uint64_t noise = s_random (&state) % 400;
        samples [index] = index % 20? 900 + noise: 5000000 + noise * 1000;
    }
    s_check_distribution (samples, count);
    free (samples);
}

Test (histogram, small_values_are_exact)
{
    histogram_t *histogram = histogram_new ();
    for (uint64_t value = 0; value < 200; value++)
        histogram_record (histogram, value);
    cr_assert_eq (histogram_percentile (histogram, 50), 99);
    cr_assert_eq (histogram_percentile (histogram, 10), 19);
    cr_assert_eq (histogram_min (histogram), 0);
    cr_assert_eq (histogram_max (histogram), 199);
    histogram_destroy (&histogram);
}

Test (histogram, extremes_are_exact_at_any_size)
{
    histogram_t *histogram = histogram_new ();
    histogram_record (histogram, 3600000007ULL);
    histogram_record (histogram, UINT64_MAX);
    histogram_record (histogram, 1);
    cr_assert_eq (histogram_min (histogram), 1);
    cr_assert_eq (histogram_max (histogram), UINT64_MAX);
    cr_assert_eq (histogram_percentile (histogram, 100), UINT64_MAX);
    uint64_t middle = histogram_percentile (histogram, 50);
    cr_assert (fabs ((double) middle - 3600000007.0) <= 36000000.0,
               "p50 %lu", (unsigned long) middle);
    histogram_destroy (&histogram);
}

Test (histogram, percentile_argument_is_clamped)
{
    histogram_t *histogram = histogram_new ();
    for (uint64_t value = 1000; value <= 2000; value++)
        histogram_record (histogram, value);
    cr_assert_eq (histogram_percentile (histogram, -5), 1000);
    cr_assert_eq (histogram_percentile (histogram, 150), 2000);
    cr_assert_eq (histogram_percentile (histogram, NAN), 1000);
    histogram_destroy (&histogram);
}

Test (histogram, reset_forgets_everything)
{
    histogram_t *histogram = histogram_new ();
    for (uint64_t value = 1; value <= 1000; value++)
        histogram_record (histogram, value * 1000);
    histogram_reset (histogram);
    cr_assert_eq (histogram_count (histogram), 0);
    cr_assert_eq (histogram_min (histogram), 0);
    cr_assert_eq (histogram_max (histogram), 0);
    cr_assert_eq (histogram_percentile (histogram, 50), 0);
    histogram_record (histogram, 77);
    cr_assert_eq (histogram_count (histogram), 1);
    cr_assert_eq (histogram_min (histogram), 77);
    cr_assert_eq (histogram_max (histogram), 77);
    cr_assert_eq (histogram_percentile (histogram, 99), 77);
    histogram_destroy (&histogram);
}

Test (histogram, merge_equals_recording_everything)
{
    histogram_t *low = histogram_new ();
    histogram_t *high = histogram_new ();
    histogram_t *all = histogram_new ();
    uint64_t state = 7;
    for (int index = 0; index < 20000; index++) {
        uint64_t value = s_random (&state) % 1000000;
        histogram_record (index % 3? low: high, value);
        histogram_record (all, value);
    }
    uint64_t high_count = histogram_count (high);
    uint64_t high_p50 = histogram_percentile (high, 50);
    histogram_merge (low, high);
    cr_assert_eq (histogram_count (low), histogram_count (all));
    cr_assert_eq (histogram_min (low), histogram_min (all));
    cr_assert_eq (histogram_max (low), histogram_max (all));
    for (double p = 0; p <= 100; p += 0.5)
        cr_assert_eq (histogram_percentile (low, p), histogram_percentile (all, p),
                      "p%g", p);
    //  from is left as it was
    cr_assert_eq (histogram_count (high), high_count);
    cr_assert_eq (histogram_percentile (high, 50), high_p50);
    histogram_destroy (&low);
    histogram_destroy (&high);
    histogram_destroy (&all);
}

Test (histogram, merge_with_empty)
{
    histogram_t *empty = histogram_new ();
    histogram_t *some = histogram_new ();
    histogram_record (some, 500);
    histogram_record (some, 900);
    histogram_merge (some, empty);
    cr_assert_eq (histogram_count (some), 2);
    cr_assert_eq (histogram_min (some), 500);
    histogram_merge (empty, some);
    cr_assert_eq (histogram_count (empty), 2);
    cr_assert_eq (histogram_min (empty), 500);
    cr_assert_eq (histogram_max (empty), 900);
    histogram_destroy (&empty);
    histogram_destroy (&some);
}

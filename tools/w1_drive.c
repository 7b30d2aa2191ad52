/*  w1_drive.c - a closed-loop W1 driver against a running coordinator
    Keeps C checkouts in flight on one client; prints throughput, latency and the outcomes vs the plan.

    Usage: w1_drive [--frontend EP[,EP...]] [-n N] [-c C] [--prefix P]
    Exit code 0 when every checkout ended as W1 plans, 1 otherwise, 2 on
    bad usage.  Not a test: a quick figure for a group started by hand.
*/
#include <czmq.h>
#include "checkout/client.h"
#include "histogram.h"
#include "w1.h"

#define STALL_MS    30000               //  no reply for this long: give up

typedef struct {
    const char *frontend;
    uint64_t count;
    uint64_t in_flight;
    const char *prefix;
} options_t;

//  Per checkout: when it was sent (µs, 0 = not yet), whether it ended
typedef struct {
    int64_t sent_us;
    bool ended;
} slot_t;

//  The tallies: outcome counts, by kind, seen and planned
typedef struct {
    uint64_t confirmed, out_of_stock, card_declined, unserviceable, other, errors;
    uint64_t mismatches;                //  checkouts whose RESULT is not the planned one
} tally_t;

static int
s_usage (const char *problem)
{
    fprintf (stderr, "w1_drive: %s\nusage: w1_drive [--frontend EP[,EP...]] [-n N] [-c C] "
             "[--prefix P]\n", problem);
    return 2;
}

static int
s_number (const char *text, uint64_t min, uint64_t max, uint64_t *out)
{
    char *end = NULL;
    unsigned long long value = text? strtoull (text, &end, 10): 0;
    if (!text || !*text || *end || *text == '-' || value < min || value > max)
        return -1;
    *out = value;
    return 0;
}

static int
s_parse (int argc, char *argv [], options_t *options)
{
    *options = (options_t) { "tcp://127.0.0.1:5570", 20000, 64, "" };
    //  every flag but --help takes a value: walk them in pairs
    for (int i = 1; i < argc; i += 2) {
        const char *flag = argv [i];
        const char *value = i + 1 < argc? argv [i + 1]: NULL;
        if (streq (flag, "--help") || streq (flag, "-h"))
            return s_usage ("drives W1 checkouts closed loop");
        if (!value)
            return s_usage ("a flag is missing its value");
        if (streq (flag, "--frontend"))
            options->frontend = value;
        else
        if (streq (flag, "--prefix"))
            options->prefix = value;
        else
        if (streq (flag, "-n")) {
            if (s_number (value, 1, 100000000, &options->count))
                return s_usage ("-n: must be 1..100000000");
        }
        else
        if (streq (flag, "-c")) {
            if (s_number (value, 1, 100000, &options->in_flight))
                return s_usage ("-c: must be 1..100000");
        }
        else
            return s_usage ("unknown flag");
    }
    ck_checkout_t probe;
    if (w1_checkout_prefixed (options->prefix, 0, &probe))
        return s_usage ("--prefix: at most 32 characters of A-Z a-z 0-9 . _ : -");
    return 0;
}

//  The k of "<prefix>chk-<k>", or -1
static int64_t
s_index (const options_t *options, const char *checkout_id)
{
    size_t len = strlen (options->prefix);
    if (strncmp (checkout_id, options->prefix, len) || strncmp (checkout_id + len, "chk-", 4))
        return -1;
    char *end = NULL;
    unsigned long long k = strtoull (checkout_id + len + 4, &end, 10);
    return *end || k >= options->count? -1: (int64_t) k;
}

static void
s_tally (tally_t *tally, uint64_t k, const ck_result_t *result)
{
    w1_expected_t want = w1_expected (k);
    if (result->status == CK_STATUS_CONFIRMED)
        tally->confirmed++;
    else
    if (streq (result->reason.code, "out_of_stock"))
        tally->out_of_stock++;
    else
    if (streq (result->reason.code, "card_declined"))
        tally->card_declined++;
    else
    if (streq (result->reason.code, "destination_unserviceable"))
        tally->unserviceable++;
    else
        tally->other++;
    if (result->status != want.status || result->failed_step != want.failed_step
    ||  (want.reason && strcmp (result->reason.code, want.reason)))
        tally->mismatches++;
}

//  The plan's counts for checkouts 0..count-1
static tally_t
s_plan (uint64_t count)
{
    tally_t plan = { 0 };
    for (uint64_t k = 0; k < count; k++) {
        w1_expected_t want = w1_expected (k);
        if (want.status == CK_STATUS_CONFIRMED)
            plan.confirmed++;
        else
        if (streq (want.reason, "out_of_stock"))
            plan.out_of_stock++;
        else
        if (streq (want.reason, "card_declined"))
            plan.card_declined++;
        else
            plan.unserviceable++;
    }
    return plan;
}

//  Files one reply; returns true when it ended a checkout in flight
static bool
s_take (const options_t *options, slot_t *slots, tally_t *tally, histogram_t *latency,
        const ck_client_reply_t *reply)
{
    if (reply->command == CK_CMD_ERROR) {
        tally->errors++;
        zsys_warning ("w1_drive: checkout=%s error=%s message=\"%s\"", reply->error.checkout_id,
                      ck_error_code_name (reply->error.code), reply->error.message);
        int64_t k = s_index (options, reply->error.checkout_id);
        if (k < 0 || slots [k].ended)
            return false;
        slots [k].ended = true;
        return true;
    }
    if (reply->command != CK_CMD_RESULT)
        return false;
    const ck_result_t *result = &reply->result;
    int64_t k = s_index (options, result->checkout_id);
    if (k < 0 || slots [k].ended || result->status == CK_STATUS_STUCK)
        return false;
    slots [k].ended = true;
    histogram_record (latency, (uint64_t) (zclock_usecs () - slots [k].sent_us));
    s_tally (tally, (uint64_t) k, result);
    return true;
}

//  Runs the closed loop; returns the number of checkouts that ended
static uint64_t
s_drive (const options_t *options, ck_client_t *client, slot_t *slots, tally_t *tally,
         histogram_t *latency)
{
    ck_checkout_t *checkout = (ck_checkout_t *) zmalloc (sizeof (ck_checkout_t));
    uint64_t next = 0, ended = 0, running = 0;
    while (ended < options->count && !zsys_interrupted) {
        while (running < options->in_flight && next < options->count) {
            w1_checkout_prefixed (options->prefix, next, checkout);
            slots [next].sent_us = zclock_usecs ();
            if (ck_client_send_checkout (client, checkout))
                break;                  //  queue full: read first
            next++;
            running++;
        }
        if (ck_client_recv (client, STALL_MS) == CK_CMD_NONE) {
            zsys_error ("w1_drive: no reply for %d ms; ended=%llu of %llu", STALL_MS,
                        (unsigned long long) ended, (unsigned long long) options->count);
            break;
        }
        if (s_take (options, slots, tally, latency, ck_client_reply (client))) {
            ended++;
            running--;
        }
    }
    free (checkout);
    return ended;
}

static void
s_report (const options_t *options, uint64_t ended, int64_t elapsed_us, histogram_t *latency,
          const tally_t *seen)
{
    tally_t plan = s_plan (options->count);
    double seconds = elapsed_us > 0? elapsed_us / 1e6: 1e-6;
    printf ("sagas/s=%.0f p50_ms=%.2f p99_ms=%.2f max_ms=%.2f n=%llu c=%llu ended=%llu "
            "wall_s=%.2f\n", ended / seconds,
            histogram_percentile (latency, 50) / 1000.0,
            histogram_percentile (latency, 99) / 1000.0,
            histogram_max (latency) / 1000.0, (unsigned long long) options->count,
            (unsigned long long) options->in_flight, (unsigned long long) ended, seconds);
    printf ("confirmed=%llu/%llu out_of_stock=%llu/%llu card_declined=%llu/%llu "
            "destination_unserviceable=%llu/%llu other=%llu errors=%llu mismatches=%llu\n",
            (unsigned long long) seen->confirmed, (unsigned long long) plan.confirmed,
            (unsigned long long) seen->out_of_stock, (unsigned long long) plan.out_of_stock,
            (unsigned long long) seen->card_declined, (unsigned long long) plan.card_declined,
            (unsigned long long) seen->unserviceable, (unsigned long long) plan.unserviceable,
            (unsigned long long) seen->other, (unsigned long long) seen->errors,
            (unsigned long long) seen->mismatches);
}

int
main (int argc, char *argv [])
{
    options_t options;
    int rc = s_parse (argc, argv, &options);
    if (rc)
        return rc;
    zsys_init ();
    zsys_set_logident ("w1_drive");
    //  EP may be a comma-separated list of coordinators sharing a saga log
    ck_client_t *client = ck_client_new_frontends (&options.frontend, 1, NULL);
    if (!client)
        return s_usage ("--frontend: not an endpoint or a comma-separated list of them");
    slot_t *slots = (slot_t *) calloc (options.count, sizeof (slot_t));
    histogram_t *latency = histogram_new ();
    tally_t tally = { 0 };
    int64_t started = zclock_usecs ();
    uint64_t ended = slots? s_drive (&options, client, slots, &tally, latency): 0;
    s_report (&options, ended, zclock_usecs () - started, latency, &tally);
    bool ok = ended == options.count && tally.mismatches == 0 && tally.errors == 0
           && tally.other == 0;
    histogram_destroy (&latency);
    free (slots);
    ck_client_destroy (&client);
    return ok? 0: 1;
}

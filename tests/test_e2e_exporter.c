/*  test_e2e_exporter.c - checkout-exporter against the real, running system
    After a known W1 load, /metrics must carry the coordinators' totals and pass promtool.
*/
#include <criterion/criterion.h>
#include "e2e_helpers.h"
#include "metrics_helpers.h"

#define READY_MS    20000
#define LOAD        300                 //  W1 k = 0..299

static e2e_group_t s_group;
static e2e_book_t s_book;

static void
s_init (void)
{
    cr_assert_eq (e2e_group_init (&s_group, "ck-e2e-exporter"), 0, "no temp dir");
}

static void
s_fini (void)
{
    e2e_book_fini (&s_book);
    e2e_group_fini (&s_group);
}

TestSuite (e2e_exporter, .init = s_init, .fini = s_fini, .timeout = 120);

//  -------------------------------------------------------------------------
//  The exporter and its HTTP side

//  Starts checkout-exporter on events with --listen 127.0.0.1:0 and extra
//  flags (may be NULL), and reads the port it logs.  Returns the port, or
//  -1 when it did not say within 10 s.
static int
s_start_exporter (const char *events, const char *const *extra)
{
    const char *args [E2E_MAX_ARGS] = { "--events", events, "--listen", "127.0.0.1:0" };
    int argc = 4;
    e2e_args_append (args, &argc, extra);
    if (e2e_spawn (&s_group, "exporter", "checkout-exporter", args) < 0)
        return -1;
    char log [PATH_MAX];
    e2e_path (&s_group, "exporter.log", log, sizeof log);
    return mh_exporter_port (log, MH_WAIT_MS);
}

//  Runs checkout-exporter with args to its end.  Returns its exit code
//  (-2 when it was still running after 10 s); stderr in <dir>/<name>.err.
static int
s_run_exporter (const char *name, const char *const *args, char **err_text)
{
    char program [PATH_MAX + 32], out [PATH_MAX], err [PATH_MAX], stem [64];
    snprintf (program, sizeof program, "%s/checkout-exporter", s_group.bin);
    snprintf (stem, sizeof stem, "%s.out", name);
    e2e_path (&s_group, stem, out, sizeof out);
    snprintf (stem, sizeof stem, "%s.err", name);
    e2e_path (&s_group, stem, err, sizeof err);
    const char *argv [E2E_MAX_ARGS] = { program };
    int argc = 1;
    e2e_args_append (argv, &argc, args);
    pid_t pid = ph_spawn2 (program, (char *const *) argv, out, err);
    int status = 0;
    if (pid <= 0)
        return -1;
    if (ph_wait (pid, 10000, &status)) {
        ph_kill_reap (&pid);
        return -2;
    }
    if (err_text)
        *err_text = ph_slurp (err);
    return ph_exit_code (status);
}

//  The series of metric for coordinator name, with more labels (may be
//  ""), in buffer: as the exporter writes it, labels sorted by name
static const char *
s_series (char *buffer, size_t size, const char *metric, const char *name, const char *more)
{
    snprintf (buffer, size, "%s{coordinator=\"%s\"%s%s}", metric, name, *more? ",": "", more);
    return buffer;
}

//  -------------------------------------------------------------------------

Test (e2e_exporter, scrape_after_a_known_load_shows_the_totals)
{
    cr_assert_geq (e2e_start_group (&s_group, NULL, READY_MS), 0,
                   "the group did not come up (logs in %s)", s_group.dir);
    int port = s_start_exporter (s_group.events, NULL);
    cr_assert_gt (port, 0, "the exporter did not start (logs in %s)", s_group.dir);
    ck_client_t *client = e2e_client (&s_group);
    cr_assert_not_null (client);
    cr_assert_eq (e2e_book_init (&s_book, LOAD), 0);
    cr_assert_eq (e2e_drive (client, &s_book, 32, 60000), 0,
                  "%zu of %d RESULTs", s_book.terminal, LOAD);

    //  W1's plan for k < 300, by reason code
    const char *codes [] = { "out_of_stock", "card_declined", "destination_unserviceable" };
    long by_code [3] = { 0 }, failed = 0;
    for (uint64_t k = 0; k < LOAD; k++) {
        w1_expected_t expected = w1_expected (k);
        if (expected.status != CK_STATUS_FAILED)
            continue;
        failed++;
        for (int i = 0; i < 3; i++)
            by_code [i] += streq (expected.reason, codes [i]);
    }
    cr_assert_eq (failed, 24);
    cr_assert_eq (by_code [0] + by_code [1] + by_code [2], failed);

    //  stats come once a second: wait for the one after the last RESULT.
    //  The coordinator names no id on SQLite: its label is its endpoint
    const char *name = s_group.events;
    char series [PATH_MAX + 128];
    char *text = mh_scrape_until (port, s_series (series, sizeof series,
                                  "checkout_saga_duration_seconds_count", name, ""), LOAD,
                                  MH_WAIT_MS);
    cr_assert_not_null (text, "no answer on /metrics");
#define S_VALUE(metric, more) \
    mh_sample (text, s_series (series, sizeof series, (metric), name, (more)))
    cr_expect_eq (S_VALUE ("checkout_coordinator_up", ""), 1, "%s", text);
    cr_expect_eq (S_VALUE ("checkout_sagas_started_total", ""), LOAD, "%s", text);
    cr_expect_eq (S_VALUE ("checkout_sagas_confirmed_total", ""), LOAD - failed, "%s", text);
    for (int i = 0; i < 3; i++) {
        char reason [128];
        snprintf (reason, sizeof reason, "reason=\"%s\"", codes [i]);
        cr_expect_eq (S_VALUE ("checkout_sagas_failed_total", reason), by_code [i], "%s: %s",
                      series, text);
    }
    cr_expect_eq (S_VALUE ("checkout_sagas_stuck_total", ""), 0, "%s", text);
    cr_expect_eq (S_VALUE ("checkout_sagas_in_flight", ""), 0, "%s", text);
    cr_expect_eq (S_VALUE ("checkout_bad_messages_total", ""), 0, "%s", text);
    cr_expect_null (strstr (text, "checkout_coordinator_partitions"), "SQLite: %s", text);

    //  the histogram: every ended saga counted once, buckets cumulative
    //  up to +Inf, which equals the count; the sum a plausible time
    cr_expect_eq (S_VALUE ("checkout_saga_duration_seconds_bucket", "le=\"+Inf\""), LOAD,
                  "%s", text);
    double sum = S_VALUE ("checkout_saga_duration_seconds_sum", "");
    cr_expect (sum > 0 && sum < LOAD * 10.0, "sum %g", sum);
    int buckets = 0;
    double previous = 0;
    char prefix [PATH_MAX + 128];
    snprintf (prefix, sizeof prefix, "checkout_saga_duration_seconds_bucket{coordinator=\"%s\","
              "le=\"", name);
    for (const char *at = strstr (text, prefix); at; at = strstr (at + 1, prefix)) {
        double count = strtod (strchr (at, '}') + 2, NULL);
        cr_expect_geq (count, previous, "buckets not cumulative: %s", text);
        previous = count;
        buckets++;
    }
    cr_expect_geq (buckets, 10, "%d buckets: %s", buckets, text);
    cr_expect_eq (previous, LOAD, "the last bucket is +Inf: %s", text);

    //  one worker of each service, with the capacity it announced
    const char *services [] = { "inventory", "payment", "order" };
    for (int i = 0; i < 3; i++) {
        char worker [128];
        snprintf (worker, sizeof worker, "service=\"%s\",worker=\"%s-1\"", services [i],
                  services [i]);
        cr_expect_gt (S_VALUE ("checkout_worker_capacity", worker), 0, "%s: %s", series, text);
        cr_expect_eq (S_VALUE ("checkout_worker_load", worker), 0, "%s: %s", series, text);
    }
#undef S_VALUE

    int rc = mh_promtool (text, s_group.dir);
    cr_expect_eq (rc, 0, "promtool check metrics exit %d (see %s/promtool.log)", rc, s_group.dir);
    free (text);

    //  a stop by SIGTERM is a clean one
    cr_expect_eq (e2e_stop (&s_group, e2e_slot (&s_group, "exporter"), SIGTERM, 5000), 0);
}

Test (e2e_exporter, unreachable_events_still_serves_up_0)
{
    char events [PATH_MAX + 16];
    snprintf (events, sizeof events, "ipc://%s/nobody-binds-this", s_group.dir);
    int port = s_start_exporter (events, NULL);
    cr_assert_gt (port, 0, "the exporter did not start (logs in %s)", s_group.dir);
    char *text = mh_get (port, "/metrics");
    cr_assert_not_null (text, "no answer on /metrics");
    char series [PATH_MAX + 128];
    cr_expect_eq (mh_sample (text, s_series (series, sizeof series, "checkout_coordinator_up",
                                             events, "")), 0, "%s", text);
    cr_expect_null (strstr (text, "checkout_sagas_started_total"), "%s", text);
    int rc = mh_promtool (text, s_group.dir);
    cr_expect_eq (rc, 0, "promtool check metrics exit %d (see %s/promtool.log)", rc, s_group.dir);
    free (text);
    //  only /metrics is served
    text = mh_get (port, "/other");
    cr_expect_null (text);
    free (text);
    int slot = e2e_slot (&s_group, "exporter");
    cr_expect (e2e_running (&s_group, slot), "the exporter ended");
    cr_expect_eq (e2e_stop (&s_group, slot, SIGTERM, 5000), 0);
}

Test (e2e_exporter, bad_flags_exit_2)
{
    const char *cases [][5] = {
        { "--bogus", NULL },
        { "--listen", NULL },
        { "--listen", "no-port", NULL },
        { "--listen", "127.0.0.1:65536", NULL },
        { "--listen", "127.0.0.1:-1", NULL },
        { "--events", "nonsense://x", NULL },
        { "--stale-ms", "0", NULL },
        { "--supervisor", "/nonexistent/dir", NULL },
        { "extra-argument", NULL },
        { "--events", "ipc://a,,ipc://b", NULL },
        { "--events", "ipc://a", "--events", "ipc://a", NULL },
        { "--events", "ipc://a,nonsense://b", NULL },
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases [0]; i++) {
        char *err = NULL;
        int rc = s_run_exporter ("bad", cases [i], &err);
        cr_expect_eq (rc, 2, "%s %s: exit %d", cases [i][0], cases [i][1]? cases [i][1]: "", rc);
        cr_expect (err && strstr (err, "checkout-exporter: "), "%s: %s", cases [i][0], err);
        free (err);
    }
}

Test (e2e_exporter, help_and_version)
{
    char out [PATH_MAX];
    const char *help [] = { "--help", NULL };
    cr_expect_eq (s_run_exporter ("help", help, NULL), 0);
    e2e_path (&s_group, "help.out", out, sizeof out);
    char *text = ph_slurp (out);
    cr_expect (text && strstr (text, "Exit codes:") && strstr (text, "Examples:"), "%s", text);
    free (text);

    const char *version [] = { "--version", NULL };
    cr_expect_eq (s_run_exporter ("version", version, NULL), 0);
    e2e_path (&s_group, "version.out", out, sizeof out);
    text = ph_slurp (out);
    cr_expect_str_eq (text? text: "",
                      "checkout-exporter " CK_SOFTWARE_VERSION " (protocol " CK_VERSION ")\n");
    free (text);
}

Test (e2e_exporter, a_port_in_use_is_a_runtime_failure)
{
    int port = s_start_exporter ("ipc:///nonexistent/ev", NULL);
    cr_assert_gt (port, 0);
    char listen [32];
    snprintf (listen, sizeof listen, "127.0.0.1:%d", port);
    const char *args [] = { "--listen", listen, NULL };
    char *err = NULL;
    cr_expect_eq (s_run_exporter ("busy", args, &err), 1);
    cr_expect (err && strstr (err, "cannot listen on"), "%s", err);
    free (err);
}

//  Publishes [stats, body] on pub every 100 ms until series reaches at
//  least min on port's /metrics, or timeout_ms.  Returns the last scrape.
static char *
s_publish_until (zsock_t *pub, const void *body, size_t size, int port,
                 const char *series, double min, int timeout_ms)
{
    char *text = NULL;
    for (int64_t until = ph_now_ms () + timeout_ms; ; zclock_sleep (100)) {
        zmq_send (zsock_resolve (pub), "stats", 5, ZMQ_SNDMORE);
        zmq_send (zsock_resolve (pub), body, size, 0);
        free (text);
        text = mh_get (port, "/metrics");
        if ((text && mh_sample (text, series) >= min) || ph_now_ms () >= until)
            return text;
    }
}

Test (e2e_exporter, bad_stats_are_counted_and_good_ones_served)
{
    //  the test is the coordinator: a PUB of its own
    char events [PATH_MAX + 16];
    snprintf (events, sizeof events, "ipc://%s/ev", s_group.dir);
    zsock_t *pub = e2e_keep (&s_group, zsock_new_pub (events));
    cr_assert_not_null (pub);
    int port = s_start_exporter (events, NULL);
    cr_assert_gt (port, 0, "the exporter did not start (logs in %s)", s_group.dir);

    const char garbage [] = "\xc1 not msgpack";
    const char not_a_map [] = "\x93\x01\x02\x03";           //  [1, 2, 3]
    const char no_counters [] = "\x81\xa7started\x05";      //  {started: 5}
    const char *series = "checkout_exporter_bad_events_total";
    char *text = s_publish_until (pub, garbage, sizeof garbage - 1, port, series, 1,
                                  MH_WAIT_MS);
    cr_assert_not_null (text);
    cr_expect_geq (mh_sample (text, series), 1, "%s", text);
    free (text);
    text = s_publish_until (pub, not_a_map, sizeof not_a_map - 1, port, series, 5,
                            MH_WAIT_MS);
    free (text);
    text = s_publish_until (pub, no_counters, sizeof no_counters - 1, port, series, 10,
                            MH_WAIT_MS);
    cr_assert_not_null (text);
    cr_expect_geq (mh_sample (text, series), 10, "%s", text);
    char up [PATH_MAX + 128], series_of [PATH_MAX + 128];
    s_series (up, sizeof up, "checkout_coordinator_up", events, "");
#define S_OF(metric, more) s_series (series_of, sizeof series_of, (metric), events, (more))
    cr_expect_eq (mh_sample (text, up), 0, "%s", text);
    free (text);

    //  a good one after them: served, buckets cumulative, promtool happy
    ck_ev_stats_t stats = { .uptime_ms = 1500, .started = 7, .confirmed = 5, .failed = 2,
                            .ended = 7, .ended_us = 70000, .failed_reason_count = 1,
                            .latency_bucket_count = 2 };
    stats.failed_reasons [0] = (ck_reason_count_t) { "card_declined", 2 };
    stats.latency_buckets [0] = (ck_latency_bucket_t) { 5000, 3 };
    stats.latency_buckets [1] = (ck_latency_bucket_t) { 10000, 6 };
    ck_buf_t body;
    ck_buf_init (&body);
    cr_assert_eq (ck_encode_ev_stats (&stats, &body), 0);
    text = s_publish_until (pub, body.data, body.size, port, up, 1, MH_WAIT_MS);
    ck_buf_free (&body);
    cr_assert_not_null (text);
    cr_expect_eq (mh_sample (text, S_OF ("checkout_sagas_started_total",
                                         "")), 7,
                  "%s", text);
    cr_expect_eq (mh_sample (text, S_OF ("checkout_sagas_failed_total",
                                         "reason=\"card_declined\"")), 2,
                  "%s", text);
    cr_expect_eq (mh_sample (text, S_OF ("checkout_saga_duration_seconds_bucket",
                                         "le=\"0.005\"")), 3,
                  "%s", text);
    cr_expect_eq (mh_sample (text, S_OF ("checkout_saga_duration_seconds_bucket",
                                         "le=\"0.01\"")), 6,
                  "%s", text);
    cr_expect_eq (mh_sample (text, S_OF ("checkout_saga_duration_seconds_bucket",
                                         "le=\"+Inf\"")), 7,
                  "%s", text);
    cr_expect_eq (mh_sample (text, S_OF ("checkout_saga_duration_seconds_sum",
                                         "")), 0.07,
                  "%s", text);
    int rc = mh_promtool (text, s_group.dir);
    cr_expect_eq (rc, 0, "promtool check metrics exit %d (see %s/promtool.log)", rc, s_group.dir);
    free (text);

    //  buckets that are not cumulative are refused, not served
    stats.latency_buckets [1].count = 2;
    ck_buf_init (&body);
    cr_assert_eq (ck_encode_ev_stats (&stats, &body), 0);
    text = mh_get (port, "/metrics");
    double before = text? mh_sample (text, series): -1;
    free (text);
    text = s_publish_until (pub, body.data, body.size, port, series, before + 3, MH_WAIT_MS);
    ck_buf_free (&body);
    cr_assert_not_null (text);
    cr_expect_geq (mh_sample (text, series), before + 3, "%s", text);
    cr_expect_eq (mh_sample (text, S_OF ("checkout_saga_duration_seconds_bucket",
                                         "le=\"0.01\"")), 6,
                  "still the last good stats: %s", text);
    free (text);
    cr_expect (e2e_running (&s_group, e2e_slot (&s_group, "exporter")), "the exporter ended");
#undef S_OF
}

//  Stats of coordinator id (NULL: none named) owning ranges of 64
//  partitions (NULL: none reported), having started started sagas
static void
s_owner_stats (ck_buf_t *body, const char *id, const char *ranges, uint64_t started)
{
    ck_ev_stats_t stats = { .uptime_ms = 1500, .started = started, .confirmed = started,
                            .ended = started, .ended_us = started * 1000,
                            .latency_bucket_count = 1 };
    stats.latency_buckets [0] = (ck_latency_bucket_t) { 5000, started };
    if (id)
        snprintf (stats.coordinator, sizeof stats.coordinator, "%s", id);
    if (ranges) {
        stats.partition_count = 64;
        snprintf (stats.partitions, sizeof stats.partitions, "%s", ranges);
    }
    stats.worker_count = 1;
    stats.workers [0] = (ck_worker_load_t) { CK_SERVICE_PAYMENT, "payment-1", 8, started };
    ck_buf_init (body);
    cr_assert_eq (ck_encode_ev_stats (&stats, body), 0);
}

//  Three coordinators on one exporter: c1 and c2 name themselves and their
//  partitions, the third names nothing (its endpoint labels it).  Each has
//  series of its own, which add up; promtool accepts the lot.
Test (e2e_exporter, several_coordinators_each_labelled)
{
    char events [3][PATH_MAX + 16], list [3 * PATH_MAX + 64];
    zsock_t *pubs [3];
    for (int i = 0; i < 3; i++) {
        snprintf (events [i], sizeof events [i], "ipc://%s/ev%d", s_group.dir, i + 1);
        pubs [i] = e2e_keep (&s_group, zsock_new_pub (events [i]));
        cr_assert_not_null (pubs [i]);
    }
    snprintf (list, sizeof list, "%s,%s", events [0], events [1]);
    const char *extra [] = { "--events", events [2], NULL };
    int port = s_start_exporter (list, extra);
    cr_assert_gt (port, 0, "the exporter did not start (logs in %s)", s_group.dir);

    ck_buf_t bodies [3];
    s_owner_stats (&bodies [0], "c1", "0-21", 7);
    s_owner_stats (&bodies [1], "c2", "22-63", 5);
    s_owner_stats (&bodies [2], NULL, NULL, 3);
    char up [3][PATH_MAX + 128];
    s_series (up [0], sizeof up [0], "checkout_coordinator_up", "c1", "");
    s_series (up [1], sizeof up [1], "checkout_coordinator_up", "c2", "");
    s_series (up [2], sizeof up [2], "checkout_coordinator_up", events [2], "");
    //  publish on all three until the exporter has each
    char *text = NULL;
    for (int64_t until = ph_now_ms () + MH_WAIT_MS; ph_now_ms () < until; zclock_sleep (100)) {
        for (int i = 0; i < 3; i++) {
            zmq_send (zsock_resolve (pubs [i]), "stats", 5, ZMQ_SNDMORE);
            zmq_send (zsock_resolve (pubs [i]), bodies [i].data, bodies [i].size, 0);
        }
        free (text);
        text = mh_get (port, "/metrics");
        if (text && mh_sample (text, up [0]) == 1 && mh_sample (text, up [1]) == 1
        &&  mh_sample (text, up [2]) == 1)
            break;
    }
    for (int i = 0; i < 3; i++)
        ck_buf_free (&bodies [i]);
    cr_assert_not_null (text);
    char series [PATH_MAX + 128];
    const char *names [] = { "c1", "c2", events [2] };
    const double started [] = { 7, 5, 3 };
    for (int i = 0; i < 3; i++) {
        cr_expect_eq (mh_sample (text, up [i]), 1, "%s", text);
        s_series (series, sizeof series, "checkout_sagas_started_total", names [i], "");
        cr_expect_eq (mh_sample (text, series), started [i], "%s: %s", series, text);
        s_series (series, sizeof series, "checkout_saga_duration_seconds_count", names [i], "");
        cr_expect_eq (mh_sample (text, series), started [i], "%s: %s", series, text);
        //  the worker all three dispatch to, once per coordinator
        s_series (series, sizeof series, "checkout_worker_load", names [i],
                  "service=\"payment\",worker=\"payment-1\"");
        cr_expect_eq (mh_sample (text, series), started [i], "%s: %s", series, text);
    }
    //  the partitions each owns, and the log's count as each sees it
    s_series (series, sizeof series, "checkout_coordinator_partitions", "c1", "");
    cr_expect_eq (mh_sample (text, series), 22, "%s", text);
    s_series (series, sizeof series, "checkout_coordinator_partitions", "c2", "");
    cr_expect_eq (mh_sample (text, series), 42, "%s", text);
    s_series (series, sizeof series, "checkout_saga_log_partitions", "c2", "");
    cr_expect_eq (mh_sample (text, series), 64, "%s", text);
    s_series (series, sizeof series, "checkout_coordinator_partitions", events [2], "");
    cr_expect_eq (mh_sample (text, series), -1, "no partitions without them: %s", text);
    int rc = mh_promtool (text, s_group.dir);
    cr_expect_eq (rc, 0, "promtool check metrics exit %d (see %s/promtool.log)", rc, s_group.dir);
    free (text);

    //  c2 stops: its series go, c1's stay; partitions past the count are
    //  a bad event, not a gauge
    ck_buf_t bad;
    s_owner_stats (&bad, "c1", "0-64", 9);
    text = s_publish_until (pubs [0], bad.data, bad.size, port,
                            "checkout_exporter_bad_events_total", 1, MH_WAIT_MS);
    ck_buf_free (&bad);
    free (text);
    text = mh_scrape_until (port, up [1], 0, MH_WAIT_MS + 6000);
    cr_assert_not_null (text);
    cr_expect_eq (mh_sample (text, up [1]), 0, "%s", text);
    s_series (series, sizeof series, "checkout_sagas_started_total", "c2", "");
    cr_expect_eq (mh_sample (text, series), -1, "%s", text);
    free (text);
}

/*  main.c - checkout-bench, the W1 load generator and invariant checker
    Runs W1 as a closed loop against a coordinator, or --verify its SQLite files.
*/
#include <czmq.h>
#include <unistd.h>
#include "checkout/curve.h"
#include "checkout/client.h"
#include "bench_load.h"
#include "bench_report.h"
#include "bench_verify.h"
#include "checkout/config.h"
#include "frame.h"
#include "saga_def.h"
#include "w1.h"

#define DEFAULT_N       20000           //  W1.md's default run
#define MAX_SHOWN       100             //  violations printed unless --verbose

static const ck_option_t s_options [] = {
    { "frontend", CK_OPT_LIST, "tcp://127.0.0.1:5570", 0, 0, "EP[,EP...]",
      "a coordinator's frontend; several (repeated or comma-separated) for "
      "coordinators sharing a saga log" },
    { "n", CK_OPT_INT, NULL, 1, 10000000, "N",
      "checkouts to run, -n N (default 20000); --verify: every W1 checkout found" },
    { "c", CK_OPT_INT, "64", 1, 100000, "C", "checkouts in flight, -c C" },
    { "first", CK_OPT_INT, "0", 0, 1000000000000000L, "K", "the first checkout k" },
    { "prefix", CK_OPT_STRING, NULL, 0, 0, "P", "put P before W1's ids (runs sharing a coordinator)" },
    { "json", CK_OPT_BOOL, NULL, 0, 0, NULL, "print the report as one JSON object" },
    { "timeout", CK_OPT_INT, "30000", 1, 86400000, "MS", "per checkout: wait this long for its RESULT" },
    { "resubmit-ms", CK_OPT_INT, "0", 0, 86400000, "MS",
      "send a checkout again (same id) after MS without a RESULT; 0: never" },
    { "outcomes", CK_OPT_STRING, NULL, 0, 0, "FILE",
      "write each checkout's first RESULT to FILE: checkout_id saga_id status reason" },
    { "clients", CK_OPT_INT, "1", 1, 64, "N", "DEALER sockets the checkouts are spread over" },
    { "pids", CK_OPT_LIST, NULL, 0, 0, "PID,...",
      "print the peak RSS (VmHWM) of these processes at the end (repeatable)" },
    { "rss-of", CK_OPT_LIST, NULL, 0, 0, "NAME=PID,...", "as --pids, naming each process" },
    { "verify", CK_OPT_BOOL, NULL, 0, 0, NULL,
      "check W1's invariants in the SQLite files of --data instead of running (sagas"
      " older than the coordinator's --retention are gone: verify before, or run with 0)" },
    { "data", CK_OPT_STRING, NULL, 0, 0, "DIR",
      "--verify: the directory of coordinator.db, inventory.db, payment.db, order.db" },
    SAGA_DEF_STEPS_OPTION,
    CK_CURVE_CLIENT_OPTIONS,
    { .name = NULL }
};

//  True when argv token arg is a flag whose value is the next token
static bool
s_takes_value (const char *arg)
{
    if (strncmp (arg, "--", 2) != 0 || strchr (arg, '='))
        return false;
    for (const ck_option_t *option = s_options; option->name; option++)
        if (streq (arg + 2, option->name))
            return option->kind != CK_OPT_BOOL;
    return streq (arg, "--config");
}

//  The config parser knows long flags only: a copy of argv with -n and -c
//  spelled --n and --c (unless the token is another flag's value)
static char **
s_long_flags (int argc, char **argv)
{
    char **args = (char **) zmalloc ((size_t) (argc + 1) * sizeof (char *));
    for (int i = 0; i < argc; i++) {
        bool value = i > 1 && s_takes_value (argv [i - 1]);
        if (!value && streq (argv [i], "-n"))
            args [i] = "--n";
        else
        if (!value && streq (argv [i], "-c"))
            args [i] = "--c";
        else
            args [i] = argv [i];
    }
    return args;
}


//  Reads --pids and --rss-of into rss; 0, or 2 after reporting
static int
s_parse_rss (ck_config_t *flags, bench_rss_t *rss, size_t *count)
{
    const char *names [] = { "pids", "rss-of" };
    for (int n = 0; n < 2; n++)
        for (size_t i = 0; i < ck_config_list_size (flags, names [n]); i++) {
            char why [128];
            if (bench_report_parse_pids (ck_config_list_at (flags, names [n], i), n == 1, rss,
                                         BENCH_REPORT_MAX_PIDS, count, why, sizeof why) == -1) {
                ck_config_usage_error (flags, "--%s: %s", names [n], why);
                return 2;
            }
        }
    return 0;
}

static int
s_verify (ck_config_t *flags)
{
    bench_verify_config_t config = {
        .data_dir = ck_config_str (flags, "data"),
        .prefix = ck_config_str (flags, "prefix"),
        .first = (uint64_t) ck_config_int (flags, "first"),
        .count = (uint64_t) ck_config_int (flags, "n"),
        .range_given = ck_config_str (flags, "n") != NULL,
        .max_shown = ck_config_bool (flags, "verbose")? 0: MAX_SHOWN
    };
    if (!config.data_dir) {
        ck_config_usage_error (flags, "--verify needs --data DIR");
        return 2;
    }
    int64_t violations = bench_verify_run (&config, stdout);
    fflush (stdout);
    return violations == 0? 0: 1;
}

static void
s_report (ck_config_t *flags, bench_load_t *load, const bench_load_config_t *config,
          bench_rss_t *rss, size_t rss_count, bool passed)
{
    bench_report_read_rss (rss, rss_count);
    bench_report_t report = {
        .config = config, .stats = bench_load_stats (load), .latency = bench_load_latency (load),
        .self_rss_kib = bench_report_self_rss (), .rss = rss, .rss_count = rss_count,
        .passed = passed
    };
    if (ck_config_bool (flags, "json"))
        bench_report_print_json (&report, stdout);
    else
        bench_report_print_text (&report, stdout);
    fflush (stdout);
}

//  Joins the --frontend values into one comma-separated list, checking
//  each endpoint; 0, or -1 after a usage error
static int
s_frontends (ck_config_t *flags, char *joined, size_t size)
{
    size_t used = 0, count = 0;
    joined [0] = 0;
    for (size_t i = 0; i < ck_config_list_size (flags, "frontend"); i++) {
        char *list = strdup (ck_config_list_at (flags, "frontend", i));
        assert (list);
        char *rest = list;
        const char *endpoint;
        int rc = 0;
        while (rc == 0 && (endpoint = strsep (&rest, ","))) {
            if (!ck_endpoint_valid (endpoint) || ++count > CK_CLIENT_FRONTENDS_MAX) {
                ck_config_usage_error (flags, "--frontend: '%.200s' is not a tcp://, ipc:// "
                                       "or inproc:// endpoint, or one more than %d", endpoint,
                                       CK_CLIENT_FRONTENDS_MAX);
                rc = -1;
            }
            else
                used += (size_t) snprintf (joined + used, size - used, "%s%s",
                                           used? ",": "", endpoint);
        }
        free (list);
        if (rc)
            return -1;
    }
    return 0;
}

static int
s_load (ck_config_t *flags)
{
    bench_rss_t rss [BENCH_REPORT_MAX_PIDS];
    size_t rss_count = 0;
    char frontend [CK_CLIENT_FRONTENDS_MAX * (CK_TEXT_SIZE + 1)];
    if (s_frontends (flags, frontend, sizeof frontend))
        return 2;
    if (s_parse_rss (flags, rss, &rss_count))
        return 2;
    ck_curve_keys_t curve;
    if (ck_curve_client_flags (flags, &curve))
        return 2;
    bench_load_config_t config = {
        .frontend = frontend,
        .curve = curve,
        .prefix = ck_config_str (flags, "prefix"),
        .first = (uint64_t) ck_config_int (flags, "first"),
        .count = ck_config_str (flags, "n")? (uint64_t) ck_config_int (flags, "n"): DEFAULT_N,
        .concurrency = (uint32_t) ck_config_int (flags, "c"),
        .clients = (uint32_t) ck_config_int (flags, "clients"),
        .timeout_ms = (int) ck_config_int (flags, "timeout"),
        .resubmit_ms = (int) ck_config_int (flags, "resubmit-ms"),
        .progress = isatty (STDERR_FILENO) == 1,
        .verbose = ck_config_bool (flags, "verbose")
    };
    if (config.clients > config.concurrency)
        config.clients = config.concurrency;
    const char *outcomes = ck_config_str (flags, "outcomes");
    if (outcomes && !(config.outcomes = fopen (outcomes, "w"))) {
        ck_config_usage_error (flags, "--outcomes: cannot write '%s': %s", outcomes,
                               strerror (errno));
        return 2;
    }
    bench_load_t *load = bench_load_new (&config);
    bool passed = false;
    if (load) {
        passed = bench_load_run (load) == 0;
        s_report (flags, load, &config, rss, rss_count, passed);
        bench_load_destroy (&load);
    }
    else
        fprintf (stderr, "checkout-bench: could not connect to %s\n", frontend);
    if (config.outcomes && fclose (config.outcomes) != 0) {
        fprintf (stderr, "checkout-bench: could not write %s: %s\n", outcomes, strerror (errno));
        passed = false;
    }
    return passed? 0: 1;
}

int
main (int argc, char *argv [])
{
    ck_program_t program = {
        .name = "checkout-bench",
        .summary = "runs workload W1 against a coordinator (or several sharing a saga log), "
                   "or --verify its invariants "
                   "in the SQLite files",
        .options = s_options,
        .examples =
            "  checkout-bench --n 20000 --c 64\n"
            "  checkout-bench --verify --data data --n 20000\n"
            "  (scripts/bench starts a fresh group, runs both and prints the figures)\n"
    };
    char **args = s_long_flags (argc, argv);
    int exit_code = 0;
    ck_config_t *flags = ck_config_new (&program, argc, args, &exit_code);
    if (flags) {
        ck_checkout_t probe;
        const char *prefix = ck_config_str (flags, "prefix");
        if (w1_checkout_prefixed (prefix, 0, &probe) == -1) {
            ck_config_usage_error (flags, "--prefix: at most %d of [A-Za-z0-9._:-]",
                                   W1_PREFIX_MAX);
            exit_code = 2;
        }
        else
        if ((exit_code = saga_def_load_flag (flags)) == 0) {
            //  The report goes to stdout, so logs must not
            zsys_init ();
            zsys_set_logstream (stderr);
            zsys_set_logident ("checkout-bench");
            exit_code = ck_config_bool (flags, "verify")? s_verify (flags): s_load (flags);
        }
    }
    ck_config_destroy (&flags);
    free (args);
    return exit_code;
}

/*  bench_report.c - what checkout-bench prints after a run, as text or JSON
    Reads peak RSS from getrusage and /proc; formats, never decides.
*/
#include <assert.h>
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include "bench_report.h"

//  The percentiles shown, and their JSON keys
static const struct { double p; const char *label; const char *key; } s_percentiles [] = {
    { 50.0, "p50", "p50" }, { 90.0, "p90", "p90" }, { 99.0, "p99", "p99" },
    { 99.9, "p99.9", "p999" }
};
#define PERCENTILE_COUNT (sizeof s_percentiles / sizeof s_percentiles [0])

static int
s_parse_pid (const char *text, size_t len, long *pid)
{
    char digits [24];
    if (len == 0 || len >= sizeof digits)
        return -1;
    memcpy (digits, text, len);
    digits [len] = 0;
    char *end = NULL;
    errno = 0;
    long value = strtol (digits, &end, 10);
    if (errno || *end || !isdigit ((unsigned char) digits [0]) || value <= 0)
        return -1;
    *pid = value;
    return 0;
}

//  Parses one "PID" or "NAME=PID" item of len bytes into entry
static int
s_parse_item (const char *item, size_t len, bool named, bench_rss_t *entry)
{
    memset (entry, 0, sizeof *entry);
    const char *equals = named? memchr (item, '=', len): NULL;
    if (named && (!equals || equals == item
              ||  (size_t) (equals - item) >= BENCH_REPORT_NAME_SIZE))
        return -1;
    if (named) {
        memcpy (entry->name, item, (size_t) (equals - item));
        len -= (size_t) (equals + 1 - item);
        item = equals + 1;
    }
    return s_parse_pid (item, len, &entry->pid);
}

//  Appends the processes of spec; 0, or -1 with why.
int
bench_report_parse_pids (const char *spec, bool named, bench_rss_t *rss, size_t max,
                         size_t *count, char *why, size_t size)
{
    assert (spec && rss && count && why);
    const char *item = spec;
    while (true) {
        size_t len = strcspn (item, ",");
        if (*count >= max) {
            snprintf (why, size, "more than %zu processes", max);
            return -1;
        }
        if (s_parse_item (item, len, named, &rss [*count]) == -1) {
            snprintf (why, size, "'%.*s' is not %s", (int) (len < 64? len: 64), item,
                      named? "NAME=PID": "a PID");
            return -1;
        }
        (*count)++;
        if (item [len] == 0)
            return 0;
        item += len + 1;
    }
}

//  Reads the first line of path starting with key into value (KiB); -1 if none
static long
s_status_kib (long pid, const char *key)
{
    char path [64], line [256];
    snprintf (path, sizeof path, "/proc/%ld/status", pid);
    FILE *file = fopen (path, "r");
    if (!file)
        return -1;
    long value = -1;
    size_t key_len = strlen (key);
    while (fgets (line, sizeof line, file))
        if (strncmp (line, key, key_len) == 0) {
            value = strtol (line + key_len, NULL, 10);
            break;
        }
    fclose (file);
    return value;
}

static void
s_comm (long pid, char *name, size_t size)
{
    char path [64];
    snprintf (path, sizeof path, "/proc/%ld/comm", pid);
    FILE *file = fopen (path, "r");
    name [0] = 0;
    if (file) {
        if (fgets (name, (int) size, file))
            name [strcspn (name, "\n")] = 0;
        fclose (file);
    }
    if (name [0] == 0)
        snprintf (name, size, "pid-%ld", pid);
}

//  Reads VmHWM of each process and names the unnamed. Can't fail.
void
bench_report_read_rss (bench_rss_t *rss, size_t count)
{
    for (size_t i = 0; i < count; i++) {
        if (rss [i].name [0] == 0)
            s_comm (rss [i].pid, rss [i].name, sizeof rss [i].name);
        rss [i].hwm_kib = s_status_kib (rss [i].pid, "VmHWM:");
    }
}

//  Returns this process's peak RSS in KiB. Can't fail.
long
bench_report_self_rss (void)
{
    struct rusage usage;
    if (getrusage (RUSAGE_SELF, &usage) != 0)
        return -1;
    return usage.ru_maxrss;             //  KiB on Linux
}

//  -------------------------------------------------------------------------
//  Text

static void
s_text_rss (const bench_report_t *report, FILE *out)
{
    fprintf (out, "peak RSS      bench %.1f MiB", (double) report->self_rss_kib / 1024.0);
    for (size_t i = 0; i < report->rss_count; i++) {
        const bench_rss_t *rss = &report->rss [i];
        if (rss->hwm_kib < 0)
            fprintf (out, "; %s (%ld) unreadable", rss->name, rss->pid);
        else
            fprintf (out, "; %s (%ld) %.1f MiB", rss->name, rss->pid,
                     (double) rss->hwm_kib / 1024.0);
    }
    fprintf (out, "\n");
}

static void
s_text_outcomes (const bench_report_t *report, FILE *out)
{
    const bench_tally_t *tally = &report->stats->tally;
    fprintf (out, "%-27s %10s %10s\n", "outcome", "expected", "got");
    for (int i = 0; i < BENCH_OUTCOME_COUNT; i++)
        fprintf (out, "%-27s %10llu %10llu%s\n", bench_outcome_name ((bench_outcome_t) i),
                 (unsigned long long) tally->expected [i],
                 (unsigned long long) tally->got [i],
                 tally->expected [i] != tally->got [i]? "   <- differs": "");
    for (int code = CK_OK + 1; code < CK_ERROR_CODE_COUNT; code++)
        if (report->stats->errors [code])
            fprintf (out, "  error %-19s %21llu\n", ck_error_code_name ((ck_error_code_t) code),
                     (unsigned long long) report->stats->errors [code]);
}

static void
s_text_counters (const bench_load_stats_t *stats, FILE *out)
{
    fprintf (out, "mismatches %llu, overloaded retries %llu, send retries %llu, late %llu, "
             "duplicates %llu, unmatched %llu, malformed %llu\n",
             (unsigned long long) stats->mismatches, (unsigned long long) stats->overloaded,
             (unsigned long long) stats->send_failures, (unsigned long long) stats->late,
             (unsigned long long) stats->duplicates, (unsigned long long) stats->unmatched,
             (unsigned long long) stats->malformed);
    if (stats->resubmits || stats->outcome_errors)
        fprintf (out, "resubmitted after silence %llu, outcome lines not written %llu\n",
                 (unsigned long long) stats->resubmits,
                 (unsigned long long) stats->outcome_errors);
    if (stats->redirects)
        fprintf (out, "not_owner redirects followed %llu\n",
                 (unsigned long long) stats->redirects);
    for (uint32_t i = 0; i < stats->example_count; i++)
        fprintf (out, "  mismatch: %s\n", stats->examples [i]);
}

//  Prints the report for people. Can't fail.
void
bench_report_print_text (const bench_report_t *report, FILE *out)
{
    assert (report && out);
    const bench_load_config_t *config = report->config;
    const bench_load_stats_t *stats = report->stats;
    fprintf (out, "checkout-bench W1: k=%llu..%llu (N=%llu) C=%u clients=%u frontend=%s%s%s\n",
             (unsigned long long) config->first,
             (unsigned long long) (config->first + config->count - 1),
             (unsigned long long) config->count, config->concurrency, config->clients,
             config->frontend, config->prefix? " prefix=": "", config->prefix? config->prefix: "");
    fprintf (out, "throughput    %.1f sagas/s (%llu results in %.3f s)\n", stats->throughput,
             (unsigned long long) stats->results, (double) stats->elapsed_us / 1e6);
    fprintf (out, "latency ms   ");
    for (size_t i = 0; i < PERCENTILE_COUNT; i++)
        fprintf (out, " %s %.3f", s_percentiles [i].label,
                 (double) histogram_percentile (report->latency, s_percentiles [i].p) / 1000.0);
    fprintf (out, " max %.3f\n", (double) histogram_max (report->latency) / 1000.0);
    s_text_outcomes (report, out);
    s_text_counters (stats, out);
    s_text_rss (report, out);
    fprintf (out, "result        %s%s\n", report->passed? "PASS": "FAIL",
             stats->interrupted? " (interrupted)":
             stats->unanswered? " (no coordinator answered)": "");
}

//  -------------------------------------------------------------------------
//  JSON

//  Prints text as a JSON string
static void
s_json_string (FILE *out, const char *text)
{
    fputc ('"', out);
    for (const unsigned char *c = (const unsigned char *) text; *c; c++) {
        if (*c == '"' || *c == '\\')
            fprintf (out, "\\%c", *c);
        else
        if (*c < 0x20 || *c == 0x7f)
            fprintf (out, "\\u%04x", *c);
        else
            fputc (*c, out);
    }
    fputc ('"', out);
}

static void
s_json_outcomes (const bench_report_t *report, FILE *out)
{
    const bench_tally_t *tally = &report->stats->tally;
    fprintf (out, "\"outcomes\":{");
    for (int i = 0; i < BENCH_OUTCOME_COUNT; i++)
        fprintf (out, "%s\"%s\":{\"expected\":%llu,\"got\":%llu}", i? ",": "",
                 bench_outcome_name ((bench_outcome_t) i),
                 (unsigned long long) tally->expected [i], (unsigned long long) tally->got [i]);
    fprintf (out, "},\"errors\":{");
    const char *separator = "";
    for (int code = CK_OK + 1; code < CK_ERROR_CODE_COUNT; code++)
        if (report->stats->errors [code]) {
            fprintf (out, "%s\"%s\":%llu", separator, ck_error_code_name ((ck_error_code_t) code),
                     (unsigned long long) report->stats->errors [code]);
            separator = ",";
        }
    fprintf (out, "},");
}

static void
s_json_latency (const bench_report_t *report, FILE *out)
{
    fprintf (out, "\"latency_us\":{\"count\":%llu",
             (unsigned long long) histogram_count (report->latency));
    for (size_t i = 0; i < PERCENTILE_COUNT; i++)
        fprintf (out, ",\"%s\":%llu", s_percentiles [i].key,
                 (unsigned long long) histogram_percentile (report->latency, s_percentiles [i].p));
    fprintf (out, ",\"min\":%llu,\"max\":%llu},",
             (unsigned long long) histogram_min (report->latency),
             (unsigned long long) histogram_max (report->latency));
}

static void
s_json_counters (const bench_load_stats_t *stats, FILE *out)
{
    fprintf (out, "\"results\":%llu,\"mismatches\":%llu,\"overloaded_retries\":%llu,"
             "\"send_retries\":%llu,\"late\":%llu,\"duplicates\":%llu,\"unmatched\":%llu,"
             "\"malformed\":%llu,\"resubmits\":%llu,\"outcome_errors\":%llu,\"redirects\":%llu,"
             "\"examples\":[",
             (unsigned long long) stats->results, (unsigned long long) stats->mismatches,
             (unsigned long long) stats->overloaded, (unsigned long long) stats->send_failures,
             (unsigned long long) stats->late, (unsigned long long) stats->duplicates,
             (unsigned long long) stats->unmatched, (unsigned long long) stats->malformed,
             (unsigned long long) stats->resubmits, (unsigned long long) stats->outcome_errors,
             (unsigned long long) stats->redirects);
    for (uint32_t i = 0; i < stats->example_count; i++) {
        fprintf (out, "%s", i? ",": "");
        s_json_string (out, stats->examples [i]);
    }
    fprintf (out, "],");
}

static void
s_json_rss (const bench_report_t *report, FILE *out)
{
    fprintf (out, "\"rss_kib\":{\"bench\":%ld,\"processes\":[", report->self_rss_kib);
    for (size_t i = 0; i < report->rss_count; i++) {
        const bench_rss_t *rss = &report->rss [i];
        fprintf (out, "%s{\"name\":", i? ",": "");
        s_json_string (out, rss->name);
        fprintf (out, ",\"pid\":%ld,\"peak\":", rss->pid);
        if (rss->hwm_kib < 0)
            fprintf (out, "null}");
        else
            fprintf (out, "%ld}", rss->hwm_kib);
    }
    fprintf (out, "]},");
}

//  Prints the report as one JSON object on one line. Can't fail.
void
bench_report_print_json (const bench_report_t *report, FILE *out)
{
    assert (report && out);
    const bench_load_config_t *config = report->config;
    const bench_load_stats_t *stats = report->stats;
    fprintf (out, "{\"workload\":\"W1\",\"first\":%llu,\"n\":%llu,\"concurrency\":%u,"
             "\"clients\":%u,\"frontend\":", (unsigned long long) config->first,
             (unsigned long long) config->count, config->concurrency, config->clients);
    s_json_string (out, config->frontend);
    fprintf (out, ",\"prefix\":");
    s_json_string (out, config->prefix? config->prefix: "");
    fprintf (out, ",\"elapsed_s\":%.6f,\"throughput\":%.1f,",
             (double) stats->elapsed_us / 1e6, stats->throughput);
    s_json_latency (report, out);
    s_json_outcomes (report, out);
    s_json_counters (stats, out);
    s_json_rss (report, out);
    fprintf (out, "\"interrupted\":%s,\"unanswered\":%s,\"passed\":%s}\n",
             stats->interrupted? "true": "false", stats->unanswered? "true": "false",
             report->passed? "true": "false");
}

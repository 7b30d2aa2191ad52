/*  bench_report.h - what checkout-bench prints after a run, as text or JSON
    Throughput, latency percentiles, outcomes against the plan, peak RSS.
*/
#ifndef BENCH_REPORT_H_INCLUDED
#define BENCH_REPORT_H_INCLUDED

#include <stdbool.h>
#include <stdio.h>
#include "bench_load.h"

#ifdef __cplusplus
extern "C" {
#endif

#define BENCH_REPORT_MAX_PIDS   64
#define BENCH_REPORT_NAME_SIZE  64

//  Peak resident memory of one process of the group
typedef struct {
    char name [BENCH_REPORT_NAME_SIZE]; //  given (NAME=PID), else from /proc
    long pid;
    long hwm_kib;                       //  VmHWM, or -1 when unreadable
} bench_rss_t;

//  Everything one report shows; all borrowed
typedef struct {
    const bench_load_config_t *config;
    const bench_load_stats_t *stats;
    histogram_t *latency;
    long self_rss_kib;                  //  the bench's own peak (getrusage)
    const bench_rss_t *rss;
    size_t rss_count;
    bool passed;
} bench_report_t;

//  Appends the processes of spec to rss [*count..max): "PID,PID,..." when
//  named is false, "NAME=PID,..." when true.  Returns 0, or -1 with a
//  one-line reason in why [0..size) (bad syntax, too many).
int bench_report_parse_pids (const char *spec, bool named, bench_rss_t *rss, size_t max,
                             size_t *count, char *why, size_t size);

//  Reads VmHWM from /proc/PID/status for each entry (hwm_kib -1 when the
//  process is gone) and names unnamed ones after /proc/PID/comm. Can't fail.
void bench_report_read_rss (bench_rss_t *rss, size_t count);

//  The peak RSS of this process in KiB (getrusage). Can't fail.
long bench_report_self_rss (void);

//  Prints the report for people. Can't fail.
void bench_report_print_text (const bench_report_t *report, FILE *out);

//  Prints the report as one JSON object on one line. Can't fail.
void bench_report_print_json (const bench_report_t *report, FILE *out);

#ifdef __cplusplus
}
#endif

#endif

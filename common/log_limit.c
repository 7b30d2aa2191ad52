/*  log_limit.c - rate-limited warnings, so that a flood of bad input cannot flood the log
    One process-wide table of kinds (a kind is a call site's format string).

    One client sending bad frames as fast as it could made the coordinator
    write 3.9 MB of log a second: one line per message.  Each kind of
    warning now gets LOG_LIMIT_LINES lines a second; the lines held back are
    counted and summarised at most every LOG_LIMIT_SUMMARY_S seconds, so a
    flood costs a few hundred bytes a second whatever its rate.
*/
#include <czmq.h>
#include <stdarg.h>
#include <stdbool.h>
#include "log_limit.h"

typedef struct {
    const char *format;                 //  the kind; NULL when the slot is free
    int64_t window_ms;                  //  start of the current second
    uint32_t lines;                     //  lines logged in it
    uint64_t held;                      //  lines held back since the last summary
    int64_t held_since_ms;              //  when the first of them was held back
} kind_t;

static pthread_mutex_t s_mutex = PTHREAD_MUTEX_INITIALIZER;
static kind_t s_kinds [LOG_LIMIT_KINDS];
static uint64_t s_suppressed;
static int64_t s_next_scan_ms;

//  The slot of format; the last slot is shared by kinds past the table
static kind_t *
s_kind (const char *format)
{
    for (size_t i = 0; i < LOG_LIMIT_KINDS; i++) {
        if (s_kinds [i].format == format)
            return &s_kinds [i];
        if (!s_kinds [i].format) {
            s_kinds [i].format = format;
            return &s_kinds [i];
        }
    }
    return &s_kinds [LOG_LIMIT_KINDS - 1];
}

//  Logs and resets the held-back count of kind; called with the mutex held
static void
s_summarise (kind_t *kind, int64_t now_ms)
{
    const char *cut = strchr (kind->format, '%');
    int prefix = cut? (int) (cut - kind->format): (int) strlen (kind->format);
    int64_t seconds = (now_ms - kind->held_since_ms + 999) / 1000;
    zsys_warning ("%.*s... and %" PRIu64 " more like this in the last %" PRId64 " s",
                  prefix, kind->format, kind->held, seconds > 0? seconds: 1);
    kind->held = 0;
}

static void
s_flush (int64_t now_ms, bool force)
{
    for (size_t i = 0; i < LOG_LIMIT_KINDS && s_kinds [i].format; i++) {
        kind_t *kind = &s_kinds [i];
        if (kind->held
        && (force || now_ms - kind->held_since_ms >= LOG_LIMIT_SUMMARY_S * 1000))
            s_summarise (kind, now_ms);
    }
    s_next_scan_ms = now_ms + 1000;
}

void
log_limit_warning (const char *format, ...)
{
    assert (format);
    int64_t now_ms = zclock_mono ();
    pthread_mutex_lock (&s_mutex);
    if (now_ms >= s_next_scan_ms)
        s_flush (now_ms, false);
    kind_t *kind = s_kind (format);
    if (now_ms - kind->window_ms >= 1000) {
        kind->window_ms = now_ms;
        kind->lines = 0;
    }
    bool log = kind->lines < LOG_LIMIT_LINES;
    if (log)
        kind->lines++;
    else {
        if (kind->held++ == 0)
            kind->held_since_ms = now_ms;
        s_suppressed++;
    }
    pthread_mutex_unlock (&s_mutex);
    if (log) {
        char line [1024];
        va_list args;
        va_start (args, format);
        vsnprintf (line, sizeof line, format, args);
        va_end (args);
        zsys_warning ("%s", line);
    }
}

void
log_limit_flush (bool force)
{
    pthread_mutex_lock (&s_mutex);
    s_flush (zclock_mono (), force);
    pthread_mutex_unlock (&s_mutex);
}

uint64_t
log_limit_suppressed (void)
{
    pthread_mutex_lock (&s_mutex);
    uint64_t suppressed = s_suppressed;
    pthread_mutex_unlock (&s_mutex);
    return suppressed;
}

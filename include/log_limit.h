/*  log_limit.h - rate-limited warnings, so that a flood of bad input cannot flood the log
    At most LOG_LIMIT_LINES lines a second per kind; the rest are counted and summarised.
*/
#ifndef CK_LOG_LIMIT_H_INCLUDED
#define CK_LOG_LIMIT_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>

#define LOG_LIMIT_LINES     5           //  lines a second per kind, then counted
#define LOG_LIMIT_SUMMARY_S 10          //  a kind's count of held-back lines is
                                        //  logged at most this often
#define LOG_LIMIT_KINDS     64          //  kinds tracked; more share one slot

//  Logs a zsys_warning unless this kind of warning has already used its
//  lines this second; then it only counts it.  The kind is the format
//  string itself (its address), so each call site is its own kind.  A
//  count of held-back lines is logged as "<format's text up to its first
//  %>... and N more like this in the last T s" by a later call, of any
//  kind, or by log_limit_flush.  Thread-safe; can't fail.
void log_limit_warning (const char *format, ...)
    __attribute__ ((format (printf, 1, 2)));

//  Logs the count of every kind whose summary is due (or of every kind
//  with held-back lines, when force is true).  Can't fail.
void log_limit_flush (bool force);

//  Lines held back since the process started, all kinds together.
uint64_t log_limit_suppressed (void);

#endif

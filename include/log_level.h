/*  log_level.h - a daemon's log: stderr, a level, and SIGHUP to change it
    What the coordinator and the participants share about their log lines.

    czmq's zsys_* functions write a line that starts with its level's
    letter (E, W, N, I, D) to a stream, stdout by default.  A daemon calls
    ck_log_start: the lines go to stderr through a filter that drops those
    below the level (--log-level), and SIGHUP no longer ends the process but
    asks it to read its level again (ck_log_hangup).  ZSYS_LOGSYSTEM=true in
    the environment sends czmq's lines to syslog instead, which filters by
    its own rules.
*/
#ifndef CK_LOG_LEVEL_H_INCLUDED
#define CK_LOG_LEVEL_H_INCLUDED

#include <stdbool.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef enum {
    CK_LOG_ERROR, CK_LOG_WARNING, CK_LOG_NOTICE, CK_LOG_INFO, CK_LOG_DEBUG
} ck_log_level_t;

//  The --log-level option, for a program's option table
#define CK_LOG_LEVEL_OPTION \
    { "log-level", CK_OPT_STRING, "info", 0, 0, "LEVEL", \
      "error, warning, notice, info or debug (--verbose: debug); SIGHUP reads it again" }

//  Sets *level from its name.  Returns 0, or -1 when name is none of them.
int ck_log_level_parse (const char *name, ck_log_level_t *level);

//  The level a parsed command line asks for: its --log-level, or debug
//  with --verbose (whose lines are debug lines).  Returns 0, or -1 after
//  reporting a bad --log-level as a usage error.
struct _ck_config_t;
int ck_log_level_of (struct _ck_config_t *config, ck_log_level_t *level);

//  The level's name.  Can't fail.
const char *ck_log_level_name (ck_log_level_t level);

//  Sends czmq's log lines to stderr, dropping those below level, and
//  makes SIGHUP a request (ck_log_hangup) instead of the end of the
//  process.  Call once, after zsys_init.
void ck_log_start (ck_log_level_t level);

//  Changes the level.  Can't fail.
void ck_log_set_level (ck_log_level_t level);

//  True once per SIGHUP received since the last call.  Can't fail.
bool ck_log_hangup (void);

//  After a SIGHUP: parses the program's command line (and so its --config
//  file) again and applies its --log-level.  A line that no longer parses
//  is reported and the level stays.  Can't fail.
struct _ck_program_t;
void ck_log_reload (const struct _ck_program_t *program, int argc, char **argv);

#ifdef __cplusplus
}
#endif

#endif

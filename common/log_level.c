/*  log_level.c - a daemon's log: stderr, a level, and SIGHUP to change it
    A stdio stream whose writes drop the lines below the level.
*/
//  fopencookie is GNU: the build defines _GNU_SOURCE
#include <czmq.h>
#include <errno.h>
#include <signal.h>
#include <stdatomic.h>
#include <unistd.h>
#include "checkout/config.h"
#include "log_level.h"

static const char *s_names [] = { "error", "warning", "notice", "info", "debug" };
static const char s_letters [] = "EWNID";      //  czmq's first character, by level

static atomic_int s_level = CK_LOG_INFO;
static volatile sig_atomic_t s_hangups;

//  Where the line being written stands: at its start, kept, or dropped.
//  The stream's lock (czmq's threads share it) serialises every write.
static enum { LINE_START, LINE_KEPT, LINE_DROPPED } s_line = LINE_START;

int
ck_log_level_parse (const char *name, ck_log_level_t *level)
{
    for (int index = 0; name && index <= CK_LOG_DEBUG; index++)
        if (strcmp (name, s_names [index]) == 0) {
            *level = (ck_log_level_t) index;
            return 0;
        }
    return -1;
}

int
ck_log_level_of (ck_config_t *config, ck_log_level_t *level)
{
    if (ck_log_level_parse (ck_config_str (config, "log-level"), level)) {
        ck_config_usage_error (config, "--log-level: '%s' is not error, warning, notice, info"
                               " or debug", ck_config_str (config, "log-level"));
        return -1;
    }
    if (ck_config_bool (config, "verbose"))
        *level = CK_LOG_DEBUG;
    return 0;
}

const char *
ck_log_level_name (ck_log_level_t level)
{
    return level >= CK_LOG_ERROR && level <= CK_LOG_DEBUG? s_names [level]: "?";
}

//  Writes all of data to stderr, retrying short writes; a log that cannot
//  be written has nowhere to say so
static void
s_write_all (const char *data, size_t size)
{
    while (size > 0) {
        ssize_t written = write (STDERR_FILENO, data, size);
        if (written < 0 && errno == EINTR)
            continue;
        if (written <= 0)
            return;
        data += written;
        size -= (size_t) written;
    }
}

//  Whether a line that starts with letter is kept at the current level
//  (a line that is not czmq's, e.g. a library's, is)
static bool
s_keep (char letter)
{
    const char *found = strchr (s_letters, letter);
    return letter == 0 || !found || (int) (found - s_letters) <= atomic_load (&s_level);
}

static ssize_t
s_filter_write (void *cookie, const char *data, size_t size)
{
    (void) cookie;
    size_t at = 0;
    while (at < size) {
        if (s_line == LINE_START)
            s_line = s_keep (data [at])? LINE_KEPT: LINE_DROPPED;
        const char *newline = (const char *) memchr (data + at, '\n', size - at);
        size_t end = newline? (size_t) (newline - data) + 1: size;
        if (s_line == LINE_KEPT)
            s_write_all (data + at, end - at);
        if (newline)
            s_line = LINE_START;
        at = end;
    }
    return (ssize_t) size;
}

static void
s_on_hangup (int signal)
{
    (void) signal;
    s_hangups = s_hangups + 1;
}

void
ck_log_start (ck_log_level_t level)
{
    ck_log_set_level (level);
    cookie_io_functions_t functions = { .write = s_filter_write };
    FILE *stream = fopencookie (NULL, "w", functions);
    if (stream) {
        setvbuf (stream, NULL, _IOLBF, 0);
        zsys_set_logstream (stream);    //  lives as long as the process
    }
    else
        zsys_set_logstream (stderr);
    struct sigaction action = { .sa_handler = s_on_hangup, .sa_flags = SA_RESTART };
    sigemptyset (&action.sa_mask);
    sigaction (SIGHUP, &action, NULL);
}

void
ck_log_set_level (ck_log_level_t level)
{
    atomic_store (&s_level, (int) level);
}

bool
ck_log_hangup (void)
{
    if (s_hangups == 0)
        return false;
    s_hangups = 0;
    return true;
}

void
ck_log_reload (const ck_program_t *program, int argc, char **argv)
{
    int exit_code = 0;
    ck_config_t *config = ck_config_new (program, argc, argv, &exit_code);
    ck_log_level_t level;
    if (config && ck_log_level_of (config, &level) == 0) {
        ck_log_set_level (level);
        zsys_notice ("%s: SIGHUP: log level %s", program->name, ck_log_level_name (level));
    }
    else
        zsys_warning ("%s: SIGHUP: the configuration does not parse now; the log level stays",
                      program->name);
    ck_config_destroy (&config);
}

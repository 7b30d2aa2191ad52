/*  process_helpers.h - child processes and temp dirs for end-to-end tests
    Spawn an executable with its output in a file, stop it, reap it, clean up.

    Header-only (static inline) so tests and tools can share it without a
    library of their own.  Every child gets PR_SET_PDEATHSIG SIGKILL, so a
    test runner killed by a timeout does not leave participants behind.
*/
#ifndef CK_PROCESS_HELPERS_H_INCLUDED
#define CK_PROCESS_HELPERS_H_INCLUDED

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <regex.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

//  Fills out with the directory of the executables: $CK_BIN_DIR (CTest
//  sets it), else the running test's own directory (a runner started by
//  hand lives in the same bin dir).  Returns 0, or -1.
static inline int
ph_bin_dir (char *out, size_t size)
{
    const char *env = getenv ("CK_BIN_DIR");
    if (env) {
        int n = snprintf (out, size, "%s", env);
        return n > 0 && (size_t) n < size? 0: -1;
    }
    ssize_t n = readlink ("/proc/self/exe", out, size - 1);
    if (n <= 0)
        return -1;
    out [n] = 0;
    char *slash = strrchr (out, '/');
    if (slash)
        *slash = 0;
    return 0;
}

//  Fills out with the path of a file of the source tree (relative: e.g.
//  "scripts/seeds/w1-catalog.csv"): under $CK_SOURCE_DIR, else found from
//  the bin dir (build/bin).  Returns 0, or -1.
static inline int
ph_source_file (const char *relative, char *out, size_t size)
{
    const char *source = getenv ("CK_SOURCE_DIR");
    char bin [PATH_MAX];
    int n;
    if (source)
        n = snprintf (out, size, "%s/%s", source, relative);
    else
    if (ph_bin_dir (bin, sizeof bin) == 0)
        n = snprintf (out, size, "%s/../../%s", bin, relative);
    else
        return -1;
    return n > 0 && (size_t) n < size? 0: -1;
}

//  Fills out with the W1 catalog the inventory starts from.  0, or -1.
static inline int
ph_w1_seed (char *out, size_t size)
{
    return ph_source_file ("scripts/seeds/w1-catalog.csv", out, size);
}

//  Milliseconds on a monotonic clock.  Can't fail.
static inline int64_t
ph_now_ms (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

//  Makes a fresh directory /tmp/<prefix>-XXXXXX into path (size >= 64).
//  Returns 0, or -1 with errno.
static inline int
ph_mkdtemp (const char *prefix, char *path, size_t size)
{
    snprintf (path, size, "/tmp/%s-XXXXXX", prefix);
    return mkdtemp (path)? 0: -1;
}

static inline int
ph_rm_entry (const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void) sb; (void) flag; (void) ftw;
    remove (path);
    return 0;
}

//  Removes path and everything under it; ignores what is already gone.
static inline void
ph_rmrf (const char *path)
{
    if (path && *path)
        nftw (path, ph_rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

//  Points fd at the end of path (created if needed); leaves fd when
//  path is NULL or can't be opened
static inline void
ph_redirect (int fd, const char *path)
{
    if (!path)
        return;
    int file = open (path, O_WRONLY | O_CREAT | O_APPEND, 0644);
    if (file >= 0) {
        dup2 (file, fd);
        close (file);
    }
}

//  Starts program with argv (argv [0] first, NULL-terminated), stdout
//  appended to out_path and stderr to err_path (NULL: inherited).  Returns
//  the child's pid, or -1 if fork failed.  An exec failure makes the child
//  exit 127.
static inline pid_t
ph_spawn2 (const char *program, char *const argv [], const char *out_path,
           const char *err_path)
{
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid != 0)
        return pid;
    //  Child: die with the test, even if it is killed by a timeout
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    if (getppid () != parent)
        _exit (127);
    ph_redirect (STDOUT_FILENO, out_path);
    ph_redirect (STDERR_FILENO, err_path);
    int null_fd = open ("/dev/null", O_RDONLY);
    if (null_fd >= 0) {
        dup2 (null_fd, STDIN_FILENO);
        close (null_fd);
    }
    execv (program, argv);
    _exit (127);
}

//  As ph_spawn2, with stdout and stderr both appended to log_path.
static inline pid_t
ph_spawn (const char *program, char *const argv [], const char *log_path)
{
    return ph_spawn2 (program, argv, log_path, log_path);
}

//  Waits up to timeout_ms for pid to exit.  Returns 0 and sets *status
//  (may be NULL), or -1 if it is still running (or not our child).
static inline int
ph_wait (pid_t pid, int timeout_ms, int *status)
{
    int64_t deadline = ph_now_ms () + timeout_ms;
    while (true) {
        int st = 0;
        pid_t rc = waitpid (pid, &st, WNOHANG);
        if (rc == pid) {
            if (status)
                *status = st;
            return 0;
        }
        if (rc < 0 && errno != EINTR)
            return -1;
        if (ph_now_ms () >= deadline)
            return -1;
        usleep (5000);
    }
}

//  Exit code of a child that exited normally, or -1 (killed by a signal)
static inline int
ph_exit_code (int status)
{
    return WIFEXITED (status)? WEXITSTATUS (status): -1;
}

//  Sends sig to pid (when pid > 0).  Returns kill's result.
static inline int
ph_signal (pid_t pid, int sig)
{
    return pid > 0? kill (pid, sig): -1;
}

//  True when pid runs with text on its command line (a test's temp dir):
//  a process of ours, not a stranger that got a recycled PID
static inline bool
ph_cmdline_has (pid_t pid, const char *text)
{
    char path [64];
    snprintf (path, sizeof path, "/proc/%d/cmdline", (int) pid);
    FILE *file = fopen (path, "rb");
    if (!file)
        return false;
    char cmdline [4096];
    size_t size = fread (cmdline, 1, sizeof cmdline, file);
    fclose (file);
    return memmem (cmdline, size, text, strlen (text)) != NULL;
}

//  Kills pid with SIGKILL and reaps it; safe on pid <= 0.  Sets *pid_p to
//  0 so a cleanup that runs twice does nothing the second time.
static inline void
ph_kill_reap (pid_t *pid_p)
{
    if (*pid_p > 0) {
        kill (*pid_p, SIGKILL);
        waitpid (*pid_p, NULL, 0);
    }
    *pid_p = 0;
}

//  Runs script with shell -c (e.g. "/bin/sh"), stdout and stderr appended
//  to log_path.  Returns its exit code, or -1 when it did not start, was
//  killed, or ran past timeout_ms (it is then killed).
static inline int
ph_run_shell (const char *shell, const char *script, const char *log_path, int timeout_ms)
{
    char *argv [] = { (char *) shell, "-c", (char *) script, NULL };
    pid_t pid = ph_spawn (shell, argv, log_path);
    int status = 0;
    if (pid <= 0 || ph_wait (pid, timeout_ms, &status)) {
        ph_kill_reap (&pid);
        return -1;
    }
    return ph_exit_code (status);
}

//  Reads a whole small file into a malloc'd NUL-terminated string, or NULL.
static inline char *
ph_slurp (const char *path)
{
    FILE *file = fopen (path, "rb");
    if (!file)
        return NULL;
    size_t capacity = 4096, size = 0;
    char *data = (char *) malloc (capacity);
    size_t got;
    while (data && (got = fread (data + size, 1, capacity - size - 1, file)) > 0) {
        size += got;
        if (capacity - size - 1 == 0) {
            char *bigger = (char *) realloc (data, capacity * 2);
            if (!bigger) {
                free (data);
                data = NULL;
                break;
            }
            data = bigger;
            capacity *= 2;
        }
    }
    fclose (file);
    if (data)
        data [size] = 0;
    return data;
}

//  True when some line of text matches the extended regex pattern (false
//  too when the pattern does not compile)
static inline bool
ph_has_line (const char *text, const char *pattern)
{
    regex_t regex;
    if (regcomp (&regex, pattern, REG_EXTENDED | REG_NOSUB | REG_NEWLINE))
        return false;
    bool found = regexec (&regex, text, 0, NULL, 0) == 0;
    regfree (&regex);
    return found;
}

//  Makes dir/bin, a bin dir whose executables are the real ones in
//  real_bin (symlinks) except checkout-bench, which is a shell script with
//  the body body_format (printf-style; it may wrap the real one).  Writes
//  the new dir into path (size bytes).  Returns 0, or -1 with errno set.
static inline int
ph_fake_bench_bin (char *path, size_t size, const char *dir, const char *real_bin,
                   const char *body_format, ...)
    __attribute__ ((format (printf, 5, 6)));

static inline int
ph_fake_bench_bin (char *path, size_t size, const char *dir, const char *real_bin,
                   const char *body_format, ...)
{
    snprintf (path, size, "%s/bin", dir);
    if (mkdir (path, 0755))
        return -1;
    const char *links [] = { "checkout-coordinator", "checkout-inventory",
                             "checkout-payment", "checkout-order", "checkout",
                             "checkout-keys" };
    char from [PATH_MAX * 2], to [PATH_MAX * 2];
    for (size_t i = 0; i < sizeof links / sizeof links [0]; i++) {
        snprintf (from, sizeof from, "%s/%s", real_bin, links [i]);
        snprintf (to, sizeof to, "%s/%s", path, links [i]);
        if (symlink (from, to))
            return -1;
    }
    snprintf (to, sizeof to, "%s/checkout-bench", path);
    FILE *file = fopen (to, "w");
    if (!file)
        return -1;
    va_list args;
    va_start (args, body_format);
    fprintf (file, "#!/bin/sh\n");
    vfprintf (file, body_format, args);
    va_end (args);
    return fclose (file) || chmod (to, 0755)? -1: 0;
}

#endif

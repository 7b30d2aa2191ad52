/*  metrics_helpers.h - scraping checkout-exporter in end-to-end tests
    Its port from its log, GET over loopback HTTP, samples by series, promtool.

    Header-only (static inline) like process_helpers.h.  Nothing here
    asserts: helpers return a value or -1 / NULL, and the tests assert.
*/
#ifndef CK_METRICS_HELPERS_H_INCLUDED
#define CK_METRICS_HELPERS_H_INCLUDED

#include <arpa/inet.h>
#include <czmq.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include "process_helpers.h"

#define MH_GET_MS   5000                //  one HTTP answer, at most
#define MH_WAIT_MS  20000               //  a start or a figure: generous, the machine may be loaded

//  The port the exporter logged in log_path ("listening on
//  http://127.0.0.1:PORT/metrics", with --listen 127.0.0.1:0), waiting up
//  to timeout_ms.  Returns it, or -1.
static inline int
mh_exporter_port (const char *log_path, int timeout_ms)
{
    const char *needle = "listening on http://127.0.0.1:";
    for (int64_t until = ph_now_ms () + timeout_ms; ph_now_ms () < until; zclock_sleep (50)) {
        char *text = ph_slurp (log_path);
        const char *at = text? strstr (text, needle): NULL;
        int port = at? atoi (at + strlen (needle)): 0;
        free (text);
        if (port > 0)
            return port;
    }
    return -1;
}

//  GETs path from 127.0.0.1:port.  Returns the body of a 200 answer
//  (caller frees), or NULL for any other answer or none.
static inline char *
mh_get (int port, const char *path)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    if (fd < 0)
        return NULL;
    struct timeval timeout = { MH_GET_MS / 1000, 0 };
    setsockopt (fd, SOL_SOCKET, SO_RCVTIMEO, &timeout, sizeof timeout);
    struct sockaddr_in address = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port) };
    address.sin_addr.s_addr = htonl (INADDR_LOOPBACK);
    char request [256];
    int size = snprintf (request, sizeof request,
                         "GET %s HTTP/1.0\r\nHost: 127.0.0.1\r\n\r\n", path);
    char *answer = NULL;
    size_t length = 0, capacity = 0;
    if (connect (fd, (struct sockaddr *) &address, sizeof address) == 0
    &&  send (fd, request, (size_t) size, 0) == size) {
        char chunk [8192];
        ssize_t got;
        while ((got = recv (fd, chunk, sizeof chunk, 0)) > 0) {
            if (length + (size_t) got + 1 > capacity) {
                capacity = (length + (size_t) got + 1) * 2;
                char *bigger = (char *) realloc (answer, capacity);
                if (!bigger)
                    break;
                answer = bigger;
            }
            memcpy (answer + length, chunk, (size_t) got);
            length += (size_t) got;
            answer [length] = 0;
        }
    }
    close (fd);
    const char *body = answer? strstr (answer, "\r\n\r\n"): NULL;
    char *result = NULL;
    if (body && strncmp (answer, "HTTP/1.0 200 ", 13) == 0)
        result = strdup (body + 4);
    free (answer);
    return result;
}

//  The value of the sample called series (the name with its labels, as
//  the exporter writes them), or -1 when text has no such line
static inline double
mh_sample (const char *text, const char *series)
{
    size_t length = strlen (series);
    const char *line = text;
    while (line && *line) {
        if (strncmp (line, series, length) == 0 && line [length] == ' ')
            return strtod (line + length + 1, NULL);
        line = strchr (line, '\n');
        line = line? line + 1: NULL;
    }
    return -1;
}

//  Scrapes /metrics until series has value or timeout_ms passes.  Returns
//  the last scrape (caller frees), or NULL when none answered.
static inline char *
mh_scrape_until (int port, const char *series, double value, int timeout_ms)
{
    char *text = NULL;
    for (int64_t until = ph_now_ms () + timeout_ms; ; zclock_sleep (200)) {
        free (text);
        text = mh_get (port, "/metrics");
        if ((text && mh_sample (text, series) == value) || ph_now_ms () >= until)
            return text;
    }
}

//  Runs `promtool check metrics` (Debian's prometheus package; scripts/setup
//  installs it) on text, kept in dir/scrape.txt with its verdict in
//  dir/promtool.log.  Returns its exit code: 0 valid, 1 unparsable, 3 lint
//  problems, 127 promtool missing; -1 when it could not run.
static inline int
mh_promtool (const char *text, const char *dir)
{
    char input [PATH_MAX], log [PATH_MAX];
    snprintf (input, sizeof input, "%s/scrape.txt", dir);
    snprintf (log, sizeof log, "%s/promtool.log", dir);
    FILE *file = fopen (input, "w");
    if (!file)
        return -1;
    fputs (text, file);
    fclose (file);
    char *command = zsys_sprintf ("exec promtool check metrics < '%s'", input);
    int rc = ph_run_shell ("/bin/sh", command, log, 30000);
    zstr_free (&command);
    return rc;
}

#endif

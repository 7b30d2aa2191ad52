/*  test_limits.c - the coordinator's bounds on memory, connections and log
    Clients that never read, more connections than the limit, a spew of bad frames.

    Each test starts a real checkout-coordinator (no participants are
    needed: PING, STATUS and bad frames are answered by the coordinator
    alone) and kills it by PID in .fini.
*/
#include <criterion/criterion.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include "e2e_helpers.h"

#define READY_MS     20000
#define FLOODERS     8                  //  clients that never read
#define FLOOD_MS     4000
#define RSS_GROWTH   (64 * 1024)        //  kB the flood may add: the ceiling
                                        //  for 8 connections is far below
#define IDLE_EXTRA   100                //  connections past the limit
#define MAX_CLIENTS  512                //  as in coordinator_internal.h

static e2e_group_t s_group;
static int s_fds [MAX_CLIENTS + 2 * IDLE_EXTRA];
static size_t s_fd_count;

static void
s_init (void)
{
    cr_assert_eq (e2e_group_init (&s_group, "ck-limits"), 0, "no temp dir");
    //  Under AddressSanitizer freed memory waits in a quarantine (256 MB)
    //  before reuse, so a process's RSS shows what it freed as well as
    //  what it holds; a small one lets the bound measure what is held
    //  (set whoever runs the test: a build without ASan ignores it)
    const char *asan = getenv ("ASAN_OPTIONS");
    char options [512];
    snprintf (options, sizeof options, "%s%squarantine_size_mb=8", asan? asan: "",
              asan && *asan? ":": "");
    setenv ("ASAN_OPTIONS", options, 1);
}

static void
s_fini (void)
{
    for (size_t i = 0; i < s_fd_count; i++)
        close (s_fds [i]);
    s_fd_count = 0;
    e2e_group_fini (&s_group);
}

TestSuite (limits, .init = s_init, .fini = s_fini, .timeout = 120);

//  The coordinator's VmRSS in kB, or -1
static long
s_rss_kb (pid_t pid)
{
    char path [64];
    snprintf (path, sizeof path, "/proc/%d/status", (int) pid);
    char *text = ph_slurp (path);
    if (!text)
        return -1;
    const char *at = strstr (text, "VmRSS:");
    long kb = at? strtol (at + 6, NULL, 10): -1;
    free (text);
    return kb;
}

static long
s_file_size (const char *path)
{
    struct stat st;
    return stat (path, &st) == 0? (long) st.st_size: -1;
}

//  Starts the coordinator alone and waits for its PONG; returns the client
static ck_client_t *
s_start (void)
{
    int slot = e2e_start_coordinator (&s_group, NULL);
    cr_assert_geq (slot, 0);
    ck_client_t *client = e2e_client (&s_group);
    cr_assert_not_null (client);
    int64_t deadline = ph_now_ms () + READY_MS;
    while (ck_client_ping (client, 500) != CK_CMD_PONG)
        cr_assert_lt (ph_now_ms (), deadline, "no PONG (logs in %s)", s_group.dir);
    return client;
}

//  A DEALER that reads nothing: it takes one message and its kernel buffer
//  is small, so the coordinator's queue for it fills
static zsock_t *
s_flooder (void)
{
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    cr_assert_not_null (dealer);
    zsock_set_rcvhwm (dealer, 1);
    zsock_set_rcvbuf (dealer, 4096);
    zsock_set_sndhwm (dealer, 100000);
    zsock_set_linger (dealer, 0);
    cr_assert_eq (zsock_connect (dealer, "%s", s_group.frontend), 0);
    return dealer;
}

static void
s_send_parts (zsock_t *sock, const char *command, const void *body, size_t size)
{
    void *handle = zsock_resolve (sock);
    zmq_send (handle, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send (handle, "CKC1", 4, ZMQ_SNDMORE | ZMQ_DONTWAIT);
    zmq_send (handle, command, strlen (command), (body? ZMQ_SNDMORE: 0) | ZMQ_DONTWAIT);
    if (body)
        zmq_send (handle, body, size, ZMQ_DONTWAIT);
}

Test (limits, clients_that_never_read_leave_rss_bounded)
{
    ck_client_t *client = s_start ();
    pid_t pid = s_group.pids [0];
    long before = s_rss_kb (pid);
    cr_assert_gt (before, 0);

    ck_status_request_t status = { 0 };
    snprintf (status.checkout_id, sizeof status.checkout_id, "no-such-checkout");
    ck_buf_t body;
    ck_buf_init (&body);
    cr_assert_eq (ck_encode_status_request (&status, &body), 0);

    zsock_t *flooders [FLOODERS];
    for (int i = 0; i < FLOODERS; i++)
        flooders [i] = s_flooder ();
    long peak = before;
    int pings = 0, pongs = 0;
    int64_t end = ph_now_ms () + FLOOD_MS;
    for (int round = 0; ph_now_ms () < end; round++) {
        for (int n = 0; n < 200; n++)
            for (int i = 0; i < FLOODERS; i++)
                if (n % 4)
                    s_send_parts (flooders [i], "PING", NULL, 0);
                else
                    s_send_parts (flooders [i], "STATUS", body.data, body.size);
        if (round % 50 == 0) {
            //  a client that reads is still answered, at once
            pings++;
            pongs += ck_client_ping (client, 1000) == CK_CMD_PONG;
            long rss = s_rss_kb (pid);
            if (rss > peak)
                peak = rss;
        }
    }
    long rss = s_rss_kb (pid);
    peak = rss > peak? rss: peak;
    cr_log_info ("limits: rss before=%ld kB peak=%ld kB", before, peak);
    cr_expect_lt (peak - before, RSS_GROWTH, "rss grew from %ld to %ld kB", before, peak);
    cr_expect_eq (pongs, pings, "%d of %d PINGs answered within 1 s", pongs, pings);

    for (int i = 0; i < FLOODERS; i++)
        zsock_destroy (&flooders [i]);
    ck_buf_free (&body);
    zclock_sleep (2500);                //  the stats tick trims freed memory
    cr_log_info ("limits: rss after the clients left=%ld kB", s_rss_kb (pid));
    cr_expect_eq (ck_client_ping (client, 1000), CK_CMD_PONG);

    char log [PATH_MAX];
    e2e_path (&s_group, "coordinator.log", log, sizeof log);
    char *text = ph_slurp (log);
    cr_assert_not_null (text);
    cr_expect_not_null (strstr (text, "frontend reply dropped"), "drops are not logged");
    free (text);
    ck_ev_stats_t stats;
    cr_assert_eq (e2e_next_stats (&s_group, &stats, 5000), 0);
    cr_expect_gt (stats.dropped, 0, "drops are not in the stats event");
}

Test (limits, a_spew_of_bad_frames_writes_a_bounded_log)
{
    s_start ();
    char log [PATH_MAX];
    e2e_path (&s_group, "coordinator.log", log, sizeof log);
    long before = s_file_size (log);
    zsock_t *dealer = zsock_new (ZMQ_DEALER);
    cr_assert_not_null (dealer);
    zsock_set_sndhwm (dealer, 100000);
    cr_assert_eq (zsock_connect (dealer, "%s", s_group.frontend), 0);
    //  it reads its ERRORs, so each bad frame is answered, not dropped
    long sent = 0, answered = 0;
    int64_t end = ph_now_ms () + 3000;
    while (ph_now_ms () < end) {
        for (int n = 0; n < 100; n++, sent++)
            s_send_parts (dealer, "BOGUS", NULL, 0);
        zmsg_t *msg;
        while (zsock_events (dealer) & ZMQ_POLLIN && (msg = zmsg_recv (dealer))) {
            answered++;
            zmsg_destroy (&msg);
        }
    }
    zclock_sleep (1500);
    zsock_destroy (&dealer);
    long grown = s_file_size (log) - before;
    cr_log_info ("limits: %ld bad frames sent, %ld answered, log grew %ld bytes",
                 sent, answered, grown);
    cr_assert_gt (answered, 5000, "only %ld bad frames answered", answered);
    //  5 lines a second of one kind, about 100 bytes each, for 4.5 s, and
    //  a summary; one line per frame would be over 10 MB
    cr_expect_lt (grown, 10000, "the log grew %ld bytes for %ld bad frames", grown, answered);
}

//  A free TCP port on 127.0.0.1, or 0
static int
s_free_port (void)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    socklen_t size = sizeof addr;
    int port = 0;
    if (fd >= 0 && bind (fd, (struct sockaddr *) &addr, sizeof addr) == 0
    &&  getsockname (fd, (struct sockaddr *) &addr, &size) == 0)
        port = ntohs (addr.sin_port);
    if (fd >= 0)
        close (fd);
    return port;
}

//  A raw TCP connection to port; with handshake, it sends a ZMTP 3.0
//  greeting (NULL mechanism) and READY as a DEALER, then idles
static int
s_raw_connect (int port, bool handshake)
{
    int fd = socket (AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in addr = { .sin_family = AF_INET, .sin_port = htons ((uint16_t) port),
                                .sin_addr.s_addr = htonl (INADDR_LOOPBACK) };
    if (fd < 0 || connect (fd, (struct sockaddr *) &addr, sizeof addr)) {
        if (fd >= 0)
            close (fd);
        return -1;
    }
    if (handshake) {
        uint8_t greeting [64] = { 0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 0, 'N', 'U', 'L', 'L' };
        static const uint8_t ready [] = {
            0x04, 28, 5, 'R', 'E', 'A', 'D', 'Y',
            11, 'S', 'o', 'c', 'k', 'e', 't', '-', 'T', 'y', 'p', 'e',
            0, 0, 0, 6, 'D', 'E', 'A', 'L', 'E', 'R'
        };
        if (write (fd, greeting, sizeof greeting) != sizeof greeting
        ||  write (fd, ready, sizeof ready) != sizeof ready) {
            close (fd);
            return -1;
        }
    }
    return fd;
}

//  True when fd got a ZMTP ERROR command (a refused handshake)
static bool
s_refused (int fd)
{
    uint8_t bytes [512];
    ssize_t size = recv (fd, bytes, sizeof bytes, MSG_DONTWAIT);
    return size > 0 && memmem (bytes, (size_t) size, "\x05" "ERROR", 6);
}

Test (limits, connections_past_the_limit_are_refused_and_ping_still_answered)
{
    int port = s_free_port ();
    cr_assert_gt (port, 0);
    snprintf (s_group.frontend, sizeof s_group.frontend, "tcp://127.0.0.1:%d", port);
    //  a soft limit of 256 files, as the coordinator may be given; it must
    //  raise it to hold MAX_CLIENTS connections
    struct rlimit ours, low;
    cr_assert_eq (getrlimit (RLIMIT_NOFILE, &ours), 0);
    cr_assert_geq (ours.rlim_max, 4 * MAX_CLIENTS, "the hard limit is too low for this test");
    low = (struct rlimit) { 256, ours.rlim_max };
    cr_assert_eq (setrlimit (RLIMIT_NOFILE, &low), 0);
    int slot = e2e_start_coordinator (&s_group, NULL);
    cr_assert_eq (setrlimit (RLIMIT_NOFILE, &ours), 0);
    cr_assert_geq (slot, 0);
    ck_client_t *client = e2e_client (&s_group);
    cr_assert_not_null (client);
    int64_t deadline = ph_now_ms () + READY_MS;
    while (ck_client_ping (client, 500) != CK_CMD_PONG)
        cr_assert_lt (ph_now_ms (), deadline, "no PONG (logs in %s)", s_group.dir);

    //  idle connections that never handshake, then more that do than the limit
    for (int i = 0; i < IDLE_EXTRA; i++)
        if ((s_fds [s_fd_count] = s_raw_connect (port, false)) >= 0)
            s_fd_count++;
    for (int i = 0; i < MAX_CLIENTS + IDLE_EXTRA; i++)
        if ((s_fds [s_fd_count] = s_raw_connect (port, true)) >= 0)
            s_fd_count++;
    cr_assert_eq (s_fd_count, MAX_CLIENTS + 2 * IDLE_EXTRA);
    zclock_sleep (1500);

    int64_t asked = ph_now_ms ();
    cr_expect_eq (ck_client_ping (client, 1000), CK_CMD_PONG,
                  "no PONG within 1 s with %zu idle connections", s_fd_count);
    cr_log_info ("limits: PONG after %lld ms", (long long) (ph_now_ms () - asked));
    size_t refused = 0;
    for (size_t i = 0; i < s_fd_count; i++)
        refused += s_refused (s_fds [i]);
    cr_expect_geq (refused, IDLE_EXTRA, "%zu connections told ERROR", refused);

    zclock_sleep (1200);                //  the guard reports once a second
    char log [PATH_MAX];
    e2e_path (&s_group, "coordinator.log", log, sizeof log);
    char *text = ph_slurp (log);
    cr_assert_not_null (text);
    const char *line = strstr (text, "frontend refuses connections past its limit");
    cr_expect_not_null (line, "refusals are not logged");
    const char *count = line? strstr (line, "refused="): NULL;
    cr_expect (count && strtol (count + 8, NULL, 10) >= 1, "no refusal counted");
    cr_log_info ("limits: %zu connections refused with ERROR", refused);
    free (text);
    ck_ev_stats_t stats;
    cr_assert_eq (e2e_next_stats (&s_group, &stats, 5000), 0);
    cr_expect_geq (stats.refused, 1, "refusals are not in the stats event");
}

/*  test_sd_notify.c - readiness and stop notices to the service manager
    A real AF_UNIX datagram socket stands for systemd; the daemons notify it.
*/
#include <criterion/criterion.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include "e2e_helpers.h"
#include "sd_notify.h"

#define NOTICE_MAX 4096

static e2e_group_t s_group;
static int s_listener = -1;

static void
s_init (void)
{
    cr_assert_eq (e2e_group_init (&s_group, "ck-notify"), 0);
    unsetenv ("NOTIFY_SOCKET");
}

static void
s_fini (void)
{
    if (s_listener >= 0)
        close (s_listener);
    s_listener = -1;
    e2e_group_fini (&s_group);
}

TestSuite (sd_notify, .init = s_init, .fini = s_fini, .timeout = 60);

//  Binds the listener at address ("/path" or "@name") with SO_PASSCRED on,
//  as systemd does to learn which process sent a notice
static void
s_listen (const char *address)
{
    s_listener = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    cr_assert_geq (s_listener, 0);
    int on = 1;
    cr_assert_eq (setsockopt (s_listener, SOL_SOCKET, SO_PASSCRED, &on, sizeof on), 0);
    struct sockaddr_un addr = { .sun_family = AF_UNIX };
    size_t length = strlen (address);
    cr_assert_lt (length, sizeof addr.sun_path);
    memcpy (addr.sun_path, address, length);
    socklen_t size = (socklen_t) (offsetof (struct sockaddr_un, sun_path) + length);
    if (address [0] == '@')
        addr.sun_path [0] = 0;
    else
        size++;
    cr_assert_eq (bind (s_listener, (struct sockaddr *) &addr, size), 0,
                  "bind %s: %s", address, strerror (errno));
}

//  Receives one notice within timeout_ms into text; returns the sender's
//  pid, or -1 when nothing came
static pid_t
s_receive (char *text, int timeout_ms)
{
    struct pollfd item = { .fd = s_listener, .events = POLLIN };
    if (poll (&item, 1, timeout_ms) != 1)
        return -1;
    union {
        struct cmsghdr header;
        char space [CMSG_SPACE (sizeof (struct ucred))];
    } control;
    struct iovec data = { .iov_base = text, .iov_len = NOTICE_MAX - 1 };
    struct msghdr message = {
        .msg_iov = &data, .msg_iovlen = 1,
        .msg_control = &control, .msg_controllen = sizeof control
    };
    ssize_t got = recvmsg (s_listener, &message, 0);
    if (got < 0)
        return -1;
    text [got] = 0;
    struct cmsghdr *header = CMSG_FIRSTHDR (&message);
    if (!header || header->cmsg_type != SCM_CREDENTIALS)
        return -1;
    struct ucred credentials;
    memcpy (&credentials, CMSG_DATA (header), sizeof credentials);
    return credentials.pid;
}

//  Waits for a notice holding line (e.g. "READY=1") from pid; true if seen
static bool
s_expect (pid_t pid, const char *line, int timeout_ms, char *text)
{
    int64_t deadline = ph_now_ms () + timeout_ms;
    while (ph_now_ms () < deadline) {
        pid_t sender = s_receive (text, (int) (deadline - ph_now_ms ()));
        if (sender == pid && ph_has_line (text, line))
            return true;
    }
    return false;
}

Test (sd_notify, sends_to_a_path_and_the_manager_sees_our_pid)
{
    char path [PATH_MAX], address [PATH_MAX], text [NOTICE_MAX];
    e2e_path (&s_group, "notify", path, sizeof path);
    s_listen (path);
    cr_expect_eq (ck_sd_notify_to (path, "READY=1\nSTATUS=serving"), 0);
    cr_expect_eq (s_receive (text, 1000), getpid ());
    cr_expect_str_eq (text, "READY=1\nSTATUS=serving");

    snprintf (address, sizeof address, "%s", path);
    setenv ("NOTIFY_SOCKET", address, 1);
    cr_expect_eq (ck_sd_notify ("STOPPING=1"), 1);
    cr_expect_eq (s_receive (text, 1000), getpid ());
    cr_expect_str_eq (text, "STOPPING=1");
}

Test (sd_notify, sends_to_an_abstract_name)
{
    char address [108], text [NOTICE_MAX];
    snprintf (address, sizeof address, "@ck-test-notify/%d/%s", (int) getpid (),
              strrchr (s_group.dir, '/') + 1);
    s_listen (address);
    setenv ("NOTIFY_SOCKET", address, 1);
    cr_expect_eq (ck_sd_notify ("READY=1"), 1);
    cr_expect_eq (s_receive (text, 1000), getpid ());
    cr_expect_str_eq (text, "READY=1");
}

Test (sd_notify, nothing_asked_nothing_sent)
{
    cr_expect_eq (ck_sd_notify ("READY=1"), 0);
    setenv ("NOTIFY_SOCKET", "", 1);
    cr_expect_eq (ck_sd_notify ("READY=1"), 0);
}

Test (sd_notify, bad_or_absent_addresses_fail_cleanly)
{
    char path [PATH_MAX], text [NOTICE_MAX];
    e2e_path (&s_group, "nobody", path, sizeof path);
    cr_expect_eq (ck_sd_notify_to (path, "READY=1"), -1);      //  no listener
    cr_expect_eq (errno, ENOENT);
    cr_expect_eq (ck_sd_notify_to ("relative/path", "READY=1"), -1);
    cr_expect_eq (errno, EINVAL);
    cr_expect_eq (ck_sd_notify_to ("@", "READY=1"), -1);
    cr_expect_eq (ck_sd_notify_to ("vsock:2:1", "READY=1"), -1);
    memset (text, 'x', 200);
    text [0] = '/';
    text [200] = 0;
    cr_expect_eq (ck_sd_notify_to (text, "READY=1"), -1);      //  longer than sun_path
    cr_expect_eq (errno, EINVAL);
    setenv ("NOTIFY_SOCKET", path, 1);
    cr_expect_eq (ck_sd_notify ("READY=1"), -1);
}

//  A manager that never reads must not stall the daemon: the queue fills,
//  then sends fail at once
Test (sd_notify, a_full_queue_fails_without_blocking)
{
    char path [PATH_MAX];
    e2e_path (&s_group, "full", path, sizeof path);
    s_listen (path);
    int64_t start = ph_now_ms ();
    int failed = 0;
    for (int i = 0; i < 10000 && !failed; i++)
        failed = ck_sd_notify_to (path, "STATUS=filling the queue") == -1;
    cr_expect (failed);
    cr_expect (errno == EAGAIN || errno == EWOULDBLOCK, "%s", strerror (errno));
    cr_expect_lt (ph_now_ms () - start, 5000);
}

//  The coordinator says READY=1 once its endpoints are bound (a client's
//  PING is answered then), and STOPPING=1 when SIGTERM makes it drain
Test (sd_notify, coordinator_ready_once_bound_stopping_on_sigterm)
{
    char path [PATH_MAX], text [NOTICE_MAX];
    e2e_path (&s_group, "notify", path, sizeof path);
    s_listen (path);
    setenv ("NOTIFY_SOCKET", path, 1);
    int slot = e2e_start_coordinator (&s_group, NULL);
    cr_assert_geq (slot, 0);
    cr_assert (s_expect (s_group.pids [slot], "READY=1", 20000, text), "no READY=1");
    ck_client_t *client = e2e_client (&s_group);
    cr_assert_not_null (client);
    cr_expect_eq (ck_client_ping (client, 2000), CK_CMD_PONG, "READY=1 but no PONG");
    pid_t pid = s_group.pids [slot];
    ph_signal (pid, SIGTERM);
    cr_expect (s_expect (pid, "STOPPING=1", 10000, text), "no STOPPING=1");
    //  the drain the SIGTERM started ends in exit 0 (signal 0: no second
    //  SIGTERM, which could land mid-drain in a slow build)
    cr_expect_eq (e2e_stop (&s_group, slot, 0, 10000), 0);
}

//  A participant says READY=1 once connected to its coordinators (READY
//  sent on each link); it does not wait for the coordinator, which it
//  reaches whenever that one comes up
Test (sd_notify, participant_ready_once_connected_stopping_on_sigterm)
{
    char path [PATH_MAX], text [NOTICE_MAX];
    e2e_path (&s_group, "notify", path, sizeof path);
    s_listen (path);
    setenv ("NOTIFY_SOCKET", path, 1);
    int slot = e2e_start_participant (&s_group, "payment", "payment-1", NULL);
    cr_assert_geq (slot, 0);
    pid_t pid = s_group.pids [slot];
    cr_assert (s_expect (pid, "READY=1", 20000, text), "no READY=1");
    ph_signal (pid, SIGTERM);
    cr_expect (s_expect (pid, "STOPPING=1", 10000, text), "no STOPPING=1");
    //  the drain the SIGTERM started ends in exit 0 (signal 0: no second
    //  SIGTERM, which could land mid-drain in a slow build)
    cr_expect_eq (e2e_stop (&s_group, slot, 0, 10000), 0);
}

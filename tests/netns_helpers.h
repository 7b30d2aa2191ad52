/*  netns_helpers.h - hosts as network namespaces, for multi-host tests
    Namespaces on one private /24 through a bridge; processes started inside one.

    Header-only like process_helpers.h, which it builds on.  A test keeps
    one nh_net_t: nh_net_new names NH_HOSTS host namespaces and a switch
    namespace after the test's PID (ck<pid>a, ck<pid>b, ... and ck<pid>s)
    and a subnet 10.<x>.<y>.0/24 after it too, so two runs never share
    either; nh_net_up builds them (removing leftovers of the same names
    first), nh_spawn starts a program inside a host, nh_net_down deletes
    every namespace, which takes their links with them.  The links live
    only inside the namespaces: nothing is added to the test's own.
    Nothing asserts.
*/
#ifndef CK_NETNS_HELPERS_H_INCLUDED
#define CK_NETNS_HELPERS_H_INCLUDED

#include <dirent.h>
#include <sched.h>
#include "process_helpers.h"

#define NH_HOSTS        3

typedef struct {
    char ip [64];                       //  the ip tool, "" when missing
    char hosts [NH_HOSTS][24];          //  ck<pid>a ...
    char bridge [24];                   //  ck<pid>s: the switch
    char address [NH_HOSTS][20];        //  10.x.y.1 ...
    bool made;                          //  nh_net_up ran (namespaces may exist)
} nh_net_t;

//  Fills net with names and addresses from the test's PID and finds the
//  ip tool.  Returns 0, or -1 when ip is missing.
static inline int
nh_net_new (nh_net_t *net)
{
    memset (net, 0, sizeof *net);
    const char *candidates [] = { "/usr/sbin/ip", "/sbin/ip", "/usr/bin/ip", "/bin/ip" };
    for (size_t i = 0; i < sizeof candidates / sizeof candidates [0] && !net->ip [0]; i++)
        if (access (candidates [i], X_OK) == 0)
            snprintf (net->ip, sizeof net->ip, "%s", candidates [i]);
    int pid = (int) getpid ();
    for (int h = 0; h < NH_HOSTS; h++) {
        snprintf (net->hosts [h], sizeof net->hosts [h], "ck%d%c", pid, 'a' + h);
        snprintf (net->address [h], sizeof net->address [h], "10.%d.%d.%d",
                  100 + (pid >> 8) % 100, pid & 255, h + 1);
    }
    snprintf (net->bridge, sizeof net->bridge, "ck%ds", pid);
    return net->ip [0]? 0: -1;
}

//  Runs ip with the arguments (NULL-terminated), its output in log.
//  Returns its exit code, or -1.
static inline int
nh_ip (const nh_net_t *net, const char *log, ...)
{
    const char *argv [24] = { net->ip };
    int argc = 1;
    va_list args;
    va_start (args, log);
    for (const char *arg = va_arg (args, const char *); arg && argc < 23;
         arg = va_arg (args, const char *))
        argv [argc++] = arg;
    va_end (args);
    argv [argc] = NULL;
    pid_t pid = ph_spawn (net->ip, (char *const *) argv, log);
    int status;
    if (pid <= 0 || ph_wait (pid, 10000, &status)) {
        ph_kill_reap (&pid);
        return -1;
    }
    return ph_exit_code (status);
}

//  The inode of namespace name's network stack, or 0 when it has none
static inline ino_t
nh_inode (const char *name)
{
    char path [64];
    snprintf (path, sizeof path, "/run/netns/%s", name);
    struct stat st;
    return stat (path, &st) == 0? st.st_ino: 0;
}

//  True when pid runs inside one of the namespaces whose inodes are given
static inline bool
nh_pid_inside (pid_t pid, const ino_t *inodes, int count)
{
    char path [64], link [64];
    snprintf (path, sizeof path, "/proc/%d/ns/net", (int) pid);
    ssize_t n = readlink (path, link, sizeof link - 1);
    if (n <= 0)
        return false;
    link [n] = 0;
    unsigned long inode = 0;
    if (sscanf (link, "net:[%lu]", &inode) != 1)
        return false;
    for (int i = 0; i < count; i++)
        if (inodes [i] && inodes [i] == (ino_t) inode)
            return true;
    return false;
}

//  SIGKILLs, by PID, every process that still runs inside a namespace of
//  net (a server that daemonized, what a killed test left), until none is
//  left or 5 s passed.  Returns how many were killed.
static inline int
nh_kill_inside (const nh_net_t *net)
{
    ino_t inodes [NH_HOSTS + 1];
    for (int h = 0; h < NH_HOSTS; h++)
        inodes [h] = nh_inode (net->hosts [h]);
    inodes [NH_HOSTS] = nh_inode (net->bridge);
    int killed = 0, found = 1;
    int64_t deadline = ph_now_ms () + 5000;
    while (found && ph_now_ms () < deadline) {
        found = 0;
        DIR *proc = opendir ("/proc");
        struct dirent *entry;
        while (proc && (entry = readdir (proc))) {
            pid_t pid = (pid_t) atoi (entry->d_name);
            if (pid > 1 && pid != getpid () && nh_pid_inside (pid, inodes, NH_HOSTS + 1)) {
                killed += kill (pid, SIGKILL) == 0;
                waitpid (pid, NULL, WNOHANG);
                found++;
            }
        }
        if (proc)
            closedir (proc);
        if (found)
            usleep (20000);
    }
    return killed;
}

//  Kills what runs inside the namespaces of net, then deletes them (and
//  so their links); quiet about the ones that are not there.  Safe twice.
static inline void
nh_net_down (nh_net_t *net)
{
    if (!net->ip [0])
        return;
    nh_kill_inside (net);
    for (int h = 0; h < NH_HOSTS; h++)
        nh_ip (net, "/dev/null", "netns", "del", net->hosts [h], NULL);
    nh_ip (net, "/dev/null", "netns", "del", net->bridge, NULL);
    net->made = false;
}

//  Makes the namespaces: lo up in each, host h's eth0 at address [h]/24,
//  its veth peer in the switch namespace on one bridge.  Leftovers of the
//  same names go first.  Returns 0, or -1 (the commands' output in log).
static inline int
nh_net_up (nh_net_t *net, const char *log)
{
    nh_net_down (net);
    net->made = true;
    const char *s = net->bridge;
    int rc = nh_ip (net, log, "netns", "add", s, NULL)
          || nh_ip (net, log, "-n", s, "link", "set", "lo", "up", NULL)
          || nh_ip (net, log, "-n", s, "link", "add", "br0", "type", "bridge", NULL)
          || nh_ip (net, log, "-n", s, "link", "set", "br0", "up", NULL);
    for (int h = 0; h < NH_HOSTS && rc == 0; h++) {
        const char *ns = net->hosts [h];
        char port [8], cidr [24];
        snprintf (port, sizeof port, "p%c", 'a' + h);
        snprintf (cidr, sizeof cidr, "%s/24", net->address [h]);
        rc = nh_ip (net, log, "netns", "add", ns, NULL)
          || nh_ip (net, log, "-n", ns, "link", "set", "lo", "up", NULL)
          || nh_ip (net, log, "-n", s, "link", "add", port, "type", "veth",
                    "peer", "name", "eth0", "netns", ns, NULL)
          || nh_ip (net, log, "-n", s, "link", "set", port, "master", "br0", "up", NULL)
          || nh_ip (net, log, "-n", ns, "addr", "add", cidr, "dev", "eth0", NULL)
          || nh_ip (net, log, "-n", ns, "link", "set", "eth0", "up", NULL);
    }
    return rc? -1: 0;
}

//  As ph_spawn, inside host h's network namespace: the child joins it
//  before exec (exit 127 when it cannot).  Returns the pid, or -1.
static inline pid_t
nh_spawn (const nh_net_t *net, int h, const char *program, char *const argv [],
          const char *log)
{
    char path [64];
    snprintf (path, sizeof path, "/run/netns/%s", net->hosts [h]);
    pid_t parent = getpid ();
    pid_t pid = fork ();
    if (pid != 0)
        return pid;
    prctl (PR_SET_PDEATHSIG, SIGKILL);
    if (getppid () != parent)
        _exit (127);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    if (fd < 0 || setns (fd, CLONE_NEWNET))
        _exit (127);
    close (fd);
    ph_redirect (STDOUT_FILENO, log);
    ph_redirect (STDERR_FILENO, log);
    int null_fd = open ("/dev/null", O_RDONLY);
    if (null_fd >= 0) {
        dup2 (null_fd, STDIN_FILENO);
        close (null_fd);
    }
    execv (program, argv);
    _exit (127);
}

//  Runs argv (argv [0] the program) inside host h, its output in log, for
//  up to timeout_ms.  Returns its exit code, or -1 when it did not start
//  or outlived the timeout (then killed).
static inline int
nh_run (const nh_net_t *net, int h, const char *const *argv, const char *log,
        int timeout_ms)
{
    pid_t pid = nh_spawn (net, h, argv [0], (char *const *) argv, log);
    int status = 0;
    if (pid <= 0 || ph_wait (pid, timeout_ms, &status)) {
        ph_kill_reap (&pid);
        return -1;
    }
    return ph_exit_code (status);
}

//  True when this machine can build the namespaces (root, the ip tool;
//  fills net as nh_net_new) and has what else the test needs: missing_too
//  names it when absent (NULL: nothing).  Otherwise says on stderr what
//  test lacks, so that it passes without running: Criterion 2.4.1's
//  cr_skip_test leaks its message under ASan.
static inline bool
nh_can_run (nh_net_t *net, const char *test, const char *missing_too)
{
    const char *missing = geteuid () != 0? "root (network namespaces)"
                        : nh_net_new (net)? "the ip tool": missing_too;
    if (missing)
        fprintf (stderr, "%s: not run: needs %s\n", test, missing);
    return missing == NULL;
}

//  Moves the calling thread into host h's network namespace: the sockets
//  it opens from then on, the threads and processes it starts, are on h.
//  Returns a descriptor of the namespace it left, for nh_leave, or -1.
static inline int
nh_enter (const nh_net_t *net, int h)
{
    char path [64];
    snprintf (path, sizeof path, "/run/netns/%s", net->hosts [h]);
    int home = open ("/proc/thread-self/ns/net", O_RDONLY | O_CLOEXEC);
    int fd = open (path, O_RDONLY | O_CLOEXEC);
    int rc = home >= 0 && fd >= 0? setns (fd, CLONE_NEWNET): -1;
    if (fd >= 0)
        close (fd);
    if (rc && home >= 0) {
        close (home);
        home = -1;
    }
    return home;
}

//  Takes the calling thread back to the namespace nh_enter left and closes
//  its descriptor.  Safe on -1 and twice.
static inline void
nh_leave (int *home_p)
{
    if (*home_p >= 0) {
        setns (*home_p, CLONE_NEWNET);
        close (*home_p);
    }
    *home_p = -1;
}

//  Sets host h's link to the switch up or down: down, its packets go
//  nowhere and none reach it, without a word to its peers, as when a
//  cable is pulled.  Returns 0, or -1.
static inline int
nh_link (const nh_net_t *net, int h, bool up)
{
    return nh_ip (net, "/dev/null", "-n", net->hosts [h], "link", "set", "eth0",
                  up? "up": "down", NULL)? -1: 0;
}

#endif

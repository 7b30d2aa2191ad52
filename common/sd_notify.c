/*  sd_notify.c - readiness and stop notices to the service manager
    One AF_UNIX datagram per notice to the address in $NOTIFY_SOCKET.
*/
#include <czmq.h>
#include <errno.h>
#include <stddef.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#include "sd_notify.h"

//  Fills addr from "/path" or "@abstract"; returns the address's length,
//  or 0 when address is neither or does not fit.  A path needs room for
//  its NUL; an abstract name is its bytes exactly, the '@' becoming NUL.
static socklen_t
s_address (const char *address, struct sockaddr_un *addr)
{
    size_t length = strlen (address);
    bool abstract = address [0] == '@';
    if ((address [0] != '/' && !abstract) || length < 2)
        return 0;
    if (length > sizeof addr->sun_path - (abstract? 0: 1))
        return 0;
    memset (addr, 0, sizeof *addr);
    addr->sun_family = AF_UNIX;
    memcpy (addr->sun_path, address, length);
    if (abstract)
        addr->sun_path [0] = 0;
    return (socklen_t) (offsetof (struct sockaddr_un, sun_path) + length + (abstract? 0: 1));
}

int
ck_sd_notify_to (const char *address, const char *state)
{
    assert (address && state);
    struct sockaddr_un addr;
    socklen_t size = s_address (address, &addr);
    if (size == 0) {
        errno = EINVAL;
        return -1;
    }
    int fd = socket (AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd == -1)
        return -1;
    //  MSG_DONTWAIT: a manager that does not read must not stall the
    //  process (the notice is lost, which the manager's timeout handles)
    size_t length = strlen (state);
    ssize_t sent = sendto (fd, state, length, MSG_DONTWAIT | MSG_NOSIGNAL,
                           (struct sockaddr *) &addr, size);
    int error = errno;
    close (fd);
    errno = error;
    return sent == (ssize_t) length? 0: -1;
}

int
ck_sd_notify (const char *state)
{
    assert (state);
    const char *address = getenv ("NOTIFY_SOCKET");
    if (!address || !*address)
        return 0;
    if (ck_sd_notify_to (address, state) == -1) {
        //  only the first line: STATUS text may be long
        zsys_warning ("sd_notify: cannot send state=%.*s to NOTIFY_SOCKET=%s error=%s",
                      (int) strcspn (state, "\n"), state, address, strerror (errno));
        return -1;
    }
    return 1;
}

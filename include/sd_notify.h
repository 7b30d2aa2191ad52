/*  sd_notify.h - readiness and stop notices to the service manager
    systemd's notify protocol without libsystemd: one datagram to $NOTIFY_SOCKET.

    A manager that wants to know when a process is ready (systemd with
    Type=notify, scripts/supervisor) puts the address of its AF_UNIX
    datagram socket in NOTIFY_SOCKET: a path ("/run/...") or an abstract
    name ("@name", a NUL byte first on the wire).  The process sends
    newline-separated assignments: "READY=1" once it serves, "STOPPING=1"
    when it starts to drain, "STATUS=text" for humans.  Without
    NOTIFY_SOCKET nothing is sent: the same binary runs anywhere.
*/
#ifndef CK_SD_NOTIFY_H_INCLUDED
#define CK_SD_NOTIFY_H_INCLUDED

#ifdef __cplusplus
extern "C" {
#endif

//  Sends state to the manager named by $NOTIFY_SOCKET.  Returns 1 when
//  sent, 0 when NOTIFY_SOCKET is unset or empty (nobody asked), -1 when it
//  could not be sent (logged once per call as a warning).  Never blocks.
int ck_sd_notify (const char *state);

//  Sends state to address ("/path" or "@abstract").  Returns 0, or -1 with
//  errno set (EINVAL for an address that is neither).  Never blocks.
int ck_sd_notify_to (const char *address, const char *state);

#ifdef __cplusplus
}
#endif

#endif

/*  conn_guard.h - connection limits on bound sockets, enforced by a ZAP handler
    Counts each socket's connections from its monitor; refuses handshakes past the limit.

    libzmq 4.3.4 (no DRAFT API) cannot close one peer of a ROUTER, and its
    ROUTER tells nobody when a peer comes or goes.  What it can do is ask a
    ZAP handler (RFC 27) before a connection's handshake completes, even
    with the NULL mechanism, when the socket has a ZAP domain.  The guard is
    that handler: it keeps, per watched socket, the connections its monitor
    saw accepted and not yet closed, and answers 400 to a handshake that
    would take the count past the socket's limit.  The peer's handshake
    fails (an ERROR command) and libzmq closes the connection.

    With CURVE, the same handler checks the client's key first: a key that
    holds none of the roles the socket serves (keyring.h) fails the
    handshake, so an unknown key never gets a connection.  The key it
    accepts goes back as the ZAP User-Id, which every message of that
    connection then carries (ck_message_user_id): the coordinator reads a
    peer's role from it per message, never from what the peer says.
*/
#ifndef CONN_GUARD_H_INCLUDED
#define CONN_GUARD_H_INCLUDED

#include <czmq.h>
#include "keyring.h"

#define CONN_GUARD_MAX_WATCHES 4

//  One socket the guard watches
typedef struct {
    zsock_t *sock;                      //  not owned; must outlive the guard;
                                        //  NULL: keys only, no monitor or limit
    const char *name;                   //  its ZAP domain, set on the socket
                                        //  before its bind, and its name
    size_t limit;                       //  connections open at once
    bool forward;                       //  its monitor events go to the pipe
    const char *roles;                  //  with CURVE: the roles it serves,
                                        //  "client admin", or "*" for services
} conn_watch_t;

typedef struct {
    conn_watch_t watches [CONN_GUARD_MAX_WATCHES];
    size_t count;
    const char *allow;                  //  the allow-lists' root; NULL: no CURVE
} conn_guard_args_t;

//  The guard actor: zactor_new (conn_guard, &args).  It monitors each
//  watched socket and answers the ZAP requests of their domains.  On its pipe it sends what zmonitor
//  sends, [event, value, endpoint], for the sockets marked forward, and
//  once a second at most ["REFUSED", count, name] when it refused
//  connections of a socket since the last one (count: since the start).
//  It runs without limits, after a warning, when another ZAP handler has
//  the process's ZAP endpoint.
void conn_guard (zsock_t *pipe, void *args);

#endif

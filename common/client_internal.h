/*  client_internal.h - what the client library's files share, not its users
    The client object's fields and the calls between client.c and client_call.c.
*/
#ifndef CLIENT_INTERNAL_H_INCLUDED
#define CLIENT_INTERNAL_H_INCLUDED

#include <czmq.h>
#include "checkout/client.h"
#include "checkout/codec.h"
#include "client_pending.h"
#include "frame.h"

#define LINKS_MAX           (CK_CLIENT_FRONTENDS_MAX + CK_CLIENT_OWNERS_MAX)

//  A DEALER connected to one coordinator's frontend
typedef struct {
    zsock_t *dealer;
    char endpoint [CK_TEXT_SIZE];
} link_t;

struct _ck_client_t {
    link_t links [LINKS_MAX];           //  the frontends given, then owners learned
    size_t given;
    size_t link_count;
    size_t next;                        //  the asynchronous sends' turn
    size_t current;                     //  where the blocking helpers start
    size_t scan;                        //  the link receiving looks at first
    size_t answered;                    //  the link of the last reply
    bool has_answered;
    char *endpoints;                    //  the given ones, joined by commas
    ck_curve_keys_t curve;
    bool curve_on;
    client_pending_t *pending;
    size_t redirects;
    ck_buf_t buf;                       //  encoder output, reused
    ck_message_t last;                  //  holds reply.body
    ck_client_reply_t reply;
    size_t malformed;
    bool verbose;
};


//  Sends a request's bytes to one link without blocking; 0, or -1 (EAGAIN).
int client_send_link (ck_client_t *self, size_t link, ck_command_t command,
                      const void *body, size_t body_size);

//  Sends a request to the first frontend from first on that takes it;
//  returns that frontend, or -1 (EAGAIN) when none does.
int client_send_any (ck_client_t *self, size_t first, ck_command_t command,
                     const void *body, size_t body_size);

//  Encodes a STATUS for checkout_id into self->buf; 0, or -1 (EINVAL) for
//  an id that breaks the protocol.
int client_encode_status (ck_client_t *self, const char *checkout_id);

//  The zclock_mono deadline of a timeout (-1: for ever, none).
static inline int64_t
client_deadline (int timeout_ms)
{
    return timeout_ms < 0? -1: zclock_mono () + timeout_ms;
}

//  Milliseconds left until deadline (0 when past), or -1 for none.
static inline long
client_remaining (int64_t deadline)
{
    if (deadline < 0)
        return -1;
    int64_t left = deadline - zclock_mono ();
    return left > 0? (long) left: 0;
}

#endif

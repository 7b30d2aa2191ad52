/*  client_pending.h - the client's requests in flight, keyed by checkout_id
    What a client must keep to send a request again when not_owner redirects it.

    A request about a checkout (CHECKOUT, STATUS, RETRY, CANCEL, DESCRIBE)
    stays here from its send to its answer, so that an ERROR not_owner can
    be followed by sending the same bytes to the owner.  One entry per
    checkout_id: a later request about the same checkout replaces it.  The
    table is bounded: when full, the oldest entry is dropped (a not_owner
    about it then reaches the caller).  Entries whose owner was "" wait
    here for their back-off in a short list of their own.
*/
#ifndef CLIENT_PENDING_H_INCLUDED
#define CLIENT_PENDING_H_INCLUDED

#include <czmq.h>
#include "checkout/protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    char checkout_id [CK_ID_SIZE];
    ck_command_t command;
    uint8_t *body;
    size_t body_size;
    uint32_t hops;                      //  not_owner answers followed so far
    size_t link;                        //  where it goes when the wait ends
    int64_t resend_at;                  //  zclock_mono; 0 when not waiting
    void *order;                        //  handle in the oldest-first list
    void *waiting;                      //  handle in the waiting list, or NULL
} client_request_t;

typedef struct _client_pending_t client_pending_t;

//  Creates an empty table of at most max entries (>= 1); owned by the caller.
client_pending_t *client_pending_new (size_t max);

//  Destroys the table and its entries; safe on NULL, nulls the pointer.
void client_pending_destroy (client_pending_t **self_p);

//  Keeps a copy of the request about checkout_id, replacing any entry of
//  that id (its hops start over) and dropping the oldest when full.
//  Returns the entry, borrowed until it is removed.
client_request_t *client_pending_put (client_pending_t *self, const char *checkout_id,
                                      ck_command_t command, const void *body,
                                      size_t body_size);

//  The entry of checkout_id (borrowed), or NULL.
client_request_t *client_pending_find (client_pending_t *self, const char *checkout_id);

//  Drops the entry of checkout_id if there is one. Can't fail.
void client_pending_remove (client_pending_t *self, const char *checkout_id);

//  Makes entry wait until at (zclock_mono ms), then go to link. Can't fail.
void client_pending_defer (client_pending_t *self, client_request_t *entry, int64_t at,
                           size_t link);

//  The first waiting entry due by now, taken off the waiting list (it stays
//  in the table), or NULL.
client_request_t *client_pending_due (client_pending_t *self, int64_t now);

//  Milliseconds from now until the next wait ends (0 when one is due), or
//  -1 when none waits. Can't fail.
long client_pending_next_due (client_pending_t *self, int64_t now);

//  Entries in the table. Can't fail.
size_t client_pending_size (client_pending_t *self);

//  Entries dropped because the table was full. Can't fail.
size_t client_pending_dropped (client_pending_t *self);

#ifdef __cplusplus
}
#endif

#endif

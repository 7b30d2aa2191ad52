/*  stats_helpers.h - the coordinator's stats events, read by tests
    The next event of a topic on a SUB, the next "stats" event, and the
    live instances it lists.

    Header-only (static inline) like process_helpers.h.  Nothing here
    asserts: helpers return 0 / -1 or a count, and the tests assert.
*/
#ifndef CK_STATS_HELPERS_H_INCLUDED
#define CK_STATS_HELPERS_H_INCLUDED

#include <czmq.h>
#include "checkout/codec.h"
#include "checkout/protocol.h"
#include "process_helpers.h"

//  The next event of topic on sub within timeout_ms, its body in *body
//  (caller frees); 0, or -1
static inline int
peer_next_event (zsock_t *sub, const char *topic, zframe_t **body, int timeout_ms)
{
    int64_t deadline = ph_now_ms () + timeout_ms;
    while (ph_now_ms () < deadline) {
        zsock_set_rcvtimeo (sub, (int) (deadline - ph_now_ms ()));
        zmsg_t *msg = zmsg_recv (sub);
        if (!msg)
            return -1;
        zframe_t *first = zmsg_pop (msg);
        bool found = first && zframe_streq (first, topic);
        zframe_destroy (&first);
        if (found)
            *body = zmsg_pop (msg);
        zmsg_destroy (&msg);
        if (found)
            return *body? 0: -1;
    }
    return -1;
}

//  Receives the next stats event on sub (a SUB to "stats") within
//  timeout_ms into *stats.  Returns 0, or -1 on timeout.
static inline int
e2e_sub_next_stats (zsock_t *sub, ck_ev_stats_t *stats, int timeout_ms)
{
    int64_t deadline = ph_now_ms () + timeout_ms;
    zframe_t *body = NULL;
    while (peer_next_event (sub, "stats", &body, (int) (deadline - ph_now_ms ())) == 0) {
        ck_decode_error_t err;
        int rc = ck_decode_ev_stats (zframe_data (body), zframe_size (body), stats, &err);
        zframe_destroy (&body);
        if (rc == 0)
            return 0;
    }
    return -1;
}

//  Live instances of service in a stats event.  Can't fail.
static inline int
e2e_stats_workers (const ck_ev_stats_t *stats, ck_service_t service)
{
    int count = 0;
    for (uint32_t i = 0; i < stats->worker_count; i++)
        count += stats->workers [i].service == service;
    return count;
}

#endif

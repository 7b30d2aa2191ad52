/*  peer_helpers.h - a hand-made peer of the coordinator in end-to-end tests
    READY from a raw DEALER on the backend, the commands the coordinator
    answers it, and events picked by topic (and worker instance) on a SUB.

    Header-only (static inline) like process_helpers.h.  Nothing here
    asserts: helpers return a value or -1 / CK_CMD_NONE, and the tests assert.
*/
#ifndef CK_PEER_HELPERS_H_INCLUDED
#define CK_PEER_HELPERS_H_INCLUDED

#include <czmq.h>
#include "checkout/codec.h"
#include "frame.h"
#include "process_helpers.h"
#include "stats_helpers.h"

//  Sends READY for service as instance, of capacity, from peer, with
//  update (a new capacity on the same connection) as asked.  Returns
//  ck_frame_send's 0 or -1.
static inline int
peer_send_ready_update (zsock_t *peer, ck_service_t service, const char *instance,
                        uint32_t capacity, bool update)
{
    ck_ready_t ready = { .service = service, .capacity = capacity, .update = update };
    snprintf (ready.instance, sizeof ready.instance, "%s", instance);
    ck_buf_t body;
    ck_buf_init (&body);
    int rc = ck_encode_ready (&ready, &body) == 0
           ? ck_frame_send (peer, NULL, 0, CK_PROTO_WORKER, CK_CMD_READY, body.data, body.size)
           : -1;
    ck_buf_free (&body);
    return rc;
}

//  A plain READY: a new connection's registration
static inline int
peer_send_ready (zsock_t *peer, ck_service_t service, const char *instance,
                 uint32_t capacity)
{
    return peer_send_ready_update (peer, service, instance, capacity, false);
}

//  The next command the coordinator sends peer within timeout_ms, or
//  CK_CMD_NONE
static inline ck_command_t
peer_next_command (zsock_t *peer, int timeout_ms)
{
    zsock_set_rcvtimeo (peer, timeout_ms);
    zmsg_t *msg = zmsg_recv (peer);
    if (!msg)
        return CK_CMD_NONE;
    ck_frame_t frame;
    ck_decode_error_t err;
    ck_command_t command = ck_frame_parse (msg, CK_PROTO_WORKER, false, &frame, &err) == 0
                         ? frame.command: CK_CMD_NONE;
    zmsg_destroy (&msg);
    return command;
}

//  The next worker event of topic ("worker.joined", "worker.lost") for
//  instance on sub within timeout_ms; 0, or -1
static inline int
peer_worker_event (zsock_t *sub, const char *topic, const char *instance, int timeout_ms)
{
    int64_t deadline = ph_now_ms () + timeout_ms;
    zframe_t *body = NULL;
    while (ph_now_ms () < deadline
    &&     peer_next_event (sub, topic, &body, (int) (deadline - ph_now_ms ())) == 0) {
        ck_ev_worker_t worker;
        ck_decode_error_t err;
        bool found = ck_decode_ev_worker (zframe_data (body), zframe_size (body),
                                          &worker, &err) == 0
                  && streq (worker.instance, instance);
        zframe_destroy (&body);
        if (found)
            return 0;
    }
    return -1;
}

#endif

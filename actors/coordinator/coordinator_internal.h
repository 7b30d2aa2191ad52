/*  coordinator_internal.h - the coordinator actor's state, shared by its files
    coordinator.c (loop, commit, outbox), _frontend.c (clients), _backend.c
    (participants, dispatch) and _events.c (events, stats, monitors).
*/
#ifndef COORDINATOR_INTERNAL_H_INCLUDED
#define COORDINATOR_INTERNAL_H_INCLUDED

#include "codec.h"
#include "coordinator.h"
#include "deadlines.h"
#include "dispatcher.h"
#include "frame.h"
#include "histogram.h"
#include "log_limit.h"
#include "saga_log.h"

#define MAX_WAITERS 8                   //  clients waiting for one RESULT
//  Connections open at once, past which handshakes are refused (conn_guard):
//  with the sockets' send HWM (coordinator.c) they bound what clients and
//  subscribers that never read can make the coordinator hold
#define MAX_CLIENTS     512
#define MAX_SUBSCRIBERS 64

//  A client routing id
typedef struct {
    uint8_t bytes [256];
    uint8_t size;
} peer_id_t;

//  One saga in memory: every saga that is not terminal has one
typedef struct {
    saga_t *saga;
    uint64_t cart_digest;
    bool ack;                           //  its client asked for ACCEPTED
    bool done;                          //  terminal: freed at the end of the turn
    uint64_t held_turn;                 //  the turn in which it has an action
                                        //  that must wait for the commit
    peer_id_t waiters [MAX_WAITERS];    //  clients to send the RESULT to
    uint8_t waiter_count;
    ck_buf_t request;                   //  its current REQUEST body, encoded
                                        //  once, sent as often as needed
    ck_service_t service;               //  of that request
    ck_type_t type;
    uint32_t attempt;
    ck_type_t sent_type;                //  the request in flight, if one is
    uint32_t sent_attempt;
} entry_t;

//  A request that was in flight at an instance found gone: the saga is told
//  after the current round of sends, not from inside it (no re-entry into
//  the engine while the outbox is being sent), and only if that same
//  request is still the one in flight
typedef struct {
    entry_t *entry;
    ck_type_t type;
    uint32_t attempt;
} lost_t;

//  An action waiting for the turn's commit, or, when early (it follows a
//  replayable PERSIST), that may go before it
typedef struct {
    entry_t *entry;
    saga_action_t action;
    bool early;
    bool sent;
} outbox_item_t;

typedef struct {
    uint64_t started, confirmed, failed, stuck;
    uint64_t bad_messages, retries, ignored_replies, overloaded;
    uint64_t dropped;                   //  replies dropped: client's queue full or gone
    uint64_t refused;                   //  connections refused past MAX_CLIENTS
} counters_t;

typedef struct {
    coordinator_config_t config;
    zsock_t *pipe;
    zsock_t *frontend;
    zsock_t *backend;
    zsock_t *events;
    zactor_t *frontend_monitor;         //  conn_guard: the frontend's monitor too
    zactor_t *backend_monitor;
    saga_log_t *log;
    saga_engine_t *engine;
    dispatcher_t *dispatcher;
    deadlines_t *deadlines;
    histogram_t *latency;               //  sagas ended since the last stats
    zhashx_t *by_saga;                  //  saga_id -> entry_t
    zhashx_t *by_checkout;              //  checkout_id -> entry_t (same entries)
    outbox_item_t *outbox;              //  actions of this turn, after commit
    zlist_t *deferred;                  //  ck_message_t * to answer after commit
    size_t outbox_size, outbox_capacity;
    lost_t *lost;                       //  requests lost this round
    size_t lost_size, lost_capacity;
    uint64_t turn;                      //  turns flushed, for entry_t.held_turn
    bool in_transaction;                //  this turn wrote to the log
    bool terminated;                    //  $TERM received
    bool failed;                        //  the log failed: stop
    ck_buf_t body;                      //  scratch encode buffer
    ck_result_t *result;                //  scratch RESULT (large)
    counters_t counters;
    char id_prefix [32];                //  saga ids: prefix + sequence
    uint64_t id_sequence;
    uint64_t started_us;
    int64_t next_stats_ms;
    int64_t next_heartbeat_ms;
    bool trim_due;                      //  full queues closed: give memory back
    uint64_t trimmed_dropped;           //  counters.dropped at the last trim
} self_t;

//  coordinator.c
uint64_t coordinator_wall_us (void);
saga_clock_t coordinator_clock (void);
void coordinator_apply (self_t *self, entry_t *entry, saga_actions_t *actions);
entry_t *coordinator_entry_new (self_t *self, saga_t *saga, uint64_t cart_digest);
void coordinator_send_result (self_t *self, entry_t *entry, ck_status_t status);

//  coordinator_frontend.c
void frontend_handle (self_t *self, ck_message_t *message, bool committed);
void frontend_result_to (self_t *self, const peer_id_t *peer, const ck_result_t *result);
void frontend_accepted_to (self_t *self, entry_t *entry, const peer_id_t *peer);

//  coordinator_backend.c
void backend_handle (self_t *self, ck_message_t *message);
void backend_send_request (self_t *self, entry_t *entry);
void backend_dispatch_waiting (self_t *self, ck_service_t service);
//  The saga no longer waits for its request: out of the queue, and its
//  instance's slot held until that instance answers it
void backend_forget (self_t *self, entry_t *entry);
void backend_tick (self_t *self, int64_t now_ms);
bool backend_apply_lost (self_t *self);

//  coordinator_events.c
int events_start (self_t *self);
void events_stop (self_t *self);
void events_publish (self_t *self, const saga_action_t *action);
void events_worker (self_t *self, ck_event_kind_t kind, const dispatcher_worker_t *worker);
void events_monitor (self_t *self, zactor_t *monitor, const char *socket_name);
void events_stats (self_t *self);

#endif

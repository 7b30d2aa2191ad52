/*  coordinator_internal.h - the coordinator actor's parts and their seams
    coordinator.c is the core: the sagas in memory, the engine, the saga
    log and the turn's outbox.  Three parts own their sockets and state:
    _frontend.c (clients), _backend.c (participants, dispatch, liveness)
    and _events.c (events, stats, socket monitors).  The core calls the
    parts through the functions below; a part reaches the core only
    through coordinator_* functions and the core's fields it reads.
*/
#ifndef COORDINATOR_INTERNAL_H_INCLUDED
#define COORDINATOR_INTERNAL_H_INCLUDED

#include "checkout/codec.h"
#include "coordinator.h"
#include "deadlines.h"
#include "dispatcher.h"
#include "frame.h"
#include "histogram.h"
#include "keyring.h"
#include "log_limit.h"
#include "saga_log.h"

#define MAX_WAITERS 8                   //  clients waiting for one RESULT
//  Connections open at once, past which handshakes are refused (conn_guard):
//  with the sockets' send HWM (coordinator.c) they bound what clients and
//  subscribers that never read can make the coordinator hold
#define MAX_CLIENTS     512
#define MAX_SUBSCRIBERS 64
//  With CURVE, the roles whose keys may connect to the frontend; which
//  commands each may send is coordinator_frontend.c's s_command_roles
#define FRONTEND_ROLES  "client admin"

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
    uint64_t sent_number;               //  its assignment's (dispatcher_assign)
    uint32_t partition;                 //  of its checkout_id, with leases
} entry_t;

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

typedef struct _frontend_t frontend_t;
typedef struct _backend_t backend_t;
typedef struct _events_t events_t;

//  The core: what every part reads, and only the core writes (the parts
//  add to the counters)
typedef struct {
    coordinator_config_t config;
    zsock_t *pipe;
    frontend_t *frontend;
    backend_t *backend;
    events_t *events;
    saga_log_t *log;
    saga_engine_t *engine;
    deadlines_t *deadlines;
    zhashx_t *by_saga;                  //  saga_id -> entry_t
    zhashx_t *by_checkout;              //  checkout_id -> entry_t (same entries)
    outbox_item_t *outbox;              //  actions of this turn, after commit
    size_t outbox_size, outbox_capacity;
    uint64_t turn;                      //  turns flushed, for entry_t.held_turn
    bool in_transaction;                //  this turn wrote to the log
    bool terminated;                    //  $TERM received
    bool failed;                        //  the log failed: stop
    //  Several coordinators on one log (coordinator_leases.c): the leases
    //  (the log's), the partitions this turn wrote, and clients waiting for
    //  sagas dropped after a fenced commit until they are loaded again
    leases_t *leases;
    bool fenced;                        //  this turn's commit failed: resync
    bool *turn_partitions;
    uint32_t *turn_list;
    size_t turn_count;
    zhashx_t *stashed;                  //  checkout_id -> stash_t
    counters_t counters;
    uint64_t started_us;
    int64_t expire_due_ms;              //  next retention batch (monotonic)
    uint64_t expired;                   //  ended sagas deleted by retention
    keyring_t *keyring;                 //  with CURVE: who holds which role
    int64_t keys_due_ms;                //  next read of the allow-lists
    int64_t keys_retry_ms;              //  earliest read for an unknown key
} core_t;

//  coordinator.c: the core, for the parts
//  True when key holds one of roles (space-separated), or without CURVE
bool coordinator_allows (core_t *core, const char *roles, const char *key);
uint64_t coordinator_wall_us (void);
saga_clock_t coordinator_clock (void);
void coordinator_apply (core_t *core, entry_t *entry, saga_actions_t *actions);
entry_t *coordinator_entry_new (core_t *core, saga_t *saga, uint64_t cart_digest);
void coordinator_flush (core_t *core);
//  Frees a saga's entry (and its saga) at once: out of the maps, its
//  deadline and its request forgotten
void coordinator_entry_destroy (core_t *core, entry_t **entry_p);

//  coordinator_leases.c: several coordinators on one log.  All are no-ops
//  without leases (SQLite).
//  Renews the leases, drops the sagas of partitions lost, loads and
//  resumes those of partitions gained
void coordinator_leases_tick (core_t *core);
//  The turn's commit was refused (fenced, or the database failed): its
//  partitions' sagas go from memory, their clients kept aside, and the
//  next tick, due at once, takes the partitions again and reloads them
void coordinator_leases_fenced (core_t *core);
//  Notes that the turn writes to the saga of entry
void coordinator_leases_touch (core_t *core, entry_t *entry);
//  The turn's commit went through: forgets what it wrote
void coordinator_leases_committed (core_t *core);
//  Sets up the leases' part once the log is open, and frees it
void coordinator_leases_init (core_t *core);
void coordinator_leases_destroy (core_t *core);

//  coordinator_frontend.c: clients.  Before the turn's commit (committed
//  false) a message whose answer reads saga state is kept for after it;
//  frontend_after_commit answers those.
frontend_t *frontend_new (core_t *core);
void frontend_destroy (frontend_t **self_p);
zsock_t *frontend_socket (frontend_t *self);
void frontend_receive (frontend_t *self, int max_messages);
void frontend_after_commit (frontend_t *self);
void frontend_send_result (frontend_t *self, entry_t *entry, ck_status_t status);
void frontend_send_accepted (frontend_t *self, entry_t *entry);
//  Sends body as command to a client; an ERROR with code and message
void frontend_send (frontend_t *self, const peer_id_t *peer, ck_command_t command,
                    const ck_buf_t *body);
void frontend_error (frontend_t *self, const peer_id_t *peer, ck_error_code_t code,
                     const char *message, const char *checkout_id);
//  ERROR not_owner for checkout_id, naming owner ("" when none is live)
void frontend_not_owner (frontend_t *self, const peer_id_t *peer, const char *checkout_id,
                         const char *owner);
//  With leases: true when checkout_id's partition is not this
//  coordinator's, after answering not_owner, or after marking the message
//  being handled to wait, when no coordinator holds the partition now
bool frontend_not_mine (frontend_t *self, const peer_id_t *peer, const char *checkout_id);
//  After the leases changed: the waiting messages are handled again
void frontend_leases_changed (frontend_t *self);
//  When the oldest waiting message is to be answered (monotonic ms)
int64_t frontend_parked_due (frontend_t *self);

//  coordinator_operator.c: operators' commands on the frontend (LIST,
//  DESCRIBE, RETRY, CANCEL), all in one place: where a check of the
//  sender's role belongs once clients authenticate
typedef struct _operator_t operator_t;
operator_t *operator_new (core_t *core, frontend_t *frontend);
void operator_destroy (operator_t **self_p);
//  True for the commands operator_handle answers
bool operator_command (ck_command_t command);
//  Answers one, after the turn's commit (each reads or changes saga
//  state; RETRY and CANCEL commit their transition before they answer)
void operator_handle (operator_t *self, const peer_id_t *peer, const ck_frame_t *frame,
                      const char *key);

//  coordinator_backend.c: participants
backend_t *backend_new (core_t *core);
void backend_destroy (backend_t **self_p);
zsock_t *backend_socket (backend_t *self);
void backend_receive (backend_t *self, int max_messages);
void backend_send_request (backend_t *self, entry_t *entry);
//  The saga no longer waits for its request: out of the queue, and its
//  instance's slot held until that instance answers it
void backend_forget (backend_t *self, entry_t *entry);
//  Heartbeats and liveness; returns when it next has something to do
int64_t backend_tick (backend_t *self, int64_t now_ms);
bool backend_apply_lost (backend_t *self);
//  The services of def with no live instance for longer than a liveness
//  period (heartbeat x liveness), into services (def->step_count slots),
//  and how long the first has been so in *for_ms.  Returns how many: 0
//  when every step's service has one, or lost it only just.
size_t backend_unserved (backend_t *self, const saga_def_t *def, int64_t now_ms,
                         ck_service_t *services, int64_t *for_ms);
void backend_each_worker (backend_t *self,
    void (*fn) (void *arg, dispatcher_worker_t *worker), void *arg);

//  coordinator_events.c: observers.  Watches the frontend's and the
//  backend's sockets (so it starts after them).
events_t *events_new (core_t *core, zsock_t *frontend, zsock_t *backend);
void events_destroy (events_t **self_p);
zsock_t *events_socket (events_t *self);
//  Its monitors' pipes, to poll, and what to do when one has a message
zactor_t *events_frontend_monitor (events_t *self);
zactor_t *events_backend_monitor (events_t *self);
void events_monitor (events_t *self, zactor_t *monitor, const char *socket_name);
void events_publish (events_t *self, const saga_action_t *action);
void events_worker (events_t *self, ck_event_kind_t kind, const dispatcher_worker_t *worker);
//  A saga confirmed (failed NULL) or failed (failed: its reason, may be
//  NULL) after elapsed_us: for the stats' latency and totals
void events_saga_ended (events_t *self, uint64_t elapsed_us, const ck_reason_t *failed);
//  Stats once a second; returns when it is next due
int64_t events_tick (events_t *self, int64_t now_ms);

//  A socket of the coordinator with its limits (coordinator.c), a CURVE
//  server when the config has keys; the core binds it once every part is up
zsock_t *coordinator_socket (core_t *core, int type, const char *name,
                             int sndhwm, int rcvhwm, bool guarded);

//  A peer refused for what its key does not allow: logged and published
//  as security.refused (coordinator_events.c)
void events_refused (events_t *self, const char *key, const char *socket_name,
                     const char *command, const char *role, const char *instance,
                     const char *reason);

//  A monitor's key was withdrawn: the guard reads the allow-lists again,
//  then (its RELOADED, through events_monitor) the events endpoint is bound
//  anew, so that every subscriber handshakes again (coordinator_events.c)
void events_keys_withdrawn (events_t *self);

//  coordinator_backend.c: after the allow-lists changed, DISCONNECT for
//  every instance whose key no longer holds its service's role
void backend_keys_changed (backend_t *self);

#endif

/*  saga_engine.h - the coordinator's saga engine, a pure state machine
    Events in (accept, reply, timeout, worker lost, resume), actions out.

    The engine has no sockets, no files and no clock: the caller passes the
    time in and carries out the actions the engine returns, in order.  Every
    call that changes a saga returns a list whose first action is PERSIST;
    the caller makes that durable before it performs any later action of the
    list (outbox order, docs/protocol.md#durability), unless PERSIST is replayable: a
    transition caused by an ok or rejected reply that does not make the saga
    stuck, which recovery re-derives the same way from the participant's
    recorded answer (docs/saga-log.md).  SET_TIMER, when present, is last.

    The engine walks a saga_def_t table and has no branch for a particular
    saga.  docs/saga-engine.md has the states, the transition table and the
    reasons behind the choices.
*/
#ifndef SAGA_ENGINE_H_INCLUDED
#define SAGA_ENGINE_H_INCLUDED

#include "checkout/protocol.h"
#include "saga_def.h"

#ifdef __cplusplus
extern "C" {
#endif

//  -------------------------------------------------------------------------
//  Policy and clock

typedef struct {
    uint32_t step_timeout_ms;           //  wait for a REPLY; default 5000
    uint32_t max_attempts;              //  error/timeout attempts of a step; 3
    uint32_t comp_max_attempts;         //  failed attempts of a compensation
                                        //  before the saga is stuck; 10
    uint32_t backoff_base_ms;           //  first retry delay; 100
    uint32_t backoff_max_ms;            //  retry delay cap; 5000
    uint32_t max_resends;               //  re-sends after lost instances
                                        //  before one counts as a failed
                                        //  attempt; 10 (0: each counts)
} saga_policy_t;

//  Fills *self with the defaults above.  Can't fail.
void saga_policy_defaults (saga_policy_t *self);

//  The time of an event.  now_us measures durations (deadlines, elapsed_us);
//  wall_ms stamps history entries.  now_us values are persisted (accepted_us)
//  so, for elapsed_us to stay right across a restart, use a clock that a
//  restart does not reset (wall-clock microseconds, e.g. zclock_usecs).
typedef struct {
    uint64_t now_us;
    uint64_t wall_ms;
} saga_clock_t;

//  -------------------------------------------------------------------------
//  A saga: public, so that the saga log can persist and restore it

typedef enum {
    SAGA_NEW = 0,                       //  made, not yet accepted
    SAGA_RUNNING,                       //  forward steps
    SAGA_COMPENSATING,                  //  undoing done steps, in reverse
    SAGA_CONFIRMED,                     //  terminal
    SAGA_FAILED                         //  terminal
} saga_phase_t;

typedef enum {
    SAGA_IDLE = 0,                      //  nothing to wait for (new, terminal)
    SAGA_IN_FLIGHT,                     //  the current request is sent
    SAGA_BACKING_OFF                    //  the current request waits to go
} saga_wait_t;

#define SAGA_NO_STEP 0xFF               //  failed_step when none

typedef struct {
    //  Identity and the cart the requests need, set by saga_new
    char saga_id [CK_ID_SIZE];
    char checkout_id [CK_ID_SIZE];
    char cart_id [CK_ID_SIZE];
    char customer_id [CK_ID_SIZE];
    char payment_method [CK_ID_SIZE];
    char currency [4];
    ck_ship_to_t ship_to;
    uint64_t amount;
    ck_item_t *items;                   //  owned, item_count entries
    uint32_t item_count;
    //  Result ids of ok forward steps, by step index: owned, NULL when
    //  none (saga_result, saga_set_result)
    char *results [CK_MAX_STEPS];
    //  Where the saga stands
    saga_phase_t phase;
    saga_wait_t wait;
    bool stuck;                         //  reported stuck; cleared by no one
                                        //  but a terminal state
    uint8_t step;                       //  the step in progress or undone
    uint8_t failed_step;                //  index, or SAGA_NO_STEP
    uint8_t comp_steps [CK_MAX_STEPS];  //  step indexes to undo, in order
    uint8_t comp_count;
    uint8_t comp_index;                 //  undone so far: comp_steps [0..index)
    ck_type_t type;                     //  current request type
    uint32_t attempt;                   //  its attempt number, sent or due
    uint32_t counted;                   //  its attempts that count (see docs)
    uint32_t resent;                    //  its re-sends after lost instances
                                        //  not yet counted (memory only)
    uint64_t accepted_us;               //  clock.now_us at accept
    uint64_t elapsed_us;                //  accept to terminal, once terminal
    uint64_t deadline_us;               //  the one timer; 0 when none
    ck_reason_t *reason;                //  owned; NULL, or why it failed or
                                        //  is stuck
    //  What the saga log holds of it, kept by the log, not the engine: its
    //  history, encoded, which the log rewrites with the row (a saga that
    //  retries for ever keeps only its first and last CK_MAX_HISTORY / 2)
    char *history;                      //  owned; msgpack entries in a row
    size_t history_size;                //  bytes
    uint32_t history_kept;              //  entries in history
    uint64_t history_logged;            //  entries it ever had
    saga_phase_t phase_logged;          //  the phase of its row
} saga_t;

//  Creates a saga in phase SAGA_NEW with a copy of the checkout's cart
//  (items sized by count).  Returns a new saga owned by the caller, or NULL
//  when out of memory.
saga_t *saga_new (const char *saga_id, const ck_checkout_t *checkout);

//  Destroys a saga; safe on NULL, nulls the pointer.
void saga_destroy (saga_t **self_p);

//  Replaces the saga's items by a copy of items [0..count) (restore path).
//  Returns 0, or -1 when out of memory (the old items are kept).
int saga_set_items (saga_t *self, const ck_item_t *items, uint32_t count);

//  Replaces the saga's reason by a copy of reason, or clears it when NULL.
//  Returns 0, or -1 when out of memory (the old reason is kept).
int saga_set_reason (saga_t *self, const ck_reason_t *reason);

//  The result id of step (borrowed), "" when it has none.  Can't fail.
const char *saga_result (const saga_t *self, uint32_t step);

//  Sets the result id of step to a copy of id ("" clears it).  Returns 0,
//  or -1 when out of memory (the old id is kept).
int saga_set_result (saga_t *self, uint32_t step, const char *id);

//  True when the saga is confirmed or failed.  Can't fail.
bool saga_terminal (const saga_t *self);

//  -------------------------------------------------------------------------
//  Actions

typedef enum {
    SAGA_ACTION_NONE = 0,
    SAGA_ACTION_PERSIST,                //  write the saga and actions->history
    SAGA_ACTION_SEND_REQUEST,           //  send actions->request
    SAGA_ACTION_SET_TIMER,              //  the saga's one timer: at_us, 0 = none
    SAGA_ACTION_REPLY_ACCEPTED,         //  ACCEPTED, if the client asked (ack)
    SAGA_ACTION_REPLY_RESULT,           //  RESULT to the clients waiting
    SAGA_ACTION_PUBLISH,                //  docs/protocol.md#events
    SAGA_ACTION_IGNORED                 //  the reply was not for the current
                                        //  request: count it, nothing else
} saga_action_kind_t;

typedef enum {
    SAGA_IGNORED_NONE = 0,
    SAGA_IGNORED_STALE,                 //  current type, not its current attempt
    SAGA_IGNORED_DUPLICATE,             //  a request the saga has moved past
    SAGA_IGNORED_LATE,                  //  the saga is terminal
    SAGA_IGNORED_UNKNOWN,               //  a type this saga has not sent
    SAGA_IGNORED_INVALID                //  outcome not ok, rejected or error
} saga_ignored_t;

typedef struct {
    saga_action_kind_t kind;
    union {
        struct {
            bool created;               //  the first write of this saga
            bool terminal;              //  the saga is now confirmed/failed
            bool replayable;            //  what follows may be sent before
                                        //  the write is durable (see below)
        } persist;
        struct {
            ck_service_t service;
            ck_type_t type;
            uint32_t attempt;
            uint32_t deadline_ms;       //  relative, for the REQUEST body
        } send;
        struct {
            uint64_t at_us;             //  0: cancel the saga's timer
        } timer;
        struct {
            ck_status_t status;         //  confirmed, failed or stuck
        } result;
        struct {
            ck_event_kind_t kind;       //  selects the member below
            union {
                ck_ev_started_t started;
                ck_ev_step_t step;
                ck_ev_compensating_t compensating;
                ck_ev_outcome_t outcome;    //  confirmed, failed, stuck
                ck_ev_operator_t operator_; //  retried, cancelled
            };
        } publish;
        struct {
            saga_ignored_t reason;
        } ignored;
    };
} saga_action_t;

#define SAGA_ACTIONS_MAX 8
#define SAGA_HISTORY_MAX 4

//  The output of one engine call: actions in the order to carry them out,
//  and the history entries that the PERSIST action appends, oldest first.
typedef struct {
    saga_action_t list [SAGA_ACTIONS_MAX];
    uint32_t count;
    ck_history_entry_t history [SAGA_HISTORY_MAX];
    uint32_t history_count;
    //  What the SEND_REQUEST sends (one call sends at most one request):
    //  every field of the REQUEST, so the shell needs nothing else
    ck_request_t request;
} saga_actions_t;

//  -------------------------------------------------------------------------
//  The engine

typedef struct _saga_engine_t saga_engine_t;

//  Creates an engine that runs sagas of def (borrowed: it must outlive the
//  engine) under policy (copied; NULL for the defaults).  Returns a new
//  engine owned by the caller, or NULL when def fails saga_def_check, a
//  policy value is zero where it must not be, or out of memory.
saga_engine_t *saga_engine_new (const saga_def_t *def, const saga_policy_t *policy);

//  Destroys an engine; safe on NULL, nulls the pointer.
void saga_engine_destroy (saga_engine_t **self_p);

//  The engine's table and policy (borrowed).
const saga_def_t *saga_engine_def (saga_engine_t *self);
const saga_policy_t *saga_engine_policy (saga_engine_t *self);

//  Starts a saga made by saga_new: PERSIST (created, history "started"),
//  REPLY_ACCEPTED, PUBLISH saga.started, SEND_REQUEST of step 0 attempt 1,
//  SET_TIMER.  Fills *actions; can't fail.
void saga_engine_accept (saga_engine_t *self, saga_t *saga, saga_clock_t clock, saga_actions_t *actions);

//  Applies a participant's REPLY.  A reply that is not for the current
//  request in flight (type and attempt) changes nothing and yields one
//  IGNORED action.  Fills *actions; can't fail.
void saga_engine_reply (saga_engine_t *self, saga_t *saga, const ck_reply_t *reply, saga_clock_t clock, saga_actions_t *actions);

//  The saga's timer fired: the step timed out, or its back-off ended.  A
//  call before saga->deadline_us only re-arms the timer.  Fills *actions;
//  can't fail.
void saga_engine_timeout (saga_engine_t *self, saga_t *saga, saga_clock_t clock, saga_actions_t *actions);

//  The instance the current request went to is gone: send it again at
//  once with attempt + 1 and a fresh step timeout, not counted against
//  max_attempts; but every max_resends + 1st such re-send of a request is
//  a failed attempt (outcome error, reason worker_lost) that counts, so an
//  instance that keeps dropping out cannot keep a saga going for ever.
//  No actions unless the request is in flight.  Fills
//  *actions; can't fail.
void saga_engine_worker_lost (saga_engine_t *self, saga_t *saga, saga_clock_t clock, saga_actions_t *actions);

//  After a coordinator restart: send a saga that is not terminal its
//  current request again with attempt + 1 (also when it was backing off),
//  not counted.  No actions for a terminal saga.  Fills *actions; can't fail.
void saga_engine_resume (saga_engine_t *self, saga_t *saga, saga_clock_t clock, saga_actions_t *actions);

//  Why an operator's command was refused
typedef enum {
    SAGA_REFUSED_NONE = 0,              //  done
    SAGA_REFUSED_ENDED,                 //  the saga is confirmed or failed
    SAGA_REFUSED_NOT_STARTED,           //  the saga was never accepted
    SAGA_REFUSED_PAST_PIVOT,            //  cancel: the pivot or a step after it
                                        //  is under way; it only goes forward
    SAGA_REFUSED_COMPENSATING           //  cancel: the saga is failing already
} saga_refused_t;

//  An operator asks that a saga that is not terminal try its current
//  request (a step or a compensation) now: a request in flight is given up
//  on, not counted; one backing off goes at once.  The back-off starts
//  over (no failed attempt counted for the request), so the step has its
//  attempts again; a stuck saga stays reported stuck until it ends.  by
//  (who asked) goes into the history entry `retry_asked` and the event
//  saga.retried.  Returns SAGA_REFUSED_NONE with PERSIST, history,
//  PUBLISH, SEND_REQUEST, SET_TIMER in *actions; or why not, with no
//  actions.  The caller stops waiting for a request that was in flight.
saga_refused_t saga_engine_retry (saga_engine_t *self, saga_t *saga, const char *by,
                                  saga_clock_t clock, saga_actions_t *actions);

//  An operator cancels a saga before its pivot: it fails with reason code
//  `cancelled` (message naming by and the optional reason text) and the
//  steps done are undone in reverse, the current one included (its
//  request was sent, its outcome is unknown).  Refused once the saga is
//  at its pivot or past it (the pivot only goes forward), compensating,
//  or ended.  History `cancel_asked`, then as a failure; the event
//  saga.cancelled precedes saga.compensating.  Returns as saga_engine_retry.
saga_refused_t saga_engine_cancel (saga_engine_t *self, saga_t *saga, const char *by,
                                   const char *reason, saga_clock_t clock,
                                   saga_actions_t *actions);

//  A sentence saying why an operator's command was refused.  Can't fail.
const char *saga_refused_text (saga_refused_t refused);

//  Where the saga stands for operators: running, stuck, confirmed, failed
//  (NONE for a new saga).  Can't fail.
ck_saga_state_t saga_engine_state (const saga_t *saga);

//  Fills *summary (a LIST entry) from the saga.  Can't fail.
void saga_engine_summary (saga_engine_t *self, const saga_t *saga, ck_saga_summary_t *summary);

//  Fills *description (DESCRIBE's answer) from the saga, its steps by the
//  engine's table, with no history (history_count 0, the array left as it
//  was: the actor adds the log's).  Can't fail.
void saga_engine_describe (saga_engine_t *self, const saga_t *saga,
                           ck_description_t *description);

//  Fills *request with the saga's current request, fields chosen by its
//  step row; fields not chosen are zero, and items past item_count are left
//  as they were (as codec.h decodes).  Returns 0, or -1 when the saga has
//  no current request.
int saga_engine_request (saga_engine_t *self, const saga_t *saga, ck_request_t *request);

//  The result id of the saga's step whose row returns it under key (the
//  order_id a RESULT and saga.confirmed carry), or "" when no step does or
//  it has not returned yet.  Borrowed from the saga.  Can't fail.
const char *saga_engine_result_id (saga_engine_t *self, const saga_t *saga, const char *key);

//  Fills *result for a RESULT: confirmed, failed, stuck, or pending while
//  running.  Sets history_count to 0 and leaves the history array as it
//  was, unzeroed (it is most of the struct): the actor adds the log's
//  history for STATUS.  Can't fail.
void saga_engine_result (saga_engine_t *self, const saga_t *saga, ck_result_t *result);

//  Names for logs and docs; NULL when out of range.
const char *saga_phase_name (saga_phase_t phase);
const char *saga_action_name (saga_action_kind_t kind);
const char *saga_ignored_name (saga_ignored_t reason);

#ifdef __cplusplus
}
#endif

#endif

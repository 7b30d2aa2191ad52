/*  saga_engine.c - the coordinator's saga engine, a pure state machine
    Forward steps, retries, compensation and stuck sagas, as table walks.

    Every entry point resets the action list, then either changes nothing
    (an ignored reply, an early or idle timer) or opens the list with
    PERSIST, appends history entries and the messages the transition causes,
    and closes it with SET_TIMER.  That fixed shape is what gives the actor
    outbox order for free.
*/
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "saga_engine.h"

struct _saga_engine_t {
    const saga_def_t *def;              //  borrowed
    saga_policy_t policy;
};


//  Fills *self with the default policy.  Can't fail.

void
saga_policy_defaults (saga_policy_t *self)
{
    assert (self);
    self->step_timeout_ms = 5000;
    self->max_attempts = 3;
    self->comp_max_attempts = 10;
    self->backoff_base_ms = 100;
    self->backoff_max_ms = 5000;
    self->max_resends = 10;
}


//  Creates an engine for def under policy; NULL when either is invalid.

saga_engine_t *
saga_engine_new (const saga_def_t *def, const saga_policy_t *policy)
{
    saga_policy_t defaults;
    saga_policy_defaults (&defaults);
    if (!policy)
        policy = &defaults;
    if (saga_def_check (def) != 0
    ||  policy->step_timeout_ms == 0 || policy->max_attempts == 0
    ||  policy->comp_max_attempts == 0
    ||  policy->backoff_max_ms < policy->backoff_base_ms)
        return NULL;
    saga_engine_t *self = calloc (1, sizeof (saga_engine_t));
    if (!self)
        return NULL;
    self->def = def;
    self->policy = *policy;
    return self;
}


//  Destroys an engine; safe on NULL, nulls the pointer.

void
saga_engine_destroy (saga_engine_t **self_p)
{
    assert (self_p);
    free (*self_p);
    *self_p = NULL;
}


//  The engine's table (borrowed).

const saga_def_t *
saga_engine_def (saga_engine_t *self)
{
    assert (self);
    return self->def;
}


//  The engine's policy (borrowed).

const saga_policy_t *
saga_engine_policy (saga_engine_t *self)
{
    assert (self);
    return &self->policy;
}


//  -------------------------------------------------------------------------
//  Building the action list

static saga_action_t *
s_push (saga_actions_t *actions, saga_action_kind_t kind)
{
    assert (actions->count < SAGA_ACTIONS_MAX);
    saga_action_t *action = &actions->list [actions->count++];
    memset (action, 0, sizeof (*action));
    action->kind = kind;
    return action;
}

static void
s_reset (saga_actions_t *actions)
{
    assert (actions);
    actions->count = 0;
    actions->history_count = 0;
}

//  Opens a transition: PERSIST is always the first action of a change
static saga_action_t *
s_persist (saga_actions_t *actions, bool created)
{
    assert (actions->count == 0);
    saga_action_t *action = s_push (actions, SAGA_ACTION_PERSIST);
    action->persist.created = created;
    return action;
}

//  Closes a transition: the saga's one timer, 0 when it has none
static void
s_arm (const saga_t *saga, saga_actions_t *actions)
{
    s_push (actions, SAGA_ACTION_SET_TIMER)->timer.at_us = saga->deadline_us;
}

static ck_history_entry_t *
s_history (saga_actions_t *actions, saga_clock_t clock, const char *event)
{
    assert (actions->history_count < SAGA_HISTORY_MAX);
    ck_history_entry_t *entry = &actions->history [actions->history_count++];
    memset (entry, 0, sizeof (*entry));
    entry->at_ms = clock.wall_ms;
    snprintf (entry->event, sizeof (entry->event), "%s", event);
    return entry;
}

static saga_action_t *
s_publish (saga_actions_t *actions, ck_event_kind_t kind)
{
    saga_action_t *action = s_push (actions, SAGA_ACTION_PUBLISH);
    action->publish.kind = kind;
    return action;
}

static void
s_copy_id (char *dest, const char *source)
{
    size_t size = strnlen (source, CK_ID_MAX);
    memcpy (dest, source, size);
    dest [size] = 0;
}

static ck_service_t
s_service (saga_engine_t *self, const saga_t *saga)
{
    return self->def->steps [saga->step].service;
}

//  A history entry about the current request
static ck_history_entry_t *
s_history_request (saga_engine_t *self, const saga_t *saga, saga_actions_t *actions, saga_clock_t clock, const char *event)
{
    ck_history_entry_t *entry = s_history (actions, clock, event);
    entry->step = s_service (self, saga);
    entry->type = saga->type;
    entry->attempt = saga->attempt;
    return entry;
}

//  saga.confirmed, saga.failed or saga.stuck
static void
s_publish_outcome (saga_engine_t *self, const saga_t *saga, ck_event_kind_t kind, const ck_reason_t *reason, saga_clock_t clock, saga_actions_t *actions)
{
    ck_ev_outcome_t *event = &s_publish (actions, kind)->publish.outcome;
    s_copy_id (event->saga_id, saga->saga_id);
    s_copy_id (event->checkout_id, saga->checkout_id);
    if (kind == CK_EVENT_SAGA_CONFIRMED)
        s_copy_id (event->order_id, saga_engine_result_id (self, saga, SAGA_RESULT_ORDER));
    if (reason)
        event->reason = *reason;
    event->elapsed_us = clock.now_us > saga->accepted_us
                      ? clock.now_us - saga->accepted_us: 0;
}


//  -------------------------------------------------------------------------
//  Requests, retries and timers

//  The current request goes out now, with a fresh step timeout
static void
s_send (saga_engine_t *self, saga_t *saga, saga_clock_t clock, saga_actions_t *actions)
{
    saga->wait = SAGA_IN_FLIGHT;
    saga->deadline_us = clock.now_us + (uint64_t) self->policy.step_timeout_ms * 1000;
    for (uint32_t index = 0; index < actions->count; index++)
        assert (actions->list [index].kind != SAGA_ACTION_SEND_REQUEST);
    saga_action_t *action = s_push (actions, SAGA_ACTION_SEND_REQUEST);
    action->send.service = s_service (self, saga);
    action->send.type = saga->type;
    action->send.attempt = saga->attempt;
    action->send.deadline_ms = self->policy.step_timeout_ms;
    int rc = saga_engine_request (self, saga, &actions->request);
    assert (rc == 0);                   //  a running saga with a type has one
    (void) rc;
}

//  A new request for the current step: attempt numbers restart per type,
//  which the participant's (saga_id, type) key keeps apart
static void
s_start (saga_engine_t *self, saga_t *saga, ck_type_t type, saga_clock_t clock, saga_actions_t *actions)
{
    saga->type = type;
    saga->attempt = 1;
    saga->counted = 0;
    saga->resent = 0;
    s_send (self, saga, clock, actions);
}

//  Retry delay after `counted` failed attempts: base doubling, capped; no
//  jitter here so tests can predict it (the actor may add some)
static uint64_t
s_backoff_ms (const saga_policy_t *policy, uint32_t counted)
{
    uint32_t shift = counted > 0? counted - 1: 0;
    if (shift > 31)
        shift = 31;
    uint64_t delay = (uint64_t) policy->backoff_base_ms << shift;
    return delay < policy->backoff_max_ms? delay: policy->backoff_max_ms;
}

//  The attempt number grows now, not when the retry goes out, so that a
//  reply to the old attempt arriving during the wait is plainly stale
static void
s_backoff (saga_engine_t *self, saga_t *saga, saga_clock_t clock)
{
    saga->attempt++;
    saga->wait = SAGA_BACKING_OFF;
    saga->deadline_us = clock.now_us
                      + s_backoff_ms (&self->policy, saga->counted) * 1000;
}


//  -------------------------------------------------------------------------
//  Transitions

//  Confirmed or failed: the end.  RESULT goes after PERSIST like the rest
static void
s_finish (saga_engine_t *self, saga_t *saga, saga_phase_t phase, saga_clock_t clock, saga_actions_t *actions)
{
    bool confirmed = phase == SAGA_CONFIRMED;
    saga->phase = phase;
    saga->wait = SAGA_IDLE;
    saga->type = CK_TYPE_NONE;
    saga->deadline_us = 0;
    saga->stuck = false;
    saga->elapsed_us = clock.now_us > saga->accepted_us
                     ? clock.now_us - saga->accepted_us: 0;
    actions->list [0].persist.terminal = true;
    ck_history_entry_t *entry = s_history (actions, clock, confirmed? "confirmed": "failed");
    if (!confirmed && saga->reason)
        entry->reason = *saga->reason;
    if (!confirmed && saga->failed_step != SAGA_NO_STEP)
        entry->step = self->def->steps [saga->failed_step].service;
    s_publish_outcome (self, saga, confirmed? CK_EVENT_SAGA_CONFIRMED: CK_EVENT_SAGA_FAILED,
                       confirmed? NULL: saga->reason, clock, actions);
    s_push (actions, SAGA_ACTION_REPLY_RESULT)->result.status =
        confirmed? CK_STATUS_CONFIRMED: CK_STATUS_FAILED;
}

//  Stuck is reported once; the retries go on.  A forward step keeps the
//  stuck cause as the saga's reason; a compensation keeps the failure's
static void
s_stick (saga_engine_t *self, saga_t *saga, const ck_reason_t *reason, saga_clock_t clock, saga_actions_t *actions)
{
    saga->stuck = true;
    if (saga->phase == SAGA_RUNNING)
        saga_set_reason (saga, reason);
    s_history_request (self, saga, actions, clock, "stuck")->reason = *reason;
    s_publish_outcome (self, saga, CK_EVENT_SAGA_STUCK, reason, clock, actions);
    s_push (actions, SAGA_ACTION_REPLY_RESULT)->result.status = CK_STATUS_STUCK;
}

static void
s_start_compensation (saga_engine_t *self, saga_t *saga, saga_clock_t clock, saga_actions_t *actions)
{
    saga->step = saga->comp_steps [saga->comp_index];
    s_start (self, saga, self->def->steps [saga->step].compensation, clock, actions);
}

//  The saga fails at its current step.  Done steps are undone in reverse;
//  the failing step too when its outcome is unknown (attempts ran out):
//  its compensation either undoes it or leaves a tombstone that turns a
//  late forward request into a no-op, so undoing is safe either way
static void
s_fail (saga_engine_t *self, saga_t *saga, const ck_reason_t *reason, bool unknown, saga_clock_t clock, saga_actions_t *actions)
{
    saga->failed_step = saga->step;
    //  Out of memory, the RESULT only lacks its reason: not worth failing for
    saga_set_reason (saga, reason);
    saga->comp_count = 0;
    saga->comp_index = 0;
    for (int index = unknown? saga->step: saga->step - 1; index >= 0; index--)
        if (self->def->steps [index].kind == SAGA_STEP_COMPENSATABLE)
            saga->comp_steps [saga->comp_count++] = (uint8_t) index;
    if (saga->comp_count == 0) {
        s_finish (self, saga, SAGA_FAILED, clock, actions);
        return;
    }
    saga->phase = SAGA_COMPENSATING;
    ck_history_entry_t *entry = s_history (actions, clock, "compensating");
    entry->step = s_service (self, saga);
    entry->reason = *reason;
    ck_ev_compensating_t *event = &s_publish (actions, CK_EVENT_SAGA_COMPENSATING)->publish.compensating;
    s_copy_id (event->saga_id, saga->saga_id);
    for (uint8_t index = 0; index < saga->comp_count; index++)
        event->steps [index] = self->def->steps [saga->comp_steps [index]].service;
    event->step_count = saga->comp_count;
    s_start_compensation (self, saga, clock, actions);
}

static void
s_record_result (const saga_step_t *row, saga_t *saga, const ck_reply_t *reply)
{
    const char *id = row->result? reply->result_id: NULL;
    //  A few bytes; out of memory here is out of memory everywhere (czmq's
    //  zmalloc aborts too), and the engine's calls cannot fail
    if (id && saga_set_result (saga, saga->step, id))
        abort ();
}

//  A forward step's outcome.  Only error and timeout count against
//  max_attempts, and a rejection of a retriable step (which may not fail
//  the saga, so it can only be retried).  Out of attempts, a compensatable
//  step fails the saga; a pivot or retriable one is stuck and goes on
static void
s_forward_outcome (saga_engine_t *self, saga_t *saga, ck_outcome_t outcome, const ck_reason_t *reason, const ck_reply_t *reply, saga_clock_t clock, saga_actions_t *actions)
{
    const saga_step_t *row = &self->def->steps [saga->step];
    if (outcome == CK_OUTCOME_OK) {
        s_record_result (row, saga, reply);
        if (saga->step + 1u < self->def->step_count) {
            saga->step++;
            s_start (self, saga, self->def->steps [saga->step].action, clock, actions);
        }
        else
            s_finish (self, saga, SAGA_CONFIRMED, clock, actions);
        return;
    }
    if (outcome == CK_OUTCOME_REJECTED && row->kind != SAGA_STEP_RETRIABLE) {
        s_fail (self, saga, reason, false, clock, actions);
        return;
    }
    saga->counted++;
    bool spent = saga->counted >= self->policy.max_attempts;
    if (spent && row->kind == SAGA_STEP_COMPENSATABLE) {
        s_fail (self, saga, reason, true, clock, actions);
        return;
    }
    if (spent && !saga->stuck)
        s_stick (self, saga, reason, clock, actions);
    s_backoff (self, saga, clock);
}

//  A compensation's outcome: anything but ok is retried, for ever; past
//  comp_max_attempts the saga is reported stuck once
static void
s_compensation_outcome (saga_engine_t *self, saga_t *saga, ck_outcome_t outcome, const ck_reason_t *reason, saga_clock_t clock, saga_actions_t *actions)
{
    if (outcome == CK_OUTCOME_OK) {
        saga->comp_index++;
        if (saga->comp_index < saga->comp_count)
            s_start_compensation (self, saga, clock, actions);
        else
            s_finish (self, saga, SAGA_FAILED, clock, actions);
        return;
    }
    saga->counted++;
    if (saga->counted >= self->policy.comp_max_attempts && !saga->stuck)
        s_stick (self, saga, reason, clock, actions);
    s_backoff (self, saga, clock);
}

//  The current request ended: record it, then walk on
static void
s_outcome (saga_engine_t *self, saga_t *saga, ck_outcome_t outcome, const ck_reason_t *reason, const ck_reply_t *reply, saga_clock_t clock, saga_actions_t *actions)
{
    ck_history_entry_t *entry = s_history_request (self, saga, actions, clock, "step");
    entry->outcome = outcome;
    if (reason)
        entry->reason = *reason;
    ck_ev_step_t *event = &s_publish (actions, CK_EVENT_SAGA_STEP)->publish.step;
    s_copy_id (event->saga_id, saga->saga_id);
    event->step = entry->step;
    event->type = entry->type;
    event->attempt = entry->attempt;
    event->outcome = outcome;
    event->reason = entry->reason;
    if (saga->phase == SAGA_COMPENSATING)
        s_compensation_outcome (self, saga, outcome, reason, clock, actions);
    else
        s_forward_outcome (self, saga, outcome, reason, reply, clock, actions);
}


//  -------------------------------------------------------------------------
//  Matching replies

//  True when the saga sent a request of this type and has moved past it
static bool
s_moved_past (saga_engine_t *self, const saga_t *saga, ck_type_t type)
{
    int index = saga_def_find_action (self->def, type);
    if (index >= 0)
        return saga->phase == SAGA_COMPENSATING
             ? index <= saga->failed_step
             : index < saga->step;
    index = saga_def_find_compensation (self->def, type);
    if (index >= 0 && saga->phase == SAGA_COMPENSATING)
        for (uint8_t done = 0; done < saga->comp_index; done++)
            if (saga->comp_steps [done] == index)
                return true;
    return false;
}

static saga_ignored_t
s_match (saga_engine_t *self, const saga_t *saga, const ck_reply_t *reply)
{
    if (saga_terminal (saga))
        return SAGA_IGNORED_LATE;
    if (saga->phase == SAGA_NEW)
        return SAGA_IGNORED_UNKNOWN;
    if (reply->type == saga->type) {
        if (reply->attempt != saga->attempt || saga->wait != SAGA_IN_FLIGHT)
            return SAGA_IGNORED_STALE;
        if (reply->outcome != CK_OUTCOME_OK && reply->outcome != CK_OUTCOME_REJECTED
        &&  reply->outcome != CK_OUTCOME_ERROR)
            return SAGA_IGNORED_INVALID;
        return SAGA_IGNORED_NONE;
    }
    return s_moved_past (self, saga, reply->type)
         ? SAGA_IGNORED_DUPLICATE: SAGA_IGNORED_UNKNOWN;
}

//  The reply's reason, or one made up when a participant gave none
static void
s_reply_reason (const ck_reply_t *reply, ck_reason_t *reason)
{
    if (reply->outcome == CK_OUTCOME_OK) {
        memset (reason, 0, sizeof (*reason));
        return;
    }
    *reason = reply->reason;
    if (reason->code [0] == 0) {
        const char *code = reply->outcome == CK_OUTCOME_REJECTED? "rejected": "error";
        snprintf (reason->code, sizeof (reason->code), "%s", code);
        snprintf (reason->message, sizeof (reason->message), "%s: %s without a reason",
                  ck_type_name (reply->type), code);
    }
}


//  -------------------------------------------------------------------------
//  Entry points

//  Starts a saga made by saga_new.  Can't fail.

void
saga_engine_accept (saga_engine_t *self, saga_t *saga, saga_clock_t clock, saga_actions_t *actions)
{
    assert (self && saga);
    assert (saga->phase == SAGA_NEW);
    s_reset (actions);
    saga->phase = SAGA_RUNNING;
    saga->step = 0;
    saga->failed_step = SAGA_NO_STEP;
    saga->comp_count = 0;
    saga->comp_index = 0;
    saga->stuck = false;
    saga->accepted_us = clock.now_us;
    s_persist (actions, true);
    s_history (actions, clock, "started");
    s_push (actions, SAGA_ACTION_REPLY_ACCEPTED);
    ck_ev_started_t *event = &s_publish (actions, CK_EVENT_SAGA_STARTED)->publish.started;
    s_copy_id (event->saga_id, saga->saga_id);
    s_copy_id (event->checkout_id, saga->checkout_id);
    s_start (self, saga, self->def->steps [0].action, clock, actions);
    s_arm (saga, actions);
}


//  Applies a participant's reply, or yields one IGNORED action.

void
saga_engine_reply (saga_engine_t *self, saga_t *saga, const ck_reply_t *reply, saga_clock_t clock, saga_actions_t *actions)
{
    assert (self && saga && reply);
    s_reset (actions);
    saga_ignored_t ignored = s_match (self, saga, reply);
    if (ignored != SAGA_IGNORED_NONE) {
        s_push (actions, SAGA_ACTION_IGNORED)->ignored.reason = ignored;
        return;
    }
    ck_reason_t reason;
    s_reply_reason (reply, &reason);
    saga_action_t *persist = s_persist (actions, false);
    bool was_stuck = saga->stuck;
    s_outcome (self, saga, reply->outcome,
               reply->outcome == CK_OUTCOME_OK? NULL: &reason, reply, clock, actions);
    //  The participant recorded an ok or rejected answer: a re-sent request
    //  gets it again, and this transition follows again (docs/saga-log.md)
    persist->persist.replayable = (reply->outcome == CK_OUTCOME_OK
                                   || reply->outcome == CK_OUTCOME_REJECTED)
                               && (was_stuck || !saga->stuck);
    s_arm (saga, actions);
}


//  The saga's timer fired: a step timeout or the end of a back-off.

void
saga_engine_timeout (saga_engine_t *self, saga_t *saga, saga_clock_t clock, saga_actions_t *actions)
{
    assert (self && saga);
    s_reset (actions);
    if (saga->wait == SAGA_IDLE || saga_terminal (saga))
        return;
    if (clock.now_us < saga->deadline_us) {
        s_arm (saga, actions);          //  early: nothing is due yet
        return;
    }
    s_persist (actions, false);
    if (saga->wait == SAGA_BACKING_OFF) {
        s_history_request (self, saga, actions, clock, "retry");
        s_send (self, saga, clock, actions);
    }
    else {
        ck_reason_t reason = { .code = "timeout" };
        snprintf (reason.message, sizeof (reason.message), "no reply to %s within %u ms",
                  ck_type_name (saga->type), self->policy.step_timeout_ms);
        s_outcome (self, saga, CK_OUTCOME_TIMEOUT, &reason, NULL, clock, actions);
    }
    s_arm (saga, actions);
}


//  Re-sends the request in flight after its instance was lost.

//  A lost instance says nothing about the request itself, so the re-send
//  is not counted against max_attempts.  It gets a fresh step timeout: the
//  new instance deserves the whole budget, and the old deadline may be
//  nearly spent through no fault of the step.
void
saga_engine_worker_lost (saga_engine_t *self, saga_t *saga, saga_clock_t clock, saga_actions_t *actions)
{
    assert (self && saga);
    s_reset (actions);
    if (saga->wait != SAGA_IN_FLIGHT || saga_terminal (saga))
        return;
    s_persist (actions, false);
    if (++saga->resent > self->policy.max_resends) {
        //  the re-sends themselves are the failure now: count one attempt
        saga->resent = 0;
        ck_reason_t reason = { .code = "worker_lost" };
        snprintf (reason.message, sizeof (reason.message),
                  "%u re-sends of %s after lost %s instances", self->policy.max_resends + 1,
                  ck_type_name (saga->type), ck_service_name (ck_type_service (saga->type)));
        s_outcome (self, saga, CK_OUTCOME_ERROR, &reason, NULL, clock, actions);
        s_arm (saga, actions);
        return;
    }
    saga->attempt++;
    ck_history_entry_t *entry = s_history_request (self, saga, actions, clock, "resent");
    snprintf (entry->reason.code, sizeof (entry->reason.code), "worker_lost");
    snprintf (entry->reason.message, sizeof (entry->reason.message),
              "the %s instance was lost", ck_service_name (entry->step));
    s_send (self, saga, clock, actions);
    s_arm (saga, actions);
}


//  Re-sends the current request of a saga that is not terminal.

//  Whether the request before the restart reached anyone is unknown, and
//  a back-off deadline means nothing to a new process: send now, with an
//  attempt number never used before, and do not count it.
void
saga_engine_resume (saga_engine_t *self, saga_t *saga, saga_clock_t clock, saga_actions_t *actions)
{
    assert (self && saga);
    s_reset (actions);
    if (saga->phase != SAGA_RUNNING && saga->phase != SAGA_COMPENSATING)
        return;
    s_persist (actions, false);
    saga->attempt++;
    s_history_request (self, saga, actions, clock, "resumed");
    s_send (self, saga, clock, actions);
    s_arm (saga, actions);
}


//  -------------------------------------------------------------------------
//  Operator commands: events like the others, refused rather than ignored

//  A history entry and an event that say who asked
static void
s_operator (saga_engine_t *self, saga_t *saga, ck_event_kind_t kind, const char *event,
            const char *by, const ck_reason_t *reason, const char *text,
            saga_clock_t clock, saga_actions_t *actions)
{
    s_history_request (self, saga, actions, clock, event)->reason = *reason;
    ck_ev_operator_t *published = &s_publish (actions, kind)->publish.operator_;
    s_copy_id (published->saga_id, saga->saga_id);
    s_copy_id (published->checkout_id, saga->checkout_id);
    snprintf (published->by, sizeof (published->by), "%s", by);
    snprintf (published->reason, CK_CANCEL_REASON_MAX + 1, "%s", text? text: "");
}

static saga_refused_t
s_refused (const saga_t *saga)
{
    if (saga_terminal (saga))
        return SAGA_REFUSED_ENDED;
    if (saga->phase == SAGA_NEW)
        return SAGA_REFUSED_NOT_STARTED;
    return SAGA_REFUSED_NONE;
}

//  Retries the current request now, its back-off started over.

//  Not a failed attempt, so not counted; and `counted` goes back to zero:
//  an operator who asks again has fixed, or wants to test, what made the
//  step fail, so it gets its whole budget of attempts and back-off again.
saga_refused_t
saga_engine_retry (saga_engine_t *self, saga_t *saga, const char *by, saga_clock_t clock,
                   saga_actions_t *actions)
{
    assert (self && saga && by);
    s_reset (actions);
    saga_refused_t refused = s_refused (saga);
    if (refused != SAGA_REFUSED_NONE)
        return refused;
    s_persist (actions, false);
    //  in flight, the attempt sent is given up on; backing off, the attempt
    //  was raised when the last one failed and has not gone out yet
    if (saga->wait == SAGA_IN_FLIGHT)
        saga->attempt++;
    saga->counted = 0;
    saga->resent = 0;
    ck_reason_t reason = { .code = "operator" };
    snprintf (reason.message, sizeof (reason.message), "retry asked by %.*s", CK_BY_MAX, by);
    s_operator (self, saga, CK_EVENT_SAGA_RETRIED, "retry_asked", by, &reason, NULL,
                clock, actions);
    s_send (self, saga, clock, actions);
    s_arm (saga, actions);
    return SAGA_REFUSED_NONE;
}

//  Fails a saga before its pivot, undoing what it did.

saga_refused_t
saga_engine_cancel (saga_engine_t *self, saga_t *saga, const char *by, const char *text,
                    saga_clock_t clock, saga_actions_t *actions)
{
    assert (self && saga && by);
    s_reset (actions);
    saga_refused_t refused = s_refused (saga);
    if (refused != SAGA_REFUSED_NONE)
        return refused;
    if (saga->phase == SAGA_COMPENSATING)
        return SAGA_REFUSED_COMPENSATING;
    if (self->def->steps [saga->step].kind != SAGA_STEP_COMPENSATABLE)
        return SAGA_REFUSED_PAST_PIVOT;
    s_persist (actions, false);
    ck_reason_t reason = { .code = "cancelled" };
    snprintf (reason.message, sizeof (reason.message), "cancelled by %.*s%s%.*s",
              CK_BY_MAX, by, text && *text? ": ": "", CK_CANCEL_REASON_MAX, text? text: "");
    s_operator (self, saga, CK_EVENT_SAGA_CANCELLED, "cancel_asked", by, &reason, text,
                clock, actions);
    //  The current step's request went out (every step sends on entry):
    //  whether it took effect is unknown, so it is undone too
    s_fail (self, saga, &reason, true, clock, actions);
    s_arm (saga, actions);
    return SAGA_REFUSED_NONE;
}

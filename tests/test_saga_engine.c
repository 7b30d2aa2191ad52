/*  test_saga_engine.c - tests of the saga engine and the saga definition
    Table-driven walks of the pure state machine: no sockets, no clock.

    Every engine call goes through a helper that checks the outbox shape
    of the action list it returned (PERSIST first, SET_TIMER last, history
    only with PERSIST), so every case below also tests outbox order.
*/
#include <criterion/criterion.h>
#include <criterion/parameterized.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "checkout/codec.h"
#include "saga_engine.h"

#define T_START_US   1000000000ULL
#define T_START_MS   1700000000000ULL

static saga_policy_t policy;
static saga_engine_t *engine;
static saga_t *saga;
static saga_actions_t acts;
static saga_clock_t clk;
static ck_checkout_t cart;

static void
s_make_cart (void)
{
    memset (&cart, 0, sizeof (cart));
    strcpy (cart.checkout_id, "co-1");
    strcpy (cart.cart_id, "cart-1");
    strcpy (cart.customer_id, "cust-1");
    strcpy (cart.currency, "EUR");
    strcpy (cart.items [0].sku, "sku-1");
    cart.items [0].qty = 2;
    cart.items [0].unit_price = 500;
    strcpy (cart.items [1].sku, "sku-2");
    cart.items [1].qty = 1;
    cart.items [1].unit_price = 1000;
    cart.item_count = 2;
    cart.amount = 2000;
    strcpy (cart.payment_method, "pm_card_visa");
    strcpy (cart.ship_to.country, "FR");
    cart.ack = true;
}

static void
s_setup (void)
{
    saga_policy_defaults (&policy);
    engine = saga_engine_new (saga_def_checkout (), &policy);
    cr_assert_not_null (engine);
    saga = NULL;
    memset (&acts, 0, sizeof (acts));
    clk = (saga_clock_t) { T_START_US, T_START_MS };
    s_make_cart ();
}

static void
s_teardown (void)
{
    saga_destroy (&saga);
    saga_engine_destroy (&engine);
}

TestSuite (saga_engine, .init = s_setup, .fini = s_teardown, .timeout = 20);

//  Runs the following tests with another table or policy
static void
s_use (const saga_def_t *def, const saga_policy_t *with)
{
    saga_engine_destroy (&engine);
    if (with)
        policy = *with;
    engine = saga_engine_new (def, &policy);
    cr_assert_not_null (engine);
}

static const saga_def_t *
s_def (void)
{
    return saga_engine_def (engine);
}

static void
s_advance_ms (uint64_t ms)
{
    clk.now_us += ms * 1000;
    clk.wall_ms += ms;
}

//  -------------------------------------------------------------------------
//  Looking at action lists

static uint32_t
s_count (saga_action_kind_t kind)
{
    uint32_t count = 0;
    for (uint32_t index = 0; index < acts.count; index++)
        count += acts.list [index].kind == kind;
    return count;
}

static const saga_action_t *
s_find (saga_action_kind_t kind)
{
    for (uint32_t index = 0; index < acts.count; index++)
        if (acts.list [index].kind == kind)
            return &acts.list [index];
    return NULL;
}

static const saga_action_t *
s_find_event (ck_event_kind_t kind)
{
    for (uint32_t index = 0; index < acts.count; index++)
        if (acts.list [index].kind == SAGA_ACTION_PUBLISH
        &&  acts.list [index].publish.kind == kind)
            return &acts.list [index];
    return NULL;
}

static uint32_t
s_count_event (ck_event_kind_t kind)
{
    uint32_t count = 0;
    for (uint32_t index = 0; index < acts.count; index++)
        count += acts.list [index].kind == SAGA_ACTION_PUBLISH
              && acts.list [index].publish.kind == kind;
    return count;
}

static const ck_history_entry_t *
s_history (const char *event)
{
    for (uint32_t index = 0; index < acts.history_count; index++)
        if (strcmp (acts.history [index].event, event) == 0)
            return &acts.history [index];
    return NULL;
}

//  The outbox rule, checked after every engine call
static void
s_check_outbox (void)
{
    uint32_t persists = 0, timers = 0, sends = 0;
    for (uint32_t index = 0; index < acts.count; index++) {
        const saga_action_t *action = &acts.list [index];
        const char *name = saga_action_name (action->kind);
        cr_assert_not_null (name, "action %u has no kind", index);
        switch (action->kind) {
            case SAGA_ACTION_PERSIST:
                cr_assert_eq (index, 0, "PERSIST at %u, must come first", index);
                persists++;
                break;
            case SAGA_ACTION_SET_TIMER:
                cr_assert_eq (index, acts.count - 1, "SET_TIMER must be last");
                cr_assert_eq (action->timer.at_us, saga->deadline_us);
                timers++;
                break;
            case SAGA_ACTION_IGNORED:
                cr_assert_eq (acts.count, 1, "IGNORED comes alone");
                break;
            case SAGA_ACTION_SEND_REQUEST:
                sends++;
                //  fall through
            default:
                cr_assert_eq (persists, 1, "%s before PERSIST", name);
        }
    }
    cr_assert_leq (persists, 1);
    cr_assert_leq (sends, 1);
    cr_assert_eq (acts.history_count > 0, persists == 1, "history iff PERSIST");
    if (persists) {
        cr_assert_eq (timers, 1, "a change re-arms the timer");
        cr_assert_eq (acts.list [0].persist.terminal, saga_terminal (saga));
    }
    if (sends)
        cr_assert_eq (saga->wait, SAGA_IN_FLIGHT);
    if (saga_terminal (saga)) {
        cr_assert_eq (saga->deadline_us, 0);
        cr_assert_eq (saga->wait, SAGA_IDLE);
    }
    else
    if (saga->phase != SAGA_NEW)
        cr_assert_gt (saga->deadline_us, 0, "a live saga always has a timer");
}

static void
s_expect_send (ck_type_t type, uint32_t attempt)
{
    const saga_action_t *send = s_find (SAGA_ACTION_SEND_REQUEST);
    cr_assert_not_null (send, "no SEND_REQUEST, expected %s", ck_type_name (type));
    cr_assert_eq (send->send.type, type, "sent %s, expected %s",
                  ck_type_name (send->send.type), ck_type_name (type));
    cr_assert_eq (send->send.attempt, attempt, "attempt %u, expected %u",
                  send->send.attempt, attempt);
    cr_assert_eq (send->send.service, ck_type_service (type));
    cr_assert_eq (send->send.deadline_ms, policy.step_timeout_ms);
    cr_assert_eq (saga->type, type);
    cr_assert_eq (saga->attempt, attempt);
    cr_assert_eq (saga->deadline_us, clk.now_us + policy.step_timeout_ms * 1000ULL);
}

static uint64_t
s_backoff_us (uint32_t counted)
{
    uint64_t delay = (uint64_t) policy.backoff_base_ms << (counted - 1);
    if (delay > policy.backoff_max_ms)
        delay = policy.backoff_max_ms;
    return delay * 1000;
}

//  -------------------------------------------------------------------------
//  Driving the engine

static void
s_accept (void)
{
    saga_destroy (&saga);
    saga = saga_new ("saga-1", &cart);
    cr_assert_not_null (saga);
    saga_engine_accept (engine, saga, clk, &acts);
    s_check_outbox ();
}

static void
s_reply (ck_type_t type, uint32_t attempt, ck_outcome_t outcome, const char *code)
{
    ck_reply_t reply;
    memset (&reply, 0, sizeof (reply));
    strcpy (reply.saga_id, saga->saga_id);
    reply.type = type;
    reply.attempt = attempt;
    reply.outcome = outcome;
    if (code) {
        snprintf (reply.reason.code, sizeof (reply.reason.code), "%s", code);
        snprintf (reply.reason.message, sizeof (reply.reason.message), "%s happened", code);
    }
    if (outcome == CK_OUTCOME_OK)
        strcpy (reply.result_id, type == CK_TYPE_RESERVE_INVENTORY? "res-1"
                               : type == CK_TYPE_AUTHORIZE_PAYMENT? "auth-1"
                               : type == CK_TYPE_CREATE_ORDER? "ord-1": "");
    s_advance_ms (1);
    saga_engine_reply (engine, saga, &reply, clk, &acts);
    s_check_outbox ();
}

//  Replies to the current request
static void
s_answer (ck_outcome_t outcome, const char *code)
{
    s_reply (saga->type, saga->attempt, outcome, code);
}

//  Jumps to the saga's deadline and fires its timer
static void
s_fire (void)
{
    cr_assert_gt (saga->deadline_us, 0, "no timer to fire");
    uint64_t delta = saga->deadline_us - clk.now_us;
    clk.now_us = saga->deadline_us;
    clk.wall_ms += delta / 1000;
    saga_engine_timeout (engine, saga, clk, &acts);
    s_check_outbox ();
}

static void
s_lose_worker (void)
{
    s_advance_ms (1);
    saga_engine_worker_lost (engine, saga, clk, &acts);
    s_check_outbox ();
}

static void
s_resume (void)
{
    s_advance_ms (1000);
    saga_engine_resume (engine, saga, clk, &acts);
    s_check_outbox ();
}

//  The current attempt fails with error or timeout
static void
s_fail_attempt (ck_outcome_t outcome)
{
    if (outcome == CK_OUTCOME_TIMEOUT)
        s_fire ();
    else
        s_answer (outcome, "gateway_down");
}

//  Ends a back-off: the retry goes out
static void
s_end_backoff (void)
{
    cr_assert_eq (saga->wait, SAGA_BACKING_OFF);
    uint32_t attempt = saga->attempt;
    s_fire ();
    s_expect_send (saga->type, attempt);
    cr_assert_not_null (s_history ("retry"));
}

//  Accepts, then answers ok until step `step` is in flight
static void
s_goto_step (uint32_t step)
{
    s_accept ();
    for (uint32_t index = 0; index < step; index++)
        s_answer (CK_OUTCOME_OK, NULL);
    cr_assert_eq (saga->phase, SAGA_RUNNING);
    cr_assert_eq (saga->step, step);
    cr_assert_eq (saga->type, s_def ()->steps [step].action);
}

//  Answers ok to everything (ending back-offs) until the saga ends
static void
s_run_ok (void)
{
    for (int turns = 0; !saga_terminal (saga); turns++) {
        cr_assert_lt (turns, 50, "saga does not end");
        if (saga->wait == SAGA_BACKING_OFF)
            s_end_backoff ();
        else
            s_answer (CK_OUTCOME_OK, NULL);
    }
}

static void
s_expect_compensated (const ck_service_t *services, uint32_t count)
{
    ck_result_t result;
    saga_engine_result (engine, saga, &result);
    cr_assert_eq (result.compensated_count, count, "compensated %u, expected %u",
                  result.compensated_count, count);
    for (uint32_t index = 0; index < count; index++)
        cr_assert_eq (result.compensated [index], services [index],
                      "compensated [%u] = %s", index,
                      ck_service_name (result.compensated [index]));
}

//  -------------------------------------------------------------------------
//  Every forward step x outcome x attempt (1, 2, max)

typedef enum {
    GO_NEXT,                            //  next step, attempt 1
    GO_CONFIRMED,
    GO_FAILED,                          //  failed, nothing to undo
    GO_COMPENSATE,                      //  compensations comp [0..n)
    GO_RETRY,                           //  back-off, then attempt + 1
    GO_STUCK                            //  stuck, and the retries go on
} go_t;

typedef struct {
    uint32_t step;
    ck_outcome_t outcome;
    uint32_t attempt;
    go_t go;
    ck_type_t next;                     //  GO_NEXT, GO_COMPENSATE: first request
    ck_service_t comp [CK_MAX_STEPS];   //  GO_COMPENSATE: steps undone
    uint32_t comp_count;
    char code [CK_ID_SIZE];             //  the saga's reason code, when failed
} fwd_case_t;

#define INV CK_SERVICE_INVENTORY
#define PAY CK_SERVICE_PAYMENT
#define OK_ CK_OUTCOME_OK
#define REJ CK_OUTCOME_REJECTED
#define ERR CK_OUTCOME_ERROR
#define TMO CK_OUTCOME_TIMEOUT

ParameterizedTestParameters (saga_engine, forward_outcomes)
{
    static fwd_case_t cases [] = {
        //  inventory (compensatable)
        { 0, OK_, 1, GO_NEXT, CK_TYPE_AUTHORIZE_PAYMENT, {0}, 0, "" },
        { 0, OK_, 2, GO_NEXT, CK_TYPE_AUTHORIZE_PAYMENT, {0}, 0, "" },
        { 0, OK_, 3, GO_NEXT, CK_TYPE_AUTHORIZE_PAYMENT, {0}, 0, "" },
        { 0, REJ, 1, GO_FAILED, 0, {0}, 0, "declined" },
        { 0, REJ, 2, GO_FAILED, 0, {0}, 0, "declined" },
        { 0, REJ, 3, GO_FAILED, 0, {0}, 0, "declined" },
        { 0, ERR, 1, GO_RETRY, 0, {0}, 0, "" },
        { 0, ERR, 2, GO_RETRY, 0, {0}, 0, "" },
        { 0, ERR, 3, GO_COMPENSATE, CK_TYPE_RELEASE_INVENTORY, {INV}, 1, "gateway_down" },
        { 0, TMO, 1, GO_RETRY, 0, {0}, 0, "" },
        { 0, TMO, 2, GO_RETRY, 0, {0}, 0, "" },
        { 0, TMO, 3, GO_COMPENSATE, CK_TYPE_RELEASE_INVENTORY, {INV}, 1, "timeout" },
        //  payment (compensatable)
        { 1, OK_, 1, GO_NEXT, CK_TYPE_CREATE_ORDER, {0}, 0, "" },
        { 1, OK_, 2, GO_NEXT, CK_TYPE_CREATE_ORDER, {0}, 0, "" },
        { 1, OK_, 3, GO_NEXT, CK_TYPE_CREATE_ORDER, {0}, 0, "" },
        { 1, REJ, 1, GO_COMPENSATE, CK_TYPE_RELEASE_INVENTORY, {INV}, 1, "declined" },
        { 1, REJ, 2, GO_COMPENSATE, CK_TYPE_RELEASE_INVENTORY, {INV}, 1, "declined" },
        { 1, REJ, 3, GO_COMPENSATE, CK_TYPE_RELEASE_INVENTORY, {INV}, 1, "declined" },
        { 1, ERR, 1, GO_RETRY, 0, {0}, 0, "" },
        { 1, ERR, 2, GO_RETRY, 0, {0}, 0, "" },
        { 1, ERR, 3, GO_COMPENSATE, CK_TYPE_VOID_PAYMENT, {PAY, INV}, 2, "gateway_down" },
        { 1, TMO, 1, GO_RETRY, 0, {0}, 0, "" },
        { 1, TMO, 2, GO_RETRY, 0, {0}, 0, "" },
        { 1, TMO, 3, GO_COMPENSATE, CK_TYPE_VOID_PAYMENT, {PAY, INV}, 2, "timeout" },
        //  order (pivot)
        { 2, OK_, 1, GO_CONFIRMED, 0, {0}, 0, "" },
        { 2, OK_, 2, GO_CONFIRMED, 0, {0}, 0, "" },
        { 2, OK_, 3, GO_CONFIRMED, 0, {0}, 0, "" },
        { 2, REJ, 1, GO_COMPENSATE, CK_TYPE_VOID_PAYMENT, {PAY, INV}, 2, "declined" },
        { 2, REJ, 2, GO_COMPENSATE, CK_TYPE_VOID_PAYMENT, {PAY, INV}, 2, "declined" },
        { 2, REJ, 3, GO_COMPENSATE, CK_TYPE_VOID_PAYMENT, {PAY, INV}, 2, "declined" },
        { 2, ERR, 1, GO_RETRY, 0, {0}, 0, "" },
        { 2, ERR, 2, GO_RETRY, 0, {0}, 0, "" },
        { 2, ERR, 3, GO_STUCK, 0, {0}, 0, "gateway_down" },
        { 2, TMO, 1, GO_RETRY, 0, {0}, 0, "" },
        { 2, TMO, 2, GO_RETRY, 0, {0}, 0, "" },
        { 2, TMO, 3, GO_STUCK, 0, {0}, 0, "timeout" },
    };
    return cr_make_param_array (fwd_case_t, cases, sizeof (cases) / sizeof (cases [0]));
}

//  The reason code of the saga's RESULT
static void
s_expect_reason (const char *code)
{
    ck_result_t result;
    saga_engine_result (engine, saga, &result);
    cr_assert_str_eq (result.reason.code, code);
}

static void
s_check_go_failed (const fwd_case_t *param)
{
    const ck_service_t failed = s_def ()->steps [param->step].service;
    if (param->go == GO_COMPENSATE) {
        cr_assert_eq (saga->phase, SAGA_COMPENSATING);
        s_expect_send (param->next, 1);
        const saga_action_t *event = s_find_event (CK_EVENT_SAGA_COMPENSATING);
        cr_assert_not_null (event);
        cr_assert_eq (event->publish.compensating.step_count, param->comp_count);
        for (uint32_t index = 0; index < param->comp_count; index++)
            cr_assert_eq (event->publish.compensating.steps [index], param->comp [index]);
        cr_assert_eq (s_count (SAGA_ACTION_REPLY_RESULT), 0);
        s_run_ok ();
    }
    cr_assert_eq (saga->phase, SAGA_FAILED);
    cr_assert_eq (s_count (SAGA_ACTION_SEND_REQUEST), 0);
    cr_assert_not_null (s_find_event (CK_EVENT_SAGA_FAILED));
    cr_assert_eq (s_find (SAGA_ACTION_REPLY_RESULT)->result.status, CK_STATUS_FAILED);
    s_expect_compensated (param->comp, param->comp_count);
    ck_result_t result;
    saga_engine_result (engine, saga, &result);
    cr_assert_eq (result.status, CK_STATUS_FAILED);
    cr_assert_eq (result.failed_step, failed);
    cr_assert_str_eq (result.reason.code, param->code);
}

static void
s_check_go_retry (const fwd_case_t *param, ck_type_t type)
{
    cr_assert_eq (saga->phase, SAGA_RUNNING);
    cr_assert_eq (saga->wait, SAGA_BACKING_OFF);
    cr_assert_eq (saga->attempt, param->attempt + 1);
    cr_assert_eq (saga->counted, param->attempt);
    cr_assert_eq (saga->deadline_us, clk.now_us + s_backoff_us (param->attempt));
    cr_assert_eq (s_count (SAGA_ACTION_SEND_REQUEST), 0);
    cr_assert_eq (saga->stuck, param->go == GO_STUCK);
    if (param->go == GO_STUCK) {
        cr_assert_eq (s_count_event (CK_EVENT_SAGA_STUCK), 1);
        cr_assert_eq (s_find (SAGA_ACTION_REPLY_RESULT)->result.status, CK_STATUS_STUCK);
        s_expect_reason (param->code);
    }
    else
        cr_assert_eq (s_count (SAGA_ACTION_REPLY_RESULT), 0);
    s_end_backoff ();
    cr_assert_eq (saga->type, type);
    s_run_ok ();
    cr_assert_eq (saga->phase, SAGA_CONFIRMED);
}

ParameterizedTest (fwd_case_t *param, saga_engine, forward_outcomes)
{
    s_goto_step (param->step);
    ck_type_t type = saga->type;
    for (uint32_t attempt = 1; attempt < param->attempt; attempt++) {
        s_fail_attempt (CK_OUTCOME_ERROR);
        s_end_backoff ();
    }
    cr_assert_eq (saga->attempt, param->attempt);
    if (param->outcome == TMO)
        s_fire ();
    else
        s_answer (param->outcome, param->outcome == REJ? "declined": "gateway_down");

    //  Every outcome is in the history and on the events socket
    const saga_action_t *step = s_find_event (CK_EVENT_SAGA_STEP);
    cr_assert_not_null (step);
    cr_assert_eq (step->publish.step.type, type);
    cr_assert_eq (step->publish.step.attempt, param->attempt);
    cr_assert_eq (step->publish.step.outcome, param->outcome);
    cr_assert_eq (step->publish.step.step, s_def ()->steps [param->step].service);
    const ck_history_entry_t *entry = s_history ("step");
    cr_assert_not_null (entry);
    cr_assert_eq (entry->outcome, param->outcome);
    cr_assert_eq (entry->attempt, param->attempt);

    switch (param->go) {
        case GO_NEXT:
            cr_assert_eq (saga->phase, SAGA_RUNNING);
            cr_assert_eq (saga->step, param->step + 1);
            s_expect_send (param->next, 1);
            cr_assert_eq (saga->counted, 0);
            break;
        case GO_CONFIRMED:
            cr_assert_eq (saga->phase, SAGA_CONFIRMED);
            cr_assert_eq (s_find (SAGA_ACTION_REPLY_RESULT)->result.status, CK_STATUS_CONFIRMED);
            cr_assert_str_eq (saga_result (saga, 2), "ord-1");
            break;
        case GO_FAILED:
        case GO_COMPENSATE:
            s_check_go_failed (param);
            break;
        case GO_RETRY:
        case GO_STUCK:
            s_check_go_retry (param, type);
            break;
    }
}

//  -------------------------------------------------------------------------
//  Restart and worker loss in every state

typedef enum {
    AT_STEP0, AT_STEP1, AT_STEP2,
    AT_STEP0_BACKOFF, AT_STEP1_BACKOFF, AT_STEP2_BACKOFF,
    AT_UNDO_PAYMENT, AT_UNDO_INVENTORY, AT_UNDO_BACKOFF,
    AT_PIVOT_STUCK, AT_PIVOT_STUCK_BACKOFF, AT_UNDO_STUCK,
    AT_CONFIRMED, AT_FAILED, AT_COUNT
} at_t;

//  Drives a fresh saga into a state
static void
s_reach (at_t at)
{
    switch (at) {
        case AT_STEP0: case AT_STEP1: case AT_STEP2:
            s_goto_step (at - AT_STEP0);
            break;
        case AT_STEP0_BACKOFF: case AT_STEP1_BACKOFF: case AT_STEP2_BACKOFF:
            s_goto_step (at - AT_STEP0_BACKOFF);
            s_answer (CK_OUTCOME_ERROR, "gateway_down");
            break;
        case AT_UNDO_PAYMENT:
            s_goto_step (2);
            s_answer (CK_OUTCOME_REJECTED, "destination_unserviceable");
            break;
        case AT_UNDO_INVENTORY:
            s_reach (AT_UNDO_PAYMENT);
            s_answer (CK_OUTCOME_OK, NULL);
            break;
        case AT_UNDO_BACKOFF:
            s_reach (AT_UNDO_PAYMENT);
            s_answer (CK_OUTCOME_ERROR, "gateway_down");
            break;
        case AT_PIVOT_STUCK:
        case AT_PIVOT_STUCK_BACKOFF:
            s_goto_step (2);
            for (uint32_t index = 0; index < policy.max_attempts; index++) {
                s_fire ();
                if (at == AT_PIVOT_STUCK || index + 1 < policy.max_attempts)
                    s_end_backoff ();
            }
            cr_assert (saga->stuck);
            break;
        case AT_UNDO_STUCK:
            s_reach (AT_UNDO_PAYMENT);
            for (uint32_t index = 0; index < policy.comp_max_attempts; index++) {
                s_fire ();
                s_end_backoff ();
            }
            cr_assert (saga->stuck);
            break;
        case AT_CONFIRMED:
            s_goto_step (2);
            s_answer (CK_OUTCOME_OK, NULL);
            break;
        case AT_FAILED:
            s_goto_step (1);
            s_answer (CK_OUTCOME_REJECTED, "card_declined");
            s_answer (CK_OUTCOME_OK, NULL);
            break;
        default:
            cr_assert_fail ("no such state");
    }
}

typedef struct {
    at_t at;
    bool live;                          //  expect a re-send
    saga_phase_t end;                   //  after answering ok to the rest
} at_case_t;

ParameterizedTestParameters (saga_engine, resume_in_every_state)
{
    static at_case_t cases [] = {
        { AT_STEP0, true, SAGA_CONFIRMED },
        { AT_STEP1, true, SAGA_CONFIRMED },
        { AT_STEP2, true, SAGA_CONFIRMED },
        { AT_STEP0_BACKOFF, true, SAGA_CONFIRMED },
        { AT_STEP1_BACKOFF, true, SAGA_CONFIRMED },
        { AT_STEP2_BACKOFF, true, SAGA_CONFIRMED },
        { AT_UNDO_PAYMENT, true, SAGA_FAILED },
        { AT_UNDO_INVENTORY, true, SAGA_FAILED },
        { AT_UNDO_BACKOFF, true, SAGA_FAILED },
        { AT_PIVOT_STUCK, true, SAGA_CONFIRMED },
        { AT_PIVOT_STUCK_BACKOFF, true, SAGA_CONFIRMED },
        { AT_UNDO_STUCK, true, SAGA_FAILED },
        { AT_CONFIRMED, false, SAGA_CONFIRMED },
        { AT_FAILED, false, SAGA_FAILED },
    };
    return cr_make_param_array (at_case_t, cases, sizeof (cases) / sizeof (cases [0]));
}

ParameterizedTest (at_case_t *param, saga_engine, resume_in_every_state)
{
    s_reach (param->at);
    saga_t before = *saga;
    //  A restart keeps only what was persisted: the timer is gone
    s_resume ();
    if (!param->live) {
        cr_assert_eq (acts.count, 0);
        cr_assert_eq (saga->phase, before.phase);
        return;
    }
    cr_assert_eq (acts.list [0].kind, SAGA_ACTION_PERSIST);
    const ck_history_entry_t *entry = s_history ("resumed");
    cr_assert_not_null (entry);
    cr_assert_eq (entry->attempt, before.attempt + 1);
    s_expect_send (before.type, before.attempt + 1);
    cr_assert_eq (saga->wait, SAGA_IN_FLIGHT);
    cr_assert_eq (saga->counted, before.counted, "a restart is not counted");
    cr_assert_eq (saga->phase, before.phase);
    cr_assert_eq (saga->stuck, before.stuck);
    cr_assert_eq (s_count (SAGA_ACTION_REPLY_RESULT), 0);
    cr_assert_eq (s_count (SAGA_ACTION_PUBLISH), 0);
    //  the attempt that was current is stale now
    s_reply (before.type, before.attempt, CK_OUTCOME_OK, NULL);
    cr_assert_eq (s_find (SAGA_ACTION_IGNORED)->ignored.reason, SAGA_IGNORED_STALE);
    s_run_ok ();
    cr_assert_eq (saga->phase, param->end);
}

ParameterizedTestParameters (saga_engine, worker_lost_in_every_state)
{
    static at_case_t cases [] = {
        { AT_STEP0, true, SAGA_CONFIRMED },
        { AT_STEP1, true, SAGA_CONFIRMED },
        { AT_STEP2, true, SAGA_CONFIRMED },
        { AT_STEP0_BACKOFF, false, SAGA_CONFIRMED },
        { AT_STEP2_BACKOFF, false, SAGA_CONFIRMED },
        { AT_UNDO_PAYMENT, true, SAGA_FAILED },
        { AT_UNDO_INVENTORY, true, SAGA_FAILED },
        { AT_UNDO_BACKOFF, false, SAGA_FAILED },
        { AT_PIVOT_STUCK, true, SAGA_CONFIRMED },
        { AT_UNDO_STUCK, true, SAGA_FAILED },
        { AT_CONFIRMED, false, SAGA_CONFIRMED },
        { AT_FAILED, false, SAGA_FAILED },
    };
    return cr_make_param_array (at_case_t, cases, sizeof (cases) / sizeof (cases [0]));
}

ParameterizedTest (at_case_t *param, saga_engine, worker_lost_in_every_state)
{
    s_reach (param->at);
    saga_t before = *saga;
    s_lose_worker ();
    if (!param->live) {
        //  nothing was at a worker: nothing to do
        cr_assert_eq (acts.count, 0);
        cr_assert_eq (saga->attempt, before.attempt);
        cr_assert_eq (saga->wait, before.wait);
        cr_assert_eq (saga->deadline_us, before.deadline_us);
    }
    else {
        const ck_history_entry_t *entry = s_history ("resent");
        cr_assert_not_null (entry);
        cr_assert_str_eq (entry->reason.code, "worker_lost");
        s_expect_send (before.type, before.attempt + 1);
        cr_assert_eq (saga->counted, before.counted, "a lost worker is not counted");
        cr_assert_eq (s_count (SAGA_ACTION_PUBLISH), 0);
    }
    s_run_ok ();
    cr_assert_eq (saga->phase, param->end);
}

//  -------------------------------------------------------------------------
//  Acceptance and the happy path

Test (saga_engine, policy_defaults)
{
    saga_policy_t defaults;
    saga_policy_defaults (&defaults);
    cr_assert_eq (defaults.step_timeout_ms, 5000);
    cr_assert_eq (defaults.max_attempts, 3);
    cr_assert_eq (defaults.comp_max_attempts, 10);
    cr_assert_eq (defaults.backoff_base_ms, 100);
    cr_assert_eq (defaults.backoff_max_ms, 5000);
    const saga_policy_t *used = saga_engine_policy (engine);
    cr_assert_eq (memcmp (used, &defaults, sizeof (defaults)), 0);
}

Test (saga_engine, accept_actions_in_outbox_order)
{
    s_accept ();
    cr_assert_eq (acts.count, 5);
    cr_assert_eq (acts.list [0].kind, SAGA_ACTION_PERSIST);
    cr_assert (acts.list [0].persist.created);
    cr_assert_not (acts.list [0].persist.terminal);
    cr_assert_eq (acts.list [1].kind, SAGA_ACTION_REPLY_ACCEPTED);
    cr_assert_eq (acts.list [2].kind, SAGA_ACTION_PUBLISH);
    cr_assert_eq (acts.list [2].publish.kind, CK_EVENT_SAGA_STARTED);
    cr_assert_str_eq (acts.list [2].publish.started.saga_id, "saga-1");
    cr_assert_str_eq (acts.list [2].publish.started.checkout_id, "co-1");
    cr_assert_eq (acts.list [3].kind, SAGA_ACTION_SEND_REQUEST);
    cr_assert_eq (acts.list [4].kind, SAGA_ACTION_SET_TIMER);
    cr_assert_eq (acts.list [4].timer.at_us, T_START_US + 5000000);
    s_expect_send (CK_TYPE_RESERVE_INVENTORY, 1);
    cr_assert_eq (acts.history_count, 1);
    cr_assert_str_eq (acts.history [0].event, "started");
    cr_assert_eq (acts.history [0].at_ms, T_START_MS);
    cr_assert_eq (saga->phase, SAGA_RUNNING);
    cr_assert_eq (saga->accepted_us, T_START_US);
    cr_assert_eq (saga->failed_step, SAGA_NO_STEP);
}

Test (saga_engine, happy_path_confirms_with_history_and_elapsed)
{
    s_accept ();
    s_answer (CK_OUTCOME_OK, NULL);
    cr_assert_str_eq (saga_result (saga, 0), "res-1");
    s_expect_send (CK_TYPE_AUTHORIZE_PAYMENT, 1);
    s_answer (CK_OUTCOME_OK, NULL);
    cr_assert_str_eq (saga_result (saga, 1), "auth-1");
    s_expect_send (CK_TYPE_CREATE_ORDER, 1);
    s_advance_ms (40);
    s_answer (CK_OUTCOME_OK, NULL);
    cr_assert_eq (saga->phase, SAGA_CONFIRMED);
    cr_assert (acts.list [0].persist.terminal);
    //  PERSIST, step event, confirmed event, RESULT, timer cleared
    cr_assert_eq (acts.count, 5);
    cr_assert_eq (acts.list [4].timer.at_us, 0);
    cr_assert_eq (acts.history_count, 2);
    cr_assert_str_eq (acts.history [0].event, "step");
    cr_assert_eq (acts.history [0].step, CK_SERVICE_ORDER);
    cr_assert_eq (acts.history [0].type, CK_TYPE_CREATE_ORDER);
    cr_assert_eq (acts.history [0].outcome, CK_OUTCOME_OK);
    cr_assert_str_eq (acts.history [1].event, "confirmed");
    //  three replies at 1 ms each, plus 40 ms
    uint64_t elapsed = 43000;
    cr_assert_eq (saga->elapsed_us, elapsed);
    const saga_action_t *event = s_find_event (CK_EVENT_SAGA_CONFIRMED);
    cr_assert_str_eq (event->publish.outcome.order_id, "ord-1");
    cr_assert_eq (event->publish.outcome.elapsed_us, elapsed);
    ck_result_t result;
    saga_engine_result (engine, saga, &result);
    cr_assert_eq (result.status, CK_STATUS_CONFIRMED);
    cr_assert_str_eq (result.order_id, "ord-1");
    cr_assert_str_eq (result.saga_id, "saga-1");
    cr_assert_str_eq (result.checkout_id, "co-1");
    cr_assert_eq (result.elapsed_us, elapsed);
    cr_assert_eq (result.failed_step, CK_SERVICE_NONE);
    cr_assert_eq (result.compensated_count, 0);
    cr_assert_eq (result.history_count, 0);
    cr_assert_eq (result.reason.code [0], 0);
}

Test (saga_engine, requests_carry_the_fields_of_their_row)
{
    ck_request_t request;
    s_accept ();
    cr_assert_eq (saga_engine_request (engine, saga, &request), 0);
    cr_assert_eq (request.type, CK_TYPE_RESERVE_INVENTORY);
    cr_assert_eq (request.attempt, 1);
    cr_assert_eq (request.deadline_ms, 5000);
    cr_assert_str_eq (request.saga_id, "saga-1");
    cr_assert_str_eq (request.checkout_id, "co-1");
    cr_assert_eq (request.item_count, 2);
    cr_assert_str_eq (request.items [1].sku, "sku-2");
    cr_assert_eq (request.items [0].qty, 2);
    cr_assert_eq (request.items [0].unit_price, 0, "ReserveInventory has no prices");
    cr_assert_eq (request.amount, 0);
    cr_assert_eq (request.customer_id [0], 0);

    s_answer (CK_OUTCOME_OK, NULL);
    cr_assert_eq (saga_engine_request (engine, saga, &request), 0);
    cr_assert_eq (request.type, CK_TYPE_AUTHORIZE_PAYMENT);
    cr_assert_str_eq (request.customer_id, "cust-1");
    cr_assert_eq (request.amount, 2000);
    cr_assert_str_eq (request.currency, "EUR");
    cr_assert_str_eq (request.payment_method, "pm_card_visa");
    cr_assert_eq (request.item_count, 0);
    cr_assert_eq (request.reservation_id [0], 0);

    s_answer (CK_OUTCOME_OK, NULL);
    cr_assert_eq (saga_engine_request (engine, saga, &request), 0);
    cr_assert_eq (request.type, CK_TYPE_CREATE_ORDER);
    cr_assert_str_eq (request.cart_id, "cart-1");
    cr_assert_str_eq (request.customer_id, "cust-1");
    cr_assert_eq (request.item_count, 2);
    cr_assert_eq (request.items [1].unit_price, 1000);
    cr_assert_eq (request.amount, 2000);
    cr_assert_str_eq (request.currency, "EUR");
    cr_assert_str_eq (request.ship_to.country, "FR");
    cr_assert_str_eq (request.reservation_id, "res-1");
    cr_assert_str_eq (request.authorization_id, "auth-1");
    cr_assert_eq (request.payment_method [0], 0);

    s_answer (CK_OUTCOME_OK, NULL);
    cr_assert_eq (saga_engine_request (engine, saga, &request), -1, "terminal: no request");
}

Test (saga_engine, compensations_carry_only_identity)
{
    ck_request_t request;
    s_reach (AT_UNDO_PAYMENT);
    cr_assert_eq (saga_engine_request (engine, saga, &request), 0);
    cr_assert_eq (request.type, CK_TYPE_VOID_PAYMENT);
    cr_assert_str_eq (request.saga_id, "saga-1");
    cr_assert_str_eq (request.checkout_id, "co-1");
    cr_assert_eq (request.attempt, 1);
    cr_assert_eq (request.amount, 0);
    cr_assert_eq (request.item_count, 0);
    cr_assert_eq (request.authorization_id [0], 0);
    s_answer (CK_OUTCOME_OK, NULL);
    cr_assert_eq (saga_engine_request (engine, saga, &request), 0);
    cr_assert_eq (request.type, CK_TYPE_RELEASE_INVENTORY);
    cr_assert_eq (request.item_count, 0);
}

Test (saga_engine, new_saga_has_no_request_and_is_pending)
{
    saga = saga_new ("saga-1", &cart);
    ck_request_t request;
    cr_assert_eq (saga_engine_request (engine, saga, &request), -1);
    ck_result_t result;
    saga_engine_result (engine, saga, &result);
    cr_assert_eq (result.status, CK_STATUS_PENDING);
    cr_assert_eq (saga->phase, SAGA_NEW);
    //  a reply to a saga not yet accepted is unknown to it
    s_reply (CK_TYPE_RESERVE_INVENTORY, 1, CK_OUTCOME_OK, NULL);
    cr_assert_eq (s_find (SAGA_ACTION_IGNORED)->ignored.reason, SAGA_IGNORED_UNKNOWN);
    saga_engine_timeout (engine, saga, clk, &acts);
    cr_assert_eq (acts.count, 0);
    saga_engine_resume (engine, saga, clk, &acts);
    cr_assert_eq (acts.count, 0);
}

//  -------------------------------------------------------------------------
//  Retries, back-off and stuck

Test (saga_engine, backoff_doubles_then_caps)
{
    s_goto_step (2);
    static const uint64_t delays_ms [] = {
        100, 200, 400, 800, 1600, 3200, 5000, 5000, 5000, 5000
    };
    for (uint32_t index = 0; index < 10; index++) {
        s_answer (CK_OUTCOME_ERROR, "gateway_down");
        cr_assert_eq (saga->deadline_us - clk.now_us, delays_ms [index] * 1000,
                      "retry %u waits %llu us", index + 1,
                      (unsigned long long) (saga->deadline_us - clk.now_us));
        s_end_backoff ();
        cr_assert_eq (saga->attempt, index + 2);
    }
}

//  Only a transition that a re-sent request re-derives may be sent before
//  it is durable: one caused by an ok or rejected answer (which the
//  participant recorded), unless it makes the saga stuck
static bool
s_replayable (void)
{
    cr_assert_eq (acts.list [0].kind, SAGA_ACTION_PERSIST);
    return acts.list [0].persist.replayable;
}

Test (saga_engine, replayable_transitions_are_those_of_recorded_answers)
{
    s_accept ();
    cr_expect_not (s_replayable (), "accepting a checkout is durable first");
    s_answer (CK_OUTCOME_OK, NULL);
    cr_expect (s_replayable (), "a step ok");
    s_answer (CK_OUTCOME_ERROR, "gateway_down");
    cr_expect_not (s_replayable (), "an error is not recorded by the participant");
    s_end_backoff ();
    cr_expect_not (s_replayable (), "a retry after a back-off");
    s_fire ();
    cr_expect_not (s_replayable (), "a timeout");
    s_end_backoff ();
    s_lose_worker ();
    cr_expect_not (s_replayable (), "a re-send after a lost worker");
    s_answer (CK_OUTCOME_REJECTED, "card_declined");
    cr_expect (s_replayable (), "a rejection that fails the saga");
    s_answer (CK_OUTCOME_OK, NULL);
    cr_expect (s_replayable (), "a compensation ok that ends the saga");
    cr_expect_eq (saga->phase, SAGA_FAILED);

    //  A retriable step's rejections count: the one that makes it stuck is
    //  durable first; once stuck, the ok that confirms is replayable
    s_goto_step (2);
    for (uint32_t index = 0; index < policy.max_attempts; index++) {
        s_fire ();
        if (!saga->stuck)
            s_end_backoff ();
    }
    cr_assert (saga->stuck);
    cr_expect_not (s_replayable (), "becoming stuck");
    s_end_backoff ();
    s_answer (CK_OUTCOME_OK, NULL);
    cr_expect_eq (saga->phase, SAGA_CONFIRMED);
    cr_expect (s_replayable (), "the ok that ends a stuck saga");
}

Test (saga_engine, pivot_stuck_once_then_ok_confirms)
{
    s_goto_step (2);
    uint32_t stuck_events = 0, stuck_results = 0;
    for (uint32_t index = 0; index < 8; index++) {
        s_fire ();
        stuck_events += s_count_event (CK_EVENT_SAGA_STUCK);
        stuck_results += s_count (SAGA_ACTION_REPLY_RESULT);
        if (index + 1 == policy.max_attempts) {
            cr_assert_eq (stuck_events, 1, "stuck when attempts run out");
            const saga_action_t *event = s_find_event (CK_EVENT_SAGA_STUCK);
            cr_assert_str_eq (event->publish.outcome.reason.code, "timeout");
            cr_assert_gt (event->publish.outcome.elapsed_us, 0);
            cr_assert_not_null (s_history ("stuck"));
        }
        cr_assert_eq (saga->stuck, index + 1 >= policy.max_attempts);
        s_end_backoff ();
    }
    cr_assert_eq (stuck_events, 1, "stuck is reported once");
    cr_assert_eq (stuck_results, 1);
    cr_assert_eq (saga->attempt, 9);
    ck_result_t result;
    saga_engine_result (engine, saga, &result);
    cr_assert_eq (result.status, CK_STATUS_STUCK);
    cr_assert_str_eq (result.reason.code, "timeout");
    s_answer (CK_OUTCOME_OK, NULL);
    cr_assert_eq (saga->phase, SAGA_CONFIRMED);
    cr_assert_not (saga->stuck);
    cr_assert_eq (s_find (SAGA_ACTION_REPLY_RESULT)->result.status, CK_STATUS_CONFIRMED);
    saga_engine_result (engine, saga, &result);
    cr_assert_eq (result.status, CK_STATUS_CONFIRMED);
    cr_assert_eq (result.reason.code [0], 0);
}

Test (saga_engine, pivot_stuck_then_rejected_compensates)
{
    s_reach (AT_PIVOT_STUCK);
    s_answer (CK_OUTCOME_REJECTED, "destination_unserviceable");
    cr_assert_eq (saga->phase, SAGA_COMPENSATING);
    s_expect_send (CK_TYPE_VOID_PAYMENT, 1);
    s_run_ok ();
    ck_result_t result;
    saga_engine_result (engine, saga, &result);
    cr_assert_eq (result.status, CK_STATUS_FAILED);
    cr_assert_eq (result.failed_step, CK_SERVICE_ORDER);
    cr_assert_str_eq (result.reason.code, "destination_unserviceable");
    static const ck_service_t undone [] = { PAY, INV };
    s_expect_compensated (undone, 2);
}

Test (saga_engine, compensation_retries_until_stuck_then_recovers)
{
    s_reach (AT_UNDO_PAYMENT);
    uint32_t stuck_events = 0;
    ck_outcome_t outcomes [] = { ERR, REJ, TMO };
    for (uint32_t index = 0; index < 14; index++) {
        ck_outcome_t outcome = outcomes [index % 3];
        if (outcome == TMO)
            s_fire ();
        else
            s_answer (outcome, "busy");
        cr_assert_eq (saga->phase, SAGA_COMPENSATING, "never gives up undoing");
        cr_assert_eq (saga->type, CK_TYPE_VOID_PAYMENT);
        cr_assert_eq (saga->counted, index + 1);
        stuck_events += s_count_event (CK_EVENT_SAGA_STUCK);
        cr_assert_eq (saga->stuck, index + 1 >= policy.comp_max_attempts);
        if (index + 1 == policy.comp_max_attempts)
            cr_assert_eq (s_find (SAGA_ACTION_REPLY_RESULT)->result.status, CK_STATUS_STUCK);
        else
            cr_assert_eq (s_count (SAGA_ACTION_REPLY_RESULT), 0);
        s_end_backoff ();
    }
    cr_assert_eq (stuck_events, 1);
    ck_result_t result;
    saga_engine_result (engine, saga, &result);
    cr_assert_eq (result.status, CK_STATUS_STUCK);
    cr_assert_eq (result.failed_step, CK_SERVICE_ORDER);
    cr_assert_str_eq (result.reason.code, "destination_unserviceable",
                      "a stuck compensation keeps the failure's reason");
    s_answer (CK_OUTCOME_OK, NULL);
    s_expect_send (CK_TYPE_RELEASE_INVENTORY, 1);
    cr_assert_eq (saga->counted, 0);
    s_answer (CK_OUTCOME_OK, NULL);
    cr_assert_eq (saga->phase, SAGA_FAILED);
    cr_assert_eq (s_find (SAGA_ACTION_REPLY_RESULT)->result.status, CK_STATUS_FAILED);
    saga_engine_result (engine, saga, &result);
    cr_assert_eq (result.status, CK_STATUS_FAILED);
}

Test (saga_engine, compensation_outcomes_are_published)
{
    s_reach (AT_UNDO_PAYMENT);
    s_answer (CK_OUTCOME_OK, NULL);
    const saga_action_t *event = s_find_event (CK_EVENT_SAGA_STEP);
    cr_assert_not_null (event);
    cr_assert_eq (event->publish.step.type, CK_TYPE_VOID_PAYMENT);
    cr_assert_eq (event->publish.step.step, CK_SERVICE_PAYMENT);
    cr_assert_eq (event->publish.step.outcome, CK_OUTCOME_OK);
    const ck_history_entry_t *entry = s_history ("step");
    cr_assert_eq (entry->type, CK_TYPE_VOID_PAYMENT);
    static const ck_service_t undone [] = { PAY };
    s_expect_compensated (undone, 1);
    ck_result_t result;
    saga_engine_result (engine, saga, &result);
    cr_assert_eq (result.status, CK_STATUS_PENDING);
    cr_assert_eq (result.failed_step, CK_SERVICE_NONE, "not failed yet");
}

Test (saga_engine, only_errors_and_timeouts_count)
{
    s_goto_step (1);
    s_answer (CK_OUTCOME_ERROR, "gateway_down");
    s_end_backoff ();
    s_lose_worker ();
    s_lose_worker ();
    s_resume ();
    cr_assert_eq (saga->counted, 1);
    cr_assert_eq (saga->attempt, 5);
    s_fire ();
    cr_assert_eq (saga->phase, SAGA_RUNNING, "two counted of three");
    s_end_backoff ();
    s_lose_worker ();
    s_answer (CK_OUTCOME_ERROR, "gateway_down");
    cr_assert_eq (saga->phase, SAGA_COMPENSATING);
    cr_assert_eq (saga->failed_step, 1);
    s_expect_send (CK_TYPE_VOID_PAYMENT, 1);
}

Test (saga_engine, attempt_numbers_only_grow)
{
    s_goto_step (2);
    uint32_t last = 1;
    for (uint32_t index = 0; index < 12; index++) {
        switch (index % 4) {
            case 0: s_fire (); s_end_backoff (); break;
            case 1: s_lose_worker (); break;
            case 2: s_resume (); break;
            case 3: s_answer (CK_OUTCOME_ERROR, "e"); s_end_backoff (); break;
        }
        cr_assert_gt (saga->attempt, last);
        last = saga->attempt;
    }
}

Test (saga_engine, worker_lost_gets_fresh_step_timeout)
{
    s_accept ();
    s_advance_ms (4900);
    s_lose_worker ();
    cr_assert_eq (saga->deadline_us, clk.now_us + 5000000ULL);
    cr_assert_eq (acts.list [acts.count - 1].timer.at_us, saga->deadline_us);
}

Test (saga_engine, lost_instances_count_past_max_resends)
{
    s_accept ();
    for (uint32_t lost = 1; lost <= policy.max_resends; lost++) {
        s_lose_worker ();
        cr_assert_eq (saga->wait, SAGA_IN_FLIGHT);
        cr_assert_eq (saga->counted, 0, "re-send %u does not count", lost);
        cr_assert_eq (saga->attempt, 1 + lost);
    }
    //  one more is a failed attempt: error, back-off, counted
    s_lose_worker ();
    cr_assert_eq (saga->counted, 1);
    cr_assert_eq (saga->wait, SAGA_BACKING_OFF);
    cr_assert_eq (saga->resent, 0);
    const ck_history_entry_t *entry = &acts.history [acts.history_count - 1];
    cr_assert_eq (entry->outcome, CK_OUTCOME_ERROR);
    cr_assert_str_eq (entry->reason.code, "worker_lost");
    //  an instance that keeps dropping out runs the step out of attempts
    for (uint32_t counted = 1; counted < policy.max_attempts; counted++) {
        s_end_backoff ();
        for (uint32_t lost = 0; lost <= policy.max_resends; lost++)
            s_lose_worker ();
    }
    cr_assert_eq (saga->phase, SAGA_COMPENSATING, "the inventory step gave up");
    cr_assert_str_eq (saga->reason->code, "worker_lost");
}

Test (saga_engine, early_timer_only_rearms)
{
    s_accept ();
    saga_t before = *saga;
    s_advance_ms (10);
    saga_engine_timeout (engine, saga, clk, &acts);
    s_check_outbox ();
    cr_assert_eq (acts.count, 1);
    cr_assert_eq (acts.list [0].kind, SAGA_ACTION_SET_TIMER);
    cr_assert_eq (acts.list [0].timer.at_us, before.deadline_us);
    cr_assert_eq (saga->attempt, before.attempt);
    cr_assert_eq (saga->wait, SAGA_IN_FLIGHT);
}

Test (saga_engine, timer_after_terminal_does_nothing)
{
    s_reach (AT_CONFIRMED);
    s_advance_ms (100000);
    saga_engine_timeout (engine, saga, clk, &acts);
    cr_assert_eq (acts.count, 0);
    s_reach (AT_FAILED);
    saga_engine_timeout (engine, saga, clk, &acts);
    cr_assert_eq (acts.count, 0);
}

Test (saga_engine, timeout_reason_and_history)
{
    s_accept ();
    s_fire ();
    const ck_history_entry_t *entry = s_history ("step");
    cr_assert_eq (entry->outcome, CK_OUTCOME_TIMEOUT);
    cr_assert_str_eq (entry->reason.code, "timeout");
    cr_assert_not_null (strstr (entry->reason.message, "ReserveInventory"));
    cr_assert_eq (entry->at_ms, T_START_MS + 5000);
}

//  -------------------------------------------------------------------------
//  Replies that are not for the current request

static void
s_expect_ignored (saga_ignored_t reason)
{
    cr_assert_eq (acts.count, 1);
    cr_assert_eq (acts.list [0].kind, SAGA_ACTION_IGNORED);
    cr_assert_eq (acts.list [0].ignored.reason, reason, "ignored as %s, expected %s",
                  saga_ignored_name (acts.list [0].ignored.reason),
                  saga_ignored_name (reason));
    cr_assert_eq (acts.history_count, 0);
}

//  The fields an ignored reply must not change
static void
s_expect_unchanged (const saga_t *before)
{
    cr_assert_eq (saga->phase, before->phase);
    cr_assert_eq (saga->wait, before->wait);
    cr_assert_eq (saga->step, before->step);
    cr_assert_eq (saga->type, before->type);
    cr_assert_eq (saga->attempt, before->attempt);
    cr_assert_eq (saga->counted, before->counted);
    cr_assert_eq (saga->deadline_us, before->deadline_us);
    cr_assert_eq (saga->comp_index, before->comp_index);
    cr_assert_str_eq (saga_result (saga, 0), saga_result (before, 0));
}

Test (saga_engine, wrong_attempt_is_stale)
{
    s_accept ();
    s_answer (CK_OUTCOME_ERROR, "gateway_down");
    s_end_backoff ();
    saga_t before = *saga;
    s_reply (CK_TYPE_RESERVE_INVENTORY, 1, CK_OUTCOME_OK, NULL);
    s_expect_ignored (SAGA_IGNORED_STALE);
    s_expect_unchanged (&before);
    s_reply (CK_TYPE_RESERVE_INVENTORY, 3, CK_OUTCOME_OK, NULL);
    s_expect_ignored (SAGA_IGNORED_STALE);
    s_expect_unchanged (&before);
    s_reply (CK_TYPE_RESERVE_INVENTORY, 2, CK_OUTCOME_OK, NULL);
    s_expect_send (CK_TYPE_AUTHORIZE_PAYMENT, 1);
}

Test (saga_engine, reply_during_backoff_is_stale)
{
    s_accept ();
    s_fire ();
    saga_t before = *saga;
    //  the timed-out attempt answers late, then a repeat of it
    s_reply (CK_TYPE_RESERVE_INVENTORY, 1, CK_OUTCOME_OK, NULL);
    s_expect_ignored (SAGA_IGNORED_STALE);
    s_reply (CK_TYPE_RESERVE_INVENTORY, 2, CK_OUTCOME_OK, NULL);
    s_expect_ignored (SAGA_IGNORED_STALE);
    s_expect_unchanged (&before);
    cr_assert_str_eq (saga_result (saga, 0), "");
}

Test (saga_engine, repeat_of_a_done_step_is_duplicate)
{
    s_goto_step (2);
    saga_t before = *saga;
    s_reply (CK_TYPE_RESERVE_INVENTORY, 1, CK_OUTCOME_OK, NULL);
    s_expect_ignored (SAGA_IGNORED_DUPLICATE);
    s_reply (CK_TYPE_AUTHORIZE_PAYMENT, 1, CK_OUTCOME_REJECTED, "card_declined");
    s_expect_ignored (SAGA_IGNORED_DUPLICATE);
    s_expect_unchanged (&before);
}

Test (saga_engine, reply_for_the_failed_step_during_compensation_is_duplicate)
{
    s_goto_step (1);
    for (uint32_t index = 0; index < policy.max_attempts; index++) {
        s_fire ();
        if (saga->wait == SAGA_BACKING_OFF)
            s_end_backoff ();
    }
    cr_assert_eq (saga->phase, SAGA_COMPENSATING);
    saga_t before = *saga;
    s_reply (CK_TYPE_AUTHORIZE_PAYMENT, 3, CK_OUTCOME_OK, NULL);
    s_expect_ignored (SAGA_IGNORED_DUPLICATE);
    s_expect_unchanged (&before);
    cr_assert_eq (saga_result (saga, 1) [0], 0);
    s_answer (CK_OUTCOME_OK, NULL);
    s_reply (CK_TYPE_VOID_PAYMENT, 1, CK_OUTCOME_OK, NULL);
    s_expect_ignored (SAGA_IGNORED_DUPLICATE);
}

Test (saga_engine, type_never_sent_is_unknown)
{
    s_accept ();
    saga_t before = *saga;
    s_reply (CK_TYPE_CREATE_ORDER, 1, CK_OUTCOME_OK, NULL);
    s_expect_ignored (SAGA_IGNORED_UNKNOWN);
    s_reply (CK_TYPE_RELEASE_INVENTORY, 1, CK_OUTCOME_OK, NULL);
    s_expect_ignored (SAGA_IGNORED_UNKNOWN);
    s_reply (CK_TYPE_NONE, 1, CK_OUTCOME_OK, NULL);
    s_expect_ignored (SAGA_IGNORED_UNKNOWN);
    s_expect_unchanged (&before);
}

Test (saga_engine, reply_after_terminal_is_late)
{
    s_reach (AT_CONFIRMED);
    s_reply (CK_TYPE_CREATE_ORDER, 1, CK_OUTCOME_OK, NULL);
    s_expect_ignored (SAGA_IGNORED_LATE);
    s_reach (AT_FAILED);
    s_reply (CK_TYPE_RELEASE_INVENTORY, 1, CK_OUTCOME_OK, NULL);
    s_expect_ignored (SAGA_IGNORED_LATE);
    cr_assert_eq (saga->phase, SAGA_FAILED);
}

Test (saga_engine, invalid_outcome_is_ignored)
{
    s_accept ();
    saga_t before = *saga;
    s_answer (CK_OUTCOME_TIMEOUT, NULL);
    s_expect_ignored (SAGA_IGNORED_INVALID);
    s_answer (CK_OUTCOME_NONE, NULL);
    s_expect_ignored (SAGA_IGNORED_INVALID);
    s_answer (CK_OUTCOME_COUNT + 3, NULL);
    s_expect_ignored (SAGA_IGNORED_INVALID);
    s_expect_unchanged (&before);
}

//  -------------------------------------------------------------------------
//  Reasons, history and elapsed time

Test (saga_engine, missing_reasons_are_made_up)
{
    s_goto_step (1);
    s_answer (CK_OUTCOME_ERROR, NULL);
    cr_assert_str_eq (s_history ("step")->reason.code, "error");
    s_end_backoff ();
    s_answer (CK_OUTCOME_REJECTED, NULL);
    cr_assert_str_eq (s_history ("step")->reason.code, "rejected");
    cr_assert_not_null (strstr (s_history ("step")->reason.message, "AuthorizePayment"));
    s_expect_reason ("");               //  compensating: pending, no reason
    s_run_ok ();
    s_expect_reason ("rejected");
}

Test (saga_engine, rejection_reason_travels_to_result_and_events)
{
    s_goto_step (0);
    ck_reply_t reply;
    memset (&reply, 0, sizeof (reply));
    strcpy (reply.saga_id, "saga-1");
    reply.type = CK_TYPE_RESERVE_INVENTORY;
    reply.attempt = 1;
    reply.outcome = CK_OUTCOME_REJECTED;
    strcpy (reply.reason.code, "out_of_stock");
    strcpy (reply.reason.message, "only 1 left");
    strcpy (reply.reason.sku, "sku-2");
    s_advance_ms (7);
    saga_engine_reply (engine, saga, &reply, clk, &acts);
    s_check_outbox ();
    cr_assert_eq (saga->phase, SAGA_FAILED);
    cr_assert_eq (s_count_event (CK_EVENT_SAGA_COMPENSATING), 0, "nothing to undo");
    const saga_action_t *event = s_find_event (CK_EVENT_SAGA_FAILED);
    cr_assert_str_eq (event->publish.outcome.reason.code, "out_of_stock");
    cr_assert_str_eq (event->publish.outcome.reason.sku, "sku-2");
    cr_assert_eq (event->publish.outcome.elapsed_us, 7000);
    cr_assert_str_eq (s_find_event (CK_EVENT_SAGA_STEP)->publish.step.reason.sku, "sku-2");
    ck_result_t result;
    saga_engine_result (engine, saga, &result);
    cr_assert_str_eq (result.reason.message, "only 1 left");
    cr_assert_str_eq (result.reason.sku, "sku-2");
    cr_assert_eq (result.failed_step, CK_SERVICE_INVENTORY);
    cr_assert_eq (result.elapsed_us, 7000);
    cr_assert_eq (result.compensated_count, 0);
}

Test (saga_engine, failure_history_in_order)
{
    char log [1024] = "";
    #define S_LOG() \
        for (uint32_t h = 0; h < acts.history_count; h++) { \
            strcat (log, acts.history [h].event); \
            if (acts.history [h].type) { \
                strcat (log, ":"); \
                strcat (log, ck_type_name (acts.history [h].type)); \
            } \
            if (acts.history [h].outcome) { \
                strcat (log, ":"); \
                strcat (log, ck_outcome_name (acts.history [h].outcome)); \
            } \
            strcat (log, " "); \
        }
    s_accept (); S_LOG ();
    s_answer (CK_OUTCOME_OK, NULL); S_LOG ();
    s_answer (CK_OUTCOME_ERROR, "e"); S_LOG ();
    s_end_backoff (); S_LOG ();
    s_answer (CK_OUTCOME_REJECTED, "card_declined"); S_LOG ();
    s_lose_worker (); S_LOG ();
    s_answer (CK_OUTCOME_OK, NULL); S_LOG ();
    #undef S_LOG
    cr_assert_str_eq (log,
        "started step:ReserveInventory:ok "
        "step:AuthorizePayment:error retry:AuthorizePayment "
        "step:AuthorizePayment:rejected compensating "
        "resent:ReleaseInventory step:ReleaseInventory:ok failed ");
    const ck_history_entry_t *entry = s_history ("failed");
    cr_assert_str_eq (entry->reason.code, "card_declined");
    cr_assert_eq (entry->step, CK_SERVICE_PAYMENT);
    cr_assert_eq (entry->at_ms, clk.wall_ms);
}

Test (saga_engine, terminal_state_is_stable)
{
    s_reach (AT_FAILED);
    saga_t before = *saga;
    s_lose_worker ();
    cr_assert_eq (acts.count, 0);
    s_resume ();
    cr_assert_eq (acts.count, 0);
    cr_assert_eq (saga->elapsed_us, before.elapsed_us);
    ck_result_t first, second;
    saga_engine_result (engine, saga, &first);
    s_advance_ms (60000);
    saga_engine_result (engine, saga, &second);
    cr_assert_eq (first.elapsed_us, second.elapsed_us, "a repeated RESULT is the same");
    cr_assert_eq (memcmp (&first, &second, offsetof (ck_result_t, history)), 0);
}

//  -------------------------------------------------------------------------
//  Other tables: the engine walks whatever table it is given

static const saga_step_t s_two_rows [] = {
    { CK_SERVICE_PAYMENT, CK_TYPE_AUTHORIZE_PAYMENT, CK_TYPE_VOID_PAYMENT,
      SAGA_STEP_COMPENSATABLE, SAGA_FIELD_AMOUNT | SAGA_FIELD_PAYMENT,
      SAGA_RESULT_AUTHORIZATION },
    { CK_SERVICE_ORDER, CK_TYPE_CREATE_ORDER, CK_TYPE_NONE,
      SAGA_STEP_PIVOT, SAGA_FIELD_RESULTS, SAGA_RESULT_ORDER },
};
static const saga_def_t s_two = { "two", s_two_rows, 2 };

//  Reserve (compensatable), Authorize (pivot), then two retriable steps
static const saga_step_t s_four_rows [] = {
    { CK_SERVICE_INVENTORY, CK_TYPE_RESERVE_INVENTORY, CK_TYPE_RELEASE_INVENTORY,
      SAGA_STEP_COMPENSATABLE, SAGA_FIELD_ITEMS, SAGA_RESULT_RESERVATION },
    { CK_SERVICE_PAYMENT, CK_TYPE_AUTHORIZE_PAYMENT, CK_TYPE_NONE,
      SAGA_STEP_PIVOT, SAGA_FIELD_AMOUNT, SAGA_RESULT_AUTHORIZATION },
    { CK_SERVICE_ORDER, CK_TYPE_CREATE_ORDER, CK_TYPE_NONE,
      SAGA_STEP_RETRIABLE, SAGA_FIELD_RESULTS, SAGA_RESULT_ORDER },
    { CK_SERVICE_PAYMENT, CK_TYPE_VOID_PAYMENT, CK_TYPE_NONE,
      SAGA_STEP_RETRIABLE, 0, NULL },
};
static const saga_def_t s_four = { "four", s_four_rows, 4 };

//  No pivot: every step can be undone
static const saga_step_t s_nopivot_rows [] = {
    { CK_SERVICE_INVENTORY, CK_TYPE_RESERVE_INVENTORY, CK_TYPE_RELEASE_INVENTORY,
      SAGA_STEP_COMPENSATABLE, SAGA_FIELD_ITEMS, SAGA_RESULT_RESERVATION },
    { CK_SERVICE_PAYMENT, CK_TYPE_AUTHORIZE_PAYMENT, CK_TYPE_VOID_PAYMENT,
      SAGA_STEP_COMPENSATABLE, SAGA_FIELD_AMOUNT, SAGA_RESULT_AUTHORIZATION },
};
static const saga_def_t s_nopivot = { "nopivot", s_nopivot_rows, 2 };

Test (saga_engine, two_step_table)
{
    s_use (&s_two, NULL);
    s_accept ();
    s_expect_send (CK_TYPE_AUTHORIZE_PAYMENT, 1);
    ck_request_t request;
    saga_engine_request (engine, saga, &request);
    cr_assert_eq (request.amount, 2000);
    cr_assert_eq (request.customer_id [0], 0, "not in this table's row");
    s_answer (CK_OUTCOME_OK, NULL);
    s_expect_send (CK_TYPE_CREATE_ORDER, 1);
    s_answer (CK_OUTCOME_REJECTED, "destination_unserviceable");
    s_expect_send (CK_TYPE_VOID_PAYMENT, 1);
    s_answer (CK_OUTCOME_OK, NULL);
    cr_assert_eq (saga->phase, SAGA_FAILED);
    static const ck_service_t undone [] = { PAY };
    s_expect_compensated (undone, 1);
    ck_result_t result;
    saga_engine_result (engine, saga, &result);
    cr_assert_eq (result.failed_step, CK_SERVICE_ORDER);
}

Test (saga_engine, four_step_table_retriable_steps_never_fail)
{
    s_use (&s_four, NULL);
    s_goto_step (2);
    cr_assert_str_eq (saga_result (saga, 1), "auth-1");
    //  a retriable step: rejected, error, timeout are all retried
    ck_outcome_t outcomes [] = { REJ, ERR, TMO, REJ, ERR };
    uint32_t stuck = 0;
    for (uint32_t index = 0; index < 5; index++) {
        if (outcomes [index] == TMO)
            s_fire ();
        else
            s_answer (outcomes [index], "busy");
        cr_assert_eq (saga->phase, SAGA_RUNNING);
        cr_assert_eq (s_count_event (CK_EVENT_SAGA_COMPENSATING), 0);
        stuck += s_count_event (CK_EVENT_SAGA_STUCK);
        cr_assert_eq (saga->stuck, index + 1 >= policy.max_attempts);
        s_end_backoff ();
    }
    cr_assert_eq (stuck, 1);
    s_answer (CK_OUTCOME_OK, NULL);
    cr_assert_str_eq (saga_result (saga, 2), "ord-1");
    s_expect_send (CK_TYPE_VOID_PAYMENT, 1);
    s_answer (CK_OUTCOME_REJECTED, "whatever");
    cr_assert_eq (saga->phase, SAGA_RUNNING);
    s_end_backoff ();
    s_answer (CK_OUTCOME_OK, NULL);
    cr_assert_eq (saga->phase, SAGA_CONFIRMED);
    cr_assert_eq (saga->elapsed_us, clk.now_us - T_START_US);
}

Test (saga_engine, four_step_table_failure_undoes_before_pivot_only)
{
    s_use (&s_four, NULL);
    s_goto_step (1);
    s_answer (CK_OUTCOME_REJECTED, "card_declined");
    cr_assert_eq (saga->phase, SAGA_COMPENSATING);
    s_expect_send (CK_TYPE_RELEASE_INVENTORY, 1);
    const saga_action_t *event = s_find_event (CK_EVENT_SAGA_COMPENSATING);
    cr_assert_eq (event->publish.compensating.step_count, 1);
    cr_assert_eq (event->publish.compensating.steps [0], CK_SERVICE_INVENTORY);
    s_answer (CK_OUTCOME_OK, NULL);
    cr_assert_eq (saga->phase, SAGA_FAILED);
}

Test (saga_engine, four_step_table_pivot_goes_forward)
{
    s_use (&s_four, NULL);
    s_goto_step (1);
    for (uint32_t index = 0; index < 6; index++) {
        s_fire ();
        cr_assert_eq (saga->phase, SAGA_RUNNING, "a pivot never fails by timeouts");
        s_end_backoff ();
    }
    cr_assert (saga->stuck);
    s_run_ok ();
    cr_assert_eq (saga->phase, SAGA_CONFIRMED);
}

Test (saga_engine, table_without_pivot_undoes_the_unknown_last_step)
{
    s_use (&s_nopivot, NULL);
    s_goto_step (1);
    for (uint32_t index = 0; index < policy.max_attempts; index++) {
        s_answer (CK_OUTCOME_ERROR, "gateway_down");
        if (saga->wait == SAGA_BACKING_OFF)
            s_end_backoff ();
    }
    cr_assert_eq (saga->phase, SAGA_COMPENSATING);
    s_expect_send (CK_TYPE_VOID_PAYMENT, 1);
    s_run_ok ();
    static const ck_service_t undone [] = { PAY, INV };
    s_expect_compensated (undone, 2);
    s_use (&s_nopivot, NULL);
    s_goto_step (1);
    s_answer (CK_OUTCOME_OK, NULL);
    cr_assert_eq (saga->phase, SAGA_CONFIRMED, "the last ok confirms");
}

Test (saga_engine, policy_is_injected)
{
    saga_policy_t custom = {
        .step_timeout_ms = 250, .max_attempts = 1, .comp_max_attempts = 2,
        .backoff_base_ms = 10, .backoff_max_ms = 15
    };
    s_use (saga_def_checkout (), &custom);
    s_accept ();
    cr_assert_eq (saga->deadline_us, clk.now_us + 250000);
    s_fire ();
    cr_assert_eq (saga->phase, SAGA_COMPENSATING, "one attempt only");
    s_answer (CK_OUTCOME_ERROR, "x");
    cr_assert_eq (saga->deadline_us, clk.now_us + 10000);
    cr_assert_not (saga->stuck);
    s_end_backoff ();
    s_answer (CK_OUTCOME_ERROR, "x");
    cr_assert (saga->stuck);
    cr_assert_eq (saga->deadline_us, clk.now_us + 15000, "capped");
}

//  -------------------------------------------------------------------------
//  The saga definition

Test (saga_engine, checkout_definition)
{
    const saga_def_t *def = saga_def_checkout ();
    cr_assert_eq (saga_def_check (def), 0);
    cr_assert_eq (def->step_count, 3);
    cr_assert_eq (def->steps [0].service, CK_SERVICE_INVENTORY);
    cr_assert_eq (def->steps [0].action, CK_TYPE_RESERVE_INVENTORY);
    cr_assert_eq (def->steps [0].compensation, CK_TYPE_RELEASE_INVENTORY);
    cr_assert_eq (def->steps [0].kind, SAGA_STEP_COMPENSATABLE);
    cr_assert_eq (def->steps [1].service, CK_SERVICE_PAYMENT);
    cr_assert_eq (def->steps [1].action, CK_TYPE_AUTHORIZE_PAYMENT);
    cr_assert_eq (def->steps [1].compensation, CK_TYPE_VOID_PAYMENT);
    cr_assert_eq (def->steps [1].kind, SAGA_STEP_COMPENSATABLE);
    cr_assert_eq (def->steps [2].service, CK_SERVICE_ORDER);
    cr_assert_eq (def->steps [2].action, CK_TYPE_CREATE_ORDER);
    cr_assert_eq (def->steps [2].compensation, CK_TYPE_NONE);
    cr_assert_eq (def->steps [2].kind, SAGA_STEP_PIVOT);
    cr_assert_eq (saga_def_find_action (def, CK_TYPE_AUTHORIZE_PAYMENT), 1);
    cr_assert_eq (saga_def_find_action (def, CK_TYPE_VOID_PAYMENT), -1);
    cr_assert_eq (saga_def_find_action (def, CK_TYPE_NONE), -1);
    cr_assert_eq (saga_def_find_compensation (def, CK_TYPE_RELEASE_INVENTORY), 0);
    cr_assert_eq (saga_def_find_compensation (def, CK_TYPE_CREATE_ORDER), -1);
    cr_assert_str_eq (saga_step_kind_name (SAGA_STEP_PIVOT), "pivot");
    cr_assert_null (saga_step_kind_name (SAGA_STEP_NONE));
}

typedef struct {
    saga_step_t rows [CK_MAX_STEPS + 1];
    uint32_t count;
} bad_table_t;

#define ROW_RES   { INV, CK_TYPE_RESERVE_INVENTORY, CK_TYPE_RELEASE_INVENTORY, SAGA_STEP_COMPENSATABLE, 0, 0 }
#define ROW_AUTH  { PAY, CK_TYPE_AUTHORIZE_PAYMENT, CK_TYPE_VOID_PAYMENT, SAGA_STEP_COMPENSATABLE, 0, 0 }
#define ROW_PIV   { CK_SERVICE_ORDER, CK_TYPE_CREATE_ORDER, 0, SAGA_STEP_PIVOT, 0, 0 }
#define ROW_AUTHP { PAY, CK_TYPE_AUTHORIZE_PAYMENT, 0, SAGA_STEP_PIVOT, 0, 0 }
#define ROW_RET   { CK_SERVICE_ORDER, CK_TYPE_CREATE_ORDER, 0, SAGA_STEP_RETRIABLE, 0, 0 }

ParameterizedTestParameters (saga_engine, bad_tables_are_refused)
{
    static bad_table_t cases [] = {
        { { {0} }, 0 },                                         //  empty
        { { ROW_RES, ROW_RES }, 2 },                            //  a type twice
        { { ROW_AUTHP, ROW_PIV }, 2 },                          //  two pivots
        { { ROW_PIV, ROW_RES }, 2 },                            //  undoable after pivot
        { { ROW_RET, ROW_AUTHP }, 2 },                          //  pivot after retriable
        { { ROW_RET, ROW_RES }, 2 },                            //  undoable after retriable
        { { { INV, CK_TYPE_RESERVE_INVENTORY, 0, SAGA_STEP_COMPENSATABLE, 0, 0 } }, 1 },
        { { { PAY, CK_TYPE_AUTHORIZE_PAYMENT, CK_TYPE_VOID_PAYMENT, SAGA_STEP_PIVOT, 0, 0 } }, 1 },
        { { { 0, CK_TYPE_CREATE_ORDER, 0, SAGA_STEP_PIVOT, 0, 0 } }, 1 },
        { { { CK_SERVICE_COUNT, CK_TYPE_CREATE_ORDER, 0, SAGA_STEP_PIVOT, 0, 0 } }, 1 },
        { { { INV, CK_TYPE_NONE, 0, SAGA_STEP_RETRIABLE, 0, 0 } }, 1 },
        { { { INV, CK_TYPE_COUNT, 0, SAGA_STEP_RETRIABLE, 0, 0 } }, 1 },
        { { { INV, CK_TYPE_CREATE_ORDER, 0, SAGA_STEP_NONE, 0, 0 } }, 1 },
        { { { INV, CK_TYPE_CREATE_ORDER, 0, SAGA_STEP_RETRIABLE + 1, 0, 0 } }, 1 },
        { { { INV, CK_TYPE_RESERVE_INVENTORY, CK_TYPE_RESERVE_INVENTORY, SAGA_STEP_COMPENSATABLE, 0, 0 } }, 1 },
        { { { INV, CK_TYPE_RESERVE_INVENTORY, CK_TYPE_COUNT, SAGA_STEP_COMPENSATABLE, 0, 0 } }, 1 },
        { { ROW_RES, ROW_AUTH, ROW_PIV, ROW_RET }, 4 },         //  Create twice
        { { ROW_RES, ROW_RES, ROW_RES, ROW_RES, ROW_RES, ROW_RES, ROW_RES, ROW_RES, ROW_RES }, 9 },
    };
    return cr_make_param_array (bad_table_t, cases, sizeof (cases) / sizeof (cases [0]));
}

ParameterizedTest (bad_table_t *param, saga_engine, bad_tables_are_refused)
{
    saga_def_t def = { "bad", param->rows, param->count };
    cr_assert_eq (saga_def_check (&def), -1);
    cr_assert_null (saga_engine_new (&def, NULL));
}

Test (saga_engine, good_tables_and_bad_policies)
{
    cr_assert_eq (saga_def_check (&s_two), 0);
    cr_assert_eq (saga_def_check (&s_four), 0);
    cr_assert_eq (saga_def_check (&s_nopivot), 0);
    cr_assert_eq (saga_def_check (NULL), -1);
    saga_def_t no_rows = { "none", NULL, 1 };
    cr_assert_eq (saga_def_check (&no_rows), -1);
    saga_engine_t *other = saga_engine_new (&s_four, NULL);
    cr_assert_not_null (other);
    cr_assert_eq (saga_engine_policy (other)->max_attempts, 3);
    saga_engine_destroy (&other);
    cr_assert_null (other);
    saga_engine_destroy (&other);
    saga_policy_t bad;
    saga_policy_defaults (&bad);
    bad.step_timeout_ms = 0;
    cr_assert_null (saga_engine_new (&s_two, &bad));
    saga_policy_defaults (&bad);
    bad.max_attempts = 0;
    cr_assert_null (saga_engine_new (&s_two, &bad));
    saga_policy_defaults (&bad);
    bad.comp_max_attempts = 0;
    cr_assert_null (saga_engine_new (&s_two, &bad));
    saga_policy_defaults (&bad);
    bad.backoff_max_ms = bad.backoff_base_ms - 1;
    cr_assert_null (saga_engine_new (&s_two, &bad));
}

//  -------------------------------------------------------------------------
//  The saga record

Test (saga_engine, saga_record_copies_the_cart)
{
    saga = saga_new ("saga-9", &cart);
    cr_assert_not_null (saga);
    cr_assert_str_eq (saga->saga_id, "saga-9");
    cr_assert_str_eq (saga->checkout_id, "co-1");
    cr_assert_str_eq (saga->cart_id, "cart-1");
    cr_assert_str_eq (saga->customer_id, "cust-1");
    cr_assert_str_eq (saga->payment_method, "pm_card_visa");
    cr_assert_str_eq (saga->currency, "EUR");
    cr_assert_str_eq (saga->ship_to.country, "FR");
    cr_assert_eq (saga->amount, 2000);
    cr_assert_eq (saga->item_count, 2);
    cr_assert_neq ((void *) saga->items, (void *) cart.items, "a copy");
    cr_assert_str_eq (saga->items [1].sku, "sku-2");
    cr_assert_eq (saga->phase, SAGA_NEW);
    cr_assert_eq (saga->failed_step, SAGA_NO_STEP);
    cr_assert_null (saga->reason);
    cr_assert_not (saga_terminal (saga));
    //  10,000 sagas in flight stay within a few MB
    cr_assert_lt (sizeof (saga_t), 700, "saga_t is %zu bytes", sizeof (saga_t));
    saga_destroy (&saga);
    cr_assert_null (saga);
    saga_destroy (&saga);
}

Test (saga_engine, saga_setters_for_restore)
{
    saga = saga_new ("saga-1", &cart);
    ck_item_t items [3] = {
        { "a", 1, 10 }, { "b", 2, 20 }, { "c", 3, 30 }
    };
    cr_assert_eq (saga_set_items (saga, items, 3), 0);
    cr_assert_eq (saga->item_count, 3);
    cr_assert_str_eq (saga->items [2].sku, "c");
    cr_assert_eq (saga_set_items (saga, NULL, 0), 0);
    cr_assert_null (saga->items);
    ck_reason_t reason = { "timeout", "slow", "" };
    cr_assert_eq (saga_set_reason (saga, &reason), 0);
    cr_assert_str_eq (saga->reason->code, "timeout");
    strcpy (reason.code, "other");
    cr_assert_eq (saga_set_reason (saga, &reason), 0);
    cr_assert_str_eq (saga->reason->code, "other");
    cr_assert_eq (saga_set_reason (saga, NULL), 0);
    cr_assert_null (saga->reason);
}

//  What the saga log does after a restart: a saga rebuilt from its row
Test (saga_engine, restored_saga_resumes)
{
    saga = saga_new ("saga-1", &cart);
    saga->phase = SAGA_RUNNING;
    saga->wait = SAGA_IN_FLIGHT;
    saga->step = 1;
    saga->type = CK_TYPE_AUTHORIZE_PAYMENT;
    saga->attempt = 2;
    saga->counted = 1;
    saga->accepted_us = T_START_US - 2000000;
    cr_assert_eq (saga_set_result (saga, 0, "res-7"), 0);
    s_resume ();
    s_expect_send (CK_TYPE_AUTHORIZE_PAYMENT, 3);
    s_answer (CK_OUTCOME_OK, NULL);
    ck_request_t request;
    saga_engine_request (engine, saga, &request);
    cr_assert_str_eq (request.reservation_id, "res-7");
    s_answer (CK_OUTCOME_OK, NULL);
    cr_assert_eq (saga->phase, SAGA_CONFIRMED);
    cr_assert_eq (saga->elapsed_us, clk.now_us - (T_START_US - 2000000));
}

Test (saga_engine, ten_thousand_sagas)
{
    static saga_t *sagas [10000];
    for (uint32_t index = 0; index < 10000; index++) {
        char id [CK_ID_SIZE];
        snprintf (id, sizeof (id), "saga-%u", index);
        sagas [index] = saga_new (id, &cart);
        cr_assert_not_null (sagas [index]);
        saga_engine_accept (engine, sagas [index], clk, &acts);
        cr_assert_eq (acts.list [0].kind, SAGA_ACTION_PERSIST);
    }
    for (uint32_t index = 0; index < 10000; index++)
        saga_destroy (&sagas [index]);
}

Test (saga_engine, names)
{
    cr_assert_str_eq (saga_phase_name (SAGA_COMPENSATING), "compensating");
    cr_assert_str_eq (saga_phase_name (SAGA_NEW), "new");
    cr_assert_null (saga_phase_name (SAGA_FAILED + 1));
    cr_assert_str_eq (saga_action_name (SAGA_ACTION_SEND_REQUEST), "send_request");
    cr_assert_null (saga_action_name (SAGA_ACTION_NONE));
    cr_assert_str_eq (saga_ignored_name (SAGA_IGNORED_DUPLICATE), "duplicate");
    cr_assert_null (saga_ignored_name (SAGA_IGNORED_NONE));
    cr_assert_null (saga_ignored_name (SAGA_IGNORED_INVALID + 1));
}

//  -------------------------------------------------------------------------
//  What the engine builds is what the codec accepts

//  Encodes the request of the last SEND and every event of the last call,
//  then decodes the request back
static void
s_expect_encodable (ck_buf_t *buf)
{
    static ck_request_t request, decoded;
    ck_decode_error_t err;
    if (s_find (SAGA_ACTION_SEND_REQUEST)) {
        cr_assert_eq (saga_engine_request (engine, saga, &request), 0);
        cr_assert_eq (ck_encode_request (&request, buf), 0, "%s does not encode",
                      ck_type_name (request.type));
        cr_assert_eq (ck_decode_request (buf->data, buf->size, &decoded, &err), 0,
                      "%s: %s", ck_type_name (request.type), err.message);
        cr_assert_eq (decoded.type, request.type);
        cr_assert_eq (decoded.attempt, request.attempt);
    }
    for (uint32_t index = 0; index < acts.count; index++) {
        const saga_action_t *action = &acts.list [index];
        if (action->kind != SAGA_ACTION_PUBLISH)
            continue;
        int rc = -1;
        switch (action->publish.kind) {
            case CK_EVENT_SAGA_STARTED:
                rc = ck_encode_ev_started (&action->publish.started, buf); break;
            case CK_EVENT_SAGA_STEP:
                rc = ck_encode_ev_step (&action->publish.step, buf); break;
            case CK_EVENT_SAGA_COMPENSATING:
                rc = ck_encode_ev_compensating (&action->publish.compensating, buf); break;
            default:
                rc = ck_encode_ev_outcome (&action->publish.outcome, buf);
        }
        cr_assert_eq (rc, 0, "%s does not encode", ck_event_topic (action->publish.kind));
    }
    static ck_result_t result;
    saga_engine_result (engine, saga, &result);
    for (uint32_t index = 0; index < acts.history_count && index < CK_MAX_HISTORY; index++)
        result.history [index] = acts.history [index];
    result.history_count = acts.history_count;
    cr_assert_eq (ck_encode_result (&result, buf), 0, "RESULT %s does not encode",
                  ck_status_name (result.status));
}

Test (saga_engine, everything_built_encodes)
{
    ck_buf_t buf;
    ck_buf_init (&buf);
    //  a confirmed run, with retries and a stuck pivot
    s_accept ();
    s_expect_encodable (&buf);
    for (int turns = 0; !saga_terminal (saga); turns++) {
        cr_assert_lt (turns, 100);
        if (saga->wait == SAGA_BACKING_OFF)
            s_fire ();
        else
        if (saga->type == CK_TYPE_CREATE_ORDER && saga->attempt <= policy.max_attempts)
            s_answer (CK_OUTCOME_ERROR, "gateway_down");
        else
            s_answer (CK_OUTCOME_OK, NULL);
        s_expect_encodable (&buf);
    }
    //  a failed run through both compensations, one of them stuck
    s_goto_step (2);
    s_answer (CK_OUTCOME_REJECTED, "destination_unserviceable");
    s_expect_encodable (&buf);
    for (int turns = 0; !saga_terminal (saga); turns++) {
        cr_assert_lt (turns, 100);
        if (saga->wait == SAGA_BACKING_OFF)
            s_fire ();
        else
        if (saga->counted < policy.comp_max_attempts)
            s_fire ();
        else
            s_answer (CK_OUTCOME_OK, NULL);
        s_expect_encodable (&buf);
    }
    cr_assert_eq (saga->phase, SAGA_FAILED);
    ck_buf_free (&buf);
}

//  -------------------------------------------------------------------------
//  A deterministic random walk: any mix of events keeps the invariants

static uint32_t s_seed;

static uint32_t
s_random (uint32_t range)
{
    s_seed = s_seed * 1103515245u + 12345u;
    return (s_seed >> 16) % range;
}

Test (saga_engine, random_walks_keep_the_invariants)
{
    for (uint32_t walk = 0; walk < 300; walk++) {
        s_seed = walk + 1;
        s_accept ();
        uint32_t last_sent [CK_TYPE_COUNT] = { 0 };
        last_sent [CK_TYPE_RESERVE_INVENTORY] = 1;
        bool pivot_sent = false;
        for (uint32_t turn = 0; turn < 60 && !saga_terminal (saga); turn++) {
            saga_phase_t phase = saga->phase;
            switch (s_random (8)) {
                case 0: s_answer (CK_OUTCOME_OK, NULL); break;
                case 1: s_answer (CK_OUTCOME_REJECTED, "no"); break;
                case 2: s_answer (CK_OUTCOME_ERROR, "e"); break;
                case 3: s_fire (); break;
                case 4: s_lose_worker (); break;
                case 5: s_resume (); break;
                case 6: s_reply (saga->type, saga->attempt - 1, CK_OUTCOME_OK, NULL); break;
                default: s_reply (1 + s_random (CK_TYPE_COUNT - 1), 1 + s_random (4),
                                  s_random (2)? CK_OUTCOME_OK: CK_OUTCOME_REJECTED, "x");
            }
            const saga_action_t *send = s_find (SAGA_ACTION_SEND_REQUEST);
            if (send) {
                cr_assert_gt (send->send.attempt, last_sent [send->send.type],
                              "an attempt number is never reused");
                last_sent [send->send.type] = send->send.attempt;
                pivot_sent |= send->send.type == CK_TYPE_CREATE_ORDER;
            }
            if (phase == SAGA_COMPENSATING)
                cr_assert_neq (saga->phase, SAGA_RUNNING, "no way back");
            if (saga->phase == SAGA_COMPENSATING)
                cr_assert_neq (saga->type, CK_TYPE_CREATE_ORDER);
        }
        s_run_ok ();
        if (saga->phase == SAGA_FAILED) {
            ck_result_t result;
            saga_engine_result (engine, saga, &result);
            cr_assert_neq (result.failed_step, CK_SERVICE_NONE);
            for (uint32_t index = 0; index < result.compensated_count; index++)
                cr_assert_neq (result.compensated [index], CK_SERVICE_ORDER);
            if (pivot_sent)
                cr_assert_eq (result.failed_step, CK_SERVICE_ORDER,
                              "after the pivot only its rejection fails a saga");
        }
        else
            cr_assert_str_eq (saga_result (saga, 2), "ord-1");
    }
}

//  -------------------------------------------------------------------------
//  Operator commands: retry and cancel, in every situation of every table

typedef enum {
    OP_IN_FLIGHT,                       //  a forward step's request is out
    OP_BACKING_OFF,                     //  it failed once, the retry waits
    OP_STUCK,                           //  pivot or retriable, out of attempts
    OP_UNDOING,                         //  a compensation is out
    OP_UNDOING_BACKING_OFF,             //  a compensation failed once
    OP_CONFIRMED,
    OP_FAILED,
    OP_COUNT
} situation_t;

static const char *s_situation_names [] = {
    "in_flight", "backing_off", "stuck", "undoing", "undoing_backing_off",
    "confirmed", "failed"
};

//  The step a compensation can start from: the first step after a
//  compensatable one that fails the saga when rejected; -1 when none
static int
s_undo_from (void)
{
    for (uint32_t step = 1; step < s_def ()->step_count; step++)
        if (s_def ()->steps [step - 1].kind == SAGA_STEP_COMPENSATABLE
        &&  s_def ()->steps [step].kind != SAGA_STEP_RETRIABLE)
            return (int) step;
    return -1;
}

//  Puts a new saga in the situation at step; false when the table has no
//  such situation there
static bool
s_situate (situation_t at, uint32_t step)
{
    saga_step_kind_t kind = s_def ()->steps [step].kind;
    switch (at) {
        case OP_IN_FLIGHT:
            s_goto_step (step);
            return true;
        case OP_BACKING_OFF:
            s_goto_step (step);
            s_answer (CK_OUTCOME_ERROR, "gateway_down");
            cr_assert_eq (saga->wait, SAGA_BACKING_OFF);
            return true;
        case OP_STUCK:
            if (kind == SAGA_STEP_COMPENSATABLE)
                return false;
            s_goto_step (step);
            for (uint32_t failed = 0; failed < policy.max_attempts; failed++) {
                if (failed)
                    s_end_backoff ();
                s_answer (CK_OUTCOME_ERROR, "gateway_down");
            }
            cr_assert (saga->stuck);
            return true;
        case OP_UNDOING:
        case OP_UNDOING_BACKING_OFF:
            if (step != 0 || s_undo_from () < 0)
                return false;
            s_goto_step ((uint32_t) s_undo_from ());
            s_answer (CK_OUTCOME_REJECTED, "declined");
            cr_assert_eq (saga->phase, SAGA_COMPENSATING);
            if (at == OP_UNDOING_BACKING_OFF)
                s_answer (CK_OUTCOME_ERROR, "gateway_down");
            return true;
        case OP_CONFIRMED:
        case OP_FAILED:
            if (step != 0)
                return false;
            s_accept ();
            if (at == OP_CONFIRMED)
                s_run_ok ();
            else
                s_answer (CK_OUTCOME_REJECTED, "out_of_stock");
            return true;
        default:
            return false;
    }
}

static void
s_expect_refused (saga_refused_t got, saga_refused_t expected, const char *what)
{
    cr_assert_eq (got, expected, "%s: refused %d, expected %d", what, got, expected);
    cr_assert_eq (acts.count, 0, "%s: a refusal has no actions", what);
    cr_assert_eq (acts.history_count, 0);
    cr_assert_str_not_empty (saga_refused_text (got));
}

//  The operator's history entry and event name who asked
static void
s_expect_operator (const char *event, ck_event_kind_t kind, const char *by)
{
    const ck_history_entry_t *entry = s_history (event);
    cr_assert_not_null (entry, "no history %s", event);
    cr_assert_not_null (strstr (entry->reason.message, by), "%s", entry->reason.message);
    const saga_action_t *published = s_find_event (kind);
    cr_assert_not_null (published, "no %s event", ck_event_topic (kind));
    cr_assert_str_eq (published->publish.operator_.by, by);
    cr_assert_str_eq (published->publish.operator_.saga_id, saga->saga_id);
    cr_assert_str_eq (published->publish.operator_.checkout_id, saga->checkout_id);
    cr_assert_not (acts.list [0].persist.replayable, "durable before anything leaves");
}

//  Retry in one situation: refused once ended; else the current request
//  goes now, its attempts counted from zero, and the saga can still end
static void
s_check_retry (situation_t at, uint32_t step)
{
    const char *what = s_situation_names [at];
    bool ended = saga_terminal (saga);
    bool stuck = saga->stuck;
    ck_type_t type = saga->type;
    uint32_t attempt = saga->attempt + (saga->wait == SAGA_IN_FLIGHT? 1: 0);
    saga_phase_t phase = saga->phase;
    s_advance_ms (7);
    saga_refused_t refused = saga_engine_retry (engine, saga, "alice", clk, &acts);
    s_check_outbox ();
    if (ended) {
        s_expect_refused (refused, SAGA_REFUSED_ENDED, what);
        return;
    }
    cr_assert_eq (refused, SAGA_REFUSED_NONE, "%s step %u", what, step);
    s_expect_send (type, attempt);
    cr_assert_eq (saga->counted, 0);
    cr_assert_eq (saga->phase, phase);
    cr_assert_eq (saga->stuck, stuck, "stuck stays until the saga ends");
    s_expect_operator ("retry_asked", CK_EVENT_SAGA_RETRIED, "alice");
    //  the back-off starts over: the next failure waits the base delay
    s_answer (CK_OUTCOME_ERROR, "gateway_down");
    if (saga->wait == SAGA_BACKING_OFF && saga->counted == 1)
        cr_assert_eq (saga->deadline_us, clk.now_us + s_backoff_us (1));
    s_run_ok ();
    cr_assert_eq (saga->phase, phase == SAGA_COMPENSATING || saga->failed_step != SAGA_NO_STEP
                               ? SAGA_FAILED: SAGA_CONFIRMED, "%s", what);
}

//  Cancel in one situation: refused once ended, compensating, or at or
//  past the pivot; else failed `cancelled`, this step and those before it
//  undone in reverse, and the saga ends failed
static void
s_check_cancel (situation_t at, uint32_t step)
{
    const char *what = s_situation_names [at];
    saga_refused_t expected = saga_terminal (saga)? SAGA_REFUSED_ENDED
        : saga->phase == SAGA_COMPENSATING? SAGA_REFUSED_COMPENSATING
        : s_def ()->steps [step].kind != SAGA_STEP_COMPENSATABLE? SAGA_REFUSED_PAST_PIVOT
        : SAGA_REFUSED_NONE;
    s_advance_ms (7);
    saga_refused_t refused = saga_engine_cancel (engine, saga, "bob", "customer asked",
                                                 clk, &acts);
    s_check_outbox ();
    if (expected != SAGA_REFUSED_NONE) {
        s_expect_refused (refused, expected, what);
        return;
    }
    cr_assert_eq (refused, SAGA_REFUSED_NONE, "%s step %u", what, step);
    cr_assert_eq (saga->phase, SAGA_COMPENSATING);
    cr_assert_eq (saga->failed_step, step);
    cr_assert_str_eq (saga->reason->code, "cancelled");
    cr_assert_not_null (strstr (saga->reason->message, "bob"));
    cr_assert_not_null (strstr (saga->reason->message, "customer asked"));
    s_expect_operator ("cancel_asked", CK_EVENT_SAGA_CANCELLED, "bob");
    cr_assert_str_eq (s_find_event (CK_EVENT_SAGA_CANCELLED)->publish.operator_.reason,
                      "customer asked");
    cr_assert_lt (s_find_event (CK_EVENT_SAGA_CANCELLED) - acts.list,
                  s_find_event (CK_EVENT_SAGA_COMPENSATING) - acts.list);
    cr_assert_not_null (s_history ("compensating"));
    s_expect_send (s_def ()->steps [step].compensation, 1);
    //  a late answer to the cancelled step changes nothing
    s_reply (s_def ()->steps [step].action, 1, CK_OUTCOME_OK, NULL);
    cr_assert_eq (acts.count, 1);
    cr_assert_eq (acts.list [0].kind, SAGA_ACTION_IGNORED);
    s_run_ok ();
    cr_assert_eq (saga->phase, SAGA_FAILED);
    cr_assert_str_eq (saga->reason->code, "cancelled");
    ck_service_t undone [CK_MAX_STEPS];
    for (uint32_t index = 0; index <= step; index++)
        undone [index] = s_def ()->steps [step - index].service;
    s_expect_compensated (undone, step + 1);
}

static void
s_check_operator_commands (const saga_def_t *def)
{
    s_use (def, NULL);
    uint32_t cases = 0;
    for (uint32_t step = 0; step < def->step_count; step++)
        for (int at = 0; at < OP_COUNT; at++) {
            if (!s_situate ((situation_t) at, step))
                continue;
            s_check_retry ((situation_t) at, step);
            cr_assert (s_situate ((situation_t) at, step));
            s_check_cancel ((situation_t) at, step);
            cases++;
        }
    cr_assert_geq (cases, def->step_count * 2, "%s: too few situations", def->name);
}

Test (saga_engine, operator_commands_checkout_table)
{
    s_check_operator_commands (saga_def_checkout ());
}

Test (saga_engine, operator_commands_other_tables)
{
    s_check_operator_commands (&s_two);
    s_check_operator_commands (&s_four);
    s_check_operator_commands (&s_nopivot);
}

Test (saga_engine, operator_commands_on_a_new_saga_are_refused)
{
    saga = saga_new ("saga-1", &cart);
    cr_assert_eq (saga_engine_retry (engine, saga, "alice", clk, &acts),
                  SAGA_REFUSED_NOT_STARTED);
    cr_assert_eq (acts.count, 0);
    cr_assert_eq (saga_engine_cancel (engine, saga, "alice", NULL, clk, &acts),
                  SAGA_REFUSED_NOT_STARTED);
    cr_assert_eq (acts.count, 0);
}

Test (saga_engine, retry_in_flight_makes_the_old_attempt_stale)
{
    s_goto_step (1);
    uint32_t old = saga->attempt;
    saga_engine_retry (engine, saga, "alice", clk, &acts);
    s_check_outbox ();
    s_reply (saga->type, old, CK_OUTCOME_OK, NULL);
    cr_assert_eq (acts.list [0].ignored.reason, SAGA_IGNORED_STALE);
    s_answer (CK_OUTCOME_OK, NULL);
    cr_assert_eq (saga->step, 2);
}

Test (saga_engine, retry_gives_a_compensatable_step_its_attempts_again)
{
    s_goto_step (1);
    for (uint32_t failed = 0; failed + 1 < policy.max_attempts; failed++) {
        s_answer (CK_OUTCOME_ERROR, "gateway_down");
        s_end_backoff ();
    }
    saga_engine_retry (engine, saga, "alice", clk, &acts);
    s_check_outbox ();
    //  without the retry this error would have failed the saga
    s_answer (CK_OUTCOME_ERROR, "gateway_down");
    cr_assert_eq (saga->phase, SAGA_RUNNING);
    cr_assert_eq (saga->wait, SAGA_BACKING_OFF);
}

Test (saga_engine, cancel_without_reason_and_views)
{
    s_goto_step (1);
    cr_assert_eq (saga_engine_cancel (engine, saga, "carol", NULL, clk, &acts),
                  SAGA_REFUSED_NONE);
    s_check_outbox ();
    cr_assert_str_eq (saga->reason->message, "cancelled by carol");
    cr_assert_str_empty (s_find_event (CK_EVENT_SAGA_CANCELLED)->publish.operator_.reason);
    ck_description_t *description = calloc (1, sizeof *description);
    saga_engine_describe (engine, saga, description);
    cr_assert_eq (description->status, CK_SAGA_STATE_RUNNING);
    cr_assert_str_eq (description->phase, "compensating");
    cr_assert_eq (description->step_count, 3);
    cr_assert_str_eq (description->steps [0].state, "done");
    cr_assert_str_eq (description->steps [0].result_id, "res-1");
    cr_assert_str_eq (description->steps [1].state, "compensating");
    cr_assert_str_eq (description->steps [2].state, "pending");
    cr_assert_eq (description->type, CK_TYPE_VOID_PAYMENT);
    cr_assert_eq (description->failed_step, CK_SERVICE_PAYMENT);
    cr_assert_eq (description->item_count, 2);
    s_run_ok ();
    saga_engine_describe (engine, saga, description);
    cr_assert_eq (description->status, CK_SAGA_STATE_FAILED);
    cr_assert_str_eq (description->steps [0].state, "compensated");
    cr_assert_str_eq (description->steps [1].state, "compensated");
    cr_assert_eq (description->type, CK_TYPE_NONE);
    ck_saga_summary_t summary;
    saga_engine_summary (engine, saga, &summary);
    cr_assert_eq (summary.status, CK_SAGA_STATE_FAILED);
    cr_assert_eq (summary.accepted_ms, T_START_US / 1000);
    cr_assert_eq (summary.attempt, 0);
    free (description);
}

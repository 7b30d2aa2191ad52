/*  saga_engine_view.c - a saga as operators see it
    Its state, a LIST summary and a DESCRIBE view, and why a command was refused.
*/
#include <assert.h>
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include "saga_engine.h"

static const char *s_refused_texts [] = {
    "done",
    "the saga has ended: nothing is left to retry or cancel",
    "the saga was never accepted",
    "the saga is at or past its pivot step, which only goes forward: it cannot be cancelled",
    "the saga is failing already: its compensations are running"
};

static void
s_copy_id (char *dest, const char *source)
{
    size_t size = strnlen (source, CK_ID_MAX);
    memcpy (dest, source, size);
    dest [size] = 0;
}

//  A sentence saying why an operator's command was refused.

const char *
saga_refused_text (saga_refused_t refused)
{
    size_t count = sizeof s_refused_texts / sizeof s_refused_texts [0];
    return (size_t) refused < count? s_refused_texts [refused]: "refused";
}

//  Running, stuck, confirmed or failed; NONE for a new saga.

ck_saga_state_t
saga_engine_state (const saga_t *saga)
{
    assert (saga);
    switch (saga->phase) {
        case SAGA_CONFIRMED: return CK_SAGA_STATE_CONFIRMED;
        case SAGA_FAILED: return CK_SAGA_STATE_FAILED;
        case SAGA_NEW: return CK_SAGA_STATE_NONE;
        default: return saga->stuck? CK_SAGA_STATE_STUCK: CK_SAGA_STATE_RUNNING;
    }
}

static uint64_t
s_accepted_ms (const saga_t *saga)
{
    return saga->accepted_us / 1000;    //  the engine's clock is wall-clock µs
}

//  Fills a LIST entry.  Can't fail.

void
saga_engine_summary (saga_engine_t *self, const saga_t *saga, ck_saga_summary_t *summary)
{
    assert (self && saga && summary);
    memset (summary, 0, sizeof *summary);
    s_copy_id (summary->checkout_id, saga->checkout_id);
    s_copy_id (summary->saga_id, saga->saga_id);
    summary->status = saga_engine_state (saga);
    summary->accepted_ms = s_accepted_ms (saga);
    if (saga_terminal (saga))
        summary->elapsed_us = saga->elapsed_us;
    else
    if (saga->phase != SAGA_NEW) {
        summary->step = saga_engine_def (self)->steps [saga->step].service;
        summary->type = saga->type;
        summary->attempt = saga->attempt;
    }
}

static bool
s_compensated (const saga_t *saga, uint32_t index)
{
    for (uint8_t done = 0; done < saga->comp_index && done < saga->comp_count; done++)
        if (saga->comp_steps [done] == index)
            return true;
    return false;
}

//  What became of row index of the table: pending (not run), running,
//  done, failed (the step that failed the saga, not undone), compensating
//  (being undone), compensated
static const char *
s_step_state (const saga_t *saga, uint32_t index)
{
    if (saga->phase == SAGA_CONFIRMED)
        return "done";
    if (saga->phase == SAGA_NEW)
        return "pending";
    if (saga->phase == SAGA_RUNNING)
        return index < saga->step? "done": index == saga->step? "running": "pending";
    //  compensating or failed
    if (s_compensated (saga, index))
        return "compensated";
    if (saga->phase == SAGA_COMPENSATING && index == saga->step)
        return "compensating";
    if (saga->failed_step == SAGA_NO_STEP || index > saga->failed_step)
        return "pending";
    return index == saga->failed_step? "failed": "done";
}

//  Fills DESCRIBE's answer but its history.  Can't fail.

void
saga_engine_describe (saga_engine_t *self, const saga_t *saga, ck_description_t *description)
{
    assert (self && saga && description);
    //  as saga_engine_result: zero all but the large history array
    memset (description, 0, offsetof (ck_description_t, history));
    description->history_count = 0;
    description->history_total = 0;
    const saga_def_t *def = saga_engine_def (self);
    s_copy_id (description->checkout_id, saga->checkout_id);
    s_copy_id (description->saga_id, saga->saga_id);
    description->status = saga_engine_state (saga);
    snprintf (description->phase, sizeof description->phase, "%s", saga_phase_name (saga->phase));
    s_copy_id (description->cart_id, saga->cart_id);
    s_copy_id (description->customer_id, saga->customer_id);
    s_copy_id (description->payment_method, saga->payment_method);
    memcpy (description->currency, saga->currency, sizeof description->currency);
    description->ship_to = saga->ship_to;
    description->amount = saga->amount;
    uint32_t items = saga->item_count < CK_MAX_ITEMS? saga->item_count: CK_MAX_ITEMS;
    if (items)
        memcpy (description->items, saga->items, items * sizeof (ck_item_t));
    description->item_count = items;
    for (uint32_t index = 0; index < def->step_count && index < CK_MAX_STEPS; index++) {
        const saga_step_t *row = &def->steps [index];
        ck_step_view_t *view = &description->steps [index];
        view->step = row->service;
        view->action = row->action;
        view->compensation = row->compensation;
        snprintf (view->kind, sizeof view->kind, "%s", saga_step_kind_name (row->kind));
        snprintf (view->state, sizeof view->state, "%s", s_step_state (saga, index));
        s_copy_id (view->result_id, saga_result (saga, index));
        description->step_count++;
    }
    if (!saga_terminal (saga) && saga->phase != SAGA_NEW) {
        description->type = saga->type;
        description->attempt = saga->attempt;
        description->counted = saga->counted;
    }
    if (saga->failed_step < def->step_count)
        description->failed_step = def->steps [saga->failed_step].service;
    if (saga->reason)
        description->reason = *saga->reason;
    description->accepted_ms = s_accepted_ms (saga);
    if (saga_terminal (saga))
        description->elapsed_us = saga->elapsed_us;
}

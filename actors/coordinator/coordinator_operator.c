/*  coordinator_operator.c - operators' commands, served on the frontend
    LIST pages through the saga log; DESCRIBE, RETRY and CANCEL one saga.

    Every operator command is handled here and nowhere else.  Under CURVE
    the frontend lets only keys of the admin role reach operator_handle
    (coordinator_frontend.c, s_command_roles); without it, anyone who can
    reach the frontend may send them.  RETRY's and CANCEL's `by` is what
    the sender says it is either way.
*/
#include "coordinator_internal.h"

#define LIST_DEFAULT 20                 //  sagas in a page when LIST gives no limit
//  Rows of the log one LIST reads at most.  LIST is paged through the
//  saga log, not the sagas in memory: every saga, running or ended, has
//  its row there, and after the turn's commit a running saga's row is
//  what memory holds, so one source serves every filter, newest first
//  by saga_id, with a cursor that stays valid across pages (and across a
//  restart).  A filter the log cannot apply (stuck or running, both
//  active phases; since) may skip rows: past this many read, the page
//  ends short with a `next`, so one request costs a bounded read however
//  rare its matches, and the reply a bounded body (CK_MAX_LIST entries,
//  well under the 64 KiB limit).
#define LIST_SCAN    256

struct _operator_t {
    core_t *core;
    frontend_t *frontend;
    ck_buf_t body;
    ck_sagas_t *sagas;                  //  scratch replies (large)
    ck_description_t *description;
    ck_result_t *result;
};

//  One LIST page being filled
typedef struct {
    operator_t *self;
    const ck_list_t *request;
    uint32_t limit;
    char last [CK_ID_SIZE];             //  the last saga_id read: the cursor
    bool reached_since;                 //  older sagas follow: no next page
} page_t;

static bool
s_page_add (void *arg, const saga_t *saga)
{
    page_t *page = (page_t *) arg;
    ck_sagas_t *sagas = page->self->sagas;
    snprintf (page->last, sizeof page->last, "%s", saga->saga_id);
    //  saga ids grow with time (their creation time comes first), so
    //  the first one older than since ends the list
    if (page->request->since_ms && saga->accepted_us / 1000 < page->request->since_ms) {
        page->reached_since = true;
        return false;
    }
    ck_saga_state_t state = saga_engine_state (saga);
    if (page->request->status && state != page->request->status)
        return true;
    saga_engine_summary (page->self->core->engine, saga, &sagas->sagas [sagas->saga_count++]);
    return sagas->saga_count < page->limit;
}

static saga_log_list_t
s_which (ck_saga_state_t status)
{
    switch (status) {
        case CK_SAGA_STATE_RUNNING:
        case CK_SAGA_STATE_STUCK: return SAGA_LOG_LIST_ACTIVE;
        case CK_SAGA_STATE_CONFIRMED: return SAGA_LOG_LIST_CONFIRMED;
        case CK_SAGA_STATE_FAILED: return SAGA_LOG_LIST_FAILED;
        default: return SAGA_LOG_LIST_ALL;
    }
}

static void
s_list (operator_t *self, const peer_id_t *peer, const ck_list_t *request)
{
    page_t page = { self, request, request->limit? request->limit: LIST_DEFAULT, "", false };
    self->sagas->saga_count = 0;
    self->sagas->next [0] = 0;
    int rows = saga_log_list (self->core->log,
                              request->cursor [0]? request->cursor: SAGA_LOG_LIST_TOP,
                              s_which (request->status), LIST_SCAN, s_page_add, &page);
    if (rows < 0) {
        frontend_error (self->frontend, peer, CK_OVERLOADED,
                        "the saga log could not be read: retry later", NULL);
        return;
    }
    //  more may follow when the page filled up or the scan ran out
    if (!page.reached_since
    &&  (self->sagas->saga_count == page.limit || rows == LIST_SCAN))
        memcpy (self->sagas->next, page.last, CK_ID_SIZE);
    if (ck_encode_sagas (self->sagas, &self->body) == 0)
        frontend_send (self->frontend, peer, CK_CMD_SAGAS, &self->body);
}

//  The saga of checkout_id: *entry when it runs, else loaded from the log
//  into *loaded (the caller destroys it).  0, or -1 after answering ERROR.
static int
s_find (operator_t *self, const peer_id_t *peer, const char *checkout_id,
        entry_t **entry, saga_t **loaded)
{
    *loaded = NULL;
    *entry = (entry_t *) zhashx_lookup (self->core->by_checkout, checkout_id);
    if (*entry && !(*entry)->done)
        return 0;
    char saga_id [CK_ID_SIZE];
    uint64_t digest;
    int found = saga_log_find_checkout (self->core->log, checkout_id, saga_id, &digest);
    if (found == 0) {
        frontend_error (self->frontend, peer, CK_UNKNOWN_CHECKOUT,
                        "no checkout with this checkout_id", checkout_id);
        return -1;
    }
    *entry = NULL;
    if (found < 0 || !(*loaded = saga_log_load (self->core->log, saga_id))) {
        frontend_error (self->frontend, peer, CK_OVERLOADED,
                        "the saga log could not be read: retry later", checkout_id);
        return -1;
    }
    return 0;
}

//  The saga with as much of its history as fits in a body: a saga with
//  100 lines and 128 entries of long reasons could pass 64 KiB
static void
s_describe (operator_t *self, const peer_id_t *peer, const ck_operator_t *request)
{
    entry_t *entry;
    saga_t *loaded;
    if (s_find (self, peer, request->checkout_id, &entry, &loaded))
        return;
    const saga_t *saga = entry? entry->saga: loaded;
    ck_description_t *description = self->description;
    saga_engine_describe (self->core->engine, saga, description);
    int rc = -1;
    for (uint32_t max = CK_MAX_HISTORY; rc && max >= 8; max /= 2) {
        int count = saga_log_history (self->core->log, saga->saga_id, description->history,
                                      max, &description->history_total);
        description->history_count = count > 0? (uint32_t) count: 0;
        rc = ck_encode_description (description, &self->body);
    }
    if (rc == 0)
        frontend_send (self->frontend, peer, CK_CMD_DESCRIPTION, &self->body);
    else
        frontend_error (self->frontend, peer, CK_TOO_LARGE,
                        "the saga's description does not fit in a body", request->checkout_id);
    saga_destroy (&loaded);
}

//  by as a log shows it: control bytes as '?', so a sender can't forge lines
static const char *
s_shown (const char *by, char *shown, size_t size)
{
    size_t used = 0;
    for (; by [used] && used + 1 < size; used++)
        shown [used] = (unsigned char) by [used] < 0x20 || by [used] == 0x7f? '?': by [used];
    shown [used] = 0;
    return shown;
}

//  RETRY or CANCEL: an engine event like any other.  Its PERSIST is not
//  replayable, so the flush commits it before the request, the events and
//  this answer (the saga's RESULT as it now stands) leave.
static void
s_change (operator_t *self, const peer_id_t *peer, const ck_operator_t *request, bool cancel,
          const char *key)
{
    entry_t *entry;
    saga_t *loaded;
    //  only the partition's owner changes a saga (DESCRIBE reads the log)
    if (frontend_not_mine (self->frontend, peer, request->checkout_id)
    ||  s_find (self, peer, request->checkout_id, &entry, &loaded))
        return;
    if (!entry) {
        //  every saga of its partitions that has not ended is in memory
        saga_destroy (&loaded);
        frontend_error (self->frontend, peer, CK_CONFLICT,
                        saga_refused_text (SAGA_REFUSED_ENDED), request->checkout_id);
        return;
    }
    saga_t *saga = entry->saga;
    bool in_flight = saga->wait == SAGA_IN_FLIGHT;
    saga_actions_t actions;
    saga_refused_t refused = cancel
        ? saga_engine_cancel (self->core->engine, saga, request->by, request->reason,
                              coordinator_clock (), &actions)
        : saga_engine_retry (self->core->engine, saga, request->by, coordinator_clock (),
                             &actions);
    if (refused != SAGA_REFUSED_NONE) {
        frontend_error (self->frontend, peer, CK_CONFLICT, saga_refused_text (refused),
                        request->checkout_id);
        return;
    }
    char shown [CK_BY_SIZE];
    //  by is what the peer says; under CURVE the key is who it is
    zsys_notice ("coordinator: saga=%s checkout=%s operator=%s by=%s key=%s", saga->saga_id,
                 saga->checkout_id, cancel? "cancel": "retry",
                 s_shown (request->by, shown, sizeof shown), key? key: "none");
    if (in_flight)                      //  the request out there is given up on
        backend_forget (self->core->backend, entry);
    coordinator_apply (self->core, entry, &actions);
    saga_engine_result (self->core->engine, saga, self->result);
    coordinator_flush (self->core);
    if (self->core->failed)
        return;                         //  not durable: the coordinator stops
    if (ck_encode_result (self->result, &self->body) == 0)
        frontend_send (self->frontend, peer, CK_CMD_RESULT, &self->body);
}

//  Answers one operator command; key is the peer's public key under CURVE,
//  else NULL.

void
operator_handle (operator_t *self, const peer_id_t *peer, const ck_frame_t *frame,
                 const char *key)
{
    assert (self && operator_command (frame->command));
    ck_decode_error_t err;
    int rc = -1;
    if (frame->command == CK_CMD_LIST) {
        ck_list_t list;
        rc = ck_decode_list (frame->body, frame->body_size, &list, &err);
        if (rc == 0)
            s_list (self, peer, &list);
    }
    else {
        ck_operator_t request;
        ck_command_t command = frame->command;
        rc = command == CK_CMD_DESCRIBE
           ? ck_decode_describe (frame->body, frame->body_size, &request, &err)
           : command == CK_CMD_RETRY
           ? ck_decode_retry (frame->body, frame->body_size, &request, &err)
           : ck_decode_cancel (frame->body, frame->body_size, &request, &err);
        if (rc == 0 && command == CK_CMD_DESCRIBE)
            s_describe (self, peer, &request);
        else
        if (rc == 0)
            s_change (self, peer, &request, command == CK_CMD_CANCEL, key);
    }
    if (rc) {
        self->core->counters.bad_messages++;
        frontend_error (self->frontend, peer, err.code, err.message, NULL);
    }
}

bool
operator_command (ck_command_t command)
{
    return command == CK_CMD_LIST || command == CK_CMD_DESCRIBE
        || command == CK_CMD_RETRY || command == CK_CMD_CANCEL;
}

operator_t *
operator_new (core_t *core, frontend_t *frontend)
{
    operator_t *self = (operator_t *) zmalloc (sizeof (operator_t));
    self->core = core;
    self->frontend = frontend;
    ck_buf_init (&self->body);
    self->sagas = (ck_sagas_t *) zmalloc (sizeof (ck_sagas_t));
    self->description = (ck_description_t *) zmalloc (sizeof (ck_description_t));
    self->result = (ck_result_t *) zmalloc (sizeof (ck_result_t));
    return self;
}

void
operator_destroy (operator_t **self_p)
{
    assert (self_p);
    operator_t *self = *self_p;
    if (!self)
        return;
    ck_buf_free (&self->body);
    free (self->sagas);
    free (self->description);
    free (self->result);
    free (self);
    *self_p = NULL;
}

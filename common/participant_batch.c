/*  participant_batch.c - the requests a participant has in hand
    Decoding, parking (delay_ms), group-committed batches and replies.
*/
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "log_limit.h"
#include "participant_batch.h"
#include "checkout/codec.h"
#include "frame.h"

//  Parked requests beyond capacity x this are answered "overloaded", so a
//  coordinator that ignores capacity can't make us hold unbounded memory.
#define PARK_LIMIT_FACTOR   4

//  A request in hand: the link it came on, when it is due, and when the
//  coordinator stops waiting for it (receipt + deadline_ms)
typedef struct {
    size_t link;
    int64_t due;
    int64_t expires;
    ck_request_t request;
} job_t;

struct _participant_batch_t {
    const ck_participant_config_t *config;
    participant_link_t **links;
    job_t *jobs;                        //  max_batch slots
    ck_reply_t *replies;                //  max_batch slots
    const ck_request_t **handed;        //  max_batch slots: batch_handler's
    ck_reply_t **answers;               //  max_batch slots: its replies
    size_t size;
    //  Requests waiting, oldest first, from parked_head to parked_size:
    //  due times never decrease, so they run (and are answered) in the
    //  order they came, which the coordinator counts on (see s_park)
    job_t *parked;
    size_t parked_head;
    size_t parked_size;
    size_t parked_alloc;
    ck_buf_t out;                       //  reused for every REPLY
    ck_participant_stats_t stats;
};

participant_batch_t *
participant_batch_new (const ck_participant_config_t *config, participant_link_t **links)
{
    assert (config && links && config->max_batch > 0);
    participant_batch_t *self = (participant_batch_t *) zmalloc (sizeof (participant_batch_t));
    self->config = config;
    self->links = links;
    self->jobs = (job_t *) zmalloc (config->max_batch * sizeof (job_t));
    self->replies = (ck_reply_t *) zmalloc (config->max_batch * sizeof (ck_reply_t));
    self->handed = (const ck_request_t **) zmalloc (config->max_batch
                                                    * sizeof (ck_request_t *));
    self->answers = (ck_reply_t **) zmalloc (config->max_batch * sizeof (ck_reply_t *));
    ck_buf_init (&self->out);
    return self;
}

void
participant_batch_destroy (participant_batch_t **self_p)
{
    assert (self_p);
    participant_batch_t *self = *self_p;
    if (self) {
        free (self->jobs);
        free (self->replies);
        free (self->handed);
        free (self->answers);
        free (self->parked);
        ck_buf_free (&self->out);
        free (self);
        *self_p = NULL;
    }
}

//  --------------------------------------------------------------------------
//  Replies

//  A reply that answers request: zero but for the head
static void
s_reply_init (ck_reply_t *reply, const ck_request_t *request)
{
    memset (reply, 0, sizeof *reply);
    memcpy (reply->saga_id, request->saga_id, sizeof reply->saga_id);
    reply->type = request->type;
    reply->attempt = request->attempt;
}

//  Turns reply into outcome error with the given reason, keeping its head
static void
s_fail (ck_reply_t *reply, const char *code, const char *format, ...)
{
    char message [CK_TEXT_SIZE];
    va_list args;
    va_start (args, format);
    vsnprintf (message, sizeof message, format, args);
    va_end (args);
    ck_request_t head;
    memcpy (head.saga_id, reply->saga_id, sizeof head.saga_id);
    head.type = reply->type;
    head.attempt = reply->attempt;
    s_reply_init (reply, &head);
    reply->outcome = CK_OUTCOME_ERROR;
    snprintf (reply->reason.code, sizeof reply->reason.code, "%s", code);
    snprintf (reply->reason.message, sizeof reply->reason.message, "%s", message);
}

//  Encodes and sends one reply on the link its request came from.  A reply
//  lost here is safe: the coordinator retries on timeout.
static void
s_send_reply (participant_batch_t *self, size_t link, ck_reply_t *reply, int64_t now)
{
    if (ck_encode_reply (reply, &self->out) == -1) {
        //  The handler broke the protocol (e.g. ok with no result id)
        zsys_warning ("participant: reply does not encode saga=%s type=%s",
                      reply->saga_id, ck_type_name (reply->type));
        s_fail (reply, CK_REASON_INTERNAL, "the handler's reply breaks the protocol");
        if (ck_encode_reply (reply, &self->out) == -1) {
            zsys_error ("participant: error reply does not encode saga=%s", reply->saga_id);
            self->stats.send_failures++;
            return;
        }
    }
    participant_link_t *to = self->links [link];
    if (participant_link_send (to, CK_CMD_REPLY, self->out.data, self->out.size, now) == -1) {
        self->stats.send_failures++;
        return;
    }
    self->stats.replies++;
    if (reply->outcome == CK_OUTCOME_ERROR)
        self->stats.errors++;
    if (self->config->verbose)
        zsys_debug ("participant: reply saga=%s type=%s attempt=%u outcome=%s reason=%s",
                    reply->saga_id, ck_type_name (reply->type), reply->attempt,
                    ck_outcome_name (reply->outcome),
                    reply->reason.code [0]? reply->reason.code: "-");
}

//  Answers a request at once with outcome error, outside any batch
static void
s_answer_error (participant_batch_t *self, size_t link, const ck_request_t *request,
                const char *code, const char *message, int64_t now)
{
    ck_reply_t reply;
    s_reply_init (&reply, request);
    s_fail (&reply, code, "%s", message);
    s_send_reply (self, link, &reply, now);
}

//  --------------------------------------------------------------------------
//  Batches

//  Makes a handler's reply (rc its return) one the protocol allows
static void
s_check_reply (const ck_request_t *request, ck_reply_t *reply, int rc)
{
    //  The head is the runtime's: a handler can't misaddress its reply
    memcpy (reply->saga_id, request->saga_id, sizeof reply->saga_id);
    reply->type = request->type;
    reply->attempt = request->attempt;
    if (rc != 0) {
        char message [CK_TEXT_SIZE];
        snprintf (message, sizeof message, "%s",
                  reply->reason.message [0]? reply->reason.message: "handler failed");
        s_fail (reply, CK_REASON_INTERNAL, "%s", message);
    }
    else
    if (reply->outcome == CK_OUTCOME_ERROR && !reply->reason.code [0])
        snprintf (reply->reason.code, sizeof reply->reason.code, "%s", CK_REASON_INTERNAL);
    else
    if (reply->outcome != CK_OUTCOME_OK && reply->outcome != CK_OUTCOME_REJECTED
    &&  reply->outcome != CK_OUTCOME_ERROR) {
        zsys_warning ("participant: handler set no outcome saga=%s type=%s",
                      request->saga_id, ck_type_name (request->type));
        s_fail (reply, CK_REASON_INTERNAL, "handler set no outcome");
    }
}

//  Calls the request's handler and makes its reply one the protocol allows
static void
s_call_handler (participant_batch_t *self, const ck_request_t *request, ck_reply_t *reply)
{
    ck_handler_fn *handler = self->config->handlers [request->type];
    s_check_reply (request, reply, handler (self->config->state, request, reply));
}

//  Hands the batch's live requests to batch_handler, all at once
static void
s_call_batch_handler (participant_batch_t *self, int64_t started)
{
    size_t count = 0;
    for (size_t i = 0; i < self->size; i++) {
        s_reply_init (&self->replies [i], &self->jobs [i].request);
        if (started > self->jobs [i].expires) {
            self->stats.expired++;
            s_fail (&self->replies [i], CK_REASON_EXPIRED, "deadline_ms passed before it ran");
            continue;
        }
        self->handed [count] = &self->jobs [i].request;
        self->answers [count++] = &self->replies [i];
    }
    if (count)
        self->config->batch_handler (self->config->state, self->handed, self->answers, count);
    for (size_t i = 0; i < count; i++)
        s_check_reply (self->handed [i], self->answers [i], 0);
}

static size_t s_batch_done (participant_batch_t *self);

//  Runs the batch in one store transaction, then sends its replies: a
//  reply never leaves before the effect it reports is committed.
size_t
participant_batch_run (participant_batch_t *self)
{
    assert (self);
    if (self->size == 0)
        return 0;
    const ck_participant_config_t *config = self->config;
    if (config->batch_handler) {
        s_call_batch_handler (self, zclock_mono ());
        return s_batch_done (self);
    }
    void *state = config->batch_state? config->batch_state: config->state;
    bool begun = !config->batch_begin || config->batch_begin (state) == 0;
    if (!begun)
        zsys_warning ("participant: batch begin failed size=%zu", self->size);
    int64_t started = zclock_mono ();
    for (size_t i = 0; i < self->size; i++) {
        s_reply_init (&self->replies [i], &self->jobs [i].request);
        if (started > self->jobs [i].expires) {
            //  nobody waits for it: doing it would only take a slot
            self->stats.expired++;
            s_fail (&self->replies [i], CK_REASON_EXPIRED, "deadline_ms passed before it ran");
        }
        else
        if (begun)
            s_call_handler (self, &self->jobs [i].request, &self->replies [i]);
        else
            s_fail (&self->replies [i], CK_REASON_STORE_ERROR, "batch could not begin");
    }
    if (begun && config->batch_commit && config->batch_commit (state) != 0) {
        config->batch_rollback (state);
        zsys_warning ("participant: batch commit failed size=%zu", self->size);
        for (size_t i = 0; i < self->size; i++)
            s_fail (&self->replies [i], CK_REASON_STORE_ERROR, "batch commit failed");
    }
    return s_batch_done (self);
}

//  Counts the batch and sends its replies; returns its size
static size_t
s_batch_done (participant_batch_t *self)
{
    self->stats.batches++;
    if (self->size > self->stats.max_batch)
        self->stats.max_batch = self->size;
    int64_t now = zclock_mono ();
    for (size_t i = 0; i < self->size; i++)
        s_send_reply (self, self->jobs [i].link, &self->replies [i], now);
    size_t handled = self->size;
    self->size = 0;
    return handled;
}

bool
participant_batch_full (participant_batch_t *self)
{
    assert (self);
    return self->size >= self->config->max_batch;
}

void
participant_batch_take_due (participant_batch_t *self, int64_t now)
{
    assert (self);
    while (self->parked_head < self->parked_size && !participant_batch_full (self)
       &&  self->parked [self->parked_head].due <= now)
        self->jobs [self->size++] = self->parked [self->parked_head++];
    if (self->parked_head == self->parked_size)
        self->parked_head = self->parked_size = 0;
}

//  --------------------------------------------------------------------------
//  Parking

//  Parks a request until due, behind every request parked before it:
//  a request of no delay that comes while others wait waits for them.  The
//  coordinator frees the slots of requests it gave up on when we answer a
//  later one (docs/protocol.md#dispatch): answering out of order would have
//  it send us more than our capacity.  Answers "overloaded" when too many
//  wait.
static void
s_park (participant_batch_t *self, size_t link, const ck_request_t *request, int64_t due,
        int64_t now)
{
    size_t limit = (size_t) self->config->capacity * PARK_LIMIT_FACTOR;
    size_t waiting = participant_batch_parked (self);
    if (waiting >= limit) {
        zsys_warning ("participant: overloaded saga=%s parked=%zu", request->saga_id,
                      waiting);
        s_answer_error (self, link, request, CK_REASON_OVERLOADED,
                        "too many requests in hand", now);
        return;
    }
    if (self->parked_size == self->parked_alloc && self->parked_head > 0) {
        memmove (self->parked, self->parked + self->parked_head, waiting * sizeof (job_t));
        self->parked_head = 0;
        self->parked_size = waiting;
    }
    if (self->parked_size == self->parked_alloc) {
        size_t alloc = self->parked_alloc? self->parked_alloc * 2: 16;
        job_t *grown = (job_t *) realloc (self->parked, alloc * sizeof (job_t));
        if (!grown) {
            s_answer_error (self, link, request, CK_REASON_OVERLOADED, "out of memory", now);
            return;
        }
        self->parked = grown;
        self->parked_alloc = alloc;
    }
    int64_t last = participant_batch_last_due (self);
    job_t *job = &self->parked [self->parked_size++];
    job->link = link;
    job->due = due > last? due: last;
    job->expires = now + request->deadline_ms;
    job->request = *request;
    self->stats.parked++;
}

int64_t
participant_batch_next_due (participant_batch_t *self)
{
    assert (self);
    return self->parked_head < self->parked_size? self->parked [self->parked_head].due
                                                 : INT64_MAX;
}

int64_t
participant_batch_last_due (participant_batch_t *self)
{
    assert (self);
    return self->parked_head < self->parked_size? self->parked [self->parked_size - 1].due
                                                 : INT64_MIN;
}

size_t
participant_batch_parked (participant_batch_t *self)
{
    assert (self);
    return self->parked_size - self->parked_head;
}

const ck_participant_stats_t *
participant_batch_stats (participant_batch_t *self)
{
    assert (self);
    return &self->stats;
}

//  --------------------------------------------------------------------------
//  Receiving

//  A body that did not decode: answer error when the head says whom to
static void
s_bad_request (participant_batch_t *self, size_t link, const ck_request_t *request,
               const ck_decode_error_t *err, int64_t now)
{
    self->stats.bad_messages++;
    log_limit_warning ("participant: bad request endpoint=%s saga=%s error=%s",
                  participant_link_endpoint (self->links [link]),
                  request->saga_id [0]? request->saga_id: "-", err->message);
    //  The codec keeps saga_id, type and attempt when those were valid
    if (request->saga_id [0] && request->type != CK_TYPE_NONE && request->attempt >= 1)
        s_answer_error (self, link, request, CK_REASON_BAD_REQUEST, err->message, now);
}

static void
s_handle_request (participant_batch_t *self, size_t link, const ck_frame_t *frame, int64_t now)
{
    //  Decode straight into the next batch slot, which the caller keeps free
    job_t *job = &self->jobs [self->size];
    ck_request_t *request = &job->request;
    ck_decode_error_t err;
    if (ck_decode_request (frame->body, frame->body_size, request, &err) == -1) {
        s_bad_request (self, link, request, &err, now);
        return;
    }
    self->stats.requests++;
    if (request->attempt > 1)
        self->stats.retried++;
    if (self->config->verbose)
        zsys_debug ("participant: request saga=%s type=%s attempt=%u",
                    request->saga_id, ck_type_name (request->type), request->attempt);
    if (!self->config->handlers [request->type]) {
        log_limit_warning ("participant: unsupported type=%s saga=%s",
                      ck_type_name (request->type), request->saga_id);
        s_answer_error (self, link, request, CK_REASON_UNSUPPORTED_TYPE,
                        "this participant does not serve this request type", now);
        return;
    }
    if (participant_batch_parked (self) + self->size >= self->config->capacity)
        self->stats.over_capacity++;
    uint32_t delay = self->config->delay_ms?
        self->config->delay_ms (self->config->state, request): 0;
    if (delay > 0 || participant_batch_parked (self) > 0)
        s_park (self, link, request, now + delay, now);
    else {
        job->link = link;
        job->due = now;
        job->expires = now + request->deadline_ms;
        self->size++;
    }
}

void
participant_batch_message (participant_batch_t *self, size_t link, ck_message_t *message,
                           int64_t now)
{
    assert (self && message);
    assert (!participant_batch_full (self));
    participant_link_t *from = self->links [link];
    ck_frame_t frame;
    ck_decode_error_t err;
    if (ck_message_parse (message, CK_PROTO_WORKER, false, &frame, &err) == -1) {
        self->stats.bad_messages++;
        log_limit_warning ("participant: bad frame endpoint=%s error=%s",
                      participant_link_endpoint (from), err.message);
    }
    else
    if (frame.command == CK_CMD_REQUEST)
        s_handle_request (self, link, &frame, now);
    else
    if (frame.command == CK_CMD_DISCONNECT)
        participant_link_restart (from, now);
    else
    if (frame.command == CK_CMD_HEARTBEAT) {
        if (self->config->verbose)
            zsys_debug ("participant: heartbeat from endpoint=%s",
                        participant_link_endpoint (from));
    }
    else {
        self->stats.bad_messages++;
        log_limit_warning ("participant: unexpected command=%s endpoint=%s",
                      ck_command_name (frame.command), participant_link_endpoint (from));
    }
}

/*  bench_load.c - the W1 closed loop: C checkouts in flight against coordinators
    Slots hold the checkouts in flight; a RESULT frees one, the next k takes it.
*/
#include <czmq.h>
#include <time.h>
#include "bench_load.h"
#include "checkout/client.h"
#include "w1.h"

#define RETRY_FIRST_US  5000            //  first pause after ERROR overloaded
#define RETRY_MAX_US    100000          //  the pause doubles up to this
#define TICK_BUSY_US    5000            //  scan of slots while retries wait
#define TICK_IDLE_US    50000           //  scan of slots for timeouts only
#define PROGRESS_US     100000          //  redraw of the progress bar
#define BAR_WIDTH       30
#define NO_CHECKOUT     UINT64_MAX      //  a free slot's k
//  DEALERs of one client at most: its frontends and the owners it learns
#define CLIENT_LINKS    (CK_CLIENT_FRONTENDS_MAX + CK_CLIENT_OWNERS_MAX)

//  Where each checkout of the run stands
typedef enum { K_PENDING = 0, K_IN_FLIGHT, K_DONE, K_TIMED_OUT } k_state_t;

//  A checkout in flight
typedef struct {
    uint64_t k;                         //  NO_CHECKOUT when the slot is free
    int64_t sent_us;                    //  its last submit
    int64_t deadline_us;                //  first submit + timeout
    int64_t retry_us;                   //  when to submit again; 0 when not due
    uint32_t retries;
} slot_t;

struct _bench_load_t {
    bench_load_config_t config;
    ck_client_t **clients;
    zmq_pollitem_t *items;              //  every client's DEALERs, polled
    uint32_t *item_end;                 //  per client: the end of its items
    histogram_t *latency;
    bench_load_stats_t stats;
    ck_checkout_t checkout;             //  scratch: the one being sent
    uint8_t *state;                     //  k_state_t per checkout (k - first)
    uint32_t *slot_of;                  //  per checkout: its slot while in flight
    slot_t *slots;
    uint32_t *free_slots;               //  a stack of free slot indexes
    uint32_t free_count;
    uint64_t next;                      //  next k to submit
    uint64_t finished;                  //  checkouts with a final outcome
    uint32_t retry_pending;             //  slots waiting to submit again
    bool heard;                         //  any reply at all from a coordinator
    int64_t first_submit_us;
    int64_t last_result_us;
    int64_t next_tick_us;
    int64_t next_progress_us;
};

static int64_t
s_now_us (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return (int64_t) ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static int
s_clients_new (bench_load_t *self)
{
    uint32_t count = self->config.clients;
    self->clients = (ck_client_t **) zmalloc (count * sizeof (ck_client_t *));
    self->items = (zmq_pollitem_t *) zmalloc (count * CLIENT_LINKS * sizeof (zmq_pollitem_t));
    self->item_end = (uint32_t *) zmalloc (count * sizeof (uint32_t));
    for (uint32_t i = 0; i < count; i++) {
        self->clients [i] = ck_client_new_frontends (&self->config.frontend, 1,
                                                     &self->config.curve);
        if (!self->clients [i])
            return -1;
    }
    return 0;
}

//  Creates a load generator with its clients connected; NULL after logging.
bench_load_t *
bench_load_new (const bench_load_config_t *config)
{
    assert (config && config->frontend);
    assert (config->count > 0 && config->concurrency > 0 && config->clients > 0);
    assert (config->timeout_ms > 0);
    bench_load_t *self = (bench_load_t *) zmalloc (sizeof (bench_load_t));
    self->config = *config;
    if (s_clients_new (self) == -1) {
        bench_load_destroy (&self);
        return NULL;
    }
    self->latency = histogram_new ();
    self->state = (uint8_t *) zmalloc (config->count);
    self->slot_of = (uint32_t *) zmalloc (config->count * sizeof (uint32_t));
    self->slots = (slot_t *) zmalloc (config->concurrency * sizeof (slot_t));
    self->free_slots = (uint32_t *) zmalloc (config->concurrency * sizeof (uint32_t));
    for (uint32_t i = 0; i < config->concurrency; i++) {
        self->slots [i].k = NO_CHECKOUT;
        self->free_slots [self->free_count++] = config->concurrency - 1 - i;
    }
    self->next = config->first;
    bench_tally_plan (&self->stats.tally, config->first, config->count);
    return self;
}

//  Destroys it; safe on NULL, nulls the pointer.
void
bench_load_destroy (bench_load_t **self_p)
{
    assert (self_p);
    bench_load_t *self = *self_p;
    if (!self)
        return;
    for (uint32_t i = 0; self->clients && i < self->config.clients; i++)
        ck_client_destroy (&self->clients [i]);
    free (self->clients);
    free (self->items);
    free (self->item_end);
    histogram_destroy (&self->latency);
    free (self->state);
    free (self->slot_of);
    free (self->slots);
    free (self->free_slots);
    free (self);
    *self_p = NULL;
}

//  Keeps the first few mismatches to show in the report
static void
s_example (bench_load_t *self, const char *checkout_id, const char *why)
{
    if (self->config.verbose)
        zsys_warning ("bench: checkout=%s mismatch=\"%s\"", checkout_id, why);
    bench_load_stats_t *stats = &self->stats;
    if (stats->example_count < BENCH_LOAD_EXAMPLES)
        snprintf (stats->examples [stats->example_count++], BENCH_LOAD_EXAMPLE_SIZE,
                  "%.64s: %.93s", checkout_id, why);
}

//  Ends checkout k with outcome and gives its slot back
static void
s_finish (bench_load_t *self, uint64_t k, bench_outcome_t outcome)
{
    uint64_t index = k - self->config.first;
    uint32_t slot_index = self->slot_of [index];
    slot_t *slot = &self->slots [slot_index];
    assert (self->state [index] == K_IN_FLIGHT && slot->k == k);
    if (slot->retry_us)
        self->retry_pending--;
    memset (slot, 0, sizeof *slot);
    slot->k = NO_CHECKOUT;
    self->free_slots [self->free_count++] = slot_index;
    self->state [index] = outcome == BENCH_TIMEOUT? K_TIMED_OUT: K_DONE;
    self->stats.tally.got [outcome]++;
    self->finished++;
}

static void
s_schedule_retry (bench_load_t *self, slot_t *slot, int64_t now)
{
    int64_t pause = RETRY_FIRST_US << (slot->retries < 5? slot->retries: 5);
    slot->retries++;
    if (!slot->retry_us)
        self->retry_pending++;
    slot->retry_us = now + (pause < RETRY_MAX_US? pause: RETRY_MAX_US);
}

//  Sends the slot's checkout; a full queue is retried like overloaded
static void
s_submit (bench_load_t *self, slot_t *slot, int64_t now)
{
    int rc = w1_checkout_prefixed (self->config.prefix, slot->k, &self->checkout);
    assert (rc == 0);                   //  main checked the prefix
    ck_client_t *client = self->clients [slot->k % self->config.clients];
    slot->sent_us = now;
    if (self->first_submit_us == 0)
        self->first_submit_us = now;
    if (ck_client_send_checkout (client, &self->checkout) == 0)
        return;
    if (errno == EAGAIN) {
        self->stats.send_failures++;
        s_schedule_retry (self, slot, now);
    }
    else {
        s_example (self, self->checkout.checkout_id, "the client refused to encode it");
        s_finish (self, slot->k, BENCH_ERROR);
    }
}

//  Puts the next checkouts into the free slots
static void
s_fill (bench_load_t *self, int64_t now)
{
    uint64_t end = self->config.first + self->config.count;
    while (self->free_count > 0 && self->next < end) {
        uint32_t slot_index = self->free_slots [--self->free_count];
        uint64_t k = self->next++;
        slot_t *slot = &self->slots [slot_index];
        memset (slot, 0, sizeof *slot);
        slot->k = k;
        slot->deadline_us = now + (int64_t) self->config.timeout_ms * 1000;
        self->slot_of [k - self->config.first] = slot_index;
        self->state [k - self->config.first] = K_IN_FLIGHT;
        s_submit (self, slot, now);
    }
}

//  The state of the checkout a reply names, with its k; -1 when the reply
//  names no checkout of this run
static int
s_lookup (bench_load_t *self, const char *checkout_id, uint64_t *k)
{
    if (bench_plan_key (checkout_id, self->config.prefix, k) == -1
    ||  *k < self->config.first || *k - self->config.first >= self->config.count)
        return -1;
    return self->state [*k - self->config.first];
}

//  The first RESULT of a checkout, as a line of the outcomes file: what
//  a crash test holds the coordinator to once it has been killed
static void
s_write_outcome (bench_load_t *self, const ck_result_t *result)
{
    if (!self->config.outcomes)
        return;
    const char *reason = result->reason.code [0]? result->reason.code: "-";
    if (fprintf (self->config.outcomes, "%s %s %s %s\n", result->checkout_id,
                 result->saga_id, ck_status_name (result->status), reason) < 0)
        self->stats.outcome_errors++;
}

static void
s_on_result (bench_load_t *self, const ck_result_t *result, int64_t now)
{
    uint64_t k = 0;
    int state = s_lookup (self, result->checkout_id, &k);
    if (state == K_DONE)
        self->stats.duplicates++;
    else
    if (state == K_TIMED_OUT)
        self->stats.late++;
    if (state != K_IN_FLIGHT) {
        self->stats.unmatched += state == K_PENDING || state == -1;
        return;
    }
    slot_t *slot = &self->slots [self->slot_of [k - self->config.first]];
    histogram_record (self->latency, (uint64_t) (now - slot->sent_us));
    char why [BENCH_LOAD_EXAMPLE_SIZE];
    if (!bench_plan_check_result (k, result, why, sizeof why)) {
        self->stats.mismatches++;
        s_example (self, result->checkout_id, why);
    }
    self->stats.results++;
    self->last_result_us = now;
    s_write_outcome (self, result);
    s_finish (self, k, bench_plan_classify (result->status, result->reason.code));
}

static void
s_on_error (bench_load_t *self, const ck_error_t *error, int64_t now)
{
    uint64_t k = 0;
    if (s_lookup (self, error->checkout_id, &k) != K_IN_FLIGHT) {
        self->stats.unmatched++;
        zsys_warning ("bench: error=%s checkout=%s message=\"%s\" (no checkout in flight)",
                      ck_error_code_name (error->code), error->checkout_id, error->message);
        return;
    }
    slot_t *slot = &self->slots [self->slot_of [k - self->config.first]];
    if (error->code == CK_OVERLOADED) {
        self->stats.overloaded++;
        s_schedule_retry (self, slot, now);
        return;
    }
    if (error->code > CK_OK && error->code < CK_ERROR_CODE_COUNT)
        self->stats.errors [error->code]++;
    char why [BENCH_LOAD_EXAMPLE_SIZE];
    snprintf (why, sizeof why, "ERROR %s: %.100s", ck_error_code_name (error->code),
              error->message);
    s_example (self, error->checkout_id, why);
    s_finish (self, k, BENCH_ERROR);
}

//  Handles every reply waiting on client
static void
s_drain (bench_load_t *self, ck_client_t *client)
{
    ck_command_t command;
    while ((command = ck_client_recv (client, 0)) != CK_CMD_NONE) {
        self->heard = true;
        const ck_client_reply_t *reply = ck_client_reply (client);
        int64_t now = s_now_us ();
        if (command == CK_CMD_RESULT)
            s_on_result (self, &reply->result, now);
        else
        if (command == CK_CMD_ERROR)
            s_on_error (self, &reply->error, now);
    }
}

//  Drops what the client keeps to resend checkout k, given up on
static void
s_forget (bench_load_t *self, uint64_t k)
{
    int rc = w1_checkout_prefixed (self->config.prefix, k, &self->checkout);
    assert (rc == 0);                   //  main checked the prefix
    ck_client_forget (self->clients [k % self->config.clients], self->checkout.checkout_id);
}

//  True when the slot's checkout has heard nothing for resubmit_ms since
//  its last submit and waits for no overloaded retry: the coordinator may
//  have died with it, so it is sent again (same checkout_id)
static bool
s_silent (bench_load_t *self, const slot_t *slot, int64_t now)
{
    return self->config.resubmit_ms > 0 && !slot->retry_us
        && now - slot->sent_us >= (int64_t) self->config.resubmit_ms * 1000;
}

//  Times checkouts out, sends the retries that are due and resubmits the
//  silent ones
static void
s_tick (bench_load_t *self, int64_t now)
{
    if (now < self->next_tick_us)
        return;
    for (uint32_t i = 0; i < self->config.concurrency; i++) {
        slot_t *slot = &self->slots [i];
        if (slot->k == NO_CHECKOUT)
            continue;
        if (now >= slot->deadline_us) {
            if (self->config.verbose)
                zsys_warning ("bench: checkout=%llu timeout_ms=%d",
                              (unsigned long long) slot->k, self->config.timeout_ms);
            s_forget (self, slot->k);
            s_finish (self, slot->k, BENCH_TIMEOUT);
            self->stats.unanswered = !self->heard;
        }
        else
        if (slot->retry_us && now >= slot->retry_us) {
            slot->retry_us = 0;
            self->retry_pending--;
            s_submit (self, slot, now);
        }
        else
        if (s_silent (self, slot, now)) {
            self->stats.resubmits++;
            s_submit (self, slot, now);
        }
    }
    self->next_tick_us = now + (self->retry_pending? TICK_BUSY_US: TICK_IDLE_US);
    //  a crash test follows the run's progress in the file
    if (self->config.outcomes && fflush (self->config.outcomes) != 0)
        self->stats.outcome_errors++;
}

static void
s_progress (bench_load_t *self, int64_t now, bool final)
{
    if (!self->config.progress || (!final && now < self->next_progress_us))
        return;
    self->next_progress_us = now + PROGRESS_US;
    if (final) {
        fprintf (stderr, "\r\033[K");
        fflush (stderr);
        return;
    }
    uint64_t count = self->config.count;
    int filled = (int) (self->finished * BAR_WIDTH / count);
    double seconds = (double) (now - self->first_submit_us) / 1e6;
    fprintf (stderr, "\r[%.*s%*s] %3d%% %llu/%llu %.0f/s in flight %u ",
             filled, "==============================", BAR_WIDTH - filled, "",
             (int) (self->finished * 100 / count), (unsigned long long) self->finished,
             (unsigned long long) count,
             seconds > 0? (double) self->finished / seconds: 0.0,
             self->config.concurrency - self->free_count);
    fflush (stderr);
}

//  Waits for replies until the next tick is due, or a client's redirected
//  request is; a client gains a DEALER when it learns an owner's frontend,
//  so the poll list is built afresh each time (a few items per client)
static void
s_wait (bench_load_t *self, int64_t now)
{
    int64_t wait_us = self->next_tick_us - now;
    long wait_ms = wait_us <= 0? 0: (long) ((wait_us + 999) / 1000);
    uint32_t used = 0;
    for (uint32_t i = 0; i < self->config.clients; i++) {
        used += (uint32_t) ck_client_poll_items (self->clients [i], self->items + used,
                                                 CLIENT_LINKS);
        self->item_end [i] = used;
        long due = ck_client_timeout (self->clients [i]);
        if (due >= 0 && due < wait_ms)
            wait_ms = due;
    }
    if (zmq_poll (self->items, (int) used, wait_ms) < 0)
        return;
    for (uint32_t i = 0, item = 0; i < self->config.clients; i++) {
        bool ready = ck_client_timeout (self->clients [i]) == 0;
        for (; item < self->item_end [i]; item++)
            ready |= (self->items [item].revents & ZMQ_POLLIN) != 0;
        if (ready)
            s_drain (self, self->clients [i]);
    }
}

static void
s_summarize (bench_load_t *self)
{
    bench_load_stats_t *stats = &self->stats;
    for (uint32_t i = 0; i < self->config.clients; i++) {
        stats->malformed += ck_client_malformed (self->clients [i]);
        stats->redirects += ck_client_redirects (self->clients [i]);
    }
    if (self->last_result_us > self->first_submit_us)
        stats->elapsed_us = (uint64_t) (self->last_result_us - self->first_submit_us);
    if (stats->elapsed_us > 0)
        stats->throughput = (double) stats->results * 1e6 / (double) stats->elapsed_us;
    stats->interrupted = self->finished < self->config.count;
    if (self->config.outcomes
    &&  (fflush (self->config.outcomes) != 0 || ferror (self->config.outcomes)))
        stats->outcome_errors++;
}

//  Nobody answers: the checkouts in flight and those not sent yet time
//  out now rather than one timeout after another
static void
s_give_up (bench_load_t *self)
{
    fprintf (stderr, "checkout-bench: no answer from %s in %d ms (--timeout): is a coordinator"
             " running there? Under CURVE it needs --curve-secret and --curve-server. The %llu"
             " checkouts left count as timed out.\n", self->config.frontend,
             self->config.timeout_ms,
             (unsigned long long) (self->config.count - self->finished));
    for (uint32_t i = 0; i < self->config.concurrency; i++)
        if (self->slots [i].k != NO_CHECKOUT) {
            s_forget (self, self->slots [i].k);
            s_finish (self, self->slots [i].k, BENCH_TIMEOUT);
        }
    for (uint64_t end = self->config.first + self->config.count; self->next < end;
         self->next++) {
        self->state [self->next - self->config.first] = K_TIMED_OUT;
        self->stats.tally.got [BENCH_TIMEOUT]++;
        self->finished++;
    }
}

//  Runs the closed loop; 0 when every checkout matched the plan, else -1.
int
bench_load_run (bench_load_t *self)
{
    assert (self);
    while (!zsys_interrupted && self->finished < self->config.count
       &&  !self->stats.unanswered) {
        int64_t now = s_now_us ();
        s_fill (self, now);
        s_tick (self, now);
        s_progress (self, now, false);
        if (self->finished < self->config.count)
            s_wait (self, now);
    }
    if (self->stats.unanswered)
        s_give_up (self);
    s_progress (self, s_now_us (), true);
    s_summarize (self);
    bool passed = !self->stats.interrupted && self->stats.mismatches == 0
               && self->stats.outcome_errors == 0
               && bench_tally_matches (&self->stats.tally);
    return passed? 0: -1;
}

//  Returns the run's counters (borrowed). Can't fail.
const bench_load_stats_t *
bench_load_stats (bench_load_t *self)
{
    assert (self);
    return &self->stats;
}

//  Returns the latency histogram (borrowed). Can't fail.
histogram_t *
bench_load_latency (bench_load_t *self)
{
    assert (self);
    return self->latency;
}

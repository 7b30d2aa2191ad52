/*  coordinator_leases.c - a coordinator among several sharing one saga log
    Takes and gives up partitions as the leases say; resyncs after a fence.

    Between loop turns the leases are renewed (leases.h).  A partition lost
    (expired, taken, or given to a member that joined) takes its sagas out
    of memory at once, without sending anything more for them; their
    clients hear not_owner and the new owner's frontend.  A partition
    gained is read from the log and its sagas resume as at start-up
    (docs/protocol.md#durability): the current step sent again, same ids.

    A commit the log refuses (the fence: a lease lapsed while the turn ran;
    or the database failed) leaves memory ahead of the log.  The turn's
    partitions are then forgotten and claimed again under a new epoch, and
    their sagas reloaded from what committed; clients waiting for them
    wait on (kept in core->stashed meanwhile).
*/
#include "coordinator_internal.h"

//  Clients waiting for a saga that is out of memory for a moment
typedef struct {
    peer_id_t waiters [MAX_WAITERS];
    uint8_t waiter_count;
    bool ack;
    int64_t since_ms;
} stash_t;

static void
s_stash_destroy (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

void
coordinator_leases_touch (core_t *self, entry_t *entry)
{
    if (!self->leases || self->turn_partitions [entry->partition])
        return;
    self->turn_partitions [entry->partition] = true;
    self->turn_list [self->turn_count++] = entry->partition;
}

void
coordinator_leases_committed (core_t *self)
{
    for (size_t index = 0; index < self->turn_count; index++)
        self->turn_partitions [self->turn_list [index]] = false;
    self->turn_count = 0;
}

//  Takes out of memory every saga of the partitions marked in which: their
//  clients kept aside when stash, else told not_owner
static void
s_drop (core_t *self, const bool *which, bool stash)
{
    zlistx_t *entries = zhashx_values (self->by_saga);
    size_t dropped = 0;
    for (entry_t *entry = (entry_t *) zlistx_first (entries); entry;
         entry = (entry_t *) zlistx_next (entries)) {
        if (!which [entry->partition])
            continue;
        if (stash && entry->waiter_count) {
            stash_t *kept = (stash_t *) zmalloc (sizeof (stash_t));
            memcpy (kept->waiters, entry->waiters, sizeof kept->waiters);
            kept->waiter_count = entry->waiter_count;
            kept->ack = entry->ack;
            kept->since_ms = zclock_mono ();
            zhashx_update (self->stashed, entry->saga->checkout_id, kept);
        }
        else
            for (uint8_t i = 0; i < entry->waiter_count; i++)
                frontend_not_owner (self->frontend, &entry->waiters [i],
                                    entry->saga->checkout_id,
                                    leases_owner (self->leases, entry->partition));
        coordinator_entry_destroy (self, &entry);
        dropped++;
    }
    zlistx_destroy (&entries);
    if (dropped)
        zsys_info ("coordinator: sagas=%zu dropped from memory (%s)", dropped,
                   stash? "their commit was refused; reloading": "partitions lost");
}

//  Adoption's first half: the log hands over each saga of the partitions
typedef struct {
    core_t *core;
    zlistx_t *adopted;
} adoption_t;

static void
s_adopt_one (void *arg, saga_t *saga, uint64_t cart_digest)
{
    adoption_t *adoption = (adoption_t *) arg;
    core_t *self = adoption->core;
    if (zhashx_lookup (self->by_saga, saga->saga_id)
    ||  zhashx_lookup (self->by_checkout, saga->checkout_id)) {
        saga_destroy (&saga);           //  never: a partition is dropped before it is gained
        return;
    }
    entry_t *entry = coordinator_entry_new (self, saga, cart_digest);
    stash_t *kept = (stash_t *) zhashx_lookup (self->stashed, saga->checkout_id);
    if (kept) {
        memcpy (entry->waiters, kept->waiters, sizeof entry->waiters);
        entry->waiter_count = kept->waiter_count;
        entry->ack = kept->ack;
        zhashx_delete (self->stashed, saga->checkout_id);
    }
    zlistx_add_end (adoption->adopted, entry);
}

//  Reads the sagas of the gained partitions and resumes them; a partition
//  whose read failed is forgotten, to be claimed and read again
static void
s_adopt (core_t *self, const uint32_t *gained, size_t count)
{
    adoption_t adoption = { self, zlistx_new () };
    int loaded = saga_log_each_active_in (self->log, gained, count, s_adopt_one, &adoption);
    if (loaded < 0)
        for (size_t index = 0; index < count; index++)
            leases_forget (self->leases, gained [index]);
    saga_clock_t clock = coordinator_clock ();
    for (entry_t *entry = (entry_t *) zlistx_first (adoption.adopted); entry;
         entry = (entry_t *) zlistx_next (adoption.adopted)) {
        saga_actions_t actions;
        saga_engine_resume (self->engine, entry->saga, clock, &actions);
        coordinator_apply (self, entry, &actions);
    }
    zlistx_destroy (&adoption.adopted);
    if (loaded > 0)
        zsys_info ("coordinator: partitions=%zu taken sagas=%d resumed", count, loaded);
    coordinator_flush (self);
}

//  Clients kept aside whose saga did not come back once its partition was
//  read again: it never committed (they send it again and start it anew).
//  Those whose partition went to another coordinator hear not_owner.
//  Those whose partition is still being taken again wait, for a while.
static void
s_answer_stashed (core_t *self)
{
    zlistx_t *keys = zhashx_keys (self->stashed);
    int64_t now_ms = zclock_mono ();
    for (const char *checkout_id = (const char *) zlistx_first (keys); checkout_id;
         checkout_id = (const char *) zlistx_next (keys)) {
        stash_t *kept = (stash_t *) zhashx_lookup (self->stashed, checkout_id);
        uint32_t partition = ck_partition_of (checkout_id, leases_count (self->leases));
        bool held = leases_held (self->leases, partition);
        const char *owner = leases_owner (self->leases, partition);
        bool expired = now_ms - kept->since_ms > 2 * LEASES_TTL_MS;
        if (!held && !*owner && !expired)
            continue;
        for (uint8_t i = 0; i < kept->waiter_count; i++)
            if (held || expired)
                frontend_error (self->frontend, &kept->waiters [i], CK_OVERLOADED,
                                "the checkout was not recorded: send it again", checkout_id);
            else
                frontend_not_owner (self->frontend, &kept->waiters [i], checkout_id, owner);
        zhashx_delete (self->stashed, checkout_id);
    }
    zlistx_destroy (&keys);
}

void
coordinator_leases_tick (core_t *self)
{
    if (!self->leases)
        return;
    leases_renew (self->leases);        //  on failure, what ran out is lost
    size_t lost_count, gained_count;
    const uint32_t *lost = leases_lost (self->leases, &lost_count);
    const uint32_t *gained = leases_gained (self->leases, &gained_count);
    if (lost_count) {
        bool *which = (bool *) zmalloc (leases_count (self->leases) * sizeof (bool));
        for (size_t index = 0; index < lost_count; index++)
            which [lost [index]] = true;
        s_drop (self, which, false);
        free (which);
        zsys_info ("coordinator: partitions=%zu lost", lost_count);
    }
    if (gained_count) {
        //  copied: adoption's flush may renew again if fenced
        uint32_t *list = (uint32_t *) zmalloc (gained_count * sizeof (uint32_t));
        memcpy (list, gained, gained_count * sizeof (uint32_t));
        s_adopt (self, list, gained_count);
        free (list);
    }
    if (zhashx_size (self->stashed))
        s_answer_stashed (self);
    frontend_leases_changed (self->frontend);
}

void
coordinator_leases_fenced (core_t *self)
{
    assert (self->leases);
    self->fenced = false;
    bool *which = (bool *) zmalloc (leases_count (self->leases) * sizeof (bool));
    for (size_t index = 0; index < self->turn_count; index++) {
        which [self->turn_list [index]] = true;
        leases_forget (self->leases, self->turn_list [index]);
    }
    coordinator_leases_committed (self);
    s_drop (self, which, true);
    free (which);
}

void
coordinator_leases_destroy (core_t *self)
{
    zhashx_destroy (&self->stashed);
    free (self->turn_partitions);
    free (self->turn_list);
}

//  Sets up the leases' state when the log has them
void
coordinator_leases_init (core_t *self)
{
    self->leases = self->log->leases;
    self->stashed = zhashx_new ();
    zhashx_set_destructor (self->stashed, s_stash_destroy);
    if (!self->leases)
        return;
    uint32_t count = leases_count (self->leases);
    self->turn_partitions = (bool *) zmalloc (count * sizeof (bool));
    self->turn_list = (uint32_t *) zmalloc (count * sizeof (uint32_t));
}

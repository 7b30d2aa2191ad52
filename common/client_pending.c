/*  client_pending.c - the client's requests in flight, keyed by checkout_id
    A hash for lookup, a list oldest first for the bound, a short waiting list.
*/
#include "client_pending.h"

struct _client_pending_t {
    zhashx_t *by_id;                    //  checkout_id -> client_request_t *
    zlistx_t *order;                    //  oldest first
    zlistx_t *waiting;                  //  entries in back-off; few
    size_t max;
    size_t dropped;
};

//  Creates an empty table of at most max entries.
client_pending_t *
client_pending_new (size_t max)
{
    assert (max >= 1);
    client_pending_t *self = (client_pending_t *) zmalloc (sizeof (client_pending_t));
    self->by_id = zhashx_new ();
    self->order = zlistx_new ();
    self->waiting = zlistx_new ();
    self->max = max;
    return self;
}

static void
s_entry_free (client_request_t *entry)
{
    free (entry->body);
    free (entry);
}

//  Destroys the table and its entries; safe on NULL, nulls the pointer.
void
client_pending_destroy (client_pending_t **self_p)
{
    assert (self_p);
    client_pending_t *self = *self_p;
    if (!self)
        return;
    for (client_request_t *entry = (client_request_t *) zlistx_first (self->order); entry;
         entry = (client_request_t *) zlistx_next (self->order))
        s_entry_free (entry);
    zlistx_destroy (&self->waiting);
    zlistx_destroy (&self->order);
    zhashx_destroy (&self->by_id);
    free (self);
    *self_p = NULL;
}

//  Unlinks entry from every index and frees it
static void
s_drop (client_pending_t *self, client_request_t *entry)
{
    zhashx_delete (self->by_id, entry->checkout_id);
    zlistx_delete (self->order, entry->order);
    if (entry->waiting)
        zlistx_delete (self->waiting, entry->waiting);
    s_entry_free (entry);
}

//  Keeps a copy of the request; replaces an entry of that id, drops the
//  oldest when full.
client_request_t *
client_pending_put (client_pending_t *self, const char *checkout_id, ck_command_t command,
                    const void *body, size_t body_size)
{
    assert (self && checkout_id);
    client_pending_remove (self, checkout_id);
    if (zhashx_size (self->by_id) >= self->max) {
        s_drop (self, (client_request_t *) zlistx_first (self->order));
        self->dropped++;
    }
    client_request_t *entry = (client_request_t *) zmalloc (sizeof (client_request_t));
    snprintf (entry->checkout_id, sizeof entry->checkout_id, "%s", checkout_id);
    entry->command = command;
    entry->body = (uint8_t *) malloc (body_size? body_size: 1);
    assert (entry->body);
    if (body_size)
        memcpy (entry->body, body, body_size);
    entry->body_size = body_size;
    entry->order = zlistx_add_end (self->order, entry);
    zhashx_insert (self->by_id, entry->checkout_id, entry);
    return entry;
}

//  The entry of checkout_id, or NULL.
client_request_t *
client_pending_find (client_pending_t *self, const char *checkout_id)
{
    assert (self && checkout_id);
    return (client_request_t *) zhashx_lookup (self->by_id, checkout_id);
}

//  Drops the entry of checkout_id if any.
void
client_pending_remove (client_pending_t *self, const char *checkout_id)
{
    assert (self && checkout_id);
    client_request_t *entry = client_pending_find (self, checkout_id);
    if (entry)
        s_drop (self, entry);
}

//  Makes entry wait until at, then go to link.
void
client_pending_defer (client_pending_t *self, client_request_t *entry, int64_t at,
                      size_t link)
{
    assert (self && entry);
    entry->resend_at = at;
    entry->link = link;
    if (!entry->waiting)
        entry->waiting = zlistx_add_end (self->waiting, entry);
}

//  The first waiting entry due by now, off the waiting list; or NULL.
client_request_t *
client_pending_due (client_pending_t *self, int64_t now)
{
    assert (self);
    for (client_request_t *entry = (client_request_t *) zlistx_first (self->waiting); entry;
         entry = (client_request_t *) zlistx_next (self->waiting))
        if (entry->resend_at <= now) {
            zlistx_delete (self->waiting, entry->waiting);
            entry->waiting = NULL;
            entry->resend_at = 0;
            return entry;
        }
    return NULL;
}

//  Milliseconds until the next wait ends, 0 when due, -1 when none waits.
long
client_pending_next_due (client_pending_t *self, int64_t now)
{
    assert (self);
    long soonest = -1;
    for (client_request_t *entry = (client_request_t *) zlistx_first (self->waiting); entry;
         entry = (client_request_t *) zlistx_next (self->waiting)) {
        long left = entry->resend_at > now? (long) (entry->resend_at - now): 0;
        if (soonest == -1 || left < soonest)
            soonest = left;
    }
    return soonest;
}

//  Entries in the table.
size_t
client_pending_size (client_pending_t *self)
{
    assert (self);
    return zhashx_size (self->by_id);
}

//  Entries dropped because the table was full.
size_t
client_pending_dropped (client_pending_t *self)
{
    assert (self);
    return self->dropped;
}

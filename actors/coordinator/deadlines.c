/*  deadlines.c - one timer per handle, earliest first
    Heap slots point at nodes; each node knows its slot, so a handle's
    deadline is found through the map and moved in place.
*/
#include <czmq.h>
#include "deadlines.h"
#include "pointer_map.h"

typedef struct {
    void *handle;
    uint64_t at_us;
    size_t slot;                        //  index in heap
} node_t;

struct _deadlines_t {
    zhashx_t *nodes;                    //  handle -> node_t, owns the nodes
    node_t **heap;                      //  min-heap on at_us
    size_t size;
    size_t capacity;
};


static void
s_node_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}


//  Returns a new, empty set owned by the caller.

deadlines_t *
deadlines_new (void)
{
    deadlines_t *self = (deadlines_t *) zmalloc (sizeof (deadlines_t));
    self->nodes = pointer_map_new ();
    zhashx_set_destructor (self->nodes, s_node_free);
    return self;
}


//  Destroys the set (not the handles); safe on NULL, nulls the pointer.

void
deadlines_destroy (deadlines_t **self_p)
{
    assert (self_p);
    deadlines_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->nodes);
    free (self->heap);
    free (self);
    *self_p = NULL;
}


static void
s_place (deadlines_t *self, node_t *node, size_t slot)
{
    self->heap [slot] = node;
    node->slot = slot;
}

static void
s_sift_up (deadlines_t *self, size_t slot)
{
    node_t *node = self->heap [slot];
    while (slot > 0) {
        size_t parent = (slot - 1) / 2;
        if (self->heap [parent]->at_us <= node->at_us)
            break;
        s_place (self, self->heap [parent], slot);
        slot = parent;
    }
    s_place (self, node, slot);
}

static void
s_sift_down (deadlines_t *self, size_t slot)
{
    node_t *node = self->heap [slot];
    while (true) {
        size_t child = 2 * slot + 1;
        if (child >= self->size)
            break;
        if (child + 1 < self->size
        &&  self->heap [child + 1]->at_us < self->heap [child]->at_us)
            child++;
        if (node->at_us <= self->heap [child]->at_us)
            break;
        s_place (self, self->heap [child], slot);
        slot = child;
    }
    s_place (self, node, slot);
}


//  Takes the node out of the heap (the map still holds it): the last slot
//  fills the hole and moves whichever way restores the order.

static void
s_heap_remove (deadlines_t *self, node_t *node)
{
    size_t slot = node->slot;
    assert (slot < self->size && self->heap [slot] == node);
    node_t *last = self->heap [--self->size];
    if (slot == self->size)
        return;
    s_place (self, last, slot);
    s_sift_down (self, slot);
    s_sift_up (self, last->slot);
}

static void
s_heap_push (deadlines_t *self, node_t *node)
{
    if (self->size == self->capacity) {
        size_t capacity = self->capacity? self->capacity * 2: 64;
        node_t **heap = (node_t **) realloc (self->heap, capacity * sizeof (node_t *));
        if (!heap) {
            zsys_error ("deadlines: op=grow error=out of memory");
            abort ();
        }
        self->heap = heap;
        self->capacity = capacity;
    }
    s_place (self, node, self->size++);
    s_sift_up (self, node->slot);
}


//  Sets the handle's deadline, replacing any earlier one; 0 cancels it.

void
deadlines_set (deadlines_t *self, void *handle, uint64_t at_us)
{
    assert (self);
    assert (handle);
    if (at_us == 0) {
        deadlines_cancel (self, handle);
        return;
    }
    node_t *node = (node_t *) zhashx_lookup (self->nodes, handle);
    if (node) {
        uint64_t before = node->at_us;
        node->at_us = at_us;
        if (at_us < before)
            s_sift_up (self, node->slot);
        else
            s_sift_down (self, node->slot);
        return;
    }
    node = (node_t *) zmalloc (sizeof (node_t));
    node->handle = handle;
    node->at_us = at_us;
    zhashx_insert (self->nodes, handle, node);
    s_heap_push (self, node);
}


//  Removes the handle's deadline, if it has one.  Can't fail.

void
deadlines_cancel (deadlines_t *self, void *handle)
{
    assert (self);
    node_t *node = (node_t *) zhashx_lookup (self->nodes, handle);
    if (!node)
        return;
    s_heap_remove (self, node);
    zhashx_delete (self->nodes, handle);    //  frees the node
}


//  The earliest deadline, or 0 when there is none.

uint64_t
deadlines_next (deadlines_t *self)
{
    assert (self);
    return self->size? self->heap [0]->at_us: 0;
}


//  Removes and returns a handle due at now_us, or NULL when none is.

void *
deadlines_pop_due (deadlines_t *self, uint64_t now_us)
{
    assert (self);
    if (self->size == 0 || self->heap [0]->at_us > now_us)
        return NULL;
    node_t *node = self->heap [0];
    void *handle = node->handle;
    s_heap_remove (self, node);
    zhashx_delete (self->nodes, handle);
    return handle;
}


//  Number of handles with a deadline.

size_t
deadlines_size (deadlines_t *self)
{
    assert (self);
    return self->size;
}

/*  test_deadlines.c - tests of the deadline heap
    Order, replacement, cancellation, and 100k random operations against a model.
*/
#include <criterion/criterion.h>
#include "deadlines.h"

TestSuite (deadlines, .timeout = 60);

static char s_handles [1000];           //  distinct addresses as handles
#define H(index) ((void *) &s_handles [index])

Test (deadlines, empty)
{
    deadlines_t *deadlines = deadlines_new ();
    cr_assert_eq (deadlines_size (deadlines), 0);
    cr_assert_eq (deadlines_next (deadlines), 0);
    cr_assert_null (deadlines_pop_due (deadlines, UINT64_MAX));
    deadlines_cancel (deadlines, H (1));    //  unknown: no-op
    deadlines_set (deadlines, H (1), 0);    //  cancel of nothing
    cr_assert_eq (deadlines_size (deadlines), 0);
    deadlines_destroy (&deadlines);
    cr_assert_null (deadlines);
    deadlines_destroy (&deadlines);
}

Test (deadlines, pops_in_order_when_due)
{
    deadlines_t *deadlines = deadlines_new ();
    uint64_t at [] = { 500, 100, 900, 300, 700, 200 };
    for (int index = 0; index < 6; index++)
        deadlines_set (deadlines, H (index), at [index]);
    cr_assert_eq (deadlines_size (deadlines), 6);
    cr_assert_eq (deadlines_next (deadlines), 100);
    cr_assert_null (deadlines_pop_due (deadlines, 99));
    cr_assert_eq (deadlines_pop_due (deadlines, 100), H (1));
    cr_assert_null (deadlines_pop_due (deadlines, 199));
    cr_assert_eq (deadlines_pop_due (deadlines, 600), H (5));
    cr_assert_eq (deadlines_pop_due (deadlines, 600), H (3));
    cr_assert_eq (deadlines_pop_due (deadlines, 600), H (0));
    cr_assert_null (deadlines_pop_due (deadlines, 600));
    cr_assert_eq (deadlines_next (deadlines), 700);
    cr_assert_eq (deadlines_size (deadlines), 2);
    cr_assert_eq (deadlines_pop_due (deadlines, UINT64_MAX), H (4));
    cr_assert_eq (deadlines_pop_due (deadlines, UINT64_MAX), H (2));
    cr_assert_eq (deadlines_size (deadlines), 0);
    cr_assert_eq (deadlines_next (deadlines), 0);
    deadlines_destroy (&deadlines);
}

Test (deadlines, set_replaces_the_handles_deadline)
{
    deadlines_t *deadlines = deadlines_new ();
    deadlines_set (deadlines, H (1), 100);
    deadlines_set (deadlines, H (2), 200);
    deadlines_set (deadlines, H (1), 300);      //  later
    cr_assert_eq (deadlines_size (deadlines), 2);
    cr_assert_eq (deadlines_next (deadlines), 200);
    deadlines_set (deadlines, H (1), 50);       //  earlier
    cr_assert_eq (deadlines_next (deadlines), 50);
    cr_assert_eq (deadlines_pop_due (deadlines, 1000), H (1));
    cr_assert_eq (deadlines_pop_due (deadlines, 1000), H (2));
    cr_assert_null (deadlines_pop_due (deadlines, 1000));
    deadlines_destroy (&deadlines);
}

Test (deadlines, cancel_and_set_zero)
{
    deadlines_t *deadlines = deadlines_new ();
    for (int index = 0; index < 10; index++)
        deadlines_set (deadlines, H (index), 1000 + index);
    deadlines_cancel (deadlines, H (0));
    deadlines_set (deadlines, H (5), 0);
    deadlines_cancel (deadlines, H (0));        //  twice: no-op
    cr_assert_eq (deadlines_size (deadlines), 8);
    cr_assert_eq (deadlines_next (deadlines), 1001);
    int expected [] = { 1, 2, 3, 4, 6, 7, 8, 9 };
    for (int index = 0; index < 8; index++)
        cr_assert_eq (deadlines_pop_due (deadlines, 5000), H (expected [index]));
    cr_assert_eq (deadlines_size (deadlines), 0);
    deadlines_destroy (&deadlines);
}

Test (deadlines, destroy_with_pending_deadlines)
{
    //  The handles are not freed: they belong to the caller (ASan checks
    //  that the nodes are)
    deadlines_t *deadlines = deadlines_new ();
    for (int index = 0; index < 1000; index++)
        deadlines_set (deadlines, H (index), 1 + (uint64_t) index * 7 % 13);
    cr_assert_eq (deadlines_size (deadlines), 1000);
    deadlines_destroy (&deadlines);
}

static uint64_t
s_random (uint64_t *state)
{
    *state ^= *state << 13;
    *state ^= *state >> 7;
    *state ^= *state << 17;
    return *state;
}

//  The model: at [i] is handle i's deadline, 0 for none; brute force for
//  the earliest.  A small range of times makes ties common.
#define MODEL_HANDLES 400

static uint64_t
s_model_next (const uint64_t *at)
{
    uint64_t next = 0;
    for (int index = 0; index < MODEL_HANDLES; index++)
        if (at [index] && (next == 0 || at [index] < next))
            next = at [index];
    return next;
}

Test (deadlines, random_operations_match_a_model)
{
    deadlines_t *deadlines = deadlines_new ();
    uint64_t at [MODEL_HANDLES] = { 0 };
    size_t size = 0;
    uint64_t state = 0x9e3779b97f4a7c15ULL;
    for (int op = 0; op < 100000; op++) {
        int index = (int) (s_random (&state) % MODEL_HANDLES);
        uint64_t choice = s_random (&state) % 100;
        if (choice < 45) {
            uint64_t when = 1 + s_random (&state) % 5000;
            deadlines_set (deadlines, H (index), when);
            size += at [index] == 0;
            at [index] = when;
        }
        else
        if (choice < 55) {
            deadlines_set (deadlines, H (index), 0);
            size -= at [index] != 0;
            at [index] = 0;
        }
        else
        if (choice < 65) {
            deadlines_cancel (deadlines, H (index));
            size -= at [index] != 0;
            at [index] = 0;
        }
        else {
            uint64_t now = s_random (&state) % 6000;
            uint64_t next = s_model_next (at);
            void *handle = deadlines_pop_due (deadlines, now);
            if (next == 0 || next > now)
                cr_assert_null (handle, "op %d: popped at now=%lu, next=%lu",
                                op, (unsigned long) now, (unsigned long) next);
            else {
                cr_assert_not_null (handle, "op %d: nothing due at %lu",
                                    op, (unsigned long) now);
                int popped = (int) ((char *) handle - s_handles);
                cr_assert (popped >= 0 && popped < MODEL_HANDLES);
                cr_assert_eq (at [popped], next, "op %d: popped %lu, earliest %lu",
                              op, (unsigned long) at [popped], (unsigned long) next);
                at [popped] = 0;
                size--;
            }
        }
        cr_assert_eq (deadlines_size (deadlines), size, "op %d", op);
        cr_assert_eq (deadlines_next (deadlines), s_model_next (at), "op %d", op);
    }
    //  Drain: every remaining handle comes out once, in order
    uint64_t last = 0;
    void *handle;
    while ((handle = deadlines_pop_due (deadlines, UINT64_MAX))) {
        int popped = (int) ((char *) handle - s_handles);
        cr_assert_neq (at [popped], 0);
        cr_assert_geq (at [popped], last);
        last = at [popped];
        at [popped] = 0;
        size--;
    }
    cr_assert_eq (size, 0);
    cr_assert_eq (s_model_next (at), 0);
    deadlines_destroy (&deadlines);
}

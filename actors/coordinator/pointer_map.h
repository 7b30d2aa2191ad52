/*  pointer_map.h - a czmq zhashx keyed by pointers
    The coordinator keys its in-memory tables by the saga entry's address.
*/
#ifndef POINTER_MAP_H_INCLUDED
#define POINTER_MAP_H_INCLUDED

#include <czmq.h>

//  Hashes a pointer's bits with a 64-bit finalizer: aligned pointers share
//  their low bits, which would put them in few buckets
static inline size_t
pointer_map_hash (const void *key)
{
    uint64_t bits = (uint64_t) (uintptr_t) key;
    bits ^= bits >> 33;
    bits *= 0xff51afd7ed558ccdULL;
    bits ^= bits >> 33;
    return (size_t) bits;
}

static inline int
pointer_map_compare (const void *one, const void *two)
{
    uintptr_t a = (uintptr_t) one, b = (uintptr_t) two;
    return (a > b) - (a < b);
}

//  A new zhashx whose keys are pointers, stored as they are (not copied)
static inline zhashx_t *
pointer_map_new (void)
{
    zhashx_t *map = zhashx_new ();
    if (map) {
        zhashx_set_key_hasher (map, pointer_map_hash);
        zhashx_set_key_comparator (map, pointer_map_compare);
        zhashx_set_key_duplicator (map, NULL);
        zhashx_set_key_destructor (map, NULL);
    }
    return map;
}

#endif

/*  monitor_group.h - the coordinators one monitor watches, and their partitions
    One view per events endpoint; who owns which partition of the shared saga log.

    Coordinators that share one saga log (PostgreSQL) each own a range of
    its partitions and say which in their stats (`coordinator`,
    `partition_count`, `partitions` as ranges "0-20,42").  The summary
    takes the coordinators heard from lately: a partition none of them
    owns has no coordinator driving its sagas, one that two claim is a
    lease gone wrong.  Pure: no sockets, the clock injected.
*/
#ifndef MONITOR_GROUP_H_INCLUDED
#define MONITOR_GROUP_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include "monitor_view.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MONITOR_COORDINATORS_MAX 16     //  events endpoints watched at once
#define MONITOR_RANGES_SIZE      160    //  "0-20,42" text, "..." past it
#define MONITOR_OVERLAPS_MAX     8      //  pairs of coordinators reported

//  Two coordinators that claim the same partitions
typedef struct {
    size_t first, second;               //  their indexes in the group
    uint32_t count;
    char ranges [MONITOR_RANGES_SIZE];
} monitor_overlap_t;

typedef struct {
    uint32_t count;                     //  partitions of the log; 0: none reported
    uint32_t reporting;                 //  coordinators heard from that report theirs
    uint32_t owned;                     //  partitions at least one of them owns
    uint32_t unowned;
    char unowned_ranges [MONITOR_RANGES_SIZE];
    monitor_overlap_t overlaps [MONITOR_OVERLAPS_MAX];
    uint32_t overlap_count;
    uint32_t overlaps_untold;           //  pairs past MONITOR_OVERLAPS_MAX
    bool counts_differ;                 //  they disagree on partition_count
} monitor_partitions_t;

typedef struct _monitor_group_t monitor_group_t;

//  Creates an empty group; NULL only when out of memory.
monitor_group_t *monitor_group_new (void);

//  Destroys the group and its views; safe on NULL, nulls the pointer.
void monitor_group_destroy (monitor_group_t **self_p);

//  Adds the coordinator at endpoint.  Returns its index, or -1 when the
//  group is full or already has that endpoint.
int monitor_group_add (monitor_group_t *self, const char *endpoint);

//  Coordinators in the group.  Can't fail.
size_t monitor_group_size (monitor_group_t *self);

//  The view of the index-th coordinator (borrowed).
monitor_view_t *monitor_group_view (monitor_group_t *self, size_t index);

//  Its events endpoint (borrowed).
const char *monitor_group_endpoint (monitor_group_t *self, size_t index);

//  Its name: the id its stats give, else its endpoint (borrowed, printable).
const char *monitor_group_name (monitor_group_t *self, size_t index);

//  True when the view must tell coordinators apart: several of them, or
//  one that reports partitions.  Can't fail.
bool monitor_group_plural (monitor_group_t *self);

//  Every coordinator's view folded into one (monitor_view_merge), built
//  anew at each call.  Borrowed, valid until the next call.
monitor_view_t *monitor_group_merged (monitor_group_t *self);

//  Who owns what among the coordinators connected at now_ms.  Can't fail.
void monitor_group_partitions (monitor_group_t *self, int64_t now_ms,
                               monitor_partitions_t *summary);

//  Parses ranges text ("0-20,42", "" for none) of count partitions into
//  owned (count bytes, 1 = owned).  Returns how many, or -1 when the text
//  is not ranges within 0..count-1.
int monitor_partitions_parse (const char *text, uint32_t count, uint8_t *owned);

//  Writes the partitions set in owned (count bytes) as ranges text, ending
//  in "..." when it does not fit.  Can't fail.
void monitor_partitions_format (const uint8_t *owned, uint32_t count, char *text, size_t size);

#ifdef __cplusplus
}
#endif

#endif

/*  lease_plan.h - which partitions of a shared saga log a coordinator takes
    Pure: the lease rows and members in, one decision per partition out.

    Coordinators sharing a log on PostgreSQL never talk to each other: each
    reads the same rows and computes the same plan (docs/coordinators.md).
    The live members (heartbeat fresh on the server's clock), sorted by id,
    split the partitions into contiguous ranges: member i of n gets
    [i * P / n, (i + 1) * P / n).  A member claims what the plan gives it
    once that is free or its lease expired, and gives up what the plan
    gives another live member.
*/
#ifndef LEASE_PLAN_H_INCLUDED
#define LEASE_PLAN_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

//  A coordinator of the log, as its row says (times: the server's, in ms)
typedef struct {
    const char *id;                     //  borrowed
    int64_t heartbeat_ms;
} lease_member_t;

//  One partition's lease row
typedef struct {
    const char *owner;                  //  NULL or "": free
    int64_t epoch;
    int64_t expires_ms;
} lease_row_t;

typedef enum {
    LEASE_NONE = 0,                     //  another's, by plan and by lease
    LEASE_KEEP,                         //  ours, planned ours: renew it
    LEASE_CLAIM,                        //  planned ours, free or expired: take it
    LEASE_WAIT,                         //  planned ours, another's lease still live
    LEASE_RELEASE,                      //  ours, planned for another live member
    LEASE_LOST                          //  ours by the row, but expired: not ours
} lease_decision_t;

//  Decides for each of count partitions what member me does (decisions:
//  count slots).  A member is live while heartbeat_ms + ttl_ms > now_ms;
//  me counts as live whatever its row says (it writes its heartbeat in the
//  round trip that read the rows).  Members may come in any order and may
//  repeat.  Returns how many members are live.  Can't fail.
size_t lease_plan (const char *me, const lease_member_t *members, size_t member_count,
                   int64_t ttl_ms, const lease_row_t *rows, uint32_t count, int64_t now_ms,
                   lease_decision_t *decisions);

//  The first partition of member index of live (the plan's ranges).
uint32_t lease_plan_first (size_t index, size_t live, uint32_t count);

//  Writes the partitions marked in held (count flags) as ranges, "0-20,42",
//  into text (size bytes, at least 4); when they do not fit, cuts after the
//  last range that does and ends with "...".  Returns how many are held.
uint32_t lease_plan_ranges (const bool *held, uint32_t count, char *text, size_t size);

const char *lease_decision_name (lease_decision_t decision);

#ifdef __cplusplus
}
#endif

#endif

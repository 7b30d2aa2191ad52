/*  lease_plan.c - which partitions of a shared saga log a coordinator takes
    The plan is a function of the rows and the server's clock only.
*/
#include <stdio.h>
#include <string.h>
#include "lease_plan.h"

static bool
s_live (const lease_member_t *member, int64_t ttl_ms, int64_t now_ms)
{
    return member->heartbeat_ms + ttl_ms > now_ms;
}

//  True when members [0..index) has a live member of the same id: each
//  id counts once however many rows name it
static bool
s_counted (const lease_member_t *members, size_t index, int64_t ttl_ms, int64_t now_ms)
{
    for (size_t other = 0; other < index; other++)
        if (strcmp (members [other].id, members [index].id) == 0
        &&  s_live (&members [other], ttl_ms, now_ms))
            return true;
    return false;
}

uint32_t
lease_plan_first (size_t index, size_t live, uint32_t count)
{
    return live? (uint32_t) ((uint64_t) index * count / live): 0;
}

size_t
lease_plan (const char *me, const lease_member_t *members, size_t member_count,
            int64_t ttl_ms, const lease_row_t *rows, uint32_t count, int64_t now_ms,
            lease_decision_t *decisions)
{
    //  Only our rank among the live ids and their number matter: whatever
    //  lies outside our range belongs to some other live member
    size_t live = 1, rank = 0;
    for (size_t index = 0; index < member_count; index++) {
        const lease_member_t *member = &members [index];
        if (strcmp (member->id, me) == 0 || !s_live (member, ttl_ms, now_ms)
        ||  s_counted (members, index, ttl_ms, now_ms))
            continue;
        live++;
        if (strcmp (member->id, me) < 0)
            rank++;
    }
    uint32_t first = lease_plan_first (rank, live, count);
    uint32_t end = lease_plan_first (rank + 1, live, count);
    for (uint32_t partition = 0; partition < count; partition++) {
        const lease_row_t *row = &rows [partition];
        bool owned = row->owner && *row->owner;
        bool mine = owned && strcmp (row->owner, me) == 0;
        bool unexpired = owned && row->expires_ms > now_ms;
        if (partition >= first && partition < end)
            decisions [partition] = mine && unexpired? LEASE_KEEP
                                  : unexpired? LEASE_WAIT: LEASE_CLAIM;
        else
            decisions [partition] = !mine? LEASE_NONE
                                  : unexpired? LEASE_RELEASE: LEASE_LOST;
    }
    return live;
}

//  Appends "first" or "first-last" (with a comma after the first range)
//  when it fits with room for "..." after it
static bool
s_range (char *text, size_t size, size_t *used, uint32_t first, uint32_t last)
{
    char range [32];
    int length = first == last? snprintf (range, sizeof range, "%s%u", *used? ",": "", first)
               : snprintf (range, sizeof range, "%s%u-%u", *used? ",": "", first, last);
    if (*used + (size_t) length + 4 > size)
        return false;
    memcpy (text + *used, range, (size_t) length + 1);
    *used += (size_t) length;
    return true;
}

uint32_t
lease_plan_ranges (const bool *held, uint32_t count, char *text, size_t size)
{
    size_t used = 0;
    uint32_t total = 0;
    bool cut = false;
    text [0] = 0;
    for (uint32_t partition = 0; partition < count; partition++) {
        if (!held [partition])
            continue;
        uint32_t last = partition;
        while (last + 1 < count && held [last + 1])
            last++;
        total += last - partition + 1;
        if (!cut && !s_range (text, size, &used, partition, last)) {
            cut = true;
            memcpy (text + used, "...", 4);
        }
        partition = last;
    }
    return total;
}

const char *
lease_decision_name (lease_decision_t decision)
{
    static const char *names [] = { "none", "keep", "claim", "wait", "release", "lost" };
    return decision <= LEASE_LOST? names [decision]: "?";
}

/*  monitor_group.c - the coordinators one monitor watches, and their partitions
    One view per events endpoint; who owns which partition, gaps and overlaps.
*/
#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "monitor_group.h"

typedef struct {
    monitor_view_t *view;
    char endpoint [CK_TEXT_SIZE];
    char name [CK_TEXT_SIZE];
} member_t;

struct _monitor_group_t {
    member_t members [MONITOR_COORDINATORS_MAX];
    size_t size;
    monitor_view_t *merged;
};

monitor_group_t *
monitor_group_new (void)
{
    return (monitor_group_t *) calloc (1, sizeof (monitor_group_t));
}

void
monitor_group_destroy (monitor_group_t **self_p)
{
    assert (self_p);
    monitor_group_t *self = *self_p;
    if (self) {
        for (size_t i = 0; i < self->size; i++)
            monitor_view_destroy (&self->members [i].view);
        monitor_view_destroy (&self->merged);
        free (self);
        *self_p = NULL;
    }
}

int
monitor_group_add (monitor_group_t *self, const char *endpoint)
{
    assert (self && endpoint);
    if (self->size == MONITOR_COORDINATORS_MAX || strlen (endpoint) > CK_TEXT_MAX)
        return -1;
    for (size_t i = 0; i < self->size; i++)
        if (strcmp (self->members [i].endpoint, endpoint) == 0)
            return -1;
    member_t *member = &self->members [self->size];
    member->view = monitor_view_new ();
    if (!member->view)
        return -1;
    snprintf (member->endpoint, sizeof member->endpoint, "%s", endpoint);
    return (int) self->size++;
}

size_t
monitor_group_size (monitor_group_t *self)
{
    assert (self);
    return self->size;
}

monitor_view_t *
monitor_group_view (monitor_group_t *self, size_t index)
{
    assert (self && index < self->size);
    return self->members [index].view;
}

const char *
monitor_group_endpoint (monitor_group_t *self, size_t index)
{
    assert (self && index < self->size);
    return self->members [index].endpoint;
}

const char *
monitor_group_name (monitor_group_t *self, size_t index)
{
    assert (self && index < self->size);
    member_t *member = &self->members [index];
    const monitor_snapshot_t *snap = monitor_view_snapshot (member->view);
    const char *name = snap->have_stats && *snap->stats.coordinator?
                       snap->stats.coordinator: member->endpoint;
    //  the id comes from the wire: printable, no blank to split a line on
    size_t at = 0;
    for (; name [at] && at + 1 < sizeof member->name; at++) {
        unsigned char c = (unsigned char) name [at];
        member->name [at] = c > 0x20 && c < 0x7f? (char) c: '?';
    }
    member->name [at] = 0;
    return member->name;
}

bool
monitor_group_plural (monitor_group_t *self)
{
    assert (self);
    if (self->size > 1)
        return true;
    const monitor_snapshot_t *snap = self->size? monitor_view_snapshot (self->members [0].view):
                                                 NULL;
    return snap && snap->have_stats && snap->stats.partition_count > 0;
}

monitor_view_t *
monitor_group_merged (monitor_group_t *self)
{
    assert (self);
    monitor_view_destroy (&self->merged);
    self->merged = monitor_view_new ();
    assert (self->merged);
    //  several: a notice says whose it is
    for (size_t i = 0; i < self->size; i++)
        monitor_view_merge (self->merged, self->members [i].view,
                            self->size > 1? monitor_group_name (self, i): NULL);
    return self->merged;
}

//  -------------------------------------------------------------------------
//  Partitions

int
monitor_partitions_parse (const char *text, uint32_t count, uint8_t *owned)
{
    assert (text && owned);
    memset (owned, 0, count);
    int total = 0;
    const char *at = text;
    while (*at) {
        char *end;
        if (*at < '0' || *at > '9')
            return -1;
        unsigned long first = strtoul (at, &end, 10), last = first;
        if (*end == '-') {
            if (end [1] < '0' || end [1] > '9')
                return -1;
            last = strtoul (end + 1, &end, 10);
        }
        if (first > last || last >= count || (*end && *end != ',') || (*end && !end [1]))
            return -1;
        for (unsigned long p = first; p <= last; p++) {
            total += !owned [p];
            owned [p] = 1;
        }
        at = *end? end + 1: end;
    }
    return total;
}

void
monitor_partitions_format (const uint8_t *owned, uint32_t count, char *text, size_t size)
{
    assert (owned && text && size > 4);
    size_t used = 0;
    *text = 0;
    for (uint32_t p = 0; p < count; p++) {
        if (!owned [p])
            continue;
        uint32_t last = p;
        while (last + 1 < count && owned [last + 1])
            last++;
        char range [32];
        int length = last > p? snprintf (range, sizeof range, "%s%u-%u", used? ",": "", p, last):
                               snprintf (range, sizeof range, "%s%u", used? ",": "", p);
        //  keep room for ",..." so a cut list says it is cut
        if (used + (size_t) length + 5 > size) {
            snprintf (text + used, size - used, "%s", used? ",...": "...");
            return;
        }
        memcpy (text + used, range, (size_t) length + 1);
        used += (size_t) length;
        p = last;
    }
}

//  The partitions a connected coordinator reports, into owned; false when
//  it reports none or text that does not parse
static bool
s_owned (monitor_view_t *view, int64_t now_ms, uint32_t count, uint8_t *owned)
{
    const monitor_snapshot_t *snap = monitor_view_snapshot (view);
    if (monitor_view_status (view, now_ms) != MONITOR_CONNECTED
    ||  snap->stats.partition_count == 0)
        return false;
    return monitor_partitions_parse (snap->stats.partitions, count, owned) >= 0;
}

//  Only coordinators heard from lately count: a silent one's lease runs
//  out and another takes its partitions, which is no overlap
void
monitor_group_partitions (monitor_group_t *self, int64_t now_ms, monitor_partitions_t *summary)
{
    assert (self && summary);
    memset (summary, 0, sizeof *summary);
    for (size_t i = 0; i < self->size; i++) {
        monitor_view_t *view = self->members [i].view;
        uint32_t count = monitor_view_snapshot (view)->stats.partition_count;
        if (monitor_view_status (view, now_ms) != MONITOR_CONNECTED || count == 0)
            continue;
        summary->counts_differ = summary->counts_differ
                              || (summary->count && summary->count != count);
        summary->count = count > summary->count? count: summary->count;
    }
    if (summary->count == 0)
        return;
    uint32_t count = summary->count;
    uint8_t owned [MONITOR_COORDINATORS_MAX][CK_MAX_PARTITIONS];
    uint8_t any [CK_MAX_PARTITIONS] = { 0 };
    bool reports [MONITOR_COORDINATORS_MAX] = { false };
    for (size_t i = 0; i < self->size; i++) {
        reports [i] = s_owned (self->members [i].view, now_ms, count, owned [i]);
        summary->reporting += reports [i];
        for (uint32_t p = 0; reports [i] && p < count; p++)
            any [p] |= owned [i][p];
    }
    for (uint32_t p = 0; p < count; p++) {
        summary->owned += any [p];
        any [p] = !any [p];
    }
    summary->unowned = count - summary->owned;
    monitor_partitions_format (any, count, summary->unowned_ranges,
                               sizeof summary->unowned_ranges);
    for (size_t i = 0; i < self->size; i++)
        for (size_t j = i + 1; reports [i] && j < self->size; j++) {
            uint8_t both [CK_MAX_PARTITIONS];
            uint32_t shared = 0;
            for (uint32_t p = 0; p < count; p++)
                shared += both [p] = reports [j] && owned [i][p] && owned [j][p];
            if (shared == 0)
                continue;
            if (summary->overlap_count == MONITOR_OVERLAPS_MAX) {
                summary->overlaps_untold++;
                continue;
            }
            monitor_overlap_t *overlap = &summary->overlaps [summary->overlap_count++];
            overlap->first = i;
            overlap->second = j;
            overlap->count = shared;
            monitor_partitions_format (both, count, overlap->ranges, sizeof overlap->ranges);
        }
}

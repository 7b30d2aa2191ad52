/*  leases_pg.c - the partitions of a shared saga log this coordinator holds
    Lease rows on PostgreSQL, renewed on the server's clock (leases.h).

    Every time in these statements is the server's clock_timestamp (): the
    coordinators' clocks never decide whether a lease is live.  This side
    only keeps a conservative copy, held until the time of the request
    that renewed it plus the TTL, so that it stops serving a partition no
    later than the server lets another take it.
*/
#include <assert.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <czmq.h>
#include "checkout/protocol.h"
#include "lease_plan.h"
#include "leases.h"

//  Members silent this long are deleted (their rows only slow the read)
#define MEMBER_KEEP "interval '1 hour'"
#define TTL_PARAM "$2 * interval '1 millisecond'"

#define SQL_HEARTBEAT \
    "INSERT INTO saga_members (id, frontend, heartbeat_at) VALUES ($1, $2, clock_timestamp ())" \
    " ON CONFLICT (id) DO UPDATE SET frontend = excluded.frontend," \
    " heartbeat_at = excluded.heartbeat_at"
#define SQL_RENEW \
    "UPDATE saga_partitions SET expires_at = clock_timestamp () + " TTL_PARAM \
    " WHERE owner = $1 AND expires_at > clock_timestamp ()" \
    " AND (partition, epoch) IN (SELECT * FROM unnest ($3::integer[], $4::bigint[]))" \
    " RETURNING partition, epoch"
#define SQL_FORGET_MEMBERS \
    "DELETE FROM saga_members WHERE heartbeat_at < clock_timestamp () - " MEMBER_KEEP
#define SQL_MEMBERS \
    "SELECT id, (extract (epoch FROM heartbeat_at) * 1000)::bigint, frontend FROM saga_members"
#define SQL_ROWS \
    "SELECT partition, coalesce (owner, ''), epoch," \
    " (extract (epoch FROM expires_at) * 1000)::bigint," \
    " (extract (epoch FROM clock_timestamp ()) * 1000)::bigint" \
    " FROM saga_partitions ORDER BY partition"
//  A claim takes a free or expired row, or one this member's id still
//  holds (a restart under the same --instance): always a new epoch, which
//  fences out whoever wrote under the old one
#define SQL_CLAIM \
    "UPDATE saga_partitions SET owner = $1, epoch = epoch + 1," \
    " expires_at = clock_timestamp () + " TTL_PARAM \
    " WHERE partition = ANY ($3::integer[])" \
    " AND (owner IS NULL OR expires_at <= clock_timestamp () OR owner = $1)" \
    " RETURNING partition, epoch"
#define SQL_LEAVE "DELETE FROM saga_members WHERE id = $1"
#define SQL_RELEASE \
    "UPDATE saga_partitions SET owner = NULL, expires_at = clock_timestamp ()" \
    " WHERE owner = $1 AND partition = ANY ($2::integer[])"

typedef struct {
    int64_t epoch;                      //  0: not held
    int64_t until_ms;                   //  held until (monotonic), this side's view
    char owner [CK_TEXT_SIZE];          //  the live holder's frontend, or ""
} partition_t;

struct _leases_t {
    pg_t *pg;                           //  borrowed
    char instance [CK_ID_SIZE];
    char advertise [CK_TEXT_SIZE];
    uint32_t count;
    int64_t ttl_ms;
    partition_t *partitions;
    int64_t due_ms;
    uint32_t *gained, *lost;            //  since the last call
    size_t gained_count, lost_count;
    lease_row_t *rows;                  //  scratch for the plan
    lease_decision_t *decisions;
    char *array;                        //  scratch for array parameters
    char *epochs;
};

leases_t *
leases_new (pg_t *pg, const leases_member_t *member)
{
    assert (pg && member && member->instance && member->advertise);
    assert (member->partitions > 0 && member->partitions <= CK_MAX_PARTITIONS);
    leases_t *self = (leases_t *) zmalloc (sizeof (leases_t));
    self->pg = pg;
    snprintf (self->instance, sizeof self->instance, "%s", member->instance);
    snprintf (self->advertise, sizeof self->advertise, "%s", member->advertise);
    self->count = member->partitions;
    self->ttl_ms = member->ttl_ms? member->ttl_ms: LEASES_TTL_MS;
    self->partitions = (partition_t *) zmalloc (self->count * sizeof (partition_t));
    self->gained = (uint32_t *) zmalloc (self->count * sizeof (uint32_t));
    self->lost = (uint32_t *) zmalloc (self->count * sizeof (uint32_t));
    self->rows = (lease_row_t *) zmalloc (self->count * sizeof (lease_row_t));
    self->decisions = (lease_decision_t *) zmalloc (self->count * sizeof (lease_decision_t));
    //  "{" + up to count numbers of 20 digits and commas + "}"
    self->array = (char *) zmalloc (self->count * 22 + 3);
    self->epochs = (char *) zmalloc (self->count * 22 + 3);
    return self;
}

void
leases_destroy (leases_t **self_p)
{
    assert (self_p);
    leases_t *self = *self_p;
    if (!self)
        return;
    free (self->partitions);
    free (self->gained);
    free (self->lost);
    free (self->rows);
    free (self->decisions);
    free (self->array);
    free (self->epochs);
    free (self);
    *self_p = NULL;
}

static void
s_lose (leases_t *self, uint32_t partition)
{
    if (self->partitions [partition].epoch == 0)
        return;
    self->partitions [partition].epoch = 0;
    self->lost [self->lost_count++] = partition;
}

static void
s_gain (leases_t *self, uint32_t partition, int64_t epoch, int64_t until_ms)
{
    partition_t *held = &self->partitions [partition];
    if (held->epoch == 0)
        self->gained [self->gained_count++] = partition;
    held->epoch = epoch;
    held->until_ms = until_ms;
    snprintf (held->owner, sizeof held->owner, "%s", self->advertise);
}

//  "{a,b,c}" of the partitions whose decision is wanted (all held ones when
//  wanted is LEASE_NONE), with their epochs into self->epochs; how many
static size_t
s_arrays (leases_t *self, lease_decision_t wanted)
{
    size_t at = 0, epochs_at = 0, count = 0;
    self->array [at++] = '{';
    self->epochs [epochs_at++] = '{';
    for (uint32_t partition = 0; partition < self->count; partition++) {
        bool chosen = wanted == LEASE_NONE? self->partitions [partition].epoch != 0
                    : self->decisions [partition] == wanted;
        if (!chosen)
            continue;
        at += (size_t) sprintf (self->array + at, "%s%u", count? ",": "", partition);
        epochs_at += (size_t) sprintf (self->epochs + epochs_at, "%s%" PRId64, count? ",": "",
                                       self->partitions [partition].epoch);
        count++;
    }
    memcpy (self->array + at, "}", 2);
    memcpy (self->epochs + epochs_at, "}", 2);
    return count;
}

//  The renewal's answer: what it returned stays held, what it did not was
//  lost (expired, or taken under a new epoch)
static void
s_renewed (leases_t *self, PGresult *renewed, int64_t until_ms)
{
    bool *kept = (bool *) calloc (self->count, sizeof (bool));
    assert (kept);
    for (int row = 0; row < PQntuples (renewed); row++) {
        long partition = strtol (PQgetvalue (renewed, row, 0), NULL, 10);
        if (partition >= 0 && (uint32_t) partition < self->count) {
            kept [partition] = true;
            self->partitions [partition].until_ms = until_ms;
        }
    }
    for (uint32_t partition = 0; partition < self->count; partition++)
        if (!kept [partition])
            s_lose (self, partition);
    free (kept);
}

//  Reads the members and rows, notes each live holder's frontend, and plans
static void
s_plan (leases_t *self, PGresult *members, PGresult *rows)
{
    int member_count = PQntuples (members);
    lease_member_t *list = (lease_member_t *) calloc ((size_t) member_count + 1,
                                                     sizeof (lease_member_t));
    assert (list);
    for (int row = 0; row < member_count; row++)
        list [row] = (lease_member_t) { PQgetvalue (members, row, 0),
                                        strtoll (PQgetvalue (members, row, 1), NULL, 10) };
    int64_t now_ms = 0;
    for (uint32_t partition = 0; partition < self->count; partition++)
        self->rows [partition] = (lease_row_t) { NULL, 0, 0 };
    for (int row = 0; row < PQntuples (rows); row++) {
        long partition = strtol (PQgetvalue (rows, row, 0), NULL, 10);
        now_ms = strtoll (PQgetvalue (rows, row, 4), NULL, 10);
        if (partition < 0 || (uint32_t) partition >= self->count)
            continue;
        lease_row_t *lease = &self->rows [partition];
        *lease = (lease_row_t) { PQgetvalue (rows, row, 1),
                                 strtoll (PQgetvalue (rows, row, 2), NULL, 10),
                                 strtoll (PQgetvalue (rows, row, 3), NULL, 10) };
        partition_t *known = &self->partitions [partition];
        known->owner [0] = 0;
        if (*lease->owner && lease->expires_ms > now_ms)
            for (int member = 0; member < member_count; member++)
                if (streq (lease->owner, PQgetvalue (members, member, 0)))
                    snprintf (known->owner, sizeof known->owner, "%s",
                              PQgetvalue (members, member, 2));
    }
    lease_plan (self->instance, list, (size_t) member_count, self->ttl_ms, self->rows,
                self->count, now_ms, self->decisions);
    //  a row the plan keeps but this side does not hold (forgotten, or a
    //  restart under the same id) is claimed again, under a new epoch
    for (uint32_t partition = 0; partition < self->count; partition++)
        if (self->decisions [partition] == LEASE_KEEP && self->partitions [partition].epoch == 0)
            self->decisions [partition] = LEASE_CLAIM;
    free (list);
}

//  Round trip 1: heartbeat, renewal, members, rows.  0 or -1.
static int
s_read (leases_t *self)
{
    char ttl [24];
    pg_int (ttl, self->ttl_ms);
    s_arrays (self, LEASE_NONE);
    pg_statement_t statements [] = {
        { .sql = SQL_HEARTBEAT, .count = 2, .values = { self->instance, self->advertise } },
        { .sql = SQL_RENEW, .count = 4, .values = { self->instance, ttl, self->array, self->epochs } },
        { .sql = SQL_FORGET_MEMBERS, .count = 0, .values = { NULL } },
        { .sql = SQL_MEMBERS, .count = 0, .values = { NULL } },
        { .sql = SQL_ROWS, .count = 0, .values = { NULL } },
    };
    PGresult *results [5] = { NULL };
    int64_t sent_ms = zclock_mono ();
    if (pg_batch_results (self->pg, statements, 5, results, "leases"))
        return -1;
    s_renewed (self, results [1], sent_ms + self->ttl_ms);
    s_plan (self, results [3], results [4]);
    for (int index = 0; index < 5; index++)
        PQclear (results [index]);
    return 0;
}

//  Round trip 2, when the plan changes something: releases, then claims.
//  0 or -1.
static int
s_change (leases_t *self)
{
    char ttl [24];
    pg_int (ttl, self->ttl_ms);
    size_t releases = s_arrays (self, LEASE_RELEASE);
    char *released = strdup (self->array);
    //  released partitions are given up here first: nothing of theirs is
    //  written after this (the caller drops their sagas)
    for (uint32_t partition = 0; partition < self->count; partition++)
        if (self->decisions [partition] == LEASE_RELEASE
        ||  self->decisions [partition] == LEASE_LOST)
            s_lose (self, partition);
    size_t claims = s_arrays (self, LEASE_CLAIM);
    if (releases + claims == 0) {
        free (released);
        return 0;
    }
    pg_statement_t statements [] = {
        { .sql = SQL_RELEASE, .count = 2, .values = { self->instance, released } },
        { .sql = SQL_CLAIM, .count = 3, .values = { self->instance, ttl, self->array } },
    };
    PGresult *results [2] = { NULL };
    int64_t sent_ms = zclock_mono ();
    int rc = pg_batch_results (self->pg, statements, 2, results, "leases");
    free (released);
    if (rc)
        return -1;
    for (int row = 0; row < PQntuples (results [1]); row++) {
        long partition = strtol (PQgetvalue (results [1], row, 0), NULL, 10);
        if (partition >= 0 && (uint32_t) partition < self->count)
            s_gain (self, (uint32_t) partition, strtoll (PQgetvalue (results [1], row, 1),
                    NULL, 10), sent_ms + self->ttl_ms);
    }
    PQclear (results [0]);
    PQclear (results [1]);
    return 0;
}

int
leases_renew (leases_t *self)
{
    assert (self);
    self->gained_count = self->lost_count = 0;
    self->due_ms = zclock_mono () + LEASES_RENEW_MS;
    int rc = pg_ready (self->pg) || s_read (self) || s_change (self)? -1: 0;
    //  without an answer, what ran out on this side's clock is lost
    int64_t now_ms = zclock_mono ();
    for (uint32_t partition = 0; partition < self->count; partition++)
        if (self->partitions [partition].epoch && self->partitions [partition].until_ms <= now_ms)
            s_lose (self, partition);
    if (rc)
        self->due_ms = zclock_mono () + LEASES_RENEW_MS / 4;
    return rc;
}

const uint32_t *
leases_gained (leases_t *self, size_t *count)
{
    assert (self && count);
    *count = self->gained_count;
    return self->gained;
}

const uint32_t *
leases_lost (leases_t *self, size_t *count)
{
    assert (self && count);
    *count = self->lost_count;
    return self->lost;
}

void
leases_forget (leases_t *self, uint32_t partition)
{
    assert (self && partition < self->count);
    self->partitions [partition].epoch = 0;
    self->due_ms = 0;
}

//  The member leaves: its partitions free and its row gone in one
//  transaction, so that the others plan without it at their next renewal
void
leases_release_all (leases_t *self)
{
    assert (self);
    for (uint32_t partition = 0; partition < self->count; partition++)
        self->decisions [partition] = self->partitions [partition].epoch? LEASE_RELEASE
                                                                          : LEASE_NONE;
    self->gained_count = self->lost_count = 0;
    s_arrays (self, LEASE_RELEASE);
    for (uint32_t partition = 0; partition < self->count; partition++)
        s_lose (self, partition);
    pg_statement_t statements [] = {
        { .sql = SQL_RELEASE, .count = 2, .values = { self->instance, self->array } },
        { .sql = SQL_LEAVE, .count = 1, .values = { self->instance } },
    };
    if (pg_ready (self->pg) == 0)
        pg_batch (self->pg, statements, 2, "leases");
}

bool
leases_held (leases_t *self, uint32_t partition)
{
    assert (self && partition < self->count);
    partition_t *held = &self->partitions [partition];
    return held->epoch != 0 && held->until_ms > zclock_mono ();
}

int64_t
leases_epoch (leases_t *self, uint32_t partition)
{
    assert (self && partition < self->count);
    return self->partitions [partition].epoch;
}

const char *
leases_owner (leases_t *self, uint32_t partition)
{
    assert (self && partition < self->count);
    //  never this coordinator itself: a client sent back here would loop
    const char *owner = self->partitions [partition].owner;
    return streq (owner, self->advertise) && !leases_held (self, partition)? "": owner;
}

uint32_t
leases_count (leases_t *self)
{
    assert (self);
    return self->count;
}

const char *
leases_instance (leases_t *self)
{
    assert (self);
    return self->instance;
}

int64_t
leases_due (leases_t *self)
{
    assert (self);
    return self->due_ms;
}

uint32_t
leases_ranges (leases_t *self, char *text, size_t size)
{
    assert (self && text);
    bool *held = (bool *) calloc (self->count, sizeof (bool));
    assert (held);
    for (uint32_t partition = 0; partition < self->count; partition++)
        held [partition] = leases_held (self, partition);
    uint32_t total = lease_plan_ranges (held, self->count, text, size);
    free (held);
    return total;
}

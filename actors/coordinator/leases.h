/*  leases.h - the partitions of a shared saga log this coordinator holds
    Heartbeat, renewal, claims and releases on PostgreSQL; epochs for fencing.

    Several coordinators share one saga log on PostgreSQL (docs/coordinators.md).
    A checkout belongs to partition ck_partition_of (checkout_id, count); a
    partition is held by one coordinator at a time through a lease row
    (owner, epoch, expires_at) that the server's clock expires.  leases_renew
    runs between loop turns, about every LEASES_RENEW_MS: one round trip
    writes this member's heartbeat, renews what it holds and reads every
    row; lease_plan decides; a second round trip, only when the plan
    changes something, claims and releases.  The saga log fences every
    commit with the epochs held here (saga_log_pg.c).
*/
#ifndef LEASES_H_INCLUDED
#define LEASES_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "pg.h"

#ifdef __cplusplus
extern "C" {
#endif

#define LEASES_TTL_MS   3000            //  a lease lives this long unless renewed
#define LEASES_RENEW_MS 1000            //  and is renewed about this often

typedef struct _leases_t leases_t;

//  Who this coordinator is among those sharing the log
typedef struct {
    const char *instance;               //  its id (an id, docs/protocol.md#limits)
    const char *advertise;              //  its frontend, where clients are sent
    uint32_t partitions;                //  how many the log has
    uint32_t ttl_ms;                    //  0: LEASES_TTL_MS
} leases_member_t;

//  Holds nothing yet; pg is borrowed (the saga log's connection).  Returns
//  a new object owned by the caller.
leases_t *leases_new (pg_t *pg, const leases_member_t *member);

//  Destroys it; safe on NULL, nulls the pointer.  Releases nothing: the
//  leases expire (a stopping coordinator calls leases_release_all first).
void leases_destroy (leases_t **self_p);

//  The round trips (heartbeat, renewal, plan, claims, releases).  Returns
//  0, or -1 after logging (what this coordinator held stays held until its
//  lease runs out on this side's clock).  Then leases_gained and
//  leases_lost list what changed since the last call.
int leases_renew (leases_t *self);

//  The partitions gained and lost by the last leases_renew, into *count;
//  borrowed until the next call.
const uint32_t *leases_gained (leases_t *self, size_t *count);
const uint32_t *leases_lost (leases_t *self, size_t *count);

//  Forgets that partition is held: the next leases_renew claims it again,
//  under a new epoch, and lists it as gained (a coordinator whose commit
//  failed reloads the partition's sagas this way; it drops them first).
//  Makes the renewal due at once.
void leases_forget (leases_t *self, uint32_t partition);

//  Gives up every partition held and leaves (a coordinator stopping
//  cleanly), so that the others take them at their next renewal rather
//  than after the TTL.  Logs a failure; can't fail otherwise.
void leases_release_all (leases_t *self);

//  True while partition is held and its lease has not run out on this
//  side's clock (the server's verdict comes with the commit's fence).
bool leases_held (leases_t *self, uint32_t partition);

//  The epoch under which partition is held, 0 when it is not.
int64_t leases_epoch (leases_t *self, uint32_t partition);

//  The advertised frontend of the coordinator holding partition when its
//  lease was live at the last read, else "" (borrowed).
const char *leases_owner (leases_t *self, uint32_t partition);

uint32_t leases_count (leases_t *self);
const char *leases_instance (leases_t *self);

//  When the next renewal is due (monotonic ms).
int64_t leases_due (leases_t *self);

//  The partitions held, as ranges "0-20,42" (lease_plan_ranges); how many.
uint32_t leases_ranges (leases_t *self, char *text, size_t size);

#ifdef __cplusplus
}
#endif

#endif

/*  monitor_view.h - the monitor's view model of the coordinator's events
    Folds decoded events (docs/protocol.md#events) into a snapshot; no sockets, injected clock.

    Totals, latency and workers come from the last `stats` event (counters
    since the coordinator started); failures by reason, stuck sagas and
    recent socket/worker events are what this monitor saw since it started.
    Everything is bounded: the lists keep a fixed number of entries.
*/
#ifndef MONITOR_VIEW_H_INCLUDED
#define MONITOR_VIEW_H_INCLUDED

#include <stdbool.h>
#include <stdint.h>
#include "checkout/protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

#define MONITOR_SILENT_MS   3000        //  no stats for longer: coordinator down?
#define MONITOR_NOTICE_MS   10000       //  how long a notice stays in the view
#define MONITOR_REASONS_MAX 32          //  distinct failure codes; more go to "other"
#define MONITOR_STUCK_MAX   64          //  stuck saga ids kept
#define MONITOR_RECENT_MAX  8           //  recent socket and worker events kept
#define MONITOR_TOPIC_SIZE  (CK_NAME_SIZE + 8)
#define MONITOR_DETAIL_SIZE (CK_TEXT_SIZE + CK_NAME_SIZE + 16)
#define MONITOR_NOTICE_SIZE 160         //  with a coordinator's name before it

typedef enum {
    MONITOR_WAITING,                    //  no stats yet
    MONITOR_CONNECTED,                  //  stats within MONITOR_SILENT_MS
    MONITOR_SILENT                      //  stats stopped: coordinator down?
} monitor_status_t;

typedef struct {
    char code [CK_ID_SIZE];             //  reason.code, "none" or "other"
    uint64_t count;
} monitor_reason_t;

//  A socket.* or worker.* event, newest last
typedef struct {
    int64_t at_ms;                      //  on the injected clock
    char topic [MONITOR_TOPIC_SIZE];    //  "socket.disconnected", "worker.lost"
    char detail [MONITOR_DETAIL_SIZE];  //  "backend tcp://..." or "payment pay-1"
} monitor_recent_t;

typedef struct {
    uint32_t instances;
    uint64_t load;
    uint64_t capacity;
} monitor_service_t;

//  The snapshot, read-only for callers
typedef struct {
    //  from the last stats event
    bool have_stats;
    ck_ev_stats_t stats;
    int64_t stats_ms;                   //  when it arrived
    monitor_service_t services [CK_SERVICE_MAX];
    bool have_rate;
    double sagas_per_s;                 //  ended (confirmed + failed) per second
    double started_per_s;
    //  coordinator restarts and returns after silence
    uint64_t restarts;                  //  uptime_ms went down
    char notice [MONITOR_NOTICE_SIZE];  //  "coordinator back (uptime 2.1 s)"
    int64_t notice_ms;
    uint64_t notice_seq;                //  grows with each new notice
    //  seen by this monitor
    uint64_t events;                    //  well-formed events folded
    uint64_t by_kind [CK_EVENT_COUNT];
    uint64_t malformed;
    char malformed_last [CK_TEXT_SIZE];
    monitor_reason_t reasons [MONITOR_REASONS_MAX];
    uint32_t reason_count;
    char stuck [MONITOR_STUCK_MAX][CK_ID_SIZE];
    uint32_t stuck_count;
    uint64_t stuck_untracked;           //  stuck ids past MONITOR_STUCK_MAX
    monitor_recent_t recent [MONITOR_RECENT_MAX];
    uint32_t recent_count;
    uint32_t recent_next;               //  ring slot of the next entry
} monitor_snapshot_t;

typedef struct _monitor_view_t monitor_view_t;

//  Creates an empty view; NULL only when out of memory.
monitor_view_t *monitor_view_new (void);

//  Destroys the view; safe on NULL, nulls the pointer.
void monitor_view_destroy (monitor_view_t **self_p);

//  Decodes one event (topic frame, body frame) and folds it in.  Returns
//  the event's kind, or CK_EVENT_NONE when the topic is unknown or the
//  body does not decode (counted as malformed).
ck_event_kind_t monitor_view_apply (monitor_view_t *self, const char *topic, size_t topic_size,
                                    const void *body, size_t body_size, int64_t now_ms);

//  Counts an event that could not even be split into topic and body.
void monitor_view_malformed (monitor_view_t *self, const char *why);

//  Typed folds, for callers (and tests) that already decoded the event.
void monitor_view_on_stats (monitor_view_t *self, const ck_ev_stats_t *stats, int64_t now_ms);
void monitor_view_on_outcome (monitor_view_t *self, ck_event_kind_t kind, const ck_ev_outcome_t *event);
void monitor_view_on_worker (monitor_view_t *self, ck_event_kind_t kind, const ck_ev_worker_t *event,
                             int64_t now_ms);
void monitor_view_on_socket (monitor_view_t *self, const char *topic, const ck_ev_socket_t *event,
                             int64_t now_ms);

//  The snapshot; borrowed, valid until the next fold.
const monitor_snapshot_t *monitor_view_snapshot (monitor_view_t *self);

//  Whether the coordinator is heard from at now_ms.  Can't fail.
monitor_status_t monitor_view_status (monitor_view_t *self, int64_t now_ms);

//  Failures seen with this reason code (0 when none).  Can't fail.
uint64_t monitor_view_failed_by (monitor_view_t *self, const char *code);

//  True while saga_id is stuck (seen stuck, not since confirmed/failed).
bool monitor_view_is_stuck (monitor_view_t *self, const char *saga_id);

//  The index-th recent event, 0 the oldest kept; NULL past the end.
const monitor_recent_t *monitor_view_recent (monitor_view_t *self, uint32_t index);

//  Adds what other shows into self, to show several coordinators as one:
//  counters and rates summed, a worker seen by several coordinators once
//  (its loads summed), the oldest stats' time (so one silent coordinator
//  shows), the worst latency, the newest notice (after "name: " when name
//  is not NULL), and the lists merged within their bounds.  Can't fail.
void monitor_view_merge (monitor_view_t *self, monitor_view_t *other, const char *name);

#ifdef __cplusplus
}
#endif

#endif

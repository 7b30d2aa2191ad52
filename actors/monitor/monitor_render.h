/*  monitor_render.h - how the monitor shows its view
    The snapshot as "key: value" lines or one JSON object; events as JSON lines.

    The text form is for people and for scripts alike: one fact per line,
    the key before ": ", e.g. "confirmed: 184", "failed.card_declined: 3".
    docs/monitor.md lists every key.
*/
#ifndef MONITOR_RENDER_H_INCLUDED
#define MONITOR_RENDER_H_INCLUDED

#include <stdint.h>
#include <stdio.h>
#include "checkout/codec.h"
#include "monitor_group.h"
#include "monitor_view.h"

#ifdef __cplusplus
extern "C" {
#endif

//  Stuck saga ids listed in the text form; the JSON form lists all kept
#define MONITOR_TEXT_STUCK_MAX  8

//  Writes the view as of now_ms as "key: value" lines.  Can't fail (write
//  errors on out are the caller's to see with ferror).
void monitor_render_text (monitor_view_t *view, int64_t now_ms, FILE *out);

//  Writes the view as of now_ms as one JSON object and a newline.  Can't fail.
void monitor_render_json (monitor_view_t *view, int64_t now_ms, FILE *out);

//  Writes one event as a JSON line {"topic": ..., "body": ...}, after
//  "from": source (the endpoint it came by) when not NULL; a body that is not
//  msgpack gives "body": null and "malformed": true.  scratch is a
//  reusable buffer.  Can't fail.
void monitor_render_event (const char *source, const char *topic, size_t topic_size,
                           const void *body, size_t body_size, ck_buf_t *scratch, FILE *out);

//  Writes what the group shows at now_ms as "key: value" lines.  One
//  coordinator that reports no partitions shows as monitor_render_text;
//  otherwise a line per coordinator and its partitions, the partitions'
//  summary and warnings (unowned, claimed twice), then every coordinator's
//  view merged (monitor_view_merge).  Can't fail.
void monitor_render_group_text (monitor_group_t *group, int64_t now_ms, FILE *out);

//  The same as one JSON object and a newline: with several coordinators
//  (or partitions) "coordinators", "partitions" and "warnings" come first,
//  then the merged view's keys.  Can't fail.
void monitor_render_group_json (monitor_group_t *group, int64_t now_ms, FILE *out);

//  The coordinator's status as one line of text (no newline), e.g.
//  "connected" or "no stats for 5 s: coordinator down?".  Can't fail.
void monitor_render_status (monitor_view_t *view, int64_t now_ms, char *text, size_t size);

#ifdef __cplusplus
}
#endif

#endif

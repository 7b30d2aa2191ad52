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

//  Writes one event as a JSON line {"topic": ..., "body": ...}; a body that
//  is not msgpack gives "body": null and "malformed": true.  scratch is a
//  reusable buffer.  Can't fail.
void monitor_render_event (const char *topic, size_t topic_size, const void *body,
                           size_t body_size, ck_buf_t *scratch, FILE *out);

//  The coordinator's status as one line of text (no newline), e.g.
//  "connected" or "no stats for 5 s: coordinator down?".  Can't fail.
void monitor_render_status (monitor_view_t *view, int64_t now_ms, char *text, size_t size);

#ifdef __cplusplus
}
#endif

#endif

/*  fuzz_frame.c - libFuzzer harness for frame parsing, then body decoding
    Splits the input into frames, parses them every way a socket can, decodes any body.

    Input layout: byte 0 holds the frame count (low 3 bits) and, in bit 7,
    a request for one extra frame of CK_MAX_BODY + 1 bytes at the end; then
    each frame is a 2-byte big-endian length and that many bytes (cut short
    where the input ends).  tools/make_fuzz_seeds.c writes seeds this way.
*/
#include <czmq.h>
#include "frame.h"
#include "../codec_samples.h"

static void
s_broken (const char *what, ck_proto_t proto, bool routed)
{
    fprintf (stderr, "fuzz_frame: %s (proto %s, %s)\n", what,
             proto == CK_PROTO_CLIENT? "client": "worker", routed? "routed": "not routed");
    abort ();
}

//  Builds the message the input describes
static zmsg_t *
s_message (const uint8_t *data, size_t size)
{
    zmsg_t *msg = zmsg_new ();
    if (size == 0)
        return msg;
    size_t count = data [0] & 0x07;
    bool oversized = (data [0] & 0x80) != 0;
    size_t pos = 1;
    for (size_t i = 0; i < count; i++) {
        size_t len = 0;
        if (pos + 2 <= size) {
            len = (size_t) data [pos] << 8 | data [pos + 1];
            pos += 2;
        }
        if (len > size - pos)
            len = size - pos;
        zmsg_addmem (msg, data + pos, len);
        pos += len;
    }
    if (oversized) {
        zframe_t *big = zframe_new (NULL, CK_MAX_BODY + 1);
        memset (zframe_data (big), 0x80, CK_MAX_BODY + 1);
        zmsg_append (msg, &big);
    }
    return msg;
}

//  True when [p, p + n) lies inside one frame of msg
static bool
s_inside (zmsg_t *msg, const uint8_t *p, size_t n)
{
    for (zframe_t *frame = zmsg_first (msg); frame; frame = zmsg_next (msg)) {
        const uint8_t *start = zframe_data (frame);
        if (p >= start && p + n <= start + zframe_size (frame))
            return true;
    }
    return false;
}

static void
s_check_body (const ck_frame_t *frame, ck_proto_t proto, bool routed)
{
    static ck_sample_any_t decoded, again;
    ck_sample_kind_t kind = ck_sample_kind_of_command (frame->command);
    if (kind == CK_SAMPLE_KIND_COUNT)
        return;
    const ck_sample_codec_t *codec = ck_sample_codec (kind);
    ck_decode_error_t err;
    if (codec->decode (frame->body, frame->body_size, &decoded, &err)) {
        if (err.code == CK_TOO_LARGE)
            s_broken ("the framing let a body over 64 KiB through", proto, routed);
        return;
    }
    ck_buf_t buf;
    ck_buf_init (&buf);
    const char *broken = ck_sample_recheck (kind, &decoded, &buf, &again);
    if (broken)
        s_broken (broken, proto, routed);
    ck_buf_free (&buf);
}

static void
s_parse (zmsg_t *msg, ck_proto_t proto, bool routed)
{
    ck_frame_t frame;
    ck_decode_error_t err;
    int rc = ck_frame_parse (msg, proto, routed, &frame, &err);
    zframe_t *first = zmsg_first (msg);
    if (routed && first && frame.routing_id != zframe_data (first))
        s_broken ("the routing id is not the first frame", proto, routed);
    if (rc != 0) {
        if (err.code != CK_BAD_FRAME && err.code != CK_TOO_LARGE)
            s_broken ("a parse error with a code other than bad_frame or too_large", proto, routed);
        if (!memchr (err.message, 0, sizeof err.message) || err.message [0] == 0)
            s_broken ("a parse error without a message", proto, routed);
        if (frame.body)
            s_broken ("a body pointer after a parse error", proto, routed);
        return;
    }
    if (frame.command <= CK_CMD_NONE || frame.command >= CK_CMD_COUNT)
        s_broken ("a command out of range", proto, routed);
    if (ck_command_has_body (frame.command) != (frame.body != NULL))
        s_broken ("a body present or absent against the command", proto, routed);
    if (frame.body && (frame.body_size > CK_MAX_BODY
                   ||  !s_inside (msg, frame.body, frame.body_size)))
        s_broken ("a body outside the message or over 64 KiB", proto, routed);
    if (frame.body)
        s_check_body (&frame, proto, routed);
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    zmsg_t *msg = s_message (data, size);
    const ck_proto_t protos [] = { CK_PROTO_CLIENT, CK_PROTO_WORKER };
    for (int p = 0; p < 2; p++) {
        s_parse (msg, protos [p], true);
        s_parse (msg, protos [p], false);
    }
    zmsg_destroy (&msg);
    return 0;
}

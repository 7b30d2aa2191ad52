/*  fuzz_frame.c - libFuzzer harness for frame parsing, then body decoding
    Splits the input into frames, parses them every way a socket can, decodes any body.

    Input layout: the multipart layout of fuzz_support.h.
*/
#include <czmq.h>
#include "frame.h"
#include "fuzz_support.h"
#include "../codec_samples.h"

static void
s_broken (const char *what, ck_proto_t proto, bool routed)
{
    fprintf (stderr, "fuzz_frame: %s (proto %s, %s)\n", what,
             proto == CK_PROTO_CLIENT? "client": "worker", routed? "routed": "not routed");
    abort ();
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
    zmsg_t *msg = zmsg_new ();
    fuzz_frames_add (msg, data, size);
    const ck_proto_t protos [] = { CK_PROTO_CLIENT, CK_PROTO_WORKER };
    for (int p = 0; p < 2; p++) {
        s_parse (msg, protos [p], true);
        s_parse (msg, protos [p], false);
    }
    zmsg_destroy (&msg);
    return 0;
}

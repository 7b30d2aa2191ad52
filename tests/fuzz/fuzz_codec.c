/*  fuzz_codec.c - libFuzzer harness for every body decoder of the codec
    Checks that no input crashes a decoder, and that what decodes survives a round trip.

    The input is one body.  Every decoder runs on it; a decoder that accepts
    it must give a struct that encodes, and whose encoding decodes to an
    equal struct.  A failure must carry one of the decoders' error codes and
    a message.  ck_body_to_json must render any body a decoder accepted.
*/
#include <stdio.h>
#include <stdlib.h>
#include "../codec_samples.h"

//  Reports a broken property and aborts, which libFuzzer records as a crash
static void
s_broken (const char *what, size_t size)
{
    fprintf (stderr, "fuzz_codec: %s (input of %zu bytes)\n", what, size);
    abort ();
}

//  A decoder's failure must say why, with a decoder's error code
static void
s_check_failure (const ck_sample_codec_t *codec, const ck_decode_error_t *err, size_t size)
{
    bool known = err->code == CK_BAD_REQUEST || err->code == CK_AMOUNT_MISMATCH
              || err->code == CK_UNSUPPORTED_VERSION || err->code == CK_TOO_LARGE;
    if (!known) {
        char what [64];
        snprintf (what, sizeof what, "%s: error code %d is not a decoder's", codec->name,
                  (int) err->code);
        s_broken (what, size);
    }
    if (!memchr (err->message, 0, sizeof err->message) || err->message [0] == 0)
        s_broken ("a failure without a message", size);
    if ((err->code == CK_TOO_LARGE) != (size > CK_MAX_BODY))
        s_broken ("too_large does not match the size", size);
}

//  True when a JSON line is UTF-8 without raw control characters: what a
//  log reader or a JSON parser can take whatever the body held
static bool
s_json_clean (const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *) s;
    size_t i = 0;
    while (i < len) {
        unsigned char c = p [i];
        size_t extra = c < 0x80? 0: (c & 0xe0) == 0xc0? 1: (c & 0xf0) == 0xe0? 2:
                       (c & 0xf8) == 0xf0? 3: 4;
        if (c < 0x20 || extra == 4 || (extra && i + extra >= len))
            return false;
        for (size_t k = 1; k <= extra; k++)
            if ((p [i + k] & 0xc0) != 0x80)
                return false;
        i += extra + 1;
    }
    return true;
}

int
LLVMFuzzerTestOneInput (const uint8_t *data, size_t size)
{
    //  Static: the structs are large, and the fuzzer runs one input at a time
    static ck_sample_any_t decoded, again;
    ck_buf_t buf;
    ck_buf_init (&buf);
    bool accepted = false;
    for (int kind = 0; kind < CK_SAMPLE_KIND_COUNT; kind++) {
        const ck_sample_codec_t *codec = ck_sample_codec ((ck_sample_kind_t) kind);
        ck_decode_error_t err;
        if (codec->decode (data, size, &decoded, &err)) {
            s_check_failure (codec, &err, size);
            continue;
        }
        accepted = true;
        const char *broken = ck_sample_recheck ((ck_sample_kind_t) kind, &decoded, &buf, &again);
        if (broken)
            s_broken (broken, size);
    }
    int rc = ck_body_to_json (data, size, &buf);
    if (accepted && (rc != 0 || buf.size < 2 || buf.data [0] != '{'
                 ||  buf.data [buf.size - 1] != '}'))
        s_broken ("a body a decoder accepted does not render as a JSON object", size);
    if (rc == 0 && !s_json_clean (buf.data, buf.size))
        s_broken ("the JSON line holds control characters or bytes that are not UTF-8", size);
    ck_buf_free (&buf);
    return 0;
}

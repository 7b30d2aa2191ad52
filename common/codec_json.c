/*  codec_json.c - renders any msgpack body as one line of JSON
    For logs, the monitor's --json and the CLI's --json output.
*/
#include <msgpack.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include "codec_schema.h"

static void
s_put (ck_buf_t *out, const char *bytes, size_t len)
{
    if (out->size + len + 1 > out->capacity) {
        size_t capacity = out->capacity? out->capacity: 256;
        while (capacity < out->size + len + 1)
            capacity *= 2;
        char *grown = (char *) realloc (out->data, capacity);
        if (!grown)
            abort ();               //  out of memory: nothing sensible to do
        out->data = grown;
        out->capacity = capacity;
    }
    memcpy (out->data + out->size, bytes, len);
    out->size += len;
    out->data [out->size] = 0;      //  always a C string, too
}

static void
s_putf (ck_buf_t *out, const char *format, ...) __attribute__ ((format (printf, 2, 3)));

static void
s_putf (ck_buf_t *out, const char *format, ...)
{
    char text [64];
    va_list args;
    va_start (args, format);
    int n = vsnprintf (text, sizeof text, format, args);
    va_end (args);
    s_put (out, text, n > 0? (size_t) n: 0);
}

//  A JSON string.  Well-formed UTF-8 passes as it is; control characters
//  are escaped and any byte that is not UTF-8 becomes U+FFFD, so the line
//  stays valid JSON whatever the peer sent.
static void
s_put_string (ck_buf_t *out, const char *s, size_t len)
{
    s_put (out, "\"", 1);
    size_t i = 0;
    while (i < len) {
        unsigned char c = (unsigned char) s [i];
        size_t n = c? codec_utf8_char (s + i, len - i): 0;
        if (c == '"' || c == '\\') {
            char escaped [2] = { '\\', (char) c };
            s_put (out, escaped, 2);
        }
        else
        if (n == 0)
            s_put (out, c? "\\ufffd": "\\u0000", 6);
        else
        if (c < 0x20 || c == 0x7f)
            s_putf (out, "\\u%04x", c);
        else
            s_put (out, s + i, n);
        i += n? n: 1;
    }
    s_put (out, "\"", 1);
}

static void
s_put_object (ck_buf_t *out, const msgpack_object *obj)
{
    switch (obj->type) {
        case MSGPACK_OBJECT_NIL:
        case MSGPACK_OBJECT_EXT:
            s_put (out, "null", 4);
            break;
        case MSGPACK_OBJECT_BOOLEAN:
            s_put (out, obj->via.boolean? "true": "false", obj->via.boolean? 4: 5);
            break;
        case MSGPACK_OBJECT_POSITIVE_INTEGER:
            s_putf (out, "%llu", (unsigned long long) obj->via.u64);
            break;
        case MSGPACK_OBJECT_NEGATIVE_INTEGER:
            s_putf (out, "%lld", (long long) obj->via.i64);
            break;
        case MSGPACK_OBJECT_FLOAT32:
        case MSGPACK_OBJECT_FLOAT64:
            if (isfinite (obj->via.f64))
                s_putf (out, "%.17g", obj->via.f64);
            else
                s_put (out, "null", 4);
            break;
        case MSGPACK_OBJECT_STR:
            s_put_string (out, obj->via.str.ptr, obj->via.str.size);
            break;
        case MSGPACK_OBJECT_BIN:
            s_put (out, "\"", 1);
            for (uint32_t i = 0; i < obj->via.bin.size; i++)
                s_putf (out, "%02x", (unsigned char) obj->via.bin.ptr [i]);
            s_put (out, "\"", 1);
            break;
        case MSGPACK_OBJECT_ARRAY:
            s_put (out, "[", 1);
            for (uint32_t i = 0; i < obj->via.array.size; i++) {
                if (i)
                    s_put (out, ",", 1);
                s_put_object (out, &obj->via.array.ptr [i]);
            }
            s_put (out, "]", 1);
            break;
        case MSGPACK_OBJECT_MAP:
            s_put (out, "{", 1);
            for (uint32_t i = 0; i < obj->via.map.size; i++) {
                const msgpack_object_kv *kv = &obj->via.map.ptr [i];
                if (i)
                    s_put (out, ",", 1);
                if (kv->key.type == MSGPACK_OBJECT_STR)
                    s_put_object (out, &kv->key);
                else {
                    //  JSON keys are strings: quote the key's own rendering
                    ck_buf_t key;
                    ck_buf_init (&key);
                    s_put_object (&key, &kv->key);
                    s_put_string (out, key.data, key.size);
                    ck_buf_free (&key);
                }
                s_put (out, ":", 1);
                s_put_object (out, &kv->val);
            }
            s_put (out, "}", 1);
            break;
    }
}

int
ck_body_to_json (const void *body, size_t size, ck_buf_t *out)
{
    ck_buf_reset (out);
    ck_decode_error_t err;
    if (size > CK_MAX_BODY || codec_scan ((const uint8_t *) body, size, &err))
        return -1;
    msgpack_unpacked unpacked;
    msgpack_unpacked_init (&unpacked);
    size_t offset = 0;
    int rc = -1;
    if (msgpack_unpack_next (&unpacked, (const char *) body, size, &offset) == MSGPACK_UNPACK_SUCCESS) {
        s_put_object (out, &unpacked.data);
        rc = 0;
    }
    msgpack_unpacked_destroy (&unpacked);
    return rc;
}

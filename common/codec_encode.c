/*  codec_encode.c - encodes any message by walking its schema
    Writes one msgpack map straight into a reusable buffer.
*/
#include <string.h>
#include "codec_schema.h"

//
//  The encoder writes the few msgpack forms the protocol uses (map and
//  array headers, str, uint, bool), each in its shortest encoding, straight
//  into the buffer: a packer callback per token cost more than the rest of
//  the encode together.  The writers are forced inline for the same reason
//  (an encode makes some 50 of these calls).

typedef struct {
    ck_buf_t *out;
    bool failed;                    //  out of memory
} writer_t;

static inline __attribute__ ((always_inline)) void
s_put (writer_t *w, const void *bytes, size_t len)
{
    if (!codec_buf_reserve (w->out, len)) {
        w->failed = true;
        return;
    }
    memcpy (w->out->data + w->out->size, bytes, len);
    w->out->size += len;
}

//  A header: the fix form when value fits under limit, else the 8/16/32-bit
//  form whose type bytes start at first (first is 0 for forms without 8-bit)
static inline __attribute__ ((always_inline)) void
s_put_header (writer_t *w, uint8_t fix, uint64_t limit, uint8_t first8,
              uint8_t first16, uint64_t value)
{
    uint8_t bytes [5];
    size_t len;
    if (value < limit) {
        bytes [0] = (uint8_t) (fix | value);
        len = 1;
    }
    else
    if (first8 && value <= 0xff) {
        bytes [0] = first8;
        bytes [1] = (uint8_t) value;
        len = 2;
    }
    else
    if (value <= 0xffff) {
        bytes [0] = first16;
        bytes [1] = (uint8_t) (value >> 8);
        bytes [2] = (uint8_t) value;
        len = 3;
    }
    else {
        bytes [0] = (uint8_t) (first16 + 1);
        for (int i = 0; i < 4; i++)
            bytes [1 + i] = (uint8_t) (value >> (24 - 8 * i));
        len = 5;
    }
    s_put (w, bytes, len);
}

static inline __attribute__ ((always_inline)) void
s_put_map (writer_t *w, uint64_t count)
{
    s_put_header (w, 0x80, 16, 0, 0xde, count);
}

static inline __attribute__ ((always_inline)) void
s_put_array (writer_t *w, uint64_t count)
{
    s_put_header (w, 0x90, 16, 0, 0xdc, count);
}

static inline __attribute__ ((always_inline)) void
s_put_str (writer_t *w, const char *s, size_t len)
{
    s_put_header (w, 0xa0, 32, 0xd9, 0xda, len);
    s_put (w, s, len);
}

static inline __attribute__ ((always_inline)) void
s_put_uint (writer_t *w, uint64_t value)
{
    uint8_t bytes [9];
    int width = value < 0x80? 0: value <= 0xff? 1: value <= 0xffff? 2
              : value <= 0xffffffffULL? 4: 8;
    if (width == 0) {
        bytes [0] = (uint8_t) value;
        s_put (w, bytes, 1);
        return;
    }
    bytes [0] = width == 1? 0xcc: width == 2? 0xcd: width == 4? 0xce: 0xcf;
    for (int i = 0; i < width; i++)
        bytes [1 + i] = (uint8_t) (value >> (8 * (width - 1 - i)));
    s_put (w, bytes, (size_t) width + 1);
}

static int s_encode_map (writer_t *w, const schema_t *schema, const char *base,
                         const codec_path_t *up, bool top, ck_decode_error_t *err);

static int
s_encode_enum (writer_t *w, const field_t *field, int value,
               const codec_path_t *path, ck_decode_error_t *err)
{
    const char *name = field->names (value);
    if (!name || value < field->first || value > field->last)
        return codec_field_fail (err, CK_BAD_REQUEST, path, "value %d is not allowed", value);
    s_put_str (w, name, strlen (name));
    return 0;
}

static int
s_encode_array (writer_t *w, const field_t *field, const char *base,
                const codec_path_t *path, ck_decode_error_t *err)
{
    uint32_t count = *(const uint32_t *) (base + field->count_offset);
    if (count < field->min || count > field->max)
        return codec_field_fail (err, CK_BAD_REQUEST, path, "%u entries, must be %llu..%llu",
                             count, (unsigned long long) field->min,
                             (unsigned long long) field->max);
    s_put_array (w, count);
    for (uint32_t i = 0; i < count; i++) {
        codec_path_t element = { path, NULL, (int) i };
        const char *item = base + field->offset + (size_t) i * field->size;
        int rc = field->sub
               ? s_encode_map (w, field->sub, item, &element, false, err)
               : s_encode_enum (w, field, *(const int *) item, &element, err);
        if (rc)
            return -1;
    }
    return 0;
}

static int
s_encode_field (writer_t *w, const field_t *field, const char *base,
                const codec_path_t *path, ck_decode_error_t *err)
{
    const char *at = base + field->offset;
    switch (field->kind) {
        case FIELD_ID: case FIELD_TEXT: case FIELD_UPPER: {
            size_t len = strnlen (at, field->size);
            if (len == field->size)
                return codec_field_fail (err, CK_BAD_REQUEST, path, "not terminated");
            if (codec_check_string (field, at, len, path, err))
                return -1;
            s_put_str (w, at, len);
            return 0;
        }
        case FIELD_UINT: {
            uint64_t value = codec_load_uint (field, at);
            if (codec_check_uint (field, value, path, err))
                return -1;
            s_put_uint (w, value);
            return 0;
        }
        case FIELD_BOOL: {
            uint8_t byte = *(const bool *) at? 0xc3: 0xc2;
            s_put (w, &byte, 1);
            return 0;
        }
        case FIELD_ENUM:
            return s_encode_enum (w, field, *(const int *) at, path, err);
        case FIELD_MAP:
            return s_encode_map (w, field->sub, at, path, false, err);
        case FIELD_ARRAY:
            return s_encode_array (w, field, base, path, err);
    }
    return -1;
}

static int
s_encode_map (writer_t *w, const schema_t *schema, const char *base,
              const codec_path_t *up, bool top, ck_decode_error_t *err)
{
    uint64_t sent = 0;              //  one bit per field to send
    size_t count = top? 1: 0;
    for (size_t i = 0; i < schema->field_count; i++)
        if (schema->fields [i].required || codec_present (&schema->fields [i], base)) {
            sent |= 1ULL << i;
            count++;
        }
    s_put_map (w, count);
    if (top) {
        s_put_str (w, "v", 1);
        s_put_str (w, CK_VERSION, sizeof (CK_VERSION) - 1);
    }
    for (size_t i = 0; i < schema->field_count; i++) {
        if (!(sent & (1ULL << i)))
            continue;
        const field_t *field = &schema->fields [i];
        codec_path_t path = { up, field->key, 0 };
        s_put_str (w, field->key, field->key_len);
        if (s_encode_field (w, field, base, &path, err))
            return -1;
    }
    return 0;
}

int
codec_encode (const schema_t *schema, const void *msg, ck_buf_t *out)
{
    ck_decode_error_t err;
    if (schema->check && schema->check (msg, &err))
        return -1;
    ck_buf_reset (out);
    writer_t writer = { out, false };
    if (s_encode_map (&writer, schema, (const char *) msg, NULL, true, &err)
    ||  writer.failed)
        return -1;
    //  a body no peer would accept is a bug of the caller's, not a message
    return out->size <= CK_MAX_BODY? 0: -1;
}

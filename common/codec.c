/*  codec.c - encodes and decodes any message by walking its schema
    The one place where msgpack objects become typed structs and back.

    Decoding runs in three stages: size, the raw-byte scan (codec_scan.c),
    then a walk of the message's schema over the scanned bytes that checks
    every key's type and limits.  Errors name the key by its full path, such as
    "items[2].qty", which is built only when an error happens.
*/
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include "codec_schema.h"

//  --------------------------------------------------------------------------
//  Output buffer

void
ck_buf_init (ck_buf_t *self)
{
    memset (self, 0, sizeof *self);
}

void
ck_buf_reset (ck_buf_t *self)
{
    self->size = 0;
}

void
ck_buf_free (ck_buf_t *self)
{
    free (self->data);
    memset (self, 0, sizeof *self);
}

//  Makes room for len more bytes; false when out of memory
static bool
s_buf_reserve (ck_buf_t *self, size_t len)
{
    if (__builtin_expect (self->size + len <= self->capacity, 1))
        return true;
    size_t capacity = self->capacity? self->capacity: 512;
    while (capacity < self->size + len)
        capacity *= 2;
    char *grown = (char *) realloc (self->data, capacity);
    if (!grown)
        return false;
    self->data = grown;
    self->capacity = capacity;
    return true;
}

int
ck_decode_fail (ck_decode_error_t *err, ck_error_code_t code, const char *format, ...)
{
    err->code = code;
    va_list args;
    va_start (args, format);
    vsnprintf (err->message, sizeof err->message, format, args);
    va_end (args);
    return -1;
}

//  --------------------------------------------------------------------------
//  Key paths, rendered only for error messages

typedef struct _path_t {
    const struct _path_t *up;
    const char *key;                //  NULL for an array element
    int index;
} path_t;

static size_t
s_path_render (const path_t *path, char *out, size_t size)
{
    if (!path)
        return 0;
    size_t used = s_path_render (path->up, out, size);
    int n;
    if (path->key)
        n = snprintf (out + used, size - used, "%s%s", used? ".": "", path->key);
    else
        n = snprintf (out + used, size - used, "[%d]", path->index);
    used += n > 0? (size_t) n: 0;
    return used < size? used: size - 1;
}

//  Fails with "path: message"
static int
s_field_fail (ck_decode_error_t *err, ck_error_code_t code, const path_t *path,
              const char *format, ...) __attribute__ ((format (printf, 4, 5)));

static int
s_field_fail (ck_decode_error_t *err, ck_error_code_t code, const path_t *path,
              const char *format, ...)
{
    char where [96] = "";
    s_path_render (path, where, sizeof where);
    char what [CK_TEXT_SIZE];
    va_list args;
    va_start (args, format);
    vsnprintf (what, sizeof what, format, args);
    va_end (args);
    return ck_decode_fail (err, code, "%s: %s", where, what);
}

//  --------------------------------------------------------------------------
//  Checks shared by encoder and decoder

//  Bytes allowed in an identifier: A-Z a-z 0-9 . _ : -
static const uint8_t s_id_bytes [256] = {
    ['-'] = 1, ['.'] = 1, [':'] = 1, ['_'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1,
    ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1,
    ['H'] = 1, ['I'] = 1, ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1,
    ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1, ['S'] = 1, ['T'] = 1, ['U'] = 1,
    ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1,
    ['h'] = 1, ['i'] = 1, ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1,
    ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1, ['s'] = 1, ['t'] = 1, ['u'] = 1,
    ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

bool
ck_id_valid (const char *s, size_t len)
{
    if (len < 1 || len > CK_ID_MAX)
        return false;
    for (size_t i = 0; i < len; i++)
        if (!s_id_bytes [(unsigned char) s [i]])
            return false;
    return true;
}

size_t
codec_utf8_char (const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *) s;
    unsigned char c = p [0];
    size_t extra = c < 0x80? 0: (c >> 5) == 0x6? 1: (c >> 4) == 0xe? 2: (c >> 3) == 0x1e? 3: 9;
    if (c == 0 || extra == 9 || extra >= len)
        return 0;
    uint32_t cp = extra == 0? c: extra == 1? c & 0x1f: extra == 2? c & 0x0f: c & 0x07;
    for (size_t k = 1; k <= extra; k++) {
        if ((p [k] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (p [k] & 0x3f);
    }
    //  no overlong forms, no surrogates, nothing past U+10FFFF
    static const uint32_t least [] = { 0, 0x80, 0x800, 0x10000 };
    if (cp < least [extra] || (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return extra + 1;
}

//  True when s[0..len) is well-formed UTF-8 without NUL bytes
static bool
s_utf8_valid (const char *s, size_t len)
{
    for (size_t i = 0, n; i < len; i += n)
        if ((n = codec_utf8_char (s + i, len - i)) == 0)
            return false;
    return true;
}

//  Checks a string value of a field; 0, or -1 with err
static int
s_check_string (const field_t *field, const char *s, size_t len,
                const path_t *path, ck_decode_error_t *err)
{
    if (field->kind == FIELD_ID) {
        if (len == 0)
            return s_field_fail (err, CK_BAD_REQUEST, path, "must not be empty");
        if (len > CK_ID_MAX)
            return s_field_fail (err, CK_BAD_REQUEST, path,
                                 "%zu bytes, at most %d allowed", len, CK_ID_MAX);
        if (!ck_id_valid (s, len))
            return s_field_fail (err, CK_BAD_REQUEST, path,
                                 "only A-Z a-z 0-9 . _ : - are allowed");
        return 0;
    }
    if (len < field->min || len > field->max) {
        if (field->min == field->max)
            return s_field_fail (err, CK_BAD_REQUEST, path,
                                 "must be %llu characters", (unsigned long long) field->min);
        return s_field_fail (err, CK_BAD_REQUEST, path, "%zu bytes, must be %llu..%llu",
                             len, (unsigned long long) field->min, (unsigned long long) field->max);
    }
    if (field->kind == FIELD_UPPER) {
        for (size_t i = 0; i < len; i++)
            if (s [i] < 'A' || s [i] > 'Z')
                return s_field_fail (err, CK_BAD_REQUEST, path,
                                     "must be upper-case letters A-Z");
        return 0;
    }
    if (!s_utf8_valid (s, len))
        return s_field_fail (err, CK_BAD_REQUEST, path, "not valid UTF-8 text");
    return 0;
}

static int
s_check_uint (const field_t *field, uint64_t value, const path_t *path,
              ck_decode_error_t *err)
{
    if (value < field->min || value > field->max)
        return s_field_fail (err, CK_BAD_REQUEST, path, "%llu is out of range %llu..%llu",
                             (unsigned long long) value, (unsigned long long) field->min,
                             (unsigned long long) field->max);
    return 0;
}

static uint64_t
s_load_uint (const field_t *field, const char *at)
{
    if (field->size == sizeof (uint32_t))
        return *(const uint32_t *) at;
    return *(const uint64_t *) at;
}

static void
s_store_uint (const field_t *field, char *at, uint64_t value)
{
    if (field->size == sizeof (uint32_t))
        *(uint32_t *) at = (uint32_t) value;
    else
        *(uint64_t *) at = value;
}

//  True when an optional field has a value to send (see protocol.h)
static bool
s_present (const field_t *field, const char *base)
{
    const char *at = base + field->offset;
    switch (field->kind) {
        case FIELD_ID: case FIELD_TEXT: case FIELD_UPPER:
            return at [0] != 0;
        case FIELD_UINT:
            return s_load_uint (field, at) != 0;
        case FIELD_BOOL:
            return *(const bool *) at;
        case FIELD_ENUM:
            return *(const int *) at != 0;
        case FIELD_MAP:
            for (size_t i = 0; i < field->sub->field_count; i++)
                if (s_present (&field->sub->fields [i], at))
                    return true;
            return false;
        case FIELD_ARRAY:
            return *(const uint32_t *) (base + field->count_offset) != 0;
    }
    return false;
}

//  --------------------------------------------------------------------------
//  Encoder
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
    if (!s_buf_reserve (w->out, len)) {
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
                         const path_t *up, bool top, ck_decode_error_t *err);

static int
s_encode_enum (writer_t *w, const field_t *field, int value,
               const path_t *path, ck_decode_error_t *err)
{
    const char *name = field->names (value);
    if (!name || value < field->first || value > field->last)
        return s_field_fail (err, CK_BAD_REQUEST, path, "value %d is not allowed", value);
    s_put_str (w, name, strlen (name));
    return 0;
}

static int
s_encode_array (writer_t *w, const field_t *field, const char *base,
                const path_t *path, ck_decode_error_t *err)
{
    uint32_t count = *(const uint32_t *) (base + field->count_offset);
    if (count < field->min || count > field->max)
        return s_field_fail (err, CK_BAD_REQUEST, path, "%u entries, must be %llu..%llu",
                             count, (unsigned long long) field->min,
                             (unsigned long long) field->max);
    s_put_array (w, count);
    for (uint32_t i = 0; i < count; i++) {
        path_t element = { path, NULL, (int) i };
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
                const path_t *path, ck_decode_error_t *err)
{
    const char *at = base + field->offset;
    switch (field->kind) {
        case FIELD_ID: case FIELD_TEXT: case FIELD_UPPER: {
            size_t len = strnlen (at, field->size);
            if (len == field->size)
                return s_field_fail (err, CK_BAD_REQUEST, path, "not terminated");
            if (s_check_string (field, at, len, path, err))
                return -1;
            s_put_str (w, at, len);
            return 0;
        }
        case FIELD_UINT: {
            uint64_t value = s_load_uint (field, at);
            if (s_check_uint (field, value, path, err))
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
              const path_t *up, bool top, ck_decode_error_t *err)
{
    uint64_t sent = 0;              //  one bit per field to send
    size_t count = top? 1: 0;
    for (size_t i = 0; i < schema->field_count; i++)
        if (schema->fields [i].required || s_present (&schema->fields [i], base)) {
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
        path_t path = { up, field->key, 0 };
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

//  --------------------------------------------------------------------------
//  Decoder
//
//  codec_scan has already proved that the bytes hold one map whose every
//  header and payload fits, nested at most 16 deep.  So the decoder reads
//  them with a plain cursor, straight into the struct, and allocates
//  nothing, which matters on the coordinator's hot loop.

typedef enum {
    VALUE_NIL, VALUE_BOOL, VALUE_UINT, VALUE_NEGATIVE, VALUE_FLOAT,
    VALUE_STR, VALUE_BIN, VALUE_ARRAY, VALUE_MAP, VALUE_EXT
} value_kind_t;

typedef struct {
    value_kind_t kind;
    uint64_t u;                     //  UINT, BOOL
    const char *s;                  //  STR, BIN
    uint32_t n;                     //  STR/BIN bytes, ARRAY/MAP entries
} value_t;

typedef struct {
    const uint8_t *p;
} reader_t;


//  Reads one value's header and, for scalars and strings, its payload;
//  a container's elements stay to be read (or skipped) next
static void
s_read (reader_t *r, value_t *v)
{
    uint8_t b = *r->p++;
    v->n = 0;
    if (b <= 0x7f) { v->kind = VALUE_UINT; v->u = b; return; }
    if (b >= 0xe0) { v->kind = VALUE_NEGATIVE; return; }
    if (b <= 0x8f) { v->kind = VALUE_MAP; v->n = b & 0x0f; return; }
    if (b <= 0x9f) { v->kind = VALUE_ARRAY; v->n = b & 0x0f; return; }
    if (b <= 0xbf) {
        v->kind = VALUE_STR;
        v->n = b & 0x1f;
        v->s = (const char *) r->p;
        r->p += v->n;
        return;
    }
    int width;
    switch (b) {
        case 0xc0: v->kind = VALUE_NIL; return;
        case 0xc2: case 0xc3: v->kind = VALUE_BOOL; v->u = b == 0xc3; return;
        case 0xcc: case 0xcd: case 0xce: case 0xcf:
            width = 1 << (b - 0xcc);
            v->kind = VALUE_UINT;
            v->u = codec_read_be (r->p, width);
            r->p += width;
            return;
        case 0xd0: case 0xd1: case 0xd2: case 0xd3: {
            //  a signed encoding of a non-negative value is still a count
            width = 1 << (b - 0xd0);
            uint64_t raw = codec_read_be (r->p, width);
            r->p += width;
            bool negative = raw >> (width * 8 - 1);
            v->kind = negative? VALUE_NEGATIVE: VALUE_UINT;
            v->u = raw;
            return;
        }
        case 0xca: v->kind = VALUE_FLOAT; r->p += 4; return;
        case 0xcb: v->kind = VALUE_FLOAT; r->p += 8; return;
        case 0xd4: case 0xd5: case 0xd6: case 0xd7: case 0xd8:
            v->kind = VALUE_EXT;
            r->p += 1 + (1 << (b - 0xd4));
            return;
        case 0xc7: case 0xc8: case 0xc9:
            width = 1 << (b - 0xc7);
            v->kind = VALUE_EXT;
            v->n = (uint32_t) codec_read_be (r->p, width);
            r->p += width + 1 + v->n;
            return;
        case 0xc4: case 0xc5: case 0xc6: case 0xd9: case 0xda: case 0xdb:
            width = 1 << (b >= 0xd9? b - 0xd9: b - 0xc4);
            v->kind = b >= 0xd9? VALUE_STR: VALUE_BIN;
            v->n = (uint32_t) codec_read_be (r->p, width);
            v->s = (const char *) r->p + width;
            r->p += width + v->n;
            return;
        case 0xdc: case 0xdd: case 0xde: case 0xdf:
            width = b == 0xdc || b == 0xde? 2: 4;
            v->kind = b <= 0xdd? VALUE_ARRAY: VALUE_MAP;
            v->n = (uint32_t) codec_read_be (r->p, width);
            r->p += width;
            return;
    }
    v->kind = VALUE_NIL;            //  0xc1: codec_scan refused it already
}

//  Skips the elements of a container value just read
static void
s_skip (reader_t *r, const value_t *v)
{
    uint64_t count = v->kind == VALUE_MAP? 2 * (uint64_t) v->n
                   : v->kind == VALUE_ARRAY? v->n: 0;
    for (uint64_t i = 0; i < count; i++) {
        value_t element;
        s_read (r, &element);
        s_skip (r, &element);
    }
}

static const char *
s_kind_name (value_kind_t kind)
{
    static const char *names [] = {
        "nil", "bool", "integer", "negative integer", "float", "str", "bin",
        "array", "map", "ext"
    };
    return names [kind];
}

static int
s_wrong_type (const value_t *v, const char *expected, const path_t *path,
              ck_decode_error_t *err)
{
    return s_field_fail (err, CK_BAD_REQUEST, path, "expected %s, got %s",
                         expected, s_kind_name (v->kind));
}

static int s_decode_map (reader_t *r, const value_t *map, const schema_t *schema,
                         char *base, const path_t *up, ck_decode_error_t *err);

static int
s_decode_enum (const value_t *v, const field_t *field, int *value,
               const path_t *path, ck_decode_error_t *err)
{
    if (v->kind != VALUE_STR)
        return s_wrong_type (v, "str", path, err);
    for (int i = field->first; i <= field->last; i++) {
        const char *name = field->names (i);
        if (name && strlen (name) == v->n && memcmp (name, v->s, v->n) == 0) {
            *value = i;
            return 0;
        }
    }
    char shown [CK_ID_SIZE];
    size_t n = 0;
    for (uint32_t i = 0; i < v->n && n < CK_ID_MAX; i++)
        shown [n++] = v->s [i] >= 0x20 && v->s [i] < 0x7f? v->s [i]: '?';
    shown [n] = 0;
    return s_field_fail (err, CK_BAD_REQUEST, path, "unknown value '%s'", shown);
}

static int
s_decode_array (reader_t *r, const value_t *v, const field_t *field, char *base,
                const path_t *path, ck_decode_error_t *err)
{
    if (v->kind != VALUE_ARRAY)
        return s_wrong_type (v, "array", path, err);
    if (v->n < field->min || v->n > field->max)
        return s_field_fail (err, CK_BAD_REQUEST, path, "%u entries, must be %llu..%llu",
                             v->n, (unsigned long long) field->min,
                             (unsigned long long) field->max);
    for (uint32_t i = 0; i < v->n; i++) {
        path_t element = { path, NULL, (int) i };
        char *slot = base + field->offset + (size_t) i * field->size;
        memset (slot, 0, field->size);  //  s_clear left the slots as they were
        value_t item;
        s_read (r, &item);
        int rc;
        if (!field->sub)
            rc = s_decode_enum (&item, field, (int *) slot, &element, err);
        else
        if (item.kind != VALUE_MAP)
            rc = s_wrong_type (&item, "map", &element, err);
        else
            rc = s_decode_map (r, &item, field->sub, slot, &element, err);
        if (rc)
            return -1;
    }
    *(uint32_t *) (base + field->count_offset) = v->n;
    return 0;
}

static int
s_decode_field (reader_t *r, const value_t *v, const field_t *field, char *base,
                const path_t *path, ck_decode_error_t *err)
{
    char *at = base + field->offset;
    switch (field->kind) {
        case FIELD_ID: case FIELD_TEXT: case FIELD_UPPER:
            if (v->kind != VALUE_STR)
                return s_wrong_type (v, "str", path, err);
            if (s_check_string (field, v->s, v->n, path, err))
                return -1;
            memcpy (at, v->s, v->n);
            at [v->n] = 0;
            return 0;
        case FIELD_UINT:
            if (v->kind == VALUE_NEGATIVE)
                return s_field_fail (err, CK_BAD_REQUEST, path, "must not be negative");
            if (v->kind != VALUE_UINT)
                return s_wrong_type (v, "a non-negative integer", path, err);
            if (s_check_uint (field, v->u, path, err))
                return -1;
            s_store_uint (field, at, v->u);
            return 0;
        case FIELD_BOOL:
            if (v->kind != VALUE_BOOL)
                return s_wrong_type (v, "bool", path, err);
            *(bool *) at = v->u != 0;
            return 0;
        case FIELD_ENUM:
            return s_decode_enum (v, field, (int *) at, path, err);
        case FIELD_MAP:
            if (v->kind != VALUE_MAP)
                return s_wrong_type (v, "map", path, err);
            return s_decode_map (r, v, field->sub, at, path, err);
        case FIELD_ARRAY:
            return s_decode_array (r, v, field, base, path, err);
    }
    return -1;
}

//  The field of a schema with this key, or NULL.  Peers usually send keys
//  in schema order, so the search starts after the previous match.
static const field_t *
s_find_field (const schema_t *schema, const char *key, uint32_t len, size_t *index)
{
    size_t count = schema->field_count;
    for (size_t n = 0, i = *index; n < count; n++, i = i + 1 < count? i + 1: 0) {
        const field_t *field = &schema->fields [i];
        if (field->key_len == len && memcmp (field->key, key, len) == 0) {
            *index = i;
            return field;
        }
    }
    return NULL;
}

//  Checks "v" (§3): MAJOR.MINOR.PATCH, each a run of 1..9 digits, whose
//  major we speak
static int
s_check_version (const value_t *v, ck_decode_error_t *err)
{
    if (v->kind != VALUE_STR)
        return ck_decode_fail (err, CK_BAD_REQUEST, "v: expected str, got %s",
                           s_kind_name (v->kind));
    uint32_t pos = 0;
    uint64_t major = 0;
    for (int part = 0; part < 3; part++) {
        uint32_t start = pos;
        uint64_t value = 0;
        while (pos < v->n && v->s [pos] >= '0' && v->s [pos] <= '9' && pos - start < 9)
            value = value * 10 + (uint64_t) (v->s [pos++] - '0');
        bool last = part == 2;
        if (pos == start || (!last && (pos >= v->n || v->s [pos] != '.'))
        ||  (last && pos != v->n))
            return ck_decode_fail (err, CK_BAD_REQUEST, "v: not a version MAJOR.MINOR.PATCH");
        if (part == 0)
            major = value;
        pos++;
    }
    if (major != CK_VERSION_MAJOR)
        return ck_decode_fail (err, CK_UNSUPPORTED_VERSION,
                           "v: major version %llu is not spoken here (this is %d)",
                           (unsigned long long) major, CK_VERSION_MAJOR);
    return 0;
}

//  Decodes the entries of a map value just read.  At the top level (up is
//  NULL) it also applies the version rule.
static int
s_decode_map (reader_t *r, const value_t *map, const schema_t *schema, char *base,
              const path_t *up, ck_decode_error_t *err)
{
    uint64_t seen = 0;              //  one bit per field; schemas stay under 64
    bool seen_version = false;
    size_t index = 0;
    for (uint32_t i = 0; i < map->n; i++) {
        value_t key, value;
        s_read (r, &key);
        if (key.kind != VALUE_STR) {
            path_t entry = { up, "(key)", 0 };
            return s_field_fail (err, CK_BAD_REQUEST, &entry, "entry %u has a %s key, not a str",
                                 i, s_kind_name (key.kind));
        }
        s_read (r, &value);
        const field_t *field = s_find_field (schema, key.s, key.n, &index);
        if (!field) {
            if (!up && key.n == 1 && key.s [0] == 'v') {
                if (seen_version)
                    return ck_decode_fail (err, CK_BAD_REQUEST, "v: duplicate key");
                seen_version = true;
                if (s_check_version (&value, err))
                    return -1;
            }
            s_skip (r, &value);     //  unknown keys are ignored (§3)
            continue;
        }
        path_t path = { up, field->key, 0 };
        if (seen & (1ULL << index))
            return s_field_fail (err, CK_BAD_REQUEST, &path, "duplicate key");
        seen |= 1ULL << index;
        if (s_decode_field (r, &value, field, base, &path, err))
            return -1;
    }
    for (size_t i = 0; i < schema->field_count; i++)
        if (schema->fields [i].required && !(seen & (1ULL << i))) {
            path_t path = { up, schema->fields [i].key, 0 };
            return s_field_fail (err, CK_BAD_REQUEST, &path, "missing");
        }
    return 0;
}

//  After a failure, a "v" further on may explain it better: a body of
//  another major version fails with unsupported_version, not with what
//  its unfamiliar keys happened to trip over first
static void
s_recheck_version (const uint8_t *body, ck_decode_error_t *err)
{
    reader_t r = { body };
    value_t map;
    s_read (&r, &map);
    for (uint32_t i = 0; i < map.n; i++) {
        value_t key, value;
        s_read (&r, &key);
        s_skip (&r, &key);
        s_read (&r, &value);
        if (key.kind == VALUE_STR && key.n == 1 && key.s [0] == 'v') {
            ck_decode_error_t version;
            if (s_check_version (&value, &version))
                *err = version;
            return;
        }
        s_skip (&r, &value);
    }
}

//  Zeroes msg but for the slots of its top-level arrays, which the decoder
//  clears one by one as it fills them: a CHECKOUT has room for 100 lines
//  and usually carries 3, and zeroing the other 97 took a third of a decode.
//  Slots past an array's count are left as they were.
static void
s_clear (const schema_t *schema, char *msg, size_t msg_size)
{
    size_t from = 0;
    while (true) {
        //  the next array region at or after from, by offset
        const field_t *next = NULL;
        for (size_t i = 0; i < schema->field_count; i++) {
            const field_t *field = &schema->fields [i];
            if (field->kind == FIELD_ARRAY && field->offset >= from
            &&  (!next || field->offset < next->offset))
                next = field;
        }
        size_t until = next? next->offset: msg_size;
        memset (msg + from, 0, until - from);
        if (!next)
            return;
        from = next->offset + (size_t) next->max * next->size;
    }
}

int
codec_decode (const schema_t *schema, const void *body, size_t size,
              void *msg, size_t msg_size, ck_decode_error_t *err)
{
    s_clear (schema, (char *) msg, msg_size);
    err->code = CK_OK;
    err->message [0] = 0;
    if (size > CK_MAX_BODY)
        return ck_decode_fail (err, CK_TOO_LARGE, "body: %zu bytes, at most %d allowed",
                           size, CK_MAX_BODY);
    if (!body)
        return ck_decode_fail (err, CK_BAD_REQUEST, "body: missing");
    if (codec_scan ((const uint8_t *) body, size, err))
        return -1;
    reader_t r = { (const uint8_t *) body };
    value_t map;
    s_read (&r, &map);
    if (s_decode_map (&r, &map, schema, (char *) msg, NULL, err)) {
        if (err->code == CK_BAD_REQUEST)
            s_recheck_version ((const uint8_t *) body, err);
        return -1;
    }
    if (schema->check && schema->check (msg, err))
        return -1;
    return 0;
}

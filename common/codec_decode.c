/*  codec_decode.c - decodes any message by walking its schema
    Size first, then the raw-byte scan (codec_scan.c), then the values.
*/
#include <string.h>
#include "codec_schema.h"

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
s_wrong_type (const value_t *v, const char *expected, const codec_path_t *path,
              ck_decode_error_t *err)
{
    return codec_field_fail (err, CK_BAD_REQUEST, path, "expected %s, got %s",
                         expected, s_kind_name (v->kind));
}

static int s_decode_map (reader_t *r, const value_t *map, const schema_t *schema,
                         char *base, const codec_path_t *up, ck_decode_error_t *err);

static int
s_decode_enum (const value_t *v, const field_t *field, int *value,
               const codec_path_t *path, ck_decode_error_t *err)
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
    return codec_field_fail (err, CK_BAD_REQUEST, path, "unknown value '%s'", shown);
}

static int
s_decode_array (reader_t *r, const value_t *v, const field_t *field, char *base,
                const codec_path_t *path, ck_decode_error_t *err)
{
    if (v->kind != VALUE_ARRAY)
        return s_wrong_type (v, "array", path, err);
    if (v->n < field->min || v->n > field->max)
        return codec_field_fail (err, CK_BAD_REQUEST, path, "%u entries, must be %llu..%llu",
                             v->n, (unsigned long long) field->min,
                             (unsigned long long) field->max);
    for (uint32_t i = 0; i < v->n; i++) {
        codec_path_t element = { path, NULL, (int) i };
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
                const codec_path_t *path, ck_decode_error_t *err)
{
    char *at = base + field->offset;
    switch (field->kind) {
        case FIELD_ID: case FIELD_TEXT: case FIELD_UPPER:
            if (v->kind != VALUE_STR)
                return s_wrong_type (v, "str", path, err);
            if (codec_check_string (field, v->s, v->n, path, err))
                return -1;
            memcpy (at, v->s, v->n);
            at [v->n] = 0;
            return 0;
        case FIELD_UINT:
            if (v->kind == VALUE_NEGATIVE)
                return codec_field_fail (err, CK_BAD_REQUEST, path, "must not be negative");
            if (v->kind != VALUE_UINT)
                return s_wrong_type (v, "a non-negative integer", path, err);
            if (codec_check_uint (field, v->u, path, err))
                return -1;
            codec_store_uint (field, at, v->u);
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

//  Checks "v" (docs/protocol.md#bodies): MAJOR.MINOR.PATCH, each a run of 1..9 digits, whose
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
              const codec_path_t *up, ck_decode_error_t *err)
{
    uint64_t seen = 0;              //  one bit per field; schemas stay under 64
    bool seen_version = false;
    size_t index = 0;
    for (uint32_t i = 0; i < map->n; i++) {
        value_t key, value;
        s_read (r, &key);
        if (key.kind != VALUE_STR) {
            codec_path_t entry = { up, "(key)", 0 };
            return codec_field_fail (err, CK_BAD_REQUEST, &entry, "entry %u has a %s key, not a str",
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
            s_skip (r, &value);     //  unknown keys are ignored (docs/protocol.md#bodies)
            continue;
        }
        codec_path_t path = { up, field->key, 0 };
        if (seen & (1ULL << index))
            return codec_field_fail (err, CK_BAD_REQUEST, &path, "duplicate key");
        seen |= 1ULL << index;
        if (s_decode_field (r, &value, field, base, &path, err))
            return -1;
    }
    for (size_t i = 0; i < schema->field_count; i++)
        if (schema->fields [i].required && !(seen & (1ULL << i))) {
            codec_path_t path = { up, schema->fields [i].key, 0 };
            return codec_field_fail (err, CK_BAD_REQUEST, &path, "missing");
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
//  Slots past an array's count are left as they were; so are the slots of
//  the schema's unused array (a request without items: zeroing them was
//  most of a payment participant's decode).
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
        const field_t *unused = schema->unused_array;
        if (unused && unused->offset >= from && (!next || unused->offset < next->offset))
            next = unused;
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

/*  codec_schema.h - internal: how a message is described to the codec
    Each body is a schema: a table of fields with key, kind, storage and limits.

    codec.c walks a schema to encode or decode any struct of protocol.h;
    codec_messages.c holds the tables.  Only these files know msgpack.
*/
#ifndef CK_CODEC_SCHEMA_H_INCLUDED
#define CK_CODEC_SCHEMA_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "checkout/codec.h"

typedef enum {
    FIELD_ID,           //  identifier: 1..64 bytes of [A-Za-z0-9._:-]
    FIELD_TEXT,         //  UTF-8 text, min..max bytes, no NUL
    FIELD_UPPER,        //  min..max upper-case ASCII letters (currency, country)
    FIELD_UINT,         //  non-negative integer in min..max, stored in size bytes
    FIELD_BOOL,
    FIELD_ENUM,         //  str naming a value in min..max of a vocabulary
    FIELD_MAP,          //  nested map described by sub
    FIELD_ARRAY         //  array of min..max maps (sub) or enums (names)
} field_kind_t;

typedef struct _schema_t schema_t;

//  The wire name of value i of a vocabulary, NULL if none
typedef const char *(vocabulary_fn) (int value);

typedef struct {
    const char *key;
    uint32_t key_len;
    field_kind_t kind;
    bool required;
    uint32_t offset;                //  of the value in the struct
    uint32_t size;                  //  storage bytes; element size for arrays
    uint64_t min, max;              //  range, length or count limits
    const schema_t *sub;            //  MAP, ARRAY of maps
    vocabulary_fn *names;           //  ENUM, ARRAY of enums
    int first, last;                //  ENUM: the values allowed
    uint32_t count_offset;          //  ARRAY: where the uint32_t count lives
} field_t;

//  A message-level rule checked after every field is valid, e.g. the
//  amount of a CHECKOUT.  Returns 0, or -1 with err filled.
typedef int (check_fn) (const void *msg, ck_decode_error_t *err);

struct _schema_t {
    const field_t *fields;
    size_t field_count;
    check_fn *check;                //  may be NULL
    //  An array of the struct that this schema does not decode (the items
    //  of a ck_request_t under the schema of a type without items): as for
    //  the schema's own arrays, decoding does not zero its slots.  May be NULL.
    const field_t *unused_array;
};

//  A key's place in a message, for error messages: a chain up to the body
typedef struct _codec_path_t {
    const struct _codec_path_t *up;
    const char *key;                //  NULL for an array element
    int index;
} codec_path_t;

//  Fails with "path: message" (code and message in err); returns -1
int codec_field_fail (ck_decode_error_t *err, ck_error_code_t code, const codec_path_t *path,
                      const char *format, ...) __attribute__ ((format (printf, 4, 5)));

//  The checks of one field's value, shared by encoder and decoder; 0, or
//  -1 with err
int codec_check_string (const field_t *field, const char *s, size_t len,
                        const codec_path_t *path, ck_decode_error_t *err);
int codec_check_uint (const field_t *field, uint64_t value, const codec_path_t *path,
                      ck_decode_error_t *err);

//  Grows the buffer to hold needed more bytes; false when out of memory
bool codec_buf_grow (ck_buf_t *self, size_t needed);

//  The small helpers of every field are inline: the encoder and decoder
//  call them for each value (an encode+decode went from 0.7 to 2 us when
//  they were calls into another file)

//  An integer field's value, stored in field->size bytes at at
static inline uint64_t
codec_load_uint (const field_t *field, const char *at)
{
    if (field->size == sizeof (uint32_t))
        return *(const uint32_t *) at;
    return *(const uint64_t *) at;
}

static inline void
codec_store_uint (const field_t *field, char *at, uint64_t value)
{
    if (field->size == sizeof (uint32_t))
        *(uint32_t *) at = (uint32_t) value;
    else
        *(uint64_t *) at = value;
}

//  Makes room for len more bytes in the buffer; false when out of memory
static inline bool
codec_buf_reserve (ck_buf_t *self, size_t len)
{
    if (__builtin_expect (self->size + len <= self->capacity, 1))
        return true;
    return codec_buf_grow (self, len);
}

//  True when an optional field has a value to send (see protocol.h)
static inline bool
codec_present (const field_t *field, const char *base)
{
    const char *at = base + field->offset;
    switch (field->kind) {
        case FIELD_ID: case FIELD_TEXT: case FIELD_UPPER:
            return at [0] != 0;
        case FIELD_UINT:
            return codec_load_uint (field, at) != 0;
        case FIELD_BOOL:
            return *(const bool *) at;
        case FIELD_ENUM:
            return *(const int *) at != 0;
        case FIELD_MAP:
            for (size_t i = 0; i < field->sub->field_count; i++)
                if (codec_present (&field->sub->fields [i], at))
                    return true;
            return false;
        case FIELD_ARRAY:
            return *(const uint32_t *) (base + field->count_offset) != 0;
    }
    return false;
}

//  Encodes msg by schema into out; 0, or -1 when msg breaks a rule
int codec_encode (const schema_t *schema, const void *msg, ck_buf_t *out);

//  Decodes body into msg (zeroed first) by schema; 0, or -1 with err
int codec_decode (const schema_t *schema, const void *body, size_t size,
                  void *msg, size_t msg_size, ck_decode_error_t *err);

//  Reads a big-endian unsigned integer of width bytes.  Can't fail.
static inline uint64_t
codec_read_be (const uint8_t *p, size_t width)
{
    uint64_t value = 0;
    for (size_t i = 0; i < width; i++)
        value = (value << 8) | p [i];
    return value;
}

//  Bytes of the well-formed UTF-8 character (not NUL) at s, or 0 when
//  there is none there.  len > 0.
size_t codec_utf8_char (const char *s, size_t len);

//  Checks the raw bytes: one complete msgpack map, counts that fit in the
//  bytes left, bounded nesting.  0, or -1 with err.
int codec_scan (const uint8_t *data, size_t size, ck_decode_error_t *err);

#endif

/*  codec_schema.h - internal: how a message is described to the codec
    Each body is a schema: a table of fields with key, kind, storage and limits.

    codec.c walks a schema to encode or decode any struct of protocol.h;
    codec_messages.c holds the tables.  Only these files know msgpack.
*/
#ifndef CK_CODEC_SCHEMA_H_INCLUDED
#define CK_CODEC_SCHEMA_H_INCLUDED

#include <stddef.h>
#include <stdint.h>
#include "codec.h"

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
};

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

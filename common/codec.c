/*  codec.c - what the codec's encoder and decoder share
    The output buffer, errors with key paths, and the checks of every field.

    The encoder (codec_encode.c) and the decoder (codec_decode.c) walk a
    message's schema (codec_messages.c) and apply the same checks here, so
    that what we send is exactly what we accept.  Errors name the key by its
    full path, such as "items[2].qty", built only when an error happens.
*/
#include <assert.h>
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

//  The slow path of codec_buf_reserve: doubles the buffer until it fits
bool
codec_buf_grow (ck_buf_t *self, size_t len)
{
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

static size_t
s_path_render (const codec_path_t *path, char *out, size_t size)
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

int
codec_field_fail (ck_decode_error_t *err, ck_error_code_t code, const codec_path_t *path,
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
int
codec_check_string (const field_t *field, const char *s, size_t len,
                const codec_path_t *path, ck_decode_error_t *err)
{
    if (field->kind == FIELD_ID) {
        if (len == 0)
            return codec_field_fail (err, CK_BAD_REQUEST, path, "must not be empty");
        if (len > CK_ID_MAX)
            return codec_field_fail (err, CK_BAD_REQUEST, path,
                                 "%zu bytes, at most %d allowed", len, CK_ID_MAX);
        if (!ck_id_valid (s, len))
            return codec_field_fail (err, CK_BAD_REQUEST, path,
                                 "only A-Z a-z 0-9 . _ : - are allowed");
        return 0;
    }
    if (len < field->min || len > field->max) {
        if (field->min == field->max)
            return codec_field_fail (err, CK_BAD_REQUEST, path,
                                 "must be %llu characters", (unsigned long long) field->min);
        return codec_field_fail (err, CK_BAD_REQUEST, path, "%zu bytes, must be %llu..%llu",
                             len, (unsigned long long) field->min, (unsigned long long) field->max);
    }
    if (field->kind == FIELD_UPPER) {
        for (size_t i = 0; i < len; i++)
            if (s [i] < 'A' || s [i] > 'Z')
                return codec_field_fail (err, CK_BAD_REQUEST, path,
                                     "must be upper-case letters A-Z");
        return 0;
    }
    if (!s_utf8_valid (s, len))
        return codec_field_fail (err, CK_BAD_REQUEST, path, "not valid UTF-8 text");
    return 0;
}

int
codec_check_uint (const field_t *field, uint64_t value, const codec_path_t *path,
              ck_decode_error_t *err)
{
    if (value < field->min || value > field->max)
        return codec_field_fail (err, CK_BAD_REQUEST, path, "%llu is out of range %llu..%llu",
                             (unsigned long long) value, (unsigned long long) field->min,
                             (unsigned long long) field->max);
    return 0;
}





int
ck_scan_body (const void *body, size_t size, ck_decode_error_t *err)
{
    assert (body || size == 0);
    assert (err);
    return codec_scan ((const uint8_t *) body, size, err);
}

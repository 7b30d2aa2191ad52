/*  codec_scan.c - the codec's first look at untrusted bytes
    Checks a body's msgpack structure before msgpack-c allocates for it.

    msgpack-c reserves memory for a container's declared count before it
    reads the elements, so 5 bytes claiming a map of 10 million entries cost
    hundreds of MB.  This walk reads only headers, refuses any count larger
    than the bytes left (every element takes at least one byte), bounds the
    nesting, and insists on exactly one top-level map with nothing after it.
*/
#include <string.h>
#include "codec_schema.h"

#define SCAN_MAX_DEPTH 16


//  What one msgpack header says: how many payload bytes follow it, or how
//  many elements a container holds
typedef struct {
    size_t header;                  //  bytes of the header itself
    uint64_t payload;               //  raw bytes after the header
    uint64_t elements;              //  nested elements (maps count 2 per entry)
    bool container;
} item_t;

//  Decodes the header at p (avail bytes left); 0, or -1 when it is cut short
//  or not msgpack at all
static int
s_header (const uint8_t *p, size_t avail, item_t *item, ck_decode_error_t *err)
{
    uint8_t b = p [0];
    memset (item, 0, sizeof *item);
    item->header = 1;
    if (b <= 0x7f || b >= 0xe0 || b == 0xc0 || b == 0xc2 || b == 0xc3)
        return 0;                   //  fixint, nil, bool
    if (b >= 0x80 && b <= 0x8f) {
        item->container = true;
        item->elements = 2 * (uint64_t) (b & 0x0f);
        return 0;
    }
    if (b >= 0x90 && b <= 0x9f) {
        item->container = true;
        item->elements = b & 0x0f;
        return 0;
    }
    if (b >= 0xa0 && b <= 0xbf) {
        item->payload = b & 0x1f;
        return 0;
    }
    //  Width of the length field or fixed payload, by type byte
    size_t width = 0;
    switch (b) {
        case 0xc4: case 0xd9: width = 1; break;                 //  bin8, str8
        case 0xc5: case 0xda: width = 2; break;                 //  bin16, str16
        case 0xc6: case 0xdb: width = 4; break;                 //  bin32, str32
        case 0xc7: width = 1; break;                            //  ext8
        case 0xc8: width = 2; break;                            //  ext16
        case 0xc9: width = 4; break;                            //  ext32
        case 0xca: item->payload = 4; return 0;                 //  float32
        case 0xcb: item->payload = 8; return 0;                 //  float64
        case 0xcc: case 0xd0: item->payload = 1; return 0;
        case 0xcd: case 0xd1: item->payload = 2; return 0;
        case 0xce: case 0xd2: item->payload = 4; return 0;
        case 0xcf: case 0xd3: item->payload = 8; return 0;
        case 0xd4: item->payload = 2; return 0;                 //  fixext1
        case 0xd5: item->payload = 3; return 0;
        case 0xd6: item->payload = 5; return 0;
        case 0xd7: item->payload = 9; return 0;
        case 0xd8: item->payload = 17; return 0;
        case 0xdc: case 0xde: width = 2; break;                 //  array16, map16
        case 0xdd: case 0xdf: width = 4; break;                 //  array32, map32
        default:
            return ck_decode_fail (err, CK_BAD_REQUEST,
                               "body: byte 0x%02x is not msgpack", b);
    }
    if (avail < 1 + width)
        return ck_decode_fail (err, CK_BAD_REQUEST, "body: truncated msgpack");
    uint64_t n = codec_read_be (p + 1, width);
    item->header = 1 + width;
    if (b >= 0xdc) {
        item->container = true;
        item->elements = b >= 0xde? 2 * n: n;
    }
    else
        item->payload = (b >= 0xc7 && b <= 0xc9)? n + 1: n;    //  ext: + type byte
    return 0;
}

int
codec_scan (const uint8_t *data, size_t size, ck_decode_error_t *err)
{
    if (size == 0)
        return ck_decode_fail (err, CK_BAD_REQUEST, "body: empty");
    if ((data [0] & 0xf0) != 0x80 && data [0] != 0xde && data [0] != 0xdf)
        return ck_decode_fail (err, CK_BAD_REQUEST, "body: not a msgpack map");

    //  left [d] = elements still to read at depth d
    uint64_t left [SCAN_MAX_DEPTH + 1];
    int depth = 0;
    left [0] = 1;
    size_t pos = 0;
    while (true) {
        while (depth >= 0 && left [depth] == 0)
            depth--;
        if (depth < 0)
            break;
        left [depth]--;
        if (pos >= size)
            return ck_decode_fail (err, CK_BAD_REQUEST, "body: truncated msgpack");
        item_t item;
        if (s_header (data + pos, size - pos, &item, err))
            return -1;
        pos += item.header;
        size_t avail = size - pos;
        if (item.container) {
            if (item.elements > avail)
                return ck_decode_fail (err, CK_BAD_REQUEST,
                    "body: a container claims %llu elements, more than the %zu bytes left",
                    (unsigned long long) item.elements, avail);
            if (depth == SCAN_MAX_DEPTH)
                return ck_decode_fail (err, CK_BAD_REQUEST,
                    "body: nested deeper than %d levels", SCAN_MAX_DEPTH);
            left [++depth] = item.elements;
        }
        else {
            if (item.payload > avail)
                return ck_decode_fail (err, CK_BAD_REQUEST, "body: truncated msgpack");
            pos += item.payload;
        }
    }
    if (pos != size)
        return ck_decode_fail (err, CK_BAD_REQUEST,
                           "body: %zu trailing bytes after the map", size - pos);
    return 0;
}

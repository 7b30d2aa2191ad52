/*  fuzz_support.h - what the in-process fuzz targets share
    The multipart layout of an input, a scratch directory, and a loud failure.

    Multipart layout (fuzz_frame, fuzz_participant, fuzz_frontend): byte 0
    holds the frame count (low 3 bits) and, in bit 7, a request for one
    extra frame of CK_MAX_BODY + 1 bytes at the end; then each frame is a
    2-byte big-endian length and that many bytes (cut short where the input
    ends).  tools/make_fuzz_seeds.c writes seeds this way.
*/
#ifndef CK_FUZZ_SUPPORT_H_INCLUDED
#define CK_FUZZ_SUPPORT_H_INCLUDED

#include <czmq.h>
#include <dirent.h>
#include <stdarg.h>
#include "checkout/protocol.h"

//  Appends to msg the frames the input describes (see the layout above)
static inline void
fuzz_frames_add (zmsg_t *msg, const uint8_t *data, size_t size)
{
    if (size == 0)
        return;
    size_t count = data [0] & 0x07;
    bool oversized = (data [0] & 0x80) != 0;
    size_t pos = 1;
    for (size_t i = 0; i < count; i++) {
        size_t len = 0;
        if (pos + 2 <= size) {
            len = (size_t) data [pos] << 8 | data [pos + 1];
            pos += 2;
        }
        if (len > size - pos)
            len = size - pos;
        zmsg_addmem (msg, data + pos, len);
        pos += len;
    }
    if (oversized) {
        zframe_t *big = zframe_new (NULL, CK_MAX_BODY + 1);
        memset (zframe_data (big), 0x80, CK_MAX_BODY + 1);
        zmsg_append (msg, &big);
    }
}

//  Makes a fresh directory under $TMPDIR (or /tmp) into dir; the runners
//  point TMPDIR at a directory they remove, so that a crash leaves nothing
static inline void
fuzz_dir_make (char *dir, size_t size, const char *name)
{
    const char *tmp = getenv ("TMPDIR");
    snprintf (dir, size, "%s/ck-%s-XXXXXX", tmp && *tmp? tmp: "/tmp", name);
    if (!mkdtemp (dir)) {
        fprintf (stderr, "%s: cannot make %s: %s\n", name, dir, strerror (errno));
        abort ();
    }
}

//  Removes dir and the plain files in it; safe when dir is ""
static inline void
fuzz_dir_remove (const char *dir)
{
    DIR *handle = *dir? opendir (dir): NULL;
    if (!handle)
        return;
    struct dirent *entry;
    char path [PATH_MAX];
    while ((entry = readdir (handle)))
        if (strcmp (entry->d_name, ".") && strcmp (entry->d_name, "..")) {
            snprintf (path, sizeof path, "%s/%s", dir, entry->d_name);
            unlink (path);
        }
    closedir (handle);
    rmdir (dir);
}

//  A broken invariant: says which, and aborts so libFuzzer keeps the input
static inline void
fuzz_broken (const char *target, const char *format, ...)
    __attribute__ ((format (printf, 2, 3), noreturn));

static inline void
fuzz_broken (const char *target, const char *format, ...)
{
    va_list args;
    va_start (args, format);
    fprintf (stderr, "%s: ", target);
    vfprintf (stderr, format, args);
    fprintf (stderr, "\n");
    va_end (args);
    abort ();
}

#endif

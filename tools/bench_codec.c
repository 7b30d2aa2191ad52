/*  bench_codec.c - micro-benchmark of the codec on the W1 CHECKOUT body
    Times encode, decode and both, over W1 checkouts k = 0..999 built beforehand.

    usage: bench_codec [SECONDS]   (default 1.5, shared by the three runs)
    Prints one line per run:
        codec: checkout encode+decode  NNN ns/msg  (N msgs, body B bytes)
    Build it in the normal (RelWithDebInfo) build for meaningful figures.
*/
#include <stdlib.h>
#include <time.h>
#include "../tests/codec_samples.h"

#define SAMPLES     1000
#define CHECK_EVERY 1024                //  messages between two clock reads

typedef struct {
    ck_checkout_t *msgs;                //  SAMPLES structs to encode
    ck_buf_t *bodies;                   //  and their encoded bodies
    ck_checkout_t decoded;
    ck_buf_t out;
    size_t body_bytes;                  //  sum of the bodies' sizes
} bench_t;

static double
s_now (void)
{
    struct timespec ts;
    clock_gettime (CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void
s_fail (const char *what, uint32_t k)
{
    fprintf (stderr, "bench_codec: %s failed on W1 checkout k=%u\n", what, k);
    exit (1);
}

static void
s_encode (bench_t *self, uint32_t k)
{
    if (ck_encode_checkout (&self->msgs [k], &self->out))
        s_fail ("encode", k);
}

static void
s_decode (bench_t *self, uint32_t k)
{
    ck_decode_error_t err;
    const ck_buf_t *body = &self->bodies [k];
    if (ck_decode_checkout (body->data, body->size, &self->decoded, &err))
        s_fail ("decode", k);
}

static void
s_both (bench_t *self, uint32_t k)
{
    ck_decode_error_t err;
    if (ck_encode_checkout (&self->msgs [k], &self->out)
    ||  ck_decode_checkout (self->out.data, self->out.size, &self->decoded, &err))
        s_fail ("encode+decode", k);
}

//  Runs step over k = 0..999 rotating for about seconds; prints the figure
static void
s_run (bench_t *self, const char *label, void (*step) (bench_t *, uint32_t), double seconds)
{
    for (uint32_t k = 0; k < SAMPLES; k++)
        step (self, k);                 //  warm up caches and the buffer
    uint64_t count = 0;
    double start = s_now (), elapsed = 0;
    while (elapsed < seconds) {
        for (uint32_t i = 0; i < CHECK_EVERY; i++)
            step (self, (uint32_t) ((count + i) % SAMPLES));
        count += CHECK_EVERY;
        elapsed = s_now () - start;
    }
    printf ("codec: checkout %-13s %4.0f ns/msg  (%llu msgs, body %zu bytes)\n",
            label, elapsed * 1e9 / (double) count, (unsigned long long) count,
            self->body_bytes / SAMPLES);
}

int
main (int argc, char **argv)
{
    double seconds = argc > 1? atof (argv [1]): 1.5;
    if (seconds <= 0) {
        fprintf (stderr, "usage: bench_codec [SECONDS]\n");
        return 2;
    }
    bench_t *self = calloc (1, sizeof *self);
    self->msgs = calloc (SAMPLES, sizeof *self->msgs);
    self->bodies = calloc (SAMPLES, sizeof *self->bodies);
    if (!self->msgs || !self->bodies) {
        fprintf (stderr, "bench_codec: out of memory\n");
        return 1;
    }
    ck_buf_init (&self->out);
    for (uint32_t k = 0; k < SAMPLES; k++) {
        ck_sample_w1_checkout (&self->msgs [k], k);
        ck_buf_init (&self->bodies [k]);
        if (ck_encode_checkout (&self->msgs [k], &self->bodies [k]))
            s_fail ("encode", k);
        self->body_bytes += self->bodies [k].size;
    }
    s_run (self, "encode+decode", s_both, seconds / 2);
    s_run (self, "encode", s_encode, seconds / 4);
    s_run (self, "decode", s_decode, seconds / 4);

    for (uint32_t k = 0; k < SAMPLES; k++)
        ck_buf_free (&self->bodies [k]);
    ck_buf_free (&self->out);
    free (self->bodies);
    free (self->msgs);
    free (self);
    return 0;
}

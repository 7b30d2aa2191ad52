/*  codec.h - msgpack bodies of the checkout protocol
    Encodes the structs of protocol.h and decodes them strictly (docs/protocol.md).

    The decoder checks the size first, then walks the raw bytes once to make
    sure every declared array/map count fits in what is left of the body and
    nesting stays shallow, and only then reads values into the struct.  It
    allocates nothing, so a hostile header can't make it allocate in
    proportion to a claim.

    On failure a decoder returns -1 and fills a ck_decode_error_t with the
    protocol's error code and a message naming the offending key, for example
    "items[2].qty: must be 1..10000".
*/
#ifndef CK_CODEC_H_INCLUDED
#define CK_CODEC_H_INCLUDED

#include "protocol.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct {
    ck_error_code_t code;               //  CK_BAD_REQUEST, CK_TOO_LARGE, ...
    char message [CK_TEXT_SIZE];
} ck_decode_error_t;

//  Fills err with code and a printf-style message; returns -1, so that a
//  checker can say `return ck_decode_fail (err, ...)`.
int ck_decode_fail (ck_decode_error_t *err, ck_error_code_t code, const char *format, ...)
    __attribute__ ((format (printf, 3, 4)));

//  A growable output buffer, reused across encodes so that a warm encoder
//  does not allocate.
typedef struct {
    char *data;
    size_t size;
    size_t capacity;
} ck_buf_t;

//  Initialise an empty buffer. Can't fail.
void ck_buf_init (ck_buf_t *self);

//  Empty the buffer, keeping its storage. Can't fail.
void ck_buf_reset (ck_buf_t *self);

//  Free the buffer's storage; safe to call twice.
void ck_buf_free (ck_buf_t *self);

//  Encoders replace the buffer's contents with one msgpack map, including
//  "v": CK_VERSION.  They return 0, or -1 if the struct breaks a rule of the
//  protocol (a bug in the caller: the message is not sent).
int ck_encode_checkout (const ck_checkout_t *msg, ck_buf_t *out);
int ck_encode_status_request (const ck_status_request_t *msg, ck_buf_t *out);
int ck_encode_accepted (const ck_accepted_t *msg, ck_buf_t *out);
int ck_encode_result (const ck_result_t *msg, ck_buf_t *out);
int ck_encode_error (const ck_error_t *msg, ck_buf_t *out);
int ck_encode_pong (const ck_pong_t *msg, ck_buf_t *out);
int ck_encode_ready (const ck_ready_t *msg, ck_buf_t *out);
int ck_encode_request (const ck_request_t *msg, ck_buf_t *out);
int ck_encode_reply (const ck_reply_t *msg, ck_buf_t *out);
int ck_encode_ev_started (const ck_ev_started_t *msg, ck_buf_t *out);
int ck_encode_ev_step (const ck_ev_step_t *msg, ck_buf_t *out);
int ck_encode_ev_compensating (const ck_ev_compensating_t *msg, ck_buf_t *out);
int ck_encode_ev_outcome (const ck_ev_outcome_t *msg, ck_buf_t *out);
int ck_encode_ev_worker (const ck_ev_worker_t *msg, ck_buf_t *out);
int ck_encode_ev_security (const ck_ev_security_t *msg, ck_buf_t *out);
int ck_encode_ev_socket (const ck_ev_socket_t *msg, ck_buf_t *out);
int ck_encode_ev_stats (const ck_ev_stats_t *msg, ck_buf_t *out);
int ck_encode_ev_operator (const ck_ev_operator_t *msg, ck_buf_t *out);
//  Operator commands: DESCRIBE, RETRY and CANCEL share ck_operator_t, each
//  with its own keys (DESCRIBE: checkout_id; RETRY: + by; CANCEL: + reason)
int ck_encode_list (const ck_list_t *msg, ck_buf_t *out);
int ck_encode_sagas (const ck_sagas_t *msg, ck_buf_t *out);
int ck_encode_describe (const ck_operator_t *msg, ck_buf_t *out);
int ck_encode_retry (const ck_operator_t *msg, ck_buf_t *out);
int ck_encode_cancel (const ck_operator_t *msg, ck_buf_t *out);
int ck_encode_description (const ck_description_t *msg, ck_buf_t *out);

//  Decoders fill *msg from body[0..size) and return 0, or return -1 and
//  fill *err.  Every field is zeroed first, except array slots past the
//  array's count, which are left as they were (a CHECKOUT has room for 100
//  lines; zeroing them all cost a third of a decode).  They never keep a pointer into body.  When a
//  REQUEST fails, its saga_id, type and attempt are still filled in when
//  those keys were valid, so that a participant can address an error REPLY;
//  when a CHECKOUT fails, its checkout_id, for the coordinator's ERROR.
int ck_decode_checkout (const void *body, size_t size, ck_checkout_t *msg, ck_decode_error_t *err);
int ck_decode_status_request (const void *body, size_t size, ck_status_request_t *msg, ck_decode_error_t *err);
int ck_decode_accepted (const void *body, size_t size, ck_accepted_t *msg, ck_decode_error_t *err);
int ck_decode_result (const void *body, size_t size, ck_result_t *msg, ck_decode_error_t *err);
int ck_decode_error (const void *body, size_t size, ck_error_t *msg, ck_decode_error_t *err);
int ck_decode_pong (const void *body, size_t size, ck_pong_t *msg, ck_decode_error_t *err);
int ck_decode_ready (const void *body, size_t size, ck_ready_t *msg, ck_decode_error_t *err);
int ck_decode_request (const void *body, size_t size, ck_request_t *msg, ck_decode_error_t *err);
int ck_decode_reply (const void *body, size_t size, ck_reply_t *msg, ck_decode_error_t *err);
int ck_decode_ev_started (const void *body, size_t size, ck_ev_started_t *msg, ck_decode_error_t *err);
int ck_decode_ev_step (const void *body, size_t size, ck_ev_step_t *msg, ck_decode_error_t *err);
int ck_decode_ev_compensating (const void *body, size_t size, ck_ev_compensating_t *msg, ck_decode_error_t *err);
int ck_decode_ev_outcome (const void *body, size_t size, ck_ev_outcome_t *msg, ck_decode_error_t *err);
int ck_decode_ev_worker (const void *body, size_t size, ck_ev_worker_t *msg, ck_decode_error_t *err);
int ck_decode_ev_security (const void *body, size_t size, ck_ev_security_t *msg, ck_decode_error_t *err);
int ck_decode_ev_socket (const void *body, size_t size, ck_ev_socket_t *msg, ck_decode_error_t *err);
int ck_decode_ev_stats (const void *body, size_t size, ck_ev_stats_t *msg, ck_decode_error_t *err);
int ck_decode_ev_operator (const void *body, size_t size, ck_ev_operator_t *msg, ck_decode_error_t *err);
int ck_decode_list (const void *body, size_t size, ck_list_t *msg, ck_decode_error_t *err);
int ck_decode_sagas (const void *body, size_t size, ck_sagas_t *msg, ck_decode_error_t *err);
int ck_decode_describe (const void *body, size_t size, ck_operator_t *msg, ck_decode_error_t *err);
int ck_decode_retry (const void *body, size_t size, ck_operator_t *msg, ck_decode_error_t *err);
int ck_decode_cancel (const void *body, size_t size, ck_operator_t *msg, ck_decode_error_t *err);
int ck_decode_description (const void *body, size_t size, ck_description_t *msg, ck_decode_error_t *err);

//  Checks a string against the identifier rule of docs/protocol.md#limits (1..64 bytes of
//  [A-Za-z0-9._:-]).  Can't fail.
bool ck_id_valid (const char *s, size_t len);

//  Checks that body is one msgpack map whose every declared count fits in
//  its bytes, nested at most 16 deep, with nothing after it: after 0,
//  msgpack-c may unpack it without allocating in proportion to a claim.
//  Returns 0, or -1 with err filled.
int ck_scan_body (const void *body, size_t size, ck_decode_error_t *err);

//  Renders any body as one line of JSON into out (for logs and the
//  monitor's --json); returns 0, or -1 if it is not valid msgpack.
int ck_body_to_json (const void *body, size_t size, ck_buf_t *out);

#ifdef __cplusplus
}
#endif

#endif

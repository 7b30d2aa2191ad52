/*  curve.h - CURVE on this project's sockets: key files, options, setup
    Loads czmq certificates and applies them to a socket before it connects or binds.

    The coordinator is the CURVE server of its three sockets; every other
    process is a client that knows the coordinator's public key.  Keys come
    from czmq certificate files (checkout-keys makes them): a process reads
    its own secret certificate and, as a client, the coordinator's public
    one.  Options take paths, never keys, so that no secret shows in a
    process list or a shell's history.
*/
#ifndef CK_CURVE_H_INCLUDED
#define CK_CURVE_H_INCLUDED

#include <czmq.h>
#include "config.h"

#ifdef __cplusplus
extern "C" {
#endif

//  The options of a CURVE client (participants, checkout, checkout-bench,
//  checkout-monitor): both or neither
#define CK_CURVE_CLIENT_OPTIONS \
    { "curve-secret", CK_OPT_STRING, NULL, 0, 0, "FILE", \
      "this process's secret certificate (checkout-keys); with --curve-server turns CURVE on" }, \
    { "curve-server", CK_OPT_STRING, NULL, 0, 0, "FILE", \
      "the coordinator's public certificate" }

//  A process's keys, in Z85; all "" when CURVE is off.  A plain value: copy
//  it freely, never log it.
typedef struct {
    char public_key [41];
    char secret_key [41];
    char server_key [41];               //  a client's: the coordinator's public key
} ck_curve_keys_t;

//  Loads this process's secret certificate from secret_path and, when not
//  NULL, the server's public certificate from server_path.  Returns 0, or
//  -1 with a sentence in error (a missing or unreadable file, one with no
//  valid key, a secret file that others than its owner may read).
int ck_curve_keys_load (ck_curve_keys_t *keys, const char *secret_path,
                        const char *server_path, char *error, size_t size);

//  zcert_load (path), without the leak czmq 4.2.1 has for a file it cannot
//  parse (zconfig_load drops its zfile_t): path, and path_secret when it
//  exists, are parsed first.  Returns the certificate, or NULL.
zcert_t *ck_cert_load (const char *path);

//  Reads --curve-secret and --curve-server (CK_CURVE_CLIENT_OPTIONS) into
//  keys: both unset leaves CURVE off.  Returns 0, or 2 after a usage error.
int ck_curve_client_flags (ck_config_t *flags, ck_curve_keys_t *keys);

//  True when keys turn CURVE on.  Can't fail; false for NULL.
bool ck_curve_on (const ck_curve_keys_t *keys);

//  Makes sock a CURVE client of keys->server_key, before it connects;
//  nothing when keys is NULL or off.  Can't fail.
void ck_curve_client_apply (const ck_curve_keys_t *keys, zsock_t *sock);

//  Makes sock a CURVE server with keys, before it binds; nothing when keys
//  is NULL or off.  Can't fail.
void ck_curve_server_apply (const ck_curve_keys_t *keys, zsock_t *sock);

#ifdef __cplusplus
}
#endif

#endif

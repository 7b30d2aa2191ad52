/*  curve.c - CURVE on this project's sockets: key files, options, setup
    czmq's zcert reads the files; the keys travel as Z85 text.
*/
#include <assert.h>
#include <sys/stat.h>
#include "checkout/curve.h"

static const char s_zero_key [] = "0000000000000000000000000000000000000000";

//  True when path is missing or holds text that zconfig parses
static bool
s_parses (const char *path)
{
    if (!zsys_file_exists (path))
        return true;
    zchunk_t *chunk = zchunk_slurp (path, 0);
    if (!chunk)
        return false;
    zconfig_t *config = zconfig_chunk_load (chunk);
    zchunk_destroy (&chunk);
    bool parses = config != NULL;
    zconfig_destroy (&config);
    return parses;
}

zcert_t *
ck_cert_load (const char *path)
{
    assert (path);
    char secret [PATH_MAX];
    snprintf (secret, sizeof secret, "%s_secret", path);
    if (!zsys_file_exists (path) || !s_parses (path) || !s_parses (secret))
        return NULL;
    return zcert_load (path);
}

//  Loads path's certificate; wants_secret requires its secret key.
//  Returns the certificate, or NULL with a sentence in error.
static zcert_t *
s_cert_load (const char *path, bool wants_secret, char *error, size_t size)
{
    struct stat info;
    if (stat (path, &info)) {
        snprintf (error, size, "%s: %s", path, strerror (errno));
        return NULL;
    }
    //  zcert_load reads <path>_secret when it exists: that file counts too
    char secret [PATH_MAX];
    struct stat secret_info;
    snprintf (secret, sizeof secret, "%s_secret", path);
    if (stat (secret, &secret_info) == 0)
        info.st_mode |= secret_info.st_mode;
    if (wants_secret && (info.st_mode & (S_IRWXG | S_IRWXO))) {
        snprintf (error, size, "%s: a secret certificate must be readable by its owner"
                  " only (chmod 600)", path);
        return NULL;
    }
    zcert_t *cert = ck_cert_load (path);
    const char *public_key = cert? zcert_public_txt (cert): NULL;
    const char *secret_key = cert? zcert_secret_txt (cert): NULL;
    if (!cert || !public_key || streq (public_key, s_zero_key)
    ||  (wants_secret && (!secret_key || streq (secret_key, s_zero_key)))) {
        snprintf (error, size, "%s: not a czmq certificate with a %s key", path,
                  wants_secret? "secret": "public");
        zcert_destroy (&cert);
        return NULL;
    }
    return cert;
}

int
ck_curve_keys_load (ck_curve_keys_t *keys, const char *secret_path, const char *server_path,
                    char *error, size_t size)
{
    assert (keys && secret_path && error);
    memset (keys, 0, sizeof *keys);
    zcert_t *own = s_cert_load (secret_path, true, error, size);
    if (!own)
        return -1;
    snprintf (keys->public_key, sizeof keys->public_key, "%s", zcert_public_txt (own));
    snprintf (keys->secret_key, sizeof keys->secret_key, "%s", zcert_secret_txt (own));
    zcert_destroy (&own);
    if (server_path) {
        zcert_t *server = s_cert_load (server_path, false, error, size);
        if (!server) {
            memset (keys, 0, sizeof *keys);
            return -1;
        }
        snprintf (keys->server_key, sizeof keys->server_key, "%s", zcert_public_txt (server));
        zcert_destroy (&server);
    }
    return 0;
}

int
ck_curve_client_flags (ck_config_t *flags, ck_curve_keys_t *keys)
{
    assert (flags && keys);
    memset (keys, 0, sizeof *keys);
    const char *secret = ck_config_str (flags, "curve-secret");
    const char *server = ck_config_str (flags, "curve-server");
    if (!secret && !server)
        return 0;
    if (!secret || !server) {
        ck_config_usage_error (flags, "--curve-secret and --curve-server go together");
        return 2;
    }
    char error [512];
    if (ck_curve_keys_load (keys, secret, server, error, sizeof error)) {
        ck_config_usage_error (flags, "CURVE: %s", error);
        return 2;
    }
    return 0;
}

bool
ck_curve_on (const ck_curve_keys_t *keys)
{
    return keys && keys->secret_key [0];
}

void
ck_curve_client_apply (const ck_curve_keys_t *keys, zsock_t *sock)
{
    assert (sock);
    if (!ck_curve_on (keys) || !keys->server_key [0])
        return;
    zsock_set_curve_publickey (sock, keys->public_key);
    zsock_set_curve_secretkey (sock, keys->secret_key);
    zsock_set_curve_serverkey (sock, keys->server_key);
}

void
ck_curve_server_apply (const ck_curve_keys_t *keys, zsock_t *sock)
{
    assert (sock);
    if (!ck_curve_on (keys))
        return;
    zsock_set_curve_server (sock, 1);
    zsock_set_curve_publickey (sock, keys->public_key);
    zsock_set_curve_secretkey (sock, keys->secret_key);
}

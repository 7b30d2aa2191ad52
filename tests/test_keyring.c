/*  test_keyring.c - the CURVE allow-lists and the key files
    Made by checkout-keys, read by keyring and curve; grants and revocations.
*/
#include <criterion/criterion.h>
#include <sys/stat.h>
#include "checkout/curve.h"
#include "keyring.h"
#include "process_helpers.h"

static char s_dir [64];

static void
s_init (void)
{
    snprintf (s_dir, sizeof s_dir, "/tmp/ck-keyring-XXXXXX");
    cr_assert_not_null (mkdtemp (s_dir));
}

static void
s_fini (void)
{
    char command [128];
    snprintf (command, sizeof command, "rm -rf '%s'", s_dir);
    cr_assert_eq (system (command), 0);
}

TestSuite (keyring, .init = s_init, .fini = s_fini, .timeout = 30);

//  Runs checkout-keys with args (a shell fragment); returns its exit code
static int
s_keys (const char *args)
{
    const char *bin = getenv ("CK_BIN_DIR");
    cr_assert_not_null (bin, "CK_BIN_DIR is not set");
    char command [512];
    snprintf (command, sizeof command, "'%s/checkout-keys' %s >/dev/null 2>&1", bin, args);
    int status = system (command);
    return WIFEXITED (status)? WEXITSTATUS (status): -1;
}

static void
s_key_of (const char *name, char key [KEYRING_KEY_SIZE])
{
    char path [128];
    snprintf (path, sizeof path, "%s/keys/%s.key", s_dir, name);
    cr_assert_eq (keyring_public_key (path, key), 0, "%s", path);
}

static mode_t
s_mode (const char *name)
{
    char path [128];
    snprintf (path, sizeof path, "%s/keys/%s", s_dir, name);
    struct stat info;
    cr_assert_eq (stat (path, &info), 0, "%s", path);
    return info.st_mode & 0777;
}

Test (keyring, init_makes_private_key_pairs_and_one_allow_list_per_role)
{
    char args [128];
    snprintf (args, sizeof args, "init %s/keys", s_dir);
    cr_assert_eq (s_keys (args), 0);
    cr_assert_eq (s_mode (""), 0700);
    cr_assert_eq (s_mode ("payment.key_secret"), 0600);
    cr_assert_eq (s_mode ("allow/payment"), 0700);
    cr_assert_eq (s_keys (args), 0, "init again keeps what is there");

    char allow [128], payment [KEYRING_KEY_SIZE], client [KEYRING_KEY_SIZE],
         coordinator [KEYRING_KEY_SIZE];
    snprintf (allow, sizeof allow, "%s/keys/allow", s_dir);
    keyring_t *keyring = keyring_new (allow);
    cr_assert_not_null (keyring);
    s_key_of ("payment", payment);
    s_key_of ("client", client);
    s_key_of ("coordinator", coordinator);
    cr_assert (keyring_allows (keyring, "payment", payment));
    cr_assert_not (keyring_allows (keyring, "order", payment));
    cr_assert (keyring_serves (keyring, payment));
    cr_assert_not (keyring_serves (keyring, client));
    cr_assert (keyring_allows_any (keyring, "admin client", client));
    cr_assert_not (keyring_allows_any (keyring, "admin monitor", client));
    cr_assert_not (keyring_serves (keyring, coordinator), "the server holds no role");
    cr_assert_not (keyring_allows (keyring, "payment", ""));
    cr_assert_not (keyring_allows (keyring, "payment", NULL));
    cr_assert_eq (keyring_size (keyring), 6);

    //  a new key and its grant appear on reload; a revoked one goes
    snprintf (args, sizeof args, "new %s/keys payment-2 payment", s_dir);
    cr_assert_eq (s_keys (args), 0);
    char second [KEYRING_KEY_SIZE];
    s_key_of ("payment-2", second);
    cr_assert_not (keyring_allows (keyring, "payment", second));
    cr_assert_eq (keyring_reload (keyring), 0);
    cr_assert (keyring_allows (keyring, "payment", second));
    snprintf (args, sizeof args, "revoke %s/keys payment-2 payment", s_dir);
    cr_assert_eq (s_keys (args), 0);
    cr_assert_eq (keyring_reload (keyring), 1);
    cr_assert_not (keyring_allows (keyring, "payment", second));
    keyring_destroy (&keyring);
    keyring_destroy (&keyring);
}

Test (keyring, bad_input_is_refused_clearly)
{
    char args [160];
    cr_assert_eq (s_keys ("bogus /tmp/x"), 2);
    snprintf (args, sizeof args, "new %s/keys ../escape", s_dir);
    cr_assert_eq (s_keys (args), 2);
    snprintf (args, sizeof args, "allow %s/keys nobody payment", s_dir);
    cr_assert_eq (s_keys (args), 1, "no such key pair");
    cr_assert_null (keyring_new ("/nonexistent/allow"));

    //  key files: missing, not a certificate, a secret others can read
    snprintf (args, sizeof args, "init %s/keys", s_dir);
    cr_assert_eq (s_keys (args), 0);
    ck_curve_keys_t keys;
    char error [512], secret [128], server [128], junk [128];
    snprintf (secret, sizeof secret, "%s/keys/payment.key_secret", s_dir);
    snprintf (server, sizeof server, "%s/keys/coordinator.key", s_dir);
    snprintf (junk, sizeof junk, "%s/junk", s_dir);
    cr_assert_eq (ck_curve_keys_load (&keys, secret, server, error, sizeof error), 0, "%s", error);
    cr_assert (ck_curve_on (&keys));
    cr_assert_eq (strlen (keys.server_key), 40);
    cr_assert_eq (ck_curve_keys_load (&keys, junk, server, error, sizeof error), -1);
    cr_assert (strstr (error, junk));
    FILE *file = fopen (junk, "w");
    cr_assert_not_null (file);
    fputs ("not a certificate\n", file);
    fclose (file);
    chmod (junk, 0600);
    cr_assert_eq (ck_curve_keys_load (&keys, junk, server, error, sizeof error), -1);
    cr_assert (strstr (error, "not a czmq certificate"), "%s", error);
    cr_assert_not (ck_curve_on (&keys));
    char public [128];
    snprintf (public, sizeof public, "%s/keys/allow/client/client.key", s_dir);
    cr_assert_eq (ck_curve_keys_load (&keys, public, NULL, error, sizeof error), -1,
                  "a public certificate is not a secret one");
    chmod (secret, 0644);
    cr_assert_eq (ck_curve_keys_load (&keys, secret, server, error, sizeof error), -1);
    cr_assert (strstr (error, "chmod 600"), "%s", error);
}

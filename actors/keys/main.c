/*  main.c - checkout-keys, the CURVE key pairs and allow-lists of a deployment
    Makes czmq certificates per process and grants or revokes their roles.

    Layout of DIR (docs/operations.md, Keys):
        DIR/NAME.key            NAME's public certificate
        DIR/NAME.key_secret     its secret certificate, mode 0600
        DIR/allow/ROLE/NAME.key copies of public certificates: NAME holds ROLE
    DIR and every directory in it are mode 0700.  Secret keys are written
    to files only: never printed, never logged.
*/
#include <czmq.h>
#include <ctype.h>
#include <sys/stat.h>
#include "checkout/config.h"
#include "checkout/curve.h"
#include "keyring.h"

#define EXIT_USAGE  2
//  The process names init makes, each with the role of the same name
//  (the coordinator has none: it is the server)
static const char *s_defaults [] = {
    "coordinator", "client", "admin", "monitor", "inventory", "payment", "order"
};

static const ck_option_t s_options [] = {
    { .name = NULL }
};

static const ck_program_t s_program = {
    .name = "checkout-keys",
    .summary = "CURVE keys: init DIR | new DIR NAME [ROLE] | allow DIR NAME ROLE |"
               " revoke DIR NAME ROLE | list DIR",
    .args = "COMMAND DIR [NAME [ROLE]]",
    .max_args = 4,
    .commands = "init new allow revoke list",
    .options = s_options,
    .examples =
        "  checkout-keys init data/keys        (every default process and role)\n"
        "  checkout-keys new data/keys payment-2 payment\n"
        "  checkout-keys revoke data/keys payment-2 payment\n"
        "  checkout-keys list data/keys\n"
};

//  A name or role: 1..64 of [a-z0-9_.-], not starting with '.'
static bool
s_name_valid (const char *name)
{
    size_t size = strlen (name);
    if (size == 0 || size > 64 || name [0] == '.')
        return false;
    for (size_t i = 0; i < size; i++)
        if (!islower ((unsigned char) name [i]) && !isdigit ((unsigned char) name [i])
        &&  !strchr ("_.-", name [i]))
            return false;
    return true;
}

//  Makes path a directory of mode 0700, and its missing parents (it may
//  exist).  0, or -1 after saying why.
static int
s_private_dir (const char *path)
{
    if (zsys_dir_create ("%s", path)) {
        fprintf (stderr, "checkout-keys: %s: %s\n", path, strerror (errno));
        return -1;
    }
    if (chmod (path, 0700)) {
        fprintf (stderr, "checkout-keys: %s: %s\n", path, strerror (errno));
        return -1;
    }
    return 0;
}

static bool
s_exists (const char *path)
{
    struct stat info;
    return stat (path, &info) == 0;
}

//  Copies NAME's public certificate into DIR/allow/ROLE.  0, or -1.
static int
s_allow (const char *dir, const char *name, const char *role)
{
    char path [PATH_MAX], allow [PATH_MAX], target [PATH_MAX];
    snprintf (path, sizeof path, "%s/%s.key", dir, name);
    snprintf (allow, sizeof allow, "%s/allow", dir);
    snprintf (target, sizeof target, "%s/allow/%s", dir, role);
    zcert_t *cert = ck_cert_load (path);
    char key [KEYRING_KEY_SIZE];
    if (!cert || keyring_public_key (path, key)) {
        fprintf (stderr, "checkout-keys: %s: no public certificate (checkout-keys new)\n", path);
        zcert_destroy (&cert);
        return -1;
    }
    int rc = s_private_dir (allow) || s_private_dir (target)? -1: 0;
    snprintf (target, sizeof target, "%s/allow/%s/%s.key", dir, role, name);
    if (rc == 0 && zcert_save_public (cert, target)) {
        fprintf (stderr, "checkout-keys: %s: cannot write\n", target);
        rc = -1;
    }
    zcert_destroy (&cert);
    if (rc == 0)
        printf ("allowed %s as %s\n", name, role);
    return rc;
}

//  Makes NAME's key pair in DIR; an existing pair is kept when keep, else
//  an error.  0, or -1.
static int
s_new (const char *dir, const char *name, bool keep)
{
    char path [PATH_MAX], secret [PATH_MAX];
    snprintf (path, sizeof path, "%s/%s.key", dir, name);
    snprintf (secret, sizeof secret, "%s/%s.key_secret", dir, name);
    if (s_exists (path) || s_exists (secret)) {
        if (keep)
            return 0;
        fprintf (stderr, "checkout-keys: %s exists: revoke and remove it first\n", path);
        return -1;
    }
    zcert_t *cert = zcert_new ();
    if (!cert) {
        fprintf (stderr, "checkout-keys: cannot make a key pair\n");
        return -1;
    }
    zcert_set_meta (cert, "name", "%s", name);
    //  zcert_save writes path and path_secret; the umask keeps both private
    int rc = zcert_save (cert, path);
    if (rc || chmod (secret, 0600)) {
        fprintf (stderr, "checkout-keys: %s: cannot write\n", path);
        rc = -1;
    }
    else
        printf ("made %s public=%s\n", name, zcert_public_txt (cert));
    zcert_destroy (&cert);
    return rc;
}

static int
s_revoke (const char *dir, const char *name, const char *role)
{
    char path [PATH_MAX];
    snprintf (path, sizeof path, "%s/allow/%s/%s.key", dir, role, name);
    if (unlink (path)) {
        fprintf (stderr, "checkout-keys: %s: %s\n", path, strerror (errno));
        return -1;
    }
    printf ("revoked %s as %s\n", name, role);
    return 0;
}

static int
s_init (const char *dir)
{
    for (size_t i = 0; i < sizeof s_defaults / sizeof *s_defaults; i++) {
        const char *name = s_defaults [i];
        char grant [PATH_MAX];
        snprintf (grant, sizeof grant, "%s/allow/%s/%s.key", dir, name, name);
        if (s_new (dir, name, true))
            return -1;
        if (!streq (name, "coordinator") && !s_exists (grant) && s_allow (dir, name, name))
            return -1;
    }
    char allow [PATH_MAX];
    snprintf (allow, sizeof allow, "%s/allow", dir);
    return s_private_dir (allow);
}

//  Prints every role and the names and public keys that hold it
static int
s_list (const char *dir)
{
    char allow [PATH_MAX];
    snprintf (allow, sizeof allow, "%s/allow", dir);
    zdir_t *root = zdir_new (allow, NULL);
    if (!root) {
        fprintf (stderr, "checkout-keys: %s: no allow-lists (checkout-keys init)\n", allow);
        return -1;
    }
    zfile_t **files = zdir_flatten (root);
    for (size_t i = 0; files [i]; i++) {
        const char *path = zfile_filename (files [i], NULL);
        char key [KEYRING_KEY_SIZE];
        if (strstr (path, "_secret") || keyring_public_key (path, key))
            continue;
        printf ("%s %s\n", zfile_filename (files [i], allow) , key);
    }
    zdir_flatten_free (&files);
    zdir_destroy (&root);
    return 0;
}

static int
s_run (ck_config_t *config)
{
    int count = ck_config_arg_count (config);
    const char *command = count > 0? ck_config_arg (config, 0): "";
    const char *dir = count > 1? ck_config_arg (config, 1): NULL;
    const char *name = count > 2? ck_config_arg (config, 2): NULL;
    const char *role = count > 3? ck_config_arg (config, 3): NULL;
    bool named = streq (command, "new") || streq (command, "allow") || streq (command, "revoke");
    bool roled = streq (command, "allow") || streq (command, "revoke");
    if (!named && !streq (command, "init") && !streq (command, "list")) {
        ck_config_usage_error (config, "'%s' is not a command: init, new, allow, revoke, list",
                               command);
        return EXIT_USAGE;
    }
    if (!dir || (named && !name) || (roled && !role) || (!named && name)) {
        ck_config_usage_error (config, "%s: missing or extra arguments (--help)", command);
        return EXIT_USAGE;
    }
    if ((name && !s_name_valid (name)) || (role && !s_name_valid (role))) {
        ck_config_usage_error (config, "names and roles are 1 to 64 of a-z, 0-9, _ . -");
        return EXIT_USAGE;
    }
    if (!streq (command, "list") && s_private_dir (dir))
        return 1;
    int rc = 0;
    if (streq (command, "init"))
        rc = s_init (dir);
    else
    if (streq (command, "new"))
        rc = s_new (dir, name, false) || (role && s_allow (dir, name, role))? -1: 0;
    else
    if (streq (command, "allow"))
        rc = s_allow (dir, name, role);
    else
    if (streq (command, "revoke"))
        rc = s_revoke (dir, name, role);
    else
        rc = s_list (dir);
    return rc? 1: 0;
}

int
main (int argc, char *argv [])
{
    int exit_code = 0;
    ck_config_t *config = ck_config_new (&s_program, argc, argv, &exit_code);
    if (!config)
        return exit_code;
    umask (077);                        //  nothing this tool writes is for others
    zsys_init ();
    exit_code = s_run (config);
    ck_config_destroy (&config);
    return exit_code;
}

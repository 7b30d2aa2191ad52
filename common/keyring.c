/*  keyring.c - the CURVE allow-lists: which public keys hold which role
    A set of "role key" strings, read from the allow-list directories.
*/
#include <czmq.h>
#include <dirent.h>
#include <sys/stat.h>
#include "checkout/curve.h"
#include "keyring.h"

#define ROLE_MAX 64                     //  a role directory's name
//  Roles that are not services (docs/protocol.md, Security)
static const char *s_non_services [] = { "client", "admin", "monitor" };

struct _keyring_t {
    char *root;
    zhashx_t *grants;                   //  "role key" -> (void *) 1
    zlistx_t *withdrawn;                //  "role key" of the last reload
    bool unreadable;                    //  the last read failed (said once)
};

static void *
s_text_dup (const void *item)
{
    return strdup ((const char *) item);
}

static void
s_text_free (void **item_p)
{
    free (*item_p);
    *item_p = NULL;
}

static bool
s_ends_with (const char *text, const char *suffix)
{
    size_t size = strlen (text), suffix_size = strlen (suffix);
    return size >= suffix_size && streq (text + size - suffix_size, suffix);
}

int
keyring_public_key (const char *path, char key [KEYRING_KEY_SIZE])
{
    assert (path && key);
    zcert_t *cert = ck_cert_load (path);
    if (!cert)
        return -1;
    const char *text = zcert_public_txt (cert);
    //  a file without a curve/public-key loads as the all-zero key
    int rc = text && strlen (text) == 40
          && !streq (text, "0000000000000000000000000000000000000000")? 0: -1;
    if (rc == 0)
        memcpy (key, text, KEYRING_KEY_SIZE);
    zcert_destroy (&cert);
    return rc;
}

//  Adds the grants of one role's directory
static void
s_read_role (zhashx_t *grants, const char *root, const char *role)
{
    char path [PATH_MAX];
    if (snprintf (path, sizeof path, "%s/%s", root, role) >= (int) sizeof path)
        return;
    DIR *dir = opendir (path);
    if (!dir)
        return;
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        if (entry->d_name [0] == '.' || s_ends_with (entry->d_name, "_secret"))
            continue;
        char file [PATH_MAX], key [KEYRING_KEY_SIZE], grant [ROLE_MAX + KEYRING_KEY_SIZE + 1];
        struct stat info;
        if (snprintf (file, sizeof file, "%s/%s", path, entry->d_name) >= (int) sizeof file
        ||  stat (file, &info) || !S_ISREG (info.st_mode))
            continue;
        if (keyring_public_key (file, key)) {
            zsys_warning ("keyring: %s holds no public key: ignored", file);
            continue;
        }
        snprintf (grant, sizeof grant, "%s %s", role, key);
        zhashx_update (grants, grant, (void *) 1);
    }
    closedir (dir);
}

//  The grants under root, or NULL when root cannot be read
static zhashx_t *
s_read (const char *root)
{
    DIR *dir = opendir (root);
    if (!dir)
        return NULL;
    zhashx_t *grants = zhashx_new ();
    struct dirent *entry;
    while ((entry = readdir (dir))) {
        if (entry->d_name [0] == '.' || strlen (entry->d_name) >= ROLE_MAX)
            continue;
        s_read_role (grants, root, entry->d_name);
    }
    closedir (dir);
    return grants;
}

keyring_t *
keyring_new (const char *root)
{
    assert (root);
    zhashx_t *grants = s_read (root);
    if (!grants) {
        zsys_error ("keyring: cannot read the allow-lists in %s: %s", root, strerror (errno));
        return NULL;
    }
    keyring_t *self = (keyring_t *) zmalloc (sizeof (keyring_t));
    self->root = strdup (root);
    self->grants = grants;
    self->withdrawn = zlistx_new ();
    zlistx_set_duplicator (self->withdrawn, s_text_dup);
    zlistx_set_destructor (self->withdrawn, s_text_free);
    return self;
}

void
keyring_destroy (keyring_t **self_p)
{
    assert (self_p);
    keyring_t *self = *self_p;
    if (!self)
        return;
    zhashx_destroy (&self->grants);
    zlistx_destroy (&self->withdrawn);
    free (self->root);
    free (self);
    *self_p = NULL;
}

int
keyring_reload (keyring_t *self)
{
    assert (self);
    zhashx_t *grants = s_read (self->root);
    if (!grants) {
        if (!self->unreadable)
            zsys_error ("keyring: cannot read the allow-lists in %s: %s; keeping the"
                        " last ones", self->root, strerror (errno));
        self->unreadable = true;
        return -1;
    }
    self->unreadable = false;
    zlistx_purge (self->withdrawn);
    for (void *item = zhashx_first (self->grants); item; item = zhashx_next (self->grants)) {
        const char *grant = (const char *) zhashx_cursor (self->grants);
        if (!zhashx_lookup (grants, grant))
            zlistx_add_end (self->withdrawn, (void *) grant);
    }
    size_t before = zhashx_size (self->grants);
    zhashx_destroy (&self->grants);
    self->grants = grants;
    size_t withdrawn = zlistx_size (self->withdrawn);
    if (withdrawn || before != zhashx_size (grants))
        zsys_notice ("keyring: allow-lists reloaded from %s grants=%zu withdrawn=%zu",
                     self->root, zhashx_size (grants), withdrawn);
    return (int) withdrawn;
}

bool
keyring_allows (keyring_t *self, const char *role, const char *key)
{
    assert (self && role);
    if (!key || strlen (key) != KEYRING_KEY_SIZE - 1 || strlen (role) >= ROLE_MAX)
        return false;
    char grant [ROLE_MAX + KEYRING_KEY_SIZE + 1];
    snprintf (grant, sizeof grant, "%s %s", role, key);
    return zhashx_lookup (self->grants, grant) != NULL;
}

bool
keyring_allows_any (keyring_t *self, const char *roles, const char *key)
{
    assert (self && roles);
    const char *at = roles;
    while (*at) {
        size_t size = strcspn (at, " ");
        char role [ROLE_MAX];
        if (size > 0 && size < ROLE_MAX) {
            memcpy (role, at, size);
            role [size] = 0;
            if (keyring_allows (self, role, key))
                return true;
        }
        at += size;
        at += strspn (at, " ");
    }
    return false;
}

bool
keyring_serves (keyring_t *self, const char *key)
{
    assert (self);
    if (!key || strlen (key) != KEYRING_KEY_SIZE - 1)
        return false;
    for (void *item = zhashx_first (self->grants); item; item = zhashx_next (self->grants)) {
        const char *grant = (const char *) zhashx_cursor (self->grants);
        const char *space = strchr (grant, ' ');
        if (!space || !streq (space + 1, key))
            continue;
        bool service = true;
        for (size_t i = 0; i < sizeof s_non_services / sizeof *s_non_services; i++)
            if ((size_t) (space - grant) == strlen (s_non_services [i])
            &&  memcmp (grant, s_non_services [i], (size_t) (space - grant)) == 0)
                service = false;
        if (service)
            return true;
    }
    return false;
}

size_t
keyring_size (keyring_t *self)
{
    assert (self);
    return zhashx_size (self->grants);
}

void
keyring_each_withdrawn (keyring_t *self,
                        void (*fn) (void *arg, const char *role, const char *key), void *arg)
{
    assert (self && fn);
    for (const char *grant = (const char *) zlistx_first (self->withdrawn); grant;
         grant = (const char *) zlistx_next (self->withdrawn)) {
        const char *space = strchr (grant, ' ');
        char role [ROLE_MAX];
        size_t size = space? (size_t) (space - grant): 0;
        if (!space || size >= ROLE_MAX)
            continue;
        memcpy (role, grant, size);
        role [size] = 0;
        fn (arg, role, space + 1);
    }
}

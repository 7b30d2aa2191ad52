/*  keyring.h - the CURVE allow-lists: which public keys hold which role
    One directory per role under an allow-list root, czmq certificates in each.

    The root holds a directory per role (client, admin, monitor, and one per
    service of the step table: inventory, payment, order, ...); each holds
    the public certificates (czmq's zcert format, as checkout-keys writes
    them) of the keys allowed that role.  A key may hold several roles.
    Files ending in _secret are never read.  keyring_reload reads the
    directories again, so that an operator grants or revokes a role by
    adding or removing a file, without a restart.
*/
#ifndef CK_KEYRING_H_INCLUDED
#define CK_KEYRING_H_INCLUDED

#include <stdbool.h>
#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

#define KEYRING_KEY_SIZE 41             //  a public key in Z85, with its NUL

typedef struct _keyring_t keyring_t;

//  Reads the allow-lists under root.  Returns a new keyring owned by the
//  caller, or NULL after logging why (root is not a readable directory).
//  An empty root is valid: it allows nobody.
keyring_t *keyring_new (const char *root);

//  Destroys the keyring; safe on NULL, nulls the pointer.
void keyring_destroy (keyring_t **self_p);

//  Reads the directories again.  Returns how many (role, key) grants were
//  withdrawn since the last read (0 when none), or -1 when root can no
//  longer be read (the keyring then keeps what it had, and says so once).
//  Reads only certificates, so it is cheap for the few keys a deployment
//  has; callers run it about once a second.
int keyring_reload (keyring_t *self);

//  True when key (Z85) holds role.  Can't fail; false for NULL or "".
bool keyring_allows (keyring_t *self, const char *role, const char *key);

//  True when key holds any role of a service: any role but client, admin
//  and monitor.  Can't fail.
bool keyring_serves (keyring_t *self, const char *key);

//  True when key holds any of the roles, a list separated by spaces.
bool keyring_allows_any (keyring_t *self, const char *roles, const char *key);

//  Number of (role, key) grants.  Can't fail.
size_t keyring_size (keyring_t *self);

//  The (role, key) grants withdrawn by the last keyring_reload: calls fn
//  for each.  Can't fail.
void keyring_each_withdrawn (keyring_t *self,
    void (*fn) (void *arg, const char *role, const char *key), void *arg);

//  Loads a certificate file and copies its public key (Z85) into key.
//  Returns 0, or -1 when the file is missing or holds no valid key.
int keyring_public_key (const char *path, char key [KEYRING_KEY_SIZE]);

#ifdef __cplusplus
}
#endif

#endif

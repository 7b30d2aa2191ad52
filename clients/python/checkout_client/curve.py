"""CURVE keys from the certificate files checkout-keys makes (czmq's zcert
format, docs/operations.md "Keys and CURVE"), and their options on a socket.

A certificate is ZPL text: a `curve` section holding `public-key = "..."`
and, in the secret certificate (NAME.key_secret), `secret-key = "..."`, each
key 40 characters of Z85.  The client needs its own pair and the
coordinator's public key (coordinator.key).
"""

import collections
import os
import re

import zmq

KEY_LENGTH = 40                 # Z85 text of a 32-byte key
FILE_MAX = 65536                # bytes; a certificate is a few hundred
ZERO_KEY = "0" * KEY_LENGTH     # what czmq writes for a key it does not have
Z85 = ("0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
       ".-:+=^!/*?&<>()[]{}@%$#")

#  name = value, the value quoted ("..." or '...') or a word; then a comment
_PROPERTY = re.compile(r"""([^\s=#]+) \s* (?: = \s* (?: "([^"]*)" | '([^']*)' | ([^\s\#]*) ) )?
                           \s* (?: \#.* )? $""", re.VERBOSE)

Keys = collections.namedtuple("Keys", "public secret server")
Keys.__doc__ = """The client's public and secret key and the coordinator's
public key, each as 40 bytes of Z85."""


def load(secret_path, server_path):
    """The Keys of the client's secret certificate and the coordinator's
    public certificate; None when both paths are None.  ValueError for one
    without the other, a file missing or unreadable, a secret certificate
    others may read, or a file without its valid key."""
    if secret_path is None and server_path is None:
        return None
    if secret_path is None or server_path is None:
        raise ValueError("curve_secret and curve_server go together")
    if not zmq.has("curve"):
        raise ValueError("this libzmq has no CURVE (built without libsodium)")
    own = _certificate(secret_path, secret=True)
    server = _certificate(server_path)
    if _key(own, secret_path, "secret-key") == ZERO_KEY:
        raise ValueError("%s: not a secret certificate (its secret-key is zero); give "
                         "NAME.key_secret" % secret_path)
    public = _key(own, secret_path, "public-key").encode("ascii")
    secret = _key(own, secret_path, "secret-key").encode("ascii")
    try:
        derived = zmq.curve_public(secret)
    except zmq.ZMQError:
        raise ValueError("%s: secret-key is not a CURVE key" % secret_path) from None
    if derived != public:
        raise ValueError("%s: public-key is not the one of its secret-key" % secret_path)
    return Keys(public, secret, _key(server, server_path, "public-key").encode("ascii"))


def apply(keys, socket):
    """Makes socket a CURVE client of the coordinator with keys (before it
    connects); nothing when keys is None.  Can't fail."""
    if keys is None:
        return
    socket.setsockopt(zmq.CURVE_SERVERKEY, keys.server)
    socket.setsockopt(zmq.CURVE_PUBLICKEY, keys.public)
    socket.setsockopt(zmq.CURVE_SECRETKEY, keys.secret)


def _certificate(path, secret=False):
    """The properties of path's `curve` section, as a dict.  A secret
    certificate must be readable by its owner only, as the C programs
    require."""
    if not isinstance(path, (str, bytes, os.PathLike)):
        raise ValueError("%r: not a path" % (path,))
    try:
        with open(path, "rb") as file:
            if secret and os.fstat(file.fileno()).st_mode & 0o077:
                raise ValueError("%s: a secret certificate must be readable by its "
                                 "owner only (chmod 600)" % os.fsdecode(path))
            data = file.read(FILE_MAX + 1)
    except OSError as error:
        raise ValueError("%s: cannot read it (%s)"
                         % (os.fsdecode(path), error.strerror or error)) from None
    if len(data) > FILE_MAX:
        raise ValueError("%s: over %d bytes: not a certificate"
                         % (os.fsdecode(path), FILE_MAX))
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise ValueError("%s: not text: not a certificate" % os.fsdecode(path)) from None
    return _curve_section(text)


def _curve_section(text):
    """The properties directly under the top-level `curve` section of ZPL
    text (children are indented by 4 spaces a level; # starts a comment)."""
    section, properties = None, {}
    for line in text.splitlines():
        stripped = line.strip()
        if not stripped or stripped.startswith("#"):
            continue
        depth = (len(line) - len(line.lstrip(" "))) // 4
        match = _PROPERTY.match(stripped)
        name = match.group(1) if match else None
        if depth == 0:
            section = name
        elif depth == 1 and section == "curve" and match:
            value = next((group for group in match.groups()[1:] if group is not None), "")
            properties.setdefault(name, value)
    return properties


def _key(properties, path, name):
    """The key `name` of a certificate's curve section, checked as 40
    characters of Z85."""
    key = properties.get(name)
    if key is None:
        raise ValueError("%s: not a czmq certificate with a %s (curve section, %s = \"...\")"
                         % (os.fsdecode(path), name, name))
    if len(key) != KEY_LENGTH or not _z85(key):
        raise ValueError("%s: %s is not %d characters of Z85"
                         % (os.fsdecode(path), name, KEY_LENGTH))
    if name == "public-key" and key == ZERO_KEY:
        raise ValueError("%s: public-key is zero: not a key" % os.fsdecode(path))
    return key


def _z85(text):
    """True when text is Z85: its characters, each 5 of them a 32-bit value."""
    for start in range(0, len(text), 5):
        value = 0
        for char in text[start:start + 5]:
            if char not in Z85:
                return False
            value = value * 85 + Z85.index(char)
        if value >= 2 ** 32:
            return False
    return len(text) % 5 == 0

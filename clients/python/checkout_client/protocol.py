"""The CKC1 wire contract of docs/protocol.md: frames, bodies, limits.

Everything here is written from that page, not from the C code: bodies are
one msgpack map, checked in the page's order (size, structure, keys,
version, each key's type and limits, rules across keys).  A body we send
that breaks a rule raises ValueError before anything leaves; a reply that
breaks one raises ProtocolError.
"""

import re

import msgpack

SIGNATURE = b"CKC1"
VERSION = "1.0.0"
VERSION_MAJOR = 1

MAX_BODY = 65536                # bytes; more is too_large
MAX_DEPTH = 16                  # nesting of maps and arrays
ID_MAX = 64
TEXT_MAX = 256
NAME_MAX = 32                   # short texts: events, versions, phases
MAX_ITEMS = 100
MAX_QTY = 10000
MAX_UNIT_PRICE = 10 ** 9
MAX_HISTORY = 128
MAX_STEPS = 8
MAX_LIST = 100
BY_MAX = 64
CANCEL_REASON_MAX = 160
UINT64_MAX = 2 ** 64 - 1

ERROR_CODES = ("bad_frame", "bad_request", "amount_mismatch", "unsupported_version",
               "too_large", "overloaded", "conflict", "unknown_checkout", "forbidden",
               "not_owner")
STATUSES = ("confirmed", "failed", "pending", "stuck")
SAGA_STATES = ("running", "stuck", "confirmed", "failed")
OUTCOMES = ("ok", "rejected", "error", "timeout")

#  Commands the coordinator sends on the frontend, and whether they have a body
REPLIES = ("ACCEPTED", "RESULT", "ERROR", "PONG", "SAGAS", "DESCRIPTION")
#  Commands a client sends; PING alone has no body
REQUESTS = ("CHECKOUT", "STATUS", "PING", "LIST", "DESCRIBE", "RETRY", "CANCEL")

_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}\Z")
_VERSION = re.compile(r"(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\.(0|[1-9][0-9]*)\Z")
_COMMAND = re.compile(rb"[A-Z]{1,32}\Z")


class ProtocolError(Exception):
    """A reply that breaks the wire contract.

    code is the contract's name for what is wrong (bad_frame, too_large,
    bad_request, unsupported_version, amount_mismatch); command the reply's
    command when it could be read.
    """

    def __init__(self, code, message, command=None):
        super().__init__("%s: %s" % (code, message))
        self.code, self.message, self.command = code, message, command


class Body(dict):
    """A decoded map; its keys are readable as attributes too.

    An absent optional key reads as None; a name the schema does not know
    raises AttributeError, so a typo does not pass for an absent key.
    """

    def __init__(self, pairs, known):
        super().__init__(pairs)
        self._known = known

    def __getattr__(self, name):
        if name.startswith("_") or name not in self._known:
            raise AttributeError(name)
        return self.get(name)


#  -------------------------------------------------------------------------
#  Checkers: each takes (value, path) and returns the value or raises
#  _Invalid(path: why), which the caller turns into ValueError or
#  ProtocolError.

class _Invalid(Exception):
    def __init__(self, message, code="bad_request"):
        super().__init__(message)
        self.code = code


def identifier(value, path):
    if not isinstance(value, str):
        raise _Invalid("%s: must be a str" % path)
    if not _ID.match(value):
        raise _Invalid("%s: must be 1..64 bytes of [A-Za-z0-9._:-]" % path)
    return value


def text(low, high):
    def check(value, path):
        if not isinstance(value, str):
            raise _Invalid("%s: must be a str" % path)
        size = len(value.encode("utf-8"))
        if "\0" in value or not low <= size <= high:
            raise _Invalid("%s: must be %d..%d bytes of UTF-8 without NUL" % (path, low, high))
        return value
    return check


def upper(size):
    def check(value, path):
        if not (isinstance(value, str) and len(value) == size
                and all("A" <= c <= "Z" for c in value)):
            raise _Invalid("%s: must be %d upper-case letters" % (path, size))
        return value
    return check


def uint(low=0, high=UINT64_MAX):
    def check(value, path):
        #  bool is an int to Python, never to msgpack
        if not isinstance(value, int) or isinstance(value, bool):
            raise _Invalid("%s: must be a non-negative integer" % path)
        if not low <= value <= high:
            raise _Invalid("%s: %d is out of range %d..%d" % (path, value, low, high))
        return value
    return check


def boolean(value, path):
    if not isinstance(value, bool):
        raise _Invalid("%s: must be true or false" % path)
    return value


def one_of(names):
    def check(value, path):
        if not isinstance(value, str) or value not in names:
            raise _Invalid("%s: must be one of %s" % (path, ", ".join(names)))
        return value
    return check


def array(item, low, high):
    def check(value, path):
        if not isinstance(value, list):
            raise _Invalid("%s: must be an array" % path)
        if not low <= len(value) <= high:
            raise _Invalid("%s: %d entries, out of range %d..%d" % (path, len(value), low, high))
        return [item(entry, "%s[%d]" % (path, i)) for i, entry in enumerate(value)]
    return check


def record(fields, rule=None):
    """A map checked against fields {key: (required, checker)}; unknown keys
    are ignored (and dropped), as the contract says."""
    def check(value, path):
        if not isinstance(value, dict):
            raise _Invalid("%s: must be a map" % path if path else "body: not a map")
        out = {}
        for key, (required, checker) in fields.items():
            where = "%s.%s" % (path, key) if path else key
            if key in value:
                out[key] = checker(value[key], where)
            elif required:
                raise _Invalid("%s: missing" % where)
        if rule:
            rule(out)
        return Body(out, fields)
    return check


def _amount_rule(body):
    total = sum(item["qty"] * item["unit_price"] for item in body["items"])
    if body["amount"] != total:
        raise _Invalid("amount: %d is not the sum of the items, %d"
                       % (body["amount"], total), "amount_mismatch")


#  -------------------------------------------------------------------------
#  Schemas, one per body (docs/protocol.md, "Client protocol" and
#  "Operator commands").  Service and request type names are identifiers:
#  a group run with a step table may add its own.

R, O = True, False

ITEM = record({"sku": (R, identifier), "qty": (R, uint(1, MAX_QTY)),
               "unit_price": (R, uint(0, MAX_UNIT_PRICE))})
SHIP_TO = record({"country": (R, upper(2))})
REASON = record({"code": (R, identifier), "message": (R, text(0, TEXT_MAX)),
                 "sku": (O, identifier)})
HISTORY = record({
    "at_ms": (R, uint()), "event": (R, text(1, NAME_MAX)), "step": (O, identifier),
    "type": (O, identifier), "attempt": (O, uint(1)), "outcome": (O, one_of(OUTCOMES)),
    "reason": (O, REASON),
})

CART_FIELDS = {
    "cart_id": (R, identifier), "customer_id": (R, identifier),
    "currency": (R, upper(3)), "items": (R, array(ITEM, 1, MAX_ITEMS)),
    "amount": (R, uint()), "payment_method": (R, identifier), "ship_to": (R, SHIP_TO),
}

SCHEMAS = {
    #  requests
    "CHECKOUT": record(dict({"checkout_id": (R, identifier), "ack": (O, boolean)},
                            **CART_FIELDS), _amount_rule),
    "STATUS": record({"checkout_id": (R, identifier)}),
    "LIST": record({"status": (O, one_of(SAGA_STATES)), "since_ms": (O, uint()),
                    "limit": (O, uint(1, MAX_LIST)), "cursor": (O, identifier)}),
    "DESCRIBE": record({"checkout_id": (R, identifier)}),
    "RETRY": record({"checkout_id": (R, identifier), "by": (R, text(1, BY_MAX))}),
    "CANCEL": record({"checkout_id": (R, identifier), "by": (R, text(1, BY_MAX)),
                      "reason": (O, text(0, CANCEL_REASON_MAX))}),
    #  replies
    "ACCEPTED": record({"checkout_id": (R, identifier), "saga_id": (R, identifier)}),
    "RESULT": record({
        "checkout_id": (R, identifier), "saga_id": (R, identifier),
        "status": (R, one_of(STATUSES)), "order_id": (O, identifier),
        "failed_step": (O, identifier), "reason": (O, REASON),
        "compensated": (O, array(identifier, 0, MAX_STEPS)), "elapsed_us": (R, uint()),
        "history": (O, array(HISTORY, 0, MAX_HISTORY)),
    }),
    "ERROR": record({"code": (R, one_of(ERROR_CODES)), "message": (R, text(0, TEXT_MAX)),
                     "checkout_id": (O, identifier), "owner": (O, text(0, TEXT_MAX))}),
    "PONG": record({"version": (R, text(1, NAME_MAX)), "uptime_ms": (R, uint()),
                    "unserved": (O, array(identifier, 0, MAX_STEPS))}),
    "SAGAS": record({
        "sagas": (R, array(record({
            "checkout_id": (R, identifier), "saga_id": (R, identifier),
            "status": (R, one_of(SAGA_STATES)), "step": (O, identifier),
            "type": (O, identifier), "attempt": (O, uint(1)),
            "accepted_ms": (R, uint()), "elapsed_us": (O, uint()),
        }), 0, MAX_LIST)),
        "next": (O, identifier),
    }),
    "DESCRIPTION": record(dict({
        "checkout_id": (R, identifier), "saga_id": (R, identifier),
        "status": (R, one_of(SAGA_STATES)), "phase": (R, text(1, NAME_MAX)),
        "steps": (R, array(record({
            "step": (R, identifier), "action": (R, identifier),
            "compensation": (O, identifier), "kind": (R, text(1, NAME_MAX)),
            "state": (R, text(1, NAME_MAX)), "result_id": (O, identifier),
        }), 1, MAX_STEPS)),
        "type": (O, identifier), "attempt": (O, uint(1)), "counted": (O, uint()),
        "failed_step": (O, identifier), "reason": (O, REASON),
        "accepted_ms": (R, uint()), "elapsed_us": (O, uint()),
        "history": (O, array(HISTORY, 0, MAX_HISTORY)), "history_total": (O, uint()),
    }, **CART_FIELDS), _amount_rule),
}


#  -------------------------------------------------------------------------
#  Encoding and decoding

def encode(command, body, check=True):
    """The body of a request as bytes, with "v"; ValueError naming the key
    when the body breaks a rule of the contract (nothing is sent then).
    check=False packs any map as it is, for tests of the coordinator."""
    if command not in REQUESTS:
        raise ValueError("%s: not a command a client sends" % command)
    if command == "PING":
        if body is not None:
            raise ValueError("PING has no body")
        return None
    if not check:
        return msgpack.packb(body, use_bin_type=True)
    try:
        SCHEMAS[command](body, "")
    except _Invalid as error:
        raise ValueError("%s %s" % (command, error)) from None
    data = msgpack.packb(dict(body, v=VERSION), use_bin_type=True)
    if len(data) > MAX_BODY:
        raise ValueError("%s body: %d bytes, over the limit of %d"
                         % (command, len(data), MAX_BODY))
    return data


def _pairs(pairs):
    """msgpack's hook for every map: keys are str, none given twice."""
    out = {}
    for key, value in pairs:
        if not isinstance(key, str):
            raise _Invalid("body: a key that is not a str")
        if key in out:
            raise _Invalid("%s: given twice" % key)
        out[key] = value
    return out


def _depth(value, level=1):
    if level > MAX_DEPTH:
        raise _Invalid("body: nested more than %d deep" % MAX_DEPTH)
    children = value.values() if isinstance(value, dict) else \
        value if isinstance(value, list) else ()
    for child in children:
        if isinstance(child, (dict, list)):
            _depth(child, level + 1)


def _version(body):
    if "v" not in body:
        return
    match = isinstance(body["v"], str) and _VERSION.match(body["v"])
    if not match:
        raise _Invalid("v: not a version MAJOR.MINOR.PATCH")
    if int(match.group(1)) != VERSION_MAJOR:
        raise _Invalid("v: %s, this client speaks %d.x" % (body["v"], VERSION_MAJOR),
                       "unsupported_version")


def decode(command, data):
    """The body of a reply as a Body; ProtocolError when it breaks a rule."""
    if len(data) > MAX_BODY:
        raise ProtocolError("too_large", "%s body: %d bytes, over the limit of %d"
                            % (command, len(data), MAX_BODY), command)
    try:
        #  msgpack refuses counts larger than the bytes left and anything
        #  after the one object; raw=False refuses str that is not UTF-8
        #  and keeps bin as bytes, which no checker takes for a str
        body = msgpack.unpackb(data, raw=False, object_pairs_hook=_pairs,
                               strict_map_key=False, use_list=True)
    except _Invalid as error:
        raise ProtocolError(error.code, "%s %s" % (command, error), command) from None
    except Exception as error:     # msgpack's errors have no common base
        raise ProtocolError("bad_request", "%s body: not one valid msgpack map (%s)"
                            % (command, str(error) or type(error).__name__),
                            command) from None
    try:
        if not isinstance(body, dict):
            raise _Invalid("body: not a map")
        _depth(body)
        _version(body)
        return SCHEMAS[command](body, "")
    except _Invalid as error:
        raise ProtocolError(error.code, "%s %s" % (command, error), command) from None


def parse_frames(frames):
    """(command, body bytes or None) from the frames a DEALER receives:
    "", "CKC1", COMMAND[, body].  ProtocolError bad_frame otherwise."""
    if len(frames) < 3 or frames[0] != b"":
        raise ProtocolError("bad_frame", "a reply without the empty delimiter")
    if frames[1] != SIGNATURE:
        raise ProtocolError("bad_frame", "signature %r, not CKC1" % frames[1][:16])
    if not _COMMAND.match(frames[2]):
        raise ProtocolError("bad_frame", "command %r is not upper-case ASCII" % frames[2][:32])
    command = frames[2].decode("ascii")
    if command not in REPLIES:
        raise ProtocolError("bad_frame", "%s is not a command the coordinator sends" % command,
                            command)
    if len(frames) != 4:
        raise ProtocolError("bad_frame", "%s with %d frames after the command, not 1"
                            % (command, len(frames) - 3), command)
    return command, frames[3]

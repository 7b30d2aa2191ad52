#!/usr/bin/env python3
"""Submits one checkout, then reads it back as a client and as an operator.

    examples/checkout_example.py [--curve-secret FILE --curve-server FILE]
                                 [ENDPOINT] [CHECKOUT_ID]

Needs a running group (README.md, "Running it by hand").  A group under CURVE
(the default of scripts/run) serves only with keys: --curve-secret
KEYS/client.key_secret --curve-server KEYS/coordinator.key; a client key may
not describe or list (that needs an admin key), which the example then says.
Submitting the same checkout_id again is safe: the coordinator answers with
the same saga.
"""

import argparse
import sys

from checkout_client import CheckoutTimeout, Client, CoordinatorError

parser = argparse.ArgumentParser(description="Submits one checkout and reads it back.")
parser.add_argument("endpoint", nargs="?", default="tcp://127.0.0.1:5570")
parser.add_argument("checkout_id", nargs="?", default="chk-example-1")
parser.add_argument("--curve-secret", metavar="FILE",
                    help="this client's secret certificate (KEYS/client.key_secret)")
parser.add_argument("--curve-server", metavar="FILE",
                    help="the coordinator's public certificate (KEYS/coordinator.key)")
args = parser.parse_args()
endpoint, checkout_id = args.endpoint, args.checkout_id

try:
    client = Client(endpoint, timeout=10.0, curve_secret=args.curve_secret,
                    curve_server=args.curve_server)
except ValueError as error:
    parser.error(str(error))

with client:
    try:
        pong = client.ping(timeout=2.0)
        print("coordinator %s: version %s, up %.1f s" % (endpoint, pong.version,
                                                         pong.uptime_ms / 1000))
        result = client.submit(checkout_id, cart_id="cart-example-1",
                               customer_id="cust-42", currency="EUR",
                               items=[("SKU-0001", 2, 150), ("SKU-0002", 1, 300)],
                               payment_method="pm_card_visa", country="DE")
        print("checkout %s: %s, saga %s, order %s, %.3f ms"
              % (result.checkout_id, result.status, result.saga_id, result.order_id,
                 result.elapsed_us / 1000))
        if result.reason:
            print("  reason: %s (%s)" % (result.reason.code, result.reason.message))
        try:
            for step in client.describe(checkout_id).steps:
                print("  step %-10s %-13s %s" % (step.step, step.state,
                                                 step.result_id or "-"))
            for saga in client.list(limit=5):
                print("  recent: %s %s" % (saga.checkout_id, saga.status))
        except CoordinatorError as error:
            if error.code != "forbidden":
                raise
            print("  describe and list: forbidden to this key (an admin key may)")
    except CoordinatorError as error:
        sys.exit("coordinator refused: %s (%s)" % (error.code, error.message))
    except CheckoutTimeout as error:
        sys.exit("%s (a group under CURVE answers only a client with its keys)" % error)

#!/usr/bin/env python3
"""Submits one checkout, then reads it back as a client and as an operator.

    examples/checkout_example.py [ENDPOINT] [CHECKOUT_ID]

Needs a running group (README.md, "Running it by hand").  Submitting the same
checkout_id again is safe: the coordinator answers with the same saga.
"""

import sys

from checkout_client import CheckoutTimeout, Client, CoordinatorError

endpoint = sys.argv[1] if len(sys.argv) > 1 else "tcp://127.0.0.1:5570"
checkout_id = sys.argv[2] if len(sys.argv) > 2 else "chk-example-1"

with Client(endpoint, timeout=10.0) as client:
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
        for step in client.describe(checkout_id).steps:
            print("  step %-10s %-13s %s" % (step.step, step.state, step.result_id or "-"))
        for saga in client.list(limit=5):
            print("  recent: %s %s" % (saga.checkout_id, saga.status))
    except CoordinatorError as error:
        sys.exit("coordinator refused: %s (%s)" % (error.code, error.message))
    except CheckoutTimeout as error:
        sys.exit(str(error))

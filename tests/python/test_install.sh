#!/usr/bin/env bash
#  test_install.sh PYTHON SOURCE_DIR - clients/python installs offline with
#  pip into a fresh venv on Debian's setuptools, and imports from there
set -euo pipefail
python=$1 source=$2
work=$(mktemp -d /tmp/ck-pyinst.XXXXXX)
trap 'rm -rf "$work"' EXIT
cp -r "$source/clients/python" "$work/package"     # pip writes build files beside it
"$python" -m venv --system-site-packages "$work/venv"
"$work/venv/bin/pip" install -q --no-index --no-build-isolation "$work/package"
cd "$work"
"$work/venv/bin/python" - <<'PY'
import checkout_client, os
assert checkout_client.__file__.startswith(os.path.join(os.getcwd(), "venv")), checkout_client.__file__
for name in ("Client", "CoordinatorError", "CheckoutTimeout", "MalformedReply"):
    assert hasattr(checkout_client, name), name
print("python_client_install: ok,", checkout_client.__file__)
PY

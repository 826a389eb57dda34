#!/usr/bin/env bash
# Makes sure the tools the mail tests drive are here: swaks (Debian's package; sends test mail
# over SMTP) and a Python virtual environment at ${DOCKET_PY_VENV:-$HOME/.cache/docket/py} with
# aiosmtpd, which runs deploy/dev/smtp-sink.py:
#
#   "$VENV/bin/python" deploy/dev/smtp-sink.py --port 0 --dir DIR \
#       [--tls-cert CRT --tls-key KEY] [--auth-user U --auth-password W]
#
# Installs what is missing, checks that both work, and fails loudly when they don't. Running it
# again when everything is present only checks (well under a second).
set -euo pipefail
NAME=mail-tools
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VENV=${DOCKET_PY_VENV:-$HOME/.cache/docket/py}
PYTHON=${DOCKET_PYTHON:-python3} # the interpreter a new venv is made from
AIOSMTPD_VERSION=1.4.6
has_aiosmtpd() {
  "$VENV/bin/python" -c "import sys, aiosmtpd; sys.exit(aiosmtpd.__version__ != '$AIOSMTPD_VERSION')" 2>/dev/null
}

ensure_swaks() {
  command -v swaks >/dev/null || apt_install swaks
  swaks --version >/dev/null 2>&1 || die "swaks --version fails: $(swaks --version 2>&1 | tail -n 3)"
}

make_venv() {
  if [[ -e $VENV ]]; then
    # Only ever wipe a virtual environment (say, one whose interpreter is gone).
    [[ -f $VENV/pyvenv.cfg ]] || die "$VENV exists but is no Python venv; remove it or set DOCKET_PY_VENV"
    say "recreating the broken venv $VENV"
    rm -rf -- "$VENV"
  fi
  command -v "$PYTHON" >/dev/null || apt_install python3 python3-venv
  say "creating a Python venv in $VENV"
  mkdir -p "$(dirname "$VENV")"
  if ! "$PYTHON" -m venv "$VENV" >/dev/null 2>&1; then
    # Debian's python3 makes venvs only with python3-venv (ensurepip) installed.
    rm -rf -- "$VENV"
    apt_install python3-venv
    "$PYTHON" -m venv "$VENV" || die "$PYTHON -m venv $VENV failed"
  fi
}

ensure_aiosmtpd() {
  has_aiosmtpd && return
  "$VENV/bin/python" -c 'import sys; sys.exit(sys.version_info < (3, 8))' 2>/dev/null || make_venv
  say "installing aiosmtpd $AIOSMTPD_VERSION into $VENV"
  "$VENV/bin/python" -m pip install -q --disable-pip-version-check "aiosmtpd==$AIOSMTPD_VERSION" ||
    die "pip install aiosmtpd==$AIOSMTPD_VERSION into $VENV failed"
  has_aiosmtpd || die "$VENV/bin/python cannot import aiosmtpd $AIOSMTPD_VERSION after installing it"
}

main() {
  ensure_swaks
  ensure_aiosmtpd
  say "swaks and $VENV/bin/python with aiosmtpd $AIOSMTPD_VERSION ready"
}

main "$@"

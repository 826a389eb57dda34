#!/usr/bin/env bash
# Makes sure the browser checks in integration-tests/browser/ can run: Debian's chromium at
# ${DOCKET_CHROMIUM:-/usr/bin/chromium} (playwright's own browser download does not work here)
# and integration-tests/browser/node_modules installed from its package-lock.json
# (playwright-core, axe-core). Installs what is missing, then launches chromium through
# playwright-core on a data: URL and reads its title back, and fails loudly when any of it goes
# wrong. That launch is skipped (it costs about 2 s) while a stamp in node_modules says it passed
# with the same chromium, node, lockfile, lib.js and this script: running it again then prints
# nothing and takes a few hundredths of a second. `browser.sh --verify` launches all the same.
#
# Then: node integration-tests/browser/<script>.js (see integration-tests/browser/README.md).
set -euo pipefail
NAME=browser
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
DIR="$ROOT/integration-tests/browser"
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
# Written by npm ci, removed with node_modules: when it is older than the lockfile, reinstall.
NPM_STAMP="$DIR/node_modules/.package-lock.json"
# Holds the fingerprint of the last launch that passed.
VERIFIED_STAMP="$DIR/node_modules/.docket-browser-verified"
CHROMIUM=${DOCKET_CHROMIUM:-/usr/bin/chromium}
NODE_MAJOR_MIN=20
ensure_chromium() {
  [[ -x $CHROMIUM ]] && return
  [[ -z ${DOCKET_CHROMIUM:-} ]] || die "DOCKET_CHROMIUM=$DOCKET_CHROMIUM is no executable"
  apt_install chromium
  [[ -x $CHROMIUM ]] || die "apt-get installed chromium but $CHROMIUM is still missing"
}

ensure_node() {
  command -v node >/dev/null || die "node is missing; install Node.js $NODE_MAJOR_MIN or newer"
}

check_node_version() {
  command -v npm >/dev/null || die "npm is missing; install it with Node.js $NODE_MAJOR_MIN or newer"
  local major
  major=$(node -p 'process.versions.node.split(".")[0]') || die "node -p fails"
  ((major >= NODE_MAJOR_MIN)) || die "node $(node --version) is too old; playwright-core needs $NODE_MAJOR_MIN or newer"
}

ensure_modules() {
  local lock="$DIR/package-lock.json"
  [[ -f $lock ]] || die "$lock is missing"
  [[ -f $NPM_STAMP && ! $lock -nt $NPM_STAMP ]] && return
  check_node_version
  say "installing $DIR/node_modules from package-lock.json (npm ci)"
  local log
  log=$(mktemp)
  # playwright-core downloads nothing at install; the variable keeps it that way.
  if ! (cd "$DIR" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --no-audit --no-fund >"$log" 2>&1); then
    say "npm ci failed:"
    tail -n 20 "$log" >&2
    rm -f -- "$log"
    die "npm ci in $DIR failed"
  fi
  rm -f -- "$log"
  [[ -f $NPM_STAMP ]] || die "npm ci in $DIR left no node_modules/.package-lock.json"
}

fingerprint() { # what the last passing launch depended on: binaries by path, size and mtime
  local node chromium_bin=()
  node=$(command -v node)
  # /usr/bin/chromium is Debian's wrapper script; the browser itself lies beside it.
  [[ -x /usr/lib/chromium/chromium ]] && chromium_bin=(/usr/lib/chromium/chromium)
  {
    stat -L -c '%n %s %Y' -- "$CHROMIUM" "${chromium_bin[@]}" "$node" "$NPM_STAMP"
    cat -- "$SELF" "$DIR/lib.js" "$DIR/package-lock.json"
  } | sha256sum | cut -c1-16
}

verify() {
  local out
  # lib.js's own launch(), so the check covers the flags and the path the tests use.
  if ! out=$(cd "$DIR" && timeout 60 node --input-type=module -e "
      import { launch } from './lib.js';
      const browser = await launch();
      try {
        const page = await browser.newPage();
        await page.goto('data:text/html,<!doctype html><title>docket-browser-ok</title>');
        console.log(await page.title());
      } finally {
        await browser.close();
      }" 2>&1); then
    die "chromium ($CHROMIUM) does not start through playwright-core: $out"
  fi
  [[ $out == docket-browser-ok ]] || die "chromium through playwright-core read the title '$out', expected 'docket-browser-ok'"
}

main() {
  local force=""
  case ${1:-} in
    "") ;;
    --verify) force=1 ;;
    *) die "usage: $0 [--verify]" ;;
  esac
  ensure_chromium
  ensure_node
  ensure_modules
  local print
  print=$(fingerprint) || die "cannot fingerprint chromium, node and $DIR"
  if [[ -z $force && -f $VERIFIED_STAMP && $(<"$VERIFIED_STAMP") == "$print" ]]; then
    return
  fi
  check_node_version
  verify
  printf '%s\n' "$print" >"$VERIFIED_STAMP" || die "cannot write $VERIFIED_STAMP"
}

main "$@"

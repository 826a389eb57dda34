#!/usr/bin/env bash
# Makes sure the OpenLDAP directory the identity tests talk to runs on 127.0.0.1:3890: our own
# slapd (not Debian's system one), suffix dc=docket,dc=test, seeded from deploy/dev/ldap/.
# Installs Debian's slapd and ldap-utils where missing, builds a fresh instance under
# ${DOCKET_LDAP_DIR:-/var/tmp/docket-slapd} when none with the current seed answers, starts it in
# the background, checks its accounts and ACLs, and fails loudly when any of it goes wrong.
# Running it again while that directory answers does nothing; changing this script or the seed
# rebuilds it.
#
#   rootdn   cn=admin,dc=docket,dc=test            password docket-admin
#   service  cn=docket-service,dc=docket,dc=test   password service-secret (reads people, groups)
#   people   ou=people / groups ou=groups: see deploy/dev/ldap/seed.ldif for every test account.
# All of these are TEST-ONLY passwords for a directory bound to 127.0.0.1.
#
# Stop it with: kill "$(cat /var/tmp/docket-slapd/slapd.pid)"
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
SEED="$HERE/ldap/seed.ldif"
GROUPS_LDIF="$HERE/ldap/groups.ldif"
LDAP_DIR=${DOCKET_LDAP_DIR:-/var/tmp/docket-slapd}
PORT=${DOCKET_LDAP_PORT:-3890}
URL="ldap://127.0.0.1:$PORT"
SUFFIX="dc=docket,dc=test"
ROOT_DN="cn=admin,$SUFFIX"
ROOT_PW="docket-admin" # test-only
SERVICE_DN="cn=docket-service,$SUFFIX"
SERVICE_PW="service-secret" # test-only
PEOPLE="ou=people,$SUFFIX"
SCHEMA_DIR=/etc/ldap/schema
MODULE_DIR=/usr/lib/ldap
SBIN=/usr/sbin
# Marks a directory this script may wipe and rebuild.
OWNER_MARK=".docket-slapd"
apt_updated=""

say() { printf 'slapd: %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }

apt_install() {
  command -v apt-get >/dev/null || die "$* missing and no apt-get to install it; install it by hand"
  local sudo=""
  [[ $(id -u) -eq 0 ]] || sudo="sudo"
  if [[ -z $apt_updated ]]; then
    $sudo apt-get update -qq >/dev/null || die "apt-get update failed"
    apt_updated=1
  fi
  say "installing $* from Debian's packages"
  # The package's postinst may start (or, in containers, fail to start) a system slapd on
  # port 389; this script never uses it.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null ||
    die "apt-get install $* failed"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$PORT") 2>/dev/null; }

wait_for() { # what seconds command...: retries the command until it succeeds or time is up
  local what=$1 seconds=$2
  shift 2
  local deadline=$((SECONDS + seconds))
  while ((SECONDS < deadline)); do
    if "$@" >/dev/null 2>&1; then return 0; fi
    sleep 0.25
  done
  die "$what did not happen within ${seconds}s${LOG_HINT:-}"
}

ldap() { # tool args...: an ldap-utils tool against our URL that gives up when nobody answers
  local tool=$1
  shift
  timeout 10 "$tool" -x -o nettimeout=5 -H "$URL" "$@"
}

ldap_root() { # tool args...: bound as the rootdn
  local tool=$1
  shift
  ldap "$tool" -D "$ROOT_DN" -w "$ROOT_PW" "$@"
}

ensure_packages() {
  [[ -x $SBIN/slapd && -x $SBIN/slapadd && -x $SBIN/slappasswd ]] || apt_install slapd
  { command -v ldapsearch && command -v ldapwhoami; } >/dev/null || apt_install ldap-utils
  local module schema
  for module in back_mdb memberof ppolicy; do
    [[ -e $MODULE_DIR/$module.la || -e $MODULE_DIR/$module.so ]] ||
      die "slapd module $module is missing from $MODULE_DIR"
  done
  for schema in core cosine inetorgperson nis; do
    [[ -r $SCHEMA_DIR/$schema.schema ]] || die "schema $SCHEMA_DIR/$schema.schema is missing"
  done
}

# Identifies this script and its seed; stored in the suffix entry as the last step of a build.
fingerprint() { cat "$SELF" "$SEED" "$GROUPS_LDIF" | sha256sum | cut -c1-16; }

seeded() { # the running directory is complete and built from the current seed
  local marker=$1 base people
  base=$(ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$SUFFIX" -s base "(description=$marker)" dn) &&
    people=$(ldap_root ldapsearch -LLL -o ldif-wrap=no -b "$PEOPLE" "(uid=jdoe)" dn) &&
    grep -qx "dn: $SUFFIX" <<<"$base" &&
    grep -qx "dn: uid=jdoe,$PEOPLE" <<<"$people"
}

our_pid() { # prints the pid of the slapd this script started from LDAP_DIR, if it still runs
  local pid
  [[ -r $LDAP_DIR/slapd.pid ]] || return 1
  pid=$(<"$LDAP_DIR/slapd.pid")
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/comm && $(</proc/"$pid"/comm) == slapd ]] || return 1
  printf '%s\n' "$pid"
}

not_running() { ! kill -0 "$1" 2>/dev/null; }

stop_ours() {
  local pid
  pid=$(our_pid) || return 0
  say "stopping the old test slapd (pid $pid)"
  kill "$pid" || die "cannot stop slapd (pid $pid)"
  wait_for "slapd (pid $pid) stopping" 15 not_running "$pid"
}

hash_passwords() { # LDIF on stdin → stdout with every userPassword a salted {SSHA} hash
  local line value hash
  while IFS= read -r line || [[ -n $line ]]; do
    case $line in
      'userPassword:: '*)
        value=$(printf '%s' "${line#userPassword:: }" | base64 -d) ||
          die "bad base64 userPassword in $SEED"
        ;;
      'userPassword: '*) value=${line#userPassword: } ;;
      *)
        printf '%s\n' "$line"
        continue
        ;;
    esac
    [[ -n $value ]] || die "empty userPassword in $SEED"
    hash=$("$SBIN/slappasswd" -h '{SSHA}' -s "$value") || die "slappasswd failed"
    printf 'userPassword: %s\n' "$hash"
  done
}

write_config() {
  local root_hash
  root_hash=$("$SBIN/slappasswd" -h '{SSHA}' -s "$ROOT_PW") || die "slappasswd failed"
  cat >"$LDAP_DIR/slapd.conf" <<EOF
# Generated by deploy/dev/slapd.sh; rebuilt from scratch when the script or the seed changes.
include $SCHEMA_DIR/core.schema
include $SCHEMA_DIR/cosine.schema
include $SCHEMA_DIR/inetorgperson.schema
include $SCHEMA_DIR/nis.schema

modulepath $MODULE_DIR
moduleload back_mdb
moduleload memberof
moduleload ppolicy

pidfile $LDAP_DIR/slapd.pid
argsfile $LDAP_DIR/slapd.args
loglevel none

# Anonymous binds are refused; an empty password with a DN (an "unauthenticated bind") is
# refused by slapd's default too.
disallow bind_anon

database mdb
suffix "$SUFFIX"
rootdn "$ROOT_DN"
rootpw $root_hash
directory $LDAP_DIR/data
maxsize 67108864
index objectClass eq
index uid,mail,cn eq
index member eq

# Writes memberOf on the members of groupOfNames entries, like Active Directory.
overlay memberof
# Refuses binds to locked accounts (pwdAccountLockedTime).
overlay ppolicy
ppolicy_default "cn=default,ou=policies,$SUFFIX"

# Nobody reads passwords; binding checks them.
access to attrs=userPassword
  by anonymous auth
  by * none
# The service account reads people and groups; people read themselves; anonymous: nothing.
access to dn.subtree="$PEOPLE"
  by dn.exact="$SERVICE_DN" read
  by self read
  by * none
access to dn.subtree="ou=groups,$SUFFIX"
  by dn.exact="$SERVICE_DN" read
  by * none
access to *
  by self read
  by * none
EOF
}

build() {
  local marker=$1
  if [[ -e $LDAP_DIR ]]; then
    [[ -e $LDAP_DIR/$OWNER_MARK || -z $(ls -A "$LDAP_DIR") ]] ||
      die "$LDAP_DIR exists but was not made by this script; remove it or set DOCKET_LDAP_DIR"
    rm -rf -- "$LDAP_DIR"
  fi
  mkdir -p "$LDAP_DIR/data"
  touch "$LDAP_DIR/$OWNER_MARK"
  chmod 700 "$LDAP_DIR"
  say "building a fresh directory in $LDAP_DIR"
  write_config
  "$SBIN/slaptest" -u -f "$LDAP_DIR/slapd.conf" >"$LDAP_DIR/slaptest.out" 2>&1 ||
    die "slapd.conf is invalid: $(cat "$LDAP_DIR/slaptest.out")"
  hash_passwords <"$SEED" >"$LDAP_DIR/seed.ldif"
  "$SBIN/slapadd" -q -f "$LDAP_DIR/slapd.conf" -l "$LDAP_DIR/seed.ldif" >"$LDAP_DIR/slapadd.out" 2>&1 ||
    die "slapadd of $SEED failed: $(cat "$LDAP_DIR/slapadd.out")"

  say "starting slapd on $URL"
  # slapd detaches by itself (closing our stdout, so callers piping `make` are not held up).
  # Started as root it stays root: fine for a throwaway test directory.
  if ! "$SBIN/slapd" -h "$URL/" -f "$LDAP_DIR/slapd.conf" </dev/null >"$LDAP_DIR/slapd.out" 2>&1; then
    # The daemon logs to syslog, which may not exist here: ask a foreground run why.
    local why
    why=$(timeout 10 "$SBIN/slapd" -d conns -h "$URL/" -f "$LDAP_DIR/slapd.conf" </dev/null 2>&1 |
      grep -v -e '^[[:space:]]' -e 'OpenLDAP: slapd' | tail -n 5) || true
    die "slapd did not start on $URL: $(cat "$LDAP_DIR/slapd.out") $why"
  fi
  LOG_HINT="; to see why, stop it and run: $SBIN/slapd -d any -h $URL/ -f $LDAP_DIR/slapd.conf"
  wait_for "slapd answering on $URL" 30 ldap_root ldapsearch -LLL -b "$SUFFIX" -s base dn

  # Online, so that the memberof overlay writes memberOf on the members.
  ldap_root ldapadd -f "$GROUPS_LDIF" >"$LDAP_DIR/groups.out" 2>&1 ||
    die "adding $GROUPS_LDIF failed: $(cat "$LDAP_DIR/groups.out")"
  check_directory
  # Last: the marker says the build is complete.
  ldap_root ldapmodify >/dev/null <<EOF || die "cannot write the seed marker"
dn: $SUFFIX
changetype: modify
replace: description
description: $marker
EOF
}

expect_bind() { # dn password rc: ldapwhoami's exit code is the LDAP result code
  local rc=0
  ldap ldapwhoami -D "$1" -w "$2" >/dev/null 2>&1 || rc=$?
  [[ $rc -eq $3 ]] || die "binding as $1 gave result code $rc, expected $3"
}

check_directory() { # the seed and the ACLs do what the tests rely on
  local out
  expect_bind "$SERVICE_DN" "$SERVICE_PW" 0
  expect_bind "uid=jdoe,$PEOPLE" "jane-secret" 0
  expect_bind "uid=mmuster,$PEOPLE" "Müller-Passwort-1" 0
  expect_bind "uid=jdoe,$PEOPLE" "wrong" 49
  expect_bind "uid=locked,$PEOPLE" "locked-secret" 49
  out=$(ldap ldapsearch -LLL -o ldif-wrap=no -D "$SERVICE_DN" -w "$SERVICE_PW" -b "$PEOPLE" \
    "(uid=agent1)" memberOf userPassword) || die "the service account cannot search people"
  grep -qx "memberOf: cn=it-helpdesk,ou=groups,$SUFFIX" <<<"$out" ||
    die "the memberof overlay did not record agent1's groups: $out"
  ! grep -q '^userPassword' <<<"$out" || die "the service account can read passwords"
  out=$(ldap ldapsearch -LLL -b "$PEOPLE" "(uid=jdoe)" dn 2>/dev/null) || true
  [[ -z $out ]] || die "anonymous clients can read people: $out"
}

main() {
  ensure_packages
  local marker
  marker="docket-seed $(fingerprint)"
  if seeded "$marker" 2>/dev/null; then
    say "test directory ready on $URL (already running)"
    return
  fi
  if port_open; then
    our_pid >/dev/null ||
      die "127.0.0.1:$PORT is taken by something other than this script's slapd from $LDAP_DIR; stop it, or set DOCKET_LDAP_PORT (and DOCKET_TEST_LDAP_URL for the tests)"
    say "the running test directory is from another seed or incomplete; rebuilding it"
  fi
  stop_ours
  build "$marker"
  say "test directory ready on $URL"
}

main "$@"

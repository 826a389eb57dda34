#!/usr/bin/env bash
# Makes sure the IMAP server the mail tests talk to runs on 127.0.0.1: our own Dovecot (not
# Debian's system one, which this script never uses or starts), with its own configuration,
# certificate, accounts and mailboxes under ${DOCKET_DOVECOT_DIR:-/var/tmp/docket-dovecot}.
# Installs Debian's dovecot-imapd where missing, builds a fresh instance when none with the
# current configuration answers, starts it in the background, logs in over both ports, appends,
# reads and deletes a message, and fails loudly when any of it goes wrong.
# Running it again while the instance answers does nothing; changing this script rebuilds it
# (and so wipes its mailboxes).
#
#   127.0.0.1:${DOCKET_IMAP_PORT:-10143}   IMAP, STARTTLS offered (not required)
#   127.0.0.1:${DOCKET_IMAPS_PORT:-10993}  IMAPS (implicit TLS)
#   certificate  <dir>/tls.crt  self-signed, CN localhost, SAN DNS:localhost and IP:127.0.0.1;
#                clients trust it by loading that file as their only root certificate. It is a
#                server (end-entity) certificate, CA:FALSE on purpose: rustls/webpki refuses a
#                served certificate that says CA:TRUE (CaUsedAsEndEntity) even when it is the
#                trust anchor itself; OpenSSL (Python, swaks, openssl s_client) accepts it too.
#   accounts     support@docket.test / support-secret
#                cert@docket.test    / cert-secret
#                bench@docket.test   / bench-secret
#   All of these are TEST-ONLY passwords. LOGIN and AUTHENTICATE PLAIN/LOGIN work with or
#   without TLS (loopback only). Failed logins are answered at once (no auth delay, no penalty),
#   and one user may hold up to 100 connections.
#   mailboxes    Maildir under <dir>/mail/<user>/Maildir, created on first login; IDLE is on.
#
# Tests reset a mailbox over IMAP themselves: SELECT it, STORE 1:* +FLAGS.SILENT (\Deleted),
# EXPUNGE (or DELETE/CREATE a folder other than INBOX). From a shell:
#   doveadm -c <dir>/dovecot.conf expunge -u support@docket.test mailbox INBOX all
#
# Stop it with: kill "$(cat /var/tmp/docket-dovecot/run/master.pid)"
#   (or: doveadm -c /var/tmp/docket-dovecot/dovecot.conf stop)
set -euo pipefail
NAME=dovecot
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
SELF="$HERE/$(basename "${BASH_SOURCE[0]}")"
DOVECOT_DIR=${DOCKET_DOVECOT_DIR:-/var/tmp/docket-dovecot}
IMAP_PORT=${DOCKET_IMAP_PORT:-10143}
IMAPS_PORT=${DOCKET_IMAPS_PORT:-10993}
CONF="$DOVECOT_DIR/dovecot.conf"
CERT="$DOVECOT_DIR/tls.crt"
KEY="$DOVECOT_DIR/tls.key"
RUN_DIR="$DOVECOT_DIR/run"
LOG="$DOVECOT_DIR/dovecot.log"
SBIN=/usr/sbin
# user:password, TEST-ONLY.
ACCOUNTS=(
  "support@docket.test:support-secret"
  "cert@docket.test:cert-secret"
  "bench@docket.test:bench-secret"
)
# Marks a directory this script may wipe and rebuild.
OWNER_MARK=".docket-dovecot"
# Identifies this script (the configuration is written by it); the running server shows it in
# its greeting.
fingerprint() { sha256sum "$SELF" | cut -c1-16; }

greeting() { # prints the first line the server sends on the plain IMAP port
  local line
  exec 3<>"/dev/tcp/127.0.0.1/$IMAP_PORT" || return 1
  IFS= read -r -t 5 line <&3 || line=""
  exec 3>&-
  printf '%s\n' "${line%$'\r'}"
}

current() { # our instance answers on both ports with the current configuration
  local marker=$1
  [[ $(greeting) == *"$marker"* ]] && port_open "$IMAPS_PORT" && our_pid >/dev/null
}

our_pid() { # prints the pid of the dovecot master this script started, if it still runs
  local pid
  [[ -r $RUN_DIR/master.pid ]] || return 1
  pid=$(<"$RUN_DIR/master.pid")
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/comm && $(</proc/"$pid"/comm) == dovecot ]] || return 1
  printf '%s\n' "$pid"
}

not_running() { ! kill -0 "$1" 2>/dev/null; }

stop_ours() {
  local pid
  pid=$(our_pid) || return 0
  say "stopping the test dovecot (pid $pid)"
  kill "$pid" || die "cannot stop dovecot (pid $pid)"
  wait_for "dovecot (pid $pid) stopping" 15 not_running "$pid"
}

stop_system_dovecot() { # a system dovecot the package's postinst started just now
  local pid
  [[ -r /run/dovecot/master.pid ]] || return 0
  pid=$(</run/dovecot/master.pid)
  [[ $pid =~ ^[0-9]+$ && -r /proc/$pid/comm && $(</proc/"$pid"/comm) == dovecot ]] || return 0
  say "stopping the system dovecot the package started (pid $pid); the tests never use it"
  kill "$pid" || die "cannot stop the system dovecot (pid $pid)"
  wait_for "the system dovecot (pid $pid) stopping" 15 not_running "$pid"
}

ensure_packages() {
  if [[ ! -x $SBIN/dovecot || ! -e /usr/lib/dovecot/imap ]]; then
    apt_install dovecot-imapd
    stop_system_dovecot
  fi
  command -v doveadm >/dev/null || die "doveadm is missing (it comes with dovecot-core)"
  command -v openssl >/dev/null || apt_install openssl
  command -v python3 >/dev/null || apt_install python3
  local version
  version=$("$SBIN/dovecot" --version) || die "dovecot --version failed"
  # 2.4 renamed and restructured most of the settings written below.
  [[ $version == 2.3.* ]] ||
    die "this script writes a Dovecot 2.3 configuration, but dovecot is $version; port write_config to it"
}

make_certificate() {
  local cnf="$DOVECOT_DIR/tls.cnf"
  cat >"$cnf" <<'EOF'
[req]
distinguished_name = dn
x509_extensions = ext
prompt = no
[dn]
CN = localhost
[ext]
basicConstraints = critical, CA:FALSE
keyUsage = critical, digitalSignature, keyEncipherment
extendedKeyUsage = serverAuth
subjectAltName = DNS:localhost, IP:127.0.0.1
subjectKeyIdentifier = hash
authorityKeyIdentifier = keyid
EOF
  (umask 077 && openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -days 3650 -config "$cnf" -keyout "$KEY" -out "$CERT" >"$DOVECOT_DIR/openssl.out" 2>&1) ||
    die "openssl could not make the test certificate: $(cat "$DOVECOT_DIR/openssl.out")"
  chmod 644 "$CERT"
}

write_users() { # passwd-file with salted SHA-512 hashes
  local account hash
  : >"$DOVECOT_DIR/users"
  for account in "${ACCOUNTS[@]}"; do
    hash=$(doveadm -c "$CONF" pw -s SSHA512 -p "${account#*:}") || die "doveadm pw failed"
    printf '%s:%s\n' "${account%%:*}" "$hash" >>"$DOVECOT_DIR/users"
  done
  # Read by the auth process, which runs as the internal user.
  chgrp "$INTERNAL_GROUP" "$DOVECOT_DIR/users"
  chmod 640 "$DOVECOT_DIR/users"
}

write_config() {
  local marker=$1 chroot_settings=""
  # Started by root, dovecot runs its login and auth processes as Debian's dovecot/dovenull users
  # and the mail processes as nobody (it refuses root for mail). Started by anybody else, it
  # runs all of them as that user, which rules out chroot.
  if [[ $(id -u) -ne 0 ]]; then
    chroot_settings="service imap-login {
  chroot =
}
service anvil {
  chroot =
}"
  fi
  cat >"$CONF" <<EOF
# Generated by deploy/dev/dovecot.sh; rebuilt from scratch when the script changes.
instance_name = docket-dovecot
base_dir = $RUN_DIR
state_dir = $DOVECOT_DIR/state
log_path = $LOG
protocols = imap
listen = 127.0.0.1
# The fingerprint tells the script that the running server uses this configuration.
login_greeting = Docket test IMAP $marker ready.

default_internal_user = $INTERNAL_USER
default_internal_group = $INTERNAL_GROUP
default_login_user = $LOGIN_USER
first_valid_uid = 1

ssl = yes
ssl_cert = <$CERT
ssl_key = <$KEY
ssl_min_protocol = TLSv1.2

# Loopback only: cleartext logins are fine without TLS, failed ones are answered at once.
disable_plaintext_auth = no
auth_mechanisms = plain login
auth_failure_delay = 0
login_trusted_networks = 127.0.0.0/8
mail_max_userip_connections = 100

passdb {
  driver = passwd-file
  args = scheme=SSHA512 $DOVECOT_DIR/users
}
userdb {
  driver = static
  args = uid=$MAIL_UID gid=$MAIL_GID home=$DOVECOT_DIR/mail/%u
}
mail_location = maildir:~/Maildir

service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $IMAP_PORT
  }
  inet_listener imaps {
    address = 127.0.0.1
    port = $IMAPS_PORT
    ssl = yes
  }
}
$chroot_settings
EOF
}

build() {
  local marker=$1
  if [[ -e $DOVECOT_DIR ]]; then
    [[ -e $DOVECOT_DIR/$OWNER_MARK || -z $(ls -A "$DOVECOT_DIR") ]] ||
      die "$DOVECOT_DIR exists but was not made by this script; remove it or set DOCKET_DOVECOT_DIR"
    rm -rf -- "$DOVECOT_DIR"
  fi
  mkdir -p "$DOVECOT_DIR/mail" "$DOVECOT_DIR/state" "$RUN_DIR"
  touch "$DOVECOT_DIR/$OWNER_MARK"
  # The mail processes (nobody when started by root) reach their mailboxes through this.
  chmod 755 "$DOVECOT_DIR"
  chown "$MAIL_UID:$MAIL_GID" "$DOVECOT_DIR/mail"
  chmod 700 "$DOVECOT_DIR/mail"
  say "building a fresh instance in $DOVECOT_DIR"
  make_certificate
  write_config "$marker"
  write_users
  "$SBIN/dovecot" -c "$CONF" -n >"$DOVECOT_DIR/dovecot-n.out" 2>&1 ||
    die "dovecot.conf is invalid: $(cat "$DOVECOT_DIR/dovecot-n.out")"
  ! grep -qi -e warning -e error "$DOVECOT_DIR/dovecot-n.out" ||
    die "dovecot complains about its configuration: $(grep -i -e warning -e error "$DOVECOT_DIR/dovecot-n.out")"

  say "starting dovecot on 127.0.0.1:$IMAP_PORT (IMAP) and 127.0.0.1:$IMAPS_PORT (IMAPS)"
  # The master detaches by itself (closing our stdout, so callers piping `make` are not held up).
  "$SBIN/dovecot" -c "$CONF" </dev/null >"$DOVECOT_DIR/dovecot.out" 2>&1 ||
    die "dovecot did not start: $(cat "$DOVECOT_DIR/dovecot.out") $(tail -n 5 "$LOG" 2>/dev/null)"
  LOG_HINT="; see $LOG"
  wait_for "dovecot answering on 127.0.0.1:$IMAP_PORT" 30 current "$marker"
  check_server
}

check_server() { # both ports log in with TLS, and a message goes in, shows up and goes away
  local out
  out=$(DOCKET_CA="$CERT" timeout 60 python3 - "$IMAP_PORT" "$IMAPS_PORT" "${ACCOUNTS[@]}" 2>&1 <<'EOF'
import imaplib, os, ssl, sys, time

imap_port, imaps_port = int(sys.argv[1]), int(sys.argv[2])
accounts = [a.split(":", 1) for a in sys.argv[3:]]
user, password = accounts[0]
ctx = ssl.create_default_context(cafile=os.environ["DOCKET_CA"])

def roundtrip(imap, how):
    subject = f"docket dovecot.sh check {how} {time.time()}"
    message = f"From: check@docket.test\r\nTo: {user}\r\nSubject: {subject}\r\n\r\nhello\r\n"
    ok, _ = imap.append("INBOX", None, None, message.encode())
    assert ok == "OK", f"{how}: APPEND failed"
    ok, _ = imap.select("INBOX")
    assert ok == "OK", f"{how}: SELECT INBOX failed"
    ok, data = imap.search(None, "SUBJECT", f'"{subject}"')
    found = data[0].split()
    assert ok == "OK" and len(found) == 1, f"{how}: the appended message is not in INBOX: {data}"
    imap.store(found[0], "+FLAGS.SILENT", "(\\Deleted)")
    imap.expunge()
    ok, data = imap.search(None, "SUBJECT", f'"{subject}"')
    assert ok == "OK" and data[0].split() == [], f"{how}: the message was not deleted"
    imap.send(b"i1 IDLE\r\n")  # imaplib has no IDLE before Python 3.14
    line = imap.readline()
    assert line.startswith(b"+"), f"{how}: IDLE refused: {line!r}"
    imap.send(b"DONE\r\n")
    line = imap.readline()
    assert line.startswith(b"i1 OK"), f"{how}: IDLE did not end: {line!r}"
    imap.logout()

imap = imaplib.IMAP4("127.0.0.1", imap_port)
assert "STARTTLS" in imap.capabilities, "no STARTTLS on the plain port"
imap.starttls(ssl_context=ctx)  # checks the certificate against IP 127.0.0.1
imap.login(user, password)
roundtrip(imap, "STARTTLS")

imap = imaplib.IMAP4_SSL("localhost", imaps_port, ssl_context=ctx)  # checks DNS name localhost
imap.login(user, password)
roundtrip(imap, "IMAPS")

for name, secret in accounts:  # every account, in cleartext on the plain port
    imap = imaplib.IMAP4("127.0.0.1", imap_port)
    imap.login(name, secret)
    imap.logout()

imap = imaplib.IMAP4("127.0.0.1", imap_port)
try:
    imap.login(user, "wrong")
    raise AssertionError("a wrong password was accepted")
except imaplib.IMAP4.error:
    pass
EOF
  ) && return
  # Stopped, so that the next run does not take the greeting for a working server.
  stop_ours
  die "the IMAP check failed (the server is stopped again): $out${LOG_HINT:-}"
}

main() {
  ensure_packages
  INTERNAL_USER=dovecot INTERNAL_GROUP=dovecot LOGIN_USER=dovenull MAIL_UID=nobody MAIL_GID=nogroup
  if [[ $(id -u) -ne 0 ]]; then
    INTERNAL_USER=$(id -un) INTERNAL_GROUP=$(id -gn)
    LOGIN_USER=$INTERNAL_USER MAIL_UID=$INTERNAL_USER MAIL_GID=$INTERNAL_GROUP
  fi
  local marker
  marker="docket-conf-$(fingerprint)"
  if current "$marker" 2>/dev/null; then
    say "test IMAP server ready on 127.0.0.1:$IMAP_PORT and :$IMAPS_PORT, CA $CERT (already running)"
    return
  fi
  local port
  for port in "$IMAP_PORT" "$IMAPS_PORT"; do
    if port_open "$port"; then
      our_pid >/dev/null ||
        die "127.0.0.1:$port is taken by something other than this script's dovecot from $DOVECOT_DIR; stop it, or set DOCKET_IMAP_PORT/DOCKET_IMAPS_PORT"
    fi
  done
  if our_pid >/dev/null; then
    say "the running test IMAP server is from another configuration or incomplete; rebuilding it"
  fi
  stop_ours
  build "$marker"
  say "test IMAP server ready on 127.0.0.1:$IMAP_PORT (STARTTLS) and 127.0.0.1:$IMAPS_PORT (IMAPS); trust $CERT"
}

main "$@"

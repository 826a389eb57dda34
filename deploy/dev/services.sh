#!/usr/bin/env bash
# Makes sure the servers the tests talk to run on this machine: PostgreSQL on 127.0.0.1:5432
# (user postgres, trust auth) and RabbitMQ on 127.0.0.1:5672 (guest/guest).
# Installs them from Debian's packages where missing, starts them where not running, waits until
# they accept connections, and fails loudly when they can't be reached.
set -euo pipefail
NAME=services
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PG_PORT=5432
AMQP_PORT=5672
pg_query() { psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d postgres -tAc "$1"; }

ensure_postgres() {
  local installed_now=""
  if ! compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null; then
    apt_install postgresql postgresql-client
    installed_now=1
  fi
  command -v psql >/dev/null || apt_install postgresql-client
  if ! pg_isready -h 127.0.0.1 -p "$PG_PORT" -q; then
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    [[ -n $version ]] || die "PostgreSQL is installed but has no cluster under /etc/postgresql"
    say "starting PostgreSQL $version"
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || die "cannot start PostgreSQL $version"
  fi
  wait_for "PostgreSQL on 127.0.0.1:$PG_PORT" 60 pg_isready -h 127.0.0.1 -p "$PG_PORT" -q
  if ! pg_query 'SELECT 1' >/dev/null 2>&1 && [[ -n $installed_now ]]; then
    # A cluster installed just now asks for passwords on TCP; the tests use trust auth locally.
    local hba
    hba=$(ls /etc/postgresql/*/main/pg_hba.conf | sort -V | tail -n 1)
    say "allowing trust auth from 127.0.0.1 in $hba"
    sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
    pg_ctlcluster --skip-systemctl-redirect "$(ls /etc/postgresql | sort -V | tail -n 1)" main reload
  fi
  pg_query 'SELECT 1' >/dev/null || die "PostgreSQL at 127.0.0.1:$PG_PORT refuses user postgres without a password"
  say "PostgreSQL ready on 127.0.0.1:$PG_PORT"
}

amqp_handshake() {
  # The broker answers the protocol header with connection.start (a method frame, type 1).
  exec 3<>"/dev/tcp/127.0.0.1/$AMQP_PORT" || return 1
  printf 'AMQP\x00\x00\x09\x01' >&3
  local first
  first=$(timeout 3 head -c 1 <&3 | od -An -tx1 | tr -d ' \n')
  exec 3>&-
  [[ $first == "01" ]]
}

# Each test run names its exchange docket.test.<id>, and the durable queues of its consumers
# after it. A failed or killed test leaves them behind, and each quorum queue holds some of the
# broker's file handles (about 900 under the default `ulimit -n 1024`): with enough leftovers the
# broker stops answering new connections. A policy lets idle test queues expire; a sweep clears
# a pile left from before the policy.
TEST_QUEUES='^docket\.test\.'
test_queue_count() { rabbitmqctl -q list_queues name | grep -c "$TEST_QUEUES" || true; }

expire_test_queues() {
  rabbitmqctl -q set_policy --apply-to queues docket-test-expiry "$TEST_QUEUES" '{"expires":600000}' >/dev/null ||
    die "cannot set the expiry policy for test queues on RabbitMQ"
  local left
  left=$(test_queue_count)
  if ((left > 100)); then
    say "$left queues left by earlier test runs: letting the idle ones expire now"
    rabbitmqctl -q set_policy --priority 1 --apply-to queues docket-test-sweep "$TEST_QUEUES" '{"expires":1000}' >/dev/null ||
      die "cannot set the sweep policy for test queues on RabbitMQ"
    local deadline=$((SECONDS + 60))
    while ((SECONDS < deadline)) && (($(test_queue_count) > 100)); do sleep 1; done
    rabbitmqctl -q clear_policy docket-test-sweep >/dev/null || die "cannot clear the sweep policy on RabbitMQ"
    say "$(test_queue_count) test queues left"
  fi
}

ensure_rabbitmq() {
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  if ! port_open "$AMQP_PORT"; then
    say "starting RabbitMQ"
    rabbitmq-server -detached || die "cannot start RabbitMQ"
  fi
  timeout 120 rabbitmqctl -q await_startup >/dev/null || die "RabbitMQ did not finish starting within 120s"
  expire_test_queues
  wait_for "RabbitMQ on 127.0.0.1:$AMQP_PORT" 120 amqp_handshake
  say "RabbitMQ ready on 127.0.0.1:$AMQP_PORT"
}

ensure_postgres
ensure_rabbitmq

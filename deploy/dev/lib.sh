# Shared by the deploy/dev scripts: source it after setting NAME (the prefix of every message).
#
#   NAME=dovecot
#   . "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
#
# say/die print to stderr; apt_install installs Debian packages (updating the index once);
# port_open tells whether something listens on 127.0.0.1:<port>; wait_for retries a command
# until it succeeds or dies with what did not happen (and $LOG_HINT, if set).

apt_updated=""

say() { printf '%s: %s\n' "${NAME:-dev}" "$*" >&2; }
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
  # A package's postinst may start (or, in containers, fail to start) a system daemon on its
  # usual ports; the scripts never use those.
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq "$@" >/dev/null ||
    die "apt-get install $* failed"
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

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

#!/usr/bin/env bash
# Makes sure the services Lanyard needs on a developer machine answer on
# their default ports: PostgreSQL (5432), Redis (6379) and Mailpit (SMTP
# 1025, web inbox 8025). A service that already answers is left alone;
# otherwise a project-local one is started under .lanyard/ from the
# installed binaries. Missing binaries: the exact install command is
# printed and the script exits non-zero.
#
#   deploy/local/services.sh            # postgres, redis, mailpit
#   deploy/local/services.sh postgres redis
set -euo pipefail

ROOT="$(cd "$(dirname "$0")/../.." && pwd)"
STATE="$ROOT/.lanyard"
MAILPIT_VERSION="v1.33.1"
mkdir -p "$STATE"

answers() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() {
  local port=$1 name=$2
  for _ in $(seq 1 100); do
    answers "$port" && return 0
    sleep 0.1
  done
  echo "services: $name did not start on port $port; see $STATE/$name.log" >&2
  return 1
}

postgres_up() {
  answers 5432 && { echo "services: PostgreSQL answers on 127.0.0.1:5432"; return; }
  local bin
  bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1 || true)"
  if [[ -z "$bin" || ! -x "$bin/initdb" ]]; then
    echo "services: PostgreSQL is not running and not installed. Install it with:" >&2
    echo "    sudo apt-get install -y postgresql" >&2
    exit 1
  fi
  # A cluster installed by the distribution but stopped: start that one.
  if command -v pg_ctlcluster >/dev/null && [[ -d /etc/postgresql ]]; then
    local ver
    ver="$(ls /etc/postgresql 2>/dev/null | sort -V | tail -1 || true)"
    if [[ -n "$ver" && -d "/etc/postgresql/$ver/main" ]]; then
      pg_ctlcluster --skip-systemctl-redirect "$ver" main start 2>/dev/null || true
      if wait_port 5432 postgres 2>/dev/null; then
        echo "services: started the installed PostgreSQL $ver cluster"
        return
      fi
    fi
  fi
  local data="$STATE/postgres" run=()
  if [[ $(id -u) -eq 0 ]]; then
    # initdb refuses to run as root: run the local cluster as postgres.
    run=(runuser -u postgres --)
    mkdir -p "$data"
    chown postgres "$STATE" "$data"
  fi
  if [[ ! -f "$data/PG_VERSION" ]]; then
    "${run[@]}" "$bin/initdb" -D "$data" -U postgres --auth=trust >"$STATE/postgres-init.log"
  fi
  "${run[@]}" "$bin/pg_ctl" -D "$data" -l "$STATE/postgres.log" -o "-p 5432 -k /tmp -c listen_addresses=127.0.0.1" start >/dev/null
  wait_port 5432 postgres
  echo "services: started a local PostgreSQL (data in .lanyard/postgres)"
}

redis_up() {
  answers 6379 && { echo "services: Redis answers on 127.0.0.1:6379"; return; }
  if ! command -v redis-server >/dev/null; then
    echo "services: Redis is not running and not installed. Install it with:" >&2
    echo "    sudo apt-get install -y redis-server" >&2
    exit 1
  fi
  mkdir -p "$STATE/redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --dir "$STATE/redis" \
    --appendonly yes --maxmemory-policy noeviction --logfile "$STATE/redis.log"
  wait_port 6379 redis
  echo "services: started a local Redis (data in .lanyard/redis)"
}

mailpit_up() {
  answers 1025 && { echo "services: an SMTP server answers on 127.0.0.1:1025"; return; }
  local mp
  mp="$(command -v mailpit || true)"
  [[ -z "$mp" ]] && mp="$(go env GOPATH)/bin/mailpit"
  if [[ ! -x "$mp" ]]; then
    if ! command -v go >/dev/null; then
      echo "services: Mailpit is missing and Go is not installed to build it." >&2
      exit 1
    fi
    echo "services: installing Mailpit $MAILPIT_VERSION (go install)"
    go install "github.com/axllent/mailpit@$MAILPIT_VERSION"
  fi
  # In its own session, so that it outlives the shell (or job) that started it.
  local detach=(nohup)
  command -v setsid >/dev/null && detach=(setsid nohup)
  "${detach[@]}" "$mp" --smtp 127.0.0.1:1025 --listen 127.0.0.1:8025 --database "$STATE/mailpit.db" --max 20000 \
    >"$STATE/mailpit.log" 2>&1 &
  wait_port 1025 mailpit
  echo "services: started Mailpit (inbox at http://localhost:8025)"
}

want=("$@")
[[ ${#want[@]} -eq 0 ]] && want=(postgres redis mailpit)
for s in "${want[@]}"; do
  case "$s" in
    postgres) postgres_up ;;
    redis) redis_up ;;
    mailpit) mailpit_up ;;
    *) echo "services: unknown service $s" >&2; exit 2 ;;
  esac
done

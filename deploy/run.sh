#!/usr/bin/env bash
# The scale-out example on one machine: a PostgreSQL primary with a synchronous streaming standby, PgBouncer
# (transaction mode) in front of the primary, N Authsome instances (through PgBouncer, the standby as read replica)
# and a round-robin reverse proxy in front of them.
#
#   npm run build && deploy/run.sh [N]          start N instances (default 2); Ctrl-C stops everything
#   MEASURE=1 deploy/run.sh N                   start, measure session checks through the proxy, print, stop
#   deploy/run.sh failover                      (from another shell) crash the primary, promote the standby,
#                                               point PgBouncer at it: the instances carry on without a restart
#
# Ports (override with the variables): proxy 8080, instances 8081.., PgBouncer 6432, primary 6543, standby 6544.
# Needs PostgreSQL's server binaries (Debian: postgresql) and pgbouncer; as root, the databases run as `postgres`.
set -euo pipefail
cd "$(dirname "$0")/.."

DIR=${AUTHSOME_DEPLOY_DIR:-/tmp/authsome-deploy}
PROXY_PORT=${PROXY_PORT:-8080}
PGBOUNCER_PORT=${PGBOUNCER_PORT:-6432}
PRIMARY_PORT=${PRIMARY_PORT:-6543}
STANDBY_PORT=${STANDBY_PORT:-6544}
PG_BIN=${PG_BIN:-$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)}
PGBOUNCER=${PGBOUNCER:-$(command -v pgbouncer || echo /usr/sbin/pgbouncer)}

as_db_user() { if [ "$(id -u)" = 0 ]; then runuser -u postgres -- "$@"; else "$@"; fi; }
log() { echo "deploy: $*" >&2; }

if [ "${1:-}" = failover ]; then
  log "crashing the primary (immediate stop)"
  as_db_user "$PG_BIN/pg_ctl" -D "$DIR/primary" -m immediate stop || true
  log "promoting the standby"
  as_db_user "$PG_BIN/pg_ctl" -D "$DIR/standby" -w promote
  log "pointing PgBouncer at it (reload, no restart: clients keep their connections to PgBouncer)"
  sed -i "s/port=$PRIMARY_PORT /port=$STANDBY_PORT /" "$DIR/pgbouncer.ini"
  kill -HUP "$(cat "$DIR/pgbouncer.pid")"
  log "done; the instances answered 503 + Retry-After in the gap and recover by themselves"
  exit 0
fi

N=${1:-2}
[ -f dist/cli.js ] || { log "build first: npm run build"; exit 1; }
[ -x "$PG_BIN/initdb" ] || { log "PostgreSQL server binaries not found (PG_BIN)"; exit 1; }
[ -x "$PGBOUNCER" ] || { log "pgbouncer not found (apt-get install pgbouncer)"; exit 1; }

pids=()
cleanup() {
  log "stopping"
  for pid in "${pids[@]}"; do kill "$pid" 2>/dev/null || true; done
  for pid in "${pids[@]}"; do wait "$pid" 2>/dev/null || true; done
  [ -f "$DIR/pgbouncer.pid" ] && kill "$(cat "$DIR/pgbouncer.pid")" 2>/dev/null || true
  for cluster in standby primary; do
    [ -f "$DIR/$cluster/postmaster.pid" ] && as_db_user "$PG_BIN/pg_ctl" -D "$DIR/$cluster" -m fast -w stop >/dev/null || true
  done
  rm -rf "$DIR"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

rm -rf "$DIR" && mkdir -p "$DIR"
[ "$(id -u)" = 0 ] && chown postgres "$DIR"

log "primary on $PRIMARY_PORT"
as_db_user "$PG_BIN/initdb" -D "$DIR/primary" -U postgres --auth=trust --encoding=UTF8 --locale=C >/dev/null
{ cat deploy/postgresql.primary.conf; echo "port = $PRIMARY_PORT"; echo "listen_addresses = '127.0.0.1'";
  echo "unix_socket_directories = '$DIR'"; } | as_db_user tee -a "$DIR/primary/postgresql.conf" >/dev/null
as_db_user "$PG_BIN/pg_ctl" -D "$DIR/primary" -l "$DIR/primary.log" -w start >/dev/null

log "standby on $STANDBY_PORT (pg_basebackup -R, synchronous)"
as_db_user "$PG_BIN/pg_basebackup" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -D "$DIR/standby" -R -X stream \
  --checkpoint=fast -d "application_name=standby"
# The standby has no standby of its own: once promoted it must not wait for one.
{ echo "port = $STANDBY_PORT"; echo "synchronous_standby_names = ''"; } | as_db_user tee -a "$DIR/standby/postgresql.conf" >/dev/null
as_db_user "$PG_BIN/pg_ctl" -D "$DIR/standby" -l "$DIR/standby.log" -w start >/dev/null

psql_primary() { "$PG_BIN/psql" -h 127.0.0.1 -p "$PRIMARY_PORT" -U postgres -qAt "$@"; }
psql_primary -c "CREATE ROLE authsome LOGIN" -c "CREATE DATABASE authsome OWNER authsome"

log "PgBouncer on $PGBOUNCER_PORT (transaction mode)"
sed -e "s|@PRIMARY_HOST@|127.0.0.1|" -e "s|@PRIMARY_PORT@|$PRIMARY_PORT|" -e "s|@PGBOUNCER_PORT@|$PGBOUNCER_PORT|" \
  -e "s|@DIR@|$DIR|g" deploy/pgbouncer.ini >"$DIR/pgbouncer.ini"
echo '"authsome" ""' >"$DIR/userlist.txt"
[ "$(id -u)" = 0 ] && chown postgres "$DIR/pgbouncer.ini" "$DIR/userlist.txt"
as_db_user "$PGBOUNCER" -d "$DIR/pgbouncer.ini"
for _ in $(seq 1 50); do [ -f "$DIR/pgbouncer.pid" ] && break; sleep 0.1; done

export DATABASE_URL="postgres://authsome@127.0.0.1:$PGBOUNCER_PORT/authsome"
export AUTHSOME_DB_POOL_MODE=transaction
export AUTHSOME_DATABASE_REPLICA_URL="postgres://authsome@127.0.0.1:$STANDBY_PORT/authsome"
export AUTHSOME_SECRET=${AUTHSOME_SECRET:-$(head -c 36 /dev/urandom | base64)}
export AUTHSOME_PUBLIC_URL=${AUTHSOME_PUBLIC_URL:-http://localhost:$PROXY_PORT}
export AUTHSOME_DB_MAX_CONNECTIONS=${AUTHSOME_DB_MAX_CONNECTIONS:-25}
export AUTHSOME_LOG_LEVEL=${AUTHSOME_LOG_LEVEL:-warn}
export HOST=127.0.0.1
if [ -n "${MEASURE:-}" ]; then
  # Measured like npm run bench: sign-up without the mailed code, no rate limits (one client IP).
  export AUTHSOME_REQUIRE_EMAIL_VERIFICATION=off AUTHSOME_RATE_LIMIT=off AUTHSOME_LOCKOUT=off
fi

upstreams=()
for i in $(seq 1 "$N"); do
  port=$((PROXY_PORT + i))
  PORT=$port ./bin/authsome.js serve &
  pids+=($!)
  upstreams+=("http://127.0.0.1:$port")
  # The first instance migrates; the others start on a migrated database.
  for _ in $(seq 1 300); do curl -sf "http://127.0.0.1:$port/v1/auth/health" >/dev/null && break; sleep 0.1; done
  log "instance $i on $port: $(curl -s "http://127.0.0.1:$port/v1/auth/health")"
done

node deploy/proxy.mjs "$PROXY_PORT" "${upstreams[@]}" &
pids+=($!)
for _ in $(seq 1 50); do curl -sf "http://127.0.0.1:$PROXY_PORT/v1/auth/health" >/dev/null && break; sleep 0.1; done

if [ -n "${MEASURE:-}" ]; then
  email="measure-$(date +%s)@example.com"
  token=$(curl -s -X POST -H 'content-type: application/json' \
    -d "{\"email\":\"$email\",\"password\":\"correct horse battery staple\"}" \
    "http://127.0.0.1:$PROXY_PORT/v1/auth/signup" | node -e 'let s="";process.stdin.on("data",d=>s+=d).on("end",()=>console.log(JSON.parse(s).session_token))')
  result=$(node node_modules/autocannon/autocannon.js --json -c "${CONNECTIONS:-32}" -d "${SECONDS_TO_RUN:-10}" \
    -H "authorization=Bearer $token" "http://127.0.0.1:$PROXY_PORT/v1/auth/session" 2>/dev/null)
  rss=""
  for pid in "${pids[@]:0:$N}"; do rss="$rss $(awk '/VmRSS/ {printf "%.0f", $2/1024}' "/proc/$pid/status")MB"; done
  echo "$result" | node -e '
    let s = ""; process.stdin.on("data", (d) => (s += d)).on("end", () => {
      const r = JSON.parse(s)
      console.log(`instances=${process.argv[1]} req/s=${(r.requests.total / r.duration).toFixed(0)} ` +
        `p50=${r.latency.p50}ms p99=${r.latency.p99}ms non2xx=${r.non2xx + r.errors + r.timeouts} rss=${process.argv[2]}`)
    })' "$N" "${rss# }"
  exit 0
fi

log "ready: http://127.0.0.1:$PROXY_PORT/v1/auth ($N instances); Ctrl-C stops; 'deploy/run.sh failover' drills a failover"
wait

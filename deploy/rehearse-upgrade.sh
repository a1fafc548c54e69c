#!/usr/bin/env bash
# Rehearses a rolling upgrade on this machine: the running ("old") release
# keeps serving while the new release's `lanyard migrate` adds a tenant
# migration to every project schema, then old and new serve side by side.
# Every request of the load loop must succeed, before, during and after.
#
#   deploy/rehearse-upgrade.sh [projects]     (default 50 projects)
#
# Needs PostgreSQL and Redis on their default local ports. It uses a
# database of its own and drops it at the end.
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
N_PROJECTS="${1:-50}"
WORK="$(mktemp -d)"
DB="lanyard_rehearsal_$(date +%s)"
export LANYARD_DATABASE_URL="postgres://postgres@127.0.0.1:5432/$DB?sslmode=disable"
export LANYARD_REDIS_NAMESPACE="rehearsal-$DB:"
export LANYARD_DATA_DIR="$WORK/data"
export LANYARD_MODE=dev LANYARD_LOG_LEVEL=warn LANYARD_SPARE_SCHEMAS=2
OLD_PORT=14533 NEW_PORT=14633
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  psql -q -h 127.0.0.1 -U postgres -c "DROP DATABASE IF EXISTS \"$DB\" WITH (FORCE)" >/dev/null 2>&1 || true
  rm -rf "$WORK"
}
trap cleanup EXIT

step() { printf '\n== %s\n' "$*"; }

step "build the old release (this tree) and the new one (this tree + an expand-only tenant migration)"
(cd "$ROOT" && go build -tags nomsgpack -o "$WORK/lanyard-old" ./cmd/lanyard)
mkdir -p "$WORK/new"
(cd "$ROOT" && git ls-files -z | xargs -0 -I{} cp --parents {} "$WORK/new/")
cat > "$WORK/new/migrations/tenant/9000_rehearsal_expand.sql" <<'SQL'
-- Expand only: a new nullable column and a new table; old code ignores both.
ALTER TABLE identities ADD COLUMN rehearsal_note text;
CREATE TABLE rehearsal_things (id uuid PRIMARY KEY, identity_id uuid REFERENCES identities (id) ON DELETE CASCADE);
CREATE INDEX ON rehearsal_things (identity_id);
SQL
(cd "$WORK/new" && go build -tags nomsgpack -o "$WORK/lanyard-new" ./cmd/lanyard)

step "old release: serve api on :$OLD_PORT, create $N_PROJECTS projects"
LANYARD_API_ADDR="127.0.0.1:$OLD_PORT" "$WORK/lanyard-old" serve api >"$WORK/old.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$OLD_PORT/health/ready" >/dev/null && break; sleep 0.2; done
"$WORK/lanyard-old" project create --name "rehearsal 0" -o json >"$WORK/p0.json"
for i in $(seq 1 $((N_PROJECTS - 1))); do "$WORK/lanyard-old" project create --name "rehearsal $i" -o json >/dev/null; done
SLUG=$(python3 -c "import json,sys;print(json.load(open('$WORK/p0.json'))['slug'])")
KEY=$(python3 -c "import json,sys;print(json.load(open('$WORK/p0.json'))['api_key'])")
create_identity() { # port email
  curl -fs -o /dev/null -w '%{http_code}' -X POST "http://127.0.0.1:$1/p/$SLUG/admin/identities" \
    -H "Authorization: Bearer $KEY" -H 'Content-Type: application/json' \
    -d "{\"schema_id\":\"default\",\"traits\":{\"email\":\"$2\"}}"
}
echo "created identity on old: $(create_identity $OLD_PORT before@example.com)"

load() { # port label: GET the identity list until stopped; count results
  local ok=0 bad=0
  while [[ ! -f "$WORK/stop" ]]; do
    code=$(curl -s -o /dev/null -w '%{http_code}' -H "Authorization: Bearer $KEY" "http://127.0.0.1:$1/p/$SLUG/admin/identities" || echo 000)
    if [[ "$code" == 200 ]]; then ok=$((ok + 1)); else bad=$((bad + 1)); echo "$2: HTTP $code" >&2; fi
  done
  echo "$2: $ok ok, $bad failed" >"$WORK/load-$2"
}
load "$OLD_PORT" old &
pids+=($!)

step "new release: lanyard migrate while the old one serves"
time "$WORK/lanyard-new" migrate --concurrency 4

step "new release: serve api on :$NEW_PORT beside the old one"
LANYARD_API_ADDR="127.0.0.1:$NEW_PORT" "$WORK/lanyard-new" serve api >"$WORK/new.log" 2>&1 &
pids+=($!)
for _ in $(seq 1 100); do curl -fs "http://127.0.0.1:$NEW_PORT/health/ready" >/dev/null && break; sleep 0.2; done
load "$NEW_PORT" new &
pids+=($!)
echo "created identity on old after migrate: $(create_identity $OLD_PORT during-old@example.com)"
echo "created identity on new:               $(create_identity $NEW_PORT during-new@example.com)"
sleep 3
touch "$WORK/stop"
sleep 1

step "results"
cat "$WORK/load-old" "$WORK/load-new"
for port in $OLD_PORT $NEW_PORT; do
  n=$(curl -fs -H "Authorization: Bearer $KEY" "http://127.0.0.1:$port/p/$SLUG/admin/identities" | python3 -c 'import json,sys;print(len(json.load(sys.stdin)))')
  echo "identities seen on :$port: $n"
done
psql -qtA -h 127.0.0.1 -U postgres "$DB" -c "SELECT 'project schemas at version 9000: ' || count(*) FILTER (WHERE tenant_version = 9000) || ' of ' || count(*) FROM platform.projects WHERE state = 'active'"
if grep -q " 0 failed" "$WORK/load-old" && grep -q " 0 failed" "$WORK/load-new"; then
  echo "rehearsal passed: no request failed"
else
  echo "rehearsal FAILED: some requests failed" >&2
  exit 1
fi

#!/usr/bin/env bash
# The long fuzz run: schemathesis (CLI) against a real uvicorn server (ASGI, as in production)
# on port 8106 over PostgreSQL + Redis, once per role and once anonymously, on a small seeded
# demo county. DELETE /auth/token is left out (it would log the fuzzer out), and so are the
# multipart uploads (tests/hardening/test_fuzz.py covers them by hand). Prints the failures
# schemathesis reports and the count of requests tried (the server's access-log lines for
# /api/v1/, schema fetches excluded).
#
#   bench/fuzz.sh                       # ~10 minutes: FUZZ_SECONDS split over the 8 callers
#   FUZZ_SECONDS=120 FUZZ_EXAMPLES=50 bench/fuzz.sh
set -euo pipefail
cd "$(dirname "$0")/.."
. .venv/bin/activate

PORT=${FUZZ_PORT:-8106}
export DATABASE_URL=${FUZZ_DATABASE_URL:-postgres://postgres@127.0.0.1:5432/relief_fuzz}
export REDIS_URL=${FUZZ_REDIS_URL:-redis://127.0.0.1:6379/10}
export CHANNELS_PREFIX=fuzz CACHE_KEY_PREFIX=fuzz
# Throttles would turn most of a long run into 429s: the fuzzer is after other answers.
export GRIEVANCE_SUBMIT_LIMIT=1000000 GRIEVANCE_TRACK_LIMIT=1000000
export PHOTO_PUBLIC_UPLOADS_PER_HOUR=1000000 AXES_ENABLED=false
SECONDS_TOTAL=${FUZZ_SECONDS:-540}
EXAMPLES=${FUZZ_EXAMPLES:-500}
OUT=${FUZZ_OUT:-var/fuzz}
mkdir -p "$OUT"

python - <<'PY'
import os, psycopg
url = os.environ["DATABASE_URL"]
name = url.rsplit("/", 1)[1]
with psycopg.connect(url.rsplit("/", 1)[0] + "/postgres", autocommit=True) as c:
    if not c.execute("select 1 from pg_database where datname=%s", (name,)).fetchone():
        c.execute(f'create database "{name}"')
PY
python bench/fuzz.py seed --households "${FUZZ_HOUSEHOLDS:-300}"
python bench/fuzz.py tokens > "$OUT/tokens.tsv"

LOG="$OUT/access.log"
: > "$LOG"
python -m uvicorn backend.asgi:application --host 127.0.0.1 --port "$PORT" --workers 2 \
    --log-level info > "$LOG" 2>&1 &
SERVER=$!
trap 'kill $SERVER 2>/dev/null || true' EXIT
for _ in $(seq 1 60); do
    curl -sf "http://127.0.0.1:$PORT/api/v1/openapi.json" > /dev/null && break
    sleep 1
done

CALLERS=$(( $(wc -l < "$OUT/tokens.tsv") + 1 ))
PER_CALLER=$(( SECONDS_TOTAL / CALLERS ))
run() {  # name, extra st arguments...
    local name=$1; shift
    echo "== $name (max ${PER_CALLER}s)"
    st run "http://127.0.0.1:$PORT/api/v1/openapi.json" "$@" \
        --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
        --max-examples "$EXAMPLES" --max-time "$PER_CALLER" --workers 2 \
        --exclude-path /api/v1/photos --exclude-path /api/v1/public/photos \
        --exclude-method DELETE \
        --continue-on-failure --no-color --output-truncate true \
        > "$OUT/st-$name.txt" 2>&1 || true
    grep -E "^(FAILURES|_+ |[-] ST|Test cases|API Operations|Failures)|passed|failed" \
        "$OUT/st-$name.txt" | cut -c1-200 | head -40 || true
}
while IFS=$'\t' read -r role token; do
    run "$role" --header "Authorization: Bearer $token"
done < "$OUT/tokens.tsv"
run anonymous

TRIED=$(grep -c '"[A-Z]* /api/v1/' "$LOG" || true)
SCHEMA=$(grep -c '"GET /api/v1/openapi.json' "$LOG" || true)
ERRORS=$(grep -cE '" 5[0-9][0-9]' "$LOG" || true)
echo
echo "requests tried: $(( TRIED - SCHEMA ))   (5xx answers: $ERRORS)   logs in $OUT/"

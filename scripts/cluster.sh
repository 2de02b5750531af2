#!/usr/bin/env bash
# make cluster: two randomchat nodes on one Redis, in the foreground; Ctrl-C stops both.
#
#   redis-server --port 6379 --save '' &    # once, in any terminal
#   make cluster                            # http://127.0.0.1:3000 and :3001
#
# Both nodes share ./data (the generated JWT secret, the SQLite database), so a token
# from one is valid on the other. A browser on :3000 and one on :3001 are paired
# across the nodes. SIGTERM to this script is passed on, so the nodes drain.
set -euo pipefail

PY=${PY:-.venv/bin/python}
REDIS_URL=${REDIS_URL:-redis://127.0.0.1:6379/0}
read -r -a PORTS <<< "${CLUSTER_PORTS:-3000 3001}"  # two ports

if ! "$PY" -c 'import sys, redis; redis.Redis.from_url(sys.argv[1], socket_connect_timeout=2).ping()' \
    "$REDIS_URL" 2>/dev/null; then
  echo "cluster: no Redis at $REDIS_URL; start one with: redis-server --port 6379 --save ''" >&2
  exit 1
fi

pids=()
stop() {
  trap - INT TERM
  for pid in "${pids[@]}"; do kill -s "$1" "$pid" 2>/dev/null || true; done
  wait "${pids[@]}" 2>/dev/null || true
}
trap 'stop INT; exit 130' INT
trap 'stop TERM; exit 143' TERM

start() {
  "$PY" -m randomchat serve --port "$1" --redis-url "$REDIS_URL" --node-name "local-$1" &
  pids+=("$!")
}

# The first node creates data/jwt-secret if it is missing; the second starts once the
# first answers, so that it reads the finished file instead of racing to write one.
start "${PORTS[0]}"
for _ in $(seq 600); do
  if "$PY" -c 'import sys, urllib.request; urllib.request.urlopen(sys.argv[1], timeout=1)' \
      "http://127.0.0.1:${PORTS[0]}/healthz" 2>/dev/null; then
    break
  fi
  kill -0 "${pids[0]}" 2>/dev/null || { wait "${pids[0]}"; exit 1; }
  sleep 0.1
done
start "${PORTS[1]}"
echo "cluster: nodes local-${PORTS[0]} and local-${PORTS[1]} on $REDIS_URL:" \
  "http://127.0.0.1:${PORTS[0]} and http://127.0.0.1:${PORTS[1]} (Ctrl-C stops both)" >&2

# When one node stops on its own, stop the other too: half a cluster is not what was asked.
status=0
wait -n "${pids[@]}" || status=$?
stop TERM
exit "$status"

#!/usr/bin/env bash
# `kagi s3` vs the official aws CLI on the same machine and the same local S3 server:
#   s3 cp of a 256 MiB file up (multipart) and down (ranged GETs), s3 ls of a 1,000-object
#   bucket, and s3 ls of an empty bucket (start-up cost).
# Reports the median wall time of RUNS runs and the peak RSS of each command (wait4's rusage).
# Not a test: figures only (recorded in RESULTS.md beside this script).
#
#   SERVER=s3s-fs (default when S3S_FS or target/s3s-fs/bin/s3s-fs exists: a Rust S3 server,
#                  `cargo install s3s-fs@0.14.1 --features binary --root target/s3s-fs`)
#   SERVER=moto   (moto's server from the compat venv: slow, Python; the transfer figures then
#                  measure moto more than the clients)
#   KAGI=/path/to/kagi               (default: target/release/kagi)
#   KAGI_COMPAT_VENV=/path/to/venv   (awscli v1 + moto; default: target/pyvenv)
#   AWS_V2=/usr/bin/aws              (AWS CLI v2; skipped when missing)
#   SIZE_MIB=256 RUNS=3 OBJECTS=1000
#   REPLAY=1      (the ls rows go through replay.py in front of the server: each client's
#                  warm-up run records its answers, the timed runs get them from memory, so
#                  those rows measure the clients, not the server's listing)
#   bash crates/cli/bench/s3.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
venv="${KAGI_COMPAT_VENV:-$PWD/target/pyvenv}"
target="${CARGO_TARGET_DIR:-$PWD/target}"
KAGI="${KAGI:-$target/release/kagi}"
[ -x "$KAGI" ] || { echo "build kagi first: cargo build --release (or set KAGI)" >&2; exit 1; }
AWS1="$venv/bin/aws"
AWS2="${AWS_V2:-/usr/bin/aws}"
SIZE_MIB="${SIZE_MIB:-256}" RUNS="${RUNS:-3}" OBJECTS="${OBJECTS:-1000}"
S3S_FS="${S3S_FS:-$target/s3s-fs/bin/s3s-fs}"
if [ -z "${SERVER:-}" ]; then
  if [ -x "$S3S_FS" ]; then SERVER=s3s-fs; else SERVER=moto; fi
fi

work="$(mktemp -d)"
port="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
export HOME="$work" AWS_ACCESS_KEY_ID=AKIAKAGIBENCH AWS_SECRET_ACCESS_KEY=kagiBenchSecret \
  AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=""
unset AWS_ENDPOINT_URL AWS_PROFILE AWS_SESSION_TOKEN
mkdir -p "$HOME/.aws" "$work/data"
case "$SERVER" in
  s3s-fs)
    "$S3S_FS" --host 127.0.0.1 --port "$port" --access-key "$AWS_ACCESS_KEY_ID" \
      --secret-key "$AWS_SECRET_ACCESS_KEY" "$work/data" >/dev/null 2>&1 &
    ;;
  moto) "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >/dev/null 2>&1 & ;;
  *) echo "SERVER is s3s-fs or moto" >&2; exit 1 ;;
esac
srv=$!
trap 'kill $srv 2>/dev/null; rm -rf "$work"' EXIT
until python3 -c "import socket;socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null; do sleep 0.2; done
ep="http://127.0.0.1:$port"

# Median wall time (s) and the largest peak RSS (MB) of RUNS runs of a command.
measure() {
  python3 - "$RUNS" "$@" <<'EOF'
import os, subprocess, sys, time, statistics
runs = int(sys.argv[1]); cmd = sys.argv[2:]
walls, rss = [], []
for _ in range(runs):
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    walls.append(time.perf_counter() - t)
    rss.append(usage.ru_maxrss / 1024)
    if status != 0:
        sys.exit(f"failed: {' '.join(cmd)}: {p.stderr.read().decode()}")
print(f"{statistics.median(walls):.4f} {max(rss):.1f}")
EOF
}

clients=("kagi:$KAGI")
[ -x "$AWS2" ] && "$AWS2" --version 2>/dev/null | grep -q '^aws-cli/2' && clients+=("aws-v2:$AWS2")
[ -x "$AWS1" ] && clients+=("aws-v1:$AWS1")

"$KAGI" s3 mb s3://bench --endpoint-url "$ep" >/dev/null
head -c "$((SIZE_MIB * 1024 * 1024))" /dev/urandom > "$work/big.bin"
mkdir -p "$work/many"
for i in $(seq 1 "$OBJECTS"); do echo "$i" > "$work/many/f$i.txt"; done
"$KAGI" s3 cp "$work/many" s3://bench/many --recursive --quiet --endpoint-url "$ep"
"$KAGI" s3 mb s3://empty --endpoint-url "$ep" >/dev/null

lsep="$ep"
if [ "${REPLAY:-0}" = 1 ]; then
  rport="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
  python3 crates/cli/bench/replay.py "$rport" "$port" &
  rep=$!
  trap 'kill $srv $rep 2>/dev/null; rm -rf "$work"' EXIT
  until python3 -c "import socket;socket.create_connection(('127.0.0.1',$rport),1)" 2>/dev/null; do sleep 0.2; done
  lsep="http://127.0.0.1:$rport"
  echo "ls rows: through replay.py ($lsep), answers from memory after each client's warm-up run"
fi
echo "server: $SERVER ($ep); file: $SIZE_MIB MiB; runs: $RUNS (median wall, max peak RSS)"
echo "$(uname -sr), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-8s %-38s %10s %10s\n' client command "wall s" "RSS MB"
for c in "${clients[@]}"; do
  name="${c%%:*}" bin="${c#*:}"
  row() { printf '%-8s %-38s %10s %10s\n' "$name" "$1" $2; }
  row "s3 cp ${SIZE_MIB}MiB up" "$(measure "$bin" s3 cp "$work/big.bin" "s3://bench/big-$name.bin" --no-progress --only-show-errors --endpoint-url "$ep")"
  rm -f "$work/down.bin"
  row "s3 cp ${SIZE_MIB}MiB down" "$(measure "$bin" s3 cp "s3://bench/big-$name.bin" "$work/down.bin" --no-progress --only-show-errors --endpoint-url "$ep")"
  cmp -s "$work/big.bin" "$work/down.bin" || { echo "$name: downloaded bytes differ" >&2; exit 1; }
  # Warm-up runs (with REPLAY=1 they record this client's answers).
  "$bin" s3 ls s3://bench/many/ --endpoint-url "$lsep" >/dev/null
  "$bin" s3 ls s3://empty --endpoint-url "$lsep" >/dev/null
  row "s3 ls ($OBJECTS objects)" "$(measure "$bin" s3 ls s3://bench/many/ --endpoint-url "$lsep")"
  row "s3 ls (empty bucket)" "$(measure "$bin" s3 ls s3://empty --endpoint-url "$lsep")"
done

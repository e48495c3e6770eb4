#!/usr/bin/env bash
# kagi vs the official aws CLI on API calls of other protocols, against moto (the same server
# for both, on 127.0.0.1): `dynamodb get-item` (JSON 1.0) and `ec2 describe-instances` (EC2
# query, 3 instances). Each command runs RUNS times, the two clients interleaved run by run so
# that the load of the shared machine hits both alike; reports the median wall time, the
# ratio, and the largest peak RSS (wait4's rusage). Not a test: figures only (RESULTS.md).
#
#   KAGI_COMPAT_VENV=/path/to/venv   (awscli v1 + moto[server]; default: target/pyvenv)
#   KAGI=/path/to/kagi               (default: target/release/kagi)
#   AWS_V2=/usr/bin/aws              (AWS CLI v2, measured too when present)
#   RUNS=20
#   REPLAY=1                          (the clients talk to replay.py in front of moto: each
#                                      client's warm-up run records its answers, the timed runs
#                                      get them from memory — the figures are the clients' own)
#   bash crates/cli/bench/api.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
venv="${KAGI_COMPAT_VENV:-$PWD/target/pyvenv}"
target="${CARGO_TARGET_DIR:-$PWD/target}"
KAGI="${KAGI:-$target/release/kagi}"
[ -x "$KAGI" ] || { echo "build kagi first: cargo build --release (or set KAGI)" >&2; exit 1; }
AWS1="$venv/bin/aws"
AWS2="${AWS_V2:-/usr/bin/aws}"
RUNS="${RUNS:-20}"

work="$(mktemp -d)"
port="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
export HOME="$work" AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing \
  AWS_DEFAULT_REGION=us-east-1 AWS_PAGER="" AWS_ENDPOINT_URL="http://127.0.0.1:$port"
unset AWS_PROFILE AWS_SESSION_TOKEN
"$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
srv=$!
trap 'kill $srv 2>/dev/null; rm -rf "$work"' EXIT
until python3 -c "import socket;socket.create_connection(('127.0.0.1',$port),1)" 2>/dev/null; do sleep 0.2; done

"$KAGI" dynamodb create-table --table-name bench \
  --attribute-definitions AttributeName=pk,AttributeType=S --key-schema AttributeName=pk,KeyType=HASH \
  --billing-mode PAY_PER_REQUEST >/dev/null
"$KAGI" dynamodb put-item --table-name bench \
  --item '{"pk":{"S":"k1"},"name":{"S":"kagi"},"n":{"N":"42"},"tags":{"SS":["a","b"]}}'
ami="$("$KAGI" ec2 describe-images --owners amazon --query 'Images[0].ImageId' --output text)"
"$KAGI" ec2 run-instances --image-id "$ami" --min-count 3 --max-count 3 --instance-type t3.micro >/dev/null

bench_ep="$AWS_ENDPOINT_URL"
server="moto"
if [ "${REPLAY:-0}" = 1 ]; then
  rport="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
  python3 crates/cli/bench/replay.py "$rport" "$port" &
  rep=$!
  trap 'kill $srv $rep 2>/dev/null; rm -rf "$work"' EXIT
  until python3 -c "import socket;socket.create_connection(('127.0.0.1',$rport),1)" 2>/dev/null; do sleep 0.2; done
  bench_ep="http://127.0.0.1:$rport"
  server="moto behind replay.py (answers from memory after each client's warm-up run)"
fi
export BENCH_ENDPOINT="$bench_ep"

clients=("kagi:$KAGI" "aws-v1:$AWS1")
[ -x "$AWS2" ] && "$AWS2" --version 2>/dev/null | grep -q '^aws-cli/2' && clients+=("aws-v2:$AWS2")

echo "server: $server ($BENCH_ENDPOINT); runs: $RUNS (median wall, max peak RSS), clients interleaved"
echo "$(uname -sr), $(nproc) cores, load $(cut -d' ' -f1-3 /proc/loadavg), $(date -u '+%Y-%m-%d %H:%M UTC')"
echo "official: $("$AWS1" --version 2>&1)"
python3 - "$RUNS" "${clients[@]}" <<'EOF'
import os, subprocess, sys, time, statistics
runs = int(sys.argv[1])
clients = [c.split(":", 1) for c in sys.argv[2:]]
commands = {
    "dynamodb get-item": ["dynamodb", "get-item", "--table-name", "bench", "--key", '{"pk":{"S":"k1"}}'],
    "ec2 describe-instances": ["ec2", "describe-instances"],
}
# AWS CLI v2 before 2.13 ignores AWS_ENDPOINT_URL: every client is given --endpoint-url.
ep = ["--endpoint-url", os.environ["BENCH_ENDPOINT"]]
def once(cmd):
    cmd = cmd + ep
    t = time.perf_counter()
    p = subprocess.Popen(cmd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    _, status, usage = os.wait4(p.pid, 0)
    wall = time.perf_counter() - t
    if status != 0:
        sys.exit(f"failed: {' '.join(cmd)}: {p.stderr.read().decode()}")
    return wall, usage.ru_maxrss / 1024
print(f"{'command':26} {'client':8} {'median ms':>10} {'RSS MB':>8} {'speed-up':>9}")
for name, args in commands.items():
    walls = {c: [] for c, _ in clients}
    rss = {c: 0.0 for c, _ in clients}
    for c, b in clients:  # warm-up
        once([b] + args)
    for _ in range(runs):
        for c, b in clients:
            w, r = once([b] + args)
            walls[c].append(w)
            rss[c] = max(rss[c], r)
    k = statistics.median(walls["kagi"])
    for c, _ in clients:
        m = statistics.median(walls[c])
        print(f"{name:26} {c:8} {m*1000:10.2f} {rss[c]:8.1f} {m/k:8.1f}x")
EOF

#!/usr/bin/env bash
# kagi vs the official aws CLI (from PyPI) on the same machine and the same local server (moto):
#   sts get-caller-identity (static keys), the same through a cached assumed-role profile, --version.
# SERVER=kagi uses `kagi serve` (KAGI_SERVE=path, default target/release/kagi) instead of moto.
# Reports hyperfine medians and peak RSS (/usr/bin/time -v). Not a test: figures only.
#
#   KAGI_COMPAT_VENV=/path/to/venv   (awscli + moto[server]; default: target/pyvenv)
#   KAGI=/path/to/kagi               (default: target/release/kagi, else the kagi-cli example)
#   bash crates/cli/bench/bench.sh
set -euo pipefail
cd "$(dirname "$0")/../../.."
venv="${KAGI_COMPAT_VENV:-$PWD/target/pyvenv}"
target="${CARGO_TARGET_DIR:-$PWD/target}"
if [ -z "${KAGI:-}" ]; then
  if [ -x "$target/release/kagi" ]; then KAGI="$target/release/kagi"
  else
    cargo build --release -q -p kagi-cli --example kagi-cli
    KAGI="$target/release/examples/kagi-cli"
  fi
fi
AWS="$venv/bin/aws"
command -v hyperfine >/dev/null || { echo "hyperfine is required (apt-get install hyperfine)" >&2; exit 1; }
[ -x "$AWS" ] || { echo "no aws CLI in $venv" >&2; exit 1; }

work="$(mktemp -d)"
port="$(python3 -c 'import socket;s=socket.socket();s.bind(("127.0.0.1",0));print(s.getsockname()[1])')"
server="${SERVER:-moto}"
export HOME="$work" AWS_ENDPOINT_URL="http://127.0.0.1:$port" AWS_DEFAULT_REGION=us-east-1 AWS_PAGER=""
unset AWS_ACCESS_KEY_ID AWS_SECRET_ACCESS_KEY AWS_SESSION_TOKEN AWS_PROFILE
mkdir -p "$HOME/.aws"
if [ "$server" = kagi ]; then
  # kagi serve: verifies every signature and evaluates the policies; root may not assume roles,
  # so a user with an AssumeRole policy is the source profile (the seed's shape).
  KAGI_SERVE="${KAGI_SERVE:-$target/release/kagi}"
  KAGI_ACCOUNT_ID=123456789012 KAGI_ROOT_ACCESS_KEY_ID=AKIAKAGIBENCHROOTAAA \
    KAGI_ROOT_SECRET_ACCESS_KEY=kagiBenchRootSecretKey000000000000000000 \
    "$KAGI_SERVE" serve --in-memory --port "$port" --log error >/dev/null 2>&1 &
  srv=$!
else
  "$venv/bin/moto_server" -H 127.0.0.1 -p "$port" >/dev/null 2>&1 &
  srv=$!
fi
trap 'kill $srv 2>/dev/null; rm -rf "$work"' EXIT
for _ in $(seq 1 300); do (echo >/dev/tcp/127.0.0.1/$port) 2>/dev/null && break; sleep 0.1; done

if [ "$server" = kagi ]; then
  printf '[admin]\naws_access_key_id = AKIAKAGIBENCHROOTAAA\naws_secret_access_key = kagiBenchRootSecretKey000000000000000000\n' > "$HOME/.aws/credentials"
  "$KAGI" iam create-user --user-name bench --profile admin >/dev/null
  "$KAGI" iam put-user-policy --user-name bench --policy-name assume --profile admin \
    --policy-document '{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"sts:AssumeRole","Resource":"*"}]}'
  keys="$("$KAGI" iam create-access-key --user-name bench --profile admin --query 'AccessKey.[AccessKeyId,SecretAccessKey]' --output text)"
  printf '[default]\naws_access_key_id = %s\naws_secret_access_key = %s\n' $keys > "$HOME/.aws/credentials"
  trust='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"AWS":"arn:aws:iam::123456789012:root"},"Action":"sts:AssumeRole"}]}'
else
  printf '[default]\naws_access_key_id = testing\naws_secret_access_key = testing\n' > "$HOME/.aws/credentials"
  trust='{"Version":"2012-10-17","Statement":[]}'
fi
if [ "$server" = kagi ]; then
  printf '[admin]\naws_access_key_id = AKIAKAGIBENCHROOTAAA\naws_secret_access_key = kagiBenchRootSecretKey000000000000000000\n' >> "$HOME/.aws/credentials"
  "$KAGI" iam create-role --role-name Bench --assume-role-policy-document "$trust" --profile admin >/dev/null
else
  "$KAGI" iam create-role --role-name Bench --assume-role-policy-document "$trust" >/dev/null
fi
printf '[default]\nregion = us-east-1\n[profile role]\nrole_arn = arn:aws:iam::123456789012:role/Bench\nsource_profile = default\n' > "$HOME/.aws/config"
"$KAGI" sts get-caller-identity --profile role >/dev/null   # fills ~/.aws/cli/cache (both tools share it)

json="$work/hf.json"
hyperfine -N --warmup 3 --runs "${RUNS:-30}" --export-json "$json" \
  -n "kagi sts get-caller-identity" "$KAGI sts get-caller-identity" \
  -n "aws sts get-caller-identity" "$AWS sts get-caller-identity" \
  -n "kagi --profile role (cached)" "$KAGI sts get-caller-identity --profile role" \
  -n "aws --profile role (cached)" "$AWS sts get-caller-identity --profile role" \
  -n "kagi --version" "$KAGI --version" \
  -n "aws --version" "$AWS --version" >/dev/null

rss() { /usr/bin/time -v "$@" 2>&1 >/dev/null | awk -F': ' '/Maximum resident set size/ {printf "%.1f MB", $2/1024}'; }
echo "server: $server, binary: $KAGI"
echo "official: $("$AWS" --version 2>&1)"
python3 - "$json" <<'PY'
import json, sys
r = {x["command"]: x for x in json.load(open(sys.argv[1]))["results"]}
def med(n): return r[n]["median"] * 1000
print(f"{'command':34} {'median':>10} {'min':>9} {'max':>9}")
for n, x in r.items():
    print(f"{n:34} {x['median']*1000:8.2f}ms {x['min']*1000:7.2f}ms {x['max']*1000:7.2f}ms")
for k, a in [("kagi sts get-caller-identity", "aws sts get-caller-identity"), ("kagi --profile role (cached)", "aws --profile role (cached)"), ("kagi --version", "aws --version")]:
    print(f"speed-up {k}: {med(a)/med(k):.1f}x")
PY
echo "peak RSS kagi sts get-caller-identity: $(rss "$KAGI" sts get-caller-identity)"
echo "peak RSS aws  sts get-caller-identity: $(rss "$AWS" sts get-caller-identity)"
echo "peak RSS kagi --profile role (cached): $(rss "$KAGI" sts get-caller-identity --profile role)"
echo "peak RSS kagi --version:               $(rss "$KAGI" --version)"

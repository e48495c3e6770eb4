#!/usr/bin/env bash
# Benchmark (not a test): push and pull a multi-layer image (1 GiB by default) with skopeo
# against kagi's registry (crates/ecr/examples/standalone.rs, release build) and against
# Debian's `docker-registry` (github.com/docker/distribution, apt-get install docker-registry),
# both on loopback with fresh data directories, and report kagi's peak RSS (VmHWM) during push.
#
#   crates/ecr/bench/run.sh            # SIZE_MIB=1024 LAYERS=4 ROUNDS=2 FORMAT=gzip CLIENT=skopeo
#   CLIENT=curl crates/ecr/bench/run.sh # the same protocol spoken by curl (the servers' cost)
#   FORMAT=tar crates/ecr/bench/run.sh # plain-tar layers: skopeo gzips them on the way (~9 s of
#                                      # its CPU per GiB on 2 cores), which then dominates
#   S3=1 crates/ecr/bench/run.sh       # kagi's blobs in an S3-compatible bucket: moto's server
#                                      # from target/pyvenv (bash scripts/test makes it), on loopback
#
# Each round also pushes the image to sink.py, a registry that discards what it is sent: its
# time is skopeo's own, the bound under any server's push time with this client.
#
# Both registries fsync blobs (docker-registry's filesystem driver does too; checked with strace).
# A `sync` before each timed phase keeps one server's writeback from landing in the other's
# timing. Wall times on a shared machine are noisy; the CPU seconds of the server process are a
# steadier comparison.
#
# The reference runs without authentication (its htpasswd auth would add a bcrypt check per
# request); kagi verifies its HMAC token, re-resolves the principal and authorises every
# request, and fsyncs every blob before acknowledging it.
set -euo pipefail

SIZE_MIB=${SIZE_MIB:-1024}
LAYERS=${LAYERS:-4}
ROUNDS=${ROUNDS:-2}
ROOT=$(cd "$(dirname "$0")/../../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}

command -v skopeo >/dev/null || { echo "skopeo is required (apt-get install -y skopeo)" >&2; exit 1; }
REGISTRY_BIN=$(command -v docker-registry || true)
[ -n "$REGISTRY_BIN" ] || { echo "docker-registry is required (apt-get install -y docker-registry)" >&2; exit 1; }

(cd "$ROOT" && cargo build --release -q -p kagi-ecr --example standalone)
BIN=$TARGET/release/examples/standalone

WORK=$(mktemp -d /tmp/kagi-ecr-bench.XXXXXX)
PIDS=()
cleanup() {
    for p in "${PIDS[@]}"; do kill "$p" 2>/dev/null || true; done
    rm -rf "$WORK"
}
trap cleanup EXIT

S3=${S3:-}
MOTO=
if [ -n "$S3" ]; then
    VENV=${KAGI_COMPAT_VENV:-$ROOT/target/pyvenv}
    [ -x "$VENV/bin/moto_server" ] || { echo "S3=1 needs moto_server in $VENV (bash scripts/test makes it)" >&2; exit 1; }
    moto_port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
    "$VENV/bin/moto_server" -H 127.0.0.1 -p "$moto_port" >/dev/null 2>&1 &
    PIDS+=("$!")
    MOTO=http://127.0.0.1:$moto_port
    for _ in $(seq 600); do curl -fs "$MOTO/" >/dev/null 2>&1 && break; sleep 0.1; done
    export AWS_ACCESS_KEY_ID=testing AWS_SECRET_ACCESS_KEY=testing AWS_REGION=us-east-1
fi

# Layers as published images have them (gzip'd tar, pushed as they are) unless FORMAT=tar.
FORMAT=${FORMAT:-gzip}
case "$FORMAT" in
    gzip) gen_flags=(--gzip) ;;
    tar) gen_flags=() ;;
    *) echo "FORMAT is gzip or tar" >&2; exit 1 ;;
esac
per=$((SIZE_MIB / LAYERS))
sizes=()
for _ in $(seq "$LAYERS"); do sizes+=("$per"); done
echo "generating a ${SIZE_MIB} MiB image in ${LAYERS} ${FORMAT} layers..."
"$BIN" gen-layout "${gen_flags[@]}" "$WORK/src" bench 1 "${sizes[@]}" >/dev/null
du -sh "$WORK/src"

# The client: skopeo (default), or CLIENT=curl, the registry protocol spoken by curl (one
# POST, one streamed PATCH and one PUT per blob, then the manifest; pull: GET manifest and
# blobs to /dev/null). curl costs ~0.1 s of CPU per GiB, so its figures are the servers'.
CLIENT=${CLIENT:-skopeo}
case "$CLIENT" in skopeo|curl) ;; *) echo "CLIENT is skopeo or curl" >&2; exit 1 ;; esac
MANIFEST=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["manifests"][0]["digest"].split(":")[1])' "$WORK/src/index.json")
location() { awk 'tolower($1)=="location:"{print $2}' | tr -d '\r'; }
absolute() { case "$2" in http*) echo "$2" ;; *) echo "http://$1$2" ;; esac; }
# push ADDR CREDS: the image of $WORK/src to ADDR/bench:v1 (CREDS: user:password or empty).
push() {
    local addr=$1 auth=()
    [ -n "$2" ] && auth=(-u "$2")
    if [ "$CLIENT" = skopeo ]; then
        local creds=()
        [ -n "$2" ] && creds=(--dest-creds "$2")
        skopeo --insecure-policy copy -q "${creds[@]}" --dest-tls-verify=false "oci:$WORK/src:bench" "docker://$addr/bench:v1"
        return
    fi
    local d loc sep
    for d in $(python3 -c 'import json,sys; m=json.load(open(sys.argv[1])); print(" ".join(x["digest"].split(":")[1] for x in m["layers"] + [m["config"]]))' "$WORK/src/blobs/sha256/$MANIFEST"); do
        loc=$(curl -sf -D - -o /dev/null -X POST "${auth[@]}" "http://$addr/v2/bench/blobs/uploads/" | location)
        loc=$(absolute "$addr" "$loc")
        loc=$(curl -sf -D - -o /dev/null -X PATCH -H 'Expect:' -H 'Content-Type: application/octet-stream' -T "$WORK/src/blobs/sha256/$d" "${auth[@]}" "$loc" | location)
        loc=$(absolute "$addr" "$loc")
        sep='?'; case "$loc" in *\?*) sep='&' ;; esac
        curl -sf -o /dev/null -X PUT "${auth[@]}" "$loc${sep}digest=sha256%3A$d"
    done
    curl -sf -o /dev/null -X PUT "${auth[@]}" -H 'Content-Type: application/vnd.oci.image.manifest.v1+json' \
        --data-binary "@$WORK/src/blobs/sha256/$MANIFEST" "http://$addr/v2/bench/manifests/v1"
}
# pull ADDR CREDS DIR: the image back (skopeo: into the OCI layout DIR; curl: to /dev/null).
pull() {
    local addr=$1 auth=()
    [ -n "$2" ] && auth=(-u "$2")
    if [ "$CLIENT" = skopeo ]; then
        local creds=()
        [ -n "$2" ] && creds=(--src-creds "$2")
        skopeo --insecure-policy copy -q "${creds[@]}" --src-tls-verify=false "docker://$addr/bench:v1" "oci:$3:v1"
        return
    fi
    local m d
    m=$(curl -sf "${auth[@]}" -H 'Accept: application/vnd.oci.image.manifest.v1+json' "http://$addr/v2/bench/manifests/v1")
    for d in $(python3 -c 'import json,sys; m=json.loads(sys.argv[1]); print(" ".join(x["digest"] for x in m["layers"] + [m["config"]]))' "$m"); do
        curl -sfL -o /dev/null "${auth[@]}" "http://$addr/v2/bench/blobs/$d"
    done
}

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }
# CPU seconds (user+system) a process has used so far: load-independent, unlike wall time.
cpu_s() { awk -v hz="$(getconf CLK_TCK)" '{printf "%.2f", ($14 + $15) / hz}' "/proc/$1/stat"; }
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }

run_kagi() { # round
    local dir=$WORK/kagi-$1 out=$WORK/kagi-$1.out
    local blobs=()
    if [ -n "$MOTO" ]; then
        curl -fs -X PUT "$MOTO/bench-$1" >/dev/null
        blobs=(--s3 "s3://bench-$1" --s3-endpoint "$MOTO")
    fi
    "$BIN" serve --data "$dir" --repo bench "${blobs[@]}" >"$out" 2>"$WORK/kagi-$1.err" &
    local pid=$!
    PIDS+=("$pid")
    for _ in $(seq 300); do grep -q '^PASSWORD' "$out" 2>/dev/null && break; sleep 0.1; done
    [ -n "$(awk '/^LISTEN/{print $2}' "$out")" ] || { echo "kagi did not start" >&2; cat "$WORK/kagi-$1.err" >&2; exit 1; }
    local addr pw
    addr=$(awk '/^LISTEN/{print $2}' "$out")
    pw=$(awk '/^PASSWORD/{print $2}' "$out")
    local t0 t1 t2 c0 c1 c2
    sync
    c0=$(cpu_s "$pid")
    t0=$(now)
    push "$addr" "AWS:$pw"
    t1=$(now)
    c1=$(cpu_s "$pid")
    KAGI_HWM_PUSH=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
    KAGI_PUSH=$(elapsed "$t0" "$t1")
    KAGI_CPU_PUSH=$(elapsed "$c0" "$c1")
    sync
    c1=$(cpu_s "$pid")
    t1=$(now)
    pull "$addr" "AWS:$pw" "$WORK/kagi-pull-$1"
    t2=$(now)
    c2=$(cpu_s "$pid")
    KAGI_CPU_PULL=$(elapsed "$c1" "$c2")
    KAGI_HWM_ALL=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
    KAGI_PULL=$(elapsed "$t1" "$t2")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    rm -rf "$dir" "$WORK/kagi-pull-$1"
}

run_ref() { # round
    local port dir=$WORK/ref-$1
    port=$(free_port)
    cat >"$WORK/ref-$1.yml" <<YML
version: 0.1
log:
  level: error
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $dir
  delete:
    enabled: true
http:
  addr: 127.0.0.1:$port
YML
    "$REGISTRY_BIN" serve "$WORK/ref-$1.yml" >"$WORK/ref-$1.log" 2>&1 &
    local pid=$!
    PIDS+=("$pid")
    for _ in $(seq 300); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
    local t0 t1 t2 c0 c1 c2
    sync
    c0=$(cpu_s "$pid")
    t0=$(now)
    push "127.0.0.1:$port" ""
    t1=$(now)
    c1=$(cpu_s "$pid")
    REF_HWM_PUSH=$(awk '/VmHWM/{print $2}' "/proc/$pid/status")
    REF_PUSH=$(elapsed "$t0" "$t1")
    REF_CPU_PUSH=$(elapsed "$c0" "$c1")
    sync
    c1=$(cpu_s "$pid")
    t1=$(now)
    pull "127.0.0.1:$port" "" "$WORK/ref-pull-$1"
    t2=$(now)
    c2=$(cpu_s "$pid")
    REF_CPU_PULL=$(elapsed "$c1" "$c2")
    REF_PULL=$(elapsed "$t1" "$t2")
    kill "$pid"; wait "$pid" 2>/dev/null || true
    rm -rf "$dir" "$WORK/ref-pull-$1"
}

run_sink() { # round: the same push to sink.py, a registry that keeps nothing (the client's bound)
    local port pid t0 t1
    port=$(free_port)
    python3 "$ROOT/crates/ecr/bench/sink.py" "$port" &
    pid=$!
    PIDS+=("$pid")
    for _ in $(seq 100); do curl -fs "http://127.0.0.1:$port/v2/" >/dev/null 2>&1 && break; sleep 0.1; done
    sync
    t0=$(now)
    push "127.0.0.1:$port" ""
    t1=$(now)
    SINK_PUSH=$(elapsed "$t0" "$t1")
    kill "$pid"; wait "$pid" 2>/dev/null || true
}

printf '%-6s %-16s %9s %9s %12s %12s %14s\n' round server push_s pull_s push_cpu_s pull_cpu_s peakRSS_push
best_kp=999999 best_kl=999999 best_rp=999999 best_rl=999999 best_sp=999999 max_hwm=0
ALL_KP=() ALL_KL=() ALL_RP=() ALL_RL=()
for r in $(seq "$ROUNDS"); do
    if [ $((r % 2)) -eq 1 ]; then run_kagi "$r"; run_ref "$r"; else run_ref "$r"; run_kagi "$r"; fi
    printf '%-6s %-16s %9.2f %9.2f %12.2f %12.2f %11s kB\n' "$r" kagi "$KAGI_PUSH" "$KAGI_PULL" "$KAGI_CPU_PUSH" "$KAGI_CPU_PULL" "$KAGI_HWM_PUSH"
    printf '%-6s %-16s %9.2f %9.2f %12.2f %12.2f %11s kB\n' "$r" docker-registry "$REF_PUSH" "$REF_PULL" "$REF_CPU_PUSH" "$REF_CPU_PULL" "$REF_HWM_PUSH"
    # (With CLIENT=curl the Python sink, not the client, would be the slower end: skipped.)
    if [ "$CLIENT" = skopeo ]; then
        run_sink "$r"
        printf '%-6s %-16s %9.2f %9s %12s %12s %14s\n' "$r" "sink (keeps none)" "$SINK_PUSH" - - - -
        best_sp=$(echo "if ($SINK_PUSH < $best_sp) $SINK_PUSH else $best_sp" | bc)
    fi
    best_kp=$(echo "if ($KAGI_PUSH < $best_kp) $KAGI_PUSH else $best_kp" | bc)
    best_kl=$(echo "if ($KAGI_PULL < $best_kl) $KAGI_PULL else $best_kl" | bc)
    best_rp=$(echo "if ($REF_PUSH < $best_rp) $REF_PUSH else $best_rp" | bc)
    best_rl=$(echo "if ($REF_PULL < $best_rl) $REF_PULL else $best_rl" | bc)
    [ "$KAGI_HWM_ALL" -gt "$max_hwm" ] && max_hwm=$KAGI_HWM_ALL
    [ "$KAGI_HWM_PUSH" -gt "${max_hwm_push:-0}" ] && max_hwm_push=$KAGI_HWM_PUSH
    ALL_KP+=("$KAGI_PUSH") ALL_KL+=("$KAGI_PULL") ALL_RP+=("$REF_PUSH") ALL_RL+=("$REF_PULL")
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
echo
echo "best of $ROUNDS, ${SIZE_MIB} MiB in ${LAYERS} ${FORMAT} layers, client $CLIENT:"
printf 'push: kagi %.2f s, docker-registry %.2f s, reference/kagi = %.2f (>1: kagi faster)\n' "$best_kp" "$best_rp" "$(echo "scale=4; $best_rp / $best_kp" | bc)"
[ "$CLIENT" = skopeo ] && printf 'push to sink.py (keeps nothing: skopeo alone): %.2f s; the most any registry can show is reference/sink = %.2f\n' \
    "$best_sp" "$(echo "scale=4; $best_rp / $best_sp" | bc)"
printf 'pull: kagi %.2f s, docker-registry %.2f s, reference/kagi = %.2f\n' "$best_kl" "$best_rl" "$(echo "scale=4; $best_rl / $best_kl" | bc)"
printf 'median of %s: push kagi %.2f s vs reference %.2f s; pull kagi %.2f s vs reference %.2f s\n' "$ROUNDS" \
    "$(median "${ALL_KP[@]}")" "$(median "${ALL_RP[@]}")" "$(median "${ALL_KL[@]}")" "$(median "${ALL_RL[@]}")"
printf 'kagi throughput, best: push %.0f MB/s, pull %.0f MB/s%s\n' "$(echo "scale=4; $SIZE_MIB * 1.048576 / $best_kp" | bc)" \
    "$(echo "scale=4; $SIZE_MIB * 1.048576 / $best_kl" | bc)" "${MOTO:+ (blobs in S3: moto at $MOTO)}"
printf 'kagi peak RSS (VmHWM): %s kB max during push, %s kB over push+pull\n' "$max_hwm_push" "$max_hwm"
echo "load average during the run: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) CPUs (other work skews the figures)"

#!/usr/bin/env python3
"""Start-up time of two kagi binaries, interleaved, against one local `kagi serve`:
`sts get-caller-identity` (the model of one service decoded, one signed call) and `--version`.
Not a test: figures only (hyperfine is not on every machine; this needs only python3).

  python3 crates/cli/bench/startup.py BASELINE_KAGI NEW_KAGI [RUNS]     (default 200 runs)
"""
import os, socket, statistics, subprocess, sys, tempfile, time

base, new = sys.argv[1], sys.argv[2]
runs = int(sys.argv[3]) if len(sys.argv) > 3 else 200
s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
home = tempfile.mkdtemp()
env = dict(os.environ, HOME=home, AWS_ENDPOINT_URL=f"http://127.0.0.1:{port}",
           AWS_DEFAULT_REGION="us-east-1", AWS_PAGER="",
           AWS_ACCESS_KEY_ID="AKIAKAGIBENCHROOTAAA",
           AWS_SECRET_ACCESS_KEY="kagiBenchRootSecretKey000000000000000000",
           KAGI_ACCOUNT_ID="123456789012", KAGI_ROOT_ACCESS_KEY_ID="AKIAKAGIBENCHROOTAAA",
           KAGI_ROOT_SECRET_ACCESS_KEY="kagiBenchRootSecretKey000000000000000000")
for k in ("AWS_PROFILE", "AWS_SESSION_TOKEN"):
    env.pop(k, None)
srv = subprocess.Popen([base, "serve", "--in-memory", "--port", str(port), "--log", "error"],
                       env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
try:
    for _ in range(300):
        try:
            socket.create_connection(("127.0.0.1", port), 0.1).close(); break
        except OSError:
            time.sleep(0.1)
    cases = [("sts get-caller-identity", ["sts", "get-caller-identity"]), ("--version", ["--version"])]
    results = {}
    for label, args in cases:
        for b in (base, new):  # warm-up, and both must succeed
            subprocess.run([b, *args], env=env, check=True, stdout=subprocess.DEVNULL)
        times = {base: [], new: []}
        cpu = {base: [], new: []}
        devnull = os.open(os.devnull, os.O_WRONLY)
        for _ in range(runs):
            for b in (base, new):
                t = time.perf_counter()
                pid = os.posix_spawn(b, [b, *args], env, file_actions=[(os.POSIX_SPAWN_DUP2, devnull, 1)])
                _, _, ru = os.wait4(pid, 0)
                times[b].append(time.perf_counter() - t)
                cpu[b].append(ru.ru_utime + ru.ru_stime)
        results[label] = (times, cpu)
    # Wall time moves with the machine's other load; CPU time (user + system of the child) is
    # what the binary itself costs.
    for label, (times, cpu) in results.items():
        for name, b in (("before", base), ("after", new)):
            t = sorted(times[b])
            print(f"{label:26} {name:6}: wall median {statistics.median(t)*1e3:.3f} ms, "
                  f"p10 {t[len(t)//10]*1e3:.3f} ms; cpu median {statistics.median(cpu[b])*1e3:.3f} ms, "
                  f"mean {statistics.fmean(cpu[b])*1e3:.3f} ms ({runs} runs)")
        d = statistics.median(times[new]) - statistics.median(times[base])
        dc = statistics.fmean(cpu[new]) - statistics.fmean(cpu[base])
        print(f"{label:26} after - before: wall median {d*1e3:+.3f} ms, cpu mean {dc*1e3:+.3f} ms")
finally:
    srv.terminate(); srv.wait()

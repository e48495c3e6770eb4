#!/usr/bin/env python3
"""The seed story with the official clients only: the `aws` CLI from PyPI and skopeo.

Run by tests/seed_official_clients.rs against a real `kagi serve`. Environment:
  KAGI_ENDPOINT   http://127.0.0.1:PORT of the server
  KAGI_ACCOUNT    its account id
  KAGI_ROOT_AKID / KAGI_ROOT_SECRET   the root user's keys (stand-in for the console admin)
  AWS_BIN         the official aws CLI;  KAGI_BIN  kagi itself (for its get-login-password)
Exits non-zero with a message on the first step that does not behave as the tutorial says.
"""
import gzip, hashlib, io, json, os, subprocess, sys, tarfile, tempfile

E = os.environ["KAGI_ENDPOINT"]
ACCT = os.environ["KAGI_ACCOUNT"]
AWS = os.environ["AWS_BIN"]
KAGI = os.environ["KAGI_BIN"]
REGISTRY = E.split("://", 1)[1]
work = tempfile.mkdtemp(prefix="kagi-seed-")
home = os.path.join(work, "home")
os.makedirs(os.path.join(home, ".aws"))
env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
env.update(HOME=home, AWS_CONFIG_FILE=os.path.join(home, ".aws/config"),
           AWS_SHARED_CREDENTIALS_FILE=os.path.join(home, ".aws/credentials"), AWS_PAGER="",
           # The credential provider's own AssumeRole call ignores --endpoint-url (as on AWS);
           # it follows the configured endpoint, as a user pointing at kagi would set it.
           AWS_ENDPOINT_URL=E,
           # awscli v1 (PyPI) signs STS regionally and needs a region for the role profile,
           # which has none (v2 falls back to the global endpoint).
           AWS_DEFAULT_REGION="ap-northeast-1")
steps = 0


def fail(msg):
    print(f"FAIL after {steps} steps: {msg}", file=sys.stderr)
    sys.exit(1)


def run(argv, stdin=None, expect_ok=True):
    global steps
    steps += 1
    p = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env)
    print("$", " ".join(a if len(a) < 80 else a[:77] + "..." for a in argv), "->", p.returncode)
    if expect_ok and p.returncode != 0:
        fail(f"{argv} exited {p.returncode}: {p.stderr.strip()}")
    return p


def aws(*args, profile=None, stdin=None, expect_ok=True):
    argv = [AWS, *args, "--endpoint-url", E]
    if profile:
        argv += ["--profile", profile]
    p = run(argv, stdin=stdin, expect_ok=expect_ok)
    if expect_ok and p.stdout.strip():
        return json.loads(p.stdout)
    return p


def denied(p, code):
    if p.returncode == 0:
        fail(f"expected {code}, call succeeded: {p.stdout}")
    if f"({code})" not in p.stderr:
        fail(f"expected {code}, got: {p.stderr.strip()}")


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


# The console steps, done by the account's administrator (root keys).
write(os.path.join(home, ".aws/credentials"),
      f"[admin]\naws_access_key_id = {os.environ['KAGI_ROOT_AKID']}\n"
      f"aws_secret_access_key = {os.environ['KAGI_ROOT_SECRET']}\n")
write(os.path.join(home, ".aws/config"), "[profile admin]\nregion = ap-northeast-1\n")
aws("iam", "create-user", "--user-name", "user-for-switch", profile="admin")
key = aws("iam", "create-access-key", "--user-name", "user-for-switch", profile="admin")["AccessKey"]
role_arn = f"arn:aws:iam::{ACCT}:role/ECRLoginAndPushRole"
pol = aws("iam", "create-policy", "--policy-name", "SwitchRolePolicy", "--policy-document", json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}]}),
    profile="admin")["Policy"]
aws("iam", "attach-user-policy", "--user-name", "user-for-switch", "--policy-arn", pol["Arn"], profile="admin")
commented = '{\n\t"Version": "2012-10-17",\n        // comment\n\t"Statement": []\n}'
p = aws("iam", "create-policy", "--policy-name", "Bad", "--policy-document", commented, profile="admin", expect_ok=False)
denied(p, "MalformedPolicyDocument")
ecr_doc = {"Version": "2012-10-17", "Statement": [
    {"Sid": "VisualEditor0", "Effect": "Allow", "Action": [
        "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage", "ecr:CompleteLayerUpload", "ecr:UploadLayerPart",
        "ecr:InitiateLayerUpload", "ecr:BatchCheckLayerAvailability", "ecr:PutImage"],
     "Resource": f"arn:aws:ecr:ap-northeast-1:{ACCT}:repository/test-repos"},
    {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}]}
ecr_pol = aws("iam", "create-policy", "--policy-name", "ECRPushAndLoginPolicy", "--policy-document",
              json.dumps(ecr_doc), profile="admin")["Policy"]
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
                                                  "Action": "sts:AssumeRole", "Condition": {}}]}
aws("iam", "create-role", "--role-name", "ECRLoginAndPushRole", "--assume-role-policy-document", json.dumps(trust),
    profile="admin")
aws("iam", "attach-role-policy", "--role-name", "ECRLoginAndPushRole", "--policy-arn", ecr_pol["Arn"], profile="admin")
for repo in ("test-repos", "other-repos"):
    aws("ecr", "create-repository", "--repository-name", repo, profile="admin")

# Step 7: aws configure, answering its four questions.
run([AWS, "configure"], stdin=f"{key['AccessKeyId']}\n{key['SecretAccessKey']}\nap-northeast-1\n\n")
if "[default]" not in open(os.path.join(home, ".aws/credentials")).read():
    fail("aws configure did not write [default]")
# Step 8: the switch-role profile.
with open(os.path.join(home, ".aws/config"), "a") as f:
    f.write(f"\n[profile ECRLoginAndPushRoleProfile]\nrole_arn = {role_arn}\nsource_profile = default\n")
# Step 9.
who = aws("sts", "get-caller-identity", profile="ECRLoginAndPushRoleProfile")
if not who["Arn"].startswith(f"arn:aws:sts::{ACCT}:assumed-role/ECRLoginAndPushRole/botocore-session-"):
    fail(f"assumed-role identity wrong: {who}")
if not who["UserId"].startswith("AROA") or who["Account"] != ACCT:
    fail(f"assumed-role identity wrong: {who}")
who = aws("sts", "get-caller-identity")
if who["Arn"] != f"arn:aws:iam::{ACCT}:user/user-for-switch":
    fail(f"user identity wrong: {who}")
denied(aws("iam", "list-users", profile="ECRLoginAndPushRoleProfile", expect_ok=False), "AccessDenied")
denied(aws("iam", "list-users", expect_ok=False), "AccessDenied")
denied(aws("ecr", "get-login-password", expect_ok=False), "AccessDeniedException")


# Step 10: an image, as an OCI layout written here, pushed with skopeo under the role.
def blob(layout, data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs/sha256", d), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + d, "size": len(data)}


def layer(files):
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w") as t:
        for name, content in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(content)
            info.mtime = 0
            t.addfile(info, io.BytesIO(content))
    return gzip.compress(raw.getvalue(), mtime=0), hashlib.sha256(raw.getvalue()).hexdigest()


layout = os.path.join(work, "image")
os.makedirs(os.path.join(layout, "blobs/sha256"))
write(os.path.join(layout, "oci-layout"), '{"imageLayoutVersion": "1.0.0"}')
layers, diff_ids = [], []
for i in range(3):
    gz, diff = layer({f"layer{i}/hello.txt": f"hello from layer {i}\n".encode() * (1000 * (i + 1))})
    layers.append(dict(blob(layout, gz), mediaType="application/vnd.oci.image.layer.v1.tar+gzip"))
    diff_ids.append("sha256:" + diff)
config = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                     "rootfs": {"type": "layers", "diff_ids": diff_ids}}).encode()
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": dict(blob(layout, config), mediaType="application/vnd.oci.image.config.v1+json"),
                       "layers": layers}).encode()
m = blob(layout, manifest)
write(os.path.join(layout, "index.json"), json.dumps({"schemaVersion": 2, "manifests": [
    dict(m, mediaType="application/vnd.oci.image.manifest.v1+json",
         annotations={"org.opencontainers.image.ref.name": "v1"})]}))

authfile = os.path.join(work, "auth.json")
skopeo_tls = ["--tls-verify=false"]
for cli, args in (("kagi", [KAGI, "ecr", "get-login-password", "--endpoint-url", E]),
                  ("aws", [AWS, "ecr", "get-login-password", "--endpoint-url", E])):
    # A profile does not inherit region from its source_profile: pass it.
    pw = run(args + ["--profile", "ECRLoginAndPushRoleProfile", "--region", "ap-northeast-1"]).stdout.strip()
    if not pw:
        fail(f"{cli} ecr get-login-password printed nothing")
    run(["skopeo", "login", *skopeo_tls, "--authfile", authfile, "--username", "AWS", "--password-stdin",
         REGISTRY], stdin=pw)
    tag = f"{REGISTRY}/test-repos:from-{cli}"
    run(["skopeo", "copy", "--dest-tls-verify=false", "--authfile", authfile, f"oci:{layout}:v1", f"docker://{tag}"])
    back = os.path.join(work, f"back-{cli}")
    run(["skopeo", "copy", "--src-tls-verify=false", "--authfile", authfile, f"docker://{tag}", f"oci:{back}:v1"])
    got = json.load(open(os.path.join(back, "index.json")))["manifests"][0]["digest"]
    if got != m["digest"]:
        fail(f"pulled digest {got} != pushed {m['digest']}")
    p = run(["skopeo", "copy", "--dest-tls-verify=false", "--authfile", authfile, f"oci:{layout}:v1",
             f"docker://{REGISTRY}/other-repos:v1"], expect_ok=False)
    if p.returncode == 0 or "denied" not in p.stderr.lower():
        fail(f"push to other-repos was not denied: {p.returncode} {p.stderr.strip()}")

print(f"OK: {steps} steps behaved as the seed says")

#!/usr/bin/env python3
"""The seed's IAM and STS steps with the official clients (awscli + boto3 from PyPI) against kagi.

Run by crates/server/tests/official_clients.rs. Environment:
  KAGI_ENDPOINT    http://127.0.0.1:PORT
  KAGI_ACCOUNT     account id;  KAGI_ROOT_AKID / KAGI_ROOT_SECRET  root keys
  KAGI_EXPIRED_AKID / KAGI_EXPIRED_SECRET / KAGI_EXPIRED_TOKEN   credentials of an expired session
  AWS_BIN          the official aws CLI (v1 or v2)
  AWS_V1_BIN       with a v2 AWS_BIN: the v1 CLI, for the steps v2 2.9 cannot point at kagi
Prints "OK: N steps" on success; exits non-zero at the first step that misbehaves.
"""
import json, os, subprocess, sys, tempfile

import boto3
import botocore.exceptions

E = os.environ["KAGI_ENDPOINT"]
ACCT = os.environ["KAGI_ACCOUNT"]
AWS = os.environ["AWS_BIN"]
work = tempfile.mkdtemp(prefix="kagi-compat-")
home = os.path.join(work, "home")
os.makedirs(os.path.join(home, ".aws"))
base_env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
base_env.update(HOME=home, AWS_CONFIG_FILE=os.path.join(home, ".aws/config"),
                AWS_SHARED_CREDENTIALS_FILE=os.path.join(home, ".aws/credentials"), AWS_PAGER="",
                # The assume-role credential provider makes its own STS client: point it here too.
                AWS_ENDPOINT_URL=E,
                # awscli v1 (PyPI) needs a region for a profile that has none (the role profile).
                AWS_DEFAULT_REGION="ap-northeast-1")
steps = 0
VERSION = subprocess.run([AWS, "--version"], capture_output=True, text=True, env=base_env)
VERSION = (VERSION.stdout or VERSION.stderr).strip()
IS_V2 = VERSION.startswith("aws-cli/2.")
ROLE_PROFILE = "ECRLoginAndPushRoleProfile"
print("official CLI:", VERSION)


def fail(msg):
    print(f"FAIL after {steps} steps: {msg}", file=sys.stderr)
    sys.exit(1)


def aws(*args, profile=None, stdin=None, expect_ok=True, env=None):
    global steps
    steps += 1
    cli = AWS
    if IS_V2 and profile == ROLE_PROFILE:
        # AWS CLI v2 2.9 (Debian bookworm) predates endpoint_url in profiles and
        # AWS_ENDPOINT_URL (2.13): its assume-role provider would call the real STS, whatever
        # --endpoint-url says for the command itself. This step runs with the v1 CLI.
        cli = os.environ["AWS_V1_BIN"]
    argv = [cli, *args, "--endpoint-url", E]
    if profile:
        argv += ["--profile", profile]
    p = subprocess.run(argv, input=stdin, capture_output=True, text=True, env=env or base_env)
    print("$ aws" if cli == AWS else "$ aws(v1)", " ".join(a if len(a) < 60 else a[:57] + "..." for a in args),
          f"--profile {profile}" if profile else "", "->", p.returncode)
    if expect_ok:
        if p.returncode != 0:
            fail(f"aws {args} exited {p.returncode}: {p.stderr.strip()}")
        return json.loads(p.stdout) if p.stdout.strip() and args[0] != "configure" else {}
    return p


def refused(p, code):
    if p.returncode == 0:
        fail(f"expected {code}, call succeeded: {p.stdout}")
    if f"({code})" not in p.stderr:
        fail(f"expected {code}, got: {p.stderr.strip()}")
    print("   refused:", p.stderr.strip().splitlines()[-1][:160])


def write(path, text):
    with open(path, "w") as f:
        f.write(text)


write(os.path.join(home, ".aws/credentials"),
      f"[admin]\naws_access_key_id = {os.environ['KAGI_ROOT_AKID']}\n"
      f"aws_secret_access_key = {os.environ['KAGI_ROOT_SECRET']}\n")
write(os.path.join(home, ".aws/config"), "[profile admin]\nregion = ap-northeast-1\n")

# Steps 2-6, as the account administrator.
user = aws("iam", "create-user", "--user-name", "user-for-switch", profile="admin")["User"]
if user["Arn"] != f"arn:aws:iam::{ACCT}:user/user-for-switch" or not user["UserId"].startswith("AIDA"):
    fail(f"create-user returned {user}")
key = aws("iam", "create-access-key", "--user-name", "user-for-switch", profile="admin")["AccessKey"]
if not key["AccessKeyId"].startswith("AKIA") or len(key["SecretAccessKey"]) != 40:
    fail(f"create-access-key returned {key['AccessKeyId']}")
role_arn = f"arn:aws:iam::{ACCT}:role/ECRLoginAndPushRole"
switch = aws("iam", "create-policy", "--policy-name", "SwitchRolePolicy", "--policy-document", json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": role_arn}]}),
    profile="admin")["Policy"]
aws("iam", "attach-user-policy", "--user-name", "user-for-switch", "--policy-arn", switch["Arn"], profile="admin")
commented = '{\n\t"Version": "2012-10-17",\n        // comment\n\t"Statement": []\n}'
refused(aws("iam", "create-policy", "--policy-name", "Bad", "--policy-document", commented, profile="admin",
            expect_ok=False), "MalformedPolicyDocument")
ecr_doc = {"Version": "2012-10-17", "Statement": [
    {"Sid": "VisualEditor0", "Effect": "Allow", "Action": [
        "ecr:GetDownloadUrlForLayer", "ecr:BatchGetImage", "ecr:CompleteLayerUpload", "ecr:UploadLayerPart",
        "ecr:InitiateLayerUpload", "ecr:BatchCheckLayerAvailability", "ecr:PutImage"],
     "Resource": f"arn:aws:ecr:ap-northeast-1:{ACCT}:repository/test-repos"},
    {"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"}]}
ecr_pol = aws("iam", "create-policy", "--policy-name", "ECRPushAndLoginPolicy", "--policy-document",
              json.dumps(ecr_doc), profile="admin")["Policy"]
got = aws("iam", "get-policy-version", "--policy-arn", ecr_pol["Arn"], "--version-id", "v1", profile="admin")
if got["PolicyVersion"]["Document"] != ecr_doc:
    fail(f"policy document did not round-trip: {got}")
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
                                                  "Action": "sts:AssumeRole", "Condition": {}}]}
role = aws("iam", "create-role", "--role-name", "ECRLoginAndPushRole", "--assume-role-policy-document",
           json.dumps(trust), profile="admin")["Role"]
if role["Arn"] != role_arn or not role["RoleId"].startswith("AROA"):
    fail(f"create-role returned {role}")
aws("iam", "attach-role-policy", "--role-name", "ECRLoginAndPushRole", "--policy-arn", ecr_pol["Arn"],
    profile="admin")
listed = aws("iam", "list-attached-role-policies", "--role-name", "ECRLoginAndPushRole", profile="admin")
if [p["PolicyName"] for p in listed["AttachedPolicies"]] != ["ECRPushAndLoginPolicy"]:
    fail(f"list-attached-role-policies: {listed}")

# Step 7: aws configure answering its four questions; step 8: the profile.
aws("configure", stdin=f"{key['AccessKeyId']}\n{key['SecretAccessKey']}\nap-northeast-1\n\n")
if "[default]" not in open(os.path.join(home, ".aws/credentials")).read():
    fail("aws configure did not write [default]")
with open(os.path.join(home, ".aws/config"), "a") as f:
    f.write(f"\n[profile ECRLoginAndPushRoleProfile]\nrole_arn = {role_arn}\nsource_profile = default\n")

# Step 9.
who = aws("sts", "get-caller-identity", profile="ECRLoginAndPushRoleProfile")
if not who["Arn"].startswith(f"arn:aws:sts::{ACCT}:assumed-role/ECRLoginAndPushRole/botocore-session-"):
    fail(f"assumed-role identity wrong: {who}")
if not who["UserId"].startswith(role["RoleId"] + ":botocore-session-") or who["Account"] != ACCT:
    fail(f"assumed-role identity wrong: {who}")
who = aws("sts", "get-caller-identity")
if who != {"UserId": user["UserId"], "Account": ACCT, "Arn": f"arn:aws:iam::{ACCT}:user/user-for-switch"}:
    fail(f"user identity wrong: {who}")

# Denials.
refused(aws("iam", "list-users", expect_ok=False), "AccessDenied")
refused(aws("iam", "list-users", profile="ECRLoginAndPushRoleProfile", expect_ok=False), "AccessDenied")
allow_list = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"}]}
aws("iam", "put-user-policy", "--user-name", "user-for-switch", "--policy-name", "AllowList",
    "--policy-document", json.dumps(allow_list), profile="admin")
aws("iam", "list-users")
deny_list = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "iam:List*", "Resource": "*"}]}
aws("iam", "put-user-policy", "--user-name", "user-for-switch", "--policy-name", "DenyList",
    "--policy-document", json.dumps(deny_list), profile="admin")
p = aws("iam", "list-users", expect_ok=False)
refused(p, "AccessDenied")
if "explicit deny" not in p.stderr:
    fail(f"deny did not say explicit deny: {p.stderr}")

# A wrong secret, an expired session, a tampered token.
env = dict(base_env, AWS_ACCESS_KEY_ID=key["AccessKeyId"], AWS_SECRET_ACCESS_KEY="x" * 40,
           AWS_DEFAULT_REGION="ap-northeast-1")
refused(aws("sts", "get-caller-identity", env=env, expect_ok=False), "SignatureDoesNotMatch")
env = dict(base_env, AWS_ACCESS_KEY_ID=os.environ["KAGI_EXPIRED_AKID"],
           AWS_SECRET_ACCESS_KEY=os.environ["KAGI_EXPIRED_SECRET"],
           AWS_SESSION_TOKEN=os.environ["KAGI_EXPIRED_TOKEN"], AWS_DEFAULT_REGION="ap-northeast-1")
refused(aws("sts", "get-caller-identity", env=env, expect_ok=False), "ExpiredToken")

# boto3: assume the role, use the session, tamper with its token.
steps += 1
s = boto3.Session(aws_access_key_id=key["AccessKeyId"], aws_secret_access_key=key["SecretAccessKey"],
                  region_name="ap-northeast-1")
sts = s.client("sts", endpoint_url=E)
creds = sts.assume_role(RoleArn=role_arn, RoleSessionName="boto3-session", DurationSeconds=900)["Credentials"]
if not creds["AccessKeyId"].startswith("ASIA"):
    fail(f"assume_role returned {creds['AccessKeyId']}")
rs = boto3.Session(aws_access_key_id=creds["AccessKeyId"], aws_secret_access_key=creds["SecretAccessKey"],
                   aws_session_token=creds["SessionToken"], region_name="ap-northeast-1")
arn = rs.client("sts", endpoint_url=E).get_caller_identity()["Arn"]
if arn != f"arn:aws:sts::{ACCT}:assumed-role/ECRLoginAndPushRole/boto3-session":
    fail(f"boto3 session identity: {arn}")
try:
    rs.client("iam", endpoint_url=E).list_roles()
    fail("role listed roles")
except botocore.exceptions.ClientError as e:
    if e.response["Error"]["Code"] != "AccessDenied":
        fail(f"role IAM call: {e}")
try:
    sts.assume_role(RoleArn=role_arn, RoleSessionName="too-long", DurationSeconds=7200)
    fail("DurationSeconds above MaxSessionDuration accepted")
except botocore.exceptions.ClientError as e:
    if e.response["Error"]["Code"] != "ValidationError":
        fail(f"duration: {e}")
tok = creds["SessionToken"]
mid = len(tok) // 2
tampered = tok[:mid] + ("A" if tok[mid] != "A" else "B") + tok[mid + 1:]
env = dict(base_env, AWS_ACCESS_KEY_ID=creds["AccessKeyId"], AWS_SECRET_ACCESS_KEY=creds["SecretAccessKey"],
           AWS_SESSION_TOKEN=tampered, AWS_DEFAULT_REGION="ap-northeast-1")
refused(aws("sts", "get-caller-identity", env=env, expect_ok=False), "InvalidClientTokenId")
root = boto3.Session(aws_access_key_id=os.environ["KAGI_ROOT_AKID"],
                     aws_secret_access_key=os.environ["KAGI_ROOT_SECRET"], region_name="us-east-1")
iam = root.client("iam", endpoint_url=E)
names = [u["UserName"] for page in iam.get_paginator("list_users").paginate(PaginationConfig={"PageSize": 1})
         for u in page["Users"]]
if names != ["user-for-switch"]:
    fail(f"list_users paginator: {names}")

# boto3: documents come back as parsed JSON, the simulator, virtual MFA with real TOTP codes.
steps += 1
r = iam.get_role(RoleName="ECRLoginAndPushRole")["Role"]
if r["AssumeRolePolicyDocument"] != trust:
    fail(f"trust policy did not round-trip: {r['AssumeRolePolicyDocument']}")
sim = iam.simulate_principal_policy(PolicySourceArn=user["Arn"], ActionNames=["sts:AssumeRole", "iam:CreateUser"],
                                    ResourceArns=[role_arn])["EvaluationResults"]
if [e["EvalDecision"] for e in sim] != ["allowed", "implicitDeny"]:
    fail(f"simulate_principal_policy: {sim}")
import base64, hashlib, hmac, struct, time
dev = iam.create_virtual_mfa_device(VirtualMFADeviceName="switch-phone")["VirtualMFADevice"]
seed = base64.b32decode(dev["Base32StringSeed"])


def totp(step):
    h = hmac.new(seed, struct.pack(">Q", step), hashlib.sha1).digest()
    o = h[19] & 15
    return "%06d" % ((struct.unpack(">I", h[o:o + 4])[0] & 0x7fffffff) % 1000000)


now = int(time.time()) // 30
iam.enable_mfa_device(UserName="user-for-switch", SerialNumber=dev["SerialNumber"],
                      AuthenticationCode1=totp(now - 2), AuthenticationCode2=totp(now - 1))
mfa_creds = sts.get_session_token(SerialNumber=dev["SerialNumber"], TokenCode=totp(now))["Credentials"]
if not mfa_creds["AccessKeyId"].startswith("ASIA"):
    fail(f"get_session_token returned {mfa_creds['AccessKeyId']}")
devices = iam.list_mfa_devices(UserName="user-for-switch")["MFADevices"]
if [d["SerialNumber"] for d in devices] != [dev["SerialNumber"]]:
    fail(f"list_mfa_devices: {devices}")

# Beyond the seed, with the official clients: federation, the root's own keys, renames and the
# account authorization details (whose documents botocore URL-decodes and parses).
steps += 1
iam.create_user(UserName="broker")
iam.put_user_policy(UserName="broker", PolicyName="fed", PolicyDocument=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": ["sts:GetFederationToken", "iam:ListUsers"],
                                             "Resource": "*"}]}))
bk = iam.create_access_key(UserName="broker")["AccessKey"]
bsts = boto3.Session(aws_access_key_id=bk["AccessKeyId"], aws_secret_access_key=bk["SecretAccessKey"],
                     region_name="us-east-1").client("sts", endpoint_url=E)
fed = bsts.get_federation_token(Name="bob", DurationSeconds=900, Policy=json.dumps(
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
if fed["FederatedUser"] != {"FederatedUserId": f"{ACCT}:bob", "Arn": f"arn:aws:sts::{ACCT}:federated-user/bob"}:
    fail(f"get_federation_token: {fed['FederatedUser']}")
fc = fed["Credentials"]
fs = boto3.Session(aws_access_key_id=fc["AccessKeyId"], aws_secret_access_key=fc["SecretAccessKey"],
                   aws_session_token=fc["SessionToken"], region_name="us-east-1")
if fs.client("sts", endpoint_url=E).get_caller_identity()["Arn"] != f"arn:aws:sts::{ACCT}:federated-user/bob":
    fail("federated identity")
try:
    fs.client("iam", endpoint_url=E).list_users()
    fail("a federated user called IAM")
except botocore.exceptions.ClientError as e:
    if e.response["Error"]["Code"] != "InvalidClientTokenId":
        fail(f"federated IAM call: {e}")
fed = aws("sts", "get-federation-token", "--name", "cli-fed", "--policy-arns",
          "arn=arn:aws:iam::aws:policy/IAMReadOnlyAccess", env=dict(
              base_env, AWS_ACCESS_KEY_ID=bk["AccessKeyId"], AWS_SECRET_ACCESS_KEY=bk["SecretAccessKey"]))
if fed["FederatedUser"]["Arn"] != f"arn:aws:sts::{ACCT}:federated-user/cli-fed":
    fail(f"aws sts get-federation-token: {fed}")

root_keys = aws("iam", "list-access-keys", profile="admin")["AccessKeyMetadata"]
if [k["AccessKeyId"] for k in root_keys] != [os.environ["KAGI_ROOT_AKID"]]:
    fail(f"the root's own keys: {root_keys}")
aws("iam", "create-group", "--group-name", "Builders", profile="admin")
aws("iam", "add-user-to-group", "--group-name", "Builders", "--user-name", "broker", profile="admin")
aws("iam", "update-group", "--group-name", "Builders", "--new-group-name", "Makers", "--new-path", "/eng/",
    profile="admin")
g = aws("iam", "get-group", "--group-name", "Makers", profile="admin")
if g["Group"]["Arn"] != f"arn:aws:iam::{ACCT}:group/eng/Makers" or [u["UserName"] for u in g["Users"]] != ["broker"]:
    fail(f"renamed group: {g}")
details = iam.get_account_authorization_details(Filter=["User"])["UserDetailList"]
broker = [u for u in details if u["UserName"] == "broker"][0]
if broker["GroupList"] != ["Makers"] or broker["UserPolicyList"][0]["PolicyDocument"]["Statement"][0]["Effect"] != "Allow":
    fail(f"get_account_authorization_details: {broker}")

print(f"OK: {steps} steps behaved as the seed says")

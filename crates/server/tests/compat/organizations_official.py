#!/usr/bin/env python3
"""Organizations and cross-account switch role with the official clients (boto3 and the aws CLI
from PyPI) against kagi.

Run by crates/server/tests/organizations.rs. Environment:
  KAGI_ENDPOINT    http://127.0.0.1:PORT
  KAGI_ACCOUNT     the management account id;  KAGI_ROOT_AKID / KAGI_ROOT_SECRET  its root keys
  AWS_BIN          the official aws CLI (v1)
Prints "OK: N steps" on success; exits non-zero at the first step that misbehaves.
"""
import base64, gzip, hashlib, io, json, os, shutil, subprocess, sys, tarfile, tempfile

import boto3
import botocore.exceptions
from kagitest import done, fail, step, client, expect_error

E = os.environ["KAGI_ENDPOINT"]
MGMT = os.environ["KAGI_ACCOUNT"]
AWS = os.environ["AWS_BIN"]
REGION = "us-east-1"
work = tempfile.mkdtemp(prefix="kagi-orgs-")
home = os.path.join(work, "home")
os.makedirs(os.path.join(home, ".aws"))


root = (os.environ["KAGI_ROOT_AKID"], os.environ["KAGI_ROOT_SECRET"])
org = client("organizations", *root)
iam = client("iam", *root)
sts = client("sts", *root)

# --- the organization ---
expect_error("AWSOrganizationsNotInUseException", org.describe_organization)
step("DescribeOrganization before there is one: AWSOrganizationsNotInUseException")
o = org.create_organization(FeatureSet="ALL")["Organization"]
if o["MasterAccountId"] != MGMT or not o["Id"].startswith("o-"):
    fail(f"organization {o}")
step(f"CreateOrganization -> {o['Id']} managed by {MGMT}")
expect_error("AlreadyInOrganizationException", org.create_organization)
step("CreateOrganization again: AlreadyInOrganizationException")
root_id = org.list_roots()["Roots"][0]["Id"]
ou = org.create_organizational_unit(ParentId=root_id, Name="Workloads")["OrganizationalUnit"]
step(f"CreateOrganizationalUnit Workloads -> {ou['Id']}")
expect_error("DuplicateOrganizationalUnitException", org.create_organizational_unit,
             ParentId=root_id, Name="Workloads")
st = org.create_account(Email="workload@example.com", AccountName="workload")["CreateAccountStatus"]
st = org.describe_create_account_status(CreateAccountRequestId=st["Id"])["CreateAccountStatus"]
if st["State"] != "SUCCEEDED":
    fail(f"create account status {st}")
WORK = st["AccountId"]
step(f"CreateAccount workload -> {WORK} (DescribeCreateAccountStatus SUCCEEDED)")
st2 = org.create_account(Email="workload@example.com", AccountName="again")["CreateAccountStatus"]
if st2["State"] != "FAILED" or st2.get("FailureReason") != "EMAIL_ALREADY_EXISTS":
    fail(f"duplicate e-mail: {st2}")
step("CreateAccount with a used e-mail: FAILED, EMAIL_ALREADY_EXISTS")
org.move_account(AccountId=WORK, SourceParentId=root_id, DestinationParentId=ou["Id"])
parents = org.list_parents(ChildId=WORK)["Parents"]
if parents != [{"Id": ou["Id"], "Type": "ORGANIZATIONAL_UNIT"}]:
    fail(f"parents {parents}")
kids = [c["Id"] for c in org.list_children(ParentId=ou["Id"], ChildType="ACCOUNT")["Children"]]
if kids != [WORK]:
    fail(f"children {kids}")
step("MoveAccount into the OU; ListParents / ListChildren agree")
ids = sorted(a["Id"] for p in org.get_paginator("list_accounts").paginate(PaginationConfig={"PageSize": 1})
             for a in p["Accounts"])
if ids != sorted([MGMT, WORK]):
    fail(f"ListAccounts {ids}")
step("ListAccounts (paginated one per page) lists both accounts")

# --- reaching the new account: OrganizationAccountAccessRole ---
role_arn = f"arn:aws:iam::{WORK}:role/OrganizationAccountAccessRole"
iam.create_user(UserName="ops")
k = iam.create_access_key(UserName="ops")["AccessKey"]
ops = (k["AccessKeyId"], k["SecretAccessKey"])
ops_sts = client("sts", *ops)
msg = expect_error("AccessDenied", ops_sts.assume_role, RoleArn=role_arn, RoleSessionName="s1")
if msg != f"User: arn:aws:iam::{MGMT}:user/ops is not authorized to perform: sts:AssumeRole on resource: {role_arn}":
    fail(f"denial message {msg!r}")
step("a user whose own policies do not allow sts:AssumeRole is refused (trust alone is not enough across accounts)")
iam.put_user_policy(UserName="ops", PolicyName="switch", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "arn:aws:iam::*:role/*"}]}))
c = ops_sts.assume_role(RoleArn=role_arn, RoleSessionName="ops")["Credentials"]
work_creds = (c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
who = client("sts", *work_creds).get_caller_identity()
if who["Account"] != WORK or who["Arn"] != f"arn:aws:sts::{WORK}:assumed-role/OrganizationAccountAccessRole/ops":
    fail(f"caller {who}")
info = sts.get_access_key_info(AccessKeyId=c["AccessKeyId"])
if info["Account"] != WORK:
    fail(f"GetAccessKeyInfo {info}")
step("AssumeRole into the workload account: GetCallerIdentity and GetAccessKeyInfo name it")
w_iam = client("iam", *work_creds)
names = [r["RoleName"] for r in w_iam.list_roles()["Roles"]]
if names != ["OrganizationAccountAccessRole"]:
    fail(f"workload roles {names}")
att = w_iam.list_attached_role_policies(RoleName="OrganizationAccountAccessRole")["AttachedPolicies"]
if [a["PolicyName"] for a in att] != ["AdministratorAccess"]:
    fail(f"attached {att}")
if any(u["UserName"] == "ops" for u in w_iam.list_users()["Users"]):
    fail("the management account's users leak into the workload account")
step("the workload account has its own IAM: only its role (AdministratorAccess), none of the management account's users")

w_iam.create_account_alias(AccountAlias="kagi-workload")
expect_error("EntityAlreadyExists", iam.create_account_alias, AccountAlias="kagi-workload",
             contains="The account alias kagi-workload already exists.")
iam.create_account_alias(AccountAlias="kagi-management")
if w_iam.list_account_aliases()["AccountAliases"] != ["kagi-workload"] or \
        iam.list_account_aliases()["AccountAliases"] != ["kagi-management"]:
    fail("account aliases are not per account")
step("account aliases are per account and unique across accounts (EntityAlreadyExists)")

# A role in the workload account that the management account may assume with an external id.
w_iam.create_role(RoleName="Deployer", AssumeRolePolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{MGMT}:root"},
                   "Action": "sts:AssumeRole",
                   "Condition": {"StringEquals": {"sts:ExternalId": "shared-secret-42"}}}]}))
deployer = f"arn:aws:iam::{WORK}:role/Deployer"
expect_error("AccessDenied", ops_sts.assume_role, RoleArn=deployer, RoleSessionName="d1")
expect_error("AccessDenied", ops_sts.assume_role, RoleArn=deployer, RoleSessionName="d1", ExternalId="wrong-id")
ops_sts.assume_role(RoleArn=deployer, RoleSessionName="d1", ExternalId="shared-secret-42")
step("cross-account role with sts:ExternalId: refused without it or with a wrong one, allowed with it")

# aws:PrincipalOrgID in a trust policy: any principal of the organization.
w_iam.create_role(RoleName="OrgReader", AssumeRolePolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
                   "Condition": {"StringEquals": {"aws:PrincipalOrgID": o["Id"]}}}]}))
ops_sts.assume_role(RoleArn=f"arn:aws:iam::{WORK}:role/OrgReader", RoleSessionName="r1")
step("a trust policy with aws:PrincipalOrgID admits a principal of the organization")

# Role chaining back across accounts: from the workload session into a management role.
iam.create_role(RoleName="AuditFromWorkloads", AssumeRolePolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{WORK}:root"}, "Action": "sts:AssumeRole",
                   "Condition": {"ForAnyValue:StringLike": {"aws:PrincipalOrgPaths": [f"{o['Id']}/*/{ou['Id']}/*"]}}}]}))
chained = client("sts", *work_creds).assume_role(
    RoleArn=f"arn:aws:iam::{MGMT}:role/AuditFromWorkloads", RoleSessionName="chain")["Credentials"]
who = client("sts", chained["AccessKeyId"], chained["SecretAccessKey"], chained["SessionToken"]).get_caller_identity()
if who["Arn"] != f"arn:aws:sts::{MGMT}:assumed-role/AuditFromWorkloads/chain":
    fail(f"chained caller {who}")
expect_error("ValidationError", client("sts", *work_creds).assume_role,
             RoleArn=f"arn:aws:iam::{MGMT}:role/AuditFromWorkloads", RoleSessionName="chain2", DurationSeconds=7200)
step("role chaining across accounts (workload session → management role, aws:PrincipalOrgPaths in the trust policy; the 1-hour chaining limit)")

# Role chaining into the next account, and the CLI's role profiles.
cfg = os.path.join(home, ".aws/config")
creds = os.path.join(home, ".aws/credentials")
with open(creds, "w") as f:
    f.write(f"[ops]\naws_access_key_id = {ops[0]}\naws_secret_access_key = {ops[1]}\n")
with open(cfg, "w") as f:
    f.write(f"[profile ops]\nregion = {REGION}\nendpoint_url = {E}\n"
            f"[profile workload]\nrole_arn = {role_arn}\nsource_profile = ops\nregion = {REGION}\nendpoint_url = {E}\n"
            f"[profile deployer]\nrole_arn = {deployer}\nsource_profile = ops\nexternal_id = shared-secret-42\n"
            f"region = {REGION}\nendpoint_url = {E}\n")
env = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
env.update(HOME=home, AWS_CONFIG_FILE=cfg, AWS_SHARED_CREDENTIALS_FILE=creds, AWS_PAGER="")
for profile, want in [("workload", "OrganizationAccountAccessRole"), ("deployer", "Deployer")]:
    p = subprocess.run([AWS, "sts", "get-caller-identity", "--profile", profile, "--output", "json"],
                       capture_output=True, text=True, env=env)
    if p.returncode != 0:
        fail(f"aws --profile {profile}: {p.stderr}")
    got = json.loads(p.stdout)
    if got["Account"] != WORK or f":assumed-role/{want}/" not in got["Arn"]:
        fail(f"aws --profile {profile}: {got}")
    step(f"aws CLI role profile '{profile}' (source_profile, role in another account) -> {got['Arn']}")
p = subprocess.run([AWS, "organizations", "list-accounts", "--query", "length(Accounts)", "--profile", "workload"],
                   capture_output=True, text=True, env=env)
if p.returncode == 0 or "AccessDeniedException" not in p.stderr:
    fail(f"a member account listed the organization's accounts: {p.returncode} {p.stdout} {p.stderr}")
step("a member account's principal cannot manage the organization (AccessDeniedException)")


# --- cross-account ECR: a repository of the workload account, pulled from the management account ---
w_ecr = client("ecr", *work_creds)
w_ecr.create_repository(repositoryName="shared/app")
w_ecr.set_repository_policy(repositoryName="shared/app", policyText=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Sid": "OrgPull", "Effect": "Allow", "Principal": "*",
                   "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                              "ecr:BatchCheckLayerAvailability", "ecr:DescribeImages"],
                   "Condition": {"StringEquals": {"aws:PrincipalOrgID": o["Id"]}}}]}))
step("the workload account shares shared/app with its organization (aws:PrincipalOrgID in the repository policy)")


def blob(layout, data):
    d = hashlib.sha256(data).hexdigest()
    with open(os.path.join(layout, "blobs/sha256", d), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + d, "size": len(data)}


layout = os.path.join(work, "image")
os.makedirs(os.path.join(layout, "blobs/sha256"))
with open(os.path.join(layout, "oci-layout"), "w") as f:
    f.write('{"imageLayoutVersion": "1.0.0"}')
raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w") as t:
    content = b"shared across accounts\n" * 500
    info = tarfile.TarInfo("hello.txt")
    info.size = len(content)
    t.addfile(info, io.BytesIO(content))
gz = gzip.compress(raw.getvalue(), mtime=0)
lay = dict(blob(layout, gz), mediaType="application/vnd.oci.image.layer.v1.tar+gzip")
cfg_blob = json.dumps({"architecture": "amd64", "os": "linux", "config": {},
                       "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(raw.getvalue()).hexdigest()]}}).encode()
manifest = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                       "config": dict(blob(layout, cfg_blob), mediaType="application/vnd.oci.image.config.v1+json"),
                       "layers": [lay]}).encode()
man = blob(layout, manifest)
with open(os.path.join(layout, "index.json"), "w") as f:
    f.write(json.dumps({"schemaVersion": 2, "manifests": [
        dict(man, mediaType="application/vnd.oci.image.manifest.v1+json",
             annotations={"org.opencontainers.image.ref.name": "v1"})]}))

REGISTRY = E.split("://", 1)[1]
PORT = REGISTRY.rsplit(":", 1)[1]
WORK_REGISTRY = f"{WORK}.dkr.ecr.{REGION}.localhost:{PORT}"
skenv = dict(env)


def password(ecr_client):
    tok = ecr_client.get_authorization_token()["authorizationData"][0]["authorizationToken"]
    return base64.b64decode(tok).decode().split(":", 1)[1]


def skopeo(*args, creds, proxy=False, expect_ok=True):
    e = dict(skenv)
    if proxy:
        # Go's resolver (skopeo's) does not map *.localhost to loopback: kagi answers
        # proxy-form requests for its own registry hosts.
        e.update(HTTP_PROXY=E, http_proxy=E, NO_PROXY="", no_proxy="")
    side = "--src-creds" if args[-2].startswith("docker://") else "--dest-creds"
    p = subprocess.run(["skopeo", args[0], side, f"AWS:{creds}", *args[1:]], capture_output=True, text=True, env=e)
    if expect_ok and p.returncode != 0:
        fail(f"skopeo {args}: {p.stderr.strip()}")
    return p


# The workload account pushes to its own registry at the server's plain address (its token names it).
skopeo("copy", "--dest-tls-verify=false", f"oci:{layout}:v1", f"docker://{REGISTRY}/shared/app:v1",
       creds=password(w_ecr))
step("the workload role pushes shared/app:v1 to its own account's registry at 127.0.0.1 (skopeo)")
# The management account's ops user: its own policy must allow pulling too.
ops_ecr = client("ecr", *ops)
iam.put_user_policy(UserName="ops", PolicyName="pull", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"}]}))
back = os.path.join(work, "back")
p = skopeo("copy", "--src-tls-verify=false", f"docker://{WORK_REGISTRY}/shared/app:v1", f"oci:{back}:v1",
           creds=password(ops_ecr), proxy=True, expect_ok=False)
if p.returncode == 0:
    fail("a principal whose own policies allow no ECR pull pulled across accounts")
step("cross-account pull refused while the puller's own policies do not allow it")
iam.put_user_policy(UserName="ops", PolicyName="pull", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["ecr:GetAuthorizationToken"], "Resource": "*"},
                  {"Effect": "Allow", "Action": ["ecr:BatchGetImage", "ecr:GetDownloadUrlForLayer",
                                                 "ecr:BatchCheckLayerAvailability", "ecr:DescribeImages",
                                                 "ecr:PutImage", "ecr:InitiateLayerUpload",
                                                 "ecr:UploadLayerPart", "ecr:CompleteLayerUpload"],
                   "Resource": f"arn:aws:ecr:*:{WORK}:repository/*"}]}))
skopeo("copy", "--src-tls-verify=false", f"docker://{WORK_REGISTRY}/shared/app:v1", f"oci:{back}:v1",
       creds=password(ops_ecr), proxy=True)
got = json.load(open(os.path.join(back, "index.json")))["manifests"][0]["digest"]
if got != man["digest"]:
    fail(f"pulled {got}, pushed {man['digest']}")
step(f"cross-account pull with skopeo from {WORK_REGISTRY} (repository policy + own policy) -> same digest")
p = skopeo("copy", "--dest-tls-verify=false", f"oci:{layout}:v1", f"docker://{WORK_REGISTRY}/shared/app:v2",
           creds=password(ops_ecr), proxy=True, expect_ok=False)
if p.returncode == 0 or "denied" not in p.stderr.lower():
    fail(f"a push the repository policy does not grant was not denied: {p.returncode} {p.stderr.strip()}")
step("cross-account push refused: the repository policy grants pulls only")
imgs = ops_ecr.describe_images(registryId=WORK, repositoryName="shared/app")["imageDetails"]
if [i["imageDigest"] for i in imgs] != [man["digest"]] or imgs[0]["registryId"] != WORK:
    fail(f"describe-images across accounts: {imgs}")
step("DescribeImages with registryId of the other account (API, boto3)")
expect_error("AccessDeniedException", ops_ecr.describe_images, repositoryName="shared/app",
             contains=f"arn:aws:ecr:{REGION}:{MGMT}:repository/shared/app")
step("without registryId the caller's own registry is asked")

# --- service control policies and resource control policies ---
root_after = org.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")["Root"]
if root_after["PolicyTypes"] != [{"Type": "SERVICE_CONTROL_POLICY", "Status": "ENABLED"}]:
    fail(f"root policy types {root_after}")
for target in (root_id, ou["Id"], WORK, MGMT):
    got = [p["Name"] for p in org.list_policies_for_target(TargetId=target, Filter="SERVICE_CONTROL_POLICY")["Policies"]]
    if got != ["FullAWSAccess"]:
        fail(f"policies of {target}: {got}")
step("EnablePolicyType SCP: FullAWSAccess is attached to the root, the OU and every account")
w_iam.list_users()
deny = org.create_policy(Name="NoNewUsers", Description="no IAM users in workloads", Type="SERVICE_CONTROL_POLICY",
                         Content=json.dumps({"Version": "2012-10-17", "Statement": [
                             {"Effect": "Deny", "Action": "iam:CreateUser", "Resource": "*"}]}))["Policy"]["PolicySummary"]
org.attach_policy(PolicyId=deny["Id"], TargetId=ou["Id"])
expect_error("DuplicatePolicyAttachmentException", org.attach_policy, PolicyId=deny["Id"], TargetId=ou["Id"])
msg = expect_error("AccessDenied", w_iam.create_user, UserName="intruder")
want = (f"User: arn:aws:sts::{WORK}:assumed-role/OrganizationAccountAccessRole/ops is not authorized to perform: "
        f"iam:CreateUser on resource: arn:aws:iam::{WORK}:user/intruder with an explicit deny in a service control policy")
if not msg.startswith(want):
    fail(f"SCP denial message {msg!r}")
iam.create_user(UserName="still-fine")
step("an SCP on the OU denies iam:CreateUser to the workload's administrator role; the management account is exempt")
expect_error("ConstraintViolationException", org.detach_policy, PolicyId="p-FullAWSAccess", TargetId=WORK)
allow = org.create_policy(Name="OnlyEcrAndSts", Description="allow-list", Type="SERVICE_CONTROL_POLICY",
                          Content=json.dumps({"Version": "2012-10-17", "Statement": [
                              {"Effect": "Allow", "Action": ["ecr:*", "sts:*"], "Resource": "*"}]}))["Policy"]["PolicySummary"]
org.attach_policy(PolicyId=allow["Id"], TargetId=ou["Id"])
org.detach_policy(PolicyId="p-FullAWSAccess", TargetId=ou["Id"])
msg = expect_error("AccessDenied", w_iam.list_roles)
if not msg.endswith("because no service control policy allows the iam:ListRoles action"):
    fail(f"allow-list SCP message {msg!r}")
w_ecr.describe_repositories()
step("an allow-list SCP on the OU (ecr:*, sts:* only): iam:ListRoles is denied as no SCP allows it, ECR still works")
targets = sorted(t["TargetId"] for t in org.list_targets_for_policy(PolicyId=allow["Id"])["Targets"])
if targets != [ou["Id"]]:
    fail(f"targets {targets}")
org.attach_policy(PolicyId="p-FullAWSAccess", TargetId=ou["Id"])
org.detach_policy(PolicyId=allow["Id"], TargetId=ou["Id"])
w_iam.list_roles()
step("ListTargetsForPolicy; re-attaching FullAWSAccess restores what the SCPs cap")
org.enable_policy_type(RootId=root_id, PolicyType="RESOURCE_CONTROL_POLICY")
rcp = org.create_policy(Name="OwnAccountPullsOnly", Description="only the workload pulls", Type="RESOURCE_CONTROL_POLICY",
                        Content=json.dumps({"Version": "2012-10-17", "Statement": [
                            {"Effect": "Deny", "Principal": "*", "Action": "ecr:BatchGetImage", "Resource": "*",
                             "Condition": {"StringNotEquals": {"aws:PrincipalAccount": WORK}}}]}))["Policy"]["PolicySummary"]
org.attach_policy(PolicyId=rcp["Id"], TargetId=WORK)
p = skopeo("copy", "--src-tls-verify=false", f"docker://{WORK_REGISTRY}/shared/app:v1", f"oci:{back}-rcp:v1",
           creds=password(ops_ecr), proxy=True, expect_ok=False)
if p.returncode == 0:
    fail("an RCP denying other accounts' pulls did not stop one")
msg = expect_error("AccessDeniedException", ops_ecr.batch_get_image, registryId=WORK, repositoryName="shared/app",
                   imageIds=[{"imageTag": "v1"}])
if "with an explicit deny in a resource control policy" not in msg:
    fail(f"RCP denial message {msg!r}")
w_ecr.batch_get_image(repositoryName="shared/app", imageIds=[{"imageTag": "v1"}])
step("an RCP on the workload account denies other accounts' pulls (skopeo and the API), its own still work")
org.detach_policy(PolicyId=rcp["Id"], TargetId=WORK)
bad = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "ecr:*", "Resource": "*"}]}
expect_error("MalformedPolicyDocumentException", org.create_policy, Name="bad", Description="x",
             Type="RESOURCE_CONTROL_POLICY", Content=json.dumps(bad))
expect_error("ConstraintViolationException", org.create_policy, Name="huge", Description="x",
             Type="SERVICE_CONTROL_POLICY", Content=json.dumps({"Version": "2012-10-17", "Statement": [
                 {"Effect": "Deny", "Action": f"s3:Get{'x' * 5200}", "Resource": "*"}]}))
step("CreatePolicy refuses an RCP that allows (MalformedPolicyDocumentException) and a document over 5,120 characters")
sim = iam.simulate_principal_policy(PolicySourceArn=f"arn:aws:iam::{MGMT}:user/ops", ActionNames=["iam:CreateUser"])
step("the management account's simulator is unaffected by SCPs")

# --- closing an account ---
org.close_account(AccountId=WORK)
expect_error("InvalidClientTokenId", client("sts", *work_creds).get_caller_identity)
expect_error("AccessDenied", ops_sts.assume_role, RoleArn=role_arn, RoleSessionName="late")
step("CloseAccount: the account's sessions stop working and its roles can no longer be assumed")
done()

#!/usr/bin/env python3
"""The event history (CloudTrail LookupEvents) with the official clients (boto3 and the aws
CLI from PyPI) against kagi: every call recorded as AWS shapes the record, denials explained,
secrets hidden, each lookup attribute, time ranges and pagination.

Run by crates/server/tests/trail.rs. Environment:
  KAGI_ENDPOINT    http://127.0.0.1:PORT
  KAGI_ACCOUNT     the account id;  KAGI_ROOT_AKID / KAGI_ROOT_SECRET  its root keys
  AWS_BIN          the official aws CLI (v1)
Prints "OK: N steps" on success; exits non-zero at the first step that misbehaves.
"""
import functools
import datetime, json, os, subprocess, sys, tempfile

import boto3
import botocore.exceptions
from botocore.config import Config
from kagitest import done, fail, step, client as _client, expect_error
client = functools.partial(_client, attempts=1)

E = os.environ["KAGI_ENDPOINT"]
ACCOUNT = os.environ["KAGI_ACCOUNT"]
AWS = os.environ["AWS_BIN"]
REGION = "us-east-1"


root = (os.environ["KAGI_ROOT_AKID"], os.environ["KAGI_ROOT_SECRET"])
iam = client("iam", *root)
ct = client("cloudtrail", *root)
ecr = client("ecr", *root)
started = datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(seconds=2)

# --- some activity ---
iam.create_user(UserName="alice")
key = iam.create_access_key(UserName="alice")["AccessKey"]
iam.create_login_profile(UserName="alice", Password="Correct-Horse-9-battery")
iam.put_user_policy(UserName="alice", PolicyName="read", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Sid": "ReadUsers", "Effect": "Allow", "Action": "iam:ListUsers", "Resource": "*"},
                  {"Effect": "Allow", "Action": "sts:AssumeRole", "Resource": "*"}]}))
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
         "Principal": {"AWS": f"arn:aws:iam::{ACCOUNT}:user/alice"}, "Action": "sts:AssumeRole"}]}
iam.create_role(RoleName="Pusher", AssumeRolePolicyDocument=json.dumps(trust))
iam.put_role_policy(RoleName="Pusher", PolicyName="push", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
                  {"Effect": "Allow", "Action": ["ecr:DescribeRepositories", "ecr:PutImage"],
                   "Resource": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/test-repos"}]}))
ecr.create_repository(repositoryName="test-repos")
ecr.create_repository(repositoryName="other")
step("root: a user with a key, a password and a policy; a role; two repositories")

alice = (key["AccessKeyId"], key["SecretAccessKey"])
a_iam = client("iam", *alice)
a_iam.list_users()
expect_error("AccessDenied", a_iam.create_user, UserName="mallory")
client("sts", *alice).get_caller_identity()
creds = client("sts", *alice).assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/Pusher",
                                          RoleSessionName="ci-job")["Credentials"]
expect_error("AccessDeniedException", client("cloudtrail", *alice).lookup_events)
step("alice: ListUsers, a denied CreateUser, GetCallerIdentity, AssumeRole, a denied LookupEvents")

bad = client("iam", alice[0], "not-the-secret-" + "x" * 25)
expect_error("SignatureDoesNotMatch", bad.list_users)
step("a request signed with the wrong secret for alice's key")

session = (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])
s_ecr = client("ecr", *session)
registry_token = s_ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
s_ecr.describe_repositories(repositoryNames=["test-repos"])
expect_error("AccessDeniedException", s_ecr.describe_repositories, repositoryNames=["other"])
step("the role session: GetAuthorizationToken, DescribeRepositories allowed and denied")


def lookup(**kw):
    out, token = [], None
    while True:
        args = dict(kw)
        if token:
            args["NextToken"] = token
        page = ct.lookup_events(**args)
        out.extend(page["Events"])
        token = page.get("NextToken")
        if not token:
            return out


def record(e):
    return json.loads(e["CloudTrailEvent"])


everything = lookup(StartTime=started)
names = [e["EventName"] for e in everything]
for want in ["CreateUser", "CreateAccessKey", "CreateLoginProfile", "PutUserPolicy", "CreateRole",
             "CreateRepository", "ListUsers", "GetCallerIdentity", "AssumeRole", "LookupEvents",
             "GetAuthorizationToken", "DescribeRepositories"]:
    if want not in names:
        fail(f"no {want} event among {names}")
times = [e["EventTime"] for e in everything]
if times != sorted(times, reverse=True):
    fail(f"events are not newest first: {times}")
step(f"LookupEvents: {len(everything)} events since the start, newest first")

# The record's shape, as AWS documents it.
denied = [record(e) for e in everything
          if e["EventName"] == "CreateUser" and e.get("Username") == "alice"]
if len(denied) != 1:
    fail(f"alice's denied CreateUser: {denied}")
r = denied[0]
for k in ["eventVersion", "userIdentity", "eventTime", "eventSource", "eventName", "awsRegion",
          "sourceIPAddress", "userAgent", "requestParameters", "responseElements", "requestID",
          "eventID", "readOnly", "eventType", "managementEvent", "recipientAccountId",
          "eventCategory"]:
    if k not in r:
        fail(f"record lacks {k}: {r}")
ui = r["userIdentity"]
if (ui["type"], ui["userName"], ui["accessKeyId"], ui["accountId"]) != \
        ("IAMUser", "alice", alice[0], ACCOUNT) or not ui["principalId"].startswith("AIDA"):
    fail(f"userIdentity: {ui}")
if r["eventSource"] != "iam.amazonaws.com" or r["errorCode"] != "AccessDenied" \
        or "iam:CreateUser" not in r["errorMessage"] or r["readOnly"] is not False:
    fail(f"denied record: {r}")
if r["requestParameters"] != {"userName": "mallory"}:
    fail(f"requestParameters: {r['requestParameters']}")
if "boto3" not in r["userAgent"].lower() and "botocore" not in r["userAgent"].lower():
    fail(f"userAgent: {r['userAgent']}")
why = r["additionalEventData"]["kagiAuthorization"]
if why[0]["decision"] != "implicitDeny" or why[0]["action"] != "iam:CreateUser" \
        or "no identity-based policy allows" not in why[0]["reason"]:
    fail(f"explanation: {why}")
step("a denied call's record: IAMUser identity, errorCode, parameters, kagi's explanation")

allowed = [record(e) for e in everything if e["EventName"] == "ListUsers"
           and e.get("Username") == "alice" and "errorCode" not in record(e)]
st = allowed[0]["additionalEventData"]["kagiAuthorization"][0]["statements"][0]
if (st["effect"], st["sid"], st["policy"], st["line"]) != ("Allow", "ReadUsers", "read", 1):
    fail(f"the allowing statement: {st}")
step("an allowed call names the policy and statement that allowed it")

assumed = [record(e) for e in everything if e["EventName"] == "DescribeRepositories"]
ok = [a for a in assumed if "errorCode" not in a]
no = [a for a in assumed if a.get("errorCode") == "AccessDeniedException"]
if len(ok) != 1 or len(no) != 1:
    fail(f"DescribeRepositories records: {assumed}")
ui = ok[0]["userIdentity"]
issuer = ui["sessionContext"]["sessionIssuer"]
if ui["type"] != "AssumedRole" or ui["arn"] != f"arn:aws:sts::{ACCOUNT}:assumed-role/Pusher/ci-job" \
        or issuer["arn"] != f"arn:aws:iam::{ACCOUNT}:role/Pusher" or issuer["type"] != "Role" \
        or ui["sessionContext"]["attributes"]["mfaAuthenticated"] != "false" \
        or ui["accessKeyId"] != session[0]:
    fail(f"AssumedRole identity: {ui}")
if ok[0]["resources"] != [{"type": "AWS::ECR::Repository", "accountId": ACCOUNT,
                           "ARN": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/test-repos"}]:
    fail(f"resources: {ok[0].get('resources')}")
if ok[0]["eventSource"] != "ecr.amazonaws.com" or ok[0]["readOnly"] is not True:
    fail(f"ECR record: {ok[0]}")
step("the role session's records: AssumedRole with its issuer, the repository as a resource")

# Secrets never reach the history.
dump = json.dumps([record(e) for e in everything])
for secret in [alice[1], session[1], session[2], "Correct-Horse-9-battery", root[1],
               registry_token]:
    if secret in dump:
        fail("a secret is in the event history")
ak = [record(e) for e in everything if e["EventName"] == "CreateAccessKey"][0]
if ak["responseElements"]["accessKey"]["secretAccessKey"] != "HIDDEN_DUE_TO_SECURITY_REASONS" \
        or ak["responseElements"]["accessKey"]["accessKeyId"] != alice[0]:
    fail(f"CreateAccessKey response: {ak['responseElements']}")
ar = [record(e) for e in everything if e["EventName"] == "AssumeRole"][0]
c = ar["responseElements"]["credentials"]
if c["sessionToken"] != "HIDDEN_DUE_TO_SECURITY_REASONS" or c["accessKeyId"] != session[0]:
    fail(f"AssumeRole response: {c}")
lp = [record(e) for e in everything if e["EventName"] == "CreateLoginProfile"][0]
if lp["requestParameters"]["password"] != "HIDDEN_DUE_TO_SECURITY_REASONS":
    fail(f"CreateLoginProfile: {lp['requestParameters']}")
# Read-only calls are recorded without their answers, as CloudTrail records them.
tok = [record(e) for e in everything if e["EventName"] == "GetAuthorizationToken"][0]
if tok["responseElements"] is not None:
    fail(f"GetAuthorizationToken: {tok['responseElements']}")
step("secrets hidden: secret keys, session tokens, passwords, registry passwords")

sig = [record(e) for e in lookup(LookupAttributes=[{"AttributeKey": "AccessKeyId",
                                                    "AttributeValue": alice[0]}])]
failed = [s for s in sig if s.get("errorCode") == "SignatureDoesNotMatch"]
if len(failed) != 1 or failed[0]["userIdentity"]["accessKeyId"] != alice[0]:
    fail(f"the failed authentication: {failed}")
if any(s["userIdentity"].get("accessKeyId") != alice[0] for s in sig):
    fail("AccessKeyId filter returned another key's events")
step(f"AccessKeyId filter: {len(sig)} events of alice's key, the failed signature among them")


def only(attr, value, check):
    found = lookup(LookupAttributes=[{"AttributeKey": attr, "AttributeValue": value}],
                   StartTime=started)
    if not found:
        fail(f"{attr}={value}: nothing")
    for e in found:
        if not check(e):
            fail(f"{attr}={value}: {e}")
    return found


only("EventName", "CreateUser", lambda e: e["EventName"] == "CreateUser")
only("Username", "alice", lambda e: e.get("Username") == "alice")
only("Username", "ci-job", lambda e: record(e)["userIdentity"]["type"] == "AssumedRole")
only("EventSource", "ecr.amazonaws.com", lambda e: e["EventSource"] == "ecr.amazonaws.com")
only("ReadOnly", "false", lambda e: e["ReadOnly"] == "false")
only("ResourceType", "AWS::ECR::Repository",
     lambda e: any(r["ResourceType"] == "AWS::ECR::Repository" for r in e.get("Resources", [])))
only("ResourceName", "test-repos",
     lambda e: any(r["ResourceName"] == "test-repos" for r in e.get("Resources", [])))
one = everything[5]
byid = lookup(LookupAttributes=[{"AttributeKey": "EventId", "AttributeValue": one["EventId"]}])
if [e["EventId"] for e in byid] != [one["EventId"]]:
    fail(f"EventId lookup: {byid}")
step("each lookup attribute finds only its events")

pages, token, ids = 0, None, []
while True:
    args = {"MaxResults": 3, "StartTime": started}
    if token:
        args["NextToken"] = token
    page = ct.lookup_events(**args)
    pages += 1
    ids.extend(e["EventId"] for e in page["Events"])
    token = page.get("NextToken")
    if not token:
        break
whole = [e["EventId"] for e in lookup(StartTime=started)]
# LookupEvents itself is recorded: the later lookup also sees the paging calls, all newer.
if len(set(ids)) != len(ids) or ids != whole[-len(ids):] or len(ids) < len(everything):
    fail(f"pages of 3 differ from one lookup: {len(ids)} vs {len(whole)}")
step(f"pagination: {pages} pages of 3, no event twice, the same events in the same order")

mid = datetime.datetime.fromtimestamp(everything[len(everything) // 2]["EventTime"].timestamp(),
                                      datetime.timezone.utc)
older = lookup(EndTime=mid, StartTime=started)
if not older or any(e["EventTime"] > mid + datetime.timedelta(seconds=1) for e in older):
    fail("EndTime")
expect_error("InvalidTimeRangeException", ct.lookup_events, StartTime=mid,
             EndTime=mid - datetime.timedelta(hours=1))
expect_error("InvalidLookupAttributesException", ct.lookup_events,
             LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": "A"},
                               {"AttributeKey": "Username", "AttributeValue": "B"}])
step("time ranges, and AWS's errors for a reversed range and two attributes")

# The official CLI, with its own pagination.
home = tempfile.mkdtemp(prefix="kagi-trail-")
env = dict(os.environ, HOME=home, AWS_ACCESS_KEY_ID=root[0], AWS_SECRET_ACCESS_KEY=root[1],
           AWS_DEFAULT_REGION=REGION)
env.pop("AWS_PROFILE", None)


def cli(*args):
    p = subprocess.run([AWS, "--endpoint-url", E, *args], capture_output=True, text=True, env=env)
    if p.returncode != 0:
        fail(f"aws {' '.join(args)}: {p.stderr}")
    return json.loads(p.stdout)


out = cli("cloudtrail", "lookup-events", "--lookup-attributes",
          "AttributeKey=EventName,AttributeValue=CreateRole", "--output", "json")
if [e["EventName"] for e in out["Events"]] != ["CreateRole"]:
    fail(f"aws cloudtrail lookup-events: {out}")
first = cli("cloudtrail", "lookup-events", "--lookup-attributes",
            "AttributeKey=Username,AttributeValue=alice", "--max-items", "2", "--output", "json")
rest = cli("cloudtrail", "lookup-events", "--lookup-attributes",
           "AttributeKey=Username,AttributeValue=alice", "--starting-token", first["NextToken"],
           "--output", "json")
both = [e["EventId"] for e in first["Events"] + rest["Events"]]
alls = [e["EventId"] for e in lookup(LookupAttributes=[{"AttributeKey": "Username",
                                                       "AttributeValue": "alice"}])]
if both != alls:
    fail(f"aws --max-items/--starting-token: {both} vs {alls}")
step("aws cloudtrail lookup-events: a filter, --max-items and --starting-token")

# --- registry pushes recorded as ECR events, then the least-privilege policy from them ---
import base64, hashlib, urllib.request

user, password = base64.b64decode(registry_token).decode().split(":", 1)
auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()


def registry(method, path, body=b"", headers=None):
    req = urllib.request.Request(E + path, data=body if method in ("POST", "PUT", "PATCH") else None,
                                 method=method, headers={"Authorization": auth, **(headers or {})})
    try:
        with urllib.request.urlopen(req) as r:
            return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()


def push(repo):
    layer = b"kagi trail layer " + repo.encode()
    config = json.dumps({"architecture": "amd64", "os": "linux"}).encode()
    for blob in (layer, config):
        digest = "sha256:" + hashlib.sha256(blob).hexdigest()
        st, h, _ = registry("POST", f"/v2/{repo}/blobs/uploads/")
        if st != 202:
            return st
        loc = h.get("Location") or h.get("location")
        sep = "&" if "?" in loc else "?"
        st, _, _ = registry("PUT", f"{loc}{sep}digest={digest}", blob,
                            {"Content-Type": "application/octet-stream"})
        if st != 201:
            return st
    manifest = json.dumps({
        "schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {"mediaType": "application/vnd.oci.image.config.v1+json",
                   "digest": "sha256:" + hashlib.sha256(config).hexdigest(), "size": len(config)},
        "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar",
                    "digest": "sha256:" + hashlib.sha256(layer).hexdigest(), "size": len(layer)}],
    }).encode()
    st, _, _ = registry("PUT", f"/v2/{repo}/manifests/v1", manifest,
                        {"Content-Type": "application/vnd.oci.image.manifest.v1+json"})
    return st


# The role may not push yet: its policy lacks the upload actions.
if push("test-repos") != 403:
    fail("a push without the upload actions was not refused")
iam.put_role_policy(RoleName="Pusher", PolicyName="push", PolicyDocument=json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "ecr:GetAuthorizationToken", "Resource": "*"},
                  {"Effect": "Allow", "Action": ["ecr:DescribeRepositories", "ecr:PutImage",
                                                 "ecr:InitiateLayerUpload", "ecr:UploadLayerPart",
                                                 "ecr:CompleteLayerUpload",
                                                 "ecr:BatchCheckLayerAvailability"],
                   "Resource": f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/test-repos"}]}))
if push("test-repos") != 201:
    fail("the push with the upload actions failed")
pushed = [record(e) for e in lookup(LookupAttributes=[{"AttributeKey": "Username",
                                                       "AttributeValue": "ci-job"}])]
names = {p["eventName"] for p in pushed}
for want in ["InitiateLayerUpload", "CompleteLayerUpload", "PutImage"]:
    if want not in names:
        fail(f"no {want} event for the push: {sorted(names)}")
put = [p for p in pushed if p["eventName"] == "PutImage"][0]
if put["requestParameters"] != {"imageTag": "v1", "registryId": ACCOUNT, "repositoryName": "test-repos"} \
        or put["readOnly"] is not False or put["eventSource"] != "ecr.amazonaws.com":
    fail(f"PutImage record: {put}")
refused = [p for p in pushed if p["eventName"] == "InitiateLayerUpload" and p.get("errorCode")]
if not refused or refused[0]["errorCode"] != "DENIED":
    fail(f"the refused upload: {refused}")
step("registry pushes recorded as ECR events (a refused upload among them), as AWS names them")

aa = client("accessanalyzer", *root)
job = aa.start_policy_generation(
    policyGenerationDetails={"principalArn": f"arn:aws:iam::{ACCOUNT}:role/Pusher"},
    cloudTrailDetails={"trails": [{"cloudTrailArn": f"arn:aws:cloudtrail:{REGION}:{ACCOUNT}:trail/t",
                                   "allRegions": True}],
                       "accessRole": f"arn:aws:iam::{ACCOUNT}:role/Pusher", "startTime": started})
got = aa.get_generated_policy(jobId=job["jobId"], includeResourcePlaceholders=True)
if got["jobDetails"]["status"] != "SUCCEEDED":
    fail(f"job: {got['jobDetails']}")
policy = json.loads(got["generatedPolicyResult"]["generatedPolicies"][0]["policy"])
allowed = {}
for st in policy["Statement"]:
    for a in ([st["Action"]] if isinstance(st["Action"], str) else st["Action"]):
        allowed[a] = st["Resource"]
repo_arn = f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/test-repos"
for a in ["ecr:PutImage", "ecr:InitiateLayerUpload", "ecr:CompleteLayerUpload",
          "ecr:DescribeRepositories"]:
    if a not in allowed or repo_arn not in json.dumps(allowed[a]):
        fail(f"generated policy lacks {a} on test-repos: {policy}")
if "ecr:GetAuthorizationToken" not in allowed or any("other" in json.dumps(r) for r in allowed.values()):
    fail(f"generated policy: {policy}")
gens = aa.list_policy_generations(principalArn=f"arn:aws:iam::{ACCOUNT}:role/Pusher")
if [g["jobId"] for g in gens["policyGenerations"]] != [job["jobId"]]:
    fail(f"ListPolicyGenerations: {gens}")
step(f"Access Analyzer: the generated policy allows {len(allowed)} actions, test-repos only")

# The generated policy, on a fresh role, lets the same push through and nothing else.
iam.create_role(RoleName="Generated", AssumeRolePolicyDocument=json.dumps(trust))
iam.put_role_policy(RoleName="Generated", PolicyName="generated",
                    PolicyDocument=got["generatedPolicyResult"]["generatedPolicies"][0]["policy"])
g = client("sts", *alice).assume_role(RoleArn=f"arn:aws:iam::{ACCOUNT}:role/Generated",
                                      RoleSessionName="generated")["Credentials"]
g_ecr = client("ecr", g["AccessKeyId"], g["SecretAccessKey"], g["SessionToken"])
token = g_ecr.get_authorization_token()["authorizationData"][0]["authorizationToken"]
user, password = base64.b64decode(token).decode().split(":", 1)
auth = "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode()
if push("test-repos") != 201:
    fail("the generated policy does not let the push through")
if push("other") != 403:
    fail("the generated policy lets a push to another repository through")
g_ecr.describe_repositories(repositoryNames=["test-repos"])
expect_error("AccessDeniedException", g_ecr.describe_repositories, repositoryNames=["other"])
step("a fresh role with the generated policy pushes to test-repos and is refused elsewhere")

done()

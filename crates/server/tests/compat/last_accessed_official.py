#!/usr/bin/env python3
"""IAM's last-accessed reports (GenerateServiceLastAccessedDetails, GetServiceLastAccessedDetails,
GetServiceLastAccessedDetailsWithEntities, ListPoliciesGrantingServiceAccess) from the event
history, with the official clients (boto3 and the aws CLI from PyPI) against kagi: a user calls
ECR, IAM and STS, a role's session calls ECR; the reports for the user, the role, a group and a
policy list exactly those services as accessed (entity, region, time) and the others as never
accessed; action-level data; AWS's errors; the permission it takes; pagination.

Run by crates/server/tests/last_accessed.rs. Environment:
  KAGI_ENDPOINT    http://127.0.0.1:PORT
  KAGI_ACCOUNT     the account id;  KAGI_ROOT_AKID / KAGI_ROOT_SECRET  its root keys
  AWS_BIN          the official aws CLI (v1)
Prints "OK: N steps" on success; exits non-zero at the first step that misbehaves.
"""
import functools
import datetime, json, os, subprocess, sys, tempfile, time

import boto3
import botocore.exceptions
from botocore.config import Config
from kagitest import done, fail, step, client as _client, expect_error
client = functools.partial(_client, attempts=1)

E = os.environ["KAGI_ENDPOINT"]
ACCOUNT = os.environ["KAGI_ACCOUNT"]
AWS = os.environ["AWS_BIN"]
REGION = "us-east-1"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(*actions):
    return {"Effect": "Allow", "Action": list(actions), "Resource": "*"}


root = (os.environ["KAGI_ROOT_AKID"], os.environ["KAGI_ROOT_SECRET"])
iam = client("iam", *root)
arn = lambda kind, name: f"arn:aws:iam::{ACCOUNT}:{kind}/{name}"

ecr_read = iam.create_policy(PolicyName="EcrRead", PolicyDocument=doc(
    allow("ecr:DescribeRepositories", "ecr:GetAuthorizationToken")))["Policy"]["Arn"]
data_read = iam.create_policy(PolicyName="DataRead", PolicyDocument=doc(
    allow("s3:GetObject", "dynamodb:GetItem")))["Policy"]["Arn"]
iam.create_user(UserName="dev")
key = iam.create_access_key(UserName="dev")["AccessKey"]
iam.put_user_policy(UserName="dev", PolicyName="dev", PolicyDocument=doc(
    allow("iam:ListUsers", "iam:GetUser", "sts:AssumeRole")))
iam.attach_user_policy(UserName="dev", PolicyArn=ecr_read)
iam.create_user(UserName="idle")
iam.create_group(GroupName="devs")
iam.add_user_to_group(GroupName="devs", UserName="dev")
iam.add_user_to_group(GroupName="devs", UserName="idle")
iam.put_group_policy(GroupName="devs", PolicyName="team", PolicyDocument=doc(
    allow("logs:GetLogEvents", "iam:ListUsers")))
iam.attach_group_policy(GroupName="devs", PolicyArn=data_read)
trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow",
         "Principal": {"AWS": arn("user", "dev")}, "Action": "sts:AssumeRole"}]}
iam.create_role(RoleName="Builder", AssumeRolePolicyDocument=json.dumps(trust))
iam.attach_role_policy(RoleName="Builder", PolicyArn=ecr_read)
iam.put_role_policy(RoleName="Builder", PolicyName="build", PolicyDocument=doc(allow("ecr:PutImage")))
step("root: policies EcrRead and DataRead; user dev (and idle) in group devs; role Builder")

t0 = time.time() - 1
dev = (key["AccessKeyId"], key["SecretAccessKey"])
d_ecr = client("ecr", *dev)
d_ecr.describe_repositories()
d_ecr.get_authorization_token()
expect_error("AccessDeniedException", d_ecr.create_repository, repositoryName="nope")
d_iam = client("iam", *dev)
d_iam.list_users()
d_iam.get_user()
creds = client("sts", *dev).assume_role(RoleArn=arn("role", "Builder"),
                                        RoleSessionName="build-1")["Credentials"]
step("dev: ECR (two allowed, one denied), IAM ListUsers and GetUser, STS AssumeRole")
time.sleep(1.1)
t_role = time.time() - 1
s_ecr = client("ecr", creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"],
               region="eu-west-1")
s_ecr.describe_repositories()
s_ecr.get_authorization_token()
t1 = time.time() + 1
step("the role's session: ECR DescribeRepositories and GetAuthorizationToken in eu-west-1")


def report(target, granularity="SERVICE_LEVEL"):
    job = iam.generate_service_last_accessed_details(Arn=target, Granularity=granularity)["JobId"]
    out = iam.get_service_last_accessed_details(JobId=job)
    if out["JobStatus"] != "COMPLETED" or out["JobType"] != granularity:
        fail(f"job {target}: {out}")
    if not out["JobCreationDate"] <= out["JobCompletionDate"]:
        fail(f"job dates {out}")
    if out["IsTruncated"]:
        fail(f"one page expected: {out}")
    return job, {s["ServiceNamespace"]: s for s in out["ServicesLastAccessed"]}, out


def check(services, accessed, never, entity=None, region=None, since=t0, total=None):
    if sorted(services) != sorted(list(accessed) + list(never)):
        fail(f"services {sorted(services)}, expected {sorted(list(accessed) + list(never))}")
    for ns in accessed:
        s = services[ns]
        when = s.get("LastAuthenticated")
        if when is None:
            fail(f"{ns} not accessed: {s}")
        if not since <= when.timestamp() <= t1:
            fail(f"{ns} accessed at {when}, not between {since} and {t1}")
        if entity and s.get("LastAuthenticatedEntity") != entity.get(ns, entity.get("*")):
            fail(f"{ns} entity {s.get('LastAuthenticatedEntity')}, expected {entity}")
        if region and s.get("LastAuthenticatedRegion") != region.get(ns, region.get("*")):
            fail(f"{ns} region {s.get('LastAuthenticatedRegion')}, expected {region}")
        want_total = (total or {}).get(ns, 1)
        if s.get("TotalAuthenticatedEntities") != want_total:
            fail(f"{ns} TotalAuthenticatedEntities {s.get('TotalAuthenticatedEntities')} != {want_total}")
    for ns in never:
        s = services[ns]
        if any(k in s for k in ["LastAuthenticated", "LastAuthenticatedEntity", "LastAuthenticatedRegion"]):
            fail(f"{ns} should never have been accessed: {s}")
        if s.get("TotalAuthenticatedEntities", 0) != 0:
            fail(f"{ns}: {s}")


names = {"ecr": "Amazon Elastic Container Registry", "iam": "AWS Identity and Access Management",
         "sts": "AWS Security Token Service", "s3": "Amazon S3", "dynamodb": "Amazon DynamoDB",
         "logs": "Amazon CloudWatch Logs"}
user_job, services, out = report(arn("user", "dev"))
check(services, ["ecr", "iam", "sts"], ["dynamodb", "logs", "s3"], entity={"*": arn("user", "dev")},
      region={"*": REGION})
for ns, s in services.items():
    if s["ServiceName"] != names[ns]:
        fail(f"ServiceName of {ns}: {s['ServiceName']}")
    if "TrackedActionsLastAccessed" in s:
        fail(f"a SERVICE_LEVEL report with actions: {s}")
listed = [s["ServiceName"] for s in out["ServicesLastAccessed"]]
if listed != sorted(listed, key=str.lower):
    fail(f"services not sorted by name: {listed}")
step("user dev: ECR, IAM, STS accessed by dev in us-east-1; DynamoDB, Logs, S3 never")

_, services, _ = report(arn("role", "Builder"))
check(services, ["ecr"], [], entity={"*": arn("role", "Builder")}, region={"*": "eu-west-1"},
      since=t_role)
step("role Builder: ECR accessed by the role (its session) in eu-west-1, nothing else allowed")

group_job, services, _ = report(arn("group", "devs"))
check(services, ["iam"], ["dynamodb", "logs", "s3"], entity={"*": arn("user", "dev")},
      region={"*": REGION})
ents = iam.get_service_last_accessed_details_with_entities(JobId=group_job, ServiceNamespace="iam")
got = [(e["EntityInfo"]["Name"], e["EntityInfo"]["Type"], "LastAuthenticated" in e)
       for e in ents["EntityDetailsList"]]
if got != [("dev", "USER", True), ("idle", "USER", False)]:
    fail(f"group entities: {got}")
step("group devs: IAM accessed by member dev; the group's other services never; entities dev, idle")

policy_job, services, _ = report(ecr_read)
check(services, ["ecr"], [], entity={"ecr": arn("role", "Builder")}, region={"ecr": "eu-west-1"},
      total={"ecr": 2})
ents = iam.get_service_last_accessed_details_with_entities(JobId=policy_job, ServiceNamespace="ecr")
got = [(e["EntityInfo"]["Arn"], e["EntityInfo"]["Type"]) for e in ents["EntityDetailsList"]]
if got != [(arn("role", "Builder"), "ROLE"), (arn("user", "dev"), "USER")]:
    fail(f"policy entities (most recent first): {got}")
if ents["JobStatus"] != "COMPLETED" or ents["IsTruncated"]:
    fail(f"{ents}")
_, services, _ = report(data_read)
check(services, [], ["dynamodb", "s3"])
step("policy EcrRead: ECR last by the role, 2 entities (role, then dev); DataRead never used")

_, services, _ = report(arn("user", "dev"), "ACTION_LEVEL")
actions = lambda ns: {a["ActionName"]: a for a in services[ns].get("TrackedActionsLastAccessed", [])}
ecr_actions = actions("ecr")
for a in ["DescribeRepositories", "GetAuthorizationToken", "CreateRepository"]:
    x = ecr_actions.get(a)
    if not x or x.get("LastAccessedEntity") != arn("user", "dev") or x.get("LastAccessedRegion") != REGION \
            or not t0 <= x["LastAccessedTime"].timestamp() <= t1:
        fail(f"ecr action {a}: {ecr_actions}")
if set(ecr_actions) != {"DescribeRepositories", "GetAuthorizationToken", "CreateRepository"}:
    fail(f"ecr actions {sorted(ecr_actions)}")
if set(actions("iam")) != {"ListUsers", "GetUser"} or any(
        "LastAccessedTime" not in a for a in actions("iam").values()):
    fail(f"iam actions {actions('iam')}")
s3 = actions("s3")
if list(s3) != ["GetObject"] or "LastAccessedTime" in s3["GetObject"]:
    fail(f"s3 actions (allowed, never used): {s3}")
if "TrackedActionsLastAccessed" in services["dynamodb"] or "TrackedActionsLastAccessed" in services["logs"]:
    fail("actions reported for a service AWS tracks only at the service level")
step("ACTION_LEVEL: ECR's three actions (a denied attempt counts), IAM's two; S3's unused; none for DynamoDB")

page, seen, marker = 0, [], None
while True:
    kw = {"JobId": user_job, "MaxItems": 2}
    if marker:
        kw["Marker"] = marker
    p = iam.get_service_last_accessed_details(**kw)
    page += 1
    if len(p["ServicesLastAccessed"]) > 2:
        fail(f"MaxItems 2: {p}")
    seen += [s["ServiceNamespace"] for s in p["ServicesLastAccessed"]]
    if not p["IsTruncated"]:
        break
    marker = p["Marker"]
if page != 3 or sorted(seen) != sorted(["ecr", "iam", "sts", "dynamodb", "logs", "s3"]) or len(set(seen)) != 6:
    fail(f"pagination: {page} pages, {seen}")
step("MaxItems 2: three pages with Marker, every service once")

granting = iam.list_policies_granting_service_access(
    Arn=arn("user", "dev"), ServiceNamespaces=["ecr", "logs", "s3", "ec2"])["PoliciesGrantingServiceAccess"]
by_ns = {g["ServiceNamespace"]: g["Policies"] for g in granting}
if [(p["PolicyName"], p["PolicyType"], p.get("PolicyArn")) for p in by_ns["ecr"]] != [("EcrRead", "MANAGED", ecr_read)]:
    fail(f"ecr granted by {by_ns['ecr']}")
if [(p["PolicyName"], p["PolicyType"], p.get("EntityType"), p.get("EntityName")) for p in by_ns["logs"]] != \
        [("team", "INLINE", "GROUP", "devs")]:
    fail(f"logs granted by {by_ns['logs']}")
if [p["PolicyName"] for p in by_ns["s3"]] != ["DataRead"] or by_ns["ec2"] != []:
    fail(f"{by_ns}")
step("ListPoliciesGrantingServiceAccess: managed, group inline, none")

expect_error("NoSuchEntity", iam.get_service_last_accessed_details,
             JobId="00000000-0000-7000-8000-000000000000")
expect_error("InvalidInput", iam.get_service_last_accessed_details, JobId="x" * 36)
expect_error("NoSuchEntity", iam.get_service_last_accessed_details_with_entities,
             JobId="00000000-0000-7000-8000-000000000000", ServiceNamespace="ecr")
expect_error("NoSuchEntity", iam.generate_service_last_accessed_details, Arn=arn("user", "ghost"))
expect_error("InvalidInput", iam.generate_service_last_accessed_details,
             Arn=f"arn:aws:ecr:{REGION}:{ACCOUNT}:repository/x")
# Not one of LookupEvents' keys: refused as every key outside the model's enum is (kagi-api's
# validation, before the handler's own InvalidLookupAttributesException check).
msg = expect_error("ValidationException", client("cloudtrail", *root).lookup_events,
                   LookupAttributes=[{"AttributeKey": "PrincipalArn", "AttributeValue": arn("user", "dev")}])
if "PrincipalArn" not in msg:
    fail(msg)
iam.create_user(UserName="temp")
temp_job = iam.generate_service_last_accessed_details(Arn=arn("user", "temp"))["JobId"]
iam.delete_user(UserName="temp")
gone = iam.get_service_last_accessed_details(JobId=temp_job)
if gone["JobStatus"] != "FAILED" or gone["Error"]["Code"] != "NoSuchEntity" or gone["ServicesLastAccessed"]:
    fail(f"a job whose user was deleted: {gone}")
step("errors: unknown JobId NoSuchEntity, malformed InvalidInput, unknown entity, not an IAM ARN; "
     "LookupEvents refuses kagi's internal PrincipalArn attribute; a deleted entity's job FAILED")

msg = expect_error("AccessDenied", d_iam.get_service_last_accessed_details, JobId=user_job)
if "iam:GetServiceLastAccessedDetails" not in msg:
    fail(msg)
expect_error("AccessDenied", d_iam.generate_service_last_accessed_details, Arn=arn("user", "dev"))
expect_error("AccessDenied", d_iam.get_service_last_accessed_details_with_entities, JobId=group_job,
             ServiceNamespace="iam")
iam.put_user_policy(UserName="idle", PolicyName="reports", PolicyDocument=doc(
    allow("iam:GenerateServiceLastAccessedDetails", "iam:GetServiceLastAccessedDetails")))
idle_key = iam.create_access_key(UserName="idle")["AccessKey"]
i_iam = client("iam", idle_key["AccessKeyId"], idle_key["SecretAccessKey"])
own = i_iam.generate_service_last_accessed_details(Arn=arn("user", "idle"))["JobId"]
if i_iam.get_service_last_accessed_details(JobId=own)["JobStatus"] != "COMPLETED":
    fail("idle's own job")
expect_error("NoSuchEntity", i_iam.get_service_last_accessed_details, JobId=user_job)
step("dev (no permission) is denied; idle reads its own job, not root's (jobs belong to their creator)")

# The official CLI.
home = tempfile.mkdtemp(prefix="kagi-last-accessed-")
env = dict(os.environ, HOME=home, AWS_ACCESS_KEY_ID=root[0], AWS_SECRET_ACCESS_KEY=root[1],
           AWS_DEFAULT_REGION=REGION)
env.pop("AWS_PROFILE", None)


def cli(*args):
    p = subprocess.run([AWS, "--endpoint-url", E, *args, "--output", "json"], capture_output=True,
                       text=True, env=env)
    if p.returncode != 0:
        fail(f"aws {' '.join(args)}: {p.stderr}")
    return json.loads(p.stdout)


job = cli("iam", "generate-service-last-accessed-details", "--arn", arn("role", "Builder"),
          "--granularity", "ACTION_LEVEL")["JobId"]
out = cli("iam", "get-service-last-accessed-details", "--job-id", job)
if [s["ServiceNamespace"] for s in out["ServicesLastAccessed"]] != ["ecr"]:
    fail(f"aws iam get-service-last-accessed-details: {out}")
s = out["ServicesLastAccessed"][0]
tracked = {a["ActionName"]: a for a in s["TrackedActionsLastAccessed"]}
if s["LastAuthenticatedEntity"] != arn("role", "Builder") or \
        set(tracked) != {"DescribeRepositories", "GetAuthorizationToken", "PutImage"} or \
        "LastAccessedTime" in tracked["PutImage"] or "LastAccessedTime" not in tracked["DescribeRepositories"]:
    fail(f"aws cli: {s}")
ents = cli("iam", "get-service-last-accessed-details-with-entities", "--job-id", group_job,
           "--service-namespace", "iam")
if [e["EntityInfo"]["Name"] for e in ents["EntityDetailsList"]] != ["dev", "idle"]:
    fail(f"aws cli entities: {ents}")
p = subprocess.run([AWS, "--endpoint-url", E, "iam", "get-service-last-accessed-details", "--job-id",
                    "00000000-0000-7000-8000-000000000000"], capture_output=True, text=True, env=env)
if p.returncode == 0 or "NoSuchEntity" not in p.stderr:
    fail(f"aws cli bad job id: {p.returncode} {p.stderr}")
step("aws CLI v1: the role's ACTION_LEVEL report, a group's entities, NoSuchEntity")

done()

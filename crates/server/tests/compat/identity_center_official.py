#!/usr/bin/env python3
"""IAM Identity Center's administration APIs (identitystore, sso-admin) with the official client
(boto3 from PyPI) against kagi: an instance, a user in a group, a permission set with an inline
policy, an AWS managed policy and a boundary, assigned to an account created through
Organizations; the AWSReservedSSO_ role appears in that account and goes with the assignment.

Run by crates/server/tests/identity_center_official.rs. Environment:
  KAGI_ENDPOINT    http://127.0.0.1:PORT
  KAGI_ACCOUNT     the management account id;  KAGI_ROOT_AKID / KAGI_ROOT_SECRET  its root keys
Prints "OK: N steps" on success; exits non-zero at the first step that misbehaves.
"""
import datetime, json, os, re, sys

import boto3
import botocore.exceptions
from kagitest import done, fail, step, client, expect_error

E = os.environ["KAGI_ENDPOINT"]
MGMT = os.environ["KAGI_ACCOUNT"]
REGION = "us-east-1"


root = (os.environ["KAGI_ROOT_AKID"], os.environ["KAGI_ROOT_SECRET"])
org = client("organizations", *root)
iam = client("iam", *root)
sso = client("sso-admin", *root)
ids = client("identitystore", *root)

org.create_organization(FeatureSet="ALL")
work = org.create_account(Email="work@example.com", AccountName="work")["CreateAccountStatus"]["AccountId"]
iam.create_user(UserName="ops")
iam.put_user_policy(UserName="ops", PolicyName="all", PolicyDocument=json.dumps({
    "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}))
k = iam.create_access_key(UserName="ops")["AccessKey"]
ops_sts = client("sts", k["AccessKeyId"], k["SecretAccessKey"])
c = ops_sts.assume_role(RoleArn=f"arn:aws:iam::{work}:role/OrganizationAccountAccessRole",
                        RoleSessionName="ops")["Credentials"]
w_iam = client("iam", c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
w_sso = client("sso-admin", c["AccessKeyId"], c["SecretAccessKey"], c["SessionToken"])
step("an organization with a workload account, reached through OrganizationAccountAccessRole")

arn = sso.create_instance(Name="kagi")["InstanceArn"]
if not re.fullmatch(r"arn:aws:sso:::instance/ssoins-[0-9a-f]{16}", arn):
    fail(arn)
inst = sso.list_instances()["Instances"]
if len(inst) != 1 or inst[0]["InstanceArn"] != arn or inst[0]["OwnerAccountId"] != MGMT:
    fail(f"ListInstances {inst}")
store = inst[0]["IdentityStoreId"]
if not re.fullmatch(r"d-[0-9a-f]{10}", store):
    fail(store)
if not isinstance(inst[0]["CreatedDate"], datetime.datetime):
    fail(f"CreatedDate {inst[0]['CreatedDate']!r}")
expect_error("ConflictException", sso.create_instance)
step("CreateInstance, ListInstances; a second instance is a ConflictException")

u = ids.create_user(IdentityStoreId=store, UserName="alice", DisplayName="Alice",
                    Name={"GivenName": "Alice", "FamilyName": "Liddell"},
                    Emails=[{"Value": "alice@example.com", "Type": "work", "Primary": True}])
alice = u["UserId"]
expect_error("ConflictException", ids.create_user, IdentityStoreId=store, UserName="Alice",
             DisplayName="Other")
got = ids.get_user_id(IdentityStoreId=store, AlternateIdentifier={
    "UniqueAttribute": {"AttributePath": "userName", "AttributeValue": "alice"}})
if got["UserId"] != alice:
    fail(f"GetUserId {got}")
d = ids.describe_user(IdentityStoreId=store, UserId=alice)
if d["Name"]["FamilyName"] != "Liddell" or d["Emails"][0]["Primary"] is not True:
    fail(f"DescribeUser {d}")
ids.update_user(IdentityStoreId=store, UserId=alice, Operations=[
    {"AttributePath": "displayName", "AttributeValue": "Alice L."}])
if ids.describe_user(IdentityStoreId=store, UserId=alice)["DisplayName"] != "Alice L.":
    fail("UpdateUser")
users = ids.list_users(IdentityStoreId=store, Filters=[{"AttributePath": "UserName", "AttributeValue": "alice"}])
if [x["UserId"] for x in users["Users"]] != [alice]:
    fail(f"ListUsers {users}")
step("CreateUser, GetUserId, DescribeUser, UpdateUser, ListUsers; a duplicate name (any case) conflicts")

g = ids.create_group(IdentityStoreId=store, DisplayName="devs")["GroupId"]
m = ids.create_group_membership(IdentityStoreId=store, GroupId=g, MemberId={"UserId": alice})
r = ids.is_member_in_groups(IdentityStoreId=store, MemberId={"UserId": alice}, GroupIds=[g])
if r["Results"][0]["MembershipExists"] is not True:
    fail(f"IsMemberInGroups {r}")
lm = ids.list_group_memberships(IdentityStoreId=store, GroupId=g)["GroupMemberships"]
if [x["MembershipId"] for x in lm] != [m["MembershipId"]]:
    fail(f"ListGroupMemberships {lm}")
step("CreateGroup, CreateGroupMembership, IsMemberInGroups, ListGroupMemberships")

for name in ("bob", "carol"):
    ids.create_user(IdentityStoreId=store, UserName=name, DisplayName=name.title(),
                    Name={"GivenName": name.title(), "FamilyName": "Example"})
pages = [p["Users"] for p in ids.get_paginator("list_users").paginate(
    IdentityStoreId=store, PaginationConfig={"PageSize": 1})]
names = [u["UserName"] for p in pages for u in p]
if sorted(names) != ["alice", "bob", "carol"] or [len(p) for p in pages if p] != [1, 1, 1]:
    fail(f"ListUsers pages {pages}")
got = ids.list_users(IdentityStoreId=store, Filters=[{"AttributePath": "UserName", "AttributeValue": "carol"}])
if [u["UserName"] for u in got["Users"]] != ["carol"] or "NextToken" in got:
    fail(f"ListUsers UserName=carol {got}")
if ids.list_users(IdentityStoreId=store, Filters=[
        {"AttributePath": "UserName", "AttributeValue": "nobody"}])["Users"] != []:
    fail("ListUsers UserName=nobody")
expect_error("ValidationException", ids.list_users, IdentityStoreId=store,
             Filters=[{"AttributePath": "DisplayName", "AttributeValue": "Bob"}])
expect_error("ValidationException", ids.list_users, IdentityStoreId=store, NextToken="not-a-token")
ids.create_group(IdentityStoreId=store, DisplayName="ops")
groups = [p["Groups"] for p in ids.get_paginator("list_groups").paginate(
    IdentityStoreId=store, PaginationConfig={"PageSize": 1})]
if sorted(x["DisplayName"] for p in groups for x in p) != ["devs", "ops"] or [len(p) for p in groups if p] != [1, 1]:
    fail(f"ListGroups pages {groups}")
got = ids.list_groups(IdentityStoreId=store, Filters=[{"AttributePath": "DisplayName", "AttributeValue": "ops"}])
if [x["DisplayName"] for x in got["Groups"]] != ["ops"]:
    fail(f"ListGroups DisplayName=ops {got}")
expect_error("ValidationException", ids.list_groups, IdentityStoreId=store,
             Filters=[{"AttributePath": "UserName", "AttributeValue": "ops"}])
step("ListUsers/ListGroups: botocore's paginators one item a page, Filters on UserName/DisplayName, "
     "another attribute or a bad NextToken is a ValidationException")

ps = sso.create_permission_set(InstanceArn=arn, Name="Developer", SessionDuration="PT2H")["PermissionSet"]
ps_arn = ps["PermissionSetArn"]
expect_error("ConflictException", sso.create_permission_set, InstanceArn=arn, Name="Developer")
expect_error("ValidationException", sso.put_inline_policy_to_permission_set, InstanceArn=arn,
             PermissionSetArn=ps_arn, InlinePolicy='{"Version": "2012-10-17", "Statement": "nope"}')
inline = json.dumps({"Version": "2012-10-17",
                     "Statement": [{"Effect": "Allow", "Action": "ecr:*", "Resource": "*"}]})
sso.put_inline_policy_to_permission_set(InstanceArn=arn, PermissionSetArn=ps_arn, InlinePolicy=inline)
managed = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly"
sso.attach_managed_policy_to_permission_set(InstanceArn=arn, PermissionSetArn=ps_arn, ManagedPolicyArn=managed)
boundary = "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPowerUser"
sso.put_permissions_boundary_to_permission_set(InstanceArn=arn, PermissionSetArn=ps_arn,
                                               PermissionsBoundary={"ManagedPolicyArn": boundary})
d = sso.describe_permission_set(InstanceArn=arn, PermissionSetArn=ps_arn)["PermissionSet"]
if d["SessionDuration"] != "PT2H" or d["Name"] != "Developer":
    fail(f"DescribePermissionSet {d}")
step("a permission set: inline policy (checked), AWS managed policy, permissions boundary")

st = sso.create_account_assignment(InstanceArn=arn, TargetId=work, TargetType="AWS_ACCOUNT",
                                   PermissionSetArn=ps_arn, PrincipalType="GROUP",
                                   PrincipalId=g)["AccountAssignmentCreationStatus"]
if st["Status"] != "SUCCEEDED":
    fail(f"CreateAccountAssignment {st}")
d = sso.describe_account_assignment_creation_status(
    InstanceArn=arn, AccountAssignmentCreationRequestId=st["RequestId"])["AccountAssignmentCreationStatus"]
if d["Status"] != "SUCCEEDED" or d["TargetId"] != work:
    fail(f"DescribeAccountAssignmentCreationStatus {d}")
roles = w_iam.list_roles(PathPrefix="/aws-reserved/sso.amazonaws.com/")["Roles"]
if len(roles) != 1 or not re.fullmatch(r"AWSReservedSSO_Developer_[0-9a-f]{16}", roles[0]["RoleName"]):
    fail(f"roles {roles}")
role = roles[0]["RoleName"]
r = w_iam.get_role(RoleName=role)["Role"]
if r["PermissionsBoundary"]["PermissionsBoundaryArn"] != boundary or r["MaxSessionDuration"] != 7200:
    fail(f"GetRole {r}")
if w_iam.list_role_policies(RoleName=role)["PolicyNames"] != ["AwsSSOInlinePolicy"]:
    fail("inline policy")
att = [p["PolicyArn"] for p in w_iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]]
if att != [managed]:
    fail(f"attached {att}")
step(f"CreateAccountAssignment provisions {role} in the workload account")

expect_error("ResourceNotFoundException", sso.create_account_assignment, InstanceArn=arn,
             TargetId=work, TargetType="AWS_ACCOUNT", PermissionSetArn=ps_arn,
             PrincipalType="USER", PrincipalId="00000000-0000-0000-0000-000000000000")
expect_error("AccessDeniedException", w_sso.describe_instance, InstanceArn=arn)
step("an unknown principal is ResourceNotFoundException; another account's caller AccessDeniedException")

st = sso.delete_account_assignment(InstanceArn=arn, TargetId=work, TargetType="AWS_ACCOUNT",
                                   PermissionSetArn=ps_arn, PrincipalType="GROUP",
                                   PrincipalId=g)["AccountAssignmentDeletionStatus"]
if st["Status"] != "SUCCEEDED":
    fail(f"DeleteAccountAssignment {st}")
expect_error("NoSuchEntity", w_iam.get_role, RoleName=role)
step("DeleteAccountAssignment removes the role")

done()

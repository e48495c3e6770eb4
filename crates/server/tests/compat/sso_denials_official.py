#!/usr/bin/env python3
"""IAM Identity Center's sign-in denials with botocore: an expired device code, an account
assignment removed while its user holds tokens and role credentials, and a deleted user whose
tokens and portal session end at once. (A token used after Logout: sso_signin_official.py.)

Run by crates/server/tests/sso_signin.rs against a server whose device codes last
KAGI_DEVICE_SECS seconds (`KAGI_SSO_DEVICE_CODE_SECONDS`). Environment:
  KAGI_ENDPOINT   http://127.0.0.1:PORT;  KAGI_ACCOUNT  the account alice is assigned in
  KAGI_STORE_ID   the identity store;  KAGI_ROOT_AKID / KAGI_ROOT_SECRET  root keys
  KAGI_INSTANCE_ARN, KAGI_USER_ID, KAGI_PS_ARN  the seeded instance, alice, EcrReader
Prints "OK: N steps"; exits non-zero at the first step that misbehaves.
"""
import base64, hashlib, os, re, secrets, sys, time, urllib.parse

import boto3
import botocore.exceptions
from kagitest import Browser, done, fail, step, client_error

E = os.environ["KAGI_ENDPOINT"]
ACCT = os.environ["KAGI_ACCOUNT"]
STORE = os.environ["KAGI_STORE_ID"]
START = f"{E}/start/{STORE}"
INSTANCE = os.environ["KAGI_INSTANCE_ARN"]
ALICE = os.environ["KAGI_USER_ID"]
READER_PS = os.environ["KAGI_PS_ARN"]
DEVICE_SECS = int(os.environ["KAGI_DEVICE_SECS"])
PASSWORD = "Portal-Passw0rd!"


root = dict(endpoint_url=E, region_name="us-east-1", aws_access_key_id=os.environ["KAGI_ROOT_AKID"],
            aws_secret_access_key=os.environ["KAGI_ROOT_SECRET"])
oidc = boto3.client("sso-oidc", endpoint_url=E, region_name="us-east-1")
portal = boto3.client("sso", endpoint_url=E, region_name="us-east-1")
admin = boto3.client("sso-admin", **root)
idstore = boto3.client("identitystore", **root)


def session_client(service, creds):
    return boto3.client(service, endpoint_url=E, region_name="us-east-1", aws_access_key_id=creds["accessKeyId"],
                        aws_secret_access_key=creds["secretAccessKey"], aws_session_token=creds["sessionToken"])


def pkce_tokens(browser):
    """alice's access and refresh tokens through PKCE, approved in `browser` (signed in)."""
    redirect = "http://127.0.0.1/oauth/callback"
    reg = oidc.register_client(clientName="botocore-client-denials", clientType="public",
                               scopes=["sso:account:access"], grantTypes=["authorization_code", "refresh_token"],
                               redirectUris=[redirect], issuerUrl=START)
    verifier = secrets.token_urlsafe(64)
    challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
    listener = "http://127.0.0.1:54321/oauth/callback"
    q = urllib.parse.urlencode({"response_type": "code", "client_id": reg["clientId"], "redirect_uri": listener,
                                "state": "s", "code_challenge_method": "S256", "scopes": "sso:account:access",
                                "code_challenge": challenge})
    s, h, _ = browser.request(f"/authorize?{q}")
    if s != 303:
        fail(f"/authorize: {s} {h}")
    approve = h["location"]
    s, h, body = browser.request(approve)
    req_id = urllib.parse.parse_qs(urllib.parse.urlparse(approve).query)["request"][0]
    s, h, _ = browser.request("/start/authorize", {"request": req_id, "decision": "allow", "csrf": browser.csrf(body)})
    code = urllib.parse.parse_qs(urllib.parse.urlparse(h.get("location", "")).query).get("code")
    if s != 303 or not code:
        fail(f"PKCE approval: {s} {h}")
    tok = oidc.create_token(clientId=reg["clientId"], clientSecret=reg["clientSecret"],
                            grantType="authorization_code", code=code[0], codeVerifier=verifier, redirectUri=listener)
    return reg, tok


b = Browser()
s, h, _ = b.sign_in("alice", PASSWORD)
if s != 303:
    fail(f"alice signs in to the portal: {s}")

# --- an expired device code ---
reg = oidc.register_client(clientName="botocore-client-expiry", clientType="public", scopes=["sso:account:access"])
dev = oidc.start_device_authorization(clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl=START)
if dev["expiresIn"] != DEVICE_SECS:
    fail(f"expiresIn {dev['expiresIn']}, the server was told {DEVICE_SECS}")
poll = dict(clientId=reg["clientId"], clientSecret=reg["clientSecret"],
            grantType="urn:ietf:params:oauth:grant-type:device_code", deviceCode=dev["deviceCode"])
client_error("AuthorizationPendingException", oidc.create_token, **poll)
form_path = f"/start/device?user_code={dev['userCode']}"
s, h, form = b.request(form_path)
time.sleep(DEVICE_SECS + 1.1)
s, h, body = b.request("/start/device", {"user_code": dev["userCode"], "decision": "allow", "csrf": b.csrf(form)})
if s != 400 or "expired" not in body:
    fail(f"the portal approved an expired code: {s} {body[:300]}")
e = client_error("ExpiredTokenException", oidc.create_token, **poll)
if e.response["ResponseMetadata"]["HTTPStatusCode"] != 400 or e.response.get("error") != "expired_token":
    fail(f"ExpiredTokenException's shape: {e.response}")
step(f"a device code past its expiresIn ({DEVICE_SECS} s): the portal no longer approves it, "
     "CreateToken answers ExpiredTokenException (400, expired_token)")

# --- an assignment removed ---
pusher = admin.create_permission_set(InstanceArn=INSTANCE, Name="EcrPusher",
                                     SessionDuration="PT1H")["PermissionSet"]["PermissionSetArn"]
admin.put_inline_policy_to_permission_set(
    InstanceArn=INSTANCE, PermissionSetArn=pusher,
    InlinePolicy='{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"ecr:DescribeRepositories","Resource":"*"}]}')
group = idstore.create_group(IdentityStoreId=STORE, DisplayName="Builders")["GroupId"]
idstore.create_group_membership(IdentityStoreId=STORE, GroupId=group, MemberId={"UserId": ALICE})
st = admin.create_account_assignment(InstanceArn=INSTANCE, TargetId=ACCT, TargetType="AWS_ACCOUNT",
                                     PermissionSetArn=pusher, PrincipalType="GROUP", PrincipalId=group)
if st["AccountAssignmentCreationStatus"]["Status"] != "SUCCEEDED":
    fail(f"group assignment {st}")
client, tok = pkce_tokens(b)
roles = portal.list_account_roles(accessToken=tok["accessToken"], accountId=ACCT)["roleList"]
if sorted(r["roleName"] for r in roles) != ["EcrPusher", "EcrReader"]:
    fail(f"roles before {roles}")
reader = portal.get_role_credentials(accessToken=tok["accessToken"], accountId=ACCT,
                                     roleName="EcrReader")["roleCredentials"]
pushing = portal.get_role_credentials(accessToken=tok["accessToken"], accountId=ACCT,
                                      roleName="EcrPusher")["roleCredentials"]
session_client("ecr", reader).describe_repositories()
session_client("ecr", pushing).describe_repositories()
step("alice holds a portal token and role credentials for EcrReader (her own assignment) and "
     "EcrPusher (through the group Builders)")

st = admin.delete_account_assignment(InstanceArn=INSTANCE, TargetId=ACCT, TargetType="AWS_ACCOUNT",
                                     PermissionSetArn=READER_PS, PrincipalType="USER", PrincipalId=ALICE)
if st["AccountAssignmentDeletionStatus"]["Status"] != "SUCCEEDED":
    fail(f"DeleteAccountAssignment {st}")
e = client_error("ForbiddenException", portal.get_role_credentials, accessToken=tok["accessToken"],
                 accountId=ACCT, roleName="EcrReader")
if e.response["ResponseMetadata"]["HTTPStatusCode"] != 403:
    fail(f"ForbiddenException's status {e.response}")
roles = portal.list_account_roles(accessToken=tok["accessToken"], accountId=ACCT)["roleList"]
if [r["roleName"] for r in roles] != ["EcrPusher"]:
    fail(f"ListAccountRoles after the removal {roles}")
accounts = portal.list_accounts(accessToken=tok["accessToken"])["accountList"]
if [a["accountId"] for a in accounts] != [ACCT]:
    fail(f"ListAccounts after the removal {accounts}")
step("DeleteAccountAssignment: GetRoleCredentials for EcrReader is ForbiddenException (403) at once, "
     "ListAccountRoles lists only EcrPusher, ListAccounts still the account")

again = portal.get_role_credentials(accessToken=tok["accessToken"], accountId=ACCT,
                                    roleName="EcrPusher")["roleCredentials"]
who = session_client("sts", again).get_caller_identity()["Arn"]
if not re.fullmatch(rf"arn:aws:sts::{ACCT}:assumed-role/AWSReservedSSO_EcrPusher_[0-9a-f]{{16}}/alice", who):
    fail(f"EcrPusher session {who}")
session_client("ecr", pushing).describe_repositories()
ref = oidc.create_token(clientId=client["clientId"], clientSecret=client["clientSecret"], grantType="refresh_token",
                        refreshToken=tok["refreshToken"])
if [r["roleName"] for r in portal.list_account_roles(accessToken=ref["accessToken"], accountId=ACCT)["roleList"]] \
        != ["EcrPusher"]:
    fail("a refreshed token lists the removed role")
try:
    session_client("ecr", reader).describe_repositories()
    fail("EcrReader's credentials still reach ECR after its role was deprovisioned")
except botocore.exceptions.ClientError as e:
    gone = e.response["Error"]["Code"]
step(f"the other assignment keeps working (new and earlier EcrPusher credentials, {who}; a refreshed "
     f"token); EcrReader's earlier credentials lost their deprovisioned role ({gone})")

# --- a user deleted ---
tok = ref
s, h, home = b.request("/start/")
if s != 200 or "EcrPusher" not in home:
    fail(f"alice's portal page before the deletion: {s} {home[:300]}")
idstore.delete_user(IdentityStoreId=STORE, UserId=ALICE)
for call, kw in [(portal.list_accounts, {}), (portal.list_account_roles, {"accountId": ACCT}),
                 (portal.get_role_credentials, {"accountId": ACCT, "roleName": "EcrPusher"}),
                 (portal.logout, {})]:
    e = client_error("UnauthorizedException", call, accessToken=tok["accessToken"], **kw)
    if e.response["ResponseMetadata"]["HTTPStatusCode"] != 401:
        fail(f"UnauthorizedException's status {e.response}")
step("identitystore DeleteUser: the user's access token is UnauthorizedException (401) at once "
     "(ListAccounts, ListAccountRoles, GetRoleCredentials, Logout)")
e = client_error("InvalidGrantException", oidc.create_token, clientId=client["clientId"],
                 clientSecret=client["clientSecret"], grantType="refresh_token", refreshToken=tok["refreshToken"])
if e.response.get("error") != "invalid_grant":
    fail(f"InvalidGrantException's shape {e.response}")
step("CreateToken with the deleted user's refresh token: InvalidGrantException (invalid_grant)")
s, h, body = Browser().sign_in("alice", PASSWORD)
if s != 401 or "Incorrect username or password" not in body:
    fail(f"a deleted user signs in to the portal: {s} {body[:300]}")
s, h, body = b.request("/start/")
if s != 200 or 'action="/start/signin"' not in body or "EcrPusher" in body:
    fail(f"the deleted user's portal session goes on: {s} {body[:300]}")
s, h, body = b.request("/start/credentials", {"account": ACCT, "role": "EcrPusher", "csrf": b.csrf(home)})
if s != 403 or "AWS_SESSION_TOKEN" in body:
    fail(f"the deleted user's portal form was served: {s} {body[:300]}")
step("the portal: signing in as the deleted user fails like a wrong password; her open portal "
     "session asks to sign in again and its forms are refused")
idstore.create_user(IdentityStoreId=STORE, UserName="alice", DisplayName="Alice again",
                    Name={"GivenName": "Alice", "FamilyName": "Again"})
client_error("UnauthorizedException", portal.list_accounts, accessToken=tok["accessToken"])
step("a new user named alice does not revive the deleted one's tokens")
done()

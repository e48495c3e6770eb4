#!/usr/bin/env python3
"""IAM Identity Center's sign-in half with botocore: sso-oidc (device flow, PKCE, refresh), the
access portal's API, and the approvals a person gives in the portal's pages (driven here over
HTTP as a browser would: sign in, read the CSRF token, post the form).

Run by crates/server/tests/sso_signin.rs. Environment:
  KAGI_ENDPOINT   http://127.0.0.1:PORT;  KAGI_ACCOUNT  the account alice is assigned in
  KAGI_STORE_ID   the identity store;  KAGI_ROOT_AKID / KAGI_ROOT_SECRET  root keys
Prints "OK: N steps"; exits non-zero at the first step that misbehaves.
"""
import base64, hashlib, json, os, re, secrets, sys, time, urllib.parse, urllib.request

import boto3
import botocore.exceptions
from kagitest import Browser, done, fail, step, client_error

E = os.environ["KAGI_ENDPOINT"]
ACCT = os.environ["KAGI_ACCOUNT"]
START = f"{E}/start/{os.environ['KAGI_STORE_ID']}"


oidc = boto3.client("sso-oidc", endpoint_url=E, region_name="us-east-1")
portal = boto3.client("sso", endpoint_url=E, region_name="us-east-1")


# --- device flow ---
reg = oidc.register_client(clientName="botocore-client-kagi-test", clientType="public",
                           scopes=["sso:account:access"])
client_error("InvalidClientException", oidc.start_device_authorization, clientId=reg["clientId"],
             clientSecret=reg["clientSecret"] + "x", startUrl=START)
dev = oidc.start_device_authorization(clientId=reg["clientId"], clientSecret=reg["clientSecret"], startUrl=START)
if not re.fullmatch(r"[A-Z]{4}-[A-Z]{4}", dev["userCode"]) or not dev["verificationUriComplete"].endswith(dev["userCode"]):
    fail(f"device authorization {dev}")
step(f"RegisterClient + StartDeviceAuthorization: user code {dev['userCode']} (a wrong client secret: InvalidClientException)")
poll = dict(clientId=reg["clientId"], clientSecret=reg["clientSecret"],
            grantType="urn:ietf:params:oauth:grant-type:device_code", deviceCode=dev["deviceCode"])
client_error("AuthorizationPendingException", oidc.create_token, **poll)
client_error("SlowDownException", oidc.create_token, **poll)
step("CreateToken before approval: AuthorizationPendingException, then SlowDownException when polled faster than the interval")

b = Browser()
verify_path = urllib.parse.urlparse(dev["verificationUriComplete"])
verify_path = verify_path.path + "?" + verify_path.query
s, h, body = b.request(verify_path)
if s != 200 or 'action="/start/signin"' not in body:
    fail(f"the verification page does not ask to sign in: {s} {body[:200]}")
s, h, body = b.sign_in("alice", "wrong-password", verify_path)
if s != 401 or "Incorrect username or password" not in body:
    fail(f"a wrong password: {s} {body[:200]}")
s, h, body = b.sign_in("nobody", "Portal-Passw0rd!", verify_path)
if s != 401:
    fail(f"an unknown user: {s}")
step("the portal refuses a wrong password and an unknown user alike")
s, h, body = b.sign_in("alice", "Portal-Passw0rd!", verify_path)
if s != 303 or h.get("location") != verify_path or "HttpOnly" not in h.get("set-cookie", ""):
    fail(f"sign-in: {s} {h}")
s, h, body = b.request(verify_path)
if dev["userCode"] not in body:
    fail("the approval form does not show the code")
s, h, body = b.request("/start/device", {"user_code": dev["userCode"], "decision": "allow"})
if s != 403:
    fail(f"a form without its CSRF token was accepted: {s}")
s, h, body = b.request("/start/device", {"user_code": dev["userCode"], "decision": "allow", "csrf": b.csrf(body if "csrf" in body else b.request(verify_path)[2])})
if s != 200 or "approved" not in body:
    fail(f"approval: {s} {body[:300]}")
step("alice signs in to the portal and approves the code (a form without the CSRF token is refused)")
time.sleep(1.1)
tok = oidc.create_token(**poll)
if tok["tokenType"] != "Bearer" or not tok["accessToken"] or tok["expiresIn"] <= 0 or not tok.get("refreshToken"):
    fail(f"token {tok}")
client_error("InvalidGrantException", oidc.create_token, **poll)
step("CreateToken after approval: a bearer token and a refresh token; the device code works once")

# --- the portal API ---
accts = portal.list_accounts(accessToken=tok["accessToken"])["accountList"]
if [a["accountId"] for a in accts] != [ACCT]:
    fail(f"accounts {accts}")
roles = portal.list_account_roles(accessToken=tok["accessToken"], accountId=ACCT)["roleList"]
if [r["roleName"] for r in roles] != ["EcrReader"]:
    fail(f"roles {roles}")
creds = portal.get_role_credentials(accessToken=tok["accessToken"], accountId=ACCT, roleName="EcrReader")["roleCredentials"]
ttl = creds["expiration"] / 1000 - time.time()
if not (2 * 3600 - 60 < ttl <= 2 * 3600 + 5):
    fail(f"expiration {creds['expiration']} is not the permission set's two hours ({ttl})")
step("ListAccounts, ListAccountRoles, GetRoleCredentials (expiration in ms, the permission set's PT2H)")
sts = boto3.client("sts", endpoint_url=E, region_name="us-east-1", aws_access_key_id=creds["accessKeyId"],
                   aws_secret_access_key=creds["secretAccessKey"], aws_session_token=creds["sessionToken"])
who = sts.get_caller_identity()
if not re.fullmatch(rf"arn:aws:sts::{ACCT}:assumed-role/AWSReservedSSO_EcrReader_[0-9a-f]{{16}}/alice", who["Arn"]):
    fail(f"caller {who}")
ecr = boto3.client("ecr", endpoint_url=E, region_name="us-east-1", aws_access_key_id=creds["accessKeyId"],
                   aws_secret_access_key=creds["secretAccessKey"], aws_session_token=creds["sessionToken"])
ecr.describe_repositories()
iam = boto3.client("iam", endpoint_url=E, region_name="us-east-1", aws_access_key_id=creds["accessKeyId"],
                   aws_secret_access_key=creds["secretAccessKey"], aws_session_token=creds["sessionToken"])
client_error("AccessDenied", iam.list_users)
step(f"the session is {who['Arn']}: ECR allowed by the permission set, IAM denied")
client_error("ForbiddenException", portal.get_role_credentials, accessToken=tok["accessToken"],
             accountId=ACCT, roleName="AdministratorAccess")
client_error("UnauthorizedException", portal.list_accounts, accessToken="aoa-not-a-token")
step("a role not assigned: ForbiddenException; a made-up token: UnauthorizedException")

# --- refresh, logout ---
ref = oidc.create_token(clientId=reg["clientId"], clientSecret=reg["clientSecret"], grantType="refresh_token",
                        refreshToken=tok["refreshToken"])
portal.list_accounts(accessToken=ref["accessToken"])
client_error("InvalidGrantException", oidc.create_token, clientId=reg["clientId"], clientSecret=reg["clientSecret"],
             grantType="refresh_token", refreshToken=tok["refreshToken"])
step("a refresh token gives a new access token, once")
portal.logout(accessToken=ref["accessToken"])
client_error("UnauthorizedException", portal.list_accounts, accessToken=ref["accessToken"])
client_error("UnauthorizedException", portal.list_accounts, accessToken=tok["accessToken"])
step("Logout ends the session's tokens (the refreshed one and the one it came from)")

# --- PKCE (authorization code), as AWS CLI v2 >= 2.22 does it ---
redirect = "http://127.0.0.1:54321/oauth/callback"
preg = oidc.register_client(clientName="botocore-client-pkce", clientType="public", scopes=["sso:account:access"],
                            grantTypes=["authorization_code", "refresh_token"], redirectUris=[redirect], issuerUrl=START)
client_error("InvalidRedirectUriException", oidc.register_client, clientName="x", clientType="public",
             redirectUris=["https://evil.example/cb"])
verifier = secrets.token_urlsafe(64)
challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest()).rstrip(b"=").decode()
state = secrets.token_urlsafe(16)
q = urllib.parse.urlencode({"response_type": "code", "client_id": preg["clientId"], "redirect_uri": redirect,
                            "state": state, "code_challenge_method": "S256", "scopes": "sso:account:access",
                            "code_challenge": challenge})
b2 = Browser()
s, h, _ = b2.request(f"/authorize?{q}")
if s != 303 or not h.get("location", "").startswith("/start/authorize?request="):
    fail(f"/authorize: {s} {h}")
approve_path = h["location"]
s, h, body = b2.sign_in("alice", "Portal-Passw0rd!", approve_path)
s, h, body = b2.request(approve_path)
if "botocore-client-pkce" not in body:
    fail(f"the approval page does not name the client: {body[:300]}")
req_id = urllib.parse.parse_qs(urllib.parse.urlparse(approve_path).query)["request"][0]
s, h, body = b2.request("/start/authorize", {"request": req_id, "decision": "allow", "csrf": b2.csrf(body)})
loc = h.get("location", "")
if s != 303 or not loc.startswith(redirect + "?"):
    fail(f"approval redirect: {s} {loc}")
params = urllib.parse.parse_qs(urllib.parse.urlparse(loc).query)
if params.get("state") != [state]:
    fail(f"state {params}")
code = params["code"][0]
client_error("InvalidGrantException", oidc.create_token, clientId=preg["clientId"], clientSecret=preg["clientSecret"],
             grantType="authorization_code", code=code, codeVerifier="wrong" * 10, redirectUri=redirect)
step("PKCE: /authorize sends the browser to the portal's approval; the loopback redirect carries code and state; a wrong verifier is refused and spends the code")
# Again, with the right verifier.
s, h, _ = b2.request(f"/authorize?{q}")
approve_path = h["location"]
s, h, body = b2.request(approve_path)
req_id = urllib.parse.parse_qs(urllib.parse.urlparse(approve_path).query)["request"][0]
s, h, body = b2.request("/start/authorize", {"request": req_id, "decision": "allow", "csrf": b2.csrf(body)})
code = urllib.parse.parse_qs(urllib.parse.urlparse(h["location"]).query)["code"][0]
ptok = oidc.create_token(clientId=preg["clientId"], clientSecret=preg["clientSecret"], grantType="authorization_code",
                         code=code, codeVerifier=verifier, redirectUri=redirect)
portal.list_account_roles(accessToken=ptok["accessToken"], accountId=ACCT)
step("PKCE: CreateToken with the code and its verifier gives a working portal token")

# --- kagi's extension: an administrator sets a portal password (AWS e-mails an invitation) ---
import botocore.auth, botocore.awsrequest, botocore.credentials


def set_password(akid, secret, user, password, token=None):
    body = json.dumps({"IdentityStoreId": os.environ["KAGI_STORE_ID"], "UserName": user, "Password": password})
    req = botocore.awsrequest.AWSRequest(method="POST", url=E + "/", data=body, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": "KagiIdentityCenter.SetPortalPassword"})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(akid, secret, token), "identitystore", "us-east-1").add_auth(req)
    r = urllib.request.Request(E + "/", data=body.encode(), headers=dict(req.headers), method="POST")
    try:
        with urllib.request.urlopen(r) as resp:
            return resp.status, resp.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


st, out = set_password(os.environ["KAGI_ROOT_AKID"], os.environ["KAGI_ROOT_SECRET"], "alice", "short")
if st != 400 or "PasswordPolicyViolation" not in out:
    fail(f"a weak portal password: {st} {out}")
st, out = set_password(creds["accessKeyId"], creds["secretAccessKey"], "alice", "New-Portal-Passw0rd!",
                       creds["sessionToken"])
if st not in (400, 403) or "AccessDenied" not in out:
    fail(f"a principal without identitystore:UpdateUser set a password: {st} {out}")
st, out = set_password(os.environ["KAGI_ROOT_AKID"], os.environ["KAGI_ROOT_SECRET"], "alice", "New-Portal-Passw0rd!")
if st != 200:
    fail(f"set-password: {st} {out}")
b3 = Browser()
s, h, _ = b3.sign_in("alice", "New-Portal-Passw0rd!", "/start/")
if s != 303:
    fail(f"sign-in with the new password: {s}")
s, h, _ = Browser().sign_in("alice", "Portal-Passw0rd!", "/start/")
if s != 401:
    fail(f"the old password still works: {s}")
step("KagiIdentityCenter.SetPortalPassword: the password policy applies, only an authorised principal may, the new password signs in")

# --- the portal's own pages ---
s, h, body = b.request("/start/")
if "EcrReader" not in body or ACCT not in body:
    fail(f"the portal home does not list the assignment: {body[:400]}")
s, h, body = b.request("/start/credentials", {"account": ACCT, "role": "EcrReader", "csrf": b.csrf(body)})
if s != 200 or "AWS_SESSION_TOKEN" not in body:
    fail(f"access keys page: {s} {body[:300]}")
s, h, home = b.request("/start/")
s, h, body = b.request("/start/console", {"account": ACCT, "role": "EcrReader", "csrf": b.csrf(home)})
loc = h.get("location", "")
if s != 303 or not loc.startswith("/federation?Action=login"):
    fail(f"management console link: {s} {loc} {body[:200]}")
s, h, _ = b.request(loc)
if s not in (302, 303) or "kagi-console=" not in h.get("set-cookie", ""):
    fail(f"console federation: {s} {h}")
step("the portal page lists the assignment, shows access keys, and opens the console as the role session")
done()

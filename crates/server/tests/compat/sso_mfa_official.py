#!/usr/bin/env python3
"""IAM Identity Center MFA with botocore and the access portal's forms (driven over HTTP as a
browser would): alice registers an authenticator app in the portal, signs in with password +
code (a wrong code and a replayed code refused, no portal session before the code), device-code
and PKCE approvals, access keys and the console link wait for the whole sign-in, context-aware
MFA remembers the browser while
always-on asks every time; the administrator lists and deletes her device through kagi's
extension (signed like the official clients sign; a role session without the sso-directory
actions is refused), and the settings "allow", "require registration at sign in", "block" and
"never" decide what a sign-in without a device does, "users manage their devices" what the
portal offers; five wrong codes lock the user out.

Run by crates/server/tests/sso_signin.rs. Environment:
  KAGI_ENDPOINT   http://127.0.0.1:PORT;  KAGI_ACCOUNT  the account alice is assigned in
  KAGI_STORE_ID   the identity store;  KAGI_ROOT_AKID / KAGI_ROOT_SECRET  root keys
Prints "OK: N steps"; exits non-zero at the first step that misbehaves.
"""
import base64, hashlib, hmac, html, json, os, re, struct, sys, time, urllib.parse, urllib.request

import boto3
import botocore.auth, botocore.awsrequest, botocore.credentials, botocore.exceptions
import kagitest
from kagitest import client, done, fail, step

E = os.environ["KAGI_ENDPOINT"]
ACCT = os.environ["KAGI_ACCOUNT"]
STORE = os.environ["KAGI_STORE_ID"]
ROOT = (os.environ["KAGI_ROOT_AKID"], os.environ["KAGI_ROOT_SECRET"], None)
PASSWORD = "Portal-Passw0rd!"


# ---- RFC 6238, computed here (SHA1, 30 s, 6 digits) ----

def b32decode(s):
    return base64.b32decode(s + "=" * (-len(s) % 8))


def totp(seed, step_no):
    h = hmac.new(seed, struct.pack(">Q", step_no), hashlib.sha1).digest()
    off = h[19] & 0x0F
    return "%06d" % ((struct.unpack(">I", h[off:off + 4])[0] & 0x7FFFFFFF) % 1000000)


assert totp(b"12345678901234567890", 59 // 30) == "287082"


class App:
    """An authenticator app: each code it gives is for a later time step than the last one
    (the server accepts the current step ±1, each step once)."""

    def __init__(self, secret):
        self.seed = b32decode(secret)
        self.last = 0

    def code(self):
        now = time.time()
        if now % 30 > 27:  # too near a step boundary: wait for the next step
            time.sleep(30 - now % 30 + 0.2)
            now = time.time()
        cur = int(now // 30)
        s = max(self.last + 1, cur - 1)
        if s > cur + 1:  # the window's codes are spent: wait until step s-1 begins
            time.sleep((s - 1) * 30 - now + 0.2)
        self.last = s
        return totp(self.seed, s)

    def used(self):
        return totp(self.seed, self.last)

    def wrong(self):
        cur = int(time.time() // 30)
        window = {totp(self.seed, s) for s in range(cur - 3, cur + 4)}
        return next(c for c in ("000000", "123456", "999999", "424242") if c not in window)


# ---- a browser: cookies, no automatic redirects ----

class Browser(kagitest.Browser):
    """alice's browser: signs in as alice with her password unless told otherwise."""

    def signed_in(self):
        return "kagi-portal" in self.cookies()

    def sign_in(self, password=PASSWORD, next_path="/start/", user="alice"):
        return super().sign_in(user, password, next_path)

    def code(self, body, code):
        return self.request("/start/signin/mfa", {"code": code, "csrf": self.csrf(body)})

    def sign_out(self):
        s, h, home = self.request("/start/")
        self.request("/start/signout", {"csrf": self.csrf(home)})


def asks_for_code(s, body):
    return s == 200 and 'action="/start/signin/mfa"' in body and 'name="code"' in body


def secret_of(body):
    m = re.search(r"<summary>Show secret key</summary><p><code>([A-Z2-7]+)</code>", body)
    if not m:
        fail(f"no secret key on the registration page: {body[:400]}")
    return m.group(1)


# ---- the administrator's calls: kagi's extension, signed as botocore signs ----

def ext(op, body, creds=ROOT):
    data = json.dumps(body)
    req = botocore.awsrequest.AWSRequest(method="POST", url=E + "/", data=data, headers={
        "Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"KagiIdentityCenter.{op}"})
    botocore.auth.SigV4Auth(botocore.credentials.Credentials(*creds), "identitystore", "us-east-1").add_auth(req)
    r = urllib.request.Request(E + "/", data=data.encode(), headers=dict(req.headers), method="POST")
    try:
        with urllib.request.urlopen(r) as resp:
            return resp.status, json.loads(resp.read().decode() or "{}")
    except urllib.error.HTTPError as e:
        text = e.read().decode()
        # JSON 1.1 errors: `__type` in the body (botocore reads it there).
        return e.code, {"__type": json.loads(text).get("__type", ""), "body": text}


ids = boto3.client("identitystore", endpoint_url=E, region_name="us-east-1", aws_access_key_id=ROOT[0],
                   aws_secret_access_key=ROOT[1])
ALICE = ids.get_user_id(IdentityStoreId=STORE, AlternateIdentifier={
    "UniqueAttribute": {"AttributePath": "userName", "AttributeValue": "alice"}})["UserId"]


def settings(**kw):
    st, out = ext("PutMfaDeviceManagementForDirectory", {"IdentityStoreId": STORE, **kw})
    if st != 200:
        fail(f"PutMfaDeviceManagementForDirectory {kw}: {st} {out}")
    return out


def devices():
    st, out = ext("ListMfaDevicesForUser", {"IdentityStoreId": STORE, "UserId": ALICE})
    if st != 200:
        fail(f"ListMfaDevicesForUser: {st} {out}")
    return out["MfaDevices"]


# --- the defaults ---
st, out = ext("GetMfaDeviceManagementForDirectory", {"IdentityStoreId": STORE})
if st != 200 or out != {"MfaMode": "CONTEXT_AWARE", "NoMfaSignInBehavior": "ALLOWED", "UsersCanManageMfaDevices": True}:
    fail(f"default MFA settings: {st} {out}")
st, out = ext("PutMfaDeviceManagementForDirectory", {"IdentityStoreId": STORE, "MfaMode": "SOMETIMES"})
if st != 400 or out["__type"] != "ValidationException":
    fail(f"an unknown MfaMode: {st} {out}")
step("GetMfaDeviceManagementForDirectory: context-aware, users without a device allowed, users manage their devices; a bad mode is a ValidationException")

# --- alice registers an authenticator app in the portal ---
a = Browser()
s, h, _ = a.sign_in()
if s != 303 or not a.signed_in():
    fail(f"sign-in without a device: {s} {h}")
s, h, body = a.request("/start/")
if 'href="/start/mfa"' not in body:
    fail("the portal home has no MFA devices link")
s, h, body = a.request("/start/mfa")
if s != 200 or "no MFA devices" not in body:
    fail(f"MFA devices page: {s} {body[:300]}")
s, h, body = a.request("/start/mfa/register", {"csrf": a.csrf(body)})
if s != 200 or 'role="img" aria-label="QR code for the authenticator app"' not in body:
    fail(f"registration page: {s} {body[:300]}")
app = App(secret_of(body))
if len(app.seed) != 20:
    fail(f"a seed of {len(app.seed)} bytes")
s, h, body = a.request("/start/mfa/confirm", {"csrf": a.csrf(body), "name": "phone", "code": app.wrong()})
if s != 400 or "not valid" not in body:
    fail(f"a wrong registration code: {s} {body[:300]}")
s, h, body = a.request("/start/mfa/confirm", {"csrf": a.csrf(body), "name": "phone", "code": app.code()})
if s != 303 or h.get("location") != "/start/mfa?done=registered":
    fail(f"registration: {s} {h} {body[:300]}")
s, h, body = a.request("/start/mfa?done=registered")
if "MFA device registered." not in body or ">phone<" not in body:
    fail(f"the device is not listed: {body[:500]}")
step("alice registers an authenticator app in the portal (QR code and secret; a wrong code is refused; one right code registers it)")

devs = devices()
if len(devs) != 1 or devs[0]["DeviceName"] != "phone" or devs[0]["MfaType"] != "AUTHENTICATOR_APP" \
        or not devs[0]["DeviceId"].startswith("mfa-") or "RegisteredDate" not in devs[0]:
    fail(f"ListMfaDevicesForUser: {devs}")
step(f"ListMfaDevicesForUser (root, signed): {devs[0]['DeviceId']} named phone")

trail = client("cloudtrail", ROOT[0], ROOT[1])
for name, source in [("ListMfaDevicesForUser", "sso-directory.amazonaws.com"),
                     ("PutMfaDeviceManagementForDirectory", "sso.amazonaws.com")]:
    evs = trail.lookup_events(LookupAttributes=[{"AttributeKey": "EventName", "AttributeValue": name}])["Events"]
    if not evs or {e["EventSource"] for e in evs} != {source}:
        fail(f"{name}'s events: {[(e['EventName'], e['EventSource']) for e in evs]}")
step("the history records the directory's device calls from sso-directory.amazonaws.com, its settings from sso.amazonaws.com")

# --- sign-in with password + code ---
b = Browser()
s, h, body = b.sign_in()
if not asks_for_code(s, body) or b.signed_in():
    fail(f"the password alone signed in (or no code asked): {s} {b.cookies()} {body[:300]}")
s, h, home = b.request("/start/")
if 'action="/start/signin"' not in home:
    fail("the portal is reachable before the code")
s, h, body2 = b.code(body, app.wrong())
if s != 401 or "incorrect" not in body2 or b.signed_in():
    fail(f"a wrong code: {s} {body2[:300]}")
s, h, body2 = b.code(body2, app.used())
if s != 401 or b.signed_in():
    fail(f"the registration's code was accepted again: {s}")
step("after the right password the portal asks for the MFA code (no session yet); a wrong code and the registration's (used) code are refused")
code = app.code()
s, h, _ = b.code(body2, code)
if s != 303 or h.get("location") != "/start/" or not b.signed_in() or "kagi-portal-context" not in b.cookies():
    fail(f"password + code: {s} {h} {b.cookies()}")
s, h, home = b.request("/start/")
if "EcrReader" not in home:
    fail("the portal home after MFA")
c = Browser()
s, h, body = c.sign_in()
s, h, body = c.code(body, code)
if s != 401 or c.signed_in():
    fail(f"a replayed code signed in another browser: {s}")
step("password + a fresh code signs in; the same code again (another browser) is refused")

# --- context-aware: the same browser is not asked again; another one is ---
b.sign_out()
if b.signed_in():
    fail("sign-out")
s, h, _ = b.sign_in()
if s != 303 or not b.signed_in():
    fail(f"context-aware MFA asked the same browser again: {s}")
s, h, body = Browser().sign_in()
if not asks_for_code(s, body):
    fail("context-aware MFA did not ask a new browser")
step("context-aware (the default): the browser that did MFA signs in with the password; a new browser is asked for the code")

# --- a device code approval waits for the whole sign-in ---
oidc = boto3.client("sso-oidc", endpoint_url=E, region_name="us-east-1")
reg = oidc.register_client(clientName="botocore-mfa", clientType="public", scopes=["sso:account:access"])
dev = oidc.start_device_authorization(clientId=reg["clientId"], clientSecret=reg["clientSecret"],
                                      startUrl=f"{E}/start/{STORE}")
u = urllib.parse.urlparse(dev["verificationUriComplete"])
verify_path = u.path + "?" + u.query
d = Browser()
s, h, body = d.sign_in(next_path=verify_path)
if not asks_for_code(s, body):
    fail(f"device flow sign-in: {s} {body[:300]}")
s, h, _ = d.request("/start/device", {"user_code": dev["userCode"], "decision": "allow", "csrf": d.csrf(body)})
if s != 403:
    fail(f"an approval before the code was accepted: {s}")
s, h, _ = d.code(body, app.code())
if s != 303 or h.get("location") != verify_path:
    fail(f"after the code the browser does not return to the approval: {s} {h}")
s, h, body = d.request(verify_path)
s, h, body = d.request("/start/device", {"user_code": dev["userCode"], "decision": "allow", "csrf": d.csrf(body)})
if s != 200 or "approved" not in body:
    fail(f"approval: {s} {body[:300]}")
time.sleep(1.1)
tok = oidc.create_token(clientId=reg["clientId"], clientSecret=reg["clientSecret"],
                        grantType="urn:ietf:params:oauth:grant-type:device_code", deviceCode=dev["deviceCode"])
portal = boto3.client("sso", endpoint_url=E, region_name="us-east-1")
creds = portal.get_role_credentials(accessToken=tok["accessToken"], accountId=ACCT, roleName="EcrReader")["roleCredentials"]
step("device code: the approval is refused until the MFA code is in, then CreateToken gives a token")

# --- PKCE, access keys and the console link wait for it too ---
redirect = "http://127.0.0.1:54321/oauth/callback"
preg = oidc.register_client(clientName="botocore-mfa-pkce", clientType="public", scopes=["sso:account:access"],
                            grantTypes=["authorization_code", "refresh_token"], redirectUris=[redirect],
                            issuerUrl=f"{E}/start/{STORE}")
q = urllib.parse.urlencode({"response_type": "code", "client_id": preg["clientId"], "redirect_uri": redirect,
                            "state": "st", "code_challenge_method": "S256", "scopes": "sso:account:access",
                            "code_challenge": base64.urlsafe_b64encode(hashlib.sha256(b"v" * 64).digest()).rstrip(b"=").decode()})
k = Browser()
s, h, _ = k.request(f"/authorize?{q}")
approve_path = h.get("location", "")
s, h, body = k.sign_in(next_path=approve_path)
if not asks_for_code(s, body):
    fail(f"PKCE sign-in: {s}")
req_id = urllib.parse.parse_qs(urllib.parse.urlparse(approve_path).query)["request"][0]
for path, form in (("/start/authorize", {"request": req_id, "decision": "allow"}),
                   ("/start/credentials", {"account": ACCT, "role": "EcrReader"}),
                   ("/start/console", {"account": ACCT, "role": "EcrReader"})):
    s, h, _ = k.request(path, {**form, "csrf": k.csrf(body)})
    if s != 403 or h.get("location"):
        fail(f"{path} before the MFA code: {s} {h}")
s, h, _ = k.code(body, app.code())
if s != 303 or h.get("location") != approve_path:
    fail(f"after the code the browser does not return to the PKCE approval: {s} {h}")
s, h, body = k.request(approve_path)
s, h, _ = k.request("/start/authorize", {"request": req_id, "decision": "allow", "csrf": k.csrf(body)})
if s != 303 or not h.get("location", "").startswith(redirect + "?code="):
    fail(f"PKCE approval after MFA: {s} {h}")
step("PKCE approval, access keys and the console link are refused before the MFA code; after it the approval redirects with a code")

# --- only an authorised principal manages MFA ---
role = (creds["accessKeyId"], creds["secretAccessKey"], creds["sessionToken"])
st, out = ext("ListMfaDevicesForUser", {"IdentityStoreId": STORE, "UserId": ALICE}, role)
if st not in (400, 403) or out["__type"] != "AccessDeniedException" or "sso-directory:ListMfaDevicesForUser" not in out["body"]:
    fail(f"a role session without sso-directory:ListMfaDevicesForUser: {st} {out}")
st, out = ext("DeleteMfaDeviceForUser", {"IdentityStoreId": STORE, "UserId": ALICE, "DeviceId": devs[0]["DeviceId"]}, role)
if st not in (400, 403) or out["__type"] != "AccessDeniedException":
    fail(f"a role session deleted a device: {st} {out}")
st, out = ext("PutMfaDeviceManagementForDirectory", {"IdentityStoreId": STORE, "MfaMode": "DISABLED"}, role)
if st not in (400, 403) or out["__type"] != "AccessDeniedException" or "sso:PutMfaDeviceManagementForDirectory" not in out["body"]:
    fail(f"a role session changed the MFA settings: {st} {out}")
if len(devices()) != 1:
    fail("the device went")
step("a role session without the sso-directory / sso MFA actions: AccessDeniedException for list, delete and settings")

# --- always-on: every sign-in asks ---
settings(MfaMode="ALWAYS_ON")
b.sign_out()
s, h, body = b.sign_in()
if not asks_for_code(s, body) or b.signed_in():
    fail(f"always-on did not ask the remembered browser: {s}")
s, h, _ = b.code(body, app.code())
if s != 303 or not b.signed_in():
    fail(f"always-on with a code: {s}")
step("always-on: the browser context-aware MFA remembered is asked for the code again")

# --- never ---
settings(MfaMode="DISABLED")
s, h, _ = Browser().sign_in()
if s != 303:
    fail(f"MFA disabled still asks: {s}")
settings(MfaMode="CONTEXT_AWARE")
step("never (disabled): the password alone signs in although alice has a device")

# --- the administrator deletes the device ---
st, out = ext("DeleteMfaDeviceForUser", {"IdentityStoreId": STORE, "UserId": ALICE, "DeviceId": devs[0]["DeviceId"]})
if st != 200 or devices():
    fail(f"DeleteMfaDeviceForUser: {st} {out}")
st, out = ext("DeleteMfaDeviceForUser", {"IdentityStoreId": STORE, "UserId": ALICE, "DeviceId": devs[0]["DeviceId"]})
if st != 404 or out["__type"] != "ResourceNotFoundException":
    fail(f"deleting it again: {st} {out}")
e = Browser()
s, h, _ = e.sign_in()
if s != 303 or not e.signed_in():
    fail(f"after the device is deleted (users without a device allowed): {s}")
step("DeleteMfaDeviceForUser: the device is gone (again: ResourceNotFoundException); alice signs in with her password (allowed)")

# --- require registration at sign in ---
settings(NoMfaSignInBehavior="REGISTRATION_REQUIRED")
f = Browser()
s, h, body = f.sign_in()
if s != 200 or 'action="/start/signin/register"' not in body or f.signed_in():
    fail(f"registration required: {s} {body[:300]}")
app2 = App(secret_of(body))
s, h, body = f.request("/start/signin/register", {"csrf": f.csrf(body), "name": "laptop", "code": app2.wrong()})
if s != 400 or f.signed_in():
    fail(f"a wrong code at registration signed in: {s}")
s, h, _ = f.request("/start/signin/register", {"csrf": f.csrf(body), "name": "laptop", "code": app2.code()})
if s != 303 or not f.signed_in():
    fail(f"registration at sign in: {s} {h}")
devs = devices()
if [x["DeviceName"] for x in devs] != ["laptop"]:
    fail(f"the registered device: {devs}")
s, h, body = Browser().sign_in()
if not asks_for_code(s, body):
    fail("the new device's code is not asked")
step("require registration: a sign-in without a device registers one first (QR, secret, code), then is signed in; the next sign-in asks for its code")

# --- block ---
ext("DeleteMfaDeviceForUser", {"IdentityStoreId": STORE, "UserId": ALICE, "DeviceId": devs[0]["DeviceId"]})
settings(NoMfaSignInBehavior="BLOCKED")
g = Browser()
s, h, body = g.sign_in()
if s != 403 or g.signed_in() or "no MFA device registered" not in body:
    fail(f"block: {s} {body[:300]}")
s, h, body = g.sign_in(password="wrong-password")
if s != 401 or "Incorrect username or password" not in body:
    fail(f"a wrong password under block: {s}")
step("block: without a device alice cannot sign in (a wrong password still reads as one)")

# --- only the administrator manages devices ---
settings(NoMfaSignInBehavior="ALLOWED", UsersCanManageMfaDevices=False)
h_ = Browser()
h_.sign_in()
s, h, body = h_.request("/start/mfa")
if "Your administrator manages MFA devices." not in body or 'action="/start/mfa/register"' in body:
    fail(f"users may not manage devices, yet the page offers it: {body[:400]}")
s, h, home = h_.request("/start/")
s, h, _ = h_.request("/start/mfa/register", {"csrf": h_.csrf(home)})
if s != 403:
    fail(f"a registration when users may not manage devices: {s}")
settings(UsersCanManageMfaDevices=True)
step("UsersCanManageMfaDevices false: the portal lists devices but offers no registration (refused when posted)")

# --- lockout: five wrong codes ---
s, h, body = h_.request("/start/mfa")
s, h, body = h_.request("/start/mfa/register", {"csrf": h_.csrf(body)})
app3 = App(secret_of(body))
s, h, _ = h_.request("/start/mfa/confirm", {"csrf": h_.csrf(body), "name": "tablet", "code": app3.code()})
if s != 303:
    fail(f"registering a third device: {s}")
i = Browser()
s, h, body = i.sign_in()
for n in range(5):
    s, h, body = i.code(body, app3.wrong())
    if s != 401:
        fail(f"wrong code {n + 1}: {s}")
s, h, body = i.sign_in()
if s != 429 or "locked" not in body:
    fail(f"after five wrong codes: {s} {body[:300]}")
s, h, body = Browser().sign_in()
if s != 429:
    fail("the lock does not hold for another browser")
step("five wrong codes lock alice's sign-in (429, as the console's lockout), whatever the browser")
done()

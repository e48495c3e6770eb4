"""What the official-client scripts beside this file share (each imports it: Python puts a
script's own directory first on its path): numbered steps, failing with the step count, boto3
clients pointed at kagi, calls that must fail with a given error code, and a browser for the
access portal's forms."""
import http.cookiejar, os, re, sys, urllib.error, urllib.parse, urllib.request

import boto3
import botocore.exceptions
from botocore.config import Config

E = os.environ.get("KAGI_ENDPOINT", "")
REGION = "us-east-1"
_steps = 0


def fail(msg):
    print(f"FAIL after {_steps} steps: {msg}", file=sys.stderr)
    sys.exit(1)


def step(msg):
    global _steps
    _steps += 1
    print(f"{_steps:3} {msg}")


def done(what="steps"):
    """The success line the Rust runners look for: `OK: N steps`."""
    print(f"OK: {_steps} {what}")


def client(service, akid, secret, token=None, region=REGION, attempts=None):
    """A boto3 client for kagi; `attempts=1` turns botocore's retries off."""
    config = Config(retries={"max_attempts": attempts}) if attempts else None
    return boto3.client(service, endpoint_url=E, region_name=region, aws_access_key_id=akid,
                        aws_secret_access_key=secret, aws_session_token=token, config=config)


def client_error(code, fn, /, *args, contains=None, **kw):
    """Calls `fn`, which must fail with `code` (and a message containing `contains`); returns
    the ClientError. (Positional-only: `fn`'s own arguments may be called `code`.)"""
    try:
        fn(*args, **kw)
    except botocore.exceptions.ClientError as e:
        got = e.response["Error"]["Code"]
        if got != code:
            fail(f"expected {code}, got {got}: {e}")
        if contains and contains not in e.response["Error"]["Message"]:
            fail(f"{code} message {e.response['Error']['Message']!r} lacks {contains!r}")
        return e
    fail(f"expected {code}, the call succeeded")


def expect_error(code, fn, /, *args, contains=None, **kw):
    """[`client_error`], returning the error's message."""
    return client_error(code, fn, *args, contains=contains, **kw).response["Error"]["Message"]


class Browser:
    """The access portal's forms driven as a browser would: cookies kept, redirects not
    followed (the scripts read `Location` themselves)."""

    def __init__(self):
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *a, **k):
                return None

        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def request(self, path, form=None):
        """GET `path` (a path on kagi or a whole URL), or POST `form`: (status, headers
        lower-cased, body)."""
        url = path if path.startswith("http") else E + path
        data = urllib.parse.urlencode(form).encode() if form is not None else None
        try:
            r = self.opener.open(urllib.request.Request(url, data=data))
            return r.status, {k.lower(): v for k, v in r.headers.items()}, r.read().decode()
        except urllib.error.HTTPError as e:
            return e.code, {k.lower(): v for k, v in e.headers.items()}, e.read().decode()

    def cookies(self):
        return {c.name: c.value for c in self.jar}

    @staticmethod
    def csrf(body):
        """The CSRF token of the page's form."""
        m = re.search(r'name="csrf" value="([^"]+)"', body)
        if not m:
            fail(f"no CSRF token in {body[:300]}")
        return m.group(1)

    def sign_in(self, user, password, next_path="/start/"):
        return self.request("/start/signin", {"username": user, "password": password, "next": next_path})

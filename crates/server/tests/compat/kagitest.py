"""What the official-client scripts beside this file share (each imports it: Python puts a
script's own directory first on its path): numbered steps, failing with the step count, boto3
clients pointed at kagi, and calls that must fail with a given error code."""
import os, sys

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

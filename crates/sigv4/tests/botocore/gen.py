#!/usr/bin/env python3
"""Generates tests/botocore/cases.json: random requests signed by botocore (the AWS CLI's
signer), replayed by tests/botocore.rs against kagi-sigv4's verifier and signer.

Usage: python3 gen.py > cases.json   (deterministic: fixed seed; botocore version recorded)

Paths never end in a dot segment: there botocore's normalization ("/a/." -> "/a") differs from
RFC 3986 and aws-sigv4 ("/a/." -> "/a/"), which kagi follows; the AWS CLI never sends such paths.
"""
import datetime
import json
import random
import string
from urllib.parse import quote, urlsplit

import botocore
import botocore.auth as auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

rng = random.Random(20261124)
UNRESERVED = string.ascii_letters + string.digits + "-._~"
SUB_DELIMS = "!$&'()*+,;=:@"
TEXT = UNRESERVED + " /%+=&?#:,é\u1234"
RESERVED_HEADERS = {
    "host", "authorization", "user-agent", "x-amzn-trace-id", "transfer-encoding", "expect",
    "x-amz-date", "x-amz-security-token", "x-amz-content-sha256", "content-type", "date",
}


def segment():
    r = rng.random()
    if r < 0.08:
        return "."
    if r < 0.16:
        return ".."
    if r < 0.24:
        return ""
    out = []
    for _ in range(rng.randint(1, 5)):
        x = rng.random()
        if x < 0.6:
            out.append(rng.choice(UNRESERVED))
        elif x < 0.8:
            out.append(rng.choice(SUB_DELIMS))
        else:
            out.append("%%%02X" % rng.randrange(256))
    return "".join(out)


def path():
    segs = [segment() for _ in range(rng.randint(0, 4))]
    while segs and segs[-1] in (".", ".."):
        segs.pop()
    p = "/" + "/".join(segs)
    if rng.random() < 0.3 and not p.endswith("/"):
        p += "/"
    return p


def text(n):
    return "".join(rng.choice(TEXT) for _ in range(rng.randint(0, n)))


def query():
    pairs, seen = [], set()
    for _ in range(rng.randint(0, 4)):
        k = text(6) or "k"
        if k in seen:
            continue
        seen.add(k)
        v = text(8)
        pairs.append(quote(k, safe="-_.~") + "=" + quote(v, safe="-_.~"))
    return "&".join(pairs)


def header_value():
    words = ["".join(rng.choice(string.ascii_letters + string.digits + "-_.,;:/\"'()") for _ in range(rng.randint(0, 6)))
             for _ in range(rng.randint(1, 4))]
    seps = [rng.choice([" ", "  ", "\t", " \t "]) for _ in words]
    lead = rng.choice(["", " ", "  "])
    trail = rng.choice(["", " ", "\t"])
    return lead + "".join(w + s for w, s in zip(words, seps)).rstrip() + trail


def headers():
    out = {}
    for _ in range(rng.randint(0, 4)):
        name = rng.choice(["X-Amz-Target", "X-Amz-Meta-" + rng.choice("abc"), "My-Header",
                           "Accept", "Content-Encoding",
                           "".join(rng.choice(string.ascii_lowercase) for _ in range(rng.randint(1, 8)))])
        if name.lower() in RESERVED_HEADERS:
            continue
        out[name] = header_value()
    return out


def sign_case(i):
    mode = "query" if rng.random() < 0.35 else "header"
    service = rng.choice(["iam", "sts", "ecr", "s3", "execute-api"])
    region = rng.choice(["us-east-1", "eu-west-3"])
    akid = "AKIA" + "".join(rng.choice(string.ascii_uppercase + string.digits) for _ in range(16))
    secret = "".join(rng.choice(string.ascii_letters + string.digits + "/+") for _ in range(40))
    token = None
    if rng.random() < 0.4:
        token = "".join(rng.choice(string.ascii_letters + string.digits + "/+=") for _ in range(rng.randint(20, 80)))
    ts = datetime.datetime(2000, 1, 1, tzinfo=datetime.timezone.utc) + datetime.timedelta(
        seconds=rng.randrange(0, 3_000_000_000))
    host = rng.choice(["https://example.amazonaws.com", "http://127.0.0.1:4566"])
    p, q = path(), query()
    hdrs = headers()
    if mode == "header":
        method = rng.choice(["GET", "POST", "PUT", "DELETE"])
        body = bytes(rng.randrange(256) for _ in range(rng.randint(0, 40)))
        if rng.random() < 0.5:
            hdrs["Content-Type"] = "application/x-www-form-urlencoded; charset=utf-8"
    else:
        method = "GET"
        body = b""
    url = host + p + ("?" + q if q else "")
    before = dict(hdrs)
    creds = Credentials(akid, secret, token)
    req = AWSRequest(method=method, url=url, data=body, headers=hdrs)
    auth.get_current_datetime = lambda: ts.replace(tzinfo=None)
    expires = None
    if mode == "header":
        signer = (auth.S3SigV4Auth if service == "s3" else auth.SigV4Auth)(creds, service, region)
    else:
        expires = rng.randint(1, 604800)
        signer = (auth.S3SigV4QueryAuth if service == "s3" else auth.SigV4QueryAuth)(
            creds, service, region, expires=expires)
    signer.add_auth(req)
    parts = urlsplit(req.url)
    final_headers = [["Host", parts.netloc.replace(":443", "")]] + [[k, v] for k, v in req.headers.items()]
    if mode == "header":
        a = req.headers["Authorization"]
        signature = a.rsplit("Signature=", 1)[1]
    else:
        signature = parts.query.rsplit("X-Amz-Signature=", 1)[1]
    added = [[k, v] for k, v in req.headers.items() if k not in before and k != "Authorization"]
    return {
        "name": f"case-{i}",
        "mode": mode,
        "service": service,
        "region": region,
        "access_key_id": akid,
        "secret_access_key": secret,
        "session_token": token,
        "amz_date": ts.strftime("%Y%m%dT%H%M%SZ"),
        "expires": expires,
        "method": method,
        "host": parts.netloc,
        "path_before": p,
        "query_before": q,
        "headers_before": [[k, v] for k, v in before.items()],
        "headers_added_by_botocore": added,
        "body_hex": body.hex(),
        "path": parts.path,
        "query": parts.query,
        "headers": final_headers,
        "final_body_hex": (req.body or b"").hex() if isinstance(req.body, (bytes, bytearray)) else (req.body or "").encode().hex(),
        "signature": signature,
    }


cases = [sign_case(i) for i in range(200)]
print(json.dumps({"botocore": botocore.__version__, "cases": cases}, separators=(",", ":"), ensure_ascii=True))

#!/usr/bin/env python3
"""A record-and-replay proxy for the CLI benchmarks (`REPLAY=1` in api.sh and s3.sh).

    replay.py PORT UPSTREAM_PORT

The first time it sees a request (method, path, query without the X-Amz-* signing parameters,
body) it forwards it to the server on UPSTREAM_PORT and keeps the answer; every later identical
request is answered from memory. The signature is not part of the key, so each client's warm-up
run records its own answers and its timed runs get them back in well under a millisecond: the
figures then measure the clients (start-up, signing, parsing, output), not the server (moto
takes ~9 ms to answer ec2 describe-instances, which alone caps the ratio a fast client can show).
"""
import http.client
import http.server
import sys
import threading
import urllib.parse

port, upstream = int(sys.argv[1]), int(sys.argv[2])
cache = {}
lock = threading.Lock()
HOP = {"connection", "keep-alive", "transfer-encoding", "content-length"}


class Replay(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, *args):
        pass

    def answer(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(n) if n else b""
        url = urllib.parse.urlsplit(self.path)
        query = sorted((k, v) for k, v in urllib.parse.parse_qsl(url.query, keep_blank_values=True)
                       if not k.lower().startswith("x-amz-"))
        key = (self.command, url.path, tuple(query), body)
        with lock:
            hit = cache.get(key)
        if hit is None:
            c = http.client.HTTPConnection("127.0.0.1", upstream, timeout=60)
            c.request(self.command, self.path, body=body,
                      headers={k: v for k, v in self.headers.items() if k.lower() not in HOP})
            r = c.getresponse()
            data = r.read()
            hit = (r.status, [(k, v) for k, v in r.getheaders() if k.lower() not in HOP], data)
            c.close()
            with lock:
                cache[key] = hit
        status, headers, data = hit
        self.send_response_only(status)
        for k, v in headers:
            self.send_header(k, v)
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(data)

    do_GET = do_POST = do_PUT = do_HEAD = do_DELETE = answer


http.server.ThreadingHTTPServer(("127.0.0.1", port), Replay).serve_forever()

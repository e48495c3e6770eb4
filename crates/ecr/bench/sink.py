#!/usr/bin/env python3
"""A registry that accepts a push and keeps nothing (benchmark helper, not a registry).

`python3 sink.py PORT` answers the requests skopeo makes when it pushes (GET /v2/, HEAD of a
blob: unknown, POST/PATCH/PUT of an upload, PUT of a manifest) and discards every byte it is
sent. A push to it costs the server almost nothing, so its wall time is the client's own: the
shortest push any registry can show with that client on this machine. run.sh reports it beside
kagi and docker-registry. It verifies nothing; never point anything but a benchmark at it.
"""
import socket
import sys
import threading
import uuid


def read_body(f, headers):
    """Reads and drops a request body (Content-Length or chunked)."""
    if headers.get("transfer-encoding", "").lower() == "chunked":
        while True:
            size = int(f.readline().split(b";")[0], 16)
            if size == 0:
                while f.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return
            drop(f, size)
            f.readline()
    drop(f, int(headers.get("content-length", "0")))


def drop(f, left):
    while left:
        chunk = f.read(min(left, 1 << 20))
        if not chunk:
            raise ConnectionError("body cut short")
        left -= len(chunk)


def answer(method, target):
    path = target.split("?")[0]
    if method == "GET" and path == "/v2/":
        return "200 OK", []
    if method == "HEAD":
        return "404 Not Found", []
    if method == "POST" and path.endswith("/blobs/uploads/"):
        return "202 Accepted", [("Location", path + uuid.uuid4().hex), ("Range", "0-0")]
    if method == "PATCH":
        return "202 Accepted", [("Location", path)]
    if method == "PUT" and "/blobs/uploads/" in path:
        digest = target.split("digest=")[1].split("&")[0].replace("%3A", ":")
        repo = path.split("/blobs/")[0]
        return "201 Created", [("Location", f"{repo}/blobs/{digest}"), ("Docker-Content-Digest", digest)]
    if method == "PUT" and "/manifests/" in path:
        return "201 Created", [("Docker-Content-Digest", "sha256:" + "0" * 64)]
    return "404 Not Found", []


def serve(conn):
    with conn:
        f = conn.makefile("rb", buffering=1 << 20)
        while True:
            line = f.readline()
            # skopeo tries TLS first (with --dest-tls-verify=false): close such a connection at once.
            if not line or not line[:1].isalpha():
                return
            method, target, _ = line.decode().split(" ", 2)
            headers = {}
            while True:
                h = f.readline()
                if h in (b"\r\n", b"\n", b""):
                    break
                k, v = h.decode().split(":", 1)
                headers[k.strip().lower()] = v.strip()
            read_body(f, headers)
            status, extra = answer(method, target)
            out = f"HTTP/1.1 {status}\r\nContent-Length: 0\r\nDocker-Distribution-API-Version: registry/2.0\r\n"
            out += "".join(f"{k}: {v}\r\n" for k, v in extra) + "\r\n"
            conn.sendall(out.encode())
            if headers.get("connection", "").lower() == "close":
                return


def main():
    s = socket.socket()
    s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("127.0.0.1", int(sys.argv[1])))
    s.listen(64)
    while True:
        conn, _ = s.accept()
        threading.Thread(target=serve, args=(conn,), daemon=True).start()


if __name__ == "__main__":
    main()

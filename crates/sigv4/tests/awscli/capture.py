#!/usr/bin/env python3
"""Records each HTTP request it receives as one JSON line (method, path, query, headers,
base64 body) and answers 403. Usage: capture.py PORT OUT.jsonl (see capture.sh)."""
import http.server, json, sys, base64
out = []
class H(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def handle_one(self):
        pass
    def do_any(self):
        n = int(self.headers.get('Content-Length') or 0)
        body = self.rfile.read(n) if n else b''
        path, _, query = self.path.partition('?')
        rec = {"method": self.command, "path": path, "query": query,
               "headers": [[k, v] for k, v in self.headers.items()], "body_b64": base64.b64encode(body).decode()}
        with open(sys.argv[2], 'a') as f:
            f.write(json.dumps(rec) + "\n")
        msg = b'<ErrorResponse><Error><Type>Sender</Type><Code>AccessDenied</Code><Message>capture</Message></Error><RequestId>x</RequestId></ErrorResponse>'
        self.send_response(403)
        self.send_header('Content-Type', 'text/xml')
        self.send_header('Content-Length', str(len(msg)))
        self.end_headers()
        self.wfile.write(msg)
    do_GET = do_POST = do_PUT = do_any
    def log_message(self, *a): pass
http.server.HTTPServer(('127.0.0.1', int(sys.argv[1])), H).serve_forever()

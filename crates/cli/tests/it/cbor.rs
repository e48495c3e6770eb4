//! Smithy RPC v2 CBOR end to end: kagi calls EventBridge v2 (a CBOR-only service of the pinned
//! botocore that neither moto nor AWS CLI v1 serves) on a loopback server written here in
//! Python on top of botocore's own CBOR parser and serializer, so kagi's bytes are read, and its
//! answers written, by an implementation that is not kagi's. The server logs every request it
//! decoded; the test checks the route, the headers, the signature's presence and the decoded
//! input, and kagi's printed output of botocore-encoded answers (a create, a paginated list in
//! json and text, an error). Needs `KAGI_COMPAT_VENV`; skips with a notice unless CI is set.

use std::io::BufRead;
use std::process::{Child, Command, Stdio};

use serde_json::{Value, json};

use crate::common::{Sandbox, skip_or_fail};

const SERVER: &str = r#"
import datetime, http.server, json, sys
from botocore.session import get_session
from botocore.parsers import RpcV2CBORParser
from botocore.serialize import RpcV2CBORSerializer

model = get_session().get_service_model("eventbridgev2")
log = open(sys.argv[1], "a")
T = datetime.datetime(2026, 1, 2, 3, 4, 5, 123000, tzinfo=datetime.timezone.utc)
ARN = "arn:aws:events:us-east-1:123456789012:event-busv2/%s/abcdefghijklmnopqrstuvwxy"
BUSES = ["bus-%d" % i for i in range(5)]

def head(major, n):
    if n < 24:
        return bytes([major << 5 | n])
    return bytes([major << 5 | 25]) + n.to_bytes(2, "big")

def text(s):
    b = s.encode()
    return head(3, len(b)) + b

class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        name = self.path.split("/")[-1]
        p = RpcV2CBORParser()
        params = p.parse_data_item(p.get_peekable_stream_from_bytes(body)) if body else None
        log.write(json.dumps({
            "path": self.path,
            "smithy-protocol": self.headers.get("smithy-protocol"),
            "content-type": self.headers.get("Content-Type"),
            "accept": self.headers.get("Accept"),
            "x-amz-target": self.headers.get("X-Amz-Target"),
            "signed": self.headers.get("Authorization", "").startswith("AWS4-HMAC-SHA256 Credential=testing/"),
            "params": params,
        }, default=str) + "\n")
        log.flush()
        op = model.operation_model(name)
        status, out = 200, None
        if name == "CreateEventBus":
            out = {"EventBusArn": ARN % params["Name"], "Name": params["Name"],
                   "Description": params.get("Description"), "State": "CREATING", "CreationTime": T,
                   "StorageConfiguration": {"RetentionPeriodInDays": 7, "RetentionWindowStartTime": T}}
        elif name == "ListEventBuses":
            start = int(params.get("NextToken", "0"))
            size = params.get("MaxResults", 2)
            page = BUSES[start:start + size]
            out = {"EventBuses": [{"Name": b, "EventBusArn": ARN % b, "State": "ACTIVE", "CreationTime": T} for b in page]}
            if start + size < len(BUSES):
                out["NextToken"] = str(start + size)
        else:
            status = 400
        if status == 200:
            raw = bytearray()
            RpcV2CBORSerializer()._serialize_data_item(raw, {k: v for k, v in out.items() if v is not None}, op.output_shape)
            raw = bytes(raw)
        else:
            raw = head(5, 2) + text("__type") + text("com.amazonaws.eventbridgev2#ResourceNotFoundException") \
                + text("message") + text("Event bus %s does not exist." % params["EventBusArn"].split("/")[1])
        self.send_response(status)
        self.send_header("Content-Type", "application/cbor")
        self.send_header("smithy-protocol", "rpc-v2-cbor")
        self.send_header("Content-Length", str(len(raw)))
        self.end_headers()
        self.wfile.write(raw)

s = http.server.HTTPServer(("127.0.0.1", 0), H)
print(s.server_address[1], flush=True)
s.serve_forever()
"#;

struct Server(Child);

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn eventbridgev2_speaks_cbor_with_botocores_codec() {
    let Some(venv) = std::env::var_os("KAGI_COMPAT_VENV") else {
        skip_or_fail("KAGI_COMPAT_VENV (botocore's CBOR codec for the loopback server)");
        return;
    };
    let sb = {
        let mut sb = Sandbox::new();
        sb.set("AWS_ACCESS_KEY_ID", "testing")
            .set("AWS_SECRET_ACCESS_KEY", "testing")
            .set("AWS_DEFAULT_REGION", "us-east-1");
        sb
    };
    let log = sb.home().join("requests.jsonl");
    let mut child = Command::new(std::path::Path::new(&venv).join("bin/python"))
        .arg("-c")
        .arg(SERVER)
        .arg(&log)
        .stdout(Stdio::piped())
        .spawn()
        .expect("python");
    let mut port = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut port)
        .unwrap();
    let _server = Server(child);
    let url = format!("http://127.0.0.1:{}", port.trim());
    let run = |args: &[&str]| {
        let mut a = args.to_vec();
        a.extend(["--endpoint-url", &url]);
        sb.run(&a)
    };

    let created = run(&[
        "eventbridgev2",
        "create-event-bus",
        "--name",
        "b1",
        "--description",
        "one bus",
        "--storage-configuration",
        "RetentionPeriodInDays=7",
        "--tags",
        "team=blue",
    ]);
    assert_eq!(created.code, 0, "{}", created.stderr);
    assert_eq!(
        created.stdout,
        r#"{
    "EventBusArn": "arn:aws:events:us-east-1:123456789012:event-busv2/b1/abcdefghijklmnopqrstuvwxy",
    "Name": "b1",
    "Description": "one bus",
    "StorageConfiguration": {
        "RetentionPeriodInDays": 7,
        "RetentionWindowStartTime": "2026-01-02T03:04:05.123000+00:00"
    },
    "State": "CREATING",
    "CreationTime": "2026-01-02T03:04:05.123000+00:00"
}
"#
    );

    // Three pages of two (text prints page by page); then --max-items with its NextToken.
    let listed = run(&[
        "eventbridgev2",
        "list-event-buses",
        "--query",
        "EventBuses[].Name",
        "--output",
        "text",
    ]);
    assert_eq!(
        (listed.code, listed.stdout.as_str()),
        (0, "bus-0\tbus-1\nbus-2\tbus-3\nbus-4\n"),
        "{}",
        listed.stderr
    );
    let first = run(&["eventbridgev2", "list-event-buses", "--max-items", "3"]);
    let first: Value = serde_json::from_str(&first.stdout).unwrap();
    assert_eq!(first["EventBuses"].as_array().unwrap().len(), 3);
    assert_eq!(
        first["EventBuses"][0]["CreationTime"],
        "2026-01-02T03:04:05.123000+00:00"
    );
    let token = first["NextToken"].as_str().expect("NextToken").to_string();
    let rest = run(&[
        "eventbridgev2",
        "list-event-buses",
        "--starting-token",
        &token,
        "--query",
        "EventBuses[].Name",
    ]);
    assert_eq!(
        rest.stdout, "[\n    \"bus-3\",\n    \"bus-4\"\n]\n",
        "{}",
        rest.stderr
    );

    let nope = "arn:aws:events:us-east-1:123456789012:event-busv2/nope/abcdefghijklmnopqrstuvwxy";
    let missing = run(&[
        "eventbridgev2",
        "describe-event-bus",
        "--event-bus-arn",
        nope,
    ]);
    assert_eq!(missing.code, 254);
    assert_eq!(
        missing.stderr,
        "\nAn error occurred (ResourceNotFoundException) when calling the DescribeEventBus operation: Event bus nope does not exist.\n"
    );

    // What the server decoded, with botocore's parser.
    let requests: Vec<Value> = std::fs::read_to_string(&log)
        .unwrap()
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    let create = &requests[0];
    assert_eq!(
        create["path"],
        "/service/AWSEventsV2/operation/CreateEventBus"
    );
    assert_eq!(create["smithy-protocol"], "rpc-v2-cbor");
    assert_eq!(create["content-type"], "application/cbor");
    assert_eq!(create["accept"], "application/cbor");
    assert_eq!(create["x-amz-target"], Value::Null);
    assert_eq!(create["signed"], true);
    let token = create["params"]["ClientToken"].as_str().unwrap_or_default();
    assert_eq!(token.len(), 36, "an idempotency token is filled");
    assert_eq!(
        create["params"],
        json!({
            "Name": "b1",
            "Description": "one bus",
            "StorageConfiguration": {"RetentionPeriodInDays": 7},
            "Tags": {"team": "blue"},
            "ClientToken": token,
        })
    );
    let pages: Vec<&Value> = requests
        .iter()
        .filter(|r| r["path"] == "/service/AWSEventsV2/operation/ListEventBuses")
        .map(|r| &r["params"])
        .collect();
    assert_eq!(pages[0], &json!({}));
    assert_eq!(pages[1], &json!({"NextToken": "2"}));
    assert_eq!(
        requests.last().unwrap()["params"],
        json!({ "EventBusArn": nope })
    );
}

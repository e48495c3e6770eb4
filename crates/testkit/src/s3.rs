//! An S3-compatible server on loopback for tests: moto's server (`moto_server` from the venv
//! that `scripts/test` makes, `KAGI_COMPAT_VENV`), one process per [`S3Server`], killed when it
//! is dropped. moto does not check signatures, which is fine here: what the tests check is that
//! kagi's blob store keeps and returns bytes through a real S3 wire protocol.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

pub struct S3Server {
    child: Child,
    /// `http://127.0.0.1:PORT`
    pub endpoint: String,
    port: u16,
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Starts moto's server, or: panics under CI (`CI` set), where the venv must exist, and returns
/// `None` elsewhere after printing why `test` is skipped.
pub fn required(test: &str) -> Option<S3Server> {
    let Some(venv) = std::env::var_os("KAGI_COMPAT_VENV") else {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: KAGI_COMPAT_VENV (a venv with moto[server]) is not set"
        );
        eprintln!("SKIPPED {test}: KAGI_COMPAT_VENV (a venv with moto[server]) is not set");
        return None;
    };
    let bin = std::path::Path::new(&venv).join("bin").join("moto_server");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free loopback port")
        .port();
    let child = Command::new(&bin)
        .args(["-H", "127.0.0.1", "-p", &port.to_string()])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap_or_else(|e| panic!("cannot start {}: {e}", bin.display()));
    let server = S3Server {
        child,
        endpoint: format!("http://127.0.0.1:{port}"),
        port,
    };
    // Readiness wait (not a timing assertion): moto imports for a few seconds.
    let start = Instant::now();
    while TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(
            start.elapsed() < Duration::from_secs(120),
            "moto_server did not start"
        );
        std::thread::sleep(Duration::from_millis(100));
    }
    Some(server)
}

impl S3Server {
    /// Creates a bucket (an unsigned `PUT /BUCKET`, which moto accepts).
    pub fn create_bucket(&self, bucket: &str) {
        put_bucket(self.port, bucket);
    }

    /// The environment a kagi server or client needs to reach this server's buckets.
    pub fn env(&self) -> [(&'static str, String); 3] {
        [
            ("AWS_ACCESS_KEY_ID", "testing".to_owned()),
            ("AWS_SECRET_ACCESS_KEY", "testing".to_owned()),
            ("AWS_REGION", "us-east-1".to_owned()),
        ]
    }
}

/// One moto server per test process, started on first use and stopped by a watchdog shell
/// once the test process is gone (a static is never dropped); `None` without the venv.
pub fn shared() -> Option<&'static Shared> {
    static S3: std::sync::OnceLock<Option<Shared>> = std::sync::OnceLock::new();
    S3.get_or_init(Shared::start).as_ref()
}

pub struct Shared {
    pub endpoint: String,
    port: u16,
    next: std::sync::atomic::AtomicUsize,
    _watchdog: Child,
}

impl Shared {
    fn start() -> Option<Shared> {
        let venv = std::env::var_os("KAGI_COMPAT_VENV")?;
        let bin = std::path::Path::new(&venv).join("bin").join("moto_server");
        if !bin.exists() {
            return None;
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("a free loopback port")
            .port();
        let script = format!(
            "{bin} -H 127.0.0.1 -p {port} >/dev/null 2>&1 & moto=$!; \
             while [ -d /proc/{parent} ] && kill -0 $moto 2>/dev/null; do sleep 0.5; done; \
             kill $moto 2>/dev/null; wait $moto",
            bin = bin.display(),
            parent = std::process::id()
        );
        let watchdog = Command::new("sh")
            .args(["-c", &script])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("sh starts");
        let start = Instant::now();
        while TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                start.elapsed() < Duration::from_secs(120),
                "moto_server did not start"
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(Shared {
            endpoint: format!("http://127.0.0.1:{port}"),
            port,
            next: Default::default(),
            _watchdog: watchdog,
        })
    }

    /// A new empty bucket of this server (its name).
    pub fn new_bucket(&self) -> String {
        let n = self.next.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        let name = format!("kagi-test-{}-{n}", std::process::id());
        put_bucket(self.port, &name);
        name
    }
}

fn put_bucket(port: u16, bucket: &str) {
    let mut s = TcpStream::connect(("127.0.0.1", port)).expect("moto answers");
    write!(
        s,
        "PUT /{bucket} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut answer = String::new();
    s.read_to_string(&mut answer).unwrap();
    assert!(
        answer.starts_with("HTTP/1.1 200") || answer.starts_with("HTTP/1.0 200"),
        "creating bucket {bucket}: {answer}"
    );
}

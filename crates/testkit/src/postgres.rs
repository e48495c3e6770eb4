//! A throw-away PostgreSQL server for tests: Debian's `initdb` and `postgres` (found under
//! `/usr/lib/postgresql/*/bin`, or `KAGI_PG_BIN`), a cluster in a temporary directory, listening
//! on a free port of 127.0.0.1 (and a socket in that directory), trust authentication for the
//! user `kagi`. As root (CI), the cluster runs as the `postgres` user, since `initdb` refuses
//! root. One server per test process ([`shared`]); each caller gets a database of its own
//! ([`Postgres::new_database`]). A watchdog shell stops the server and removes its directory
//! when the test process is gone, however it ended.

use std::net::TcpListener;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::OnceLock;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

pub struct Postgres {
    pub port: u16,
    bin: PathBuf,
    dir: PathBuf,
    as_postgres: bool,
    next: AtomicUsize,
    _watchdog: std::process::Child,
}

/// Where Debian keeps the server binaries (the highest version), or `KAGI_PG_BIN`.
pub fn bin_dir() -> Option<PathBuf> {
    if let Some(d) = std::env::var_os("KAGI_PG_BIN") {
        return Some(PathBuf::from(d));
    }
    let mut found: Vec<PathBuf> = std::fs::read_dir("/usr/lib/postgresql")
        .ok()?
        .filter_map(|e| Some(e.ok()?.path().join("bin")))
        .filter(|b| b.join("initdb").exists() && b.join("postgres").exists())
        .collect();
    found.sort();
    found.pop()
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
}

impl Postgres {
    /// Starts a server; `None` when PostgreSQL's binaries are not installed.
    pub fn start() -> Option<Postgres> {
        let bin = bin_dir()?;
        let as_postgres = is_root();
        let dir = std::env::temp_dir().join(format!(
            "kagi-pg-{}-{}",
            std::process::id(),
            Instant::now().elapsed().as_nanos()
        ));
        std::fs::create_dir_all(dir.join("data")).unwrap();
        if as_postgres {
            let ok = Command::new("chown")
                .args(["-R", "postgres:postgres"])
                .arg(&dir)
                .status()
                .unwrap()
                .success();
            assert!(ok, "chown of {} to postgres failed", dir.display());
        }
        let run = |program: &str| -> Command {
            if as_postgres {
                let mut c = Command::new("runuser");
                c.args(["-u", "postgres", "--"]).arg(bin.join(program));
                c
            } else {
                Command::new(bin.join(program))
            }
        };
        let out = run("initdb")
            .args([
                "-U",
                "kagi",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "-N",
                "-D",
            ])
            .arg(dir.join("data"))
            .output()
            .expect("running initdb");
        assert!(
            out.status.success(),
            "initdb failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        // The watchdog: postgres in the background, stopped (and its directory removed) once
        // the test process that started it is gone.
        let server = format!(
            "{} -D {}/data -p {port} -k {} -c listen_addresses=127.0.0.1 -c fsync=off \
             -c max_connections=100 -c shared_buffers=32MB",
            bin.join("postgres").display(),
            dir.display(),
            dir.display()
        );
        let script = format!(
            "{server} >{dir}/log 2>&1 & pg=$!; \
             while [ -d /proc/{parent} ] && kill -0 $pg 2>/dev/null; do sleep 0.5; done; \
             kill -QUIT $pg 2>/dev/null; wait $pg; rm -rf {dir}",
            dir = dir.display(),
            parent = std::process::id()
        );
        let mut sh = if as_postgres {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--", "sh", "-c", &script]);
            c
        } else {
            let mut c = Command::new("sh");
            c.args(["-c", &script]);
            c
        };
        // Never waited for: it outlives the test process on purpose (to clean up after it).
        let watchdog = sh
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("starting postgres");
        let pg = Postgres {
            port,
            bin,
            dir,
            as_postgres,
            next: AtomicUsize::new(0),
            _watchdog: watchdog,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            assert!(
                Instant::now() < deadline,
                "postgres did not start: {}",
                std::fs::read_to_string(pg.dir.join("log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        // Accepting connections is not yet accepting sessions: wait for a database to answer.
        while pg.createdb("kagi").is_err() {
            assert!(Instant::now() < deadline, "postgres did not become ready");
            std::thread::sleep(Duration::from_millis(100));
        }
        Some(pg)
    }

    fn createdb(&self, name: &str) -> Result<(), String> {
        let out = Command::new(self.bin.join("createdb"))
            .args([
                "-h",
                "127.0.0.1",
                "-p",
                &self.port.to_string(),
                "-U",
                "kagi",
                name,
            ])
            .output()
            .map_err(|e| e.to_string())?;
        if out.status.success() {
            Ok(())
        } else {
            Err(String::from_utf8_lossy(&out.stderr).into_owned())
        }
    }

    /// A new, empty database; its URL.
    pub fn new_database(&self) -> String {
        let name = format!("t{}", self.next.fetch_add(1, Ordering::Relaxed));
        self.createdb(&name).expect("createdb");
        self.url(&name)
    }

    pub fn url(&self, database: &str) -> String {
        format!("postgres://kagi@127.0.0.1:{}/{database}", self.port)
    }

    /// Whether the server runs as the `postgres` user (the test ran as root).
    pub fn runs_as_postgres(&self) -> bool {
        self.as_postgres
    }
}

/// The test process's server, started on first use; `None` without PostgreSQL (a test should
/// then say SKIPPED, and fail under CI: see [`required`]).
pub fn shared() -> Option<&'static Postgres> {
    static PG: OnceLock<Option<Postgres>> = OnceLock::new();
    PG.get_or_init(Postgres::start).as_ref()
}

/// [`shared`], but when PostgreSQL is missing: panics under CI (`CI` set), where it must be
/// installed, and returns `None` elsewhere after printing why the test is skipped.
pub fn required(test: &str) -> Option<&'static Postgres> {
    let pg = shared();
    if pg.is_none() {
        assert!(
            std::env::var_os("CI").is_none(),
            "{test}: PostgreSQL is not installed (apt-get install postgresql)"
        );
        eprintln!("SKIPPED {test}: PostgreSQL is not installed (apt-get install postgresql)");
    }
    pg
}

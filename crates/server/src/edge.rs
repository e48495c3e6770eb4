//! The edge: accepting connections and bounding what a client can hold before (and while) a
//! handler runs. Slow, broken and hostile clients meet these limits, never a handler:
//!
//! * **Connection limit** ([`Limits::max_connections`], `--max-connections`, default 4096,
//!   lowered to fit the process's open-file limit, whose soft value is raised to the hard one
//!   at start). At the limit a new connection evicts the connection that has been idle longest
//!   (no request in flight; nginx reuses keep-alive connections the same way), so idle
//!   connections never lock a client out; only when every connection has a request in flight is
//!   the new one refused (`503`, closed).
//! * **Header timeout** (`--header-timeout`, default 10 s): from a request's first byte to the
//!   end of its header section (slowloris).
//! * **Idle timeout** (`--idle-timeout`, default 60 s): a connection without a request in
//!   flight that reads and writes nothing for this long is closed (a keep-alive connection
//!   between requests, a new one that never sends a byte, a response nobody reads).
//! * **Body timeout** (`--body-timeout`, default 30 s): a request body must arrive within this
//!   time plus one second per [`BODY_MIN_RATE`] bytes it carries (a body that never finishes, or
//!   trickles). The handler's read then fails with [`std::io::ErrorKind::TimedOut`] and it
//!   answers 408.
//! * **Header section**: at most [`MAX_HEADER_BYTES`]; hyper answers 431 beyond it.
//! * **Lingering close**: when HTTP is done with a connection (a refused or unread body,
//!   `Connection: close`, a parse error), the server sends its answer, half-closes, and reads and
//!   discards what the client still sends (until it closes, [`LINGER_TIME`], [`LINGER_QUIET`]
//!   without a byte, or [`LINGER_BYTES`]) before closing. A client that sends a 12 MB body
//!   at once to a 1 MiB limit thus reads the 413 instead of a connection reset (closing a socket
//!   with unread data makes the kernel send RST, which discards the answer at the client).
//!
//! Timeouts are enforced by one sweeper task per server every [`TICK`]: it reads atomics that
//! the connection's IO ([`Tracked`]) and the request wrapper update, and closes what is
//! overdue. Nothing per request arms a timer, except a body that is not already there when the
//! handler reads it.

use axum::Router;
use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use axum::response::Response;
use bytes::Bytes;
use hyper::body::{Frame, Incoming, SizeHint};
use hyper_util::rt::TokioIo;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU32, AtomicU64, AtomicUsize, Ordering::Relaxed};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, watch};

/// What bounds a client; `kagi serve` flags and `KAGI_*` variables (see `lib.rs`).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Limits {
    pub max_connections: usize,
    pub header_timeout: Duration,
    pub body_timeout: Duration,
    pub idle_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_connections: 4096,
            header_timeout: Duration::from_secs(10),
            body_timeout: Duration::from_secs(30),
            idle_timeout: Duration::from_secs(60),
        }
    }
}

/// The largest request header section (request line and headers); more is answered 431.
pub const MAX_HEADER_BYTES: usize = 64 * 1024;
/// A body may take the body timeout plus one second per this many bytes.
pub const BODY_MIN_RATE: u64 = 32 * 1024;
/// A lingering close lasts at most this long...
pub const LINGER_TIME: Duration = Duration::from_secs(5);
/// ...ends when the client sends nothing for this long...
pub const LINGER_QUIET: Duration = Duration::from_secs(1);
/// ...and discards at most this much.
pub const LINGER_BYTES: u64 = 64 << 20;
/// How often the sweeper looks: timeouts are enforced within this much of their value.
pub const TICK: Duration = Duration::from_millis(100);
/// The listening socket's accept queue.
const ACCEPT_BACKLOG: i32 = 4096;
/// Open files kept for everything but connections (databases, blobs, the listener).
const FD_RESERVE: u64 = 256;

/// Milliseconds since the server started, as of the sweeper's last tick (cheap to read on
/// every IO call, which is all it is for).
struct Clock {
    start: Instant,
    ms: AtomicU64,
}

impl Clock {
    fn now(&self) -> u64 {
        self.ms.load(Relaxed)
    }
    fn tick(&self) {
        self.ms
            .store(self.start.elapsed().as_millis() as u64, Relaxed);
    }
}

/// One connection's state, as the sweeper and the eviction see it.
struct Conn {
    /// Requests handed to the router whose response has not been produced yet.
    in_flight: AtomicU32,
    /// When it last read or wrote a byte (or was accepted).
    last_io: AtomicU64,
    /// One more than when the next request's first byte arrived; 0: none yet.
    head_since: AtomicU64,
    killed: AtomicBool,
    kill: Notify,
}

struct Edge {
    limits: Limits,
    clock: Clock,
    conns: Mutex<HashMap<u64, Arc<Conn>>>,
    /// Connections told to close that have not gone yet (still in `conns`).
    dying: AtomicUsize,
    gone: Notify,
}

impl Edge {
    /// Under the `conns` lock.
    fn kill(&self, c: &Conn) {
        if !c.killed.swap(true, Relaxed) {
            self.dying.fetch_add(1, Relaxed);
            c.kill.notify_one();
        }
    }

    fn sweep(&self) {
        let now = self.clock.now();
        let header = self.limits.header_timeout.as_millis() as u64;
        let idle = self.limits.idle_timeout.as_millis() as u64;
        let conns = self.conns.lock();
        for c in conns.values() {
            if c.killed.load(Relaxed) || c.in_flight.load(Relaxed) > 0 {
                continue;
            }
            let overdue = match c.head_since.load(Relaxed) {
                0 => now.saturating_sub(c.last_io.load(Relaxed)) >= idle,
                since => (now + 1).saturating_sub(since) >= header,
            };
            if overdue {
                self.kill(c);
            }
        }
    }

    /// Registers a new connection. At the limit it first closes the longest idle sixteenth of
    /// the connections without a request in flight (a batch, so that a flood of connections
    /// costs one scan per batch, not one per connection); false when every connection has a
    /// request in flight.
    fn admit(&self, id: u64, conn: Arc<Conn>) -> bool {
        let mut conns = self.conns.lock();
        if conns.len().saturating_sub(self.dying.load(Relaxed)) >= self.limits.max_connections {
            let mut idle: Vec<(u64, &Arc<Conn>)> = conns
                .values()
                .filter(|c| !c.killed.load(Relaxed) && c.in_flight.load(Relaxed) == 0)
                .map(|c| {
                    let active = c.last_io.load(Relaxed);
                    (active.max(c.head_since.load(Relaxed).saturating_sub(1)), c)
                })
                .collect();
            if idle.is_empty() {
                return false;
            }
            let batch = (self.limits.max_connections / 16).clamp(1, idle.len());
            if batch < idle.len() {
                idle.select_nth_unstable_by_key(batch - 1, |(active, _)| *active);
            }
            for (_, c) in &idle[..batch] {
                self.kill(c);
            }
        }
        conns.insert(id, conn);
        true
    }

    fn remove(&self, id: u64) {
        let mut conns = self.conns.lock();
        if let Some(c) = conns.remove(&id)
            && c.killed.load(Relaxed)
        {
            self.dying.fetch_sub(1, Relaxed);
        }
        if conns.is_empty() {
            self.gone.notify_waiters();
        }
    }
}

/// Serves `router` on `listener` within `limits` until `shutdown` resolves; then stops
/// accepting, lets requests in flight finish (idle connections close at once) and returns
/// when every connection is gone.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    // On a worker, not on `block_on`'s thread: there the accept loop ran out of tokio's
    // cooperative budget every 128 accepts and stalled, and the backlog overflowed (clients'
    // SYNs dropped, a second each).
    let _ = tokio::spawn(accept_loop(listener, router, limits, shutdown)).await;
}

async fn accept_loop(
    listener: TcpListener,
    router: Router,
    mut limits: Limits,
    shutdown: impl Future<Output = ()> + Send + 'static,
) {
    limits.max_connections = fit_open_files(limits.max_connections);
    // A deep accept queue (the kernel caps it at net.core.somaxconn): with std's and tokio's
    // 128, a burst of connections overflowed it while the workers ran the new connections'
    // first polls, and the kernel dropped SYNs (the client retries a second later). Listening
    // again on a listening socket only changes its backlog.
    if let Err(e) = rustix::net::listen(&listener, ACCEPT_BACKLOG) {
        tracing::debug!(error = %e, "could not deepen the accept queue");
    }
    let edge = Arc::new(Edge {
        limits,
        clock: Clock {
            start: Instant::now(),
            ms: AtomicU64::new(0),
        },
        conns: Mutex::new(HashMap::new()),
        dying: AtomicUsize::new(0),
        gone: Notify::new(),
    });
    let sweeper = tokio::spawn({
        let edge = edge.clone();
        async move {
            let mut every = tokio::time::interval(TICK);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Skip);
            loop {
                every.tick().await;
                edge.clock.tick();
                edge.sweep();
            }
        }
    });
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut shutdown = std::pin::pin!(shutdown);
    let mut next_id = 0u64;
    loop {
        let (tcp, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(accepted) => accepted,
                Err(e) => {
                    // Out of file descriptors (or a connection reset before accept): wait a
                    // little rather than spin; the sweeper and eviction free descriptors.
                    tracing::debug!(error = %e, "accept failed");
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            },
            _ = &mut shutdown => break,
        };
        let _ = tcp.set_nodelay(true);
        let conn = Arc::new(Conn {
            in_flight: AtomicU32::new(0),
            last_io: AtomicU64::new(edge.clock.now()),
            head_since: AtomicU64::new(0),
            killed: AtomicBool::new(false),
            kill: Notify::new(),
        });
        next_id += 1;
        if !edge.admit(next_id, conn.clone()) {
            tracing::warn!(
                %peer,
                limit = edge.limits.max_connections,
                "connection refused: every connection has a request in flight"
            );
            let _ = tcp.try_write(
                b"HTTP/1.1 503 Service Unavailable\r\nconnection: close\r\ncontent-length: 0\r\n\r\n",
            );
            continue;
        }
        tokio::spawn(connection(
            edge.clone(),
            router.clone(),
            tcp,
            peer,
            next_id,
            conn,
            stop_rx.clone(),
        ));
    }
    drop(listener);
    let _ = stop_tx.send(true);
    loop {
        let gone = edge.gone.notified();
        if edge.conns.lock().is_empty() {
            break;
        }
        gone.await;
    }
    sweeper.abort();
}

/// Raises the open-file soft limit to the hard one and fits `wanted` connections under it.
fn fit_open_files(wanted: usize) -> usize {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let mut lim = getrlimit(Resource::Nofile);
    if lim.current < lim.maximum {
        lim.current = lim.maximum;
        let _ = setrlimit(Resource::Nofile, lim);
        lim = getrlimit(Resource::Nofile);
    }
    let Some(files) = lim.current else {
        return wanted;
    };
    let fits = files.saturating_sub(FD_RESERVE).max(16) as usize;
    if wanted > fits {
        tracing::warn!(
            wanted,
            open_file_limit = files,
            max_connections = fits,
            "the open-file limit lowers --max-connections"
        );
        return fits;
    }
    wanted
}

async fn connection(
    edge: Arc<Edge>,
    router: Router,
    tcp: TcpStream,
    peer: SocketAddr,
    id: u64,
    conn: Arc<Conn>,
    mut stop: watch::Receiver<bool>,
) {
    let io = TokioIo::new(Tracked {
        tcp,
        conn: conn.clone(),
        edge: edge.clone(),
    });
    let svc = Svc {
        router,
        conn: conn.clone(),
        edge: edge.clone(),
        peer,
    };
    let mut http = hyper::server::conn::http1::Builder::new()
        .max_header_size(MAX_HEADER_BYTES)
        .header_read_timeout(None)
        .serve_connection(io, svc);
    enum Step {
        Done,
        Killed,
        Stop,
    }
    let mut stopping = false;
    let finished = loop {
        let step = {
            let served = std::future::poll_fn(|cx| http.poll_without_shutdown(cx));
            tokio::select! {
                _ = served => Step::Done,
                _ = conn.kill.notified() => Step::Killed,
                _ = stop.changed(), if !stopping => Step::Stop,
            }
        };
        match step {
            Step::Done => break true,
            Step::Killed => break false,
            Step::Stop => {
                stopping = true;
                Pin::new(&mut http).graceful_shutdown();
            }
        }
    };
    if finished && !stopping {
        let tcp = http.into_parts().io.into_inner().tcp;
        tokio::select! {
            _ = linger(tcp) => {}
            _ = conn.kill.notified() => {}
            _ = stop.changed() => {}
        }
    }
    edge.remove(id);
}

/// Half-closes after the answer and discards what the client still sends, so that closing
/// does not reset the connection under an answer the client has not read yet.
async fn linger(mut tcp: TcpStream) {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    if tcp.shutdown().await.is_err() {
        return;
    }
    let mut buf = vec![0u8; 16 * 1024];
    let mut discarded = 0u64;
    let _ = tokio::time::timeout(LINGER_TIME, async {
        while discarded < LINGER_BYTES {
            match tokio::time::timeout(LINGER_QUIET, tcp.read(&mut buf)).await {
                Ok(Ok(n)) if n > 0 => discarded += n as u64,
                _ => break,
            }
        }
    })
    .await;
}

/// The connection's socket, noting when bytes move and when a request's first byte arrives.
struct Tracked {
    tcp: TcpStream,
    conn: Arc<Conn>,
    edge: Arc<Edge>,
}

impl AsyncRead for Tracked {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<std::io::Result<()>> {
        let this = self.get_mut();
        let before = buf.filled().len();
        let r = Pin::new(&mut this.tcp).poll_read(cx, buf);
        if buf.filled().len() > before {
            let now = this.edge.clock.now();
            this.conn.last_io.store(now, Relaxed);
            if this.conn.in_flight.load(Relaxed) == 0 && this.conn.head_since.load(Relaxed) == 0 {
                this.conn.head_since.store(now + 1, Relaxed);
            }
        }
        r
    }
}

impl Tracked {
    fn wrote(&self, r: &Poll<std::io::Result<usize>>) {
        if let Poll::Ready(Ok(n)) = r
            && *n > 0
        {
            self.conn.last_io.store(self.edge.clock.now(), Relaxed);
        }
    }
}

impl AsyncWrite for Tracked {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.tcp).poll_write(cx, buf);
        this.wrote(&r);
        r
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> Poll<std::io::Result<usize>> {
        let this = self.get_mut();
        let r = Pin::new(&mut this.tcp).poll_write_vectored(cx, bufs);
        this.wrote(&r);
        r
    }

    fn is_write_vectored(&self) -> bool {
        self.tcp.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<std::io::Result<()>> {
        Pin::new(&mut self.get_mut().tcp).poll_shutdown(cx)
    }
}

/// Hands each request to the router with its peer address and a timed body, counting it in
/// flight until the response is produced.
#[derive(Clone)]
struct Svc {
    router: Router,
    conn: Arc<Conn>,
    edge: Arc<Edge>,
    peer: SocketAddr,
}

/// Ends a request's time in flight (also if its handler panics).
struct InFlight {
    conn: Arc<Conn>,
    edge: Arc<Edge>,
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.conn.last_io.store(self.edge.clock.now(), Relaxed);
        self.conn.in_flight.fetch_sub(1, Relaxed);
    }
}

type ResponseFuture = Pin<Box<dyn Future<Output = Result<Response, Infallible>> + Send>>;

impl hyper::service::Service<Request<Incoming>> for Svc {
    type Response = Response;
    type Error = Infallible;
    type Future = ResponseFuture;

    fn call(&self, req: Request<Incoming>) -> ResponseFuture {
        self.conn.in_flight.fetch_add(1, Relaxed);
        self.conn.head_since.store(0, Relaxed);
        let guard = InFlight {
            conn: self.conn.clone(),
            edge: self.edge.clone(),
        };
        let timeout = self.edge.limits.body_timeout;
        let mut req = req.map(|body| Body::new(TimedBody::new(body, timeout)));
        req.extensions_mut().insert(ConnectInfo(self.peer));
        let mut router = self.router.clone();
        Box::pin(async move {
            let resp = tower_service::Service::call(&mut router, req).await;
            drop(guard);
            resp
        })
    }
}

/// A request body that fails with `TimedOut` once it is overdue: the body timeout plus one
/// second per [`BODY_MIN_RATE`] bytes received, counted from when the handler first had to
/// wait for it.
struct TimedBody {
    inner: Incoming,
    timeout: Duration,
    received: u64,
    waiting_since: Option<tokio::time::Instant>,
    timer: Option<Pin<Box<tokio::time::Sleep>>>,
    timed_out: bool,
}

impl TimedBody {
    fn new(inner: Incoming, timeout: Duration) -> TimedBody {
        TimedBody {
            inner,
            timeout,
            received: 0,
            waiting_since: None,
            timer: None,
            timed_out: false,
        }
    }

    fn deadline(&self, since: tokio::time::Instant) -> tokio::time::Instant {
        since + self.timeout + Duration::from_millis(self.received * 1000 / BODY_MIN_RATE)
    }
}

/// The error a handler sees when a body is overdue.
pub fn body_timed_out() -> std::io::Error {
    std::io::Error::new(
        std::io::ErrorKind::TimedOut,
        "the request body did not arrive in time",
    )
}

impl hyper::body::Body for TimedBody {
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.get_mut();
        if this.timed_out {
            return Poll::Ready(Some(Err(Box::new(body_timed_out()))));
        }
        match Pin::new(&mut this.inner).poll_frame(cx) {
            Poll::Ready(Some(Ok(frame))) => {
                if let Some(data) = frame.data_ref() {
                    this.received += data.len() as u64;
                    if let Some(since) = this.waiting_since {
                        let deadline = this.deadline(since);
                        if let Some(timer) = this.timer.as_mut() {
                            timer.as_mut().reset(deadline);
                        }
                    }
                }
                Poll::Ready(Some(Ok(frame)))
            }
            Poll::Ready(Some(Err(e))) => Poll::Ready(Some(Err(Box::new(e)))),
            Poll::Ready(None) => Poll::Ready(None),
            Poll::Pending => {
                let since = *this
                    .waiting_since
                    .get_or_insert_with(tokio::time::Instant::now);
                let deadline = this.deadline(since);
                let timer = this
                    .timer
                    .get_or_insert_with(|| Box::pin(tokio::time::sleep_until(deadline)));
                if timer.as_mut().poll(cx).is_ready() {
                    this.timed_out = true;
                    return Poll::Ready(Some(Err(Box::new(body_timed_out()))));
                }
                Poll::Pending
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// Whether a body read failed because the body was overdue (the error's source chain holds a
/// `TimedOut` I/O error).
pub fn is_timeout(e: &(dyn std::error::Error + 'static)) -> bool {
    let mut cur = Some(e);
    while let Some(e) = cur {
        if let Some(io) = e.downcast_ref::<std::io::Error>()
            && io.kind() == std::io::ErrorKind::TimedOut
        {
            return true;
        }
        cur = e.source();
    }
    false
}

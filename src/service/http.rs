//! `kravflyt run`'s HTTP endpoints, off unless `[http] listen` is set: `/metrics` (Prometheus
//! text format), `/healthz` (the process serves and its loop comes round) and `/readyz` (it
//! can do its work: the database answers, its folders are writable, no file waits too long).
//!
//! The server is hyper's HTTP/1 connection handling on a single-threaded tokio runtime that
//! lives in this module's one thread; the daemon's loop stays synchronous and never sees it.
//! hyper is the most used and most fuzzed HTTP implementation in Rust, and it enforces what a
//! server facing a network must: a limit on the request head (larger: `431`, malformed: `400`,
//! both answered, then the connection closed), a time limit for reading it (a client that
//! trickles bytes is cut off) and no body read unless asked for. The small blocking servers
//! (tiny_http 0.12) read a request line or header of any length into memory, with no time
//! limit and one thread per connection. Handlers that touch the disk run on tokio's blocking
//! pool, so a slow scrape never holds up `/healthz`.

use std::convert::Infallible;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use http_body_util::Full;
use hyper::body::{Body, Bytes, Incoming};
use hyper::{Method, Request, Response, StatusCode, header};
use hyper_util::rt::{TokioIo, TokioTimer};
use serde_json::{Value, json};

use crate::config::Config;
use crate::service::watchdog::Liveness;
use crate::store::{Store, StoreLocation};
use crate::workspace::{AGENCY_FOLDER, Workspace};

/// The largest request head (request line and headers) read; hyper answers a larger one with
/// `431 Request Header Fields Too Large`. A scraper's request is a few hundred bytes.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// At most this many header fields (more: `431`).
const MAX_HEADERS: usize = 64;
/// A client must send its whole request head within this long.
const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once (a scraper or a probe uses one); more are closed as they
/// arrive, so a flood of connections costs the HTTP thread a bounded number of file
/// descriptors and buffers. A connection that sends nothing is closed after
/// [`HEADER_READ_TIMEOUT`].
const MAX_CONNECTIONS: usize = 256;

/// The paths served.
pub const PATHS: [&str; 3] = ["/metrics", "/healthz", "/readyz"];

/// Why the HTTP server could not start.
#[derive(Debug, thiserror::Error)]
pub enum HttpError {
    #[error(
        "cannot listen on {addr} ([http] listen): {source}; is another program (another kravflyt?) using the port?"
    )]
    Bind {
        addr: SocketAddr,
        source: std::io::Error,
    },
    #[error("cannot start the HTTP server: {0}")]
    Start(std::io::Error),
}

/// The running server; it serves until the process ends.
#[derive(Debug)]
pub struct HttpServer {
    addr: SocketAddr,
}

impl HttpServer {
    /// The address it listens on (the port the system chose, for `:0`).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

/// What the handlers read.
struct State {
    config: Config,
    workspace: Workspace,
    liveness: Liveness,
}

/// Starts the server when `[http] listen` is set: binds now, so a taken port stops `run` at
/// once with a clear message, then serves from a thread of its own.
pub fn start(config: &Config, liveness: Liveness) -> Result<Option<HttpServer>, HttpError> {
    let Some(addr) = config.http.listen else {
        return Ok(None);
    };
    let listener =
        std::net::TcpListener::bind(addr).map_err(|source| HttpError::Bind { addr, source })?;
    listener.set_nonblocking(true).map_err(HttpError::Start)?;
    let local = listener.local_addr().map_err(HttpError::Start)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .enable_time()
        // Scrapes and readiness checks read the disk on this pool; a burst of them queues
        // here instead of opening the database from hundreds of threads.
        .max_blocking_threads(2)
        .thread_name("kravflyt-http-blocking")
        .build()
        .map_err(HttpError::Start)?;
    let state = Arc::new(State {
        config: config.clone(),
        workspace: config.workspace(),
        liveness,
    });
    std::thread::Builder::new()
        .name("kravflyt-http".to_owned())
        .spawn(move || runtime.block_on(serve(listener, state)))
        .map_err(HttpError::Start)?;
    tracing::info!(address = %local, "serving /metrics, /healthz and /readyz");
    Ok(Some(HttpServer { addr: local }))
}

/// Decrements the count of open connections when a connection's task ends, however it ends.
struct Open(Arc<AtomicUsize>);

impl Drop for Open {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

async fn serve(listener: std::net::TcpListener, state: Arc<State>) {
    let listener = match tokio::net::TcpListener::from_std(listener) {
        Ok(listener) => listener,
        Err(e) => {
            tracing::error!(error = %e, "the HTTP server cannot serve; /metrics, /healthz and /readyz are down");
            return;
        }
    };
    let open = Arc::new(AtomicUsize::new(0));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, or a connection reset before it was accepted:
                // wait a moment instead of spinning, and go on.
                tracing::debug!(error = %e, "cannot accept an HTTP connection");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        if open.load(Ordering::Relaxed) >= MAX_CONNECTIONS {
            drop(stream);
            continue;
        }
        open.fetch_add(1, Ordering::Relaxed);
        let guard = Open(Arc::clone(&open));
        let state = Arc::clone(&state);
        tokio::spawn(async move {
            let _guard = guard;
            let service = hyper::service::service_fn(move |request| {
                let state = Arc::clone(&state);
                async move { Ok::<_, Infallible>(route(request, state).await) }
            });
            let served = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_READ_TIMEOUT)
                .max_buf_size(MAX_HEAD_BYTES)
                .max_headers(MAX_HEADERS)
                .serve_connection(TokioIo::new(stream), service)
                .await;
            if let Err(e) = served {
                // A malformed or oversized request has been answered (400, 431) by hyper;
                // the connection ends here, the server goes on.
                tracing::debug!(error = %e, "HTTP connection ended with an error");
            }
        });
    }
}

type Reply = Response<Full<Bytes>>;

fn reply(status: StatusCode, content_type: &str, body: String) -> Reply {
    let mut response = Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    if let Ok(value) = header::HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    // Figures of the moment: never served from a cache.
    response.headers_mut().insert(
        header::CACHE_CONTROL,
        header::HeaderValue::from_static("no-store"),
    );
    response
}

fn json_reply(status: StatusCode, body: &Value) -> Reply {
    let mut text = serde_json::to_string_pretty(body).unwrap_or_default();
    text.push('\n');
    reply(status, "application/json", text)
}

async fn route(request: Request<Incoming>, state: Arc<State>) -> Reply {
    if request.method() != Method::GET && request.method() != Method::HEAD {
        let mut response = json_reply(
            StatusCode::METHOD_NOT_ALLOWED,
            &json!({"error": format!("{} is not served here: use GET", request.method())}),
        );
        response
            .headers_mut()
            .insert(header::ALLOW, header::HeaderValue::from_static("GET, HEAD"));
        return response;
    }
    // No endpoint takes a body; one is never read, so its size does not matter to us.
    if !request.body().is_end_stream() {
        return json_reply(
            StatusCode::PAYLOAD_TOO_LARGE,
            &json!({"error": "these endpoints take no request body"}),
        );
    }
    match request.uri().path() {
        "/metrics" => blocking(state, metrics).await,
        "/healthz" => healthz(&state),
        "/readyz" => blocking(state, readyz).await,
        path => json_reply(
            StatusCode::NOT_FOUND,
            &json!({"error": format!("nothing at {path}"), "paths": PATHS}),
        ),
    }
}

/// Runs a handler that reads the disk on tokio's blocking pool; a handler that panics gives
/// `500`, and the server goes on.
async fn blocking(state: Arc<State>, handler: fn(&State) -> Reply) -> Reply {
    match tokio::task::spawn_blocking(move || handler(&state)).await {
        Ok(response) => response,
        Err(e) => {
            tracing::error!(error = %e, "an HTTP handler failed");
            json_reply(
                StatusCode::INTERNAL_SERVER_ERROR,
                &json!({"error": "internal error; see the log"}),
            )
        }
    }
}

fn metrics(state: &State) -> Reply {
    let snapshot = Store::open_read_only_at(&StoreLocation::from_config(&state.config)).and_then(
        |mut store| crate::service::metrics::snapshot(&mut store, &state.config, &state.workspace),
    );
    match snapshot {
        Ok(snapshot) => reply(
            StatusCode::OK,
            crate::service::metrics::CONTENT_TYPE,
            crate::service::metrics::render(&snapshot, &state.config),
        ),
        // Prometheus records the failed scrape (`up` is 0); /readyz says the same in detail.
        Err(e) => reply(
            StatusCode::SERVICE_UNAVAILABLE,
            "text/plain; charset=utf-8",
            format!("kravflyt cannot read its database: {e}\n"),
        ),
    }
}

fn healthz(state: &State) -> Reply {
    match state.liveness.overdue() {
        None => json_reply(
            StatusCode::OK,
            &json!({"status": "alive", "version": env!("CARGO_PKG_VERSION")}),
        ),
        Some(late) => json_reply(
            StatusCode::SERVICE_UNAVAILABLE,
            &json!({
                "status": "stalled",
                "problem": format!(
                    "the daemon's loop is {} past the time it said it would be back (hung in a file or the daily run?)",
                    humantime::format_duration(Duration::from_secs(late.as_secs()))
                ),
            }),
        ),
    }
}

/// One check of `/readyz` that failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub check: &'static str,
    /// The folder or sender it is about, relative to the workspace.
    pub subject: Option<String>,
    pub problem: String,
}

/// Whether the daemon can do its work, and what stands in the way.
pub fn readiness(config: &Config, workspace: &Workspace) -> (Vec<Value>, Vec<Failure>) {
    let mut checks = Vec::new();
    let mut failures = Vec::new();

    let database =
        Store::open_read_only_at(&StoreLocation::from_config(config)).and_then(|mut store| {
            let tx = store.read()?;
            tx.meta("last_run_at")?;
            tx.first_sightings()
        });
    let sightings = match database {
        Ok(sightings) => {
            checks.push(json!({"check": "database", "ok": true}));
            sightings
        }
        Err(e) => {
            checks.push(json!({"check": "database", "ok": false}));
            failures.push(Failure {
                check: "database",
                subject: None,
                problem: format!("cannot read the database: {e}"),
            });
            Vec::new()
        }
    };

    let mut folders = Vec::new();
    for sender in &config.senders {
        folders.push(workspace.inbox(&sender.id));
        folders.push(workspace.work(&sender.id));
        folders.push(workspace.root().join("archive").join(&sender.id));
        folders.push(workspace.rejected(&sender.id));
        folders.push(workspace.outbox(&sender.id));
    }
    folders.push(workspace.outbox(AGENCY_FOLDER));
    let before = failures.len();
    for folder in &folders {
        if let Err(problem) = writable(folder) {
            failures.push(Failure {
                check: "folders",
                subject: Some(workspace.relative(folder).display().to_string()),
                problem,
            });
        }
    }
    checks.push(json!({
        "check": "folders",
        "ok": failures.len() == before,
        "folders": folders.len(),
    }));

    let limit = config.http.ready_max_wait;
    let before = failures.len();
    let waiting =
        crate::service::metrics::oldest_waiting(&sightings, config, workspace, chrono::Utc::now());
    let oldest = waiting.iter().filter_map(|(_, age)| *age).max();
    for (sender, age) in &waiting {
        if let Some(age) = age.filter(|age| *age > limit) {
            failures.push(Failure {
                check: "waiting",
                subject: Some(format!("inbox/{sender}")),
                problem: format!(
                    "a file has waited {} in inbox/{sender}, longer than ready_max_wait ({}): is kravflyt taking files?",
                    humantime::format_duration(Duration::from_secs(age.as_secs())),
                    humantime::format_duration(limit)
                ),
            });
        }
    }
    checks.push(json!({
        "check": "waiting",
        "ok": failures.len() == before,
        "oldest_seconds": oldest.map(|a| a.as_secs()),
        "limit_seconds": limit.as_secs(),
    }));
    (checks, failures)
}

fn readyz(state: &State) -> Reply {
    let (checks, failures) = readiness(&state.config, &state.workspace);
    let ready = failures.is_empty();
    let body = json!({
        "status": if ready { "ready" } else { "not ready" },
        "failed": failures.iter().map(|f| json!({
            "check": f.check,
            "subject": f.subject,
            "problem": f.problem,
        })).collect::<Vec<_>>(),
        "checks": checks,
    });
    json_reply(
        if ready {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        },
        &body,
    )
}

/// Whether kravflyt may create and rename files in `folder`: it exists, is a folder, and the
/// process may write and enter it (as the operating system decides, so a read-only mount
/// counts as not writable). The fault tests' injected errors count too (debug builds).
fn writable(folder: &Path) -> Result<(), String> {
    crate::faults::check(&folder.join(".kravflyt-readyz"))
        .map_err(|e| format!("not writable: {e}"))?;
    let meta = std::fs::metadata(folder).map_err(|e| format!("cannot be read: {e}"))?;
    if !meta.is_dir() {
        return Err("is not a folder".to_owned());
    }
    #[cfg(unix)]
    {
        use std::os::unix::ffi::OsStrExt;
        let path = std::ffi::CString::new(folder.as_os_str().as_bytes())
            .map_err(|_| "has a NUL byte in its name".to_owned())?;
        // SAFETY: `path` is a NUL-terminated string that outlives the call; faccessat only
        // reads it. AT_EACCESS: checked as the effective user, who does the writing.
        let rc = unsafe {
            libc::faccessat(
                libc::AT_FDCWD,
                path.as_ptr(),
                libc::W_OK | libc::X_OK,
                libc::AT_EACCESS,
            )
        };
        if rc != 0 {
            return Err(format!("not writable: {}", std::io::Error::last_os_error()));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_folder_that_is_a_file_or_missing_is_not_writable() {
        let dir = tempfile::tempdir().unwrap();
        assert_eq!(writable(dir.path()), Ok(()));
        let file = dir.path().join("f");
        std::fs::write(&file, "x").unwrap();
        assert_eq!(writable(&file), Err("is not a folder".to_owned()));
        assert!(
            writable(&dir.path().join("missing"))
                .unwrap_err()
                .starts_with("cannot be read")
        );
    }
}

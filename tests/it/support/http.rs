//! The one HTTP/1.1 server under every test fake (GitHub, the models, the release host): hyper
//! on a tokio runtime of its own thread, on 127.0.0.1:0. Keep-alive, chunked bodies and
//! `Expect: 100-continue` are hyper's; the fakes only answer requests.
//!
//! Handlers are plain blocking functions (they sleep, run `git http-backend`, lock state): each
//! request runs on tokio's blocking pool. A handler answers with a whole body, a body it writes
//! as it goes (`Response::stream`: server-sent events, slow or cut-off streams), or `None`: the
//! connection closes without a byte of answer (a reset, as a proxy or a dying server gives).
//! The server stops when dropped, and by itself after `MAX_LIFETIME`, so a leaked handle cannot
//! outlive a test run by much.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body_util::BodyExt as _;
use hyper::body::{Bytes, Frame};
use hyper_util::rt::TokioIo;
use tokio::sync::{mpsc, oneshot};

const MAX_LIFETIME: Duration = Duration::from_secs(600);

/// One request as it arrived, its body whole (de-chunked; content encodings left as sent).
#[derive(Debug, Clone)]
pub struct Request {
    pub method: String,
    /// Without the query string.
    pub path: String,
    pub query: String,
    /// Lower-cased names; a repeated header is one comma-joined value, in the order sent.
    pub headers: BTreeMap<String, String>,
    /// Every header line as sent (lower-cased name, value), repeats apart: for tests that count.
    pub header_lines: Vec<(String, String)>,
    pub body: Vec<u8>,
}

type Writer = Box<dyn FnOnce(&mut Chunks) -> std::io::Result<()> + Send>;

enum Body {
    Whole(Vec<u8>),
    Stream(Writer),
}

/// An answer: status, headers and a body.
pub struct Response {
    status: u16,
    headers: Vec<(String, String)>,
    body: Body,
}

impl Response {
    /// A whole body (`content-length` is hyper's).
    pub fn new(status: u16, body: impl Into<Vec<u8>>) -> Self {
        Self { status, headers: Vec::new(), body: Body::Whole(body.into()) }
    }

    /// A body that `write` sends chunk by chunk while the client reads. `write` returning an
    /// error (the client went away, or a deliberate cut) ends the connection without the final
    /// chunk: the client sees a truncated body.
    pub fn stream(status: u16, write: impl FnOnce(&mut Chunks) -> std::io::Result<()> + Send + 'static) -> Self {
        Self { status, headers: Vec::new(), body: Body::Stream(Box::new(write)) }
    }

    pub fn status(&self) -> u16 {
        self.status
    }

    pub fn header(mut self, name: &str, value: impl Into<String>) -> Self {
        self.headers.push((name.to_owned(), value.into()));
        self
    }
}

/// The body of a streamed response, as it is written.
pub struct Chunks(mpsc::Sender<std::io::Result<Bytes>>);

impl Chunks {
    /// Sends one chunk now; an error once the client has gone.
    pub fn send(&mut self, data: impl Into<Vec<u8>>) -> std::io::Result<()> {
        self.0
            .blocking_send(Ok(Bytes::from(data.into())))
            .map_err(|_| std::io::Error::new(std::io::ErrorKind::BrokenPipe, "the client went away"))
    }
}

/// A hyper body fed by a channel: a chunk per message, an error to cut the connection.
struct ChannelBody(mpsc::Receiver<std::io::Result<Bytes>>);

impl hyper::body::Body for ChannelBody {
    type Data = Bytes;
    type Error = std::io::Error;

    fn poll_frame(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        self.0.poll_recv(cx).map(|next| next.map(|chunk| chunk.map(Frame::data)))
    }
}

type Handler = Arc<dyn Fn(Request) -> Option<Response> + Send + Sync>;

/// A running server; stops when dropped.
pub struct Server {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
}

impl Server {
    /// `http://127.0.0.1:<port>`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }
}

/// Serves `handler` on 127.0.0.1:0 until the returned `Server` is dropped.
pub fn serve(handler: impl Fn(Request) -> Option<Response> + Send + Sync + 'static) -> Server {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    let addr = listener.local_addr().expect("the listener's address");
    listener.set_nonblocking(true).expect("a non-blocking listener");
    let (stop, stopped) = oneshot::channel();
    let handler: Handler = Arc::new(handler);
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build().expect("a tokio runtime");
        runtime.block_on(accept(listener, handler, stopped));
        // In-flight handlers (a slow stream, a sleeping fault) are not waited for.
        runtime.shutdown_background();
    });
    Server { addr, stop: Some(stop) }
}

async fn accept(listener: std::net::TcpListener, handler: Handler, mut stopped: oneshot::Receiver<()>) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else { return };
    let lifetime = tokio::time::sleep(MAX_LIFETIME);
    tokio::pin!(lifetime);
    loop {
        let conn = tokio::select! {
            _ = &mut stopped => return,
            () = &mut lifetime => return,
            conn = listener.accept() => conn,
        };
        let Ok((stream, _)) = conn else { continue };
        let _ = stream.set_nodelay(true);
        let handler = Arc::clone(&handler);
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request| answer(Arc::clone(&handler), request));
            let _ = hyper::server::conn::http1::Builder::new()
                .keep_alive(true)
                .serve_connection(TokioIo::new(stream), service)
                .await;
        });
    }
}

/// `Err` makes hyper close the connection without answering.
async fn answer(
    handler: Handler,
    request: hyper::Request<hyper::body::Incoming>,
) -> Result<hyper::Response<http_body_util::Either<http_body_util::Full<Bytes>, ChannelBody>>, std::io::Error> {
    let (parts, body) = request.into_parts();
    let body = body.collect().await.map_err(std::io::Error::other)?.to_bytes().to_vec();
    let header_lines: Vec<(String, String)> = parts
        .headers
        .iter()
        .map(|(name, value)| (name.as_str().to_owned(), String::from_utf8_lossy(value.as_bytes()).into_owned()))
        .collect();
    let mut headers: BTreeMap<String, String> = BTreeMap::new();
    for (name, value) in &header_lines {
        headers.entry(name.clone()).and_modify(|e| *e = format!("{e}, {value}")).or_insert_with(|| value.clone());
    }
    let request = Request {
        method: parts.method.as_str().to_owned(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().unwrap_or_default().to_owned(),
        headers,
        header_lines,
        body,
    };
    let Some(response) = tokio::task::spawn_blocking(move || handler(request)).await.map_err(std::io::Error::other)?
    else {
        return Err(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "the fake resets this connection"));
    };
    let mut builder = hyper::Response::builder().status(response.status);
    for (name, value) in &response.headers {
        builder = builder.header(name, value);
    }
    let body = match response.body {
        Body::Whole(bytes) => http_body_util::Either::Left(http_body_util::Full::new(Bytes::from(bytes))),
        Body::Stream(write) => {
            let (tx, rx) = mpsc::channel(16);
            tokio::task::spawn_blocking(move || {
                let mut chunks = Chunks(tx);
                if let Err(e) = write(&mut chunks) {
                    // Cuts the connection before the final chunk (if the client is still there).
                    let _ = chunks.0.blocking_send(Err(e));
                }
            });
            http_body_util::Either::Right(ChannelBody(rx))
        }
    };
    builder.body(body).map_err(std::io::Error::other)
}

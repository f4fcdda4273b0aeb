//! The attacker's listener: a TCP server on 127.0.0.1 that records everything sent to it and
//! answers something plausible, so that a prompt-injected agent can point git at it
//! (`http.proxy=http://127.0.0.1:<port>`, `url.<it>.insteadOf`, a `remote.origin.url`) and a test
//! can then assert that nothing of ours reached it.
//!
//! Each connection is recorded as one `Hit`: the raw bytes received (up to a bound), and, when
//! they start like HTTP, the request line and headers (a proxy `CONNECT host:port`, or a plain
//! request with its `Authorization`). It answers a proxy `CONNECT` with `502 Bad Gateway`, and
//! anything else with `401` asking for basic credentials (so git, pointed at it as a server,
//! prompts: `core.askPass` runs), then closes. Stops on drop.

use std::io::{Read as _, Write as _};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// Bytes kept per connection: enough for any request head and the start of a body.
const KEEP: usize = 1 << 20;

/// One connection to the listener.
#[derive(Debug, Clone)]
pub struct Hit {
    pub raw: Vec<u8>,
    /// e.g. `CONNECT 127.0.0.1:443 HTTP/1.1` or `GET /o/r/info/refs?service=… HTTP/1.1`.
    pub request_line: String,
}

impl Hit {
    pub fn text(&self) -> String {
        String::from_utf8_lossy(&self.raw).into_owned()
    }
}

pub struct Attacker {
    port: u16,
    hits: Arc<Mutex<Vec<Hit>>>,
    stop: Arc<AtomicBool>,
}

impl Drop for Attacker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&([127, 0, 0, 1], self.port).into(), Duration::from_secs(1));
    }
}

impl Attacker {
    pub fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind the attacker's listener");
        let port = listener.local_addr().expect("local addr").port();
        let hits = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let (h, s) = (hits.clone(), stop.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let h = h.clone();
                std::thread::spawn(move || record(conn, &h));
            }
        });
        Self { port, hits, stop }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:<port>`: a proxy URL or a server URL, as the attack needs.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.hits.lock().unwrap_or_else(std::sync::PoisonError::into_inner).clone()
    }
}

/// Reads until the request head is complete (or the peer stops sending), records, answers.
fn record(mut conn: TcpStream, hits: &Mutex<Vec<Hit>>) {
    // A connection counts from its first moment, even if it never sends a byte.
    let index = {
        let mut hits = hits.lock().unwrap_or_else(std::sync::PoisonError::into_inner);
        hits.push(Hit { raw: Vec::new(), request_line: String::new() });
        hits.len() - 1
    };
    let _ = conn.set_read_timeout(Some(Duration::from_millis(500)));
    let mut raw = Vec::new();
    let started = Instant::now();
    let mut chunk = [0u8; 8192];
    while raw.len() < KEEP && started.elapsed() < Duration::from_secs(5) {
        match conn.read(&mut chunk) {
            Ok(0) => break,
            Ok(n) => raw.extend_from_slice(&chunk[..n]),
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                if !raw.is_empty() {
                    break;
                }
            }
            Err(_) => break,
        }
        if raw.windows(4).any(|w| w == b"\r\n\r\n") {
            // The head is in; take what of a body follows at once, then answer.
            let _ = conn.set_read_timeout(Some(Duration::from_millis(100)));
        }
    }
    let text = String::from_utf8_lossy(&raw).into_owned();
    let head = text.split("\r\n\r\n").next().unwrap_or_default();
    let request_line = head.split("\r\n").next().unwrap_or_default().to_owned();
    hits.lock().unwrap_or_else(std::sync::PoisonError::into_inner)[index] =
        Hit { raw, request_line: request_line.clone() };
    let answer: &[u8] = if request_line.starts_with("CONNECT ") {
        b"HTTP/1.1 502 Bad Gateway\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    } else {
        b"HTTP/1.1 401 Unauthorized\r\nwww-authenticate: Basic realm=\"x\"\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"
    };
    let _ = conn.write_all(answer);
    let _ = conn.flush();
}

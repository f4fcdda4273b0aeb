//! A fake GitHub GraphQL endpoint on 127.0.0.1 (`support::http`): it answers at most
//! `max_requests` POSTs and resets any connection after that, so a client that loops shows.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::http::{self, Response, Server};

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Seen {
    pub method: String,
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
}

pub struct Fake {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    _server: Server,
}

/// Serves `answer(request body)` as JSON to each POST.
pub fn serve(max_requests: usize, answer: impl Fn(&Value) -> Value + Send + Sync + 'static) -> Fake {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let log = Arc::clone(&seen);
    let served = AtomicUsize::new(0);
    let server = http::serve(move |request| {
        if served.fetch_add(1, Ordering::SeqCst) >= max_requests {
            return None;
        }
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let reply = answer(&body).to_string();
        log.lock().unwrap().push(Seen {
            method: request.method,
            path: request.path,
            authorization: request.headers.get("authorization").cloned(),
            body,
        });
        Some(Response::new(200, reply).header("content-type", "application/json"))
    });
    Fake { url: format!("{}/graphql", server.url()), seen, _server: server }
}

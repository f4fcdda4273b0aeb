//! A stand-in for the GitHub release host on 127.0.0.1 (`support::http`): serves fixed files and
//! records every request path. It stops when dropped.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use super::http::{self, Response, Server};

pub struct ReleaseHost {
    base: String,
    requests: Arc<Mutex<Vec<String>>>,
    _server: Server,
}

impl ReleaseHost {
    /// Serves `files` (request path → body) with 200; anything else gets 404.
    pub fn start(files: HashMap<String, Vec<u8>>) -> Self {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let log = Arc::clone(&requests);
        let server = http::serve(move |request| {
            log.lock().expect("requests lock").push(request.path.clone());
            Some(match files.get(&request.path) {
                Some(body) => Response::new(200, body.clone()),
                None => Response::new(404, "Not Found"),
            })
        });
        Self { base: server.url(), requests, _server: server }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// Every request path seen so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.requests.lock().expect("requests lock").clone()
    }
}

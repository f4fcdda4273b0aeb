//! The fake's git server: the seeded bare repositories over git's smart HTTP protocol, by running
//! the real `git http-backend` as a CGI.

use std::io::Write;
use std::sync::Mutex;
use std::thread;

use super::base64_encode;
use super::routes::query_param;
use super::state::State;
use crate::support::http::{Request, Response};

/// One git request as the fake received it.
#[derive(Debug, Clone)]
pub struct GitRequest {
    pub method: String,
    /// `git-upload-pack` (fetch) or `git-receive-pack` (push).
    pub service: String,
    /// The `Authorization` header, if any (tests assert on where the token went).
    pub authorization: Option<String>,
    /// Whether it carried the expected credentials.
    pub authorized: bool,
    /// `Content-Encoding` (git gzips big request bodies) and whether the body came chunked.
    pub content_encoding: Option<String>,
    pub chunked: bool,
    pub status: u16,
}

impl GitRequest {
    pub fn is_push(&self) -> bool {
        self.service == "git-receive-pack"
    }
}

pub(super) struct GitTarget {
    dir: std::path::PathBuf,
    /// `info/refs`, `git-upload-pack` or `git-receive-pack`.
    rest: String,
    service: String,
}

/// The served repository a request is for, when it is a git request (`/owner/name[.git]/…`).
pub(super) fn git_target(request: &Request, state: &Mutex<State>) -> Option<GitTarget> {
    let path = request.path.trim_start_matches('/');
    let mut parts = path.splitn(3, '/');
    let (owner, name, rest) = (parts.next()?, parts.next()?, parts.next()?);
    let name = name.strip_suffix(".git").unwrap_or(name);
    let dir = state
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
        .git_repos
        .get(&format!("{owner}/{name}"))?
        .clone();
    let service = match rest {
        "info/refs" => query_param(&request.query, "service").unwrap_or_default().to_owned(),
        "git-upload-pack" | "git-receive-pack" => rest.to_owned(),
        // Dumb HTTP (objects/…, HEAD) is not served: GitHub does not either.
        _ => String::new(),
    };
    Some(GitTarget { dir, rest: rest.to_owned(), service })
}

/// `git` for the served repositories: none of the machine's or the user's config.
pub(super) fn git_backend_command(dir: &std::path::Path) -> std::process::Command {
    let mut cmd = std::process::Command::new("git");
    cmd.env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("LC_ALL", "C")
        .arg("--git-dir")
        .arg(dir);
    cmd
}

fn http_response(status: u16, headers: &[(String, String)], body: &[u8]) -> Response {
    headers.iter().fold(Response::new(status, body), |r, (k, v)| r.header(k, v.clone()))
}

/// Runs `git http-backend` for the request; the whole HTTP response.
pub(super) fn serve_git(request: &Request, target: GitTarget, state: &Mutex<State>) -> Response {
    let authorization = request.headers.get("authorization").cloned();
    let expected = state.lock().unwrap_or_else(std::sync::PoisonError::into_inner).expected_token.clone();
    let authorized = authorization.as_deref().is_some_and(|a| basic_matches(a, expected.as_deref()));
    let push = target.service == "git-receive-pack";
    let response = if target.service.is_empty() {
        http_response(404, &[], b"not found")
    } else if push && !authorized {
        let headers = [("www-authenticate".to_owned(), "Basic realm=\"GitHub\"".to_owned())];
        http_response(401, &headers, b"authentication required")
    } else {
        run_backend(request, &target, authorized)
    };
    let status = response.status();
    state.lock().unwrap_or_else(std::sync::PoisonError::into_inner).git_log.push(GitRequest {
        method: request.method.clone(),
        service: target.service,
        authorization,
        authorized,
        content_encoding: request.headers.get("content-encoding").cloned(),
        chunked: request.headers.get("transfer-encoding").is_some_and(|t| t.eq_ignore_ascii_case("chunked")),
        status,
    });
    response
}

/// `Basic base64(x-access-token:<token>)` with the expected token (any user and password when
/// no token is expected).
fn basic_matches(header: &str, expected: Option<&str>) -> bool {
    let Some((scheme, value)) = header.split_once(' ') else { return false };
    if !scheme.eq_ignore_ascii_case("basic") {
        return false;
    }
    match expected {
        Some(token) => value.trim() == base64_encode(format!("x-access-token:{token}").as_bytes()),
        None => !value.trim().is_empty(),
    }
}

fn run_backend(request: &Request, target: &GitTarget, authorized: bool) -> Response {
    let mut cmd = git_backend_command(&target.dir);
    cmd.arg("http-backend")
        .env("GIT_PROJECT_ROOT", &target.dir)
        .env("GIT_HTTP_EXPORT_ALL", "1")
        .env("PATH_INFO", format!("/{}", target.rest))
        .env("REQUEST_METHOD", &request.method)
        .env("QUERY_STRING", &request.query)
        .env("CONTENT_LENGTH", request.body.len().to_string())
        .env("REMOTE_ADDR", "127.0.0.1")
        .env("SERVER_PROTOCOL", "HTTP/1.1");
    // What a blob-less, shallow clone of a commit needs, as on GitHub.
    // `safe.directory`: a test may hand the served repositories to another user (the
    // containment tests run the binary as `nobody`); the server is still ours to run.
    let config =
        [("uploadpack.allowFilter", "true"), ("uploadpack.allowAnySHA1InWant", "true"), ("safe.directory", "*")];
    cmd.env("GIT_CONFIG_COUNT", config.len().to_string());
    for (i, (k, v)) in config.iter().enumerate() {
        cmd.env(format!("GIT_CONFIG_KEY_{i}"), k).env(format!("GIT_CONFIG_VALUE_{i}"), v);
    }
    if let Some(kind) = request.headers.get("content-type") {
        cmd.env("CONTENT_TYPE", kind);
    }
    // http-backend inflates gzip bodies itself and reads the protocol version from this header.
    for (header, var) in [("content-encoding", "HTTP_CONTENT_ENCODING"), ("git-protocol", "HTTP_GIT_PROTOCOL")] {
        if let Some(v) = request.headers.get(header) {
            cmd.env(var, v);
        }
    }
    if authorized {
        // Enables receive-pack, as an authenticated user may push.
        cmd.env("REMOTE_USER", "x-access-token");
    }
    cmd.stdin(std::process::Stdio::piped()).stdout(std::process::Stdio::piped()).stderr(std::process::Stdio::piped());
    let Ok(mut child) = cmd.spawn() else { return http_response(500, &[], b"no git") };
    let body = request.body.clone();
    let stdin = child.stdin.take();
    let writer = thread::spawn(move || {
        if let Some(mut pipe) = stdin {
            let _ = pipe.write_all(&body);
        }
    });
    let out = child.wait_with_output();
    let _ = writer.join();
    let Ok(out) = out else { return http_response(500, &[], b"git failed") };
    parse_cgi(&out.stdout)
}

/// A CGI answer (`Status:` and other headers, a blank line, the body) as an HTTP response.
fn parse_cgi(out: &[u8]) -> Response {
    let (head_len, sep) =
        match (out.windows(4).position(|w| w == b"\r\n\r\n"), out.windows(2).position(|w| w == b"\n\n")) {
            (Some(a), Some(b)) if b < a => (b, 2),
            (Some(a), _) => (a, 4),
            (None, Some(b)) => (b, 2),
            (None, None) => return http_response(502, &[], out),
        };
    let head = String::from_utf8_lossy(&out[..head_len]).into_owned();
    let mut status = 200;
    let mut headers = Vec::new();
    for line in head.lines() {
        let Some((k, v)) = line.split_once(':') else { continue };
        let (k, v) = (k.trim(), v.trim());
        if k.eq_ignore_ascii_case("status") {
            status = v.split(' ').next().and_then(|code| code.parse().ok()).unwrap_or(500);
        } else if !k.eq_ignore_ascii_case("content-length") {
            headers.push((k.to_owned(), v.to_owned()));
        }
    }
    http_response(status, &headers, &out[head_len + sep..])
}

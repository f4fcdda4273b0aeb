//! The one GitHub client: octocrab on tokio, base URLs from `GITHUB_API_URL` and
//! `GITHUB_GRAPHQL_URL` (so GitHub Enterprise and the test fake work the same way).
//!
//! octocrab is the transport (hyper, rustls, timeouts, redirects). We build every request
//! ourselves with an absolute URL and our own headers, because octocrab only attaches its
//! token to its own base host, and the GraphQL endpoint of GitHub Enterprise is not
//! `GITHUB_API_URL + /graphql`. Retries are ours too: octocrab's retry layer knows nothing
//! of `retry-after` or secondary rate limits.
//!
//! This module does not know the lifecycle: the small helpers in `reactions`, `labels`,
//! `comments`, `pulls` and `actions` are single API calls with the error cases callers care about;
//! `types` holds the vocabulary (`Repo`, `CommentKind`) every stage shares.

pub mod actions;
pub mod comments;
pub mod labels;
pub mod pulls;
pub mod reactions;
pub mod types;

use std::time::Duration;

use http::header::{ACCEPT, AUTHORIZATION, CONTENT_TYPE, HeaderMap, HeaderValue, USER_AGENT};
use http::{Method, StatusCode};
use octocrab::Octocrab;
use serde_json::Value;

use crate::config::GithubEnv;
use crate::text::excerpt_line;

/// How much of GitHub's words an error keeps (on one line).
const DETAIL_MAX: usize = 300;

/// Errors callers must tell apart.
#[derive(Debug, thiserror::Error)]
pub enum GithubError {
    #[error("not found: {0}")]
    NotFound(String),
    #[error("already exists: {0}")]
    AlreadyExists(String),
    #[error("rate limited: {0}")]
    RateLimited(String),
    #[error("forbidden: {0}")]
    Forbidden(String),
    #[error("validation failed: {0}")]
    Unprocessable(String),
    #[error("http {status}: {message}")]
    Http { status: u16, message: String },
    #[error("graphql: {0}")]
    GraphQl(String),
    /// A success whose body is not what the call returns (no id, not a list, …): GitHub (or a
    /// proxy in front of it) answered something else. Retrying would not help.
    #[error("malformed answer: {0}")]
    Malformed(String),
    #[error("transport: {0}")]
    Transport(String),
}

impl GithubError {
    /// The variant in the words a failure reply names it by (`not found`, `rate limited`, …).
    pub fn kind(&self) -> &'static str {
        match self {
            Self::NotFound(_) => "not found",
            Self::AlreadyExists(_) => "already exists",
            Self::RateLimited(_) => "rate limited",
            Self::Forbidden(_) => "forbidden",
            Self::Unprocessable(_) => "validation failed",
            Self::Http { .. } => "github http error",
            Self::GraphQl(_) => "graphql",
            Self::Malformed(_) => "malformed answer",
            Self::Transport(_) => "network",
        }
    }
}

/// How hard we try before giving up. Bounded twice: by count and by total wait, so a GitHub
/// outage costs the job at most `budget`, never its whole timeout.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries after the first attempt.
    pub max_retries: u32,
    /// First backoff; doubled per retry.
    pub base: Duration,
    /// Longest single backoff we compute ourselves.
    pub cap: Duration,
    /// Longest total wait; a `retry-after` beyond it is not waited for.
    pub budget: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 4,
            base: Duration::from_secs(1),
            cap: Duration::from_secs(20),
            budget: Duration::from_secs(90),
        }
    }
}

impl RetryPolicy {
    /// The default policy, with `GithubEnv::retry_base` (`SISYPHUS_RETRY_BASE_MS`) overriding
    /// the base delay (tests use a few milliseconds so fault injection stays fast).
    pub fn for_env(env: &GithubEnv) -> Self {
        Self { base: env.retry_base.unwrap_or(Self::default().base), ..Self::default() }
    }

    /// For finishing after cancellation: the runner kills the job seconds later.
    pub fn hurried() -> Self {
        Self {
            max_retries: 2,
            base: Duration::from_millis(200),
            cap: Duration::from_secs(1),
            budget: Duration::from_secs(2),
        }
    }

    fn backoff(&self, retry: u32) -> Duration {
        self.base.saturating_mul(2u32.saturating_pow(retry)).min(self.cap)
    }
}

/// A response we got, whatever its status.
struct Reply {
    status: StatusCode,
    headers: HeaderMap,
    body: Value,
}

pub struct Client {
    /// `GITHUB_API_URL`: REST paths are relative to it.
    api_url: String,
    /// `GITHUB_GRAPHQL_URL`: on GitHub Enterprise not `api_url + /graphql`.
    graphql_url: String,
    octocrab: Octocrab,
    auth: HeaderValue,
    user_agent: HeaderValue,
    retry: RetryPolicy,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Never the token.
        f.debug_struct("Client").field("api_url", &self.api_url).field("retry", &self.retry).finish()
    }
}

impl Client {
    /// Builds the client; must run inside a tokio runtime (octocrab spawns its worker there).
    pub fn new(env: &GithubEnv, token: &str) -> anyhow::Result<Self> {
        use anyhow::Context as _;
        let mut auth = HeaderValue::from_str(&format!("Bearer {}", token.trim()))
            .map_err(|_| anyhow::anyhow!("the GitHub token contains characters not allowed in a header"))?;
        auth.set_sensitive(true);
        let octocrab = Octocrab::builder()
            .set_connect_timeout(Some(Duration::from_secs(10)))
            .set_read_timeout(Some(Duration::from_secs(60)))
            .set_write_timeout(Some(Duration::from_secs(30)))
            .build()
            .context("cannot build the GitHub client")?;
        Ok(Self {
            api_url: env.api_url.clone(),
            graphql_url: env.graphql_url.clone(),
            octocrab,
            auth,
            user_agent: HeaderValue::from_static(concat!("sisyphus-action/", env!("CARGO_PKG_VERSION"))),
            retry: RetryPolicy::for_env(env),
        })
    }

    /// Replaces the retry policy (tests, or callers that must not wait).
    #[must_use]
    pub fn with_retry(mut self, retry: RetryPolicy) -> Self {
        self.retry = retry;
        self
    }

    /// The retry policy calls use now (a caller that wants shorter retries starts from it).
    pub fn retry(&self) -> RetryPolicy {
        self.retry
    }

    /// The absolute URL of a REST `path` (e.g. `/repos/o/r/issues/1/labels`).
    pub fn api_url(&self, path: &str) -> String {
        format!("{}/{}", self.api_url.trim_end_matches('/'), path.trim_start_matches('/'))
    }

    /// A REST call: `path` is relative to `GITHUB_API_URL` (e.g. `/repos/o/r/issues/1/labels`).
    /// Returns the JSON body (`Value::Null` for an empty one, e.g. 204).
    pub async fn rest(&self, method: Method, path: &str, body: Option<&Value>) -> Result<Value, GithubError> {
        self.rest_status(method, path, body).await.map(|(_, body)| body)
    }

    /// Like `rest`, also returning the success status (GitHub answers 200 instead of 201 when a
    /// reaction already existed, which is how a re-run recognises its own earlier work).
    pub async fn rest_status(
        &self,
        method: Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<(u16, Value), GithubError> {
        let what = format!("{method} {}", strip_query(path));
        let reply = self.send(&method, &self.api_url(path), body, &what).await?;
        if reply.status.is_success() { Ok((reply.status.as_u16(), reply.body)) } else { Err(classify(&what, &reply)) }
    }

    /// A GET that also returns the response headers (`doctor` reads the token's scopes there).
    pub async fn get_with_headers(&self, path: &str) -> Result<(Value, HeaderMap), GithubError> {
        let what = format!("GET {}", strip_query(path));
        let reply = self.send(&Method::GET, &self.api_url(path), None, &what).await?;
        if reply.status.is_success() { Ok((reply.body, reply.headers)) } else { Err(classify(&what, &reply)) }
    }

    /// Every item of a list endpoint, 100 per page, at most `max_pages` pages.
    pub async fn rest_list(&self, path: &str, max_pages: u32) -> Result<Vec<Value>, GithubError> {
        let separator = if path.contains('?') { '&' } else { '?' };
        let mut items = Vec::new();
        for page in 1..=max_pages.max(1) {
            let body = self.rest(Method::GET, &format!("{path}{separator}per_page=100&page={page}"), None).await?;
            let Value::Array(batch) = body else {
                return Err(GithubError::Malformed(format!("GET {}: expected a list", strip_query(path))));
            };
            let full = batch.len() >= 100;
            items.extend(batch);
            if !full {
                break;
            }
        }
        Ok(items)
    }

    /// A GraphQL query against `GITHUB_GRAPHQL_URL`; errors inside HTTP 200 are errors.
    /// Returns the `data` object.
    pub async fn graphql(&self, query: &str, variables: Value) -> Result<Value, GithubError> {
        let what = "POST graphql".to_owned();
        let payload = serde_json::json!({ "query": query, "variables": variables });
        let reply = self.send(&Method::POST, &self.graphql_url, Some(&payload), &what).await?;
        if !reply.status.is_success() {
            return Err(classify(&what, &reply));
        }
        if let Some(errors) = reply.body.get("errors").and_then(Value::as_array).filter(|e| !e.is_empty()) {
            let messages: Vec<&str> = errors.iter().filter_map(|e| e.get("message").and_then(Value::as_str)).collect();
            return Err(GithubError::GraphQl(excerpt_line(&messages.join("; "), DETAIL_MAX)));
        }
        Ok(reply.body.get("data").cloned().unwrap_or(Value::Null))
    }

    /// Sends with retries. Returns the last reply (success or a final error status) or a
    /// transport/rate-limit error when retries ran out.
    async fn send(&self, method: &Method, url: &str, body: Option<&Value>, what: &str) -> Result<Reply, GithubError> {
        let started = std::time::Instant::now();
        let mut retry = 0;
        loop {
            let (error, wait) = match self.attempt(method, url, body).await {
                Ok(reply) => match retryable(&reply) {
                    None => return Ok(reply),
                    Some(server_wait) => (classify(what, &reply), server_wait),
                },
                Err(e) => (GithubError::Transport(format!("{what}: {e}")), None),
            };
            let wait = wait.unwrap_or_else(|| self.retry.backoff(retry));
            if retry >= self.retry.max_retries || started.elapsed() + wait > self.retry.budget {
                tracing::warn!("giving up on {what} after {} attempt(s): {error}", retry + 1);
                return Err(error);
            }
            retry += 1;
            tracing::warn!("{error}; retry {retry}/{} in {wait:?}", self.retry.max_retries);
            tokio::time::sleep(wait).await;
        }
    }

    async fn attempt(&self, method: &Method, url: &str, body: Option<&Value>) -> Result<Reply, String> {
        let mut request = http::Request::builder()
            .method(method.clone())
            .uri(url)
            .header(USER_AGENT, self.user_agent.clone())
            .header(ACCEPT, "application/vnd.github+json")
            .header("X-GitHub-Api-Version", "2022-11-28")
            .header(AUTHORIZATION, self.auth.clone());
        let payload = match body {
            Some(body) => {
                request = request.header(CONTENT_TYPE, "application/json");
                serde_json::to_vec(body).map_err(|e| e.to_string())?
            }
            None => Vec::new(),
        };
        let request = request.body(payload).map_err(|e| format!("invalid request: {e}"))?;
        let response = self.octocrab.execute(request).await.map_err(|e| describe_octocrab(&e))?;
        let status = response.status();
        let headers = response.headers().clone();
        let text = self.octocrab.body_to_string(response).await.map_err(|e| describe_octocrab(&e))?;
        let body = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::String(text))
        };
        Ok(Reply { status, headers, body })
    }
}

/// octocrab's errors carry backtraces and nested sources; one line is what a log needs.
fn describe_octocrab(error: &octocrab::Error) -> String {
    let mut message = error.to_string();
    let mut source = std::error::Error::source(error);
    while let Some(s) = source {
        let line = s.to_string();
        if !message.contains(&line) {
            message = format!("{message}: {line}");
        }
        source = s.source();
    }
    excerpt_line(message.lines().next().unwrap_or_default(), DETAIL_MAX)
}

fn strip_query(path: &str) -> &str {
    path.split('?').next().unwrap_or(path)
}

/// Should this reply be retried, and after how long the server asks us to wait (if it says).
/// `Some(None)` = retry with our own backoff.
#[allow(clippy::option_option)]
fn retryable(reply: &Reply) -> Option<Option<Duration>> {
    let status = reply.status;
    if status.is_server_error()
        || status == StatusCode::TOO_MANY_REQUESTS
        || is_rate_limit(reply)
        || graphql_rate_limited(&reply.body)
    {
        Some(server_wait(&reply.headers))
    } else {
        None
    }
}

/// A 403 that is a (primary or secondary) rate limit rather than a permission problem.
fn is_rate_limit(reply: &Reply) -> bool {
    if reply.status != StatusCode::FORBIDDEN {
        return false;
    }
    let header = |name: &str| reply.headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    header("retry-after").is_some()
        || header("x-ratelimit-remaining") == Some("0")
        || message_of(&reply.body).to_ascii_lowercase().contains("rate limit")
}

/// GraphQL reports its rate limit inside HTTP 200: `{"errors":[{"type":"RATE_LIMITED",…}]}`.
fn graphql_rate_limited(body: &Value) -> bool {
    body.get("errors")
        .and_then(Value::as_array)
        .is_some_and(|errors| errors.iter().any(|e| e.get("type").and_then(Value::as_str) == Some("RATE_LIMITED")))
}

/// `retry-after` (seconds), else `x-ratelimit-reset` (epoch seconds) when the limit is spent.
fn server_wait(headers: &HeaderMap) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok()).map(str::trim);
    if let Some(seconds) = header("retry-after").and_then(|v| v.parse::<u64>().ok()) {
        return Some(Duration::from_secs(seconds));
    }
    if header("x-ratelimit-remaining") == Some("0") {
        let reset = header("x-ratelimit-reset")?.parse::<u64>().ok()?;
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs();
        return Some(Duration::from_secs(reset.saturating_sub(now)));
    }
    None
}

fn message_of(body: &Value) -> String {
    match body {
        Value::String(s) => s.clone(),
        _ => body
            .get("message")
            .or_else(|| body.pointer("/errors/0/message"))
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_owned(),
    }
}

/// Maps a non-success reply to the error callers match on.
fn classify(what: &str, reply: &Reply) -> GithubError {
    let message = message_of(&reply.body);
    let detail = excerpt_line(
        &format!("{what}: {}", if message.is_empty() { reply.status.to_string() } else { message }),
        DETAIL_MAX,
    );
    if graphql_rate_limited(&reply.body) {
        return GithubError::RateLimited(detail);
    }
    match reply.status.as_u16() {
        404 => GithubError::NotFound(detail),
        422 if mentions_already_exists(&reply.body) => GithubError::AlreadyExists(detail),
        422 => GithubError::Unprocessable(detail),
        429 => GithubError::RateLimited(detail),
        403 if is_rate_limit(reply) => GithubError::RateLimited(detail),
        401 | 403 => GithubError::Forbidden(detail),
        status => GithubError::Http { status, message: detail },
    }
}

/// `{"errors":[{"code":"already_exists"}]}`, or GitHub's prose variant ("already exists").
fn mentions_already_exists(body: &Value) -> bool {
    let coded = body
        .get("errors")
        .and_then(Value::as_array)
        .is_some_and(|errors| errors.iter().any(|e| e.get("code").and_then(Value::as_str) == Some("already_exists")));
    coded || body.to_string().to_ascii_lowercase().contains("already exists")
}

/// Percent-encodes one path segment (label names contain spaces and colons): everything but
/// RFC 3986's unreserved characters.
pub fn encode_segment(segment: &str) -> String {
    percent_encoding::utf8_percent_encode(segment, UNRESERVED_ONLY).to_string()
}

/// What a path segment escapes: all but ASCII letters, digits and `-_.~`.
pub const UNRESERVED_ONLY: &percent_encoding::AsciiSet =
    &percent_encoding::NON_ALPHANUMERIC.remove(b'-').remove(b'_').remove(b'.').remove(b'~');

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, headers: &[(&'static str, &str)], body: Value) -> Reply {
        let mut map = HeaderMap::new();
        for (k, v) in headers {
            map.insert(*k, HeaderValue::from_str(v).unwrap());
        }
        Reply { status: StatusCode::from_u16(status).unwrap(), headers: map, body }
    }

    #[test]
    fn classifies_what_callers_tell_apart() {
        let msg = |m: &str| serde_json::json!({ "message": m });
        assert!(matches!(classify("x", &reply(404, &[], msg("Not Found"))), GithubError::NotFound(_)));
        let exists = serde_json::json!({"message":"Validation Failed","errors":[{"resource":"Label","code":"already_exists","field":"name"}]});
        assert!(matches!(classify("x", &reply(422, &[], exists)), GithubError::AlreadyExists(_)));
        assert!(matches!(classify("x", &reply(422, &[], msg("Validation Failed"))), GithubError::Unprocessable(_)));
        assert!(matches!(classify("x", &reply(403, &[], msg("Resource not accessible"))), GithubError::Forbidden(_)));
        let secondary = msg("You have exceeded a secondary rate limit");
        assert!(matches!(classify("x", &reply(403, &[], secondary)), GithubError::RateLimited(_)));
        assert!(matches!(classify("x", &reply(502, &[], Value::Null)), GithubError::Http { status: 502, .. }));
    }

    #[test]
    fn retries_only_what_may_succeed_later() {
        assert_eq!(retryable(&reply(500, &[], Value::Null)), Some(None));
        assert_eq!(retryable(&reply(429, &[("retry-after", "3")], Value::Null)), Some(Some(Duration::from_secs(3))));
        assert_eq!(
            retryable(&reply(403, &[("x-ratelimit-remaining", "0")], Value::Null)).map(|w| w.is_some()),
            Some(false)
        );
        assert_eq!(retryable(&reply(403, &[], serde_json::json!({"message":"Must have admin rights"}))), None);
        assert_eq!(retryable(&reply(404, &[], Value::Null)), None);
        assert_eq!(retryable(&reply(422, &[], Value::Null)), None);
    }

    #[test]
    fn reset_header_gives_the_wait() {
        let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_secs();
        let reset = (now + 30).to_string();
        let r = reply(403, &[("x-ratelimit-remaining", "0"), ("x-ratelimit-reset", &reset)], Value::Null);
        let wait = server_wait(&r.headers).unwrap();
        assert!(wait <= Duration::from_secs(30) && wait >= Duration::from_secs(28), "{wait:?}");
    }

    #[test]
    fn backoff_doubles_up_to_the_cap() {
        let p =
            RetryPolicy { base: Duration::from_millis(100), cap: Duration::from_millis(350), ..RetryPolicy::default() };
        assert_eq!(p.backoff(0), Duration::from_millis(100));
        assert_eq!(p.backoff(1), Duration::from_millis(200));
        assert_eq!(p.backoff(2), Duration::from_millis(350));
        assert_eq!(p.backoff(40), Duration::from_millis(350));
    }

    #[test]
    fn encodes_label_names() {
        assert_eq!(encode_segment("sisyphus: working"), "sisyphus%3A%20working");
        assert_eq!(encode_segment("a/b"), "a%2Fb");
        assert_eq!(encode_segment("é-_.~x"), "%C3%A9-_.~x");
    }
}

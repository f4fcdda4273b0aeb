//! A scripted fake of the OpenAI Responses API, the only protocol the Codex CLI speaks to a
//! custom provider: `POST /v1/responses` with `stream: true`, answered with server-sent events
//! (`response.created`, `response.output_item.added`/`.done`, `response.output_text.delta`,
//! `response.completed` with usage), as the CLI's client parses them. On 127.0.0.1:0, one
//! thread per connection, stopped on drop. Every request is recorded (path, auth header, JSON
//! body) so tests assert what the CLI really sends.
//!
//! The user message's `SCENARIO=<name>` marker picks the script; the step is the number of
//! tool results already in the request's `input` (a retried request repeats its step).

use std::collections::BTreeMap;
use std::io::{BufRead as _, BufReader, Read as _, Write as _};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

/// One tool call the fake model makes.
#[derive(Debug, Clone)]
pub enum Call {
    /// `exec_command` with this shell command.
    Exec(String),
    /// The freeform `apply_patch` tool with this patch.
    Patch(String),
    /// `update_plan` with `(step, status)` items.
    Plan(Vec<(&'static str, &'static str)>),
}

/// One answer of the fake model.
#[derive(Debug, Clone)]
pub enum Reply {
    Calls(Vec<Call>),
    Text(String),
    /// An HTTP error status with an OpenAI-style error body carrying this message.
    Status(u16, String),
    /// `response.created`, then the connection closes without `response.completed`.
    Cut,
    /// `response.created`, then only SSE comments for this long (a turn that never ends).
    Slow(Duration),
}

/// What the CLI sent, for assertions.
#[derive(Debug, Clone)]
pub struct Request {
    pub path: String,
    pub authorization: Option<String>,
    pub body: Value,
    pub step: usize,
}

impl Request {
    /// Names of the tools offered.
    pub fn tools(&self) -> Vec<String> {
        let tools = self.body["tools"].as_array().cloned().unwrap_or_default();
        tools.iter().filter_map(|t| t["name"].as_str().map(str::to_owned)).collect()
    }

    /// The outputs of the tool calls already made, in order.
    pub fn tool_outputs(&self) -> Vec<String> {
        let items = self.body["input"].as_array().cloned().unwrap_or_default();
        items.iter().filter(|i| is_tool_output(i)).map(|i| i["output"].to_string()).collect()
    }
}

type Scripts = Arc<Mutex<BTreeMap<String, Vec<Reply>>>>;

pub struct FakeResponses {
    pub base_url: String,
    addr: SocketAddr,
    stop: Arc<AtomicBool>,
    requests: Arc<Mutex<Vec<Request>>>,
    scripts: Scripts,
}

impl Drop for FakeResponses {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_secs(1));
    }
}

impl FakeResponses {
    pub fn start() -> FakeResponses {
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = listener.local_addr().unwrap();
        let stop = Arc::new(AtomicBool::new(false));
        let requests = Arc::new(Mutex::new(Vec::new()));
        let scripts: Scripts = Arc::default();
        let (s, r, sc) = (stop.clone(), requests.clone(), scripts.clone());
        std::thread::spawn(move || {
            for conn in listener.incoming() {
                if s.load(Ordering::SeqCst) {
                    return;
                }
                let Ok(conn) = conn else { continue };
                let (s, r, sc) = (s.clone(), r.clone(), sc.clone());
                std::thread::spawn(move || {
                    let _ = handle(conn, &r, &sc, &s);
                });
            }
        });
        FakeResponses { base_url: format!("http://{addr}/v1"), addr, stop, requests, scripts }
    }

    /// `SCENARIO=<name>` answers `steps[step]`; past the last step, the last one again.
    pub fn script(&self, name: &str, steps: Vec<Reply>) {
        self.scripts.lock().unwrap().insert(name.to_owned(), steps);
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }

    /// The live list, for a thread that waits for the first request.
    pub fn requests_handle(&self) -> Arc<Mutex<Vec<Request>>> {
        self.requests.clone()
    }
}

fn is_tool_output(item: &Value) -> bool {
    item["type"].as_str().is_some_and(|t| t.ends_with("_call_output"))
}

fn scenario_of(body: &Value) -> String {
    let text = body["input"].to_string();
    let Some(at) = text.find("SCENARIO=") else { return String::new() };
    text[at + 9..].chars().take_while(|c| c.is_ascii_alphanumeric() || *c == '-' || *c == '_').collect()
}

fn handle(
    conn: TcpStream,
    requests: &Mutex<Vec<Request>>,
    scripts: &Scripts,
    stop: &AtomicBool,
) -> std::io::Result<()> {
    let mut reader = BufReader::new(conn.try_clone()?);
    let mut line = String::new();
    reader.read_line(&mut line)?;
    let path = line.split_whitespace().nth(1).unwrap_or_default().to_owned();
    let (mut length, mut authorization) = (0usize, None);
    loop {
        line.clear();
        if reader.read_line(&mut line)? == 0 || line.trim().is_empty() {
            break;
        }
        let (name, value) = line.split_once(':').unwrap_or_default();
        match name.trim().to_ascii_lowercase().as_str() {
            "content-length" => length = value.trim().parse().unwrap_or(0),
            "authorization" => authorization = Some(value.trim().to_owned()),
            _ => {}
        }
    }
    let mut body = vec![0; length];
    reader.read_exact(&mut body)?;
    let body: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
    let scenario = scenario_of(&body);
    let step = body["input"].as_array().map_or(0, |items| items.iter().filter(|i| is_tool_output(i)).count());
    requests.lock().unwrap().push(Request { path, authorization, body, step });
    let reply = scripts
        .lock()
        .unwrap()
        .get(&scenario)
        .map(|steps| steps[step.min(steps.len() - 1)].clone())
        .unwrap_or_else(|| Reply::Text(format!("no script for scenario `{scenario}`")));
    respond(conn, &reply, step, stop)
}

fn event(out: &mut Vec<u8>, value: &Value) {
    let kind = value["type"].as_str().unwrap_or_default();
    out.extend_from_slice(format!("event: {kind}\ndata: {value}\n\n").as_bytes());
}

fn output_item(out: &mut Vec<u8>, item: Value) {
    event(out, &json!({"type": "response.output_item.added", "item": item}));
    event(out, &json!({"type": "response.output_item.done", "item": item}));
}

fn respond(mut conn: TcpStream, reply: &Reply, step: usize, stop: &AtomicBool) -> std::io::Result<()> {
    let id = format!("resp_{step}");
    if let Reply::Status(code, message) = reply {
        let body = json!({"error": {"message": message, "type": "invalid_request_error", "code": null}}).to_string();
        let head = format!(
            "HTTP/1.1 {code} Fake\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
            body.len()
        );
        return conn.write_all(format!("{head}{body}").as_bytes());
    }
    conn.write_all(
        b"HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncache-control: no-cache\r\nconnection: close\r\n\r\n",
    )?;
    let mut out = Vec::new();
    event(&mut out, &json!({"type": "response.created", "response": {"id": id}}));
    match reply {
        Reply::Cut => return conn.write_all(&out),
        Reply::Slow(duration) => {
            conn.write_all(&out)?;
            let until = Instant::now() + *duration;
            while Instant::now() < until && !stop.load(Ordering::SeqCst) {
                conn.write_all(b": still thinking\n\n")?;
                std::thread::sleep(Duration::from_millis(200));
            }
            return Ok(());
        }
        Reply::Text(text) => {
            let item = json!({"type": "message", "role": "assistant", "id": format!("msg_{step}"),
                "content": [{"type": "output_text", "text": text}]});
            event(
                &mut out,
                &json!({"type": "response.output_item.added", "item": {"type": "message", "role": "assistant", "id": format!("msg_{step}"), "content": []}}),
            );
            event(
                &mut out,
                &json!({"type": "response.output_text.delta", "item_id": format!("msg_{step}"), "delta": text}),
            );
            event(&mut out, &json!({"type": "response.output_item.done", "item": item}));
        }
        Reply::Calls(calls) => {
            for (i, call) in calls.iter().enumerate() {
                let call_id = format!("call_{step}_{i}");
                let item = match call {
                    Call::Exec(cmd) => json!({"type": "function_call", "name": "exec_command",
                        "arguments": json!({"cmd": cmd}).to_string(), "call_id": call_id}),
                    Call::Patch(patch) => {
                        json!({"type": "custom_tool_call", "name": "apply_patch", "input": patch, "call_id": call_id})
                    }
                    Call::Plan(steps) => {
                        let plan: Vec<Value> = steps.iter().map(|(s, st)| json!({"step": s, "status": st})).collect();
                        json!({"type": "function_call", "name": "update_plan",
                            "arguments": json!({"plan": plan}).to_string(), "call_id": call_id})
                    }
                };
                output_item(&mut out, item);
            }
        }
        Reply::Status(..) => unreachable!(),
    }
    let usage = json!({"input_tokens": 100, "input_tokens_details": {"cached_tokens": 10},
        "output_tokens": 20, "output_tokens_details": {"reasoning_tokens": 5}, "total_tokens": 120});
    event(&mut out, &json!({"type": "response.completed", "response": {"id": id, "usage": usage}}));
    conn.write_all(&out)
}

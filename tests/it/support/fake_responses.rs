//! A scripted fake of the OpenAI Responses API, the only protocol the Codex CLI speaks to a
//! custom provider: `POST /v1/responses` with `stream: true`, answered with server-sent events
//! (`response.created`, `response.output_item.added`/`.done`, `response.output_text.delta`,
//! `response.completed` with usage), as the CLI's client parses them. On 127.0.0.1:0
//! (`support::http`), stopped on drop. Every request is recorded (path, auth header, JSON
//! body) so tests assert what the CLI really sends.
//!
//! The user message's `SCENARIO=<name>` marker picks the script; the step is the number of
//! tool results already in the request's `input` (a retried request repeats its step).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::http::{self, Chunks, Response, Server};

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
    requests: Arc<Mutex<Vec<Request>>>,
    scripts: Scripts,
    _server: Server,
}

impl FakeResponses {
    pub fn start() -> FakeResponses {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let scripts: Scripts = Arc::default();
        let (r, sc) = (requests.clone(), scripts.clone());
        let server = http::serve(move |request| Some(handle(request, &r, &sc)));
        FakeResponses { base_url: format!("{}/v1", server.url()), requests, scripts, _server: server }
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

fn handle(request: http::Request, requests: &Mutex<Vec<Request>>, scripts: &Scripts) -> Response {
    let (path, authorization) = (request.path.clone(), request.headers.get("authorization").cloned());
    let body = request.body;
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
    respond(reply, step)
}

fn event(out: &mut Vec<u8>, value: &Value) {
    let kind = value["type"].as_str().unwrap_or_default();
    out.extend_from_slice(format!("event: {kind}\ndata: {value}\n\n").as_bytes());
}

fn output_item(out: &mut Vec<u8>, item: Value) {
    event(out, &json!({"type": "response.output_item.added", "item": item}));
    event(out, &json!({"type": "response.output_item.done", "item": item}));
}

fn respond(reply: Reply, step: usize) -> Response {
    if let Reply::Status(code, message) = &reply {
        let body = json!({"error": {"message": message, "type": "invalid_request_error", "code": null}}).to_string();
        return Response::new(*code, body).header("content-type", "application/json");
    }
    Response::stream(200, move |out| stream(out, &reply, step))
        .header("content-type", "text/event-stream")
        .header("cache-control", "no-cache")
}

fn stream(conn: &mut Chunks, reply: &Reply, step: usize) -> std::io::Result<()> {
    let id = format!("resp_{step}");
    let mut out = Vec::new();
    event(&mut out, &json!({"type": "response.created", "response": {"id": id}}));
    match reply {
        Reply::Cut => {
            conn.send(out)?;
            return Err(std::io::Error::new(std::io::ErrorKind::ConnectionAborted, "the fake cuts the stream"));
        }
        Reply::Slow(duration) => {
            conn.send(out)?;
            // Ends when the client goes away (a send fails) or the time is up.
            let until = Instant::now() + *duration;
            while Instant::now() < until {
                conn.send(": still thinking\n\n")?;
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
    conn.send(out)
}

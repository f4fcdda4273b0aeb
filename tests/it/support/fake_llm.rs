//! A scripted fake OpenAI-compatible model for the real-OpenCode tests: `POST
//! /v1/chat/completions` (streaming, as OpenCode's bundled `@ai-sdk/openai-compatible` asks) and
//! `GET /v1/models` on 127.0.0.1:0 (`support::http`). The first user message's
//! `SCENARIO=<name>` marker picks the script; the step is the number of assistant messages after
//! it. Requests without tools (OpenCode's title agent) get a plain title. Stops on drop.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::http::{self, Chunks, Response, Server};

/// One answer of the fake model.
#[derive(Debug, Clone)]
pub enum Reply {
    Tools(Vec<(&'static str, Value)>),
    Text(String),
    Status(u16, &'static str),
    /// Invalid JSON in the stream, no `[DONE]`.
    Malformed,
    /// One chunk, then the connection closes without a `finish_reason`.
    Truncated,
    /// One word every 250 ms for `secs` seconds.
    Slow(u64),
}

/// What the model was asked, for assertions.
#[derive(Debug, Clone)]
pub struct Request {
    pub scenario: String,
    pub step: usize,
    pub tools: bool,
    /// The system prompt as sent (the agent's prompt, plugins' additions included).
    pub system: String,
    /// The user messages' text, joined (the prompt and what plugins injected as the user).
    pub user: String,
}

pub struct FakeLlm {
    pub base_url: String,
    pub requests: Arc<Mutex<Vec<Request>>>,
    /// Scripts given at run time (`script_steps`), consulted before the built-in ones.
    scripts: Scripts,
    _server: Server,
}

type Scripts = Arc<Mutex<std::collections::BTreeMap<String, Vec<Reply>>>>;

impl FakeLlm {
    pub fn start() -> FakeLlm {
        let requests = Arc::new(Mutex::new(Vec::new()));
        let scripts: Scripts = Arc::default();
        let (r, sc) = (requests.clone(), scripts.clone());
        let server = http::serve(move |request| Some(handle(&request, &r, &sc)));
        FakeLlm { base_url: format!("{}/v1", server.url()), requests, scripts, _server: server }
    }

    /// `SCENARIO=<name>` answers `steps[step]` (built at run time, e.g. naming a test's paths);
    /// past the last step, the last one again.
    pub fn script_steps(&self, name: &str, steps: Vec<Reply>) {
        self.scripts.lock().unwrap().insert(name.to_owned(), steps);
    }

    pub fn requests(&self) -> Vec<Request> {
        self.requests.lock().unwrap().clone()
    }
}

fn text_of(content: &Value) -> String {
    match content {
        Value::String(s) => s.clone(),
        Value::Array(parts) => parts.iter().filter_map(|p| p["text"].as_str()).collect::<Vec<_>>().join("\n"),
        _ => String::new(),
    }
}

/// The script: what the model answers at `step` of `scenario`.
pub fn script(scenario: &str, step: usize, workdir: &str) -> Reply {
    let todos = |a: &str, b: &str| {
        json!({"todos": [
            {"content": "Create hello.txt", "status": a, "priority": "high"},
            {"content": "Write notes.md", "status": b, "priority": "medium"},
        ]})
    };
    // `progress`: a plan of three, worked through: each step the plan's next state, then at once
    // a two-second tool call (a burst of two states the throttle must coalesce).
    let plan = |states: [&str; 3]| {
        let items = ["Inspect the code", "Write the fix", "Run the tests"];
        json!({"todos": items.iter().zip(states).map(|(content, status)| {
            json!({"content": content, "status": status, "priority": "medium"})
        }).collect::<Vec<_>>()})
    };
    let work_then = |what: &str, states: [&str; 3]| {
        let command = format!("sleep 2; echo {what} > {what}.txt");
        Reply::Tools(vec![("todowrite", plan(states)), ("bash", json!({"command": command, "description": what}))])
    };
    match (scenario, step) {
        ("progress", 0) => Reply::Tools(vec![("todowrite", plan(["in_progress", "pending", "pending"]))]),
        ("progress", 1) => work_then("inspected", ["completed", "in_progress", "pending"]),
        ("progress", 2) => work_then("fixed", ["completed", "completed", "in_progress"]),
        ("progress", 3) => work_then("tested", ["completed", "completed", "completed"]),
        ("progress", _) => Reply::Text("Inspected, fixed and tested.\nFAKE-PROGRESS-FINAL".into()),
        // `stoppable`: a plan, then a long turn, for a stop request to end.
        ("stoppable", 0) => Reply::Tools(vec![("todowrite", plan(["in_progress", "pending", "pending"]))]),
        ("stoppable", _) => Reply::Slow(240),
        ("quick", _) => Reply::Text("A quick answer, no plan. FAKE-QUICK-FINAL".into()),
        ("main", 0) => Reply::Tools(vec![("todowrite", todos("in_progress", "pending"))]),
        ("main", 1) => {
            Reply::Tools(vec![("bash", json!({"command": "echo hi > hello.txt", "description": "Create hello.txt"}))])
        }
        ("main", 2) => Reply::Tools(vec![(
            "write",
            json!({"filePath": format!("{workdir}/notes.md"), "content": "# Notes\n\nwritten by fake llm\n"}),
        )]),
        ("main", 3) => Reply::Tools(vec![("todowrite", todos("completed", "completed"))]),
        ("main", _) => Reply::Text("All done: created hello.txt and notes.md.\nFAKE-FINAL-ANSWER".into()),
        ("parent", 0) => Reply::Tools(vec![(
            "task",
            json!({"description": "Write child file", "prompt": "SCENARIO=child Please create child.txt", "subagent_type": "general"}),
        )]),
        ("parent", _) => Reply::Text("Parent done after subagent. FAKE-PARENT-FINAL".into()),
        ("child", 0) => {
            // Slow enough that a runner which stops at the first idle would notice nothing.
            Reply::Tools(vec![(
                "bash",
                json!({"command": "sleep 1; echo child > child.txt", "description": "Create child.txt"}),
            )])
        }
        ("child", _) => Reply::Text("Child finished: child.txt created. FAKE-CHILD-FINAL".into()),
        ("http400", _) => {
            Reply::Status(400, r#"{"error":{"message":"fake bad request","type":"invalid_request_error"}}"#)
        }
        ("http500fast", _) => {
            Reply::Status(500, r#"{"error":{"message":"fake upstream exploded","type":"server_error"}}"#)
        }
        ("malformed", _) => Reply::Malformed,
        ("truncated", _) => Reply::Truncated,
        ("permission", 0) => {
            Reply::Tools(vec![("bash", json!({"command": "echo x > perm.txt", "description": "needs approval"}))])
        }
        ("permission", _) => Reply::Text("permission scenario done FAKE-PERM-DONE".into()),
        ("slow", _) => Reply::Slow(60),
        // `long<N>`: a turn that streams text for N seconds, then finishes normally.
        (long, 0) if long.starts_with("long") => Reply::Slow(long[4..].parse().unwrap_or(60)),
        (long, _) if long.starts_with("long") => Reply::Text("long turn done".into()),
        ("envcheck", 0) => Reply::Tools(vec![("bash", json!({"command": "env > env.txt", "description": "dump env"}))]),
        ("envcheck", _) => Reply::Text("env dumped FAKE-ENV-DONE".into()),
        _ => Reply::Text(format!("unknown scenario {scenario} step {step}")),
    }
}

fn handle(request: &http::Request, requests: &Mutex<Vec<Request>>, scripts: &Scripts) -> Response {
    if request.method == "GET" && request.path == "/v1/models" {
        let models = json!({"object":"list","data":[{"id":"fake-model","object":"model","owned_by":"fake"}]});
        return respond(200, &models.to_string());
    }
    let body = &request.body;
    let req: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
    let messages = req["messages"].as_array().cloned().unwrap_or_default();
    let has_tools = req["tools"].as_array().is_some_and(|t| !t.is_empty());
    let stream = req["stream"].as_bool().unwrap_or(false);
    let system: String = messages.iter().filter(|m| m["role"] == "system").map(|m| text_of(&m["content"])).collect();
    let workdir = system
        .lines()
        .find_map(|l| l.trim().strip_prefix("Working directory:"))
        .map(|w| w.trim().to_owned())
        .unwrap_or_default();
    let marker = messages.iter().position(|m| m["role"] == "user" && text_of(&m["content"]).contains("SCENARIO="));
    let (scenario, step) = match marker {
        Some(i) => {
            let text = text_of(&messages[i]["content"]);
            let name = text.split("SCENARIO=").nth(1).unwrap_or("").split_whitespace().next().unwrap_or("").to_owned();
            (name, messages[i..].iter().filter(|m| m["role"] == "assistant").count())
        }
        None => (String::new(), 0),
    };
    requests.lock().unwrap().push(Request {
        scenario: scenario.clone(),
        step,
        tools: has_tools,
        system: system.clone(),
        user: messages
            .iter()
            .filter(|m| m["role"] == "user")
            .map(|m| text_of(&m["content"]))
            .collect::<Vec<_>>()
            .join("\n"),
    });
    let given = scripts.lock().unwrap().get(&scenario).and_then(|steps| steps.get(step).or(steps.last()).cloned());
    let reply = match given {
        _ if !has_tools => Reply::Text("Fake session title".into()),
        Some(reply) => reply,
        None => script(&scenario, step, &workdir),
    };
    if !stream {
        return respond_plain(reply);
    }
    match reply {
        Reply::Status(code, body) => respond(code, body),
        reply => Response::stream(200, move |out| stream_reply(out, reply))
            .header("content-type", "text/event-stream")
            .header("cache-control", "no-cache"),
    }
}

fn respond(code: u16, body: &str) -> Response {
    let response = Response::new(code, body.to_owned()).header("content-type", "application/json");
    // Retry at once: OpenCode's own backoff (2 s doubling, 5 attempts) would take ~66 s.
    if code >= 500 { response.header("retry-after-ms", "50") } else { response }
}

fn respond_plain(reply: Reply) -> Response {
    let (message, finish) = match reply {
        Reply::Status(code, body) => return respond(code, body),
        Reply::Tools(calls) => {
            let calls: Vec<Value> = calls
                .iter()
                .enumerate()
                .map(|(i, (name, args))| json!({"id": format!("call_{i}"), "type": "function", "function": {"name": name, "arguments": args.to_string()}}))
                .collect();
            (json!({"role": "assistant", "content": null, "tool_calls": calls}), "tool_calls")
        }
        Reply::Text(t) => (json!({"role": "assistant", "content": t}), "stop"),
        _ => (json!({"role": "assistant", "content": "ok"}), "stop"),
    };
    let body = json!({"id": "chatcmpl-1", "object": "chat.completion", "created": 0, "model": "fake-model",
        "choices": [{"index": 0, "message": message, "finish_reason": finish}],
        "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}});
    respond(200, &body.to_string())
}

fn chunk(delta: Value, finish: Option<&str>) -> String {
    let c = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": "fake-model",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]});
    format!("data: {c}\n\n")
}

fn stream_reply(out: &mut Chunks, reply: Reply) -> std::io::Result<()> {
    let mut send = |s: &str| out.send(s);
    let finish = match reply {
        Reply::Malformed => {
            send("data: {this is not json\n\n")?;
            return send("data: {\"choices\": [{\"delta\": 42}]}\n\n");
        }
        Reply::Truncated => return send(&chunk(json!({"role": "assistant", "content": "partial "}), None)),
        Reply::Slow(secs) => {
            send(&chunk(json!({"role": "assistant", "content": ""}), None))?;
            let end = Instant::now() + Duration::from_secs(secs);
            while Instant::now() < end {
                // The client closing the socket (abort) ends this with an error.
                send(&chunk(json!({"content": "slow "}), None))?;
                std::thread::sleep(Duration::from_millis(250));
            }
            "stop"
        }
        Reply::Text(text) => {
            send(&chunk(json!({"role": "assistant", "content": ""}), None))?;
            for word in text.split_inclusive(' ') {
                send(&chunk(json!({"content": word}), None))?;
            }
            "stop"
        }
        Reply::Tools(calls) => {
            send(&chunk(json!({"role": "assistant", "content": null}), None))?;
            for (i, (name, args)) in calls.iter().enumerate() {
                let args = args.to_string();
                let (a, b) = args.split_at(args.len() / 2);
                send(&chunk(
                    json!({"tool_calls": [{"index": i, "id": format!("call_{i}"), "type": "function", "function": {"name": name, "arguments": ""}}]}),
                    None,
                ))?;
                for part in [a, b] {
                    send(&chunk(json!({"tool_calls": [{"index": i, "function": {"arguments": part}}]}), None))?;
                }
            }
            "tool_calls"
        }
        Reply::Status(..) => unreachable!(),
    };
    send(&chunk(json!({}), Some(finish)))?;
    let usage = json!({"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 0, "model": "fake-model", "choices": [],
        "usage": {"prompt_tokens": 100, "completion_tokens": 10, "total_tokens": 110}});
    send(&format!("data: {usage}\n\n"))?;
    send("data: [DONE]\n\n")
}

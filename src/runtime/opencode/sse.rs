//! A small Server-Sent Events parser (the WHATWG event-stream format), fed raw byte chunks.
//!
//! It only splits the byte stream into frames (`event:` + joined `data:` lines); what a frame
//! means is `events.rs`'s business. The output does not depend on how the bytes were chunked:
//! a CRLF split across two reads, or a UTF-8 character split across two reads, parse the same.
//! `id:` and `retry:` are ignored (we never reconnect with `Last-Event-ID`: a new stream is
//! followed by an API re-check instead).

/// One dispatched event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    /// The `event:` field, when the server sent one (OpenCode does not).
    pub event: Option<String>,
    /// The `data:` lines joined by `\n`.
    pub data: String,
}

/// A frame larger than this is dropped instead of growing memory without bound.
const MAX_FRAME_BYTES: usize = 32 * 1024 * 1024;

#[derive(Debug)]
pub struct Parser {
    line: Vec<u8>,
    /// The previous chunk ended in CR: a leading LF in the next chunk belongs to it.
    after_cr: bool,
    /// The frame being read; its buffers are reused from frame to frame.
    current: Frame,
    has_data: bool,
    oversized: bool,
}

impl Default for Parser {
    fn default() -> Self {
        Self {
            line: Vec::new(),
            after_cr: false,
            current: Frame { event: None, data: String::new() },
            has_data: false,
            oversized: false,
        }
    }
}

impl Parser {
    pub fn new() -> Self {
        Self::default()
    }

    /// Feeds one chunk; returns the frames it completed. A partial frame stays buffered (and is
    /// dropped if the stream ends there, as the spec says).
    pub fn feed(&mut self, chunk: &[u8]) -> Vec<Frame> {
        let mut frames = Vec::new();
        self.feed_with(chunk, |frame| frames.push(frame.clone()));
        frames
    }

    /// `feed` without allocating: each completed frame is lent to `on_frame`, in order. This is
    /// the event stream's path; the stream is idle between frames, so a per-frame allocation
    /// costs more there (cold allocator, `mmap`/`munmap` churn in musl) than its size suggests.
    pub fn feed_with(&mut self, chunk: &[u8], mut on_frame: impl FnMut(&Frame)) {
        let mut rest = chunk;
        while let Some(&first) = rest.first() {
            if std::mem::take(&mut self.after_cr) && first == b'\n' {
                rest = &rest[1..];
                continue;
            }
            let Some(end) = rest.iter().position(|&b| b == b'\r' || b == b'\n') else {
                self.push_line_bytes(rest);
                break;
            };
            self.push_line_bytes(&rest[..end]);
            self.after_cr = rest[end] == b'\r';
            rest = &rest[end + 1..];
            // The line buffer is handed back afterwards: its capacity is reused, line after line.
            let line = std::mem::take(&mut self.line);
            if self.line_done(&line) {
                on_frame(&self.current);
            }
            if line.is_empty() {
                self.current.event = None;
                self.current.data.clear();
            }
            self.line = line;
            self.line.clear();
        }
    }

    fn push_line_bytes(&mut self, bytes: &[u8]) {
        let room = MAX_FRAME_BYTES.saturating_sub(self.line.len());
        if bytes.len() > room {
            self.oversized = true;
        }
        self.line.extend_from_slice(&bytes[..bytes.len().min(room)]);
    }

    /// Takes one line; `true` when it dispatches `current` (the caller then clears it).
    fn line_done(&mut self, line: &[u8]) -> bool {
        if line.is_empty() {
            return std::mem::take(&mut self.has_data) && !std::mem::take(&mut self.oversized);
        }
        if line[0] == b':' {
            return false;
        }
        let line = String::from_utf8_lossy(line);
        let (field, value) = match line.split_once(':') {
            Some((field, value)) => (field, value.strip_prefix(' ').unwrap_or(value)),
            None => (line.as_ref(), ""),
        };
        match field {
            "data" => {
                let data = &mut self.current.data;
                if self.has_data {
                    data.push('\n');
                }
                if data.len() + value.len() > MAX_FRAME_BYTES {
                    self.oversized = true;
                } else {
                    data.push_str(value);
                }
                self.has_data = true;
            }
            "event" => self.current.event = Some(value.to_owned()),
            _ => {}
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn parse_all(chunks: &[&[u8]]) -> Vec<Frame> {
        let mut parser = Parser::new();
        chunks.iter().flat_map(|c| parser.feed(c)).collect()
    }

    fn data(s: &str) -> Frame {
        Frame { event: None, data: s.to_owned() }
    }

    #[test]
    fn parses_opencode_frames() {
        let text = b"data: {\"type\":\"server.connected\"}\n\ndata: {\"a\":1}\n\n";
        assert_eq!(parse_all(&[text]), vec![data("{\"type\":\"server.connected\"}"), data("{\"a\":1}")]);
    }

    #[test]
    fn joins_multi_line_data_and_skips_comments() {
        let text = b": keep-alive\nevent: x\ndata: one\ndata:two\ndata\n\n";
        assert_eq!(parse_all(&[text]), vec![Frame { event: Some("x".into()), data: "one\ntwo\n".into() }]);
    }

    #[test]
    fn drops_partial_frame_at_eof_and_empty_blocks() {
        assert_eq!(parse_all(&[b"\n\n: c\n\ndata: done\n\ndata: partial\n"]), vec![data("done")]);
    }

    #[test]
    fn crlf_and_cr_line_ends() {
        assert_eq!(parse_all(&[b"data: a\r\n\r\ndata: b\r\rdata: c\n\n"]), vec![data("a"), data("b"), data("c")]);
    }

    #[test]
    fn oversized_frame_is_dropped_not_kept() {
        let mut parser = Parser::new();
        let big = vec![b'x'; MAX_FRAME_BYTES + 10];
        assert!(parser.feed(b"data: ").is_empty());
        assert!(parser.feed(&big).is_empty());
        assert_eq!(parser.feed(b"\n\ndata: next\n\n"), vec![data("next")]);
    }

    fn stream() -> impl Strategy<Value = Vec<u8>> {
        let line = prop_oneof![
            "[a-z{}\":é ]{0,12}".prop_map(|s| format!("data: {s}")),
            "[a-z]{0,5}".prop_map(|s| format!(": {s}")),
            "[a-z]{1,5}".prop_map(|s| format!("event: {s}")),
            Just(String::new()),
        ];
        let ending = prop_oneof![Just("\n"), Just("\r\n"), Just("\r")];
        proptest::collection::vec((line, ending), 0..30)
            .prop_map(|lines| lines.into_iter().flat_map(|(l, e)| format!("{l}{e}").into_bytes()).collect())
    }

    proptest! {
        #[test]
        fn chunking_does_not_change_frames(bytes in stream(), cuts in proptest::collection::vec(any::<usize>(), 0..8)) {
            let whole = parse_all(&[&bytes]);
            let mut points: Vec<usize> = cuts.into_iter().map(|c| c % (bytes.len() + 1)).collect();
            points.sort_unstable();
            let mut chunks = Vec::new();
            let mut start = 0;
            for p in points {
                chunks.push(&bytes[start..p]);
                start = p;
            }
            chunks.push(&bytes[start..]);
            prop_assert_eq!(parse_all(&chunks), whole);
        }

        #[test]
        fn lf_and_crlf_parse_alike(bytes in stream()) {
            let lf = String::from_utf8_lossy(&bytes).replace("\r\n", "\n").replace('\r', "\n");
            let crlf = lf.replace('\n', "\r\n");
            prop_assert_eq!(parse_all(&[lf.as_bytes()]), parse_all(&[crlf.as_bytes()]));
        }
    }
}

//! Markdown-aware mention parsing: a mention inside code or a quote is not a request.

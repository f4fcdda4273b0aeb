//! The log: one line per `tracing` event, `LEVEL message key=value`, filtered by target.
//!
//! A `tracing::Subscriber` of our own rather than tracing-subscriber's `fmt` layer and registry:
//! we log events only (no spans, no timestamps, no targets), and fmt's machinery was about
//! 100 KB of the static binary. The lines are the ones fmt printed with `with_target(false)`
//! and `without_time()`; the filter keeps the `Targets` syntax (`level,target=level`).

use std::fmt::{self, Write as _};
use std::io::Write as _;
use std::sync::{Arc, Mutex};

use tracing::field::{Field, Visit};
use tracing::level_filters::LevelFilter;
use tracing::subscriber::Interest;
use tracing::{Event, Level, Metadata, Subscriber, span};

/// Which events are logged: `level,target=level,…`, as tracing-subscriber's `Targets` reads it.
/// A bare level is the default, a bare target means `target=trace`; the directive with the
/// longest target that starts the event's target decides, and without one nothing is logged.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Filter {
    /// Longest target first; `""` is the default (every target starts with it).
    directives: Vec<(String, LevelFilter)>,
}

impl std::str::FromStr for Filter {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        let mut filter = Filter::default();
        for directive in s.split(',') {
            let (target, level) = match directive.split_once('=') {
                Some((target, level)) => {
                    let level = level.parse().map_err(|_| format!("invalid level `{level}` in `{directive}`"))?;
                    (target, level)
                }
                // As in `Targets`: an empty directive parses as the level `error`.
                None => match directive.parse::<LevelFilter>() {
                    Ok(level) => ("", level),
                    Err(_) => (directive, LevelFilter::TRACE),
                },
            };
            // A later directive for the same target replaces the earlier one.
            filter.directives.retain(|(t, _)| t != target);
            filter.directives.push((target.to_string(), level));
        }
        filter.directives.sort_by_key(|(t, _)| std::cmp::Reverse(t.len()));
        Ok(filter)
    }
}

impl Filter {
    /// Whether an event at `level` from `target` is logged.
    pub fn enables(&self, target: &str, level: &Level) -> bool {
        self.directives.iter().find(|(t, _)| target.starts_with(t.as_str())).is_some_and(|(_, max)| level <= max)
    }

    /// The most verbose level any directive lets through.
    fn max_level(&self) -> LevelFilter {
        self.directives.iter().map(|(_, level)| *level).max().unwrap_or(LevelFilter::OFF)
    }
}

/// Where the lines go.
#[derive(Debug, Clone)]
pub enum Sink {
    Stdout,
    Stderr,
    /// Collected in memory (tests).
    Buffer(Arc<Mutex<Vec<u8>>>),
}

/// The subscriber: filters by [`Filter`], writes each event as one line to its [`Sink`].
#[derive(Debug)]
pub struct Logger {
    pub filter: Filter,
    pub sink: Sink,
    /// Colours the level, as fmt did on a terminal.
    pub ansi: bool,
}

impl Logger {
    /// The line `event` prints, newline included.
    fn line(&self, event: &Event<'_>) -> String {
        let level = event.metadata().level();
        let name = match *level {
            Level::TRACE => "TRACE",
            Level::DEBUG => "DEBUG",
            Level::INFO => " INFO",
            Level::WARN => " WARN",
            Level::ERROR => "ERROR",
        };
        let mut line = if self.ansi {
            let colour = match *level {
                Level::TRACE => 35,
                Level::DEBUG => 34,
                Level::INFO => 32,
                Level::WARN => 33,
                Level::ERROR => 31,
            };
            format!("\x1b[{colour}m{name}\x1b[0m ")
        } else {
            format!("{name} ")
        };
        event.record(&mut Fields { line: &mut line, first: true });
        line.push('\n');
        line
    }
}

impl Subscriber for Logger {
    fn register_callsite(&self, metadata: &'static Metadata<'static>) -> Interest {
        if self.enabled(metadata) { Interest::always() } else { Interest::never() }
    }

    /// Events only: nothing of ours opens a span, and fmt only named them before the message.
    fn enabled(&self, metadata: &Metadata<'_>) -> bool {
        metadata.is_event() && self.filter.enables(metadata.target(), metadata.level())
    }

    fn max_level_hint(&self) -> Option<LevelFilter> {
        Some(self.filter.max_level())
    }

    fn new_span(&self, _: &span::Attributes<'_>) -> span::Id {
        span::Id::from_u64(1)
    }

    fn record(&self, _: &span::Id, _: &span::Record<'_>) {}

    fn record_follows_from(&self, _: &span::Id, _: &span::Id) {}

    fn event(&self, event: &Event<'_>) {
        let line = self.line(event);
        // One write per line, so lines from several threads do not interleave; a log line
        // that cannot be written has nowhere else to go.
        let _ = match &self.sink {
            Sink::Stdout => std::io::stdout().lock().write_all(line.as_bytes()),
            Sink::Stderr => std::io::stderr().lock().write_all(line.as_bytes()),
            Sink::Buffer(buf) => {
                buf.lock().unwrap_or_else(std::sync::PoisonError::into_inner).extend_from_slice(line.as_bytes());
                Ok(())
            }
        };
    }

    fn enter(&self, _: &span::Id) {}

    fn exit(&self, _: &span::Id) {}
}

/// Writes an event's fields: the message as text, then `name=value` (values `Debug`), as fmt did.
struct Fields<'a> {
    line: &'a mut String,
    first: bool,
}

impl Visit for Fields<'_> {
    fn record_str(&mut self, field: &Field, value: &str) {
        if field.name() == "message" {
            self.record_debug(field, &format_args!("{value}"))
        } else {
            self.record_debug(field, &value)
        }
    }

    fn record_error(&mut self, field: &Field, value: &(dyn std::error::Error + 'static)) {
        let mut text = value.to_string();
        if let Some(source) = value.source() {
            let sources: Vec<String> =
                std::iter::successors(Some(source), |e| e.source()).map(|e| e.to_string()).collect();
            let _ = write!(text, " {}.sources=[{}]", field.name(), sources.join(", "));
        }
        self.record_debug(field, &format_args!("{}", Escaped(&text)))
    }

    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        if !std::mem::take(&mut self.first) {
            self.line.push(' ');
        }
        let _ = match field.name() {
            // The message may quote what someone else wrote: no escape sequences reach the terminal.
            "message" => write!(self.line, "{}", Escaped(&format!("{value:?}"))),
            name => write!(self.line, "{}={value:?}", name.strip_prefix("r#").unwrap_or(name)),
        };
    }
}

/// Text with the control characters a terminal acts on shown as escapes (fmt's `EscapeGuard`).
struct Escaped<'a>(&'a str);

impl fmt::Display for Escaped<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for c in self.0.chars() {
            match c {
                '\x1b' | '\x07' | '\x08' | '\x0c' | '\x7f' => write!(f, "\\x{:02x}", c as u32)?,
                '\u{80}'..='\u{9f}' => write!(f, "\\u{{{:x}}}", c as u32)?,
                c => f.write_char(c)?,
            }
        }
        Ok(())
    }
}

/// Installs the one subscriber: stdout in Actions (logs and workflow commands stay in order), else
/// stderr; the filter from `SISYPHUS_LOG` (`log.filter`), else info (debug with `RUNNER_DEBUG`).
pub fn init(actions: bool, log: &crate::config::LogConfig) {
    let default = if log.debug { "debug" } else { "info" };
    // octocrab's HTTP tracing reports every 5xx as an error, even the ones our retries absorb;
    // the GitHub client logs its own retries and failures in plain words instead.
    let fallback = || format!("{default},tower_http=off,octocrab=off").parse::<Filter>();
    let filter = match log.filter.as_deref().map(str::parse::<Filter>) {
        Some(Ok(filter)) => filter,
        Some(Err(e)) => {
            eprintln!("warning: ignoring `SISYPHUS_LOG`: {e}");
            fallback().unwrap_or_default()
        }
        None => fallback().unwrap_or_default(),
    };
    // In Actions, logs share stdout with workflow commands so groups stay in order.
    let logger = if actions {
        Logger { filter, sink: Sink::Stdout, ansi: false }
    } else {
        // Colours on a terminal unless `NO_COLOR` says otherwise (https://no-color.org).
        Logger { filter, sink: Sink::Stderr, ansi: std::env::var("NO_COLOR").map_or(true, |v| v.is_empty()) }
    };
    let _ = tracing::subscriber::set_global_default(logger);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn logged(filter: &str, ansi: bool, f: impl FnOnce()) -> String {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let logger = Logger { filter: filter.parse().expect("a filter"), sink: Sink::Buffer(buf.clone()), ansi };
        tracing::subscriber::with_default(logger, f);
        String::from_utf8(buf.lock().expect("the buffer").clone()).expect("utf-8")
    }

    #[derive(Debug, thiserror::Error)]
    #[error("outer")]
    struct Outer(#[source] std::io::Error);

    #[test]
    fn lines_are_fmts_without_target_or_time() {
        let text = logged("info", false, || {
            tracing::info!("plain");
            tracing::warn!(attempt = 2, path = "a b", "retrying {}", "now");
            tracing::error!(error = &Outer(std::io::Error::other("inner")) as &dyn std::error::Error, "failed");
            tracing::debug!("hidden");
        });
        assert_eq!(
            text,
            " INFO plain\n WARN retrying now attempt=2 path=\"a b\"\nERROR failed error=outer error.sources=[inner]\n"
        );
    }

    /// The same events through tracing-subscriber's fmt, as the binary configured it until now.
    fn logged_by_fmt(f: impl FnOnce()) -> String {
        let buf = Arc::new(Mutex::new(Vec::new()));
        let writer = buf.clone();
        let fmt = tracing_subscriber::fmt()
            .with_target(false)
            .without_time()
            .with_ansi(false)
            .with_max_level(Level::INFO)
            .with_writer(move || Shared(writer.clone()))
            .finish();
        tracing::subscriber::with_default(fmt, f);
        String::from_utf8(buf.lock().expect("the buffer").clone()).expect("utf-8")
    }

    struct Shared(Arc<Mutex<Vec<u8>>>);

    impl std::io::Write for Shared {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().expect("the buffer").extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }

    #[test]
    fn the_lines_are_the_ones_fmt_printed() {
        let events = || {
            tracing::info!("plain");
            tracing::warn!(attempt = 2, path = "a b", done = false, "retrying {}", "now");
            tracing::info!(r#type = "x", "raw name");
            tracing::info!(shown = %"display", debugged = ?Some(1));
            tracing::error!(error = &Outer(std::io::Error::other("inner")) as &dyn std::error::Error, "failed");
            tracing::error!(error = &std::io::Error::other("alone") as &dyn std::error::Error);
            tracing::info!("multi\nline \x1b[1mbold\u{9b}");
            tracing::debug!("hidden");
        };
        let ours = logged("info", false, events);
        assert_eq!(ours, logged_by_fmt(events));
        assert_eq!(ours.lines().count(), 8, "{ours}");
    }

    #[test]
    fn colours_only_the_level_and_escapes_the_message() {
        let text = logged("info", true, || tracing::info!("a \x1b[31mred\x1b[0m word"));
        assert_eq!(text, "\x1b[32m INFO\x1b[0m a \\x1b[31mred\\x1b[0m word\n");
    }

    #[test]
    fn the_longest_matching_target_decides() {
        let filter: Filter = "info,octocrab=off,octocrab::retry=debug,tower_http".parse().expect("a filter");
        assert!(filter.enables("sisyphus_action::run", &Level::INFO));
        assert!(!filter.enables("sisyphus_action::run", &Level::DEBUG));
        assert!(!filter.enables("octocrab::service", &Level::ERROR));
        assert!(filter.enables("octocrab::retry", &Level::DEBUG));
        assert!(filter.enables("tower_http::trace", &Level::TRACE));
        assert_eq!(filter.max_level(), LevelFilter::TRACE);
        let only: Filter = "hyper=warn".parse().expect("a filter");
        assert!(!only.enables("sisyphus_action", &Level::ERROR), "no default: nothing else");
        assert!(only.enables("hyper::client", &Level::WARN));
    }

    #[test]
    fn a_later_directive_replaces_one_for_the_same_target() {
        let filter: Filter = "debug,info".parse().expect("a filter");
        assert!(!filter.enables("x", &Level::DEBUG));
    }

    #[test]
    fn bad_levels_are_refused() {
        assert!("octocrab=loud".parse::<Filter>().is_err());
        assert!("a=b=c".parse::<Filter>().is_err());
        assert!("DEBUG".parse::<Filter>().is_ok());
    }

    #[test]
    fn the_filter_applies_to_events() {
        let text = logged("warn,sisyphus_action::log=debug", false, || {
            tracing::debug!("ours");
            tracing::debug!(target: "hyper", "theirs");
            tracing::warn!(target: "hyper", "theirs, loud");
        });
        assert_eq!(text, "DEBUG ours\n WARN theirs, loud\n");
    }
}

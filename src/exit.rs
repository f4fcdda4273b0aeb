//! How a run ends, as the runner sees it: the `conclusion` output and the exit code.
//!
//! A leaf: it imports nothing from the crate, so every stage can name how it ended without
//! importing the front door (`run`) that maps it to the process's exit.

/// The work is done, or the event was skipped.
pub const SUCCESS: u8 = 0;
/// The run failed (agent error, GitHub error, publish refused).
pub const FAILURE: u8 = 1;
/// Bad invocation: a missing variable, an unreadable payload, an invalid input.
pub const USAGE: u8 = 2;
/// Cancelled by the runner (SIGINT/SIGTERM) or stopped by `timeout-minutes`.
pub const CANCELLED: u8 = 130;

/// How a run ended; also the `conclusion` output.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conclusion {
    Success,
    Failure,
    Cancelled,
    Skipped,
}

impl Conclusion {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
            Self::Cancelled => "cancelled",
            Self::Skipped => "skipped",
        }
    }

    /// The process's exit code (documented in the README): a skip is a success.
    pub fn exit_code(self) -> u8 {
        match self {
            Self::Success | Self::Skipped => SUCCESS,
            Self::Failure => FAILURE,
            Self::Cancelled => CANCELLED,
        }
    }
}

/// An error in how we were invoked (missing variable, unreadable payload, bad input): exit 2.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct UsageError(pub String);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_skip_exits_like_a_success_and_a_cancel_like_sigint() {
        assert_eq!(Conclusion::Skipped.exit_code(), 0);
        assert_eq!(Conclusion::Failure.exit_code(), 1);
        assert_eq!(Conclusion::Cancelled.exit_code(), 130);
        assert_eq!(Conclusion::Cancelled.as_str(), "cancelled");
    }
}

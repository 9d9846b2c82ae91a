//! The single error type of the lab.
//!
//! A lab failure is read by a person looking at a failed CI run, so the error
//! carries a sentence that names what was attempted (the command line, the
//! namespace, the file) and what came back, rather than a bare `io::Error`.

use std::fmt;
use std::io;

/// Why a lab operation failed, as a human-readable sentence.
///
/// Kept as one opaque message type on purpose: tests only ever print it or
/// fail on it; no caller needs to branch on the kind of lab failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabError {
    message: String,
}

/// Result of every fallible lab operation.
pub type Result<T> = std::result::Result<T, LabError>;

impl LabError {
    /// Builds an error from a sentence describing what went wrong.
    pub fn new(message: impl Into<String>) -> Self {
        LabError {
            message: message.into(),
        }
    }

    /// Wraps an I/O error with what was being attempted, so the message says
    /// which file or command failed and not only "No such file or directory".
    pub fn io(what: impl fmt::Display, err: io::Error) -> Self {
        LabError::new(format!("{what}: {err}"))
    }

    /// The message, for tests that assert on error wording.
    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for LabError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for LabError {}

/// Adds context to foreign errors in one call (`.context("reading x")?`).
pub(crate) trait Context<T> {
    fn context(self, what: impl fmt::Display) -> Result<T>;
}

impl<T> Context<T> for io::Result<T> {
    fn context(self, what: impl fmt::Display) -> Result<T> {
        self.map_err(|e| LabError::io(what, e))
    }
}

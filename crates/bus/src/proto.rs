//! The wire format of the supervisor's socket: one JSON object per line.
//!
//! Every connection starts with one message that says who is speaking: a
//! daemon's `hello`, or a console `request`. Lines longer than [`MAX_LINE`]
//! are a protocol error and close the connection, so a confused or hostile
//! local client cannot make the supervisor allocate without bound.

use serde::{Deserialize, Serialize};

use crate::state::{Fact, SharedState};
use crate::status::StatusReport;

/// Longest accepted line, bytes. A full state snapshot is a few KB.
pub const MAX_LINE: usize = 1 << 20;

/// Messages to the supervisor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ToSupervisor {
    /// First message of a daemon connection.
    Hello {
        /// The daemon's name (`wan`, `dhcp6c`, ...), as the supervisor
        /// started it.
        daemon: String,
        /// The daemon's process id, so the supervisor can tell a stale
        /// connection of a dead instance from the live one.
        pid: u32,
    },
    /// A fact for the shared state.
    Publish(Fact),
    /// The daemon's own status, shown by `cpectl show <daemon>`.
    Status(serde_json::Value),
    /// A console request (first and only message of a console connection).
    Request(Request),
}

/// What the console can ask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Request {
    /// The whole status report.
    Status,
    /// Re-read and apply the config file.
    Reload,
    /// Events of the timeline (`cpectl log`, `cpectl show prefix`).
    Log(crate::events::Query),
}

/// Messages from the supervisor.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FromSupervisor {
    /// The validated config the daemon must run with (sent once, after
    /// hello). The daemon re-parses the text; it is known to be valid.
    Config {
        /// Path it was read from, for messages.
        file: String,
        /// The TOML text.
        source: String,
    },
    /// A full state snapshot.
    State(Box<SharedState>),
    /// Answer to [`Request::Status`].
    Status(Box<StatusReport>),
    /// Answer to [`Request::Reload`].
    Reload(ReloadOutcome),
    /// Answer to [`Request::Log`].
    Log(crate::events::Events),
    /// The request could not be served.
    Error {
        /// Why.
        message: String,
    },
}

/// What a reload did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReloadOutcome {
    /// True if the new config was applied.
    pub applied: bool,
    /// One `FILE:LINE:COL: error: ...` line per problem when refused.
    pub errors: Vec<String>,
    /// Warnings of an applied config.
    pub warnings: Vec<String>,
    /// Daemons restarted, started or stopped because their slice changed.
    pub changed: Vec<String>,
}

/// Serialises a message as one line (with the trailing newline).
pub fn encode_line<T: Serialize>(msg: &T) -> Vec<u8> {
    // Serialising our own plain data types cannot fail; fall back to an
    // empty object rather than panic if it ever did.
    let mut v = serde_json::to_vec(msg).unwrap_or_else(|_| b"{}".to_vec());
    v.push(b'\n');
    v
}

/// Parses one line (without its newline).
pub fn decode_line<'a, T: Deserialize<'a>>(line: &'a [u8]) -> Result<T, serde_json::Error> {
    serde_json::from_slice(line)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::state::{DelegatedPrefix, Dhcp6Facts};
    use crate::time::MonoTime;

    #[test]
    fn messages_round_trip_as_single_lines() {
        let msg = ToSupervisor::Publish(Fact::Dhcp6(Box::new(Dhcp6Facts {
            state: "bound".into(),
            delegated_prefixes: vec![DelegatedPrefix {
                prefix: "2001:db8:1200::/56".parse().unwrap(),
                preferred_until: MonoTime(1000),
                valid_until: MonoTime(2000),
            }],
            ..Default::default()
        })));
        let line = encode_line(&msg);
        assert_eq!(line.iter().filter(|b| **b == b'\n').count(), 1);
        let text = String::from_utf8(line.clone()).unwrap();
        assert!(text.contains("\"2001:db8:1200::/56\""), "{text}");
        let back: ToSupervisor = decode_line(&line[..line.len() - 1]).unwrap();
        assert_eq!(back, msg);
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        assert!(decode_line::<ToSupervisor>(b"{\"hello\":").is_err());
        assert!(decode_line::<ToSupervisor>(b"\xff\xfe").is_err());
        assert!(decode_line::<ToSupervisor>(b"{\"publish\":{\"wan\":{\"mode\":1}}}").is_err());
    }
}

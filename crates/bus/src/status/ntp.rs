//! The NTP client's status (`cpectl show ntp`, the `time` line of
//! `cpectl status`).

use std::collections::BTreeMap;

use serde::Serialize;

/// The daemon's whole status object.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct NtpStatus {
    /// A good sample arrived recently: the clock follows `server`.
    pub synced: bool,
    /// The server of the last good sample.
    pub server: Option<String>,
    /// Its stratum.
    pub stratum: Option<u8>,
    /// Offset measured by the last good sample (before any step), ms.
    pub offset_ms: Option<f64>,
    /// Its round-trip delay, ms.
    pub delay_ms: Option<f64>,
    /// Seconds since the last good sample.
    pub last_sync_age: Option<u64>,
    /// Why the client is not synchronised (or what is wrong now).
    pub reason: Option<String>,
    /// Whether the client may set the system clock.
    pub set_clock: bool,
    /// Servers in the order they are tried (configured, then the WAN's).
    pub servers: Vec<String>,
    /// Servers retired by a Kiss-o'-Death, with the code.
    pub retired: Vec<String>,
    /// Current poll interval, seconds.
    pub poll: u64,
    /// What the client counted.
    pub counters: NtpCounters,
}

/// Counters of the client. Keys are stable snake_case words.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct NtpCounters {
    /// Requests sent.
    pub sent: u64,
    /// Datagrams received (before any check).
    pub received: u64,
    /// Replies whose sample was used.
    pub accepted: u64,
    /// Requests that got no usable reply before the next one.
    pub timeouts: u64,
    /// Kiss-o'-Death packets by code (`RATE`, `DENY`, ...).
    pub kisses: BTreeMap<String, u64>,
    /// All drops.
    pub dropped: u64,
    /// Dropped datagrams by reason (`wrong_source`, `bogus_origin`, ...).
    pub drops: BTreeMap<String, u64>,
    /// Clock steps performed.
    pub steps: u64,
}

crate::from_json! {
    NtpStatus { synced, server, stratum, offset_ms, delay_ms, last_sync_age, reason, set_clock, servers, retired, poll, counters }
    NtpCounters { sent, received, accepted, timeouts, kisses, dropped, drops, steps }
}

//! The event timeline behind `cpectl log` and `cpectl show prefix`.
//!
//! A fault that has already passed (the ISP's DHCPv6 server down for two
//! minutes, then back) leaves no trace on a status screen. The supervisor
//! therefore keeps what changed, as short structured events, in a ring in
//! memory: bounded (the oldest are dropped, and counted, when it is full),
//! never written to flash, gone at reboot. The console reads it over the
//! control socket on demand, so nothing is ever tailed onto the serial
//! console's prompt.
//!
//! Every event carries the wall clock (UTC, for the engineer comparing
//! with the ISP's logs) and the monotonic clock (for ordering and for
//! `--since`, which must not move when NTP steps the wall clock).

use std::collections::VecDeque;

use ipnet::Ipv6Net;
use serde::{Deserialize, Serialize};

/// Events kept: at most about 210 KB of memory (184 bytes an event plus
/// its texts, each cut at [`MAX_TEXT`]), typically half that, whatever
/// happens.
pub const CAPACITY: usize = 512;

/// Longest text kept, bytes; longer ones are cut (a hostile server's
/// status message cannot grow the ring).
pub const MAX_TEXT: usize = 160;

/// How bad an event is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize, Default)]
#[serde(rename_all = "snake_case")]
pub enum Level {
    /// Something changed as it should (a prefix renewed, a reload applied).
    #[default]
    Info,
    /// Service degraded (a prefix lost, an upstream down, a daemon died).
    Warn,
    /// Something the engineer must act on (a refused reload, a daemon that
    /// cannot start).
    Error,
}

impl Level {
    /// The word in `--level` and on screen.
    pub const fn word(self) -> &'static str {
        match self {
            Level::Info => "info",
            Level::Warn => "warn",
            Level::Error => "error",
        }
    }

    /// The level called `word` (`warning` too).
    pub fn from_word(word: &str) -> Option<Level> {
        match word {
            "info" => Some(Level::Info),
            "warn" | "warning" => Some(Level::Warn),
            "error" | "err" => Some(Level::Error),
            _ => None,
        }
    }
}

/// What happened to a prefix, for `cpectl show prefix`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PrefixChange {
    /// The prefix (a delegation, or a LAN /64).
    pub prefix: Ipv6Net,
    /// `wan` for a delegation, else the LAN interface it is advertised on.
    pub link: String,
    /// `delegated`, `renewed`, `deprecated`, `withdrawn`, `expired`,
    /// `advertised`.
    pub what: String,
    /// Preferred lifetime left at that moment, seconds (0xffffffff:
    /// infinite).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preferred_s: Option<u64>,
    /// Valid lifetime left at that moment, seconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub valid_s: Option<u64>,
}

/// One event.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Event {
    /// Increases by one per event since the supervisor started; a gap
    /// means events were dropped.
    pub seq: u64,
    /// Milliseconds of `CLOCK_MONOTONIC`.
    pub mono_ms: u64,
    /// Milliseconds since 1970-01-01 UTC, as the router's clock said then
    /// (before NTP has synchronised a board without RTC, that is 1970).
    pub wall_ms: u64,
    /// How bad.
    pub level: Level,
    /// The daemon it is about (`wan`, `dhcp6c`, ...) or `supervisor`.
    pub daemon: String,
    /// What happened, one line, addresses in RFC 5952.
    pub text: String,
    /// Set for prefix events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prefix: Option<PrefixChange>,
}

/// Which events a console asks for.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Query {
    /// Only events with a larger `seq` (`--follow` polls with the last one
    /// it saw).
    pub after_seq: Option<u64>,
    /// Only events of the last this many seconds.
    pub since_s: Option<u64>,
    /// Only events at least this bad.
    pub min_level: Level,
    /// Only the last this many of what matches.
    pub limit: Option<u32>,
    /// Only prefix events.
    pub prefixes_only: bool,
}

/// The answer to a [`Query`].
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct Events {
    /// Matching events, oldest first.
    pub events: Vec<Event>,
    /// Events dropped from the ring since start because it was full.
    pub dropped: u64,
    /// The newest `seq` in the ring (0: none yet), matching or not; the
    /// next `--follow` poll asks for what comes after it.
    pub last_seq: u64,
}

/// Counters kept since the supervisor started, for the one line on
/// `cpectl status`; they survive events dropped from the ring.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct SinceBoot {
    /// Times the last delegated prefix went away (expired or withdrawn).
    pub pd_lost: u32,
    /// Wall clock (ms UTC) of the latest.
    pub pd_lost_last_ms: Option<u64>,
    /// Times the WAN left the `up` state.
    pub wan_down: u32,
    /// Wall clock (ms UTC) of the latest.
    pub wan_down_last_ms: Option<u64>,
    /// Daemon restarts after unexpected exits.
    pub restarts: u32,
    /// Reloads refused.
    pub reloads_refused: u32,
}

/// The ring.
#[derive(Debug, Clone)]
pub struct Ring {
    events: VecDeque<Event>,
    capacity: usize,
    next_seq: u64,
    dropped: u64,
}

impl Default for Ring {
    fn default() -> Ring {
        Ring::new(CAPACITY)
    }
}

impl Ring {
    /// An empty ring of `capacity` events (at least one).
    pub fn new(capacity: usize) -> Ring {
        let capacity = capacity.max(1);
        Ring {
            events: VecDeque::with_capacity(capacity),
            capacity,
            next_seq: 1,
            dropped: 0,
        }
    }

    /// Appends an event (dropping the oldest when full); returns its `seq`.
    pub fn push(
        &mut self,
        mono_ms: u64,
        wall_ms: u64,
        level: Level,
        daemon: &str,
        text: &str,
        prefix: Option<PrefixChange>,
    ) -> u64 {
        if self.events.len() == self.capacity {
            self.events.pop_front();
            self.dropped += 1;
        }
        let seq = self.next_seq;
        self.next_seq += 1;
        self.events.push_back(Event {
            seq,
            mono_ms,
            wall_ms,
            level,
            daemon: daemon.to_string(),
            text: cut(text, MAX_TEXT).to_string(),
            prefix,
        });
        seq
    }

    /// Events dropped so far.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The events `q` asks for, `now_ms` being the monotonic clock now.
    pub fn query(&self, q: &Query, now_ms: u64) -> Events {
        let since = q
            .since_s
            .map(|s| now_ms.saturating_sub(s.saturating_mul(1000)));
        let matching: Vec<&Event> = self
            .events
            .iter()
            .filter(|e| q.after_seq.is_none_or(|a| e.seq > a))
            .filter(|e| since.is_none_or(|s| e.mono_ms >= s))
            .filter(|e| e.level >= q.min_level)
            .filter(|e| !q.prefixes_only || e.prefix.is_some())
            .collect();
        let skip = q
            .limit
            .map_or(0, |n| matching.len().saturating_sub(n as usize));
        Events {
            events: matching.into_iter().skip(skip).cloned().collect(),
            dropped: self.dropped,
            last_seq: self.next_seq - 1,
        }
    }
}

/// `text` cut to at most `max` bytes on a character boundary.
fn cut(text: &str, max: usize) -> &str {
    if text.len() <= max {
        return text;
    }
    let mut end = max;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

/// A wall-clock time as `(days since 1970-01-01, seconds into the day)`.
fn split_day(wall_ms: u64) -> (i64, u64) {
    let secs = wall_ms / 1000;
    ((secs / 86_400) as i64, secs % 86_400)
}

/// `HH:MM:SS` (UTC) of a wall-clock time.
pub fn clock_text(wall_ms: u64) -> String {
    let (_, s) = split_day(wall_ms);
    format!("{:02}:{:02}:{:02}", s / 3600, (s / 60) % 60, s % 60)
}

/// `YYYY-MM-DD` (UTC) of a wall-clock time, by the civil-from-days
/// algorithm of the proleptic Gregorian calendar.
pub fn date_text(wall_ms: u64) -> String {
    let (days, _) = split_day(wall_ms);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ring_with(levels: &[Level]) -> Ring {
        let mut r = Ring::new(4);
        for (i, l) in levels.iter().enumerate() {
            let t = 1000 * (i as u64 + 1);
            r.push(t, 1_700_000_000_000 + t, *l, "wan", &format!("e{i}"), None);
        }
        r
    }

    fn texts(e: &Events) -> Vec<&str> {
        e.events.iter().map(|e| e.text.as_str()).collect()
    }

    #[test]
    fn the_ring_is_bounded_and_counts_what_it_drops() {
        let r = ring_with(&[Level::Info; 6]);
        let all = r.query(&Query::default(), 6000);
        assert_eq!(texts(&all), ["e2", "e3", "e4", "e5"]);
        assert_eq!((all.dropped, all.last_seq), (2, 6));
        assert_eq!(all.events[0].seq, 3, "seq keeps counting across drops");
        let mut big = Ring::new(2);
        big.push(0, 0, Level::Info, "dns", &"é".repeat(200), None);
        assert!(big.events[0].text.len() <= MAX_TEXT);
        assert!(big.events[0].text.chars().all(|c| c == 'é'));
    }

    #[test]
    fn since_level_limit_and_after_filter() {
        use Level::*;
        let r = ring_with(&[Info, Warn, Error, Info]);
        let q = |q: Query| texts(&r.query(&q, 4000)).join(" ");
        assert_eq!(
            q(Query {
                since_s: Some(2),
                ..Query::default()
            }),
            "e1 e2 e3",
            "events at 2000..=4000 ms"
        );
        assert_eq!(
            q(Query {
                min_level: Warn,
                ..Query::default()
            }),
            "e1 e2"
        );
        assert_eq!(
            q(Query {
                limit: Some(2),
                ..Query::default()
            }),
            "e2 e3",
            "the last n"
        );
        assert_eq!(
            q(Query {
                after_seq: Some(3),
                ..Query::default()
            }),
            "e3"
        );
        assert_eq!(
            q(Query {
                after_seq: Some(4),
                ..Query::default()
            }),
            ""
        );
        assert_eq!(
            q(Query {
                since_s: Some(u64::MAX),
                limit: Some(0),
                ..Query::default()
            }),
            ""
        );
        assert_eq!(
            q(Query {
                prefixes_only: true,
                ..Query::default()
            }),
            ""
        );
        assert_eq!(Ring::new(4).query(&Query::default(), 0).last_seq, 0);
    }

    #[test]
    fn wall_clock_text_is_utc() {
        // 2026-12-03 11:04:21 UTC.
        let t = 1_796_295_861_000;
        assert_eq!(date_text(t), "2026-12-03");
        assert_eq!(clock_text(t), "11:04:21");
        assert_eq!(date_text(0), "1970-01-01");
        assert_eq!(date_text(951_782_400_000), "2000-02-29");
    }
}

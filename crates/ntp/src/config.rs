//! The client's settings, mapped from `[ntp]` of the config.

use std::net::IpAddr;
use std::time::Duration;

/// How the client runs. The defaults are RFC 5905's: polls from 64 s
/// (MINPOLL 6) to 1024 s (this client's ceiling; NTP allows 36 h, but a
/// CPE without a good oscillator drifts seconds a day and wants to see it),
/// a step threshold of 128 ms (STEPT), and an initial burst of four
/// requests two seconds apart like NTP's `iburst`, so a router that boots
/// at 1970 has the right time within about ten seconds of the WAN coming up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Servers from `[ntp] servers`, tried before the WAN's.
    pub servers: Vec<IpAddr>,
    /// Whether servers learned on the WAN (DHCPv6 option 56, DHCPv4
    /// option 42) are used too.
    pub use_wan: bool,
    /// Whether the system clock is stepped (`[ntp] set_clock`). Off, the
    /// client still measures and shows the offset (labs, containers, a box
    /// whose clock another daemon owns).
    pub set_clock: bool,
    /// Shortest poll interval, and the first back-off.
    pub min_poll: Duration,
    /// Longest poll interval and back-off.
    pub max_poll: Duration,
    /// Requests in the burst of an unsynchronised client; the sample with
    /// the least round-trip delay of a burst is the one used (RFC 5905's
    /// clock filter in its simplest form: delay is what corrupts offset).
    pub burst: u32,
    /// Time between two requests of a burst, and how long a reply is
    /// awaited (an answer later than this is not worth a sample).
    pub spacing: Duration,
    /// Offsets beyond this are stepped; below it the clock is left alone.
    pub step_threshold: Duration,
}

impl Default for ClientConfig {
    fn default() -> Self {
        ClientConfig {
            servers: Vec::new(),
            use_wan: true,
            set_clock: true,
            min_poll: Duration::from_secs(64),
            max_poll: Duration::from_secs(1024),
            burst: 4,
            spacing: Duration::from_secs(2),
            step_threshold: Duration::from_millis(128),
        }
    }
}

impl ClientConfig {
    /// The client settings of `[ntp]`.
    pub fn from_config(ntp: &cpe_config::Ntp) -> ClientConfig {
        ClientConfig {
            servers: ntp.servers.clone(),
            use_wan: ntp.use_wan,
            set_clock: ntp.set_clock,
            ..ClientConfig::default()
        }
    }
}

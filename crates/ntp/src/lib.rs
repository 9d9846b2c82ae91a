//! The router's NTP client (RFC 7084 WAA-5): an SNTP client (RFC 4330,
//! with the client rules of RFC 5905) that learns its servers from the
//! WAN (DHCPv6 option 56, RFC 5908) and/or `[ntp] servers`, and steps the
//! system clock on first sync.
//!
//! Routers often have no battery-backed clock: they boot at 1970 or at the
//! image's build time, and then log lines lie, TLS certificates are "not yet
//! valid" and DNSSEC signatures fail. Stepping once the first good samples
//! arrive, and only beyond 128 ms later (RFC 5905's step threshold), fixes
//! that without a full NTP discipline; the clock is never slewed (the
//! kernel's own frequency is left alone: a CPE needs seconds, not
//! microseconds).
//!
//! - [`engine`]: the sans-IO client ([`cpe_daemon::Engine`]): server
//!   choice, polling and back-off, reply checks, offset and delay, steps.
//! - [`config`]: its settings, from `cpe_config`.
//! - [`counters`]: what it counted, for the status.
//! - `driver`: the `cpe daemon ntp` process (one fresh UDP socket, so one
//!   random source port, per request; the clock helper in `cpe_sys::clock`).

#![warn(missing_docs)]

pub mod config;
pub mod counters;
mod driver;
pub mod engine;

pub use config::ClientConfig;
pub use counters::Counters;
pub use driver::main;
pub use engine::{Action, Engine, Input, Status};

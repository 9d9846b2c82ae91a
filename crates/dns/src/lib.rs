//! DNS forwarder with cache for the LAN.
//!
//! The engine ([`engine::Forwarder`]) is a sans-IO state machine on the
//! router's one engine contract ([`cpe_daemon::Engine`]): the tokio driver
//! feeds it client and upstream packets and its timeouts with the current
//! time and executes the actions it pulls. All packet handling is
//! bounded and panic-free on hostile input (see `fuzz/`); the message codec
//! itself is `cpe_wire::dns`, this crate holds the forwarder's policy.

pub mod cache;
pub mod config;
pub mod counters;
pub mod driver;
pub mod engine;
pub mod local;
pub mod message;
pub mod rng;
pub mod upstream;

pub use driver::main;

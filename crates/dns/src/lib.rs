//! DNS forwarder with cache for the LAN.
//!
//! The engine ([`engine::Forwarder`]) is a sans-IO state machine: the tokio
//! driver feeds it client and upstream packets and timer ticks with the
//! current time and executes the actions it returns. All packet handling is
//! bounded and panic-free on hostile input (see `fuzz/`); the message codec
//! itself is `cpe_wire::dns`, this crate holds the forwarder's policy.

pub mod cache;
pub mod driver;
pub mod engine;
pub mod local;
pub mod message;
pub mod rng;
pub mod stats;
pub mod upstream;

pub use driver::main;

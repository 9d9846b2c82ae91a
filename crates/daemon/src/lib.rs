//! What every daemon of the router shares.
//!
//! Pieces land here once a second daemon needs them, so a fix reaches every
//! daemon at once instead of one copy at a time. [`Engine`] is the contract
//! every protocol engine follows; [`runner`] is the one way a daemon process
//! runs (runtime, logging, outlet, signals, status, per-LAN tasks). Apart
//! from the runner nothing here does I/O or reads the clock: callers pass
//! the time in, as the engines do.

#![warn(missing_docs)]

pub mod args;
pub mod engine;
pub mod limiter;
pub mod runner;

pub use engine::Engine;
pub use limiter::RateLimiter;
pub use runner::{Context, Lan, Mode, Outlet, Stop, StopRx};

//! What every daemon of the router shares.
//!
//! Pieces land here once a second daemon needs them, so a fix reaches every
//! daemon at once instead of one copy at a time. [`Engine`] is the contract
//! every protocol engine follows. Nothing here does I/O or reads the clock:
//! callers pass the time in, as the engines do.

#![warn(missing_docs)]

pub mod engine;
pub mod limiter;
pub mod rng;

pub use engine::Engine;
pub use limiter::RateLimiter;
pub use rng::SplitMix64;

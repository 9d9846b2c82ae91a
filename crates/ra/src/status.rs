//! The status object shown by `cpectl show lan`: the types live in
//! `cpe_bus::status::ra`, where the console reads them; the engine builds
//! them ([`crate::engine::Engine::status`]).
//!
//! Field engineers read this on a serial console to answer "what are the
//! hosts being told, and is anyone else telling them something?", so it
//! carries the live RA content (lifetimes as of now) next to the counters.

pub use cpe_bus::status::ra::{PrefixStatus, RaLanStatus as RaStatus, RogueRouter};

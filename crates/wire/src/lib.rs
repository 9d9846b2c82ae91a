//! Packet codecs for every protocol the router speaks, with no I/O.
//!
//! Every decoder here treats its input as hostile: it is bounds-checked,
//! rejects truncated or malformed data with an error (never a panic, never a
//! silent drop of a bad option), and is fuzzed (see `fuzz/`). Encoders write
//! exactly what the RFCs say, so peers that are strict accept our packets.
//! Each protocol lives in its own module so a newcomer finds it by name.
//!
//! Every module has one shape: `Message::decode(&[u8])` on its message
//! type, `encode(&self, &mut Vec<u8>) -> Result<(), EncodeError>` (and
//! `to_bytes()`), and `DecodeError::reason()`, the stable snake_case key a
//! daemon counts a drop under.

pub mod dhcpv4;
pub mod dhcpv6;
pub mod dns;
pub mod map_e;
pub mod name;
pub mod nd;
pub mod ntp;
pub mod ppp;
pub mod pppoe;

//! PPP control protocols for the PPPoE WAN, as sans-IO engines.
//!
//! Nothing here reads a clock, opens a socket or touches `/dev/ppp`: every
//! engine implements [`cpe_daemon::Engine`], takes frames (Protocol field
//! first, as the kernel's PPP channel delivers them) with the time they
//! arrived, and hands back frames to send and facts to publish. The driver
//! that moves the frames is elsewhere; the tests here run whole sessions in
//! virtual time against a peer modelled on RFC behaviour.
//!
//! - [`fsm`]: the RFC 1661 section 4 option-negotiation automaton, one
//!   implementation shared by LCP, IPCP and IPV6CP (each supplies only its
//!   option policy).
//! - [`lcp`]: the link (MRU from `wan.mtu`, Magic-Number and loop detection,
//!   Echo-Request keepalive, Protocol-Reject).
//! - [`auth`]: PAP and CHAP-MD5, as the authenticated side.
//! - [`ipcp`], [`ipv6cp`]: the network protocols.
//! - [`session`]: the phases of RFC 1661 3.2 tying them together, with each
//!   NCP independent of the other (RFC 7084 WLL-3/WLL-4).

pub mod auth;
pub mod fsm;
pub mod ipcp;
pub mod ipv6cp;
pub mod lcp;
pub mod session;
#[cfg(test)]
pub(crate) mod tests;

use cpe_sys::random::Rng as SplitMix64;
use cpe_wire::ppp::{Packet, protocol_name};
use std::fmt;

/// One PPP frame to send or received, Protocol field first.
///
/// `Debug` shows the decoded packet (PAP passwords redacted by the codec)
/// rather than the octets, so that an action printed in a log or a failing
/// test never shows a password.
#[derive(Clone, PartialEq, Eq)]
pub struct Frame(pub Vec<u8>);

impl Frame {
    /// Encodes `packet`; `None` (counted by the caller) if it cannot be, which
    /// only happens for our own oversized packets.
    pub fn encode(packet: &Packet) -> Option<Frame> {
        let mut out = Vec::new();
        packet.encode(&mut out).ok().map(|()| Frame(out))
    }

    /// The PPP Protocol field.
    pub fn protocol(&self) -> Option<u16> {
        protocol_of(&self.0)
    }
}

impl fmt::Debug for Frame {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match Packet::decode(&self.0) {
            Ok(p) => write!(
                f,
                "{} id {} {:?}",
                protocol_name(p.protocol),
                p.identifier,
                p.body
            ),
            Err(_) => write!(f, "{} octets", self.0.len()),
        }
    }
}

/// The Protocol field of a raw frame.
pub fn protocol_of(frame: &[u8]) -> Option<u16> {
    match frame {
        [a, b, ..] => Some(u16::from_be_bytes([*a, *b])),
        _ => None,
    }
}

/// Peer-supplied text (Terminate-Request data, PAP/CHAP messages) made safe
/// for a serial console: kept verbatim except that invalid UTF-8 and control
/// characters are shown escaped, so a hostile peer cannot drive the
/// engineer's terminal.
pub fn peer_text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes)
        .chars()
        .flat_map(|c| {
            let escaped: Vec<char> = if c.is_control() {
                c.escape_default().collect()
            } else {
                vec![c]
            };
            escaped
        })
        .collect()
}

/// The engines' generator: magic numbers and interface identifiers only
/// have to differ between the two ends of a link, not resist prediction,
/// and the engines must not read entropy themselves (the driver seeds them
/// once).
#[derive(Debug, Clone)]
pub struct Rng(SplitMix64);

impl Rng {
    /// A generator whose sequence is determined by `seed`.
    pub fn new(seed: u64) -> Rng {
        Rng(SplitMix64::new(seed))
    }

    /// Next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        self.0.next_u64()
    }

    /// A non-zero 32-bit value (a zero Magic-Number is illegal, RFC 1661 6.4).
    pub fn nonzero_u32(&mut self) -> u32 {
        loop {
            let v = (self.next_u64() >> 32) as u32;
            if v != 0 {
                return v;
            }
        }
    }
}

//! IPV6CP (RFC 5072): the interface identifiers of both ends, from which
//! each forms its link-local address; addresses and prefixes come later
//! from DHCPv6-PD over the PPP link.
//!
//! We ask for our identifier (derived by the driver, e.g. from the WAN MAC,
//! or random). RFC 5072 4.1 collision rules: a peer identifier of zero, or
//! equal to ours, is Nak'd with a fresh non-zero value for the peer; a Nak
//! of ours is taken if it is non-zero and differs from the peer's, else we
//! pick a fresh one. A Rejected Interface-Identifier is not asked again (we
//! keep ours). Any other option (IPv6-Compression-Protocol) is Rejected.

use super::Rng;
use super::fsm::{Fsm, Options, Timers, Verdict};
use cpe_wire::ppp::{ConfigOption, PROTO_IPV6CP};
use std::net::Ipv6Addr;

/// What IPV6CP negotiated.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Ipv6Params {
    /// Our interface identifier.
    pub local: [u8; 8],
    /// The peer's, if it sent one.
    pub peer: Option<[u8; 8]>,
}

impl Ipv6Params {
    /// Our link-local address, fe80::/64 plus the identifier.
    pub fn link_local(&self) -> Ipv6Addr {
        link_local(self.local)
    }

    /// The peer's link-local address (the default route's gateway).
    pub fn peer_link_local(&self) -> Option<Ipv6Addr> {
        self.peer.map(link_local)
    }
}

fn link_local(iid: [u8; 8]) -> Ipv6Addr {
    let mut octets = [0u8; 16];
    octets[0] = 0xfe;
    octets[1] = 0x80;
    octets[8..].copy_from_slice(&iid);
    Ipv6Addr::from(octets)
}

/// The IPV6CP option policy.
#[derive(Debug, Clone)]
pub struct Ipv6cpOptions {
    local: [u8; 8],
    request_id: bool,
    peer: Option<[u8; 8]>,
    pending_peer: Option<[u8; 8]>,
    rng: Rng,
}

/// The IPV6CP engine: the shared automaton with this policy.
pub type Ipv6cp = Fsm<Ipv6cpOptions>;

/// An IPV6CP engine proposing `local` (a random one if `None` or zero).
pub fn ipv6cp(local: Option<[u8; 8]>, rng: Rng, timers: Timers) -> Ipv6cp {
    Fsm::new(PROTO_IPV6CP, Ipv6cpOptions::new(local, rng), timers)
}

impl Ipv6cpOptions {
    /// Our policy proposing `local` (random if `None` or zero).
    pub fn new(local: Option<[u8; 8]>, mut rng: Rng) -> Ipv6cpOptions {
        let local = local
            .filter(|id| *id != [0; 8])
            .unwrap_or_else(|| fresh(&mut rng, None));
        Ipv6cpOptions {
            local,
            request_id: true,
            peer: None,
            pending_peer: None,
            rng,
        }
    }

    /// The negotiated identifiers.
    pub fn params(&self) -> Ipv6Params {
        Ipv6Params {
            local: self.local,
            peer: self.peer,
        }
    }
}

/// A random non-zero identifier different from `avoid`.
fn fresh(rng: &mut Rng, avoid: Option<[u8; 8]>) -> [u8; 8] {
    loop {
        let id = rng.next_u64().to_be_bytes();
        if id != [0; 8] && Some(id) != avoid {
            return id;
        }
    }
}

impl Options for Ipv6cpOptions {
    fn request(&mut self) -> Vec<ConfigOption> {
        if self.request_id {
            vec![ConfigOption::InterfaceId(self.local)]
        } else {
            Vec::new()
        }
    }

    fn check(&mut self, options: &[ConfigOption]) -> Verdict {
        let (mut naks, mut rejects) = (Vec::new(), Vec::new());
        self.pending_peer = None;
        for option in options {
            match option {
                ConfigOption::InterfaceId(id) if *id == [0; 8] || *id == self.local => {
                    let suggestion = fresh(&mut self.rng, Some(self.local));
                    naks.push(ConfigOption::InterfaceId(suggestion));
                }
                ConfigOption::InterfaceId(id) => self.pending_peer = Some(*id),
                _ => rejects.push(option.clone()),
            }
        }
        Verdict::from_lists(naks, rejects)
    }

    fn peer_acked(&mut self, _options: &[ConfigOption]) {
        self.peer = self.pending_peer;
    }

    fn acked(&mut self, _options: &[ConfigOption]) -> Result<(), String> {
        Ok(())
    }

    fn nakked(&mut self, options: &[ConfigOption]) -> Result<(), String> {
        for option in options {
            if let ConfigOption::InterfaceId(id) = option {
                self.local = if *id != [0; 8] && Some(*id) != self.peer {
                    *id
                } else {
                    fresh(&mut self.rng, self.peer)
                };
            }
        }
        Ok(())
    }

    fn rejected(&mut self, options: &[ConfigOption]) -> Result<(), String> {
        if options
            .iter()
            .any(|o| matches!(o, ConfigOption::InterfaceId(_)))
        {
            self.request_id = false;
        }
        Ok(())
    }
}

//! IPCP (RFC 1332) with the DNS options of RFC 1877: the WAN's IPv4
//! address, the peer's address and up to two resolvers.
//!
//! We ask for IP-Address, Primary-DNS (129) and Secondary-DNS (131), all
//! 0.0.0.0, and take the values the access concentrator puts in its
//! Configure-Nak. A DNS option it Rejects is simply not asked again (the
//! router then has no ISP resolver over IPv4, which is legal); a rejected
//! IP-Address, or an Ack of 0.0.0.0, leaves no IPv4 address, so IPCP closes
//! with that reason while LCP and IPV6CP carry on. The peer's own request:
//! its IP-Address is acknowledged unless it is 0.0.0.0 (we have no address
//! to give it); every other option (VJ compression, ...) is Rejected.

use super::fsm::{Fsm, Options, Timers, Verdict};
use cpe_wire::ppp::{ConfigOption, PROTO_IPCP};
use std::net::Ipv4Addr;

/// What IPCP negotiated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ipv4Params {
    /// Our address.
    pub local: Ipv4Addr,
    /// The peer's address, if it told us.
    pub peer: Option<Ipv4Addr>,
    /// Resolvers, primary first (zero addresses left out).
    pub dns: Vec<Ipv4Addr>,
}

/// The IPCP option policy.
#[derive(Debug, Clone)]
pub struct IpcpOptions {
    local: Ipv4Addr,
    dns: [Option<Ipv4Addr>; 2],
    peer: Option<Ipv4Addr>,
    pending_peer: Option<Ipv4Addr>,
}

/// The IPCP engine: the shared automaton with this policy.
pub type Ipcp = Fsm<IpcpOptions>;

/// An IPCP engine asking for an address and both resolvers.
pub fn ipcp(timers: Timers) -> Ipcp {
    Fsm::new(PROTO_IPCP, IpcpOptions::new(), timers)
}

impl IpcpOptions {
    /// Asks for everything, with 0.0.0.0 placeholders.
    pub fn new() -> IpcpOptions {
        IpcpOptions {
            local: Ipv4Addr::UNSPECIFIED,
            dns: [Some(Ipv4Addr::UNSPECIFIED); 2],
            peer: None,
            pending_peer: None,
        }
    }

    /// The negotiated values.
    pub fn params(&self) -> Ipv4Params {
        Ipv4Params {
            local: self.local,
            peer: self.peer,
            dns: self
                .dns
                .iter()
                .flatten()
                .filter(|a| !a.is_unspecified())
                .copied()
                .collect(),
        }
    }
}

impl Default for IpcpOptions {
    fn default() -> IpcpOptions {
        IpcpOptions::new()
    }
}

impl Options for IpcpOptions {
    fn request(&mut self) -> Vec<ConfigOption> {
        let mut o = vec![ConfigOption::IpAddress(self.local)];
        if let Some(a) = self.dns[0] {
            o.push(ConfigOption::PrimaryDns(a));
        }
        if let Some(a) = self.dns[1] {
            o.push(ConfigOption::SecondaryDns(a));
        }
        o
    }

    fn check(&mut self, options: &[ConfigOption]) -> Verdict {
        let mut rejects = Vec::new();
        self.pending_peer = None;
        for option in options {
            match option {
                ConfigOption::IpAddress(a) if !a.is_unspecified() => self.pending_peer = Some(*a),
                _ => rejects.push(option.clone()),
            }
        }
        Verdict::from_lists(Vec::new(), rejects)
    }

    fn peer_acked(&mut self, _options: &[ConfigOption]) {
        self.peer = self.pending_peer;
    }

    fn acked(&mut self, _options: &[ConfigOption]) -> Result<(), String> {
        if self.local.is_unspecified() {
            return Err("the peer acknowledged 0.0.0.0: no IPv4 address was assigned".into());
        }
        Ok(())
    }

    fn nakked(&mut self, options: &[ConfigOption]) -> Result<(), String> {
        for option in options {
            match option {
                ConfigOption::IpAddress(a) => self.local = *a,
                ConfigOption::PrimaryDns(a) if self.dns[0].is_some() => self.dns[0] = Some(*a),
                ConfigOption::SecondaryDns(a) if self.dns[1].is_some() => self.dns[1] = Some(*a),
                _ => {}
            }
        }
        Ok(())
    }

    fn rejected(&mut self, options: &[ConfigOption]) -> Result<(), String> {
        for option in options {
            match option {
                ConfigOption::IpAddress(_) => {
                    return Err("the peer rejected IP-Address: no IPv4 address is assigned".into());
                }
                ConfigOption::PrimaryDns(_) => self.dns[0] = None,
                ConfigOption::SecondaryDns(_) => self.dns[1] = None,
                _ => {}
            }
        }
        Ok(())
    }
}

//! DHCPv4 leases as busybox `udhcpc` hands them to its event script.
//!
//! The lab's udhcpc script dumps its environment (`ip=`, `mask=`,
//! `router=`, `dns=`, ...) into a file; parsing that file tells a DHCPv4
//! server test exactly what the client accepted.

use std::net::Ipv4Addr;

/// One lease as the client saw it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Dhcp4Lease {
    /// Script event that wrote it (`bound` or `renew`).
    pub event: String,
    /// Interface.
    pub interface: String,
    /// Leased address.
    pub ip: Option<Ipv4Addr>,
    /// Prefix length (`mask`, or derived from `subnet`).
    pub prefix_len: Option<u8>,
    /// Routers (option 3), in order.
    pub routers: Vec<Ipv4Addr>,
    /// DNS servers (option 6), in order.
    pub dns: Vec<Ipv4Addr>,
    /// Domain name (option 15).
    pub domain: Option<String>,
    /// Lease time in seconds (option 51).
    pub lease_secs: Option<u32>,
    /// Server identifier (option 54).
    pub server_id: Option<Ipv4Addr>,
    /// Interface MTU (option 26).
    pub mtu: Option<u16>,
    /// NTP servers (option 42, `ntpsrv`), in order.
    pub ntp: Vec<Ipv4Addr>,
}

/// Parses `KEY=value` lines (the output of `env`). Unknown keys and
/// malformed values are ignored.
pub fn parse_udhcpc_env(text: &str) -> Dhcp4Lease {
    let mut lease = Dhcp4Lease::default();
    let mut subnet_len = None;
    for line in text.lines() {
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = value.trim();
        match key {
            "event" => lease.event = value.to_string(),
            "interface" => lease.interface = value.to_string(),
            "ip" => lease.ip = value.parse().ok(),
            "mask" => lease.prefix_len = value.parse().ok().filter(|&n: &u8| n <= 32),
            "subnet" => subnet_len = value.parse::<Ipv4Addr>().ok().and_then(mask_len),
            "router" => lease.routers = addrs(value),
            "dns" => lease.dns = addrs(value),
            "domain" => lease.domain = Some(value.to_string()),
            "lease" => lease.lease_secs = value.parse().ok(),
            "serverid" => lease.server_id = value.parse().ok(),
            "mtu" => lease.mtu = value.parse().ok(),
            "ntpsrv" => lease.ntp = addrs(value),
            _ => {}
        }
    }
    if lease.prefix_len.is_none() {
        lease.prefix_len = subnet_len;
    }
    lease
}

fn addrs(value: &str) -> Vec<Ipv4Addr> {
    value
        .split_whitespace()
        .filter_map(|a| a.parse().ok())
        .collect()
}

/// `255.255.255.0` -> 24; `None` for a non-contiguous mask.
fn mask_len(mask: Ipv4Addr) -> Option<u8> {
    let bits = u32::from(mask);
    let len = bits.leading_ones();
    (bits.checked_shl(len).unwrap_or(0) == 0).then(|| u8::try_from(len).unwrap_or(32))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_what_udhcpc_exports() {
        let env = "interface=eth0\nip=192.168.1.117\nsubnet=255.255.255.0\nmask=24\n\
                   router=192.168.1.1 192.168.1.2\ndns=192.168.1.1\ndomain=lan\nlease=3600\n\
                   serverid=192.168.1.1\nopt53=05\nPATH=/usr/bin\nevent=bound\n\
                   ntpsrv=192.0.2.123 192.0.2.124\n";
        let l = parse_udhcpc_env(env);
        assert_eq!(l.event, "bound");
        assert_eq!(l.interface, "eth0");
        assert_eq!(l.ip, Some(Ipv4Addr::new(192, 168, 1, 117)));
        assert_eq!(l.prefix_len, Some(24));
        assert_eq!(l.routers.len(), 2);
        assert_eq!(l.dns, vec![Ipv4Addr::new(192, 168, 1, 1)]);
        assert_eq!(l.domain.as_deref(), Some("lan"));
        assert_eq!(l.lease_secs, Some(3600));
        assert_eq!(l.server_id, Some(Ipv4Addr::new(192, 168, 1, 1)));
        assert_eq!(
            l.ntp,
            [Ipv4Addr::new(192, 0, 2, 123), Ipv4Addr::new(192, 0, 2, 124)]
        );
    }

    #[test]
    fn subnet_fills_in_a_missing_mask_and_garbage_is_ignored() {
        let l = parse_udhcpc_env("subnet=255.255.240.0\nip=x\nmask=99\nrouter=1.2.3\n=\n");
        assert_eq!(l.prefix_len, Some(20));
        assert_eq!(l.ip, None);
        assert!(l.routers.is_empty());
        assert_eq!(mask_len(Ipv4Addr::new(255, 0, 255, 0)), None);
        assert_eq!(mask_len(Ipv4Addr::new(255, 255, 255, 255)), Some(32));
        assert_eq!(mask_len(Ipv4Addr::new(0, 0, 0, 0)), Some(0));
    }
}

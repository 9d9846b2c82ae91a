//! What the kernel says about a LAN interface: index, MAC and IPv6
//! addresses, read from `/sys` and `/proc/net/if_inet6`.
//!
//! Text files instead of netlink keep this free of unsafe code and of a
//! netlink dependency in the RA daemon; they are polled (cheap) because
//! addresses appear late (DAD, the supervisor numbering the LAN).

use std::fs;
use std::net::Ipv6Addr;

/// IPv6 address scope "link" in `/proc/net/if_inet6`.
const SCOPE_LINK: u8 = 0x20;
/// IFA_F_TENTATIVE: DAD still running, the address cannot be used yet.
const FLAG_TENTATIVE: u8 = 0x40;
/// IFA_F_DADFAILED.
const FLAG_DADFAILED: u8 = 0x08;

/// One interface's state.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IfaceInfo {
    /// Kernel interface index.
    pub index: u32,
    /// MAC address, if it has one.
    pub mac: Option<[u8; 6]>,
    /// Usable link-local addresses.
    pub link_local: Vec<Ipv6Addr>,
    /// Usable global/ULA addresses.
    pub global: Vec<Ipv6Addr>,
}

/// Reads the interface's state; `None` if it does not exist.
pub fn read(name: &str) -> Option<IfaceInfo> {
    if name.is_empty() || name.contains('/') || name.starts_with('.') {
        return None;
    }
    let index = fs::read_to_string(format!("/sys/class/net/{name}/ifindex"))
        .ok()?
        .trim()
        .parse()
        .ok()?;
    let mac = fs::read_to_string(format!("/sys/class/net/{name}/address"))
        .ok()
        .and_then(|s| parse_mac(s.trim()));
    let table = fs::read_to_string("/proc/net/if_inet6").unwrap_or_default();
    let (link_local, global) = addresses(&table, name);
    Some(IfaceInfo {
        index,
        mac,
        link_local,
        global,
    })
}

/// Parses `aa:bb:cc:dd:ee:ff`; all-zero (no MAC) is `None`.
pub fn parse_mac(text: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = text.split(':');
    for byte in &mut mac {
        *byte = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    (parts.next().is_none() && mac != [0; 6]).then_some(mac)
}

/// Usable (link-local, other) addresses of `name` in `/proc/net/if_inet6` text.
pub fn addresses(table: &str, name: &str) -> (Vec<Ipv6Addr>, Vec<Ipv6Addr>) {
    let mut link_local = Vec::new();
    let mut global = Vec::new();
    for line in table.lines() {
        let f: Vec<&str> = line.split_whitespace().collect();
        let [hex, _index, _plen, scope, flags, dev] = f.as_slice() else {
            continue;
        };
        if *dev != name || hex.len() != 32 {
            continue;
        }
        let (Ok(bits), Ok(scope), Ok(flags)) = (
            u128::from_str_radix(hex, 16),
            u8::from_str_radix(scope, 16),
            u8::from_str_radix(flags, 16),
        ) else {
            continue;
        };
        if flags & (FLAG_TENTATIVE | FLAG_DADFAILED) != 0 {
            continue;
        }
        let addr = Ipv6Addr::from(bits);
        if scope == SCOPE_LINK {
            link_local.push(addr);
        } else if scope == 0 {
            global.push(addr);
        }
    }
    (link_local, global)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_proc_table() {
        let table = "\
fe80000000000000000000fffe000001 05 40 20 80     br0
20010db8000100010000000000000001 05 40 00 80     br0
20010db8000100010000000000000002 05 40 00 c0     br0
fe80000000000000000000fffe000002 06 40 20 80    wan0
00000000000000000000000000000001 01 80 10 80       lo
garbage line
";
        let (ll, g) = addresses(table, "br0");
        assert_eq!(ll, ["fe80::ff:fe00:1".parse::<Ipv6Addr>().unwrap()]);
        assert_eq!(
            g,
            ["2001:db8:1:1::1".parse::<Ipv6Addr>().unwrap()],
            "tentative skipped"
        );
        assert_eq!(
            parse_mac("02:00:5e:00:53:01"),
            Some([2, 0, 0x5e, 0, 0x53, 1])
        );
        assert_eq!(parse_mac("00:00:00:00:00:00"), None);
        assert_eq!(parse_mac("02:00:5e"), None);
        assert_eq!(read("../etc"), None);
        assert!(read("lo").is_some_and(|i| i.index > 0));
    }
}

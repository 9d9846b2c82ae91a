//! ISC `dhclient -6` lease files.
//!
//! dhclient is the stand-in client on the router's WAN: the lease file it
//! writes is the record of what the ISP's server delegated (IA_PD prefixes,
//! IA_NA addresses, DNS options). The `default-duid` line is also how the
//! lab gives a client a chosen DUID (for reservations): it is written before
//! dhclient starts and dhclient adopts it.

use std::net::Ipv6Addr;

use ipnet::Ipv6Net;

/// Everything in one lease file.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DhclientLeaseFile {
    /// The client's DUID (`default-duid`), raw bytes.
    pub default_duid: Option<Vec<u8>>,
    /// Leases in file order; dhclient appends, so the last one is current.
    pub leases: Vec<DhclientLease>,
}

impl DhclientLeaseFile {
    /// The most recent lease, if any.
    pub fn current(&self) -> Option<&DhclientLease> {
        self.leases.last()
    }
}

/// One `lease6 { ... }` block.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DhclientLease {
    /// Interface the lease was obtained on.
    pub interface: String,
    /// IA_NA addresses.
    pub addresses: Vec<LeasedAddress>,
    /// IA_PD prefixes.
    pub prefixes: Vec<LeasedPrefix>,
    /// T1 of the (last) IA, seconds.
    pub renew: Option<u32>,
    /// T2 of the (last) IA, seconds.
    pub rebind: Option<u32>,
    /// OPTION_DNS_SERVERS (23).
    pub dns_servers: Vec<Ipv6Addr>,
    /// OPTION_DOMAIN_LIST (24), without trailing dots.
    pub domain_search: Vec<String>,
}

/// An IA_NA address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeasedAddress {
    /// The address.
    pub addr: Ipv6Addr,
    /// Preferred lifetime, seconds.
    pub preferred: Option<u32>,
    /// Valid lifetime, seconds.
    pub valid: Option<u32>,
}

/// An IA_PD prefix.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LeasedPrefix {
    /// The delegated prefix.
    pub prefix: Ipv6Net,
    /// Preferred lifetime, seconds.
    pub preferred: Option<u32>,
    /// Valid lifetime, seconds.
    pub valid: Option<u32>,
}

/// Which block the parser is inside, innermost last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Block {
    Lease,
    Ia,
    Addr,
    Prefix,
    Unknown,
}

/// Parses a lease file; unknown statements are ignored, nothing panics.
pub fn parse_dhclient_leases(text: &str) -> DhclientLeaseFile {
    let mut file = DhclientLeaseFile::default();
    let mut stack: Vec<Block> = Vec::new();
    for raw in text.lines() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        if line.starts_with('}') {
            stack.pop();
            continue;
        }
        let stmt = line.trim_end_matches(['{', ';']).trim();
        let (word, rest) = stmt.split_once(char::is_whitespace).unwrap_or((stmt, ""));
        let rest = rest.trim();
        let opens = line.ends_with('{');
        let top = stack.last().copied();
        let lease = file.leases.last_mut();
        match (top, word, lease) {
            (None, "default-duid", _) => file.default_duid = decode_string(rest),
            (None, "lease6", _) if opens => {
                file.leases.push(DhclientLease::default());
                stack.push(Block::Lease);
                continue;
            }
            (Some(Block::Lease), "interface", Some(l)) => {
                l.interface = decode_string(rest)
                    .map(|b| String::from_utf8_lossy(&b).into_owned())
                    .unwrap_or_default();
            }
            (Some(Block::Lease), "ia-na" | "ia-pd", _) if opens => {
                stack.push(Block::Ia);
                continue;
            }
            (Some(Block::Lease), "option", Some(l)) => parse_option(l, rest),
            (Some(Block::Ia), "renew", Some(l)) => l.renew = rest.parse().ok(),
            (Some(Block::Ia), "rebind", Some(l)) => l.rebind = rest.parse().ok(),
            (Some(Block::Ia), "iaaddr", Some(l)) if opens => {
                if let Ok(addr) = rest.parse() {
                    l.addresses.push(LeasedAddress {
                        addr,
                        preferred: None,
                        valid: None,
                    });
                    stack.push(Block::Addr);
                } else {
                    stack.push(Block::Unknown);
                }
                continue;
            }
            (Some(Block::Ia), "iaprefix", Some(l)) if opens => {
                if let Ok(prefix) = rest.parse() {
                    l.prefixes.push(LeasedPrefix {
                        prefix,
                        preferred: None,
                        valid: None,
                    });
                    stack.push(Block::Prefix);
                } else {
                    stack.push(Block::Unknown);
                }
                continue;
            }
            (Some(Block::Addr), "preferred-life" | "max-life", Some(l)) => {
                if let Some(a) = l.addresses.last_mut() {
                    set_lifetime(word, rest, &mut a.preferred, &mut a.valid);
                }
            }
            (Some(Block::Prefix), "preferred-life" | "max-life", Some(l)) => {
                if let Some(p) = l.prefixes.last_mut() {
                    set_lifetime(word, rest, &mut p.preferred, &mut p.valid);
                }
            }
            _ => {}
        }
        if opens {
            stack.push(Block::Unknown);
        }
    }
    file
}

fn set_lifetime(word: &str, value: &str, preferred: &mut Option<u32>, valid: &mut Option<u32>) {
    let v = value.parse().ok();
    if word == "preferred-life" {
        *preferred = v;
    } else {
        *valid = v;
    }
}

fn parse_option(lease: &mut DhclientLease, rest: &str) {
    let (name, value) = rest.split_once(char::is_whitespace).unwrap_or((rest, ""));
    match name {
        "dhcp6.name-servers" => {
            lease.dns_servers = value
                .split(',')
                .filter_map(|a| a.trim().parse().ok())
                .collect();
        }
        "dhcp6.domain-search" => {
            lease.domain_search = value
                .split(',')
                .filter_map(|d| decode_string(d.trim()))
                .map(|b| {
                    String::from_utf8_lossy(&b)
                        .trim_end_matches('.')
                        .to_string()
                })
                .collect();
        }
        _ => {}
    }
}

/// Encodes bytes as a dhclient quoted string: printable ASCII as is, the
/// rest as three-digit octal escapes (how dhclient itself writes DUIDs).
pub fn encode_dhclient_string(bytes: &[u8]) -> String {
    let mut s = String::with_capacity(bytes.len() * 4 + 2);
    s.push('"');
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                s.push('\\');
                s.push(char::from(b));
            }
            0x20..=0x7e => s.push(char::from(b)),
            _ => s.push_str(&format!("\\{b:03o}")),
        }
    }
    s.push('"');
    s
}

/// Decodes a dhclient quoted string (`"..."` with C-style and octal
/// escapes). `None` if it is not a well-formed quoted string.
pub fn decode_string(quoted: &str) -> Option<Vec<u8>> {
    let inner = quoted.trim().strip_prefix('"')?.strip_suffix('"')?;
    let bytes = inner.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        i += 1;
        if b != b'\\' {
            out.push(b);
            continue;
        }
        let &e = bytes.get(i)?;
        i += 1;
        match e {
            b'0'..=b'7' => {
                let mut v: u32 = u32::from(e - b'0');
                for _ in 0..2 {
                    match bytes.get(i) {
                        Some(&d @ b'0'..=b'7') => {
                            v = v * 8 + u32::from(d - b'0');
                            i += 1;
                        }
                        _ => break,
                    }
                }
                out.push(u8::try_from(v).ok()?);
            }
            b'x' => {
                let hex = inner.get(i..i + 2)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            b'n' => out.push(b'\n'),
            b't' => out.push(b'\t'),
            b'r' => out.push(b'\r'),
            b'b' => out.push(8),
            other => out.push(other),
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Captured from dhclient 4.4.3 against Kea 2.2 in the lab.
    const SAMPLE: &str = r#"default-duid "\000\001\000\0012\227\210\216\002\000\000\000\002\001";
lease6 {
  interface "wan0";
  ia-na 00:00:02:01 {
    starts 1795476496;
    renew 1000;
    rebind 2000;
    iaaddr 2001:db8:ffff::1000 {
      starts 1795476496;
      preferred-life 3000;
      max-life 4000;
    }
  }
  ia-pd 00:00:02:01 {
    starts 1795476496;
    renew 1000;
    rebind 2000;
    iaprefix 2001:db8:1000::/56 {
      starts 1795476496;
      preferred-life 3000;
      max-life 4000;
    }
  }
  option dhcp6.client-id 0:1:0:1:32:97:88:8e:2:0:0:0:2:1;
  option dhcp6.name-servers 2001:db8:53::1,2001:db8:53::2;
  option dhcp6.domain-search "example.test.", "lab.test.";
}
"#;

    #[test]
    fn parses_the_lease_dhclient_wrote() {
        let f = parse_dhclient_leases(SAMPLE);
        assert_eq!(
            f.default_duid.as_deref(),
            Some(&[0, 1, 0, 1, b'2', 0o227, 0o210, 0o216, 2, 0, 0, 0, 2, 1][..])
        );
        let l = f.current().unwrap();
        assert_eq!(l.interface, "wan0");
        assert_eq!(
            l.addresses[0].addr,
            "2001:db8:ffff::1000".parse::<Ipv6Addr>().unwrap()
        );
        assert_eq!(l.addresses[0].valid, Some(4000));
        assert_eq!(
            l.prefixes[0].prefix,
            "2001:db8:1000::/56".parse::<Ipv6Net>().unwrap()
        );
        assert_eq!(l.prefixes[0].preferred, Some(3000));
        assert_eq!(l.renew, Some(1000));
        assert_eq!(l.dns_servers.len(), 2);
        assert_eq!(l.domain_search, vec!["example.test", "lab.test"]);
    }

    #[test]
    fn later_leases_win_and_garbage_is_ignored() {
        let two = format!(
            "{SAMPLE}{}",
            SAMPLE.replace("2001:db8:1000::/56", "2001:db8:2000::/56")
        );
        let f = parse_dhclient_leases(&two);
        assert_eq!(f.leases.len(), 2);
        assert_eq!(
            f.current().unwrap().prefixes[0].prefix.to_string(),
            "2001:db8:2000::/56"
        );
        let junk = "}}}\nlease6 {\n iaprefix x {\n ia-pd {\n iaprefix zz/99 {\n max-life q;\n}\n";
        let f = parse_dhclient_leases(junk);
        assert!(f.current().unwrap().prefixes.is_empty());
        assert_eq!(decode_string("\"\\"), None);
        assert_eq!(decode_string("\"\\777\""), None);
        assert_eq!(decode_string("\"\\x4\""), None);
    }

    proptest! {
        #[test]
        fn duid_strings_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..130)) {
            let enc = encode_dhclient_string(&bytes);
            prop_assert_eq!(decode_string(&enc), Some(bytes.clone()));
            let file = parse_dhclient_leases(&format!("default-duid {enc};\n"));
            prop_assert_eq!(file.default_duid, Some(bytes));
        }
    }
}

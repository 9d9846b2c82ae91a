//! Kea's memfile lease database (`kea-leases6.csv`).
//!
//! The ISP side's own record of what it handed out: a test can check that
//! the prefix our client uses is the one the server delegated, to which DUID
//! and IAID, and that a Release really freed it (Kea appends a row with
//! `valid_lifetime` 0 when a lease is released).

use std::net::Ipv6Addr;

use ipnet::Ipv6Net;

/// One row of the lease file (Kea appends; later rows update earlier ones).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeaLease6 {
    /// Address (IA_NA) or prefix (IA_PD) with its length.
    pub prefix: Ipv6Net,
    /// True for IA_PD (`lease_type` 2), false for IA_NA (0).
    pub is_pd: bool,
    /// Client DUID as lowercase hex bytes.
    pub duid: Vec<u8>,
    /// IAID.
    pub iaid: u32,
    /// Valid lifetime, seconds; 0 after a release.
    pub valid_lifetime: u32,
    /// Preferred lifetime, seconds.
    pub preferred_lifetime: u32,
    /// Expiry, seconds since the Unix epoch.
    pub expire: u64,
    /// Kea subnet id.
    pub subnet_id: u32,
    /// Kea lease state (0 default, 1 declined, 2 expired-reclaimed).
    pub state: u32,
}

/// Parses the CSV by header names, so column order changes between Kea
/// versions do not matter. Rows that do not parse are skipped.
pub fn parse_kea_leases6(csv: &str) -> Vec<KeaLease6> {
    let mut lines = csv.lines();
    let Some(header) = lines.next() else {
        return Vec::new();
    };
    let cols: Vec<&str> = header.split(',').map(str::trim).collect();
    let col = |name: &str| cols.iter().position(|c| *c == name);
    let (Some(address), Some(duid), Some(valid), Some(expire), Some(subnet), Some(pref)) = (
        col("address"),
        col("duid"),
        col("valid_lifetime"),
        col("expire"),
        col("subnet_id"),
        col("pref_lifetime"),
    ) else {
        return Vec::new();
    };
    let (Some(lease_type), Some(iaid), Some(prefix_len)) =
        (col("lease_type"), col("iaid"), col("prefix_len"))
    else {
        return Vec::new();
    };
    let state = col("state");
    lines
        .filter_map(|line| {
            let f: Vec<&str> = line.split(',').collect();
            let get = |i: usize| f.get(i).map(|s| s.trim());
            let addr: Ipv6Addr = get(address)?.parse().ok()?;
            let len: u8 = get(prefix_len)?.parse().ok()?;
            Some(KeaLease6 {
                prefix: Ipv6Net::new(addr, len).ok()?,
                is_pd: get(lease_type)? == "2",
                duid: parse_hex_bytes(get(duid)?)?,
                iaid: get(iaid)?.parse().ok()?,
                valid_lifetime: get(valid)?.parse().ok()?,
                preferred_lifetime: get(pref)?.parse().ok()?,
                expire: get(expire)?.parse().ok()?,
                subnet_id: get(subnet)?.parse().ok()?,
                state: state
                    .and_then(get)
                    .and_then(|s| s.parse().ok())
                    .unwrap_or(0),
            })
        })
        .collect()
}

/// `00:01:0a` -> `[0, 1, 10]`.
pub fn parse_hex_bytes(s: &str) -> Option<Vec<u8>> {
    if s.is_empty() {
        return Some(Vec::new());
    }
    s.split(':')
        .map(|b| u8::from_str_radix(b, 16).ok())
        .collect()
}

/// `[0, 1, 10]` -> `00:01:0a` (Kea's and dhclient's DUID notation).
pub fn hex_bytes(bytes: &[u8]) -> String {
    bytes
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const SAMPLE: &str = "address,duid,valid_lifetime,expire,subnet_id,pref_lifetime,lease_type,iaid,prefix_len,fqdn_fwd,fqdn_rev,hostname,hwaddr,state,user_context,hwtype,hwaddr_source
2001:db8:ffff::1000,00:01:00:01:32:97:88:8e:02:00:00:00:02:01,4000,1795480496,1,3000,0,513,128,0,0,,02:00:00:00:02:01,0,,1,2
2001:db8:1000::,00:01:00:01:32:97:88:8e:02:00:00:00:02:01,4000,1795480496,1,3000,2,513,56,0,0,,02:00:00:00:02:01,0,,1,2
bad,row
2001:db8:1000::,zz,4000,1,1,3000,2,513,56
";

    #[test]
    fn parses_na_and_pd_rows() {
        let l = parse_kea_leases6(SAMPLE);
        assert_eq!(l.len(), 2);
        assert!(!l[0].is_pd);
        assert_eq!(l[0].prefix.to_string(), "2001:db8:ffff::1000/128");
        assert!(l[1].is_pd);
        assert_eq!(l[1].prefix.to_string(), "2001:db8:1000::/56");
        assert_eq!(l[1].iaid, 513);
        assert_eq!(
            hex_bytes(&l[1].duid),
            "00:01:00:01:32:97:88:8e:02:00:00:00:02:01"
        );
        assert_eq!(parse_kea_leases6("x,y\n1,2\n"), vec![]);
        assert_eq!(parse_kea_leases6(""), vec![]);
    }

    proptest! {
        #[test]
        fn hex_bytes_round_trip(bytes in proptest::collection::vec(any::<u8>(), 0..130)) {
            prop_assert_eq!(parse_hex_bytes(&hex_bytes(&bytes)), Some(bytes));
        }
    }
}

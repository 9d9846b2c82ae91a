//! Router Advertisements as printed by `rdisc6` (package ndisc6).
//!
//! rdisc6 is an independent RA decoder, so it is the LAN-side witness of
//! what our RA sender (or the ISP's radvd) really put on the wire: flags,
//! lifetimes, PIO, RDNSS, DNSSL, MTU and route information options.

use std::net::Ipv6Addr;

use ipnet::Ipv6Net;

/// One Router Advertisement.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RaInfo {
    /// Cur Hop Limit (0 = unspecified).
    pub hop_limit: Option<u8>,
    /// M flag: addresses via DHCPv6.
    pub managed: bool,
    /// O flag: other configuration via DHCPv6.
    pub other: bool,
    /// Default router preference (`low`, `medium`, `high`).
    pub preference: String,
    /// Router lifetime in seconds (0 = not a default router).
    pub router_lifetime: u32,
    /// Prefix information options.
    pub prefixes: Vec<RaPrefix>,
    /// RDNSS addresses, in order.
    pub rdnss: Vec<Ipv6Addr>,
    /// Lifetime of the (last) RDNSS option.
    pub rdnss_lifetime: Option<u32>,
    /// DNSSL domains, in order.
    pub dnssl: Vec<String>,
    /// MTU option.
    pub mtu: Option<u32>,
    /// Route information options (RFC 4191).
    pub routes: Vec<RaRoute>,
    /// Source link-layer address option, as printed.
    pub source_mac: Option<String>,
    /// Source address of the RA.
    pub from: Option<Ipv6Addr>,
}

/// A Prefix Information option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaPrefix {
    /// The prefix.
    pub prefix: Ipv6Net,
    /// L flag.
    pub on_link: bool,
    /// A flag (SLAAC).
    pub autonomous: bool,
    /// Valid lifetime in seconds (`u32::MAX` = infinite).
    pub valid: u32,
    /// Preferred lifetime in seconds (`u32::MAX` = infinite).
    pub preferred: u32,
}

/// A Route Information option.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RaRoute {
    /// The route's prefix.
    pub prefix: Ipv6Net,
    /// Route preference.
    pub preference: String,
    /// Route lifetime in seconds.
    pub lifetime: u32,
}

/// Which option block a sub-line ("  Valid time") belongs to.
enum Section {
    Header,
    Prefix,
    Rdnss,
    Route,
    Other,
}

/// Parses everything rdisc6 printed; one entry per RA received.
pub fn parse_rdisc6(text: &str) -> Vec<RaInfo> {
    let mut out = Vec::new();
    let mut cur: Option<RaInfo> = None;
    let mut section = Section::Header;
    for line in text.lines() {
        let trimmed = line.trim();
        if let Some(from) = trimmed.strip_prefix("from ") {
            if let Some(mut ra) = cur.take() {
                ra.from = from.trim().parse().ok();
                out.push(ra);
            }
            continue;
        }
        let Some((key, value)) = trimmed.split_once(':') else {
            continue;
        };
        let (key, value) = (key.trim(), value.trim());
        if key == "Hop limit" {
            if let Some(ra) = cur.take() {
                out.push(ra);
            }
            cur = Some(RaInfo {
                hop_limit: number(value).and_then(|n| u8::try_from(n).ok()),
                ..RaInfo::default()
            });
            section = Section::Header;
            continue;
        }
        let Some(ra) = cur.as_mut() else {
            continue;
        };
        match key {
            "Stateful address conf." => ra.managed = yes(value),
            "Stateful other conf." => ra.other = yes(value),
            "Router preference" => ra.preference = value.to_string(),
            "Router lifetime" => ra.router_lifetime = number(value).unwrap_or(0),
            "Prefix" => {
                section = Section::Other;
                if let Ok(prefix) = value.parse() {
                    ra.prefixes.push(RaPrefix {
                        prefix,
                        on_link: false,
                        autonomous: false,
                        valid: 0,
                        preferred: 0,
                    });
                    section = Section::Prefix;
                }
            }
            "On-link" => {
                if let Some(p) = last_prefix(ra, &section) {
                    p.on_link = yes(value);
                }
            }
            "Autonomous address conf." => {
                if let Some(p) = last_prefix(ra, &section) {
                    p.autonomous = yes(value);
                }
            }
            "Valid time" => {
                if let Some(p) = last_prefix(ra, &section) {
                    p.valid = number(value).unwrap_or(0);
                }
            }
            "Pref. time" => {
                if let Some(p) = last_prefix(ra, &section) {
                    p.preferred = number(value).unwrap_or(0);
                }
            }
            "Recursive DNS server" => {
                section = Section::Rdnss;
                ra.rdnss.extend(value.parse::<Ipv6Addr>().ok());
            }
            "DNS server lifetime" | "DNS servers lifetime" => {
                if matches!(section, Section::Rdnss) {
                    ra.rdnss_lifetime = number(value);
                }
            }
            "DNS search list" => {
                section = Section::Other;
                ra.dnssl.extend(
                    value
                        .split_whitespace()
                        .map(|d| d.trim_end_matches('.').to_string()),
                );
            }
            "MTU" => {
                section = Section::Other;
                ra.mtu = number(value);
            }
            "Route" => {
                section = Section::Other;
                if let Ok(prefix) = value.parse() {
                    ra.routes.push(RaRoute {
                        prefix,
                        preference: String::new(),
                        lifetime: 0,
                    });
                    section = Section::Route;
                }
            }
            "Route preference" => {
                if let Some(r) = last_route(ra, &section) {
                    r.preference = value.to_string();
                }
            }
            "Route lifetime" => {
                if let Some(r) = last_route(ra, &section) {
                    r.lifetime = number(value).unwrap_or(0);
                }
            }
            "Source link-layer address" => {
                section = Section::Other;
                ra.source_mac = Some(value.to_string());
            }
            _ => {}
        }
    }
    out.extend(cur);
    out
}

/// The prefix a "  Valid time" sub-line belongs to, if the last option
/// header was a PIO.
fn last_prefix<'a>(ra: &'a mut RaInfo, section: &Section) -> Option<&'a mut RaPrefix> {
    match section {
        Section::Prefix => ra.prefixes.last_mut(),
        _ => None,
    }
}

/// The route a "  Route lifetime" sub-line belongs to.
fn last_route<'a>(ra: &'a mut RaInfo, section: &Section) -> Option<&'a mut RaRoute> {
    match section {
        Section::Route => ra.routes.last_mut(),
        _ => None,
    }
}

fn yes(v: &str) -> bool {
    v.eq_ignore_ascii_case("yes")
}

/// `1800 (0x00000708) seconds` -> 1800; `infinite (0xffffffff)` -> MAX;
/// `unspecified (0x00000000)` -> 0.
fn number(v: &str) -> Option<u32> {
    let first = v.split_whitespace().next()?;
    match first {
        "infinite" => Some(u32::MAX),
        "unspecified" => Some(0),
        n => n.parse().ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Captured from rdisc6 1.0.5 against radvd 2.19 in the lab.
    pub(crate) const SAMPLE: &str = "Soliciting ff02::2 (ff02::2) on wan0...

Hop limit                 :           64 (      0x40)
Stateful address conf.    :          Yes
Stateful other conf.      :          Yes
Mobile home agent         :           No
Router preference         :       medium
Neighbor discovery proxy  :           No
Router lifetime           :         1800 (0x00000708) seconds
Reachable time            :  unspecified (0x00000000)
Retransmit time           :  unspecified (0x00000000)
 Prefix                   : 2001:db8:ffff::/64
  On-link                 :          Yes
  Autonomous address conf.:          Yes
  Valid time              :        86400 (0x00015180) seconds
  Pref. time              :     infinite (0xffffffff)
 Recursive DNS server     : 2001:db8:53::1
 Recursive DNS server     : 2001:db8:53::2
  DNS server lifetime     :           10 (0x0000000a) seconds
 DNS search list          : example.test lab.test.
  DNS search list lifetime:           10 (0x0000000a) seconds
 MTU                      :         1492 bytes (valid)
 Route                    : 2001:db8:100::/48
  Route preference        :         high
  Route lifetime          :          600 (0x00000258) seconds
 Source link-layer address: 02:00:00:00:01:01
 from fe80::ff:fe00:101
";

    #[test]
    fn parses_a_full_advertisement() {
        let ras = parse_rdisc6(SAMPLE);
        assert_eq!(ras.len(), 1);
        let ra = &ras[0];
        assert_eq!(ra.hop_limit, Some(64));
        assert!(ra.managed && ra.other);
        assert_eq!(ra.preference, "medium");
        assert_eq!(ra.router_lifetime, 1800);
        assert_eq!(
            ra.prefixes,
            vec![RaPrefix {
                prefix: "2001:db8:ffff::/64".parse().unwrap(),
                on_link: true,
                autonomous: true,
                valid: 86400,
                preferred: u32::MAX,
            }]
        );
        assert_eq!(ra.rdnss.len(), 2);
        assert_eq!(ra.rdnss_lifetime, Some(10));
        assert_eq!(ra.dnssl, vec!["example.test", "lab.test"]);
        assert_eq!(ra.mtu, Some(1492));
        assert_eq!(ra.routes[0].preference, "high");
        assert_eq!(ra.routes[0].lifetime, 600);
        assert_eq!(ra.source_mac.as_deref(), Some("02:00:00:00:01:01"));
        assert_eq!(ra.from, Some("fe80::ff:fe00:101".parse().unwrap()));
    }

    #[test]
    fn two_advertisements_and_garbage() {
        let text = format!("{SAMPLE}{}", SAMPLE.replace("Yes", "No"));
        let ras = parse_rdisc6(&text);
        assert_eq!(ras.len(), 2);
        assert!(!ras[1].managed && !ras[1].prefixes[0].on_link);
        assert!(parse_rdisc6("Timed out.\n: : :\nfrom x\nValid time : 5").is_empty());
    }
}

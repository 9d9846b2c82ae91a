//! Addresses and routes as reported by `ip -j` (iproute2's JSON output).
//!
//! Tests wait on what the kernel actually installed (a SLAAC address that is
//! no longer tentative, a default route learned from an RA), so these types
//! keep the flags that matter for that and nothing else.

use std::net::IpAddr;

use ipnet::IpNet;
use serde_json::Value;

use crate::error::{LabError, Result};

/// One address on an interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IfAddr {
    /// Interface name.
    pub ifname: String,
    /// The address with its prefix length.
    pub net: IpNet,
    /// `global`, `link` or `host`.
    pub scope: String,
    /// Still running DAD: not usable as a source yet.
    pub tentative: bool,
    /// Optimistic DAD address (usable while DAD runs).
    pub optimistic: bool,
    /// DAD found a duplicate.
    pub dadfailed: bool,
    /// Preferred lifetime ran out.
    pub deprecated: bool,
    /// Learned (SLAAC/DHCP) rather than static.
    pub dynamic: bool,
    /// Valid lifetime in seconds; `None` for forever.
    pub valid_lft: Option<u32>,
    /// Preferred lifetime in seconds; `None` for forever.
    pub preferred_lft: Option<u32>,
}

impl IfAddr {
    /// The bare address.
    pub fn addr(&self) -> IpAddr {
        self.net.addr()
    }

    /// The address if it is IPv6 (most lab checks are).
    pub fn v6(&self) -> Option<std::net::Ipv6Addr> {
        match self.net.addr() {
            IpAddr::V6(a) => Some(a),
            IpAddr::V4(_) => None,
        }
    }

    /// Global scope, DAD done and not failed: usable for traffic.
    pub fn is_usable_global(&self) -> bool {
        self.scope == "global" && !self.tentative && !self.dadfailed
    }
}

/// One route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination; `None` for the default route.
    pub dst: Option<IpNet>,
    /// Next hop, if any.
    pub gateway: Option<IpAddr>,
    /// Output interface.
    pub dev: Option<String>,
    /// `kernel`, `ra`, `static`, `boot`, ...
    pub protocol: Option<String>,
    /// Route metric.
    pub metric: Option<u32>,
    /// Route type when not unicast (`unreachable`, `blackhole`, ...).
    pub kind: Option<String>,
}

impl Route {
    /// True for `default` (::/0 or 0.0.0.0/0).
    pub fn is_default(&self) -> bool {
        match self.dst {
            None => true,
            Some(net) => net.prefix_len() == 0,
        }
    }
}

/// Parses `ip -j addr show` output.
pub fn parse_addresses(json: &str) -> Result<Vec<IfAddr>> {
    let root = parse_array(json, "ip -j addr")?;
    let mut out = Vec::new();
    for link in root {
        let ifname = link
            .get("ifname")
            .and_then(Value::as_str)
            .unwrap_or_default()
            .to_string();
        let Some(infos) = link.get("addr_info").and_then(Value::as_array) else {
            continue;
        };
        for info in infos {
            let Some(local) = info.get("local").and_then(Value::as_str) else {
                continue;
            };
            let Some(len) = info.get("prefixlen").and_then(Value::as_u64) else {
                continue;
            };
            let Ok(addr) = local.parse::<IpAddr>() else {
                continue;
            };
            let Ok(net) = IpNet::new(addr, u8::try_from(len).unwrap_or(u8::MAX)) else {
                continue;
            };
            let flag = |k: &str| info.get(k).and_then(Value::as_bool).unwrap_or(false);
            out.push(IfAddr {
                ifname: ifname.clone(),
                net,
                scope: info
                    .get("scope")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
                    .to_string(),
                tentative: flag("tentative"),
                optimistic: flag("optimistic"),
                dadfailed: flag("dadfailed"),
                deprecated: flag("deprecated"),
                dynamic: flag("dynamic"),
                valid_lft: lifetime(info.get("valid_life_time")),
                preferred_lft: lifetime(info.get("preferred_life_time")),
            });
        }
    }
    Ok(out)
}

/// Parses `ip -j route show` output.
pub fn parse_routes(json: &str) -> Result<Vec<Route>> {
    let root = parse_array(json, "ip -j route")?;
    let mut out = Vec::new();
    for r in root {
        let text = |k: &str| r.get(k).and_then(Value::as_str).map(str::to_string);
        let dst = match text("dst").as_deref() {
            None | Some("default") => None,
            Some(d) => match parse_dst(d) {
                Some(net) => Some(net),
                None => continue,
            },
        };
        out.push(Route {
            dst,
            gateway: text("gateway").and_then(|g| g.parse().ok()),
            dev: text("dev"),
            protocol: text("protocol"),
            metric: r
                .get("metric")
                .and_then(Value::as_u64)
                .and_then(|m| u32::try_from(m).ok()),
            kind: text("type"),
        });
    }
    Ok(out)
}

/// `ip` prints host routes without a length (`2001:db8::1`).
fn parse_dst(d: &str) -> Option<IpNet> {
    d.parse::<IpNet>()
        .ok()
        .or_else(|| d.parse::<IpAddr>().ok().map(IpNet::from))
}

fn parse_array(json: &str, what: &str) -> Result<Vec<Value>> {
    if json.trim().is_empty() {
        return Ok(Vec::new());
    }
    match serde_json::from_str::<Value>(json) {
        Ok(Value::Array(items)) => Ok(items),
        Ok(_) => Err(LabError::new(format!("{what}: JSON is not an array"))),
        Err(e) => Err(LabError::new(format!("{what}: bad JSON: {e}"))),
    }
}

/// iproute2 prints 4294967295 for "forever".
fn lifetime(v: Option<&Value>) -> Option<u32> {
    let n = v?.as_u64()?;
    u32::try_from(n).ok().filter(|&n| n != u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const ADDRS: &str = r#"[{"ifindex":2,"ifname":"wan0","flags":["BROADCAST","UP"],"addr_info":[
        {"family":"inet6","local":"2001:db8:ffff::ff:fe00:201","prefixlen":64,"scope":"global","dynamic":true,"mngtmpaddr":true,"tentative":true,"valid_life_time":86400,"preferred_life_time":14400},
        {"family":"inet6","local":"fe80::ff:fe00:201","prefixlen":64,"scope":"link","valid_life_time":4294967295,"preferred_life_time":4294967295},
        {"family":"inet","local":"192.0.2.7","prefixlen":24,"scope":"global"}]}]"#;

    #[test]
    fn addresses_keep_dad_state_and_lifetimes() {
        let a = parse_addresses(ADDRS).unwrap();
        assert_eq!(a.len(), 3);
        assert_eq!(a[0].net, "2001:db8:ffff::ff:fe00:201/64".parse().unwrap());
        assert!(a[0].tentative && a[0].dynamic && !a[0].is_usable_global());
        assert_eq!(a[0].valid_lft, Some(86400));
        assert_eq!(a[1].scope, "link");
        assert_eq!(a[1].valid_lft, None);
        assert_eq!(a[2].addr().to_string(), "192.0.2.7");
        assert_eq!(a[2].ifname, "wan0");
    }

    #[test]
    fn routes_parse_default_host_and_unreachable() {
        let json = r#"[{"dst":"default","gateway":"fe80::ff:fe00:101","dev":"wan0","protocol":"ra","metric":1024,"flags":[]},
            {"dst":"2001:db8:53::1","dev":"lo","protocol":"kernel","metric":256},
            {"type":"unreachable","dst":"2001:db8:1000::/56","dev":"lo","metric":1024}]"#;
        let r = parse_routes(json).unwrap();
        assert!(r[0].is_default());
        assert_eq!(r[0].gateway, Some("fe80::ff:fe00:101".parse().unwrap()));
        assert_eq!(r[0].protocol.as_deref(), Some("ra"));
        assert_eq!(r[1].dst, Some("2001:db8:53::1/128".parse().unwrap()));
        assert_eq!(r[2].kind.as_deref(), Some("unreachable"));
    }

    #[test]
    fn malformed_json_is_an_error_not_a_panic() {
        assert!(parse_addresses("{").is_err());
        assert!(parse_routes("{}").is_err());
        assert_eq!(parse_routes("").unwrap(), vec![]);
        let odd =
            r#"[{"addr_info":[{"local":"x","prefixlen":64},{"local":"::1","prefixlen":999}]}, 5]"#;
        assert_eq!(parse_addresses(odd).unwrap(), vec![]);
    }
}

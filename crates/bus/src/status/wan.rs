//! The WAN daemon's own status (`cpectl show wan`'s daemon part): what the
//! facts do not carry, for an engineer chasing a problem. IPoE fills the
//! link, RA, RDNSS and DHCPv4 parts; PPPoE fills `pppoe`.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::state::WanState;

/// The daemon's whole status object.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct WanStatus {
    /// `ipoe` or `pppoe`.
    pub mode: String,
    /// The WAN interface.
    pub interface: String,
    /// IPoE: the state as in the facts.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<WanState>,
    /// Why, in words (PPPoE: only while the interface is missing).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// IPoE: link, RA, RDNSS, DHCPv4 and counters (top-level fields on
    /// the wire).
    #[serde(flatten)]
    pub ipoe: Option<IpoeStatus>,
    /// PPPoE discovery and session.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub pppoe: Option<PppoeStatus>,
    /// IPv4 over IPv6 (DS-Lite or MAP-E), when `[wan.ipv4_over_ipv6]` is not off.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ipv4_over_ipv6: Option<S46Status>,
}

/// The IPv4-over-IPv6 softwire (DS-Lite B4 or MAP-E CE).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct S46Status {
    /// `auto`, `dslite` or `map-e`.
    pub mode: String,
    /// The mechanism running: `dslite` or `map-e` (in `auto`, what
    /// [`crate::s46::choose`] picked from DHCPv6); absent when none runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub chosen: Option<String>,
    /// Why that one (in `auto`, what the ISP offered), or why none.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub choice: Option<String>,
    /// DS-Lite: `waiting-address`, `no-aftr`, `no-dns`, `resolving`,
    /// `resolve-failed`, `creating`, `failed` or `up`. MAP-E: `no-rule`,
    /// `no-br`, `bad-rule`, `waiting-prefix`, `rule-mismatch`, `creating`,
    /// `failed` or `up`. `auto` with nothing offered: `no-offer`, or
    /// before DHCPv6's first Reply `waiting-dhcpv6`.
    pub state: String,
    /// Why it is not up, with the evidence.
    pub reason: Option<String>,
    /// The AFTR as configured or from DHCPv6 option 64.
    pub aftr: Option<String>,
    /// `config` or `dhcpv6`.
    pub aftr_source: Option<String>,
    /// The AFTR's IPv6 address, once resolved.
    pub aftr_address: Option<String>,
    /// The tunnel interface.
    pub tunnel: String,
    /// Our end of the softwire (the WAN address), once up.
    pub local: Option<String>,
    /// Tunnel MTU, once up.
    pub mtu: Option<u32>,
    /// The B4's IPv4 address (192.0.0.2/29), or MAP-E's shared address
    /// (/32), once up.
    pub ipv4: Option<String>,
    /// MAP-E: the Border Relay, once a rule is in force.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub br: Option<String>,
    /// MAP-E: where the rule comes from, `config` or `dhcpv6`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_source: Option<String>,
    /// MAP-E: the rule's IPv6 prefix.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rule_prefix: Option<String>,
    /// MAP-E: the delegated prefix the mapping comes from.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub delegated: Option<String>,
    /// MAP-E: the shared IPv4 address the rule gives us.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map_ipv4: Option<String>,
    /// MAP-E: the MAP IPv6 address (RFC 7597 6) put on the WAN.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub map_ipv6: Option<String>,
    /// MAP-E: the Port Set ID.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psid: Option<u16>,
    /// MAP-E: PSID length in bits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psid_len: Option<u8>,
    /// MAP-E: PSID offset in bits.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub psid_offset: Option<u8>,
    /// MAP-E: the port set, compact ("1232-1235 2256-2259 ... (63
    /// ranges, 252 ports)").
    #[serde(skip_serializing_if = "Option::is_none")]
    pub port_ranges: Option<String>,
}

/// The IPoE part, flattened into [`WanStatus`] on the wire.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IpoeStatus {
    /// The WAN link, once it exists.
    pub link: Option<LinkStatus>,
    /// The ISP's last Router Advertisement.
    pub last_ra: Option<LastRa>,
    /// DNS servers from RDNSS with their remaining lifetime.
    pub rdnss: Vec<RdnssStatus>,
    /// The DHCPv4 lease.
    pub ipv4: Option<Ipv4Status>,
    /// What the daemon counted.
    pub counters: IpoeCounters,
    /// The DHCPv4 client, when it runs.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dhcpv4: Option<Dhcp4ClientStatus>,
}

/// The WAN's DHCPv4 client.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Dhcp4ClientStatus {
    /// Client state (`selecting`, `bound`, ...).
    pub state: String,
    /// Leased address with prefix length.
    pub address: Option<String>,
    /// The server that gave it.
    pub server: Option<String>,
    /// Gateway.
    pub router: Option<String>,
    /// Seconds until the lease ends.
    pub lease_s: Option<u64>,
    /// Seconds until renewing (bound only).
    pub t1_s: Option<u64>,
    /// Seconds until rebinding.
    pub t2_s: Option<u64>,
    /// Malformed replies dropped.
    pub malformed: u64,
    /// Replies not for us, ignored.
    pub ignored: u64,
    /// DHCPNAKs received.
    pub naks: u64,
}

/// The WAN link.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LinkStatus {
    /// Interface index.
    pub index: u32,
    /// Administratively up.
    pub admin_up: bool,
    /// Carrier.
    pub carrier: bool,
    /// MTU.
    pub mtu: u32,
    /// Hardware address.
    pub mac: Option<String>,
}

/// The ISP's last RA.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct LastRa {
    /// Its source (link-local).
    pub from: String,
    /// Seconds since it arrived.
    pub age_s: u64,
    /// M flag.
    pub managed: bool,
    /// O flag.
    pub other_config: bool,
    /// Router lifetime, seconds.
    pub router_lifetime: u16,
    /// MTU option.
    pub mtu: Option<u32>,
    /// Seconds between the last two RAs from this router; `None` until
    /// two came.
    pub interval_s: Option<u64>,
}

/// One RDNSS server.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct RdnssStatus {
    /// The server.
    pub server: String,
    /// Seconds of lifetime left.
    pub lifetime_s: u64,
}

/// The DHCPv4 lease on the WAN.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Ipv4Status {
    /// Leased address.
    pub address: String,
    /// Gateway.
    pub router: Option<String>,
    /// DNS servers.
    pub dns: Vec<String>,
}

/// IPoE counters.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct IpoeCounters {
    /// RAs accepted.
    pub ra_accepted: u64,
    /// Packets dropped as invalid RAs.
    pub ra_rejected: u64,
    /// Router Solicitations sent.
    pub rs_sent: u64,
    /// Malformed netlink notifications dropped.
    pub netlink_malformed: u64,
}

/// PPPoE discovery and session.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct PppoeStatus {
    /// Discovery's `idle`, `discovery`, `request`, `session`, `holdoff`,
    /// `stopped`; once PPP runs, its `lcp`, `auth`, `network`, `terminate`.
    pub phase: String,
    /// Service-Name asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub service: Option<String>,
    /// AC-Name asked for.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ac_name_wanted: Option<String>,
    /// The access concentrator chosen.
    pub ac: Option<AcStatus>,
    /// Session id, `0x0001`.
    pub session_id: Option<String>,
    /// The session that ended last.
    pub last_session_id: Option<String>,
    /// Discovery attempts.
    pub attempts: u64,
    /// The last failure, with the AC's own words.
    pub last_failure: Option<String>,
    /// Sent, by packet name.
    pub sent: BTreeMap<String, u64>,
    /// Accepted, by packet name.
    pub received: BTreeMap<String, u64>,
    /// Dropped, by reason.
    pub dropped: BTreeMap<String, u64>,
    /// Frames the socket refused to send.
    pub send_errors: u64,
    /// The PPP unit while the kernel session exists (`ppp0`).
    pub unit: Option<String>,
    /// Our MRU, once LCP opened.
    pub mru: Option<u16>,
    /// The MTU on the unit (the peer's MRU, at most `wan.mtu`).
    pub mtu: Option<u32>,
    /// IPCP: `up <address> peer <address> dns <a>, <b>`, or its state and
    /// why it is not up.
    pub ipcp: Option<String>,
    /// IPV6CP: `up <link-local> peer <link-local>`, or why not.
    pub ipv6cp: Option<String>,
    /// The last authentication failure, with the server's text.
    pub auth_failure: Option<String>,
    /// Reconnect attempts since the daemon started.
    pub reconnects: u64,
    /// Seconds until the next reconnect attempt, when one is scheduled.
    pub next_attempt_s: Option<u64>,
}

/// An access concentrator.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct AcStatus {
    /// AC-Name, printable.
    pub name: String,
    /// Its MAC.
    pub mac: String,
}

crate::from_json! {
    S46Status {
        mode, chosen, choice, state, reason, aftr, aftr_source, aftr_address, tunnel, local, mtu, ipv4, br,
        rule_source, rule_prefix, delegated, map_ipv4, map_ipv6, psid, psid_len, psid_offset,
        port_ranges
    }
    IpoeStatus { link, last_ra, rdnss, ipv4, counters, dhcpv4 }
    Dhcp4ClientStatus { state, address, server, router, lease_s, t1_s, t2_s, malformed, ignored, naks }
    LinkStatus { index, admin_up, carrier, mtu, mac }
    LastRa { from, age_s, managed, other_config, router_lifetime, mtu, interval_s }
    RdnssStatus { server, lifetime_s }
    Ipv4Status { address, router, dns }
    IpoeCounters { ra_accepted, ra_rejected, rs_sent, netlink_malformed }
    PppoeStatus {
        phase, service, ac_name_wanted, ac, session_id, last_session_id, attempts, last_failure,
        sent, received, dropped, send_errors, unit, mru, mtu, ipcp, ipv6cp, auth_failure,
        reconnects, next_attempt_s
    }
    AcStatus { name, mac }
}

impl crate::status::json::FromJson for WanStatus {
    /// By hand for the flattened IPoE part: its fields are this object's
    /// own, and it is always there (all its fields have defaults), as
    /// serde's `flatten` read it.
    fn from_json(v: &serde_json::Value) -> Option<Self> {
        use crate::status::json::field;
        let o = v.as_object()?;
        Some(WanStatus {
            mode: field(o, "mode"),
            interface: field(o, "interface"),
            state: field(o, "state"),
            reason: field(o, "reason"),
            ipoe: Some(IpoeStatus::from_json(v)?),
            pppoe: field(o, "pppoe"),
            ipv4_over_ipv6: field(o, "ipv4_over_ipv6"),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::status::json::read;

    /// What the daemon writes, the console reads: every field set to
    /// something other than its default, in both modes.
    #[test]
    fn a_full_status_reads_back_as_written() {
        let ipoe = WanStatus {
            mode: "ipoe".into(),
            interface: "wan0".into(),
            state: Some(WanState::Up),
            reason: Some("up".into()),
            ipoe: Some(IpoeStatus {
                link: Some(LinkStatus {
                    index: 3,
                    admin_up: true,
                    carrier: true,
                    mtu: 1500,
                    mac: Some("02:00:00:00:00:01".into()),
                }),
                last_ra: Some(LastRa {
                    from: "fe80::1".into(),
                    age_s: 4,
                    managed: true,
                    other_config: true,
                    router_lifetime: 1800,
                    mtu: Some(1454),
                    interval_s: Some(200),
                }),
                rdnss: vec![RdnssStatus {
                    server: "2001:db8::53".into(),
                    lifetime_s: 600,
                }],
                ipv4: Some(Ipv4Status {
                    address: "192.0.2.10/24".into(),
                    router: Some("192.0.2.1".into()),
                    dns: vec!["192.0.2.53".into()],
                }),
                counters: IpoeCounters {
                    ra_accepted: 1,
                    ra_rejected: 2,
                    rs_sent: 3,
                    netlink_malformed: 4,
                },
                dhcpv4: Some(Dhcp4ClientStatus {
                    state: "bound".into(),
                    address: Some("192.0.2.10/24".into()),
                    server: Some("192.0.2.1".into()),
                    router: Some("192.0.2.1".into()),
                    lease_s: Some(3600),
                    t1_s: Some(1800),
                    t2_s: Some(3150),
                    malformed: 5,
                    ignored: 6,
                    naks: 7,
                }),
            }),
            pppoe: None,
            ipv4_over_ipv6: Some(S46Status {
                mode: "dslite".into(),
                state: "up".into(),
                reason: Some("up".into()),
                aftr: Some("aftr.example".into()),
                aftr_source: Some("dhcpv6".into()),
                aftr_address: Some("2001:db8::aa".into()),
                tunnel: "dslite0".into(),
                local: Some("2001:db8:1::2".into()),
                mtu: Some(1460),
                ipv4: Some("192.0.0.2/29".into()),
                ..S46Status::default()
            }),
        };
        let v = serde_json::to_value(&ipoe).unwrap();
        assert_eq!(read::<WanStatus>(&v), Some(ipoe));
        let map_e = S46Status {
            mode: "map-e".into(),
            state: "up".into(),
            tunnel: "map0".into(),
            br: Some("2001:db8:ffff::1".into()),
            rule_source: Some("config".into()),
            rule_prefix: Some("2001:db8::/40".into()),
            delegated: Some("2001:db8:12:3400::/56".into()),
            map_ipv4: Some("192.0.2.18".into()),
            map_ipv6: Some("2001:db8:12:3400:0:c000:212:34".into()),
            psid: Some(0x34),
            psid_len: Some(8),
            psid_offset: Some(6),
            port_ranges: Some("1232-1235 ... (63 ranges, 252 ports)".into()),
            ..S46Status::default()
        };
        let v = serde_json::to_value(&map_e).unwrap();
        assert_eq!(read::<S46Status>(&v), Some(map_e));

        let pppoe = WanStatus {
            mode: "pppoe".into(),
            interface: "wan0".into(),
            state: None,
            reason: None,
            ipoe: Some(IpoeStatus::default()),
            pppoe: Some(PppoeStatus {
                phase: "session".into(),
                service: Some("internet".into()),
                ac_name_wanted: Some("ac1".into()),
                ac: Some(AcStatus {
                    name: "ac1".into(),
                    mac: "02:00:00:00:00:02".into(),
                }),
                session_id: Some("0x0001".into()),
                last_session_id: Some("0x0002".into()),
                attempts: 2,
                last_failure: Some("AC-System-Error: full".into()),
                sent: [("PADI".to_string(), 2)].into(),
                received: [("PADO".to_string(), 1)].into(),
                dropped: [("host_uniq".to_string(), 9)].into(),
                send_errors: 1,
                unit: Some("ppp0".into()),
                mru: Some(1492),
                mtu: Some(1492),
                ipcp: Some("192.0.2.7 peer 192.0.2.1".into()),
                ipv6cp: Some("fe80::1234".into()),
                auth_failure: Some("PAP: Login incorrect".into()),
                reconnects: 3,
                next_attempt_s: Some(12),
            }),
            ipv4_over_ipv6: None,
        };
        let v = serde_json::to_value(&pppoe).unwrap();
        assert_eq!(read::<WanStatus>(&v), Some(pppoe));
    }
}

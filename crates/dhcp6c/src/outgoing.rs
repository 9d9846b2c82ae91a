//! Building the client's messages (RFC 8415 section 18.2).

use std::net::Ipv6Addr;

use cpe_wire::dhcpv6::{
    DhcpOption, Duid, IaAddress, IaNa, IaPd, IaPrefix, Message, MessageType, PdExclude,
    TransactionId, code,
};
use ipnet::Ipv6Net;

/// Options we ask for. SOL_MAX_RT must be in every ORO a client sends
/// (21.24); DNS servers and the search list feed the DNS forwarder, NTP
/// servers the NTP client (RFC 7084 WAA-5: "requests the NTP Server
/// DHCPv6 option [RFC5908]").
const ORO: [u16; 4] = [
    code::DNS_SERVERS,
    code::DOMAIN_LIST,
    code::NTP_SERVER,
    code::SOL_MAX_RT,
];

/// Options we ask for in an Information-request: INF_MAX_RT must be in it
/// instead of SOL_MAX_RT (21.25), and the refresh time tells us when to ask
/// again (21.23).
const ORO_INFORMATION: [u16; 5] = [
    code::DNS_SERVERS,
    code::DOMAIN_LIST,
    code::NTP_SERVER,
    code::INFORMATION_REFRESH_TIME,
    code::INF_MAX_RT,
];

/// Which IAs go into a message, and what to put in them.
#[derive(Debug, Clone, Default)]
pub(crate) struct IaContents {
    /// IA_PD with these prefixes (lifetimes 0: hints or bindings to extend).
    pub pd: Option<(u32, Vec<Ipv6Net>)>,
    /// The parts of those prefixes the server excluded (RFC 6603), named
    /// again in a Release.
    pub pd_excluded: Vec<Ipv6Net>,
    /// IA_NA with these addresses.
    pub na: Option<(u32, Vec<Ipv6Addr>)>,
}

/// `with_excluded`: each IA Prefix carries the Prefix Exclude options of
/// its excluded parts (RFC 6603 6.1, for Release: "The prefix(es) to be
/// released MUST be included in the IA_PDs along with the excluded prefix").
fn push_ias(options: &mut Vec<DhcpOption>, ias: &IaContents, with_excluded: bool) {
    if let Some((iaid, prefixes)) = &ias.pd {
        options.push(DhcpOption::IaPd(IaPd {
            iaid: *iaid,
            t1: 0,
            t2: 0,
            options: prefixes
                .iter()
                .map(|p| {
                    DhcpOption::IaPrefix(IaPrefix {
                        preferred: 0,
                        valid: 0,
                        prefix_len: p.prefix_len(),
                        prefix: p.addr(),
                        options: ias
                            .pd_excluded
                            .iter()
                            .filter(|_| with_excluded)
                            .filter_map(|x| {
                                PdExclude::new(
                                    (p.network(), p.prefix_len()),
                                    (x.network(), x.prefix_len()),
                                )
                            })
                            .map(DhcpOption::PdExclude)
                            .collect(),
                    })
                })
                .collect(),
        }));
    }
    if let Some((iaid, addrs)) = &ias.na {
        options.push(DhcpOption::IaNa(IaNa {
            iaid: *iaid,
            t1: 0,
            t2: 0,
            options: addrs
                .iter()
                .map(|a| {
                    DhcpOption::IaAddr(IaAddress {
                        addr: *a,
                        preferred: 0,
                        valid: 0,
                        options: Vec::new(),
                    })
                })
                .collect(),
        }));
    }
}

/// Builds a client message. `server` is put in Server Identifier (Request,
/// Renew, Release); Rapid Commit only goes into Solicit. Elapsed Time starts
/// at 0 and is updated per transmission by [`set_elapsed`].
pub(crate) fn build(
    msg_type: MessageType,
    xid: TransactionId,
    client: &Duid,
    server: Option<&Duid>,
    ias: &IaContents,
    rapid_commit: bool,
    extra_oro: &[u16],
) -> Message {
    let mut m = Message::new(msg_type, xid);
    m.options.push(DhcpOption::ClientId(client.clone()));
    if let Some(s) = server {
        m.options.push(DhcpOption::ServerId(s.clone()));
    }
    m.options.push(DhcpOption::ElapsedTime(0));
    match msg_type {
        MessageType::Release | MessageType::Decline => {}
        MessageType::InformationRequest => {
            let mut oro = ORO_INFORMATION.to_vec();
            oro.extend_from_slice(extra_oro);
            m.options.push(DhcpOption::Oro(oro));
        }
        _ => {
            let mut oro = ORO.to_vec();
            oro.extend_from_slice(extra_oro);
            // RFC 6603 5.1/6.1: a requesting router that honours Prefix
            // Exclude SHOULD ask for it whenever it asks for prefixes.
            if ias.pd.is_some() {
                oro.push(code::PD_EXCLUDE);
            }
            m.options.push(DhcpOption::Oro(oro));
        }
    }
    if rapid_commit && msg_type == MessageType::Solicit {
        m.options.push(DhcpOption::RapidCommit);
    }
    push_ias(&mut m.options, ias, msg_type == MessageType::Release);
    m
}

/// Sets Elapsed Time: centiseconds since the first transmission of this
/// exchange, saturating at 0xffff (21.9).
pub(crate) fn set_elapsed(m: &mut Message, elapsed: std::time::Duration) {
    let centis = (elapsed.as_millis() / 10).min(0xffff) as u16;
    for o in &mut m.options {
        if let DhcpOption::ElapsedTime(t) = o {
            *t = centis;
        }
    }
}

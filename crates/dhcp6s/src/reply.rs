//! Building Replies.

use std::net::Ipv6Addr;

use cpe_wire::dhcpv6::{
    DhcpOption, Duid, IaNa, IaPd, Message, MessageType, NtpSuboption, Status, StatusCode, code,
};

use crate::config::ServerConfig;

/// The Reply skeleton: same transaction, our Server ID, the client's
/// Client ID if it sent one (RFC 8415 18.3.6 / 18.3.10).
fn skeleton(req: &Message, duid: &Duid) -> Message {
    let mut reply = Message::new(MessageType::Reply, req.transaction_id);
    reply.options.push(DhcpOption::ServerId(duid.clone()));
    if let Some(client) = req.client_id() {
        reply.options.push(DhcpOption::ClientId(client.clone()));
    }
    reply
}

/// The codes in the request's Option Request option(s).
fn requested(req: &Message) -> Vec<u16> {
    req.options
        .iter()
        .filter_map(|o| match o {
            DhcpOption::Oro(codes) => Some(codes.iter().copied()),
            _ => None,
        })
        .flatten()
        .collect()
}

/// Reply to an Information-request: the configuration options the client
/// asked for in its ORO (RFC 8415 18.3.6: servers answer the ORO; we add
/// nothing unrequested so small clients are not surprised), plus the
/// Information Refresh Time in every Reply to an Information-request, asked
/// for or not (RFC 4242, carried into RFC 8415 21.23, allows a server to
/// send it unrequested): it is what bounds how long a host keeps a resolver
/// address after a renumbering, and clients that do not know it ignore it.
pub(crate) fn information(
    req: &Message,
    duid: &Duid,
    config: &ServerConfig,
    self_address: Option<Ipv6Addr>,
    ntp: &[Ipv6Addr],
) -> Message {
    let mut reply = skeleton(req, duid);
    let oro = requested(req);
    let wants = |c: u16| oro.contains(&c);
    if wants(code::DNS_SERVERS) {
        let dns = config.resolved_dns(self_address);
        if !dns.is_empty() {
            reply.options.push(DhcpOption::DnsServers(dns));
        }
    }
    if wants(code::DOMAIN_LIST) && !config.domain_search.is_empty() {
        reply
            .options
            .push(DhcpOption::DomainList(config.domain_search.clone()));
    }
    if wants(code::NTP_SERVER) && !ntp.is_empty() {
        reply.options.push(DhcpOption::NtpServer(
            ntp.iter()
                .map(|a| NtpSuboption::ServerAddress(*a))
                .collect(),
        ));
    }
    reply.options.push(DhcpOption::InformationRefreshTime(
        config.information_refresh,
    ));
    reply
}

fn status(status: Status, message: &str) -> DhcpOption {
    DhcpOption::StatusCode(StatusCode {
        status,
        message: message.to_string(),
    })
}

/// Reply to Request/Renew/Release/Decline from a server without bindings:
/// each IA comes back empty with `ia_status` (NoPrefixAvail for IA_PD in
/// place of NoAddrsAvail); `message_status` goes at message level.
pub(crate) fn no_bindings(
    req: &Message,
    duid: &Duid,
    message_status: Option<Status>,
    ia_status: Status,
) -> Message {
    let mut reply = skeleton(req, duid);
    if let Some(s) = message_status {
        reply.options.push(status(s, "done"));
    }
    let text = "this router's DHCPv6 server is stateless: no addresses or prefixes";
    for ia in req.ia_nas() {
        reply.options.push(DhcpOption::IaNa(IaNa {
            iaid: ia.iaid,
            t1: 0,
            t2: 0,
            options: vec![status(ia_status, text)],
        }));
    }
    let pd_status = if ia_status == Status::NoAddrsAvail {
        Status::NoPrefixAvail
    } else {
        ia_status
    };
    for ia in req.ia_pds() {
        reply.options.push(DhcpOption::IaPd(IaPd {
            iaid: ia.iaid,
            t1: 0,
            t2: 0,
            options: vec![status(pd_status, text)],
        }));
    }
    if req.ia_nas().next().is_none() && req.ia_pds().next().is_none() && message_status.is_none() {
        // A Request/Renew with no IA at all: say so at message level.
        reply.options.push(status(ia_status, text));
    }
    reply
}

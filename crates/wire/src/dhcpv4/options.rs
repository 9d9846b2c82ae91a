//! The options of a DHCPv4 message (RFC 2132, RFC 3397, RFC 3396
//! concatenation).

use std::net::Ipv4Addr;

use super::DecodeError;
use super::MessageType;
use super::names::{decode_domain_search, encode_domain_search};

/// Option codes (IANA "BOOTP Vendor Extensions and DHCP Options").
pub mod code {
    /// Padding.
    pub const PAD: u8 = 0;
    /// Subnet mask (RFC 2132 3.3).
    pub const SUBNET_MASK: u8 = 1;
    /// Routers (RFC 2132 3.5).
    pub const ROUTER: u8 = 3;
    /// Domain name servers (RFC 2132 3.8).
    pub const DNS: u8 = 6;
    /// Host name (RFC 2132 3.14).
    pub const HOSTNAME: u8 = 12;
    /// Domain name (RFC 2132 3.17).
    pub const DOMAIN_NAME: u8 = 15;
    /// Network Time Protocol servers (RFC 2132 8.3).
    pub const NTP_SERVERS: u8 = 42;
    /// Broadcast address (RFC 2132 5.3).
    pub const BROADCAST: u8 = 28;
    /// Requested IP address (RFC 2132 9.1).
    pub const REQUESTED_IP: u8 = 50;
    /// IP address lease time (RFC 2132 9.2).
    pub const LEASE_TIME: u8 = 51;
    /// Option overload (RFC 2132 9.3).
    pub const OVERLOAD: u8 = 52;
    /// DHCP message type (RFC 2132 9.6).
    pub const MESSAGE_TYPE: u8 = 53;
    /// Server identifier (RFC 2132 9.7).
    pub const SERVER_ID: u8 = 54;
    /// Parameter request list (RFC 2132 9.8).
    pub const PARAM_LIST: u8 = 55;
    /// Message (RFC 2132 9.9).
    pub const MESSAGE: u8 = 56;
    /// Maximum DHCP message size (RFC 2132 9.10).
    pub const MAX_SIZE: u8 = 57;
    /// Renewal (T1) time (RFC 2132 9.11).
    pub const T1: u8 = 58;
    /// Rebinding (T2) time (RFC 2132 9.12).
    pub const T2: u8 = 59;
    /// Client identifier (RFC 2132 9.14).
    pub const CLIENT_ID: u8 = 61;
    /// Client FQDN (RFC 4702).
    pub const CLIENT_FQDN: u8 = 81;
    /// Domain search (RFC 3397).
    pub const DOMAIN_SEARCH: u8 = 119;
    /// End of options.
    pub const END: u8 = 255;
}

/// The options the router's client and server read or write.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Options {
    /// 53.
    pub message_type: Option<MessageType>,
    /// 54.
    pub server_id: Option<Ipv4Addr>,
    /// 51, seconds.
    pub lease_time: Option<u32>,
    /// 58, seconds.
    pub renewal_time: Option<u32>,
    /// 59, seconds.
    pub rebinding_time: Option<u32>,
    /// 1.
    pub subnet_mask: Option<Ipv4Addr>,
    /// 28.
    pub broadcast_address: Option<Ipv4Addr>,
    /// 3 (first is the default gateway).
    pub routers: Vec<Ipv4Addr>,
    /// 6.
    pub dns_servers: Vec<Ipv4Addr>,
    /// 42, in order of preference.
    pub ntp_servers: Vec<Ipv4Addr>,
    /// 50.
    pub requested_ip: Option<Ipv4Addr>,
    /// 55.
    pub parameter_list: Vec<u8>,
    /// 61 (type octet + identifier); empty when absent.
    pub client_id: Vec<u8>,
    /// 12.
    pub hostname: Option<String>,
    /// 15.
    pub domain_name: Option<String>,
    /// 119, dotted names. Names that are not valid DNS names are left out
    /// when encoding (build lists from validated config).
    pub domain_search: Vec<String>,
    /// 56: a server's error text (NAK), or a client's reason (DECLINE).
    pub message: Option<String>,
    /// 57.
    pub max_message_size: Option<u16>,
    /// 81 (RFC 4702).
    pub client_fqdn: Option<ClientFqdn>,
}

/// The Client FQDN option (RFC 4702 section 2): flags, two deprecated
/// RCODE octets (sent as 0, ignored when read) and the name, kept as the
/// octets sent so that decoding and encoding are exact inverses; read it
/// with [`ClientFqdn::name_text`].
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ClientFqdn {
    /// Flags `0000NEOS`.
    pub flags: u8,
    /// The domain name: canonical wire format when the E flag is set,
    /// ASCII text otherwise (the deprecated form some clients still send).
    pub name: Vec<u8>,
}

impl ClientFqdn {
    /// E: the name is in canonical wire format (RFC 4702 2.1).
    pub const FLAG_E: u8 = 0x04;

    /// The name as dotted text, without a final dot; `None` when it is
    /// empty or not well formed (a label running past the end, an empty
    /// label in text form, an octet that is not printable ASCII, or a dot
    /// inside a wire-format label). A partial name (wire format without
    /// the root label) is returned as it is.
    pub fn name_text(&self) -> Option<String> {
        let ok = |b: &[u8]| !b.is_empty() && b.iter().all(|c| c.is_ascii_graphic() && *c != b'.');
        let labels: Vec<&[u8]> = if self.flags & Self::FLAG_E != 0 {
            let mut labels = Vec::new();
            let mut rest = self.name.as_slice();
            while let Some((&len, after)) = rest.split_first() {
                if len == 0 {
                    if !after.is_empty() {
                        return None;
                    }
                    break;
                }
                let label = after.get(..usize::from(len))?;
                labels.push(label);
                rest = after.get(usize::from(len)..).unwrap_or(&[]);
            }
            labels
        } else {
            let text = self.name.strip_suffix(b".").unwrap_or(&self.name);
            text.split(|c| *c == b'.').collect()
        };
        if labels.is_empty() || !labels.iter().all(|l| ok(l)) {
            return None;
        }
        let parts: Vec<String> = labels
            .iter()
            .map(|l| String::from_utf8_lossy(l).into_owned())
            .collect();
        Some(parts.join("."))
    }
}

/// Longest client identifier (option 61, type octet included) a message may
/// carry; a longer one fails to decode. RFC 3396 lets any option be split
/// into instances, so without a bound an identifier could be as long as the
/// datagram. Real identifiers fit one instance: a MAC is 7 octets, an RFC
/// 4361 node-specific one at most 1 + 4 + 130. The DHCPv4 server keys
/// leases by it and its lease file holds exactly this range, so whatever
/// decodes is also stored and restored.
pub const MAX_CLIENT_ID_LEN: usize = 255;

/// Shortest client identifier: a type octet and one octet of identifier
/// (RFC 2132 9.14).
pub const MIN_CLIENT_ID_LEN: usize = 2;

/// What a WAN client asks servers for (option 55): mask, router, DNS,
/// NTP servers (for the router's clock, RFC 7084 WAA-5's IPv4 twin),
/// lease time, T1, T2.
pub const PARAMETERS_WANTED: [u8; 7] = [
    code::SUBNET_MASK,
    code::ROUTER,
    code::DNS,
    code::NTP_SERVERS,
    code::LEASE_TIME,
    code::T1,
    code::T2,
];

fn u32_of(code: u8, v: &[u8]) -> Result<u32, DecodeError> {
    <[u8; 4]>::try_from(v)
        .map(u32::from_be_bytes)
        .map_err(|_| DecodeError::BadOptionLength { code, len: v.len() })
}

fn ip_of(code: u8, v: &[u8]) -> Result<Ipv4Addr, DecodeError> {
    <[u8; 4]>::try_from(v)
        .map(Ipv4Addr::from)
        .map_err(|_| DecodeError::BadOptionLength { code, len: v.len() })
}

fn ip_list(code: u8, v: &[u8]) -> Result<Vec<Ipv4Addr>, DecodeError> {
    if v.is_empty() || !v.len().is_multiple_of(4) {
        return Err(DecodeError::BadOptionLength { code, len: v.len() });
    }
    Ok(v.chunks_exact(4)
        .filter_map(|c| <[u8; 4]>::try_from(c).ok().map(Ipv4Addr::from))
        .collect())
}

fn set_once<T>(slot: &mut Option<T>, code: u8, value: T) -> Result<(), DecodeError> {
    if slot.is_some() {
        return Err(DecodeError::Duplicate(code));
    }
    *slot = Some(value);
    Ok(())
}

/// Appends a non-empty instance to a concatenated value (RFC 3396).
fn concat(slot: &mut Option<Vec<u8>>, code: u8, v: &[u8]) -> Result<(), DecodeError> {
    if v.is_empty() {
        return Err(DecodeError::BadOptionLength { code, len: 0 });
    }
    slot.get_or_insert_with(Vec::new).extend_from_slice(v);
    Ok(())
}

fn text(v: Option<Vec<u8>>) -> Option<String> {
    v.map(|b| String::from_utf8_lossy(&b).into_owned())
}

/// Decodes the options area (after the cookie).
pub(super) fn decode_options(mut rest: &[u8]) -> Result<Options, DecodeError> {
    let mut o = Options::default();
    let (mut client_id, mut hostname, mut domain, mut message, mut search) =
        (None, None, None, None, None);
    let mut fqdn = None;
    // Running out without END is tolerated: every option was whole.
    while let Some((&code, after)) = rest.split_first() {
        if code == code::END {
            break;
        }
        if code == code::PAD {
            rest = after;
            continue;
        }
        let Some((&len, after)) = after.split_first() else {
            return Err(DecodeError::TruncatedOption(code));
        };
        let len = usize::from(len);
        let Some(v) = after.get(..len) else {
            return Err(DecodeError::TruncatedOption(code));
        };
        rest = after.get(len..).unwrap_or(&[]);
        match code {
            code::MESSAGE_TYPE => {
                let [t] = v else {
                    return Err(DecodeError::BadOptionLength { code, len });
                };
                let mt = MessageType::from_u8(*t).ok_or(DecodeError::BadMessageType(*t))?;
                set_once(&mut o.message_type, code, mt)?;
            }
            code::SERVER_ID => set_once(&mut o.server_id, code, ip_of(code, v)?)?,
            code::LEASE_TIME => set_once(&mut o.lease_time, code, u32_of(code, v)?)?,
            code::T1 => set_once(&mut o.renewal_time, code, u32_of(code, v)?)?,
            code::T2 => set_once(&mut o.rebinding_time, code, u32_of(code, v)?)?,
            code::SUBNET_MASK => set_once(&mut o.subnet_mask, code, ip_of(code, v)?)?,
            code::BROADCAST => set_once(&mut o.broadcast_address, code, ip_of(code, v)?)?,
            code::REQUESTED_IP => set_once(&mut o.requested_ip, code, ip_of(code, v)?)?,
            code::ROUTER => o.routers.extend(ip_list(code, v)?),
            code::DNS => o.dns_servers.extend(ip_list(code, v)?),
            code::NTP_SERVERS => o.ntp_servers.extend(ip_list(code, v)?),
            code::PARAM_LIST => o.parameter_list.extend_from_slice(v),
            code::CLIENT_ID => concat(&mut client_id, code, v)?,
            code::HOSTNAME => concat(&mut hostname, code, v)?,
            code::DOMAIN_NAME => concat(&mut domain, code, v)?,
            code::MESSAGE => concat(&mut message, code, v)?,
            code::DOMAIN_SEARCH => concat(&mut search, code, v)?,
            code::CLIENT_FQDN => concat(&mut fqdn, code, v)?,
            code::MAX_SIZE => {
                let [hi, lo] = v else {
                    return Err(DecodeError::BadOptionLength { code, len });
                };
                set_once(
                    &mut o.max_message_size,
                    code,
                    u16::from_be_bytes([*hi, *lo]),
                )?;
            }
            code::OVERLOAD => return Err(DecodeError::Overload),
            _ => {}
        }
    }
    if let Some(id) = client_id {
        if !(MIN_CLIENT_ID_LEN..=MAX_CLIENT_ID_LEN).contains(&id.len()) {
            return Err(DecodeError::BadOptionLength {
                code: code::CLIENT_ID,
                len: id.len(),
            });
        }
        o.client_id = id;
    }
    if let Some(f) = fqdn {
        let [flags, _rcode1, _rcode2, name @ ..] = f.as_slice() else {
            return Err(DecodeError::BadOptionLength {
                code: code::CLIENT_FQDN,
                len: f.len(),
            });
        };
        o.client_fqdn = Some(ClientFqdn {
            flags: *flags,
            name: name.to_vec(),
        });
    }
    if let Some(s) = search {
        o.domain_search = decode_domain_search(&s)
            .map_err(|_| DecodeError::BadDomainName(code::DOMAIN_SEARCH))?;
    }
    o.hostname = text(hostname);
    o.domain_name = text(domain);
    o.message = text(message);
    Ok(o)
}

/// Writes one option, split into several instances when longer than 255
/// octets (RFC 3396). Address lists split on whole addresses (`chunk` 252)
/// so every instance stays valid on its own.
fn put_opt_split(out: &mut Vec<u8>, code: u8, v: &[u8], chunk: usize) {
    for part in v.chunks(chunk) {
        out.push(code);
        out.push(part.len() as u8);
        out.extend_from_slice(part);
    }
}

fn put_opt(out: &mut Vec<u8>, code: u8, v: &[u8]) {
    put_opt_split(out, code, v, 255);
}

impl Options {
    /// Appends every present option (without END), message type first.
    pub fn encode(&self, out: &mut Vec<u8>) {
        if let Some(t) = self.message_type {
            put_opt(out, code::MESSAGE_TYPE, &[t.to_u8()]);
        }
        let ip_opt = |out: &mut Vec<u8>, code, a: Option<Ipv4Addr>| {
            if let Some(a) = a {
                put_opt(out, code, &a.octets());
            }
        };
        ip_opt(out, code::SERVER_ID, self.server_id);
        if !self.client_id.is_empty() {
            put_opt(out, code::CLIENT_ID, &self.client_id);
        }
        ip_opt(out, code::REQUESTED_IP, self.requested_ip);
        ip_opt(out, code::SUBNET_MASK, self.subnet_mask);
        ip_opt(out, code::BROADCAST, self.broadcast_address);
        for (code, v) in [
            (code::LEASE_TIME, self.lease_time),
            (code::T1, self.renewal_time),
            (code::T2, self.rebinding_time),
        ] {
            if let Some(v) = v {
                put_opt(out, code, &v.to_be_bytes());
            }
        }
        for (code, list) in [
            (code::ROUTER, &self.routers),
            (code::DNS, &self.dns_servers),
            (code::NTP_SERVERS, &self.ntp_servers),
        ] {
            if !list.is_empty() {
                let bytes: Vec<u8> = list.iter().flat_map(|a| a.octets()).collect();
                put_opt_split(out, code, &bytes, 252);
            }
        }
        if let Some(m) = self.max_message_size {
            put_opt(out, code::MAX_SIZE, &m.to_be_bytes());
        }
        if !self.parameter_list.is_empty() {
            put_opt(out, code::PARAM_LIST, &self.parameter_list);
        }
        for (code, t) in [
            (code::HOSTNAME, &self.hostname),
            (code::DOMAIN_NAME, &self.domain_name),
            (code::MESSAGE, &self.message),
        ] {
            if let Some(t) = t
                && !t.is_empty()
            {
                put_opt(out, code, t.as_bytes());
            }
        }
        if let Some(f) = &self.client_fqdn {
            let mut v = vec![f.flags, 0, 0];
            v.extend_from_slice(&f.name);
            put_opt(out, code::CLIENT_FQDN, &v);
        }
        let valid: Vec<String> = self
            .domain_search
            .iter()
            .filter(|n| encode_domain_search(std::slice::from_ref(n)).is_ok())
            .cloned()
            .collect();
        if let Ok(wire) = encode_domain_search(&valid)
            && !wire.is_empty()
        {
            put_opt(out, code::DOMAIN_SEARCH, &wire);
        }
    }

    /// Whether the client listed `code` in its parameter request list.
    pub fn requested(&self, code: u8) -> bool {
        self.parameter_list.contains(&code)
    }
}

//! Listening sockets from `/proc/net/{udp,udp6,tcp,tcp6}`.
//!
//! Read from a thread that joined the namespace, this tells whether a server
//! is ready to answer without sending it a single packet (a probe query could
//! itself change what the test measures, e.g. warm a DNS cache).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// TCP state number of LISTEN in `/proc/net/tcp*`.
pub const TCP_LISTEN: u8 = 0x0A;
/// State number of an unconnected (bound) UDP socket in `/proc/net/udp*`.
pub const UDP_UNCONNECTED: u8 = 0x07;

/// One socket line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SocketEntry {
    /// Local address.
    pub local: IpAddr,
    /// Local port.
    pub port: u16,
    /// Kernel state number (see the constants).
    pub state: u8,
}

/// Parses one `/proc/net/{udp,tcp}[6]` table; lines that do not parse are
/// skipped.
pub fn parse_socket_table(text: &str) -> Vec<SocketEntry> {
    text.lines().skip(1).filter_map(parse_line).collect()
}

fn parse_line(line: &str) -> Option<SocketEntry> {
    let mut fields = line.split_whitespace();
    let _slot = fields.next()?;
    let local = fields.next()?;
    let _remote = fields.next()?;
    let state = u8::from_str_radix(fields.next()?, 16).ok()?;
    let (addr, port) = local.split_once(':')?;
    let port = u16::from_str_radix(port, 16).ok()?;
    Some(SocketEntry {
        local: parse_hex_addr(addr)?,
        port,
        state,
    })
}

/// The kernel prints each 32-bit word of the address in host byte order.
fn parse_hex_addr(hex: &str) -> Option<IpAddr> {
    if !hex.is_ascii() {
        return None;
    }
    let word = |i: usize| -> Option<[u8; 4]> {
        let w = u32::from_str_radix(hex.get(i * 8..i * 8 + 8)?, 16).ok()?;
        Some(w.to_ne_bytes())
    };
    match hex.len() {
        8 => Some(IpAddr::V4(Ipv4Addr::from(word(0)?))),
        32 => {
            let mut b = [0u8; 16];
            for (i, chunk) in b.chunks_exact_mut(4).enumerate() {
                chunk.copy_from_slice(&word(i)?);
            }
            Some(IpAddr::V6(Ipv6Addr::from(b)))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex_v6(a: Ipv6Addr) -> String {
        a.octets()
            .chunks_exact(4)
            .map(|c| format!("{:08X}", u32::from_ne_bytes([c[0], c[1], c[2], c[3]])))
            .collect()
    }

    #[test]
    fn parses_udp6_and_tcp_lines() {
        let a: Ipv6Addr = "2001:db8:53::1".parse().unwrap();
        let v4 = format!("{:08X}", u32::from_ne_bytes([127, 0, 0, 1]));
        let text = format!(
            "  sl  local_address rem_address   st ...\n\
             0: {}:0035 00000000000000000000000000000000:0000 07 00000000:00000000 00:00000000 00000000 0 0 1 2 0\n\
             1: {v4}:0050 00000000:0000 0A 00000000:00000000\n\
             2: garbage\n\
             3: ZZ:0035 00000000:0000 07\n",
            hex_v6(a)
        );
        let e = parse_socket_table(&text);
        assert_eq!(
            e,
            vec![
                SocketEntry {
                    local: IpAddr::V6(a),
                    port: 53,
                    state: UDP_UNCONNECTED
                },
                SocketEntry {
                    local: "127.0.0.1".parse().unwrap(),
                    port: 80,
                    state: TCP_LISTEN
                },
            ]
        );
    }

    #[test]
    fn reads_this_hosts_tables_without_error() {
        // The real kernel format must parse: the test process has at least
        // the table header, and any lines present must not be dropped.
        let text = std::fs::read_to_string("/proc/net/udp6").unwrap_or_default();
        let lines = text.lines().skip(1).count();
        assert_eq!(parse_socket_table(&text).len(), lines);
    }
}

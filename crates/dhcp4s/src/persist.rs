//! The lease file: `state_dir/dhcp4s/leases-<interface>`.
//!
//! One line per record, text so an engineer can read it on the console:
//!
//! ```text
//! cpe-dhcp4s-leases 1
//! 192.168.1.100 bound id:01020000000301 02:00:00:00:03:01 1795000000 host1
//! ```
//!
//! address, state, client key, MAC, end of the lease as Unix seconds (wall
//! clock: the engine's `Instant`s do not survive a reboot), host name or
//! `-`. Offers are not saved (they last a minute). A line that does not
//! parse is skipped and counted, never fatal: a damaged file must not keep
//! the LAN without DHCP. Written with `cpe_sys::persist::atomic_write`.
//!
//! Every record the engine can hold reads back unchanged (offers aside):
//! client identifiers have the decoder's length bounds
//! ([`cpe_wire::dhcpv4::MAX_CLIENT_ID_LEN`]), host names go through
//! [`clean_hostname`] before they are stored, and the property test below
//! holds the two sides to that.

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::lease::{ClientKey, Lease, LeaseState, LeaseTable};

/// First line of the file.
pub const HEADER: &str = "cpe-dhcp4s-leases 1";

/// Longest host name kept: the longest DNS name in text (RFC 1035 2.3.4).
const MAX_HOSTNAME: usize = 253;

/// A host name safe for one whitespace-separated field, or `None`.
///
/// Trailing NULs (some clients count a C string's terminator) are dropped;
/// anything else outside `[A-Za-z0-9._-]`, or a name longer than a DNS
/// name, refuses the whole name rather than shortening or filtering it:
/// the name is shown on the console and offered to the DNS forwarder
/// (`cpe_bus::LeaseName`), and a name the client never sent must appear
/// in neither. A name needs a letter or digit: without one it names
/// nothing, and `-` is the file's "no name", which would not read back.
pub fn clean_hostname(name: &str) -> Option<String> {
    let s = name.trim_end_matches('\0');
    let ok = s.len() <= MAX_HOSTNAME
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        && s.chars().any(|c| c.is_ascii_alphanumeric());
    ok.then(|| s.to_string())
}

fn parse_mac(s: &str) -> Option<[u8; 6]> {
    let mut mac = [0u8; 6];
    let mut parts = s.split(':');
    for b in &mut mac {
        *b = u8::from_str_radix(parts.next()?, 16).ok()?;
    }
    parts.next().is_none().then_some(mac)
}

/// Renders the table. `now` and `unix_now` are the same moment on the
/// engine's clock and the wall clock.
pub fn render(table: &LeaseTable, now: Instant, unix_now: u64) -> String {
    let mut out = String::from(HEADER);
    out.push('\n');
    for (addr, l) in table.iter() {
        if l.state == LeaseState::Offered {
            continue;
        }
        let left = l.until.saturating_duration_since(now).as_secs();
        let end = if l.state == LeaseState::Free {
            0
        } else {
            unix_now.saturating_add(left)
        };
        out.push_str(&format!(
            "{addr} {} {} {} {end} {}\n",
            l.state.name(),
            l.client,
            crate::lease::mac_text(&l.mac),
            l.hostname.as_deref().unwrap_or("-"),
        ));
    }
    out
}

fn parse_line(line: &str, now: Instant, unix_now: u64) -> Option<(Ipv4Addr, Lease)> {
    let f: Vec<&str> = line.split_whitespace().collect();
    let [addr, state, client, mac, end, host] = f.as_slice() else {
        return None;
    };
    let state = match *state {
        "bound" => LeaseState::Bound,
        "declined" => LeaseState::Declined,
        "free" => LeaseState::Free,
        _ => return None,
    };
    let end: u64 = end.parse().ok()?;
    let left = Duration::from_secs(end.saturating_sub(unix_now));
    Some((
        addr.parse().ok()?,
        Lease {
            client: ClientKey::parse(client)?,
            mac: parse_mac(mac)?,
            hostname: (*host != "-").then(|| clean_hostname(host)).flatten(),
            state,
            // Past deadlines become `now`; `expire` turns them free.
            until: now.checked_add(left).unwrap_or(now),
            // Offers are never saved: every record on file was a binding.
            sticky: true,
        },
    ))
}

/// Parses a lease file; returns the table and the number of lines skipped.
pub fn parse(text: &str, now: Instant, unix_now: u64) -> (LeaseTable, usize) {
    let mut table = LeaseTable::new();
    let mut skipped = 0;
    let mut lines = text.lines();
    if lines.next().map(str::trim) != Some(HEADER) {
        return (table, text.lines().count());
    }
    for line in lines.filter(|l| !l.trim().is_empty()) {
        match parse_line(line, now, unix_now) {
            Some((a, l)) => table.insert(a, l),
            None => skipped += 1,
        }
    }
    (table, skipped)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;
    use std::time::{Duration, Instant};

    use cpe_wire::dhcpv4::{self, MAX_CLIENT_ID_LEN, MIN_CLIENT_ID_LEN, MessageType};
    use proptest::prelude::*;

    use super::*;
    use crate::engine::{Action, DropReason, Engine};
    use crate::tests::handle;

    const UNIX_NOW: u64 = 1_800_000_000;

    fn msg(t: MessageType, client_id: &[u8], requested: Option<Ipv4Addr>) -> Vec<u8> {
        crate::tests::client_msg(9, t, |m| {
            m.options.client_id = client_id.to_vec();
            m.options.requested_ip = requested;
            m.options.server_id = requested.map(|_| Ipv4Addr::new(192, 168, 1, 1));
            m.options.hostname = Some("-".into());
        })
    }

    /// Discover + request with a client identifier of `len` octets, which
    /// `Options::encode` splits into instances (RFC 3396) past 255.
    fn bind_with_id_of(s: &mut Engine, len: usize, now: Instant) -> Option<Ipv4Addr> {
        let id = vec![0xab; len];
        let Action::Reply { payload, .. } = handle(s, &msg(MessageType::Discover, &id, None), now)
        else {
            return None;
        };
        let offered = dhcpv4::Message::decode(&payload).unwrap().yiaddr;
        let ack = handle(s, &msg(MessageType::Request, &id, Some(offered)), now);
        assert!(matches!(
            ack,
            Action::Reply {
                kind: MessageType::Ack,
                ..
            }
        ));
        Some(offered)
    }

    /// Found by fuzzing (issue 16): a client identifier assembled from
    /// split options was longer than the file accepts, so its lease was
    /// skipped on restart and the address free for another host.
    #[test]
    fn every_client_id_the_server_binds_survives_a_restart() {
        let now = Instant::now();
        let mut s = Engine::new(crate::tests::cfg(100, 110), LeaseTable::new());
        for len in [MIN_CLIENT_ID_LEN, 200, MAX_CLIENT_ID_LEN] {
            let addr = bind_with_id_of(&mut s, len, now).expect("served");
            let text = render(s.leases(), now, UNIX_NOW);
            let (back, skipped) = parse(&text, now, UNIX_NOW);
            assert_eq!(skipped, 0, "{text}");
            let l = back.get(addr).expect("restored");
            assert_eq!(l.client, ClientKey::Id(vec![0xab; len]));
            assert_eq!(l.state, LeaseState::Bound);
            assert_eq!(l.hostname, None, "\"-\" is no host name");
        }
        for len in [MAX_CLIENT_ID_LEN + 1, 300, 1000] {
            let before = s.leases().clone();
            let out = handle(
                &mut s,
                &msg(MessageType::Discover, &vec![0xab; len], None),
                now,
            );
            assert_eq!(
                out,
                Action::Drop(DropReason::Malformed(
                    dhcpv4::DecodeError::BadOptionLength {
                        code: dhcpv4::code::CLIENT_ID,
                        len,
                    }
                ))
            );
            assert_eq!(*s.leases(), before);
        }
    }

    fn arb_key() -> impl Strategy<Value = ClientKey> {
        prop_oneof![
            prop::collection::vec(any::<u8>(), MIN_CLIENT_ID_LEN..=MAX_CLIENT_ID_LEN)
                .prop_map(ClientKey::Id),
            any::<[u8; 6]>().prop_map(ClientKey::Mac),
        ]
    }

    /// A record as the engine stores it, `until` as seconds from now.
    fn arb_lease() -> impl Strategy<Value = (ClientKey, [u8; 6], Option<String>, LeaseState, u64)> {
        (
            arb_key(),
            any::<[u8; 6]>(),
            // What a client may send in option 12, then cleaned as the
            // engine does before storing it.
            prop::option::of(prop_oneof![".{0,80}", "[-._a]{1,3}"])
                .prop_map(|h| h.as_deref().and_then(clean_hostname)),
            prop_oneof![
                Just(LeaseState::Bound),
                Just(LeaseState::Declined),
                Just(LeaseState::Free),
            ],
            0u64..=u64::from(u32::MAX),
        )
    }

    proptest! {
        /// The file holds every record the engine can store (offers are
        /// not saved), field for field.
        #[test]
        fn the_lease_file_round_trips_every_storable_record(
            records in prop::collection::vec(
                (any::<u8>(), any::<u8>(), arb_lease()),
                0..20,
            ),
        ) {
            let now = Instant::now();
            let mut table = LeaseTable::new();
            for (c, d, (client, mac, hostname, state, left)) in records {
                // A free record's end is not kept: it reads back as `now`.
                let left = if state == LeaseState::Free { 0 } else { left };
                let until = now + Duration::from_secs(left);
                table.insert(
                    Ipv4Addr::new(10, 0, c, d),
                    // Only bound clients' records are saved, and the
                    // file gives them back as held (sticky).
                    Lease { client, mac, hostname, state, until, sticky: true },
                );
            }
            let text = render(&table, now, UNIX_NOW);
            let (back, skipped) = parse(&text, now, UNIX_NOW);
            prop_assert_eq!(skipped, 0, "{}", text);
            prop_assert_eq!(back, table);
        }
    }
}

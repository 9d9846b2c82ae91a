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

use std::net::Ipv4Addr;
use std::time::{Duration, Instant};

use crate::lease::{ClientKey, Lease, LeaseState, LeaseTable};

/// First line of the file.
pub const HEADER: &str = "cpe-dhcp4s-leases 1";

/// Host names are kept to this many characters of `[A-Za-z0-9._-]`.
const MAX_HOSTNAME: usize = 63;

/// A host name safe for one whitespace-separated field.
pub fn clean_hostname(name: &str) -> Option<String> {
    let s: String = name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
        .take(MAX_HOSTNAME)
        .collect();
    (!s.is_empty()).then_some(s)
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

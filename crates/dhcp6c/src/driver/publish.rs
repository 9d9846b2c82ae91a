//! Turning engine state into bus facts, the console status object, and log
//! lines.

use std::sync::OnceLock;
use std::time::Instant;

use cpe_bus::state::{DelegatedAddress, INFINITE};
use cpe_bus::status::dhcp6c as st;
use cpe_bus::{Dhcp6Facts, MonoTime, WanFacts, WanState};

use crate::engine::{Client, LeaseUpdate, OtherConfig, Refusal};
use crate::lease::{Deadline, DelegatedPrefix, secs_left};

/// This process's `Instant` and bus time at one moment, taken once.
static ANCHOR: OnceLock<(Instant, MonoTime)> = OnceLock::new();

/// Converts an engine deadline into bus time through a fixed anchor, so the
/// same deadline always gives the same [`MonoTime`]. Converting relative to
/// "now" each time (as `MonoTime::from_instant` does) rounds differently
/// from call to call; a re-published, unchanged lease then differs by a
/// millisecond and the supervisor takes it for a new delegation (a snapshot
/// pushed to every daemon and a "delegated prefixes now" log line for
/// nothing). Both clocks are `CLOCK_MONOTONIC`, so the offset holds for the
/// life of the process.
fn bus_time(at: Instant) -> MonoTime {
    let &(anchor_i, anchor_m) = ANCHOR.get_or_init(|| (Instant::now(), MonoTime::now()));
    if at >= anchor_i {
        anchor_m.after(at - anchor_i)
    } else {
        let back = (anchor_i - at).as_millis().min(u128::from(u64::MAX)) as u64;
        MonoTime(anchor_m.0.saturating_sub(back))
    }
}

fn mono(d: Deadline) -> MonoTime {
    d.map(bus_time).unwrap_or(INFINITE)
}

fn bus_prefix(p: &DelegatedPrefix) -> cpe_bus::DelegatedPrefix {
    cpe_bus::DelegatedPrefix {
        prefix: p.prefix,
        preferred_until: mono(p.preferred_until),
        valid_until: mono(p.valid_until),
    }
}

/// The facts the supervisor merges into shared state. `previous` are the
/// prefixes being phased out (see [`Previous`]).
pub fn facts(client: &Client, previous: &[DelegatedPrefix]) -> Dhcp6Facts {
    let lease = client.lease();
    Dhcp6Facts {
        state: client.state().name().to_string(),
        server_duid: lease.map(|l| l.server_id.to_hex()),
        delegated_prefixes: lease
            .map(|l| l.prefixes.iter().map(bus_prefix).collect())
            .unwrap_or_default(),
        previous_prefixes: previous.iter().map(bus_prefix).collect(),
        excluded_prefixes: lease
            .map(|l| l.live_excluded().copied().collect())
            .unwrap_or_default(),
        addresses: lease
            .map(|l| {
                l.addresses
                    .iter()
                    .map(|a| DelegatedAddress {
                        address: a.address,
                        preferred_until: mono(a.preferred_until),
                        valid_until: mono(a.valid_until),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        dns_servers: client.dns_servers().to_vec(),
        domains: client.domains().iter().map(|d| d.to_string()).collect(),
        ntp_servers: client.ntp_servers().to_vec(),
        aftr_name: client.aftr_name().map(str::to_owned),
        t1: lease.and_then(|l| l.t1).map(bus_time),
        t2: lease.and_then(|l| l.t2).map(bus_time),
    }
}

/// Prefixes that left the delegation but that hosts may still hold; kept
/// in the facts until their valid lifetime ends so LAN services deprecate
/// rather than drop them.
#[derive(Debug, Default)]
pub struct Previous(Vec<DelegatedPrefix>);

impl Previous {
    /// Folds in an update: new previous prefixes are added, prefixes that
    /// came back are removed.
    pub fn apply(&mut self, u: &LeaseUpdate, now: Instant, released: bool) {
        for p in &u.previous_prefixes {
            let mut p = *p;
            if released {
                // Given back: the ISP no longer routes it to us.
                p.preferred_until = Some(now);
                p.valid_until = Some(now);
            }
            self.0.retain(|q| q.prefix != p.prefix);
            self.0.push(p);
        }
        self.0
            .retain(|q| !u.prefixes.iter().any(|c| c.prefix == q.prefix));
    }

    /// Drops entries whose valid lifetime has ended; true if any was dropped.
    pub fn prune(&mut self, now: Instant) -> bool {
        let before = self.0.len();
        self.0.retain(|p| p.valid_until.is_none_or(|v| v > now));
        self.0.len() != before
    }

    /// The list.
    pub fn list(&self) -> &[DelegatedPrefix] {
        &self.0
    }
}

fn texts<T: ToString>(items: &[T]) -> Vec<String> {
    items.iter().map(T::to_string).collect()
}

fn lifetimed(p: &DelegatedPrefix, now: Instant) -> st::Lifetimed {
    st::Lifetimed {
        prefix: p.prefix.to_string(),
        preferred_lft: Some(u64::from(secs_left(p.preferred_until, now))),
        valid_lft: Some(u64::from(secs_left(p.valid_until, now))),
    }
}

/// The object `cpectl show dhcp6c` prints (the driver adds the WAN
/// addresses it programmed).
pub fn status(
    client: &Client,
    previous: &[DelegatedPrefix],
    interface: &str,
    now: Instant,
) -> st::Dhcp6cStatus {
    let lease = client.lease();
    let left = |d| Some(u64::from(secs_left(d, now)));
    st::Dhcp6cStatus {
        state: client.state().name().into(),
        interface: interface.to_owned(),
        duid: client.duid().to_hex(),
        server_duid: lease.map(|l| l.server_id.to_hex()),
        delegated_prefixes: lease
            .map(|l| l.prefixes.iter().map(|p| lifetimed(p, now)).collect())
            .unwrap_or_default(),
        previous_prefixes: previous.iter().map(|p| lifetimed(p, now)).collect(),
        addresses: lease
            .map(|l| {
                l.addresses
                    .iter()
                    .map(|a| st::LeasedAddress {
                        address: a.address.to_string(),
                        preferred_lft: left(a.preferred_until),
                        valid_lft: left(a.valid_until),
                    })
                    .collect()
            })
            .unwrap_or_default(),
        t1: lease.and_then(|l| left(l.t1)),
        t2: lease.and_then(|l| left(l.t2)),
        dns_servers: texts(client.dns_servers()),
        domains: texts(client.domains()),
        ntp_servers: texts(client.ntp_servers()),
        other_config: client.other_config().map(|o| st::OtherConfig {
            server_duid: o.server_id.to_hex(),
            dns_servers: texts(&o.dns_servers),
            domains: texts(&o.domains),
            refresh_in: o.refresh_at.saturating_duration_since(now).as_secs(),
        }),
        refusal: client.refusal().map(|r| st::Refusal {
            server_duid: r.server_id.to_hex(),
            scope: r.scope.into(),
            status: r.status.status.name().into(),
            status_code: r.status.status.to_u16(),
            message: r.status.message.clone(),
            age: now.saturating_duration_since(r.at).as_secs(),
        }),
        sol_max_rt: client.sol_max_rt().as_secs(),
        counters: client.counters().to_status(),
        wan_addresses: Vec::new(),
    }
}

/// One log line per binding change, with lifetimes in seconds.
pub fn describe(u: &LeaseUpdate, client: &Client, now: Instant) -> String {
    let list = |ps: &[DelegatedPrefix]| {
        ps.iter()
            .map(|p| {
                format!(
                    "{} (preferred {}s, valid {}s)",
                    p.prefix,
                    secs_left(p.preferred_until, now),
                    secs_left(p.valid_until, now)
                )
            })
            .collect::<Vec<_>>()
            .join(", ")
    };
    let mut s = format!("{:?}", u.reason).to_lowercase();
    if !u.prefixes.is_empty() {
        s.push_str(&format!(": prefixes {}", list(&u.prefixes)));
    }
    if !u.previous_prefixes.is_empty() {
        s.push_str(&format!("; withdrawn {}", list(&u.previous_prefixes)));
    }
    for x in client.lease().into_iter().flat_map(|l| l.live_excluded()) {
        s.push_str(&format!(
            "; {x} excluded by the server (RFC 6603 Prefix Exclude): no LAN is numbered from it"
        ));
    }
    for a in &u.addresses {
        s.push_str(&format!(
            "; address {} (valid {}s)",
            a.address,
            secs_left(a.valid_until, now)
        ));
    }
    if let Some(l) = client.lease() {
        s.push_str(&format!("; server {}", l.server_id));
    }
    s
}

/// Whether the WAN is ready for DHCPv6: on IPoE when the link has carrier
/// and the ISP's RA asked for DHCPv6 (M or O), or at once with
/// `wan.dhcpv6.start = "always"`; on PPPoE once the session is up
/// (DHCPv6-PD runs over the PPP link whether or not an RA came yet).
pub fn wan_ready(wan: &WanFacts, pppoe: bool, start_always: bool) -> bool {
    if pppoe {
        wan.state == WanState::Up
    } else {
        wan.carrier
            && wan.state != WanState::Down
            && (start_always || wan.ra_managed || wan.ra_other_config)
    }
}

/// The log line for configuration learned by Information-request.
pub fn describe_other(o: &OtherConfig, now: Instant) -> String {
    let list = |v: Vec<String>| {
        if v.is_empty() {
            "-".to_string()
        } else {
            v.join(", ")
        }
    };
    format!(
        "stateless DHCPv6 from server {}: DNS {}; search {}; refresh in {} s",
        o.server_id.to_hex(),
        list(o.dns_servers.iter().map(|a| a.to_string()).collect()),
        list(o.domains.iter().map(|d| d.to_string()).collect()),
        o.refresh_at.saturating_duration_since(now).as_secs(),
    )
}

/// The log line for a server's refusal: its status code and its own text,
/// which is what an ISP's support desk asks for.
pub fn describe_refusal(r: &Refusal) -> String {
    let what = match r.scope {
        "message" => "our request".to_string(),
        ia => ia.to_string(),
    };
    let text = if r.status.message.is_empty() {
        String::new()
    } else {
        format!(" \"{}\"", r.status.message.escape_debug())
    };
    format!(
        "server {} refuses {what}: {} ({}){text}",
        r.server_id.to_hex(),
        r.status.status.name(),
        r.status.status.to_u16(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[test]
    fn the_same_deadline_is_the_same_bus_time_whenever_converted() {
        let base = Instant::now();
        let deadlines: Vec<Instant> = (0..200u64)
            .map(|i| base + Duration::from_micros(i * 7_919 + 333))
            .chain([base - Duration::from_micros(1_500)])
            .collect();
        let first: Vec<MonoTime> = deadlines.iter().map(|d| bus_time(*d)).collect();
        std::thread::sleep(Duration::from_millis(3));
        let again: Vec<MonoTime> = deadlines.iter().map(|d| bus_time(*d)).collect();
        assert_eq!(first, again);
        // And it is the real monotonic clock: a deadline 10 s ahead is
        // 10 s (+-1 ms of rounding) after the bus's now.
        let ahead = bus_time(Instant::now() + Duration::from_secs(10));
        let diff = ahead.0.abs_diff(MonoTime::now().0 + 10_000);
        assert!(diff <= 2, "off by {diff} ms");
    }

    #[test]
    fn dhcp_starts_on_ra_flags_or_pppoe_up() {
        let mut wan = WanFacts {
            carrier: true,
            state: WanState::Connecting,
            ..WanFacts::default()
        };
        assert!(!wan_ready(&wan, false, false), "no RA yet");
        assert!(wan_ready(&wan, false, true), "start = always needs no RA");
        wan.ra_other_config = true;
        assert!(wan_ready(&wan, false, false));
        wan.carrier = false;
        assert!(!wan_ready(&wan, false, false));
        assert!(!wan_ready(&wan, false, true), "never without carrier");
        assert!(!wan_ready(&wan, true, false));
        wan.state = WanState::Up;
        assert!(wan_ready(&wan, true, false));
    }
}

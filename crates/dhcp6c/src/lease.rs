//! What the client holds: delegated prefixes and addresses with absolute
//! deadlines, and how a server's answer changes them.

use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use cpe_wire::dhcpv6::{DomainName, Duid, INFINITY};
use ipnet::Ipv6Net;

/// An absolute deadline; `None` means never (lifetime 0xffffffff).
pub type Deadline = Option<Instant>;

/// `now + secs`, with [`INFINITY`] (and anything past the clock's range)
/// meaning never.
pub fn deadline_after(now: Instant, secs: u32) -> Deadline {
    if secs == INFINITY {
        None
    } else {
        now.checked_add(Duration::from_secs(u64::from(secs)))
    }
}

/// Whole seconds left until `deadline` (0 once passed, [`INFINITY`] for never).
pub fn secs_left(deadline: Deadline, now: Instant) -> u32 {
    match deadline {
        None => INFINITY,
        Some(d) => d
            .saturating_duration_since(now)
            .as_secs()
            .min(u64::from(INFINITY - 1)) as u32,
    }
}

/// True once `deadline` has passed.
pub fn passed(deadline: Deadline, now: Instant) -> bool {
    deadline.is_some_and(|d| d <= now)
}

/// Earlier of two deadlines (`None` = never loses).
pub fn earliest(a: Deadline, b: Deadline) -> Deadline {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, y) => x.or(y),
    }
}

/// Later of two deadlines (`None` = never wins).
pub fn latest(a: Deadline, b: Deadline) -> Deadline {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.max(y)),
        _ => None,
    }
}

/// A prefix delegated to us (IA_PD / IA Prefix).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DelegatedPrefix {
    /// The prefix, host bits cleared.
    pub prefix: Ipv6Net,
    /// End of the preferred lifetime.
    pub preferred_until: Deadline,
    /// End of the valid lifetime: the prefix must be withdrawn then.
    pub valid_until: Deadline,
}

/// An address leased to us (IA_NA / IA Address).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeasedAddress {
    /// The address.
    pub address: Ipv6Addr,
    /// End of the preferred lifetime.
    pub preferred_until: Deadline,
    /// End of the valid lifetime.
    pub valid_until: Deadline,
}

/// Everything bound from one server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The server that granted (or last extended) the bindings.
    pub server_id: Duid,
    /// Delegated prefixes.
    pub prefixes: Vec<DelegatedPrefix>,
    /// WAN addresses.
    pub addresses: Vec<LeasedAddress>,
    /// When to Renew.
    pub t1: Deadline,
    /// When to Rebind.
    pub t2: Deadline,
    /// Recursive DNS servers (option 23).
    pub dns_servers: Vec<Ipv6Addr>,
    /// Domain search list (option 24).
    pub domains: Vec<DomainName>,
    /// Parts of the delegated prefixes the server excluded (RFC 6603 Prefix
    /// Exclude: typically the /64 of our own WAN link): no LAN may be
    /// numbered from them. Each lies inside one of `prefixes`.
    pub excluded: Vec<Ipv6Net>,
    /// NTP server addresses (option 56); not saved across restarts (the
    /// next Renew or Rebind brings them back).
    pub ntp_servers: Vec<Ipv6Addr>,
}

impl Lease {
    /// No prefix and no address left.
    pub fn is_empty(&self) -> bool {
        self.prefixes.is_empty() && self.addresses.is_empty()
    }

    /// The excluded prefixes that still lie inside a delegated prefix.
    pub fn live_excluded(&self) -> impl Iterator<Item = &Ipv6Net> {
        self.excluded
            .iter()
            .filter(|e| self.prefixes.iter().any(|p| p.prefix.contains(*e)))
    }

    /// When the last binding expires (the end of a Rebind exchange).
    pub fn last_expiry(&self) -> Deadline {
        let prefixes = self.prefixes.iter().map(|p| p.valid_until);
        let addrs = self.addresses.iter().map(|a| a.valid_until);
        // An empty lease has nothing to wait for; callers never rebind one.
        prefixes.chain(addrs).reduce(latest).flatten()
    }

    /// When the first binding expires (a timer the engine must wake for).
    pub fn first_expiry(&self) -> Deadline {
        let prefixes = self.prefixes.iter().map(|p| p.valid_until);
        let addrs = self.addresses.iter().map(|a| a.valid_until);
        prefixes.chain(addrs).fold(None, earliest)
    }

    /// Removes bindings whose valid lifetime has passed; returns them.
    pub fn take_expired(&mut self, now: Instant) -> (Vec<DelegatedPrefix>, Vec<LeasedAddress>) {
        let (gone_p, keep_p) = self
            .prefixes
            .drain(..)
            .partition(|p| passed(p.valid_until, now));
        self.prefixes = keep_p;
        let (gone_a, keep_a) = self
            .addresses
            .drain(..)
            .partition(|a| passed(a.valid_until, now));
        self.addresses = keep_a;
        (gone_p, gone_a)
    }
}

/// What the server said about one IA in a Reply, already validated.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IaUpdate<T> {
    /// Bindings with their new lifetimes (valid lifetime 0 = withdrawn).
    pub leases: Vec<(T, u32, u32)>,
    /// T1 and T2 as sent (0 = client decides).
    pub t1: u32,
    /// See `t1`.
    pub t2: u32,
}

/// Applies an IA_PD answer to our prefixes (RFC 8415 18.2.10.1).
///
/// New prefixes are added, known ones get new lifetimes, valid lifetime 0
/// withdraws. When the answer carries at least one live prefix, prefixes it
/// does not mention are treated as replaced (the ISP renumbered us): they
/// leave the current set and are returned with the deadlines hosts may still
/// hold, so the LAN side can deprecate them. Returns the removed prefixes.
pub fn apply_prefixes(
    current: &mut Vec<DelegatedPrefix>,
    update: &IaUpdate<Ipv6Net>,
    now: Instant,
) -> Vec<DelegatedPrefix> {
    apply(
        current,
        update,
        now,
        |p| p.prefix,
        |prefix, preferred_until, valid_until| DelegatedPrefix {
            prefix,
            preferred_until,
            valid_until,
        },
    )
}

/// Applies an IA_NA answer to our addresses, with the same rules as
/// [`apply_prefixes`].
pub fn apply_addresses(
    current: &mut Vec<LeasedAddress>,
    update: &IaUpdate<Ipv6Addr>,
    now: Instant,
) -> Vec<LeasedAddress> {
    apply(
        current,
        update,
        now,
        |a| a.address,
        |address, preferred_until, valid_until| LeasedAddress {
            address,
            preferred_until,
            valid_until,
        },
    )
}

fn apply<T: Copy + PartialEq, K: PartialEq + Copy>(
    current: &mut Vec<T>,
    update: &IaUpdate<K>,
    now: Instant,
    key: impl Fn(&T) -> K,
    make: impl Fn(K, Deadline, Deadline) -> T,
) -> Vec<T> {
    let live: Vec<&(K, u32, u32)> = update.leases.iter().filter(|l| l.2 != 0).collect();
    let mut removed = Vec::new();
    let mut next = Vec::with_capacity(live.len());
    for old in current.drain(..) {
        let k = key(&old);
        let mentioned = update.leases.iter().find(|l| l.0 == k);
        match mentioned {
            Some(&(_, pref, valid)) if valid != 0 => next.push(make(
                k,
                deadline_after(now, pref),
                deadline_after(now, valid),
            )),
            Some(_) => removed.push(old),
            None if live.is_empty() => next.push(old),
            None => removed.push(old),
        }
    }
    for &&(k, pref, valid) in &live {
        if !next.iter().any(|t| key(t) == k) {
            next.push(make(
                k,
                deadline_after(now, pref),
                deadline_after(now, valid),
            ));
        }
    }
    *current = next;
    removed
}

/// T1/T2 deadlines for an IA (RFC 8415 18.2.4, 21.4): the server's values,
/// or when it sent 0, 0.5 and 0.8 times the shortest preferred lifetime.
/// Never sooner than one second, so a server sending zeros cannot make us
/// renew in a tight loop.
pub fn renewal_times(
    t1: u32,
    t2: u32,
    preferred: impl Iterator<Item = u32>,
    now: Instant,
) -> (Deadline, Deadline) {
    let shortest = preferred.min().unwrap_or(INFINITY);
    let pick = |given: u32, num: u64| -> u32 {
        if given != 0 {
            given
        } else if shortest == INFINITY {
            INFINITY
        } else {
            (u64::from(shortest) * num / 10) as u32
        }
    };
    let t1 = pick(t1, 5).max(1);
    let t2 = pick(t2, 8).max(t1);
    (deadline_after(now, t1), deadline_after(now, t2))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> Ipv6Net {
        s.parse().unwrap()
    }

    #[test]
    fn renumbering_moves_unmentioned_prefix_to_removed() {
        let now = Instant::now();
        let old = DelegatedPrefix {
            prefix: net("2001:db8:1::/56"),
            preferred_until: deadline_after(now, 100),
            valid_until: deadline_after(now, 200),
        };
        let mut cur = vec![old];
        let upd = IaUpdate {
            leases: vec![(net("2001:db8:2::/56"), 300, 600)],
            t1: 0,
            t2: 0,
        };
        let removed = apply_prefixes(&mut cur, &upd, now);
        assert_eq!(removed, vec![old], "old one keeps the deadlines hosts hold");
        assert_eq!(cur.len(), 1);
        assert_eq!(cur[0].prefix, net("2001:db8:2::/56"));
        assert_eq!(cur[0].valid_until, deadline_after(now, 600));
    }

    #[test]
    fn empty_answer_leaves_prefixes_alone_and_zero_withdraws() {
        let now = Instant::now();
        let p = DelegatedPrefix {
            prefix: net("2001:db8:1::/56"),
            preferred_until: deadline_after(now, 100),
            valid_until: deadline_after(now, 200),
        };
        let mut cur = vec![p];
        assert!(apply_prefixes(&mut cur, &IaUpdate::default(), now).is_empty());
        assert_eq!(cur, vec![p]);
        let zero = IaUpdate {
            leases: vec![(p.prefix, 0, 0)],
            t1: 0,
            t2: 0,
        };
        assert_eq!(apply_prefixes(&mut cur, &zero, now), vec![p]);
        assert!(cur.is_empty());
    }

    #[test]
    fn t1_t2_defaults_follow_shortest_preferred_lifetime() {
        let now = Instant::now();
        let (t1, t2) = renewal_times(0, 0, [3600, 1000].into_iter(), now);
        assert_eq!(t1, deadline_after(now, 500));
        assert_eq!(t2, deadline_after(now, 800));
        let (t1, t2) = renewal_times(0, 0, [INFINITY].into_iter(), now);
        assert_eq!((t1, t2), (None, None));
        let (t1, t2) = renewal_times(0, 0, [0].into_iter(), now);
        assert_eq!((t1, t2), (deadline_after(now, 1), deadline_after(now, 1)));
        let (t1, t2) = renewal_times(100, 50, [1000].into_iter(), now);
        assert_eq!(
            (t1, t2),
            (deadline_after(now, 100), deadline_after(now, 100))
        );
    }

    #[test]
    fn secs_left_saturates() {
        let now = Instant::now();
        assert_eq!(secs_left(None, now), INFINITY);
        assert_eq!(secs_left(Some(now), now + Duration::from_secs(5)), 0);
        assert_eq!(secs_left(deadline_after(now, 90), now), 90);
    }
}

//! The lease as written to `state_dir`, so a restarted client resumes its
//! bindings (RFC 9096: no Release on restart, keep the same prefix).
//!
//! `Instant`s do not survive a reboot, so lifetimes are stored as seconds
//! remaining at the moment of saving, plus the wall-clock time of saving;
//! the driver subtracts the wall-clock age on load. A router without a
//! battery-backed clock may boot with a wrong clock: a negative age counts as
//! zero (the verifying Rebind sent right after restart corrects the
//! lifetimes anyway), a huge age simply expires the lease.

use std::net::Ipv6Addr;
use std::time::{Duration, Instant};

use cpe_wire::dhcpv6::{DomainName, Duid, INFINITY};
use ipnet::Ipv6Net;
use serde::{Deserialize, Serialize};

use crate::lease::{DelegatedPrefix, Lease, LeasedAddress, deadline_after, secs_left};

/// Serialised lease (JSON in `state_dir/dhcp6c/lease.json`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedLease {
    /// Unix seconds at the moment of saving.
    pub saved_at_unix: u64,
    /// Server DUID, colon hex.
    pub server_id: String,
    /// Delegated prefixes with remaining lifetimes.
    pub prefixes: Vec<SavedBinding<Ipv6Net>>,
    /// Addresses with remaining lifetimes.
    pub addresses: Vec<SavedBinding<Ipv6Addr>>,
    /// Seconds until T1 (0xffffffff = never).
    pub t1: u32,
    /// Seconds until T2 (0xffffffff = never).
    pub t2: u32,
    /// DNS servers.
    pub dns_servers: Vec<Ipv6Addr>,
    /// Search domains, dotted, odd octets escaped as `Display` writes them
    /// (read back with `DomainName::from_presentation`).
    pub domains: Vec<String>,
    /// Excluded parts of the prefixes (RFC 6603); absent in files written
    /// before Prefix Exclude was supported.
    #[serde(default)]
    pub excluded: Vec<Ipv6Net>,
}

/// One binding with lifetimes remaining at save time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedBinding<T> {
    /// Prefix or address.
    pub of: T,
    /// Preferred seconds left (0xffffffff = forever).
    pub preferred: u32,
    /// Valid seconds left (0xffffffff = forever).
    pub valid: u32,
}

fn age_off(secs: u32, age: Duration) -> u32 {
    if secs == INFINITY {
        INFINITY
    } else {
        u64::from(secs).saturating_sub(age.as_secs()) as u32
    }
}

impl SavedLease {
    /// Captures `lease` as of `now` (engine time) / `unix_now` (wall clock).
    pub fn capture(lease: &Lease, now: Instant, unix_now: u64) -> Self {
        Self {
            saved_at_unix: unix_now,
            server_id: lease.server_id.to_hex(),
            prefixes: lease
                .prefixes
                .iter()
                .map(|p| SavedBinding {
                    of: p.prefix,
                    preferred: secs_left(p.preferred_until, now),
                    valid: secs_left(p.valid_until, now),
                })
                .collect(),
            addresses: lease
                .addresses
                .iter()
                .map(|a| SavedBinding {
                    of: a.address,
                    preferred: secs_left(a.preferred_until, now),
                    valid: secs_left(a.valid_until, now),
                })
                .collect(),
            t1: secs_left(lease.t1, now),
            t2: secs_left(lease.t2, now),
            dns_servers: lease.dns_servers.clone(),
            domains: lease.domains.iter().map(|d| d.to_string()).collect(),
            excluded: lease.live_excluded().copied().collect(),
        }
    }

    /// Rebuilds the lease at engine time `now`, `unix_now` being the wall
    /// clock. Bindings that expired meanwhile are dropped; `None` if nothing
    /// is left or the file is inconsistent.
    pub fn restore(&self, now: Instant, unix_now: u64) -> Option<Lease> {
        let age = Duration::from_secs(unix_now.saturating_sub(self.saved_at_unix));
        let server_id = Duid::from_hex(&self.server_id).ok()?;
        let live = |b: &u32| age_off(*b, age) != 0;
        let prefixes = self
            .prefixes
            .iter()
            .filter(|b| live(&b.valid))
            .map(|b| DelegatedPrefix {
                prefix: b.of.trunc(),
                preferred_until: deadline_after(now, age_off(b.preferred, age)),
                valid_until: deadline_after(now, age_off(b.valid, age)),
            })
            .collect();
        let addresses = self
            .addresses
            .iter()
            .filter(|b| live(&b.valid))
            .map(|b| LeasedAddress {
                address: b.of,
                preferred_until: deadline_after(now, age_off(b.preferred, age)),
                valid_until: deadline_after(now, age_off(b.valid, age)),
            })
            .collect();
        let lease = Lease {
            server_id,
            prefixes,
            addresses,
            t1: deadline_after(now, age_off(self.t1, age)),
            t2: deadline_after(now, age_off(self.t2, age)),
            dns_servers: self.dns_servers.clone(),
            domains: self
                .domains
                .iter()
                // The escaped form: a label holding a dot or a space must
                // come back as one label, not two or a different name.
                .filter_map(|d| DomainName::from_presentation(d).ok())
                .collect(),
            excluded: self.excluded.clone(),
            ntp_servers: Vec::new(),
        };
        let excluded = lease.live_excluded().copied().collect();
        let lease = Lease { excluded, ..lease };
        (!lease.is_empty()).then_some(lease)
    }
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;

    use super::*;

    fn arb_deadline(now: Instant) -> impl Strategy<Value = Option<Instant>> {
        // Whole seconds (what the file keeps), at least one left, or never.
        prop_oneof![
            Just(None),
            (1u32..INFINITY).prop_map(move |s| deadline_after(now, s)),
        ]
    }

    fn arb_domain() -> impl Strategy<Value = DomainName> {
        // Any octets: a server's option 24 is not limited to host names.
        prop::collection::vec(prop::collection::vec(any::<u8>(), 1..20), 0..4)
            .prop_filter_map("name too long", |labels| {
                DomainName::from_labels(labels.iter().map(Vec::as_slice)).ok()
            })
    }

    fn arb_lease(now: Instant) -> impl Strategy<Value = Lease> {
        let binding = move || (arb_deadline(now), arb_deadline(now));
        (
            prop::collection::vec(any::<u8>(), 3..=Duid::MAX_LEN)
                .prop_filter_map("not a DUID", |b| Duid::from_bytes(&b).ok()),
            prop::collection::vec(((any::<u128>(), 0u8..=128), binding()), 0..3),
            prop::collection::vec((any::<u128>(), binding()), 0..3),
            arb_deadline(now),
            arb_deadline(now),
            prop::collection::vec(any::<u128>().prop_map(Ipv6Addr::from), 0..3),
            prop::collection::vec(arb_domain(), 0..4),
        )
            .prop_map(
                |(server_id, prefixes, addresses, t1, t2, dns_servers, domains)| Lease {
                    server_id,
                    prefixes: prefixes
                        .into_iter()
                        .map(
                            |((a, len), (preferred_until, valid_until))| DelegatedPrefix {
                                prefix: Ipv6Net::new(Ipv6Addr::from(a), len)
                                    .unwrap_or_default()
                                    .trunc(),
                                preferred_until,
                                valid_until,
                            },
                        )
                        .collect(),
                    addresses: addresses
                        .into_iter()
                        .map(|(a, (preferred_until, valid_until))| LeasedAddress {
                            address: Ipv6Addr::from(a),
                            preferred_until,
                            valid_until,
                        })
                        .collect(),
                    t1,
                    t2,
                    dns_servers,
                    domains,
                    excluded: Vec::new(),
                    ntp_servers: Vec::new(),
                },
            )
    }

    proptest! {
        /// Whatever lease the client holds comes back from its JSON file as
        /// it was (saved and restored at the same moment).
        #[test]
        fn a_saved_lease_restores_unchanged(
            (now, lease) in Just(Instant::now()).prop_flat_map(|now| (Just(now), arb_lease(now))),
        ) {
            prop_assume!(!lease.is_empty());
            let json = serde_json::to_vec_pretty(&SavedLease::capture(&lease, now, 1_800_000_000))
                .unwrap();
            let saved: SavedLease = serde_json::from_slice(&json).unwrap();
            prop_assert_eq!(saved.restore(now, 1_800_000_000), Some(lease));
        }
    }
}

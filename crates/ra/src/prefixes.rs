//! The prefixes a LAN is told about, including the ones being withdrawn.
//!
//! Renumbering is where home networks break: a host keeps an address from a
//! prefix the ISP took away and its connections time out. This table keeps
//! each prefix's lifecycle explicit: active (lifetimes follow the delegation,
//! capped per RFC 9096), stale (preferred and valid 0, for as long as hosts
//! may hold it, RFC 9096 L-13), remembered from before a restart (waiting to
//! see whether the new delegation still contains it), then gone.
//!
//! RFC 9096 section 3 replaces RFC 7084's L-13 ("L-13: CE routers MUST
//! signal stale configuration information as specified in Section 3.5"),
//! and section 3.5 says how: "Any prefixes that were previously advertised
//! by the CE router via PIOs in RA messages, but that have now become stale,
//! MUST be advertised with PIOs that have the "Valid Lifetime" and the
//! "Preferred Lifetime" set to 0 and the "A" and "L" bits unchanged", and
//! "The aforementioned advertisements MUST be performed for at least the
//! "Valid Lifetime" previously employed for such prefixes." RFC 7084's
//! option of a valid lifetime counting down from at most two hours is gone.
//! A host following RFC 4862 5.5.3 e) still keeps the address it holds
//! (deprecated) until the valid lifetime we last gave it runs out, because we
//! never give more than ND_VALID_LIMIT (90 min), below its two-hour rule.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use ipnet::Ipv6Net;

use crate::config::{ND_PREFERRED_LIMIT, ND_VALID_LIMIT};

/// One LAN /64 as derived by the supervisor from the delegation (or static).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LanPrefix {
    /// The /64 (other lengths are ignored: hosts would not use them for SLAAC).
    pub prefix: Ipv6Net,
    /// End of the delegated preferred lifetime; `None` = infinite.
    pub preferred_until: Option<Instant>,
    /// End of the delegated valid lifetime; `None` = infinite.
    pub valid_until: Option<Instant>,
    /// The supervisor asks to deprecate it (e.g. replaced upstream).
    pub deprecated: bool,
}

/// Lifecycle state of an advertised prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PrefixState {
    /// Advertised for SLAAC with its (capped) lifetimes.
    Active,
    /// Stale: advertised with preferred and valid lifetime 0 until `until`.
    Deprecated {
        /// When the last host that may hold it from our RAs lets it go: we
        /// signal it stale until then.
        until: Instant,
    },
    /// Advertised before a restart; not sent until the first delegation says
    /// whether it is still ours.
    Remembered,
}

#[derive(Debug, Clone, Copy)]
struct Entry {
    state: PrefixState,
    preferred_until: Option<Instant>,
    valid_until: Option<Instant>,
    /// Latest moment a host may still hold it valid because of our RAs.
    hosts_valid_until: Option<Instant>,
    /// What hosts were told by the last RA carrying it: (preferred end,
    /// valid end).
    told: Option<(Instant, Instant)>,
    /// The preferred lifetime (capped) as of the last delegation that set or
    /// moved it: the period our RAs must refresh hosts within. 0 for
    /// remembered and deprecated prefixes.
    lease_preferred: u32,
}

/// How far a delegated lifetime end must move to count as refreshed or cut:
/// the supervisor's clock conversion jitters by milliseconds, and PIO
/// lifetimes are whole seconds anyway.
const LIFETIME_MOVE_TOLERANCE: Duration = Duration::from_secs(1);

/// Whether `a` and `b` differ by more than [`LIFETIME_MOVE_TOLERANCE`].
fn moved(a: Option<Instant>, b: Option<Instant>) -> bool {
    match (a, b) {
        (Some(a), Some(b)) => {
            a.max(b).saturating_duration_since(a.min(b)) > LIFETIME_MOVE_TOLERANCE
        }
        (None, None) => false,
        _ => true,
    }
}

/// PIO lifetimes for one prefix at one moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PioLifetimes {
    /// The /64.
    pub prefix: Ipv6Net,
    /// Seconds (0 when stale).
    pub valid: u32,
    /// Seconds (0 when stale).
    pub preferred: u32,
    /// Whether the prefix is being withdrawn.
    pub deprecated: bool,
}

/// Whole seconds from `now` to `until`, rounded down so we never promise more
/// than we have; `None` is unbounded.
fn secs_until(until: Option<Instant>, now: Instant) -> u32 {
    match until {
        None => u32::MAX,
        Some(t) => u32::try_from(t.saturating_duration_since(now).as_secs()).unwrap_or(u32::MAX),
    }
}

/// All prefixes of one LAN.
#[derive(Debug, Clone, Default)]
pub struct PrefixTable {
    entries: BTreeMap<Ipv6Net, Entry>,
    /// Whether any delegation update arrived since start.
    delegation_seen: bool,
}

impl PrefixTable {
    /// A table holding the prefixes advertised before a restart.
    pub fn with_remembered(remembered: &[Ipv6Net]) -> Self {
        let entries = remembered
            .iter()
            .filter(|p| p.prefix_len() == 64)
            .map(|p| {
                (
                    p.trunc(),
                    Entry {
                        state: PrefixState::Remembered,
                        preferred_until: None,
                        valid_until: None,
                        hosts_valid_until: None,
                        told: None,
                        lease_preferred: 0,
                    },
                )
            })
            .collect();
        PrefixTable {
            entries,
            delegation_seen: false,
        }
    }

    /// Marks `entry` stale now: RFC 9096 3.5 wants it advertised with zero
    /// lifetimes "for at least the "Valid Lifetime" previously employed for
    /// such prefixes", that is until the latest end of validity our RAs gave
    /// hosts. Of a prefix whose advertising we have no record of (remembered
    /// from before a restart, or first heard of already withdrawn, e.g. an IA
    /// Prefix with valid-lifetime 0 after a reboot) the RFC's note applies:
    /// "the stale prefix can simply be advertised for a period of
    /// ND_VALID_LIMIT", the most any RA of ours gives. Returns false if no
    /// host can hold it any more (drop it).
    fn deprecate(entry: &mut Entry, now: Instant) -> bool {
        let until = entry
            .hosts_valid_until
            .unwrap_or(now + Duration::from_secs(u64::from(ND_VALID_LIMIT)));
        if until <= now {
            return false;
        }
        entry.state = PrefixState::Deprecated { until };
        entry.lease_preferred = 0;
        true
    }

    /// Applies the complete current list (delegated + static). Returns true if
    /// the advertised set or any prefix's state changed (worth fast RAs).
    ///
    /// `delegation_known` says the list reflects a delegation (or is final,
    /// as with static prefixes only): only then are prefixes remembered from
    /// before a restart that are missing from it deprecated. Before that a
    /// ULA-only list must not make us withdraw the delegated prefix hosts
    /// still use and that is most likely coming back.
    pub fn update(&mut self, current: &[LanPrefix], delegation_known: bool, now: Instant) -> bool {
        self.delegation_seen |= delegation_known;
        let before = self.states();
        let mut seen = Vec::with_capacity(current.len());
        for lp in current.iter().filter(|p| p.prefix.prefix_len() == 64) {
            let key = lp.prefix.trunc();
            seen.push(key);
            let fresh = !self.entries.contains_key(&key);
            let entry = self.entries.entry(key).or_insert(Entry {
                state: PrefixState::Active,
                preferred_until: None,
                valid_until: None,
                hosts_valid_until: None,
                told: None,
                lease_preferred: 0,
            });
            if fresh
                || entry.lease_preferred == 0
                || moved(entry.preferred_until, lp.preferred_until)
            {
                entry.lease_preferred = secs_until(lp.preferred_until, now)
                    .min(secs_until(lp.valid_until, now))
                    .min(ND_PREFERRED_LIMIT);
            }
            entry.preferred_until = lp.preferred_until;
            entry.valid_until = lp.valid_until;
            if lp.deprecated {
                if !matches!(entry.state, PrefixState::Deprecated { .. })
                    && !Self::deprecate(entry, now)
                {
                    self.entries.remove(&key);
                }
            } else {
                entry.state = PrefixState::Active;
            }
        }
        let gone: Vec<Ipv6Net> = self
            .entries
            .iter()
            .filter(|(k, _)| !seen.contains(k))
            .filter(|(_, e)| match e.state {
                PrefixState::Active => true,
                PrefixState::Remembered => self.delegation_seen,
                PrefixState::Deprecated { .. } => false,
            })
            .map(|(k, _)| *k)
            .collect();
        for key in gone {
            if let Some(entry) = self.entries.get_mut(&key)
                && !Self::deprecate(entry, now)
            {
                self.entries.remove(&key);
            }
        }
        self.expire(now);
        before != self.states()
    }

    /// Removes what has run out; deprecates remembered prefixes once the
    /// grace period passed without a delegation. Returns true on a change.
    pub fn expire(&mut self, now: Instant) -> bool {
        let before = self.entries.len();
        self.entries.retain(|_, e| match e.state {
            PrefixState::Deprecated { until } => until > now,
            PrefixState::Active => e.valid_until.is_none_or(|v| v > now),
            PrefixState::Remembered => true,
        });
        before != self.entries.len()
    }

    /// Deprecates remembered prefixes (no delegation within the grace period).
    pub fn give_up_remembered(&mut self, now: Instant) -> bool {
        let mut changed = false;
        self.entries.retain(|_, e| {
            if e.state != PrefixState::Remembered {
                return true;
            }
            changed = true;
            Self::deprecate(e, now)
        });
        changed
    }

    /// Whether a delegation (or a final static list) has been applied.
    pub fn delegation_seen(&self) -> bool {
        self.delegation_seen
    }

    fn states(&self) -> Vec<(Ipv6Net, bool)> {
        self.entries
            .iter()
            .map(|(k, e)| (*k, e.state == PrefixState::Active))
            .collect()
    }

    /// PIO lifetimes to advertise at `now` (remembered prefixes are not sent).
    pub fn lifetimes(&self, now: Instant) -> Vec<PioLifetimes> {
        self.entries
            .iter()
            .filter_map(|(prefix, e)| match e.state {
                PrefixState::Active => {
                    let valid = secs_until(e.valid_until, now).min(ND_VALID_LIMIT);
                    let preferred = secs_until(e.preferred_until, now)
                        .min(ND_PREFERRED_LIMIT)
                        .min(valid);
                    Some(PioLifetimes {
                        prefix: *prefix,
                        valid,
                        preferred,
                        deprecated: false,
                    })
                }
                PrefixState::Deprecated { until } => (until > now).then_some(PioLifetimes {
                    prefix: *prefix,
                    valid: 0,
                    preferred: 0,
                    deprecated: true,
                }),
                PrefixState::Remembered => None,
            })
            .filter(|l| l.valid > 0 || l.deprecated)
            .collect()
    }

    /// Records an RA carrying `sent` so withdrawal knows what hosts hold.
    pub fn advertised(&mut self, sent: &[PioLifetimes], now: Instant) {
        for l in sent {
            if let Some(e) = self.entries.get_mut(&l.prefix) {
                let until = now + Duration::from_secs(u64::from(l.valid));
                e.hosts_valid_until = Some(e.hosts_valid_until.map_or(until, |h| h.max(until)));
                let preferred = now + Duration::from_secs(u64::from(l.preferred));
                e.told = Some((preferred, until));
            }
        }
    }

    /// Whether hosts hold lifetimes for an active prefix that an RA now
    /// would materially correct: cut (they believe in more than the
    /// delegation still gives, beyond rounding) or refreshed (they hold less
    /// than half of what we can now give, e.g. after a Renew or Rebind that
    /// followed an outage). Hosts would otherwise wait for the next periodic
    /// RA, which may come after their address is deprecated or gone.
    pub fn hosts_need_refresh(&self, now: Instant) -> bool {
        let slack = LIFETIME_MOVE_TOLERANCE.as_secs() as u32 + 1;
        let current = self.lifetimes(now);
        current.iter().filter(|l| !l.deprecated).any(|l| {
            let Some((preferred_end, valid_end)) = self.entries.get(&l.prefix).and_then(|e| e.told)
            else {
                return false;
            };
            let held_preferred = secs_until(Some(preferred_end), now);
            let held_valid = secs_until(Some(valid_end), now);
            let cut = held_preferred > l.preferred.saturating_add(slack)
                || held_valid > l.valid.saturating_add(slack);
            let refreshed = held_preferred.saturating_mul(2) < l.preferred
                || held_valid.saturating_mul(2) < l.valid;
            cut || refreshed
        })
    }

    /// The smallest preferred lifetime (seconds, capped) the delegation gave
    /// an active prefix with a non-zero one; hosts must hear an RA well
    /// within it.
    pub fn smallest_lease_preferred(&self) -> Option<u32> {
        self.entries
            .values()
            .filter(|e| e.state == PrefixState::Active && e.lease_preferred > 0)
            .map(|e| e.lease_preferred)
            .min()
    }

    /// Every prefix hosts may still hold or that must be remembered across a
    /// restart (RFC 9096 3.5).
    pub fn to_remember(&self) -> Vec<Ipv6Net> {
        self.entries.keys().copied().collect()
    }

    /// Active prefixes (for choosing the router's own "self" address).
    pub fn active(&self) -> impl Iterator<Item = &Ipv6Net> {
        self.entries
            .iter()
            .filter(|(_, e)| e.state == PrefixState::Active)
            .map(|(k, _)| k)
    }

    /// Earliest moment something in the table changes by itself.
    pub fn next_change(&self) -> Option<Instant> {
        self.entries
            .values()
            .filter_map(|e| match e.state {
                PrefixState::Deprecated { until } => Some(until),
                PrefixState::Active => e.valid_until,
                PrefixState::Remembered => None,
            })
            .min()
    }

    /// Whether any remembered prefix still waits for a decision.
    pub fn has_remembered(&self) -> bool {
        self.entries
            .values()
            .any(|e| e.state == PrefixState::Remembered)
    }
}

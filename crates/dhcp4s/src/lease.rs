//! The lease table: which address belongs to which client, until when.
//!
//! Entries are kept after a lease ends (state [`LeaseState::Free`]): the
//! address is available again, but the same client gets it back first, and
//! other clients get never-used addresses before remembered ones. That is
//! what makes addresses sticky across expiry, release and restarts.
//!
//! Only a binding earns that memory ([`Lease::sticky`]). An offer nobody
//! took leaves no trace when it ends: otherwise a flood of DISCOVERs from
//! made-up hardware addresses would fill the table with "remembered"
//! records as good as a real client's, and a returning client's address
//! would go to the next newcomer. While never-used addresses remain, a
//! remembered address is neither offered nor acknowledged to another
//! client.

use std::collections::BTreeMap;
use std::fmt;
use std::net::Ipv4Addr;
use std::time::Instant;

use cpe_wire::dhcpv4;

use crate::config::PoolConfig;

/// Who a lease belongs to: the client identifier (option 61) when the
/// client sends one, else its hardware address (RFC 2131 4.2).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum ClientKey {
    /// Option 61 contents (type octet + identifier).
    Id(Vec<u8>),
    /// `chaddr`.
    Mac([u8; 6]),
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Option<Vec<u8>> {
    if !s.len().is_multiple_of(2) || s.is_empty() {
        return None;
    }
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|h| u8::from_str_radix(h, 16).ok()))
        .collect()
}

impl ClientKey {
    /// The key of a request: option 61 if present, else `chaddr`.
    pub fn of(client_id: &[u8], chaddr: [u8; 6]) -> Self {
        if client_id.is_empty() {
            Self::Mac(chaddr)
        } else {
            Self::Id(client_id.to_vec())
        }
    }

    /// Parses the [`fmt::Display`] form (`id:<hex>` / `hw:<hex>`).
    ///
    /// Identifiers are accepted in exactly the length range the decoder
    /// accepts ([`dhcpv4::MIN_CLIENT_ID_LEN`]..=[`dhcpv4::MAX_CLIENT_ID_LEN`]):
    /// a narrower range here would silently drop a stored lease on restart
    /// and hand its address to another host.
    pub fn parse(s: &str) -> Option<Self> {
        if let Some(h) = s.strip_prefix("id:") {
            let b = unhex(h)?;
            (dhcpv4::MIN_CLIENT_ID_LEN..=dhcpv4::MAX_CLIENT_ID_LEN)
                .contains(&b.len())
                .then_some(Self::Id(b))
        } else {
            let b = unhex(s.strip_prefix("hw:")?)?;
            <[u8; 6]>::try_from(b.as_slice()).ok().map(Self::Mac)
        }
    }
}

impl fmt::Display for ClientKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Id(b) => write!(f, "id:{}", hex(b)),
            Self::Mac(m) => write!(f, "hw:{}", hex(m)),
        }
    }
}

/// Formats a MAC as `02:00:00:00:03:01`.
pub fn mac_text(mac: &[u8; 6]) -> String {
    mac.iter()
        .map(|b| format!("{b:02x}"))
        .collect::<Vec<_>>()
        .join(":")
}

/// Where a lease stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaseState {
    /// Offered, held for the client until `until`.
    Offered,
    /// Acknowledged, valid until `until`.
    Bound,
    /// Declined by a client (someone else uses it): out of the pool until
    /// `until`.
    Declined,
    /// Released or expired: free, remembered for stickiness.
    Free,
}

impl LeaseState {
    /// Word used in status and in the lease file.
    pub fn name(self) -> &'static str {
        match self {
            Self::Offered => "offered",
            Self::Bound => "bound",
            Self::Declined => "declined",
            Self::Free => "free",
        }
    }
}

/// One address's record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Lease {
    /// The client it belongs (or belonged) to.
    pub client: ClientKey,
    /// The client's hardware address.
    pub mac: [u8; 6],
    /// Host name the client sent (option 12), for the console.
    pub hostname: Option<String>,
    /// State.
    pub state: LeaseState,
    /// End of the offer hold, lease or quarantine.
    pub until: Instant,
    /// The client has held this address bound (ACKed), so the record keeps
    /// its claim after the lease ends. False for an offer to a client that
    /// never had the address: when that offer ends the record goes.
    pub sticky: bool,
}

impl Lease {
    /// Whether the address can be given to `client` at `now`.
    fn available_to(&self, client: &ClientKey, now: Instant) -> bool {
        match self.state {
            LeaseState::Free => true,
            LeaseState::Offered | LeaseState::Bound => self.until <= now || self.client == *client,
            LeaseState::Declined => self.until <= now,
        }
    }
}

/// All records of one LAN, by address.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LeaseTable {
    entries: BTreeMap<Ipv4Addr, Lease>,
}

impl LeaseTable {
    /// An empty table.
    pub fn new() -> Self {
        Self::default()
    }

    /// The record of `addr`.
    pub fn get(&self, addr: Ipv4Addr) -> Option<&Lease> {
        self.entries.get(&addr)
    }

    /// The record of `addr`, to change it.
    pub fn get_mut(&mut self, addr: Ipv4Addr) -> Option<&mut Lease> {
        self.entries.get_mut(&addr)
    }

    /// Every record, by address.
    pub fn iter(&self) -> impl Iterator<Item = (&Ipv4Addr, &Lease)> {
        self.entries.iter()
    }

    /// Number of records.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether there are no records.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Puts a record (replacing any for that address).
    pub fn insert(&mut self, addr: Ipv4Addr, lease: Lease) {
        self.entries.insert(addr, lease);
    }

    /// Turns ended leases (and ended offers of remembered addresses) into
    /// free records, forgets ended offers of addresses the client never
    /// had, and ends quarantines. Returns whether anything changed.
    pub fn expire(&mut self, now: Instant) -> bool {
        let mut changed = false;
        self.entries.retain(|_, l| match l.state {
            LeaseState::Offered | LeaseState::Bound if l.until <= now => {
                l.state = LeaseState::Free;
                changed = true;
                l.sticky
            }
            LeaseState::Declined if l.until <= now => {
                changed = true;
                false
            }
            _ => true,
        });
        changed
    }

    /// Ends the offer or lease of `addr` now (release, withdrawal, the
    /// client moved): a record the client held bound becomes free and
    /// keeps its claim; an offer of an address the client never held is
    /// forgotten.
    pub fn end(&mut self, addr: Ipv4Addr) {
        match self.entries.get_mut(&addr) {
            Some(l) if l.sticky => l.state = LeaseState::Free,
            Some(_) => {
                self.entries.remove(&addr);
            }
            None => {}
        }
    }

    /// The earliest time a record changes state by itself.
    pub fn next_deadline(&self) -> Option<Instant> {
        self.entries
            .values()
            .filter(|l| l.state != LeaseState::Free)
            .map(|l| l.until)
            .min()
    }

    /// The address this client has (or last had), if the record still
    /// names it and is not a quarantine.
    pub fn address_of(&self, client: &ClientKey) -> Option<Ipv4Addr> {
        self.entries
            .iter()
            .filter(|(_, l)| l.client == *client && l.state != LeaseState::Declined)
            // A current lease wins over an old free record.
            .min_by_key(|(_, l)| l.state == LeaseState::Free)
            .map(|(a, _)| *a)
    }

    /// Whether `addr` could be given to `client` now (in the pool, not
    /// held by anyone else, not quarantined).
    pub fn is_available(
        &self,
        cfg: &PoolConfig,
        addr: Ipv4Addr,
        client: &ClientKey,
        now: Instant,
    ) -> bool {
        cfg.in_pool(addr)
            && self.entries.get(&addr).is_none_or(|l| {
                l.available_to(client, now)
                    && (l.client == *client
                        || !(l.sticky && l.state == LeaseState::Free)
                        || self.first_unused(cfg).is_none())
            })
    }

    /// Offers outstanding at `now` to clients that never held the address
    /// offered (newcomers, or hardware addresses made up by a flood).
    pub fn newcomer_offers(&self, now: Instant) -> usize {
        self.entries
            .values()
            .filter(|l| l.state == LeaseState::Offered && !l.sticky && l.until > now)
            .count()
    }

    /// Whether `client` has a remembered (sticky) record in the table.
    pub fn knows(&self, client: &ClientKey) -> bool {
        self.entries
            .values()
            .any(|l| l.sticky && l.client == *client && l.state != LeaseState::Declined)
    }

    /// Picks an address for `client` (RFC 2131 4.3.1 order): its current or
    /// last address, then the one it asks for if free and unremembered,
    /// then a never-used address, then the free record unused longest.
    pub fn choose(
        &self,
        cfg: &PoolConfig,
        client: &ClientKey,
        requested: Option<Ipv4Addr>,
        now: Instant,
    ) -> Option<Ipv4Addr> {
        if let Some(a) = self.address_of(client)
            && self.is_available(cfg, a, client, now)
        {
            return Some(a);
        }
        if let Some(r) = requested
            && cfg.in_pool(r)
            && self.entries.get(&r).is_none_or(|l| l.client == *client)
        {
            return Some(r);
        }
        if let Some(a) = self.first_unused(cfg) {
            return Some(a);
        }
        self.entries
            .iter()
            .filter(|(a, l)| cfg.in_pool(**a) && l.available_to(client, now))
            .min_by_key(|(_, l)| l.until)
            .map(|(a, _)| *a)
    }

    /// The lowest pool address with no record at all.
    fn first_unused(&self, cfg: &PoolConfig) -> Option<Ipv4Addr> {
        let (start, end) = (u32::from(cfg.pool.0), u32::from(cfg.pool.1));
        let mut candidate = start;
        // Records are sorted: walk them alongside the pool.
        for addr in self
            .entries
            .range(cfg.pool.0..=cfg.pool.1)
            .map(|(a, _)| u32::from(*a))
        {
            while candidate < addr {
                if cfg.in_pool(Ipv4Addr::from(candidate)) {
                    return Some(Ipv4Addr::from(candidate));
                }
                candidate += 1;
            }
            if candidate == addr {
                candidate = candidate.checked_add(1)?;
            }
        }
        while candidate <= end {
            if cfg.in_pool(Ipv4Addr::from(candidate)) {
                return Some(Ipv4Addr::from(candidate));
            }
            candidate = candidate.checked_add(1)?;
        }
        None
    }

    /// Drops records of addresses outside the pool (the config changed).
    pub fn retain_pool(&mut self, cfg: &PoolConfig) -> usize {
        let before = self.entries.len();
        self.entries.retain(|a, _| cfg.in_pool(*a));
        before - self.entries.len()
    }

    /// Counts of records by state.
    pub fn count(&self, state: LeaseState) -> usize {
        self.entries.values().filter(|l| l.state == state).count()
    }
}

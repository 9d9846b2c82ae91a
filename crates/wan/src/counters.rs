//! What the IPoE driver counts since start, for the status object (the
//! DHCPv4 client counts its own, in `dhcpv4::engine::Counters`).

/// Event counters since start.
#[derive(Debug, Clone, Copy, Default)]
pub struct Counters {
    /// RAs accepted.
    pub ra_accepted: u64,
    /// Packets dropped as invalid RAs (hop limit, source, malformed).
    pub ra_rejected: u64,
    /// Router Solicitations sent.
    pub rs_sent: u64,
    /// Malformed netlink notifications dropped.
    pub netlink_malformed: u64,
}

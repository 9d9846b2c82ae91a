//! What the engine is asked to obtain, and the identities it uses.

/// When to ask for a WAN address (IA_NA) besides the prefix.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AddressMode {
    /// Only when the WAN's Router Advertisement has M=1 (IPoE ISPs that
    /// number the WAN by DHCPv6 say so with the M flag).
    Auto,
    /// Always include IA_NA.
    Always,
    /// Never include IA_NA.
    Never,
}

/// Engine settings, derived from `[wan.dhcpv6]` plus the WAN interface.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientConfig {
    /// Ask for a delegated prefix (IA_PD).
    pub request_prefix: bool,
    /// Length put in the IA_PD hint (`::/hint`); 0 sends no hint.
    pub prefix_hint: u8,
    /// When to ask for IA_NA.
    pub request_address: AddressMode,
    /// Offer Rapid Commit in Solicit.
    pub rapid_commit: bool,
    /// IAID of our IA_PD (see [`iaid_for`]).
    pub iaid_pd: u32,
    /// IAID of our IA_NA (see [`iaid_for`]).
    pub iaid_na: u32,
    /// Option codes asked for on top of the fixed ORO, in every ORO: the
    /// AFTR-Name (64) and MAP-E container (94) when
    /// `[wan.ipv4_over_ipv6]` wants them (RFC 6334 3, RFC 7598 7: a client
    /// gets these only by asking).
    pub extra_oro: Vec<u16>,
}

/// Which identity association an IAID is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IaKind {
    /// IA_PD.
    Prefix,
    /// IA_NA.
    Address,
}

/// Derives a stable IAID from the interface name.
///
/// RFC 8415 section 12 asks that an IAID stay the same across restarts. Ours
/// is the 32-bit FNV-1a hash of `"pd:" + name` or `"na:" + name`: the same
/// WAN interface always gives the same IAIDs (also after a flash upgrade or
/// a lost state directory), IA_PD and IA_NA never collide, and nothing has to
/// be stored. Interface indexes are avoided on purpose: they change between
/// boots when drivers load in a different order.
pub fn iaid_for(interface: &str, kind: IaKind) -> u32 {
    let tag: &[u8] = match kind {
        IaKind::Prefix => b"pd:",
        IaKind::Address => b"na:",
    };
    tag.iter()
        .chain(interface.as_bytes())
        .fold(0x811c_9dc5_u32, |h, b| {
            (h ^ u32::from(*b)).wrapping_mul(0x0100_0193)
        })
}

/// The ORO additions for an `[wan.ipv4_over_ipv6]` mode: the AFTR name
/// for DS-Lite, the MAP-E container for MAP-E, both for `auto`.
pub fn s46_oro(mode: cpe_config::S46Mode) -> Vec<u16> {
    use cpe_config::S46Mode;
    use cpe_wire::dhcpv6::code;
    match mode {
        S46Mode::Off => Vec::new(),
        S46Mode::DsLite => vec![code::AFTR_NAME],
        S46Mode::MapE => vec![code::S46_CONT_MAPE],
        S46Mode::Auto => vec![code::AFTR_NAME, code::S46_CONT_MAPE],
    }
}

impl ClientConfig {
    /// The usual home-router setup: IA_PD with a /56 hint, IA_NA on M=1,
    /// Rapid Commit, IAIDs from `interface`.
    pub fn for_interface(interface: &str) -> Self {
        Self {
            request_prefix: true,
            prefix_hint: 56,
            request_address: AddressMode::Auto,
            rapid_commit: true,
            iaid_pd: iaid_for(interface, IaKind::Prefix),
            iaid_na: iaid_for(interface, IaKind::Address),
            extra_oro: Vec::new(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iaids_are_stable_and_distinct() {
        // Pinned values: changing them would make every deployed router ask
        // its ISP for a new binding after an upgrade.
        assert_eq!(iaid_for("wan0", IaKind::Prefix), 0x652f_a36f);
        assert_eq!(
            iaid_for("wan0", IaKind::Prefix),
            iaid_for("wan0", IaKind::Prefix)
        );
        assert_ne!(
            iaid_for("wan0", IaKind::Prefix),
            iaid_for("wan0", IaKind::Address)
        );
        assert_ne!(
            iaid_for("wan0", IaKind::Prefix),
            iaid_for("ppp0", IaKind::Prefix)
        );
    }
}

//! What the engine counts (the kernel's drop counters are read by the driver).

/// Applies and failures since the daemon started.
#[derive(Debug, Clone, Default, PartialEq, Eq, serde::Serialize)]
pub struct Counters {
    /// Full table replacements committed.
    pub full_applies: u64,
    /// Set-only updates committed (renumberings).
    pub set_updates: u64,
    /// Commits the kernel refused.
    pub apply_failures: u64,
    /// Failed attempts to switch forwarding on.
    pub forwarding_failures: u64,
}

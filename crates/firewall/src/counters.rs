//! What the engine counts (the kernel's drop counters are read by the
//! driver). The engine counts straight into the published struct.

pub use cpe_bus::status::firewall::FirewallCounters as Counters;

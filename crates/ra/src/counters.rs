//! What the RA engine of one LAN counts, shown in its status. The engine
//! counts straight into the published struct (`cpe_bus::status::ra`).

pub use cpe_bus::status::ra::RaCounters as Counters;

//! The remembered lease in `state_dir`, written atomically.

use super::engine::Remembered;
use std::io;
use std::path::{Path, PathBuf};

/// File name of the remembered DHCPv4 lease.
pub const FILE_NAME: &str = "wan-dhcpv4.json";

/// Where the remembered lease of `state_dir` lives.
pub fn path(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE_NAME)
}

/// Reads the remembered lease. A missing file is `None`; a damaged one is
/// logged and treated as missing (the client then simply discovers).
pub fn load(state_dir: &Path) -> Option<Remembered> {
    crate::state_file::load(&path(state_dir))
}

/// Stores (or with `None`, removes) the remembered lease.
pub fn save(state_dir: &Path, r: Option<&Remembered>) -> io::Result<()> {
    crate::state_file::save(&path(state_dir), r)
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use proptest::prelude::*;

    use super::*;

    proptest! {
        // Each case writes and fsyncs a real file.
        #![proptest_config(ProptestConfig::with_cases(32))]

        /// Whatever lease the client remembers is what it asks for again
        /// after a restart (through the real file).
        #[test]
        fn a_remembered_lease_reads_back(address in any::<u32>(), server in any::<u32>()) {
            let dir = std::env::temp_dir().join(format!("cpe-wan-dhcpv4-store-{}", std::process::id()));
            let r = Remembered {
                address: Ipv4Addr::from(address),
                server: Ipv4Addr::from(server),
            };
            save(&dir, Some(&r)).unwrap();
            prop_assert_eq!(load(&dir), Some(r));
            save(&dir, None).unwrap();
            prop_assert_eq!(load(&dir), None);
            std::fs::remove_dir_all(&dir).unwrap();
        }
    }
}

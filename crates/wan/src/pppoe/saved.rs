//! The live PPPoE session's id and AC, kept in `state_dir` while the session
//! stands, so that after a crash or a power cut the next start can send PADT
//! for it first: the access concentrator (a BRAS) would otherwise hold the
//! stale session until its own timeout, and many refuse a second session for
//! the same line meanwhile. Written when PADS arrives and removed when the
//! session ends: two small atomic writes per session, not per packet.

use super::discovery::Mac;
use serde::{Deserialize, Serialize};
use std::io;
use std::path::{Path, PathBuf};

/// File name in `state_dir`.
pub const FILE_NAME: &str = "wan-pppoe-session.json";

/// A session that may still exist on the AC.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SavedSession {
    /// The WAN interface it ran on (a changed config must not send PADT on
    /// another link).
    pub interface: String,
    /// SESSION_ID from the PADS.
    pub session_id: u16,
    /// The AC's MAC.
    pub ac_mac: Mac,
}

fn path(state_dir: &Path) -> PathBuf {
    state_dir.join(FILE_NAME)
}

/// The saved session, if one was left behind. A damaged file or a session
/// id of 0 (never valid) is logged and ignored.
pub fn load(state_dir: &Path) -> Option<SavedSession> {
    let s: SavedSession = crate::state_file::load(&path(state_dir))?;
    if s.session_id == 0 {
        log::warn!("ignoring {}: session id 0", path(state_dir).display());
        return None;
    }
    Some(s)
}

/// Stores the session, or with `None` removes the file.
pub fn save(state_dir: &Path, s: Option<&SavedSession>) -> io::Result<()> {
    crate::state_file::save(&path(state_dir), s)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_session_reads_back_and_is_removed() {
        let dir = std::env::temp_dir().join(format!("cpe-pppoe-saved-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        assert_eq!(load(&dir), None);
        let s = SavedSession {
            interface: "wan0".into(),
            session_id: 0x1234,
            ac_mac: [2, 0, 0, 0, 0xac, 1],
        };
        save(&dir, Some(&s)).unwrap();
        assert_eq!(load(&dir), Some(s));
        save(&dir, None).unwrap();
        assert_eq!(load(&dir), None);
        save(&dir, None).unwrap();
        for junk in [
            &b"{"[..],
            br#"{"interface":"wan0","session_id":0,"ac_mac":[0,0,0,0,0,0]}"#,
        ] {
            std::fs::write(dir.join(FILE_NAME), junk).unwrap();
            assert_eq!(load(&dir), None);
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

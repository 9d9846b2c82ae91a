//! The serial console's login: `[system] root_password_hash` becomes the
//! `shadow` file busybox `login` reads.
//!
//! The image's root is read-only, so `/etc/shadow` is a link into RAM
//! (`/run/shadow`) and this file is rewritten from the config at every
//! boot (`cpe console-login`, before the console starts) and by the
//! supervisor (`cpe run --login-shadow FILE`) at start and at every reload,
//! so a changed hash applies at the next login without a reboot. The
//! console's wrapper (`rootfs/sbin/cpe-console`) asks for a login only when
//! the file holds a SHA-512 hash for root; without one the console gives a
//! shell as a board fresh from the bench does.

use std::io;
use std::path::Path;

use cpe_config::Config;

/// The shadow file for `config`: root with the configured hash, or locked
/// (`*`, no password opens it) when there is none.
///
/// The aging fields are numbers, not empty: busybox's own shadow parser
/// (the image's `login`) skips an entry whose last-change, minimum,
/// maximum or warning field is empty, and then refuses every password
/// (seen in QEMU: "Login incorrect" with the right one). Last change day 1
/// (not 0, which shadow tools read as "change at next login"), maximum
/// 99999 days: a router has no clock at boot, and an expiry would lock
/// the engineer out.
pub fn shadow_text(config: &Config) -> String {
    let hash = config
        .system
        .root_password_hash
        .as_ref()
        .map_or("*", |h| h.as_str());
    format!("root:{hash}:{AGING}\nnobody:*:{AGING}\n")
}

/// Last change, minimum, maximum, warning; inactive, expiry, flag empty.
const AGING: &str = "1:0:99999:7:::";

/// What the console does under `config`, for the boot console and the log
/// (never the hash itself).
pub fn summary(config: &Config) -> &'static str {
    if config.system.root_password_hash.is_some() {
        "console login: asks for root's password ([system] root_password_hash)"
    } else {
        "console login: none, the console opens a root shell ([system] root_password_hash not set)"
    }
}

/// Writes the shadow file for `config` at `path` (mode 0600, atomically, so
/// a `login` reading it meanwhile sees the old or the new file), unless it
/// already holds exactly that. Returns whether it changed.
pub fn write_shadow(path: &Path, config: &Config) -> io::Result<bool> {
    let text = shadow_text(config);
    if cpe_sys::persist::read_optional(path)?.as_deref() == Some(text.as_bytes()) {
        return Ok(false);
    }
    cpe_sys::persist::atomic_write(path, text.as_bytes())?;
    Ok(true)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use std::os::unix::fs::PermissionsExt;

    const HASH: &str = "$6$abcdefgh$ltjgWl6579NluT/Vi1nwEvcil.G5Nbc4NiXZaNGStk8PSwGfQv72N2CKPPrVACtLtip/cZ/1GM/O6IND4WQhG.";

    fn config(hash: Option<&str>) -> Config {
        let system = hash.map_or(String::new(), |h| {
            format!("[system]\nroot_password_hash = \"{h}\"\n")
        });
        cpe_config::parse_str(&format!("{system}[wan]\n[[lan]]\n"), "t.toml")
            .unwrap()
            .config
    }

    #[test]
    fn a_hash_becomes_roots_shadow_entry_and_none_locks_root() {
        assert_eq!(
            shadow_text(&config(Some(HASH))),
            format!("root:{HASH}:1:0:99999:7:::\nnobody:*:1:0:99999:7:::\n")
        );
        // Nine fields, the four aging numbers present (busybox skips the
        // entry otherwise).
        let locked = shadow_text(&config(None));
        let fields: Vec<&str> = locked.lines().next().unwrap().split(':').collect();
        assert_eq!(fields.len(), 9);
        assert!(fields[2..6].iter().all(|f| f.parse::<u32>().is_ok()));
        assert!(shadow_text(&config(None)).starts_with("root:*:"));
        assert!(!summary(&config(Some(HASH))).contains("ltjgWl"));
    }

    #[test]
    fn the_shadow_file_is_private_and_rewritten_only_on_change() {
        let dir = std::env::temp_dir().join(format!("cpe-login-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let path = dir.join("shadow");
        assert!(write_shadow(&path, &config(Some(HASH))).unwrap());
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        assert!(!write_shadow(&path, &config(Some(HASH))).unwrap());
        assert!(write_shadow(&path, &config(None)).unwrap());
        assert!(
            std::fs::read_to_string(&path)
                .unwrap()
                .starts_with("root:*:")
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}

//! Per-interface and global IP sysctls under `/proc/sys/net`.
//!
//! Keys are built from segments rather than parsed from dotted text because
//! interface names may contain dots (`eth0.10`), which the dotted `sysctl`
//! syntax cannot express. Errors name the key in the dotted form operators
//! know, with the value that was being written.

use std::fmt;
use std::fs;
use std::io;
use std::path::PathBuf;

/// A sysctl key below `/proc/sys`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SysctlKey {
    segments: Vec<String>,
}

impl SysctlKey {
    /// `net.ipv6.conf.<iface>.<leaf>`; `iface` may be `all` or `default`.
    pub fn ipv6_conf(iface: &str, leaf: &str) -> io::Result<SysctlKey> {
        SysctlKey::new(&["net", "ipv6", "conf", iface, leaf])
    }

    /// `net.ipv4.conf.<iface>.<leaf>`.
    pub fn ipv4_conf(iface: &str, leaf: &str) -> io::Result<SysctlKey> {
        SysctlKey::new(&["net", "ipv4", "conf", iface, leaf])
    }

    /// `net.ipv4.ip_forward`, the global IPv4 forwarding switch.
    pub fn ipv4_forward() -> SysctlKey {
        SysctlKey {
            segments: ["net", "ipv4", "ip_forward"].map(String::from).to_vec(),
        }
    }

    /// A key from its segments. Each segment must be a plain file name: not
    /// empty, not `.`/`..`, without `/` or NUL, at most 64 bytes.
    pub fn new(segments: &[&str]) -> io::Result<SysctlKey> {
        for s in segments {
            if s.is_empty()
                || *s == "."
                || *s == ".."
                || s.len() > 64
                || s.contains('/')
                || s.contains('\0')
            {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    format!("sysctl key segment {s:?} is not a valid name"),
                ));
            }
        }
        Ok(SysctlKey {
            segments: segments.iter().map(|s| s.to_string()).collect(),
        })
    }

    /// The file behind the key.
    pub fn path(&self) -> PathBuf {
        let mut p = PathBuf::from("/proc/sys");
        p.extend(&self.segments);
        p
    }
}

impl fmt::Display for SysctlKey {
    /// Dotted form; a segment containing a dot is shown with `/` separators,
    /// as `sysctl(8)` accepts them (`net/ipv6/conf/eth0.10/accept_ra`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let sep = if self.segments.iter().any(|s| s.contains('.')) {
            "/"
        } else {
            "."
        };
        f.write_str(&self.segments.join(sep))
    }
}

/// Writes `value` to `key`. The error names the key and the value.
pub fn write(key: &SysctlKey, value: &str) -> io::Result<()> {
    fs::write(key.path(), value.as_bytes())
        .map_err(|e| io::Error::new(e.kind(), format!("sysctl {key}={value}: {e}")))
}

/// Reads `key`, trimmed. The error names the key.
pub fn read(key: &SysctlKey) -> io::Result<String> {
    fs::read_to_string(key.path())
        .map(|s| s.trim().to_string())
        .map_err(|e| io::Error::new(e.kind(), format!("sysctl {key}: {e}")))
}

/// Writes `value` only if the current value differs; returns whether it
/// changed. Avoids needless writes (some keys, like `forwarding`, reset
/// other per-interface settings when written).
pub fn ensure(key: &SysctlKey, value: &str) -> io::Result<bool> {
    if read(key)? == value {
        return Ok(false);
    }
    write(key, value)?;
    Ok(true)
}

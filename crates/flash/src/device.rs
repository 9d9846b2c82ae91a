//! The flash of a two-slot board, as `board.env` describes it: where the
//! two copies of the boot environment are, which partition is slot A, B and
//! the data partition. Reading and writing the environment with its
//! redundancy, and the slot a boot came from.

use std::fs::{File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use crate::env::{Env, EnvError};

/// A board's flash layout (keys of `board/<board>/board.env`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Layout {
    /// The whole flash (`FLASH_DEV`), e.g. `/dev/vda`.
    pub dev: PathBuf,
    /// Between the device and the partition number (`FLASH_PART_PREFIX`):
    /// `p` for `/dev/mmcblk0p1`, empty for `/dev/vda1`.
    pub part_prefix: String,
    /// Partition numbers of slot A and slot B; `None` on a one-slot board.
    pub slots: Option<(u32, u32)>,
    /// Byte offsets of the environment's two copies on `dev`.
    pub env_offsets: Option<(u64, u64)>,
    /// Size of one copy.
    pub env_size: usize,
}

/// `KEY="value"` lines of a shell fragment of plain assignments.
pub fn shell_var(text: &str, key: &str) -> Option<String> {
    text.lines().find_map(|l| {
        let v = l.trim().strip_prefix(key)?.strip_prefix('=')?;
        Some(v.trim().trim_matches('"').to_string())
    })
}

fn num(text: &str, key: &str) -> Option<u64> {
    let v = shell_var(text, key)?;
    match v.strip_prefix("0x") {
        Some(h) => u64::from_str_radix(h, 16).ok(),
        None => v.parse().ok(),
    }
}

impl Layout {
    /// From the text of `board.env`.
    pub fn from_board_env(text: &str) -> Layout {
        let slots = match (
            num(text, "FLASH_SLOT_A_PART"),
            num(text, "FLASH_SLOT_B_PART"),
        ) {
            (Some(a), Some(b)) => Some((a as u32, b as u32)),
            _ => None,
        };
        let env_offsets = match (
            num(text, "FLASH_ENV_OFFSET"),
            num(text, "FLASH_ENV_REDUND_OFFSET"),
        ) {
            (Some(a), Some(b)) => Some((a, b)),
            _ => None,
        };
        Layout {
            dev: PathBuf::from(shell_var(text, "FLASH_DEV").unwrap_or_default()),
            part_prefix: shell_var(text, "FLASH_PART_PREFIX").unwrap_or_default(),
            slots,
            env_offsets,
            env_size: num(text, "FLASH_ENV_SIZE").unwrap_or(0x4000) as usize,
        }
    }

    /// The device of partition `n`.
    pub fn partition(&self, n: u32) -> PathBuf {
        PathBuf::from(format!("{}{}{n}", self.dev.display(), self.part_prefix))
    }

    /// The device of slot `slot` (`a` or `b`).
    pub fn slot_dev(&self, slot: Slot) -> Option<PathBuf> {
        let (a, b) = self.slots?;
        Some(self.partition(match slot {
            Slot::A => a,
            Slot::B => b,
        }))
    }
}

/// One of the two slots.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Slot {
    /// Slot A.
    A,
    /// Slot B.
    B,
}

impl Slot {
    /// `a` or `b`, as in the environment and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Slot::A => "a",
            Slot::B => "b",
        }
    }
    /// From `a` or `b`.
    pub fn parse(s: &str) -> Option<Slot> {
        match s {
            "a" => Some(Slot::A),
            "b" => Some(Slot::B),
            _ => None,
        }
    }
    /// The slot an upgrade writes while this one runs.
    pub fn other(self) -> Slot {
        match self {
            Slot::A => Slot::B,
            Slot::B => Slot::A,
        }
    }
}

/// The value of `key=` on a kernel command line.
pub fn cmdline_arg<'a>(cmdline: &'a str, key: &str) -> Option<&'a str> {
    cmdline
        .split_whitespace()
        .find_map(|w| w.strip_prefix(key)?.strip_prefix('='))
}

/// Which copy an environment was read from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Copy {
    /// The first copy (written first, so the newer when both are valid).
    First,
    /// The redundant copy: the first was invalid (a write cut short).
    Second,
}

fn read_block(f: &mut File, at: u64, size: usize) -> io::Result<Vec<u8>> {
    let mut b = vec![0u8; size];
    f.seek(SeekFrom::Start(at))?;
    f.read_exact(&mut b)?;
    Ok(b)
}

/// Reads the environment as the boot script does: the first copy if its
/// CRC holds, else the second. Both bad: both errors.
pub fn read_env(dev: &Path, offsets: (u64, u64), size: usize) -> Result<(Env, Copy), String> {
    let mut f = File::open(dev).map_err(|e| format!("{}: {e}", dev.display()))?;
    let mut errs: Vec<String> = Vec::new();
    for (at, which) in [(offsets.0, Copy::First), (offsets.1, Copy::Second)] {
        match read_block(&mut f, at, size) {
            Ok(b) => match Env::decode(&b) {
                Ok(env) => return Ok((env, which)),
                Err(e) => errs.push(format!("copy at {at:#x}: {e}")),
            },
            Err(e) => errs.push(format!("copy at {at:#x}: {e}")),
        }
    }
    Err(format!(
        "no valid boot environment on {}: {}",
        dev.display(),
        errs.join("; ")
    ))
}

/// Writes `env` to both copies, the first then the second, each fsynced
/// before the next begins: a power cut leaves at least one copy whole,
/// and the first copy, when whole, is the newer (the boot script and
/// [`read_env`] prefer it).
pub fn write_env(dev: &Path, offsets: (u64, u64), size: usize, env: &Env) -> Result<(), String> {
    let block = env.encode(size).map_err(|e: EnvError| e.to_string())?;
    let mut f = OpenOptions::new()
        .write(true)
        .open(dev)
        .map_err(|e| format!("{}: {e}", dev.display()))?;
    for at in [offsets.0, offsets.1] {
        f.seek(SeekFrom::Start(at))
            .and_then(|_| f.write_all(&block))
            .and_then(|()| f.sync_all())
            .map_err(|e| {
                format!(
                    "writing the environment at {at:#x} of {}: {e}",
                    dev.display()
                )
            })?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    const BOARD_ENV: &str = r#"
FLASH="virtio"
FLASH_DEV="/dev/vda"
FLASH_PART_PREFIX=""
FLASH_SLOT_A_PART="2"
FLASH_SLOT_B_PART="3"
FLASH_ENV_OFFSET="0x100000"
FLASH_ENV_REDUND_OFFSET="0x110000"
FLASH_ENV_SIZE="0x4000"
"#;

    #[test]
    fn layout_from_board_env() {
        let l = Layout::from_board_env(BOARD_ENV);
        assert_eq!(l.slots, Some((2, 3)));
        assert_eq!(l.env_offsets, Some((0x10_0000, 0x11_0000)));
        assert_eq!(l.env_size, 0x4000);
        assert_eq!(l.slot_dev(Slot::B), Some(PathBuf::from("/dev/vda3")));
        let one = Layout::from_board_env("FLASH=\"sd\"\nFLASH_DEV=\"/dev/mmcblk0\"\n");
        assert_eq!(one.slots, None);
        assert_eq!(one.slot_dev(Slot::A), None);
    }

    #[test]
    fn cmdline() {
        let c = "console=ttyAMA0 cpe.slot=b cpe.slotx=a cpe.factory_reset=1";
        assert_eq!(cmdline_arg(c, "cpe.slot"), Some("b"));
        assert_eq!(cmdline_arg(c, "cpe.factory_reset"), Some("1"));
        assert_eq!(cmdline_arg(c, "cpe.nothing"), None);
    }

    fn flash() -> (PathBuf, (u64, u64)) {
        let path = std::env::temp_dir().join(format!(
            "cpe-flash-env-{}-{:?}",
            std::process::id(),
            std::thread::current().id()
        ));
        let f = File::create(&path).unwrap();
        f.set_len(0x12_0000).unwrap();
        (path, (0x10_0000, 0x11_0000))
    }

    #[test]
    fn env_copies_on_a_flash_file() {
        let (path, offs) = flash();
        assert!(read_env(&path, offs, 0x4000).unwrap_err().contains("CRC"));
        let mut env = Env::default();
        env.set("slot", "b").unwrap();
        write_env(&path, offs, 0x4000, &env).unwrap();
        assert_eq!(
            read_env(&path, offs, 0x4000).unwrap(),
            (env.clone(), Copy::First)
        );
        // A write of the first copy cut short: the second one answers.
        let mut f = OpenOptions::new().write(true).open(&path).unwrap();
        f.seek(SeekFrom::Start(offs.0 + 8)).unwrap();
        f.write_all(b"garbage").unwrap();
        drop(f);
        assert_eq!(read_env(&path, offs, 0x4000).unwrap(), (env, Copy::Second));
        std::fs::remove_file(&path).unwrap();
    }
}

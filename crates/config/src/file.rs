//! Reading the config file itself, before any parsing.
//!
//! The path comes from the command line or a reload, and an engineer can
//! point it at anything: a FIFO (opening one for reading waits for a writer,
//! forever), a directory, `/dev/zero` (endless), a serial port (opening it
//! may raise DTR or make it our controlling terminal), or a huge file. The
//! supervisor reads the config inside its one event loop, so any of these
//! would freeze the whole router's control plane. Only a regular file of
//! bounded size is read; everything else is refused with a diagnostic that
//! names what the path is.

use std::fs::{File, FileType, Metadata};
use std::io::Read;
use std::os::unix::fs::{FileTypeExt, OpenOptionsExt};
use std::path::{Path, PathBuf};

use crate::{Diagnostic, Diagnostics, MAX_CONFIG_BYTES, Severity};

/// A diagnostic about the file as a whole (no line or column).
pub(crate) fn whole_file(path: &Path, message: String) -> Diagnostics {
    Diagnostics(vec![Diagnostic {
        file: path.display().to_string(),
        line: 0,
        col: 0,
        severity: Severity::Error,
        message,
        hint: None,
    }])
}

/// What a non-regular file is, in the words `ls -l`'s first letter stands for.
fn kind(t: FileType) -> &'static str {
    if t.is_dir() {
        "directory"
    } else if t.is_fifo() {
        "fifo"
    } else if t.is_char_device() {
        "character device"
    } else if t.is_block_device() {
        "block device"
    } else if t.is_socket() {
        "socket"
    } else if t.is_symlink() {
        "symbolic link"
    } else {
        "special file"
    }
}

/// Why a file was not read.
pub(crate) enum Refused {
    /// `stat`, `open` or `read` failed.
    Io(std::io::Error),
    /// Not a regular file; what it is instead.
    NotRegular(&'static str),
    /// More than the limit given.
    TooLarge(u64),
}

impl std::fmt::Display for Refused {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Refused::Io(e) => write!(f, "{e}"),
            Refused::NotRegular(kind) => write!(f, "not a regular file ({kind})"),
            Refused::TooLarge(max) => write!(f, "larger than {max} bytes"),
        }
    }
}

fn require_regular(meta: &Metadata) -> Result<(), Refused> {
    if meta.file_type().is_file() {
        Ok(())
    } else {
        Err(Refused::NotRegular(kind(meta.file_type())))
    }
}

/// Reads at most `max` bytes of a regular file without ever blocking on
/// what the path is: the config file itself and the secret files it names.
///
/// The path is `stat`ed first so that a device is never even opened (an
/// `open` can have side effects on a tty). It is then opened with
/// `O_NONBLOCK | O_NOCTTY` and the *opened* descriptor is checked again:
/// the path may have been replaced in between, and a FIFO opened this way
/// returns at once instead of waiting for a writer. At most `max` + 1 bytes
/// are read, so a growing or huge file cannot exhaust memory.
pub(crate) fn read_regular_file(path: &Path, max: u64) -> Result<Vec<u8>, Refused> {
    require_regular(&std::fs::metadata(path).map_err(Refused::Io)?)?;
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(Refused::Io)?;
    require_regular(&file.metadata().map_err(Refused::Io)?)?;
    let mut bytes = Vec::new();
    file.take(max.saturating_add(1))
        .read_to_end(&mut bytes)
        .map_err(Refused::Io)?;
    if u64::try_from(bytes.len()).unwrap_or(u64::MAX) > max {
        return Err(Refused::TooLarge(max));
    }
    Ok(bytes)
}

/// Reads a config file's bytes: [`read_regular_file`] with the config's
/// size limit, [`MAX_CONFIG_BYTES`], and its refusals as a diagnostic about
/// the whole file (`FILE: error: not a regular file (fifo)`).
pub fn read_file_bytes(path: &Path) -> Result<Vec<u8>, Diagnostics> {
    let max = u64::try_from(MAX_CONFIG_BYTES).unwrap_or(u64::MAX);
    read_regular_file(path, max).map_err(|refused| {
        whole_file(
            path,
            match refused {
                Refused::Io(e) => format!("cannot read the config file: {e}"),
                Refused::TooLarge(_) => format!(
                    "file is larger than the {MAX_CONFIG_BYTES} bytes accepted for a config"
                ),
                other => other.to_string(),
            },
        )
    })
}

/// The `[system] run_dir` a config file asks for, read leniently: the rest
/// of the file may be invalid.
///
/// The console needs only this one value to find the supervisor's socket,
/// and it needs it most when the engineer has just broken the file: the
/// running supervisor still uses the `run_dir` of the config it loaded
/// earlier, and `reload` is how the engineer sees what is wrong. Returns
/// `None` when the file cannot be read or the value is absent or not an
/// absolute path; the caller then uses the default.
pub fn run_dir_lenient(path: &Path) -> Option<PathBuf> {
    let bytes = read_file_bytes(path).ok()?;
    let text = String::from_utf8_lossy(&bytes);
    // Recoverable parsing keeps the tables it could read around a syntax
    // error elsewhere in the file.
    let (document, _errors) = toml::de::DeTable::parse_recoverable(&text);
    let system = document.get_ref().get("system")?;
    let run_dir = system.get_ref().as_table()?.get("run_dir")?;
    let dir = PathBuf::from(run_dir.get_ref().as_str()?);
    dir.is_absolute().then_some(dir)
}

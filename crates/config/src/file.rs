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

fn require_regular(path: &Path, meta: &Metadata) -> Result<(), Diagnostics> {
    if meta.file_type().is_file() {
        Ok(())
    } else {
        Err(whole_file(
            path,
            format!("not a regular file ({})", kind(meta.file_type())),
        ))
    }
}

/// Reads a config file's bytes without ever blocking on what the path is.
///
/// The path is `stat`ed first so that a device is never even opened (an
/// `open` can have side effects on a tty). It is then opened with
/// `O_NONBLOCK | O_NOCTTY` and the *opened* descriptor is checked again:
/// the path may have been replaced in between, and a FIFO opened this way
/// returns at once instead of waiting for a writer. At most
/// [`MAX_CONFIG_BYTES`] + 1 bytes are read, so a growing or huge file
/// cannot exhaust memory.
pub fn read_file_bytes(path: &Path) -> Result<Vec<u8>, Diagnostics> {
    let cannot =
        |err: std::io::Error| whole_file(path, format!("cannot read the config file: {err}"));
    require_regular(path, &std::fs::metadata(path).map_err(cannot)?)?;
    let file = File::options()
        .read(true)
        .custom_flags(libc::O_NONBLOCK | libc::O_NOCTTY)
        .open(path)
        .map_err(cannot)?;
    require_regular(path, &file.metadata().map_err(cannot)?)?;
    let mut bytes = Vec::new();
    file.take(u64::try_from(MAX_CONFIG_BYTES).unwrap_or(u64::MAX) + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() > MAX_CONFIG_BYTES {
        return Err(whole_file(
            path,
            format!("file is larger than the {MAX_CONFIG_BYTES} bytes accepted for a config"),
        ));
    }
    Ok(bytes)
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

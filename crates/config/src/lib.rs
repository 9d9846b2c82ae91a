//! The router's configuration language.
//!
//! One TOML file describes the whole router (see `config/README.md` for every
//! key). This crate turns it into a [`Config`] that daemons can use without
//! further checks, or into [`Diagnostics`] that name every problem at once
//! with `file:line:col`, so a field engineer fixes a file in one pass.
//!
//! The TOML is parsed into a spanned document first, then walked with our own
//! schema code (a serde derive would stop at the first error and lose
//! positions). Parsing never panics, whatever the input; a fuzz target in
//! `fuzz/` keeps it that way.
//!
//! Besides loading: [`known_keys`] lists the schema (the README drift test
//! and tooling use it), [`to_toml`] renders the effective config (loading
//! the output gives the same [`Config`]), and [`diff`] tells a reload which
//! parts changed. `examples/check.rs` validates files from the command line.
//!
//! ```
//! let loaded = cpe_config::parse_str("[wan]\n[[lan]]\n", "cpe.toml").unwrap();
//! assert_eq!(loaded.config.wan.interface, "wan0");
//! assert_eq!(loaded.config.lan[0].interface, "br0");
//! ```

#![warn(missing_docs)]

mod diagnostic;
mod diff;
mod file;
mod model;
mod position;
mod read;
mod reader;
mod render;
mod schema;
mod suggest;
mod syntax;

pub use diagnostic::{Diagnostic, Diagnostics, Severity};
pub use diff::{ConfigDiff, diff};
pub use file::{read_file_bytes, run_dir_lenient};
pub use model::*;
pub use render::to_toml;
pub use schema::known_keys;

use std::path::Path;

use reader::{Ctx, Problem};

/// Largest config accepted. A router config is a few KB; anything near
/// this is a wrong file, and the cap bounds memory and time on hostile
/// input.
pub const MAX_CONFIG_BYTES: usize = 1024 * 1024;

/// A config that passed validation, with the warnings found on the way.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded {
    /// The validated config with every default filled in.
    pub config: Config,
    /// Findings that did not prevent loading; show them to the operator.
    pub warnings: Vec<Diagnostic>,
}

/// Parses and validates config text. `file_name` is used in diagnostics and
/// to resolve relative paths inside the file (its directory).
///
/// Never panics on any input. On failure, every error and warning found is
/// returned, sorted by position.
pub fn parse_str(source: &str, file_name: &str) -> Result<Loaded, Diagnostics> {
    let base_dir = Path::new(file_name)
        .parent()
        .filter(|p| !p.as_os_str().is_empty())
        .unwrap_or(Path::new("."));
    let mut ctx = Ctx::new(file_name, base_dir);
    if source.len() > MAX_CONFIG_BYTES {
        ctx.error(
            &(0..0),
            Problem::new(format!(
                "file is {} bytes, more than the {MAX_CONFIG_BYTES} accepted for a config",
                source.len()
            )),
        );
        return Err(Diagnostics(ctx.into_diagnostics(source)));
    }

    let (document, syntax_errors) = toml::de::DeTable::parse_recoverable(source);
    if !syntax_errors.is_empty() {
        // A damaged document would make the schema walk report follow-on
        // noise (missing tables that are only unreadable): show the syntax
        // errors alone.
        for error in syntax_errors {
            let span = error.span().unwrap_or(0..0);
            ctx.error(
                &span,
                Problem::new(format!("TOML syntax: {}", error.message().trim())),
            );
        }
        return Err(Diagnostics(ctx.into_diagnostics(source)));
    }

    let config = read::read_config(&mut ctx, &document);
    let failed = ctx.has_errors();
    let diagnostics = ctx.into_diagnostics(source);
    if failed {
        Err(Diagnostics(diagnostics))
    } else {
        Ok(Loaded {
            config,
            warnings: diagnostics,
        })
    }
}

/// Reads and validates a config file. I/O problems, non-regular files
/// (FIFOs, directories, devices), oversized files and invalid UTF-8 are
/// reported as diagnostics like any other problem; see [`read_file_bytes`]
/// for why reading never blocks.
pub fn load_file(path: &Path) -> Result<Loaded, Diagnostics> {
    load_file_with_source(path).map(|(loaded, _)| loaded)
}

/// [`load_file`], also returning the text that was validated, so a caller
/// that passes the text on (the supervisor hands it to its daemons) uses
/// exactly what was checked rather than reading the file a second time.
pub fn load_file_with_source(path: &Path) -> Result<(Loaded, String), Diagnostics> {
    let name = path.display().to_string();
    let bytes = read_file_bytes(path)?;
    match String::from_utf8(bytes) {
        Ok(text) => parse_str(&text, &name).map(|loaded| (loaded, text)),
        Err(err) => {
            let valid = err.utf8_error().valid_up_to();
            let prefix =
                std::str::from_utf8(err.as_bytes().get(..valid).unwrap_or(&[])).unwrap_or_default();
            let (line, col) = position::LineIndex::new(prefix).line_col(valid);
            Err(Diagnostics(vec![Diagnostic {
                file: name,
                line,
                col,
                severity: Severity::Error,
                message: "file is not valid UTF-8".to_owned(),
                hint: None,
            }]))
        }
    }
}

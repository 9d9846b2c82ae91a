//! Diagnostics: what a user sees when a config is wrong, one line each, in
//! the `FILE:LINE:COL: severity: message` form that editors and field
//! engineers' grep habits already understand.

use std::fmt;

/// How bad a finding is.
///
/// Errors make the whole config unusable (the running config stays); warnings
/// are accepted but point at a setting that probably does not do what the
/// author meant, so they are shown on load and on reload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The config is rejected.
    Error,
    /// The config is accepted, but a setting deserves a second look.
    Warning,
}

impl fmt::Display for Severity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        })
    }
}

/// One finding, anchored at the key or value it is about.
///
/// `line` and `col` are 1-based and count characters, not bytes, so the
/// position matches what an editor shows for files with non-ASCII comments.
/// For a missing required key they point at the header of the table that
/// lacks it.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize)]
pub struct Diagnostic {
    /// The file name as given to the loader (not canonicalised, so messages
    /// name the path the user typed).
    pub file: String,
    /// 1-based line number; 0 for a problem with the file as a whole (it
    /// cannot be read, is not a regular file, is too large), which is then
    /// shown as `FILE: error: ...` like compilers do, with no position.
    pub line: usize,
    /// 1-based column, in characters.
    pub col: usize,
    /// Whether the config is rejected because of this finding.
    pub severity: Severity,
    /// What is wrong, one line, no trailing punctuation.
    pub message: String,
    /// How to fix it, when we can tell (e.g. the key the user probably meant).
    pub hint: Option<String>,
}

impl fmt::Display for Diagnostic {
    /// Always exactly one line, even if a message or hint carried a newline
    /// (they are built from escaped values, but the guarantee is cheap).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.line == 0 {
            write!(f, "{}: ", self.file)?;
        } else {
            write!(f, "{}:{}:{}: ", self.file, self.line, self.col)?;
        }
        write!(f, "{}: {}", self.severity, OneLine(&self.message))?;
        if let Some(hint) = &self.hint {
            write!(f, "; hint: {}", OneLine(hint))?;
        }
        Ok(())
    }
}

/// Writes text with line breaks replaced by spaces.
struct OneLine<'a>(&'a str);

impl fmt::Display for OneLine<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for part in self.0.split(['\n', '\r']).enumerate() {
            if part.0 > 0 {
                f.write_str(" ")?;
            }
            f.write_str(part.1)?;
        }
        Ok(())
    }
}

/// Every finding of one load, sorted by position.
///
/// Returned as the error of a failed load: it holds all errors *and* the
/// warnings, so one run shows everything that needs fixing.
#[derive(Debug, Clone, PartialEq, Eq, Default, serde::Serialize)]
pub struct Diagnostics(pub Vec<Diagnostic>);

impl Diagnostics {
    /// The findings that make the config unusable.
    pub fn errors(&self) -> impl Iterator<Item = &Diagnostic> {
        self.0.iter().filter(|d| d.severity == Severity::Error)
    }

    /// True when at least one finding is an error.
    pub fn has_errors(&self) -> bool {
        self.errors().next().is_some()
    }
}

impl fmt::Display for Diagnostics {
    /// One diagnostic per line, in file order.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (index, diagnostic) in self.0.iter().enumerate() {
            if index > 0 {
                f.write_str("\n")?;
            }
            write!(f, "{diagnostic}")?;
        }
        Ok(())
    }
}

impl std::error::Error for Diagnostics {}

#[cfg(test)]
mod tests {
    use super::*;

    fn diag(hint: Option<&str>) -> Diagnostic {
        Diagnostic {
            file: "cpe.toml".into(),
            line: 3,
            col: 7,
            severity: Severity::Error,
            message: "unknown key \"mtx\" in [wan]".into(),
            hint: hint.map(str::to_owned),
        }
    }

    #[test]
    fn display_without_hint() {
        assert_eq!(
            diag(None).to_string(),
            "cpe.toml:3:7: error: unknown key \"mtx\" in [wan]"
        );
    }

    #[test]
    fn display_with_hint_is_one_line() {
        let text = diag(Some("did you mean \"mtu\"?\nsecond")).to_string();
        assert_eq!(
            text,
            "cpe.toml:3:7: error: unknown key \"mtx\" in [wan]; hint: did you mean \"mtu\"? second"
        );
        assert!(!text.contains('\n'));
    }

    #[test]
    fn warning_severity_text() {
        let mut d = diag(None);
        d.severity = Severity::Warning;
        assert!(d.to_string().contains(": warning: "));
    }
}

//! Reading the documents whose tables name the tests that back them
//! (`docs/conformance.md`, `docs/interop.md`): one Markdown table row per
//! line, tests as backticked `path::function` relative to the repository
//! root. Shared by the checks of both documents so they agree on what
//! counts as a test.

use std::path::Path;

/// The cells of a Markdown table row, trimmed; `None` for other lines.
pub fn cells(line: &str) -> Option<Vec<&str>> {
    let inner = line.trim().strip_prefix('|')?.strip_suffix('|')?;
    Some(inner.split('|').map(str::trim).collect())
}

/// The backticked spans of a cell.
pub fn backticked(cell: &str) -> Vec<&str> {
    cell.split('`').skip(1).step_by(2).collect()
}

/// What a file holds under a function name.
#[derive(Debug, PartialEq, Eq)]
enum Found {
    /// No function of exactly that name (a longer name does not count).
    Missing,
    /// A function, but not marked `#[test]`: a helper proves nothing.
    NotATest,
    /// A test marked `#[ignore]`: `cargo test` does not run it.
    Ignored,
    /// A test that runs.
    Test,
}

/// Looks `name` up in `text`: the `fn` line, then the attributes and
/// comments right above it.
fn find_fn(text: &str, name: &str) -> Found {
    let lines: Vec<&str> = text.lines().collect();
    let needle = format!("fn {name}");
    let Some(at) = lines.iter().position(|line| {
        let line = line.trim_start();
        let line = line.strip_prefix("pub ").unwrap_or(line);
        let line = line.strip_prefix("async ").unwrap_or(line);
        line.strip_prefix(needle.as_str())
            .is_some_and(|rest| rest.starts_with('(') || rest.starts_with('<'))
    }) else {
        return Found::Missing;
    };
    let above: Vec<&str> = lines[..at]
        .iter()
        .rev()
        .map(|l| l.trim())
        .take_while(|l| l.starts_with("#[") || l.starts_with("//"))
        .collect();
    let has = |prefix: &str| above.iter().any(|l| l.starts_with(prefix));
    if !(has("#[test]") || has("#[tokio::test")) {
        Found::NotATest
    } else if has("#[ignore") {
        Found::Ignored
    } else {
        Found::Test
    }
}

/// Checks one `path::name` reference against the files under `root`: the
/// file must hold a `#[test] fn name` that is not `#[ignore]`d (CI would
/// never run it). The error names the problem.
pub fn check_test_ref(root: &Path, reference: &str) -> Result<(), String> {
    let Some((path, name)) = reference.rsplit_once("::") else {
        return Err(format!("`{reference}` is not path::name"));
    };
    let text = std::fs::read_to_string(root.join(path)).map_err(|e| format!("{path}: {e}"))?;
    match find_fn(&text, name) {
        Found::Test => Ok(()),
        Found::Missing => Err(format!("{path} has no `fn {name}`")),
        Found::NotATest => Err(format!("{path}: `fn {name}` is not a #[test]")),
        Found::Ignored => Err(format!(
            "{path}: `fn {name}` is #[ignore]d, so cargo test never runs it"
        )),
    }
}

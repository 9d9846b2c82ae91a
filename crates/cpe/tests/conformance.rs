//! `docs/conformance.md` cannot drift from the code.
//!
//! The table claims, requirement by requirement, which test proves it. A
//! claim is only worth something while that test exists: tests get renamed
//! and moved, and a table nobody checks rots silently. So this reads the
//! table and fails, naming every problem at once, when
//! - a named test's file is missing or does not contain `fn NAME`, or that
//!   function is not a `#[test]`, or is `#[ignore]`d (CI never runs it),
//! - an *implemented* row names no test (then it is partial at best),
//! - a status is not one of the four the document defines,
//! - an ID appears twice for the same RFC, or one of RFC 7084 section 4 or
//!   of RFC 9096's CE requirements has no row,
//! - the counts at the top do not match the rows.
//!
//! It needs nothing but the standard library: the table format is ours and
//! kept simple (one row per line, tests as backticked `path::name`).

use std::collections::{BTreeMap, BTreeSet};
use std::path::{Path, PathBuf};

mod doc_tables;
use doc_tables::{backticked, cells, check_test_ref};

/// The statuses the document defines, in the order of its count table.
const STATUSES: [&str; 4] = ["implemented", "partial", "not built", "not applicable"];

/// The repository root (this crate lives in `crates/cpe`).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A requirement ID: upper-case letters and digits, a dash, then a number
/// or `*` (a row that stands for a whole family, like `6RD-*`).
fn is_requirement_id(cell: &str) -> bool {
    let Some((family, number)) = cell.split_once('-') else {
        return false;
    };
    !family.is_empty()
        && family
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
        && family.chars().any(|c| c.is_ascii_uppercase())
        && (number == "*" || (!number.is_empty() && number.chars().all(|c| c.is_ascii_digit())))
}

/// What reading the table found.
struct Checked {
    /// Every problem, with test paths resolved against the root; empty when
    /// the document is consistent.
    problems: Vec<String>,
    /// The (RFC, requirement ID) of every row.
    ids: BTreeSet<(String, String)>,
}

/// Reads `doc`, resolving test paths against `root`.
fn check(doc: &str, root: &Path) -> Checked {
    let mut out = Vec::new();
    let mut rfc = "";
    let mut in_counts = false;
    let mut claimed: BTreeMap<String, usize> = BTreeMap::new();
    let mut counted: BTreeMap<&str, usize> = STATUSES.iter().map(|s| (*s, 0)).collect();
    let mut seen: BTreeSet<(String, String)> = BTreeSet::new();
    let mut rows = 0usize;

    for (n, line) in doc.lines().enumerate() {
        let at = format!("docs/conformance.md:{}", n + 1);
        if let Some(heading) = line.strip_prefix("## ") {
            in_counts = heading.trim() == "Counts";
            if heading.contains("RFC 7084") {
                rfc = "RFC 7084";
            } else if heading.contains("RFC 9096") {
                rfc = "RFC 9096";
            }
            continue;
        }
        let Some(row) = cells(line) else { continue };
        if in_counts {
            if let [status, number] = row[..]
                && status != "Status"
                && !status.starts_with("---")
            {
                match number.parse::<usize>() {
                    Ok(v) => {
                        claimed.insert(status.to_string(), v);
                    }
                    Err(_) => out.push(format!("{at}: count `{number}` is not a number")),
                }
            }
            continue;
        }
        if row.first().is_none_or(|id| !is_requirement_id(id)) {
            continue;
        }
        let [id, _paraphrase, status, _why, tests] = row[..] else {
            out.push(format!(
                "{at}: a requirement row needs 5 cells, has {}",
                row.len()
            ));
            continue;
        };
        rows += 1;
        if rfc.is_empty() {
            out.push(format!(
                "{at}: {id} is not under an RFC 7084 or RFC 9096 heading"
            ));
        }
        if !seen.insert((rfc.to_string(), id.to_string())) {
            out.push(format!("{at}: {id} appears twice for {rfc}"));
        }
        match counted.get_mut(status) {
            Some(c) => *c += 1,
            None => out.push(format!(
                "{at}: {id}: status `{status}` is not one of {STATUSES:?}"
            )),
        }
        let refs = backticked(tests);
        if refs.is_empty() && tests != "—" {
            out.push(format!(
                "{at}: {id}: the test cell must be `path::name` entries or — (is `{tests}`)"
            ));
        }
        if status == "implemented" && refs.is_empty() {
            out.push(format!(
                "{at}: {id} is implemented but names no test (make it partial, or name the test)"
            ));
        }
        for r in refs {
            if let Err(problem) = check_test_ref(root, r) {
                out.push(format!("{at}: {id}: {problem}"));
            }
        }
    }

    for status in STATUSES {
        let rows_with = counted[status];
        match claimed.get(status) {
            Some(&c) if c == rows_with => {}
            Some(&c) => out.push(format!(
                "counts: {status} says {c}, the table has {rows_with} rows"
            )),
            None => out.push(format!("counts: no line for {status}")),
        }
    }
    match claimed.get("total") {
        Some(&c) if c == rows => {}
        Some(&c) => out.push(format!("counts: total says {c}, the table has {rows} rows")),
        None => out.push("counts: no total line".to_string()),
    }
    if rows == 0 {
        out.push("no requirement rows found".to_string());
    }
    Checked {
        problems: out,
        ids: seen,
    }
}

/// The rows the table must have: every requirement ID of RFC 7084 section
/// 4 (6rd and DS-Lite as one row each) and the CE requirements RFC 9096
/// adds or updates. A row deleted to hide a gap fails the test.
fn expected_ids() -> BTreeSet<(String, String)> {
    let mut ids = BTreeSet::new();
    let families: [(&str, u32); 8] = [
        ("G", 5),
        ("W", 6),
        ("WLL", 3),
        ("WAA", 10),
        ("WPD", 8),
        ("ULA", 5),
        ("L", 14),
        ("S", 3),
    ];
    for (family, last) in families {
        for n in 1..=last {
            ids.insert(("RFC 7084".to_string(), format!("{family}-{n}")));
        }
    }
    for id in ["6RD-*", "DLW-*"] {
        ids.insert(("RFC 7084".to_string(), id.to_string()));
    }
    for id in ["WPD-9", "WPD-10", "L-13", "L-15", "L-16"] {
        ids.insert(("RFC 9096".to_string(), id.to_string()));
    }
    ids
}

#[test]
fn every_requirement_has_a_row_every_named_test_exists_and_the_counts_match() {
    let root = repo_root();
    let doc = std::fs::read_to_string(root.join("docs/conformance.md"))
        .unwrap_or_else(|e| panic!("docs/conformance.md: {e}"));
    let Checked { mut problems, ids } = check(&doc, &root);
    let expected = expected_ids();
    for (rfc, id) in expected.difference(&ids) {
        problems.push(format!("{rfc} {id} has no row"));
    }
    for (rfc, id) in ids.difference(&expected) {
        problems.push(format!("{rfc} {id} is not a requirement this table covers"));
    }
    let found = problems;
    assert!(
        found.is_empty(),
        "docs/conformance.md has drifted from the code ({} problems):\n{}",
        found.len(),
        found.join("\n")
    );
}

/// The checker itself: a table with one sound row and one of each kind of
/// drift reports each drift, and names it.
#[test]
fn each_kind_of_drift_is_reported_by_name() {
    let root = std::env::temp_dir().join(format!("cpe-conformance-{}", std::process::id()));
    std::fs::create_dir_all(root.join("t")).unwrap_or_else(|e| panic!("{e}"));
    std::fs::write(
        root.join("t/a.rs"),
        "/// Doc.\n#[test]\nfn real() {}\nfn longer_name() {}\n#[test]\n#[ignore = \"slow\"]\nfn slow() {}\n",
    )
    .unwrap_or_else(|e| panic!("{e}"));
    let doc = "\
## Counts
| Status | Rows |
| --- | --- |
| implemented | 3 |
| partial | 2 |
| not built | 0 |
| not applicable | 0 |
| total | 7 |

## RFC 7084 section 4.1
| ID | Requirement | Status | Why | Test |
| --- | --- | --- | --- | --- |
| G-1 | sound | implemented | x | `t/a.rs::real` |
| G-2 | gone file | implemented | x | `t/missing.rs::real` |
| G-3 | renamed | implemented | x | `t/a.rs::renamed`<br>`t/a.rs::longer` |
| G-4 | no test | implemented | x | — |
| G-6 | helper | partial | x | `t/a.rs::longer_name`<br>`t/a.rs::slow` |
| G-1 | twice | partial | x | — |
| G-5 | odd status | done | x | — |
";
    let found = check(doc, &root).problems;
    let _ = std::fs::remove_dir_all(&root);
    let text = found.join("\n");
    for expect in [
        "G-2: t/missing.rs:",
        "G-3: t/a.rs has no `fn renamed`",
        // A prefix of an existing name is not that name.
        "G-3: t/a.rs has no `fn longer`",
        "G-4 is implemented but names no test",
        "G-1 appears twice for RFC 7084",
        "G-5: status `done`",
        "G-6: t/a.rs: `fn longer_name` is not a #[test]",
        "G-6: t/a.rs: `fn slow` is #[ignore]d",
        "counts: implemented says 3, the table has 4 rows",
    ] {
        assert!(text.contains(expect), "`{expect}` not reported:\n{text}");
    }
    assert!(
        !text.contains("G-1: t/a.rs"),
        "the sound row was flagged:\n{text}"
    );
    assert_eq!(found.len(), 9, "{text}");
}

#[test]
fn requirement_ids_are_told_from_other_cells() {
    for id in ["G-1", "WAA-10", "L-13", "6RD-*", "DLW-*", "ULA-5"] {
        assert!(is_requirement_id(id), "{id}");
    }
    for not in [
        "ID",
        "Status",
        "---",
        "implemented",
        "G-",
        "-1",
        "6-1",
        "G-1a",
        "g-1",
    ] {
        assert!(!is_requirement_id(not), "{not}");
    }
}

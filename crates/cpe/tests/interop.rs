//! `docs/interop.md` cannot drift from the tests that back it.
//!
//! Each row claims that a third-party peer works with the product and
//! names the lab test that checks it. A claim is worth something only
//! while that test exists and runs, so this reads the tables and fails,
//! naming every problem at once, when a *works* row names no test, a
//! named test's file does not hold that `#[test] fn` (or it is
//! `#[ignore]`d), a *not run* row names a test anyway, or a result is
//! neither of the two. Table cells and test references are read as for
//! `docs/conformance.md` (`doc_tables`).

use std::path::{Path, PathBuf};

mod doc_tables;
use doc_tables::{backticked, cells, check_test_ref};

/// Results a row may claim.
const RESULTS: [&str; 2] = ["works", "not run"];

fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// Every problem of `doc`, test paths resolved against `root`, and the
/// number of peer rows read.
fn check(doc: &str, root: &Path) -> (Vec<String>, usize) {
    let mut out = Vec::new();
    let mut rows = 0;
    for (n, line) in doc.lines().enumerate() {
        let at = format!("docs/interop.md:{}", n + 1);
        let Some(row) = cells(line) else { continue };
        if row
            .first()
            .is_none_or(|c| *c == "Peer" || c.starts_with("---"))
        {
            continue;
        }
        let [peer, _role, _what, result, tests] = row[..] else {
            out.push(format!("{at}: a peer row needs 5 cells, has {}", row.len()));
            continue;
        };
        rows += 1;
        let refs = backticked(tests);
        match result {
            "works" if refs.is_empty() => {
                out.push(format!("{at}: {peer}: works, but names no test"))
            }
            "not run" if !refs.is_empty() => {
                out.push(format!("{at}: {peer}: not run, but names tests"))
            }
            r if !RESULTS.contains(&r) => out.push(format!(
                "{at}: {peer}: result `{r}` is not one of {RESULTS:?}"
            )),
            _ => {}
        }
        for r in refs {
            if let Err(problem) = check_test_ref(root, r) {
                out.push(format!("{at}: {peer}: {problem}"));
            }
        }
    }
    (out, rows)
}

#[test]
fn every_peer_row_names_tests_that_exist_and_run() {
    let root = repo_root();
    let doc = std::fs::read_to_string(root.join("docs/interop.md")).unwrap();
    let (problems, rows) = check(&doc, &root);
    assert!(problems.is_empty(), "\n{}", problems.join("\n"));
    assert!(
        rows >= 30,
        "only {rows} peer rows read: is the table format still ours?"
    );
}

#[test]
fn each_kind_of_drift_is_reported() {
    let dir = std::env::temp_dir().join(format!("cpe-interop-{}", std::process::id()));
    std::fs::create_dir_all(dir.join("t")).unwrap();
    std::fs::write(
        dir.join("t/a.rs"),
        "#[test]\nfn real() {}\nfn helper() {}\n#[test]\n#[ignore]\nfn slow() {}\n",
    )
    .unwrap();
    let doc = "\
| Peer | Role | What was checked | Result | Tests |
|---|---|---|---|---|
| A | r | w | works | `t/a.rs::real` |
| B | r | w | works | — |
| C | r | w | works | `t/a.rs::renamed`, `t/a.rs::helper`, `t/a.rs::slow`, `t/b.rs::x` |
| D | r | w | not run | `t/a.rs::real` |
| E | r | w | broken | — |
| F | r | w |
";
    let (problems, rows) = check(doc, &dir);
    std::fs::remove_dir_all(&dir).unwrap();
    let problems: Vec<&str> = problems
        .iter()
        .map(|p| p.split_once(": ").unwrap().1)
        .collect();
    assert_eq!(rows, 5);
    assert_eq!(problems[0], "B: works, but names no test");
    assert_eq!(problems[1], "C: t/a.rs has no `fn renamed`");
    assert_eq!(problems[2], "C: t/a.rs: `fn helper` is not a #[test]");
    assert_eq!(
        problems[3],
        "C: t/a.rs: `fn slow` is #[ignore]d, so cargo test never runs it"
    );
    assert!(problems[4].starts_with("C: t/b.rs: "), "{}", problems[4]);
    assert_eq!(problems[5], "D: not run, but names tests");
    assert_eq!(
        problems[6],
        "E: result `broken` is not one of [\"works\", \"not run\"]"
    );
    assert_eq!(problems[7], "a peer row needs 5 cells, has 3");
    assert_eq!(problems.len(), 8, "{problems:?}");
}

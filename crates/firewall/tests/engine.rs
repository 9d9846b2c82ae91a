//! Engine decisions on virtual time: forwarding only after the first
//! commit, a refused commit keeps the old ruleset and retries with backoff,
//! a renumbering is a set update.

// Test helpers outside #[test] functions panic on bad fixtures by design.
#![allow(clippy::unwrap_used)]

use cpe_daemon::Engine as _;
use cpe_daemon::engine::drive;
use cpe_firewall::engine::{Action, ApplyKind, Engine, Forwarding, Input, RETRY_FIRST};
use cpe_firewall::{Policy, Snapshot};
use std::time::{Duration, Instant};

fn policy() -> Policy {
    let text = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../config/default.toml"
    ))
    .unwrap();
    Policy::from_config(&cpe_config::parse_str(&text, "default.toml").unwrap().config)
}

fn snap(current: &[&str], deprecated: &[&str]) -> Snapshot {
    Snapshot {
        current: current.iter().map(|s| s.parse().unwrap()).collect(),
        deprecated: deprecated.iter().map(|s| s.parse().unwrap()).collect(),
        map_e: None,
    }
}

/// The kinds of the queued actions (commit kind, or "forwarding").
fn drain(e: &mut Engine) -> Vec<String> {
    drive::drain(e)
        .into_iter()
        .map(|a| match a {
            Action::Commit { kind, .. } => format!("{kind:?}"),
            Action::EnableForwarding => "forwarding".into(),
        })
        .collect()
}

#[test]
fn forwarding_is_requested_only_after_the_first_commit_succeeds() {
    let t0 = Instant::now();
    let mut e = Engine::new(policy());
    e.handle(Input::State(snap(&["2001:db8:1:101::/64"], &[])), t0);
    assert_eq!(drain(&mut e), ["Full"]);
    assert_eq!(*e.forwarding(), Forwarding::Off);
    e.handle(Input::Committed(Ok(Duration::from_micros(900))), t0);
    assert_eq!(drain(&mut e), ["forwarding"]);
    assert_eq!(*e.forwarding(), Forwarding::Requested);
    e.handle(Input::ForwardingSet(Ok(())), t0);
    assert_eq!(*e.forwarding(), Forwarding::On);
    // Later commits never ask again.
    e.handle(Input::State(snap(&["2001:db8:2:101::/64"], &[])), t0);
    e.handle(Input::Committed(Ok(Duration::ZERO)), t0);
    assert_eq!(drain(&mut e), ["Sets"]);
}

#[test]
fn a_refused_first_commit_keeps_forwarding_off_and_retries_with_backoff() {
    let t0 = Instant::now();
    let mut e = Engine::new(policy());
    e.handle(Input::State(Snapshot::default()), t0);
    assert_eq!(drain(&mut e), ["Full"]);
    e.handle(
        Input::Committed(Err("Operation not supported (os error 95)".into())),
        t0,
    );
    assert!(drain(&mut e).is_empty());
    assert_eq!(*e.forwarding(), Forwarding::Off);
    assert!(e.installed().is_none());
    assert_eq!(e.poll_timeout(), Some(t0 + RETRY_FIRST));
    // Not before the deadline; a state change waits for it too.
    e.handle_timeout(t0 + RETRY_FIRST / 2);
    e.handle(
        Input::State(snap(&["2001:db8:1:101::/64"], &[])),
        t0 + RETRY_FIRST / 2,
    );
    assert!(drain(&mut e).is_empty());
    e.handle_timeout(t0 + RETRY_FIRST);
    assert_eq!(drain(&mut e), ["Full"]);
    let t1 = t0 + RETRY_FIRST;
    e.handle(Input::Committed(Err("again".into())), t1);
    assert_eq!(e.poll_timeout(), Some(t1 + RETRY_FIRST * 2));
    let t2 = t1 + RETRY_FIRST * 2;
    e.handle_timeout(t2);
    assert_eq!(drain(&mut e), ["Full"]);
    e.handle(Input::Committed(Ok(Duration::ZERO)), t2);
    assert_eq!(drain(&mut e), ["forwarding"]);
    assert!(e.installed().is_some());
    assert_eq!(e.counters().apply_failures, 2);
}

#[test]
fn a_refused_update_keeps_the_installed_ruleset_and_reports_the_kernel_text() {
    let t0 = Instant::now();
    let mut e = Engine::new(policy());
    e.handle(Input::State(snap(&["2001:db8:1:101::/64"], &[])), t0);
    drain(&mut e);
    e.handle(Input::Committed(Ok(Duration::ZERO)), t0);
    e.handle(Input::ForwardingSet(Ok(())), t0);
    drain(&mut e);
    let before = e.installed().cloned().unwrap();
    e.handle(
        Input::State(snap(&["2001:db8:2:101::/64"], &["2001:db8:1:101::/64"])),
        t0,
    );
    assert_eq!(drain(&mut e), ["Sets"]);
    e.handle(
        Input::Committed(Err("No buffer space available".into())),
        t0,
    );
    let st = cpe_firewall::status::status(&e, Err("n/a"), t0);
    assert_eq!(st.state, "failed");
    assert!(
        st.reason.contains("No buffer space available"),
        "{}",
        st.reason
    );
    // Forwarding stays on: the old ruleset is still in force.
    assert_eq!(*e.forwarding(), Forwarding::On);
    assert_ne!(e.desired(), &before);
    // The retry is a full apply.
    e.handle_timeout(t0 + RETRY_FIRST);
    assert_eq!(drain(&mut e), ["Full"]);
    e.handle(Input::Committed(Ok(Duration::ZERO)), t0 + RETRY_FIRST);
    assert_eq!(e.installed(), Some(e.desired()));
    assert_eq!(e.last_apply().unwrap().kind, ApplyKind::Full);
}

/// The descriptions of the messages of the next queued commit.
fn next_commit(e: &mut Engine) -> Vec<String> {
    match e.poll_action() {
        Some(Action::Commit { batch, .. }) => batch
            .encode(1)
            .1
            .into_iter()
            .map(|(_, what)| what.to_string())
            .collect(),
        _ => panic!("expected a commit"),
    }
}

/// A full apply rewrites `inet cpe` in place (a rebuild in one transaction
/// briefly showed the new rules an empty `lan6`: tests/atomicity.rs); only
/// the retry after a refusal rebuilds. Failed before the in-place form:
/// every full apply deleted the table.
#[test]
fn a_full_apply_rewrites_the_table_in_place_and_the_retry_after_a_refusal_rebuilds() {
    let t0 = Instant::now();
    let mut e = Engine::new(policy());
    e.handle(Input::State(snap(&["2001:db8:1:101::/64"], &[])), t0);
    let first = next_commit(&mut e);
    assert!(!first.iter().any(|m| m == "delete table cpe"), "{first:?}");
    assert!(
        first.iter().any(|m| m == "flush chain forward"),
        "{first:?}"
    );
    assert!(first.iter().any(|m| m == "flush set lan6"), "{first:?}");
    e.handle(Input::Committed(Err("Device or resource busy".into())), t0);
    e.handle_timeout(t0 + RETRY_FIRST);
    let retry = next_commit(&mut e);
    assert!(retry.iter().any(|m| m == "delete table cpe"), "{retry:?}");
}

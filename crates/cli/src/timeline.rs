//! `cpectl log` and `cpectl show prefix`: the supervisor's event timeline.
//!
//! The supervisor keeps what changed in a ring in memory (see
//! `cpe_bus::events`); these commands read it on demand, so the serial
//! console is never written to unasked. `--follow` polls for events newer
//! than the last one shown, once a second, and ends quietly when its reader
//! goes away (`cpectl log -f | head -3`).

use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Write as _;
use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use cpe_bus::events::{Event, Events, Level, Query, clock_text, date_text};
use cpe_bus::proto::{FromSupervisor, Request};
use cpe_bus::status::StatusReport;

use crate::render::{WIDTH, duration};

/// Help of `cpectl log`.
pub const LOG_USAGE: &str =
    "usage: cpectl log [--since AGE] [--level LEVEL] [-n N] [--follow] [--json]
The router's event timeline since the supervisor started (kept in memory,
the last 512 events): WAN state, the ISP's router, DHCPv6 states and
refusals, prefixes delegated/renewed/deprecated/expired, LAN prefixes,
upstream DNS health, daemon restarts, reloads. Times are UTC.
  --since AGE     only the last AGE: 90s, 10m, 2h, 1d (a bare number: s)
  --level LEVEL   only events at least this bad: info, warn, error
  -n N            only the last N events (of those that match)
  -f, --follow    then wait for new events and print them (Ctrl-C stops)
  --json          the events as JSON (with --follow: one object a line)
Examples:
  cpectl log --since 10m            what happened in the last ten minutes
  cpectl log --level warn -n 20     the last twenty problems
  cpectl log -f                     watch, as `tail -f` would";

/// The console's deadline for one answer.
const TIMEOUT: Duration = Duration::from_secs(5);
/// How often `--follow` asks for new events.
const FOLLOW_EVERY: Duration = Duration::from_secs(1);

/// What `cpectl log` was asked.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct LogArgs {
    /// The filters.
    pub query: Query,
    /// Keep polling.
    pub follow: bool,
    /// JSON output.
    pub json: bool,
    /// Help asked.
    pub help: bool,
}

/// Parses `90s`, `10m`, `2h`, `1d` or a bare number of seconds.
pub fn parse_age(text: &str) -> Option<u64> {
    let (digits, unit) = match text.char_indices().last()? {
        (i, c) if c.is_ascii_alphabetic() => (&text[..i], c),
        _ => (text, 's'),
    };
    if digits.is_empty() || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let n: u64 = digits.parse().ok()?;
    let scale = match unit {
        's' => 1,
        'm' => 60,
        'h' => 3600,
        'd' => 86_400,
        _ => return None,
    };
    n.checked_mul(scale)
}

/// Parses the arguments after `log`; the error is the usage message.
pub fn parse_log_args(args: Vec<OsString>, json: bool) -> Result<LogArgs, String> {
    let mut out = LogArgs {
        json,
        ..LogArgs::default()
    };
    let mut p = lexopt::Parser::from_args(args);
    loop {
        // The option's name, owned, so that its value can be read next.
        let name = match p.next() {
            Ok(Some(lexopt::Arg::Long(l))) => format!("--{l}"),
            Ok(Some(lexopt::Arg::Short(c))) => format!("-{c}"),
            Ok(Some(other)) => return Err(other.unexpected().to_string()),
            Ok(None) => break,
            Err(e) => return Err(e.to_string()),
        };
        let mut value = || -> Result<String, String> {
            p.value()
                .map(|v| v.to_string_lossy().into_owned())
                .map_err(|_| format!("{name} needs a value"))
        };
        match name.as_str() {
            "--since" => {
                let v = value()?;
                out.query.since_s = Some(
                    parse_age(&v).ok_or(format!("--since {v:?}: expected e.g. 90s, 10m, 2h"))?,
                );
            }
            "--level" => {
                let v = value()?;
                out.query.min_level = Level::from_word(&v)
                    .ok_or(format!("--level {v:?}: expected info, warn or error"))?;
            }
            "-n" | "--lines" => {
                let v = value()?;
                out.query.limit = Some(
                    v.parse()
                        .map_err(|_| format!("-n {v:?}: expected a count"))?,
                );
            }
            "-f" | "--follow" => out.follow = true,
            "--json" => out.json = true,
            "-h" | "--help" => out.help = true,
            _ => return Err(format!("invalid option '{name}'")),
        }
    }
    Ok(out)
}

/// Asks the supervisor for events; a failure is said on stderr and is
/// the command's exit code.
fn ask(socket: &Path, q: Query) -> Result<Events, ExitCode> {
    let problem = match cpe_bus::control::request(socket, Request::Log(q), TIMEOUT) {
        Ok(FromSupervisor::Log(e)) => return Ok(e),
        Ok(FromSupervisor::Error { message }) => format!("supervisor: {message}"),
        Ok(other) => format!("unexpected answer (a supervisor without the event log?): {other:?}"),
        Err(e) => e.to_string(),
    };
    eprintln!("cpectl: {problem}");
    Err(ExitCode::FAILURE)
}

/// Appends `text` after a `head` of `indent` columns, wrapped at
/// [`WIDTH`] with continuation lines indented the same.
fn wrap_into(out: &mut String, head: &str, indent: usize, text: &str) {
    let mut line = format!("{head:<indent$}");
    let mut empty = true;
    for word in text.split(' ').filter(|w| !w.is_empty()) {
        if !empty && line.len() + 1 + word.len() > WIDTH {
            out.push_str(line.trim_end());
            out.push('\n');
            line = " ".repeat(indent);
            empty = true;
        }
        if !empty {
            line.push(' ');
        }
        line.push_str(word);
        empty = false;
    }
    out.push_str(line.trim_end());
    out.push('\n');
}

/// Columns before an event's text: `HH:MM:SS level daemon   `.
const TEXT_AT: usize = 26;

/// Events as lines for the console; a date line whenever the day changes
/// (`day` is the last date printed, kept across `--follow` polls).
pub fn render_events(events: &[Event], day: &mut String) -> String {
    let mut out = String::new();
    for e in events {
        let d = date_text(e.wall_ms);
        if *day != d {
            let _ = writeln!(out, "-- {d} (UTC) --");
            *day = d;
        }
        let head = format!(
            "{} {:<5} {}",
            clock_text(e.wall_ms),
            e.level.word(),
            e.daemon
        );
        wrap_into(&mut out, &head, TEXT_AT, &e.text);
    }
    out
}

/// The note on what the ring no longer holds, if anything.
fn dropped_note(e: &Events) -> Option<String> {
    (e.dropped > 0).then(|| {
        format!(
            "({} older events were dropped: the log keeps the last 512)\n",
            e.dropped
        )
    })
}

/// Writes `text`; `false` when the reader has gone (a closed pipe) or the
/// output failed (said on stderr).
fn write_out(text: &str) -> Result<(), ExitCode> {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Err(ExitCode::SUCCESS),
        Err(e) => {
            eprintln!("cpectl: cannot write the output: {e}");
            Err(ExitCode::FAILURE)
        }
    }
}

fn json_lines(events: &[Event]) -> String {
    let mut out = String::new();
    for e in events {
        out.push_str(&serde_json::to_string(e).unwrap_or_default());
        out.push('\n');
    }
    out
}

/// `cpectl log`.
pub fn log(socket: &Path, args: LogArgs) -> ExitCode {
    let first = match ask(socket, args.query.clone()) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let mut day = String::new();
    let text = if args.json && !args.follow {
        serde_json::to_string_pretty(&first).unwrap_or_default() + "\n"
    } else if args.json {
        json_lines(&first.events)
    } else {
        let mut t = String::new();
        if first.events.first().is_some_and(|e| e.seq > 1) {
            t.extend(dropped_note(&first));
        }
        t + &render_events(&first.events, &mut day)
    };
    if let Err(code) = write_out(&text) {
        return code;
    }
    if first.events.is_empty() && !args.json && !args.follow {
        eprintln!("cpectl: no events match");
    }
    if !args.follow {
        return ExitCode::SUCCESS;
    }
    let mut last = first.last_seq;
    loop {
        std::thread::sleep(FOLLOW_EVERY);
        let q = Query {
            after_seq: Some(last),
            limit: None,
            since_s: None,
            ..args.query.clone()
        };
        let mut next = match ask(socket, q.clone()) {
            Ok(e) => e,
            Err(code) => return code,
        };
        if next.last_seq < last {
            // A new supervisor: its ring starts again at 1, so everything
            // it has is new.
            eprintln!("cpectl: the supervisor restarted; following its new log");
            next = match ask(
                socket,
                Query {
                    after_seq: None,
                    ..q
                },
            ) {
                Ok(e) => e,
                Err(code) => return code,
            };
        }
        last = next.last_seq;
        let text = if args.json {
            json_lines(&next.events)
        } else {
            render_events(&next.events, &mut day)
        };
        if let Err(code) = write_out(&text) {
            return code;
        }
    }
}

/// `cpectl show prefix`: the timeline of each delegated and advertised
/// prefix, from the event ring.
pub fn show_prefix(socket: &Path, json: bool) -> ExitCode {
    let q = Query {
        prefixes_only: true,
        ..Query::default()
    };
    let events = match ask(socket, q) {
        Ok(e) => e,
        Err(code) => return code,
    };
    let text = if json {
        serde_json::to_string_pretty(&events).unwrap_or_default() + "\n"
    } else {
        render_prefixes(&events)
    };
    match write_out(&text) {
        Ok(()) => ExitCode::SUCCESS,
        Err(code) => code,
    }
}

/// A lifetime for the prefix timeline.
fn lft(s: Option<u64>) -> String {
    s.map_or_else(|| "-".to_string(), duration)
}

/// The prefix timeline: one block per prefix and link, first seen first.
pub fn render_prefixes(e: &Events) -> String {
    let mut out = String::new();
    if e.events.is_empty() {
        out.push_str("no prefix was delegated or advertised since the supervisor started\n");
    }
    if let Some(n) = dropped_note(e) {
        out.push_str(&n);
    }
    let mut keys: Vec<(ipnet::Ipv6Net, &str)> = Vec::new();
    for ev in &e.events {
        if let Some(p) = &ev.prefix
            && !keys.contains(&(p.prefix, p.link.as_str()))
        {
            keys.push((p.prefix, p.link.as_str()));
        }
    }
    for (prefix, link) in keys {
        let history: Vec<&Event> = e
            .events
            .iter()
            .filter(|ev| {
                ev.prefix
                    .as_ref()
                    .is_some_and(|p| p.prefix == prefix && p.link == link)
            })
            .collect();
        let now = history
            .last()
            .and_then(|ev| ev.prefix.as_ref())
            .map_or("", |p| p.what.as_str());
        let whose = if link == "wan" {
            "delegated by the ISP".to_string()
        } else {
            format!("on LAN {link}")
        };
        let _ = writeln!(out, "{prefix}  {whose}  (last: {now})");
        for ev in history {
            let Some(p) = &ev.prefix else { continue };
            let mut line = format!(
                "  {} {}  {:<10}",
                date_text(ev.wall_ms),
                clock_text(ev.wall_ms),
                p.what
            );
            if p.valid_s.is_some() {
                let _ = write!(
                    line,
                    "  preferred {:<8}  valid {}",
                    lft(p.preferred_s),
                    lft(p.valid_s)
                );
            }
            out.push_str(line.trim_end());
            out.push('\n');
        }
    }
    out
}

/// The "since boot" line of `cpectl status`: what went wrong and passed.
pub fn since_boot_line(r: &StatusReport) -> String {
    let s = &r.since_boot;
    // Nothing happened: no line, so the healthy screen keeps to 24 rows.
    if s.pd_lost == 0 && s.wan_down == 0 && s.restarts == 0 && s.reloads_refused == 0 {
        return String::new();
    }
    let last = |ms: Option<u64>| ms.map(|m| format!(" (last {})", clock_text(m)));
    let mut line = format!("since boot: PD lost {}x", s.pd_lost);
    line.extend(last(s.pd_lost_last_ms));
    let _ = write!(line, ", WAN down {}x", s.wan_down);
    line.extend(last(s.wan_down_last_ms));
    let _ = write!(line, ", restarts {}", s.restarts);
    if s.reloads_refused > 0 {
        let _ = write!(line, ", reloads refused {}", s.reloads_refused);
    }
    line.truncate(WIDTH);
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use cpe_bus::events::{PrefixChange, Ring};

    fn args(a: &[&str]) -> Result<LogArgs, String> {
        parse_log_args(a.iter().map(OsString::from).collect(), false)
    }

    #[test]
    fn log_arguments() {
        let a = args(&["--since", "10m", "--level", "warn", "-n", "50", "-f"]).unwrap();
        assert_eq!(a.query.since_s, Some(600));
        assert_eq!(a.query.min_level, Level::Warn);
        assert_eq!(a.query.limit, Some(50));
        assert!(a.follow && !a.json);
        assert_eq!(args(&["--since", "2h"]).unwrap().query.since_s, Some(7200));
        assert_eq!(args(&["--since", "45"]).unwrap().query.since_s, Some(45));
        assert!(args(&["--json"]).unwrap().json);
        assert!(args(&["-h"]).unwrap().help);
        for bad in [
            &["--since", "10x"][..],
            &["--since", "m"],
            &["--since", "-5m"],
            &["--since", "99999999999999999999d"],
            &["--level", "loud"],
            &["-n", "many"],
            &["-n"],
            &["--bogus"],
            &["extra"],
        ] {
            assert!(args(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn events_fit_80_columns_with_a_date_line_per_day() {
        let mut ring = Ring::new(8);
        let t = 1_796_295_861_000; // 2026-12-03 11:04:21 UTC
        ring.push(1, t, Level::Warn, "dhcp6c", &"word ".repeat(40), None);
        ring.push(
            2,
            t + 86_400_000,
            Level::Info,
            "supervisor",
            "next day",
            None,
        );
        let e = ring.query(&Query::default(), 2);
        let mut day = String::new();
        let text = render_events(&e.events, &mut day);
        assert!(text.starts_with("-- 2026-12-03 (UTC) --\n11:04:21 warn  dhcp6c  "));
        assert!(text.contains("\n-- 2026-12-04 (UTC) --\n11:04:21 info  supervisor next day\n"));
        for l in text.lines() {
            assert!(l.len() <= WIDTH, "{l:?}");
        }
        let wrapped: Vec<&str> = text.lines().filter(|l| l.starts_with("    ")).collect();
        assert!(!wrapped.is_empty(), "{text}");
        assert!(wrapped.iter().all(|l| l.starts_with(&" ".repeat(TEXT_AT))));
        // Following: same day, no new date line.
        assert!(!render_events(&e.events[1..], &mut day).contains("--"));
    }

    #[test]
    fn prefix_timeline_groups_by_prefix_and_link() {
        let mut ring = Ring::new(8);
        let t = 1_796_295_861_000;
        let p = "2001:db8:1200::/56".parse().unwrap();
        let change = |what: &str, valid| PrefixChange {
            prefix: p,
            link: "wan".into(),
            what: what.into(),
            preferred_s: valid,
            valid_s: valid,
        };
        ring.push(
            1,
            t,
            Level::Info,
            "dhcp6c",
            "x",
            Some(change("delegated", Some(120))),
        );
        ring.push(2, t + 1000, Level::Info, "dns", "not a prefix", None);
        ring.push(
            3,
            t + 120_000,
            Level::Warn,
            "dhcp6c",
            "x",
            Some(change("expired", None)),
        );
        let text = render_prefixes(&ring.query(
            &Query {
                prefixes_only: true,
                ..Query::default()
            },
            3,
        ));
        assert_eq!(
            text,
            "2001:db8:1200::/56  delegated by the ISP  (last: expired)\n\
             \x20 2026-12-03 11:04:21  delegated   preferred 2m00s     valid 2m00s\n\
             \x20 2026-12-03 11:06:21  expired\n"
        );
    }

    #[test]
    fn since_boot_line_is_short() {
        let mut r = StatusReport::default();
        r.since_boot.pd_lost = 2;
        r.since_boot.pd_lost_last_ms = Some(1_796_295_861_000);
        r.since_boot.wan_down = 1;
        assert_eq!(
            since_boot_line(&r),
            "since boot: PD lost 2x (last 11:04:21), WAN down 1x, restarts 0\n"
        );
        assert_eq!(
            since_boot_line(&StatusReport::default()),
            "",
            "nothing to say"
        );
    }
}

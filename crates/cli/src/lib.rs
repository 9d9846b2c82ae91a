//! `cpectl`: what a field engineer types on the serial console.
//!
//! `cpectl status` answers "what is this router doing and why" on one
//! 80-column screen; `--json` gives the same as a stable, documented object
//! (`docs/status-json.md`) for scripts and tests; `cpectl reload` applies an
//! edited config and says exactly why it refused one; `cpectl log` and
//! `cpectl show prefix` tell what happened before the engineer arrived.

pub mod diag;
pub mod firewall;
pub mod render;
pub mod timeline;
pub mod why;

use std::ffi::OsString;
use std::io::IsTerminal;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use cpe_bus::proto::{FromSupervisor, Request};

const USAGE: &str = "usage: cpectl [--config FILE | --socket PATH] COMMAND
commands:
  status [--json]          one-screen router status (or the JSON document)
  show wan|lan|daemons|DAEMON [--json]
                           one part of the status in detail
  why [--json]             the diagnosis alone: one finding a line, with its
                           evidence; exit 0 healthy, 1 degraded, 2 down
  log [--since 10m] [--level warn] [-n N] [-f] [--json]
                           the event timeline (`cpectl log --help`)
  show prefix [--json]     each delegated and advertised prefix's history
  diag [--target ADDR] [--timeout MS] [--name NAME] [--json]
                           active probes from the router: ping the ISP's
                           router (v6) and gateway (v4) and ADDR, a DNS query
                           for NAME (default localhost) through each upstream,
                           the WAN Path MTU, the LAN hosts (NDP/ARP); timeout
                           per probe (default 1000 ms); exit 0 all passed,
                           1 some failed
  reload [--json]          re-read the config; refused (exit 1) if invalid
  upgrade FILE             write FILE to the other slot and boot it (cpe upgrade)
  factory-reset --yes      erase config and state, reboot (cpe factory-reset)
  help                     this text (also --help, -h, after any command)
The supervisor's socket is <run_dir>/cpe.sock, with run_dir taken from
--config FILE, or /etc/cpe/config.toml, or /run/cpe if that names none.
Only run_dir is read, so a config broken since the last reload still
finds the supervisor: `status` answers and `reload` lists the errors.
A usage error exits 64. Example, in a script:
  cpectl why --json > /tmp/why.json; echo $?   # 0, 1, 2
  cpectl diag --target 2001:db8::1 --name example.com";

/// How long the console waits for the supervisor before giving up.
const TIMEOUT: Duration = Duration::from_secs(5);

/// Writes the console's output. A reader that goes away early (`cpectl
/// show wan | head -3`) is the engineer's choice, not a fault: the rest is
/// dropped silently with success, where `println!` would panic with a
/// backtrace on the serial console. Any other write failure (a full disk
/// behind a redirect) is named on stderr and fails the command.
fn emit(text: &str) -> ExitCode {
    let mut out = std::io::stdout().lock();
    match out.write_all(text.as_bytes()).and_then(|()| out.flush()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("cpectl: cannot write the output: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Entry point of `cpectl` (and `cpe ctl`).
pub fn main(args: Vec<OsString>) -> ExitCode {
    let mut socket: Option<PathBuf> = None;
    let mut config: Option<PathBuf> = None;
    let mut json = false;
    let mut diag_opts = diag::Options::default();
    let mut words: Vec<String> = Vec::new();
    // The arguments after `log`, which has options of its own.
    let mut log_args: Option<Vec<OsString>> = None;
    let mut parser = lexopt::Parser::from_args(args);
    loop {
        match parser.next() {
            Ok(Some(lexopt::Arg::Long("socket"))) => match parser.value() {
                Ok(v) => socket = Some(PathBuf::from(v)),
                Err(e) => return usage(&e.to_string()),
            },
            Ok(Some(lexopt::Arg::Long("config")) | Some(lexopt::Arg::Short('c'))) => {
                match parser.value() {
                    Ok(v) => config = Some(PathBuf::from(v)),
                    Err(e) => return usage(&e.to_string()),
                }
            }
            Ok(Some(lexopt::Arg::Long("json"))) => json = true,
            Ok(Some(lexopt::Arg::Long(opt @ ("target" | "timeout" | "name")))) => {
                let opt = opt.to_owned();
                let value = match parser.value() {
                    Ok(v) => v.to_string_lossy().into_owned(),
                    Err(e) => return usage(&e.to_string()),
                };
                if let Err(e) = diag_option(&mut diag_opts, &opt, &value) {
                    return usage(&e);
                }
            }
            Ok(Some(lexopt::Arg::Long("help")) | Some(lexopt::Arg::Short('h'))) => {
                return emit(&format!("{USAGE}\n"));
            }
            Ok(Some(lexopt::Arg::Value(v))) if words.is_empty() && v == "log" => {
                log_args = Some(parser.raw_args().map(|r| r.collect()).unwrap_or_default());
                break;
            }
            Ok(Some(lexopt::Arg::Value(v))) => words.push(v.to_string_lossy().into_owned()),
            Ok(Some(other)) => return usage(&other.unexpected().to_string()),
            Ok(None) => break,
            Err(e) => return usage(&e.to_string()),
        }
    }
    let words: Vec<&str> = words.iter().map(String::as_str).collect();
    if words == ["help"] {
        return emit(&format!("{USAGE}\n"));
    }
    let locate = |tell| {
        socket
            .clone()
            .unwrap_or_else(|| find_socket(config.clone(), tell))
    };
    if let Some(rest) = log_args {
        return match timeline::parse_log_args(rest, json) {
            Ok(a) if a.help => emit(&format!("{}\n", timeline::LOG_USAGE)),
            Ok(a) => timeline::log(&locate(true), a),
            Err(e) => {
                eprintln!("cpectl log: {e}\n{}", timeline::LOG_USAGE);
                ExitCode::from(EXIT_USAGE)
            }
        };
    }
    match words.as_slice() {
        [] | ["status"] => status(&locate(true), json, None),
        ["show", "prefix" | "prefixes"] => timeline::show_prefix(&locate(true), json),
        ["show", what] => status(&locate(true), json, Some(what)),
        ["why"] => why(&locate(true), json),
        ["reload"] => reload(&locate(false), json),
        ["diag"] => run_diag(&locate(true), json, &diag_opts),
        _ => usage(&format!("unknown command {:?}", words.join(" "))),
    }
}

/// One of `diag`'s options.
fn diag_option(o: &mut diag::Options, opt: &str, value: &str) -> Result<(), String> {
    match opt {
        "target" => {
            o.target = Some(
                value
                    .parse()
                    .map_err(|_| format!("--target {value:?} is not an IP address"))?,
            );
        }
        "timeout" => {
            let ms: u64 = value
                .parse()
                .ok()
                .filter(|ms| (1..=10_000).contains(ms))
                .ok_or_else(|| format!("--timeout {value:?}: milliseconds, 1..=10000"))?;
            o.timeout = Duration::from_millis(ms);
        }
        _ => {
            cpe_wire::name::Name::from_dotted(value)
                .map_err(|e| format!("--name {value:?}: {e}"))?;
            o.name = value.to_owned();
        }
    }
    Ok(())
}

/// The supervisor's status report, or the line to print instead: its own
/// error, an unexpected answer, or why it is not reachable (followed by
/// `unreachable_note`, when given, for what that means to the command).
fn fetch_report(
    socket: &std::path::Path,
    unreachable_note: &str,
) -> Result<Box<cpe_bus::status::StatusReport>, String> {
    match cpe_bus::control::request(socket, Request::Status, TIMEOUT) {
        Ok(FromSupervisor::Status(r)) => Ok(r),
        Ok(FromSupervisor::Error { message }) => Err(format!("cpectl: supervisor: {message}")),
        Ok(other) => Err(format!("cpectl: unexpected answer: {other:?}")),
        Err(e) if unreachable_note.is_empty() => Err(format!("cpectl: {e}")),
        Err(e) => Err(format!(
            "cpectl: supervisor not reachable, {unreachable_note}: {e}"
        )),
    }
}

/// `cpectl diag`: the probes (text or JSON), exit 0 when all passed, 1
/// when one failed or the supervisor (which names the targets) is not
/// reachable.
fn run_diag(socket: &std::path::Path, json: bool, opts: &diag::Options) -> ExitCode {
    let report = match fetch_report(socket, "it names the targets") {
        Ok(r) => r,
        Err(line) => {
            eprintln!("{line}");
            return ExitCode::FAILURE;
        }
    };
    let d = diag::run(&report, opts);
    let out = if json {
        serde_json::to_string_pretty(&diag::to_json(&d)).unwrap_or_default() + "\n"
    } else {
        diag::render(&d)
    };
    let written = emit(&out);
    if written != ExitCode::SUCCESS {
        return written;
    }
    ExitCode::from(d.exit_code())
}

/// Exit code of a usage error: sysexits' EX_USAGE, so that `cpectl why`'s
/// 1 (degraded) and 2 (down) mean only what they say.
const EXIT_USAGE: u8 = 64;

fn usage(msg: &str) -> ExitCode {
    eprintln!("cpectl: {msg}\n{USAGE}");
    ExitCode::from(EXIT_USAGE)
}

/// Default place of the config file, whose `run_dir` names the socket.
const DEFAULT_CONFIG: &str = "/etc/cpe/config.toml";
/// `run_dir` when the config names none (the config's own default).
const DEFAULT_RUN_DIR: &str = "/run/cpe";

/// Finds the supervisor's socket: `<run_dir>/cpe.sock`.
///
/// Only `run_dir` is needed, and it is read leniently, because the console
/// is needed most right after an engineer broke the file: the supervisor
/// keeps running the config it loaded before, `status` must still answer
/// and `reload` must reach it to list the file's errors. When the file is
/// invalid and `tell` is set, a note on stderr says so (stdout stays clean
/// for `--json`); `reload` prints the supervisor's own FILE:LINE:COL lines
/// instead.
fn find_socket(config: Option<PathBuf>, tell: bool) -> PathBuf {
    let explicit = config.is_some();
    let path = config.unwrap_or_else(|| PathBuf::from(DEFAULT_CONFIG));
    let run_dir = cpe_config::run_dir_lenient(&path);
    if tell
        && (explicit || path.exists())
        && let Err(diags) = cpe_config::load_file(&path)
    {
        let errors: Vec<_> = diags.errors().collect();
        let problem = match errors.as_slice() {
            [only] => only.to_string(),
            many => format!(
                "{} has {} errors (`cpectl reload` lists them)",
                path.display(),
                many.len()
            ),
        };
        eprintln!(
            "cpectl: note: {problem}; a running supervisor keeps the config it last loaded; \
             socket taken from run_dir {}",
            run_dir
                .as_deref()
                .unwrap_or(std::path::Path::new(DEFAULT_RUN_DIR))
                .display()
        );
    }
    run_dir
        .unwrap_or_else(|| PathBuf::from(DEFAULT_RUN_DIR))
        .join(cpe_bus::SOCKET_NAME)
}

/// `cpectl why`: the findings (text or a JSON array), exit 0/1/2 by the
/// worst. A supervisor that does not answer is itself the finding: down.
fn why(socket: &std::path::Path, json: bool) -> ExitCode {
    let report = match fetch_report(socket, "nothing runs") {
        Ok(r) => r,
        Err(line) => {
            eprintln!("{line}");
            return ExitCode::from(2);
        }
    };
    let findings = why::findings(&report);
    let out = if json {
        serde_json::to_string_pretty(&findings).unwrap_or_default() + "\n"
    } else {
        why::render(&report, &findings)
    };
    let written = emit(&out);
    if written != ExitCode::SUCCESS {
        return written;
    }
    ExitCode::from(why::exit_code(&findings))
}

fn status(socket: &std::path::Path, json: bool, what: Option<&str>) -> ExitCode {
    let report = match fetch_report(socket, "") {
        Ok(r) => r,
        Err(line) => {
            eprintln!("{line}");
            return ExitCode::FAILURE;
        }
    };
    let value = match what {
        None => serde_json::to_value(&*report),
        Some("wan") => serde_json::to_value(&report.wan),
        Some("lan") => serde_json::to_value(&report.lan),
        Some("daemons") => serde_json::to_value(&report.daemons),
        Some(d) => match report.daemon_status.get(d) {
            Some(v) => Ok(v.clone()),
            None => {
                eprintln!("{}", nothing_to_show(d, &report));
                return ExitCode::FAILURE;
            }
        },
    };
    let value = match value {
        Ok(v) => v,
        Err(e) => {
            eprintln!("cpectl: {e}");
            return ExitCode::FAILURE;
        }
    };
    let out = if json {
        serde_json::to_string_pretty(&value).unwrap_or_default() + "\n"
    } else {
        let colour = std::io::stdout().is_terminal();
        match what {
            None => render::status(&report, colour),
            Some("wan") => render::wan(&report, colour),
            Some("lan") => render::lan_detail(&report),
            Some("daemons") => render::daemons(&report),
            Some(d) => match cpe_bus::Daemon::from_name(d) {
                Some(cpe_bus::Daemon::Firewall) => match report.daemon(cpe_bus::Daemon::Firewall) {
                    Some(f) => firewall::show(&f),
                    // Not the firewall's shape at all: show what it said.
                    None => render::json_as_text(&value),
                },
                _ => render::json_as_text(&value),
            },
        }
    };
    emit(&out)
}

/// What `cpectl show NAME` says for a NAME it has nothing for: the
/// sections it knows, then each running daemon whose own status it can
/// show, every name once (the WAN daemon is also the `wan` section).
fn nothing_to_show(name: &str, report: &cpe_bus::status::StatusReport) -> String {
    let mut names = vec!["wan", "lan", "daemons", "prefix"];
    for d in &report.daemons {
        if !names.contains(&d.name.as_str()) {
            names.push(&d.name);
        }
    }
    format!(
        "cpectl: nothing to show for {name:?}\ntry one of: {}",
        names.join(", ")
    )
}

/// `cpectl reload`: what the supervisor did with the file; with `--json`
/// its whole outcome (applied, errors, warnings, changed) on stdout for a
/// script, exit 1 all the same when it was refused.
fn reload(socket: &std::path::Path, json: bool) -> ExitCode {
    match cpe_bus::control::request(socket, Request::Reload, Duration::from_secs(15)) {
        Ok(FromSupervisor::Reload(outcome)) if json => {
            let written =
                emit(&(serde_json::to_string_pretty(&outcome).unwrap_or_default() + "\n"));
            if written != ExitCode::SUCCESS || outcome.applied {
                written
            } else {
                ExitCode::FAILURE
            }
        }
        Ok(FromSupervisor::Reload(outcome)) => {
            for w in &outcome.warnings {
                eprintln!("{w}");
            }
            if outcome.applied {
                if outcome.changed.is_empty() {
                    emit("reload applied; no daemon affected\n")
                } else {
                    emit(&format!(
                        "reload applied; restarted/started/stopped: {}\n",
                        outcome.changed.join(", ")
                    ))
                }
            } else {
                for e in &outcome.errors {
                    eprintln!("{e}");
                }
                eprintln!("reload refused; the previous config keeps running");
                ExitCode::FAILURE
            }
        }
        Ok(FromSupervisor::Error { message }) => {
            eprintln!("cpectl: supervisor: {message}");
            ExitCode::FAILURE
        }
        Ok(other) => {
            eprintln!("cpectl: unexpected answer: {other:?}");
            ExitCode::FAILURE
        }
        Err(e) => {
            eprintln!("cpectl: {e}");
            ExitCode::FAILURE
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_show_hint_names_each_section_and_daemon_once() {
        let mut report = render::tests::sample();
        report.daemons = ["wan", "dhcp6c", "ra", "dns"]
            .map(|name| cpe_bus::status::DaemonReport {
                name: name.into(),
                ..Default::default()
            })
            .to_vec();
        let hint = nothing_to_show("bogus", &report);
        assert_eq!(
            hint,
            "cpectl: nothing to show for \"bogus\"\n\
             try one of: wan, lan, daemons, prefix, dhcp6c, ra, dns"
        );
        assert!(hint.lines().all(|l| l.len() <= render::WIDTH), "{hint}");
    }
}

//! `cpectl`: what a field engineer types on the serial console.
//!
//! `cpectl status` answers "what is this router doing and why" on one
//! 80-column screen; `--json` gives the same as a stable, documented object
//! (`docs/status-json.md`) for scripts and tests; `cpectl reload` applies an
//! edited config and says exactly why it refused one.

pub mod firewall;
pub mod render;
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
  reload                   re-read the config; refused (exit 1) if invalid
  upgrade FILE             write FILE to the other slot and boot it (cpe upgrade)
  factory-reset --yes      erase config and state, reboot (cpe factory-reset)
  help                     this text (also --help, -h, after any command)
The supervisor's socket is <run_dir>/cpe.sock, with run_dir taken from
--config FILE, or /etc/cpe/config.toml, or /run/cpe if that names none.
Only run_dir is read, so a config broken since the last reload still
finds the supervisor: `status` answers and `reload` lists the errors.
A usage error exits 64. Example, in a script:
  cpectl why --json > /tmp/why.json; echo $?   # 0, 1, 2";

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
    let mut words: Vec<String> = Vec::new();
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
            Ok(Some(lexopt::Arg::Long("help")) | Some(lexopt::Arg::Short('h'))) => {
                return emit(&format!("{USAGE}\n"));
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
    match words.as_slice() {
        [] | ["status"] => status(&locate(true), json, None),
        ["show", what] => status(&locate(true), json, Some(what)),
        ["why"] => why(&locate(true), json),
        ["reload"] => reload(&locate(false)),
        _ => usage(&format!("unknown command {:?}", words.join(" "))),
    }
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
    let report = match cpe_bus::control::request(socket, Request::Status, TIMEOUT) {
        Ok(FromSupervisor::Status(r)) => r,
        Ok(FromSupervisor::Error { message }) => {
            eprintln!("cpectl: supervisor: {message}");
            return ExitCode::from(2);
        }
        Ok(other) => {
            eprintln!("cpectl: unexpected answer: {other:?}");
            return ExitCode::from(2);
        }
        Err(e) => {
            eprintln!("cpectl: supervisor not reachable, nothing runs: {e}");
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
    let report = match cpe_bus::control::request(socket, Request::Status, TIMEOUT) {
        Ok(FromSupervisor::Status(r)) => r,
        Ok(FromSupervisor::Error { message }) => {
            eprintln!("cpectl: supervisor: {message}");
            return ExitCode::FAILURE;
        }
        Ok(other) => {
            eprintln!("cpectl: unexpected answer: {other:?}");
            return ExitCode::FAILURE;
        }
        Err(e) => {
            eprintln!("cpectl: {e}");
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
                eprintln!(
                    "cpectl: nothing to show for {d:?}; try wan, lan, daemons or one of: {}",
                    report
                        .daemons
                        .iter()
                        .map(|d| d.name.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                );
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

fn reload(socket: &std::path::Path) -> ExitCode {
    match cpe_bus::control::request(socket, Request::Reload, Duration::from_secs(15)) {
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

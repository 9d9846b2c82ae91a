//! `cpe`: the one binary of the router image (busybox style).
//!
//! One file on flash instead of one per daemon saves about a third of the
//! space (shared std, tokio and codecs). The supervisor starts each daemon as
//! a separate process of this same binary (`cpe daemon NAME`), so a crash in
//! one daemon still cannot take another down. Installed as `cpectl` (a link)
//! it is the engineer's console.

use std::ffi::OsString;
use std::path::Path;
use std::process::ExitCode;

const USAGE: &str = "usage: cpe COMMAND [ARGS]
commands:
  run [--config FILE]        run the supervisor (foreground, logs to stderr)
  check-config FILE...       validate config files; FILE:LINE:COL errors
  ctl ARGS                   the console (same as cpectl ARGS)
  daemon NAME                run one daemon (started by the supervisor)
  version                    print the version";

fn main() -> ExitCode {
    let mut args: Vec<OsString> = std::env::args_os().collect();
    let argv0 = args.first().cloned().unwrap_or_default();
    let called_as = Path::new(&argv0)
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if called_as == "cpectl" {
        return cpe_cli::main(args.split_off(1));
    }
    if args.len() < 2 {
        eprintln!("{USAGE}");
        return ExitCode::from(2);
    }
    let rest = args.split_off(2);
    let command = args[1].to_string_lossy().into_owned();
    match command.as_str() {
        "run" => cpe_supervisor::main(rest),
        "check-config" => check_config(rest),
        "ctl" => cpe_cli::main(rest),
        "daemon" => daemon(rest),
        "version" | "--version" | "-V" => {
            println!("cpe {}", env!("CARGO_PKG_VERSION"));
            ExitCode::SUCCESS
        }
        "help" | "--help" | "-h" => {
            println!("{USAGE}");
            ExitCode::SUCCESS
        }
        other => {
            eprintln!("cpe: unknown command {other:?}\n{USAGE}");
            ExitCode::from(2)
        }
    }
}

/// `cpe check-config FILE...`: all problems of all files, one line each.
fn check_config(files: Vec<OsString>) -> ExitCode {
    if files.is_empty() {
        eprintln!("usage: cpe check-config FILE...");
        return ExitCode::from(2);
    }
    let mut ok = true;
    for f in files {
        let path = Path::new(&f);
        match cpe_config::load_file(path) {
            Ok(loaded) => {
                for w in &loaded.warnings {
                    println!("{w}");
                }
                println!("{}: ok", path.display());
            }
            Err(diags) => {
                ok = false;
                for d in &diags.0 {
                    println!("{d}");
                }
            }
        }
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// `cpe daemon NAME [ARGS]`: the daemons the supervisor starts. Daemons
/// whose engine is not in the build yet run as minimal bus participants.
fn daemon(mut args: Vec<OsString>) -> ExitCode {
    if args.is_empty() {
        eprintln!("usage: cpe daemon NAME [ARGS]");
        return ExitCode::from(2);
    }
    let rest = args.split_off(1);
    let name = args[0].to_string_lossy().into_owned();
    match name.as_str() {
        "wan" => cpe_wan::main(rest),
        "dhcp6c" => cpe_dhcp6c::main(rest),
        "ra" => cpe_ra::main(rest),
        "dns" => cpe_dns::main(rest),
        "dhcp6s" => cpe_dhcp6s::main(rest),
        "dhcp4s" => cpe_dhcp4s::main(rest),
        "firewall" => cpe_firewall::main(rest),
        other => match cpe_supervisor::plan::ALL_DAEMONS
            .iter()
            .find(|d| **d == other)
        {
            Some(known) => cpe_supervisor::minimal::main(known),
            None => {
                eprintln!(
                    "cpe: no daemon {other:?}; known: {}",
                    cpe_supervisor::plan::ALL_DAEMONS.join(", ")
                );
                ExitCode::from(2)
            }
        },
    }
}

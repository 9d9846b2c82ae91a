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
  version                    print the version
  help                       this text
Every command answers --help (or -h) with its own usage.";

const CHECK_CONFIG_USAGE: &str = "usage: cpe check-config [--] FILE...
Validates each config file without running anything and prints every
problem as FILE:LINE:COL: error|warning: message (FILE: error: ... for the
file as a whole, e.g. not a regular file), or FILE: ok.
Exit 0 if all files are valid, 1 if any is not, 2 for a usage error.
A file whose name starts with '-' goes after --.";

const DAEMON_USAGE: &str = "usage: cpe daemon NAME [ARGS]
Runs one daemon. The supervisor (`cpe run`) starts each daemon of the
config this way and hands it the config over its socket; there is no need
to start one by hand. wan, ra and dns also run standalone for labs (e.g.
`cpe daemon ra --interface IF`); an unknown option prints that daemon's
own option list.";

const VERSION_USAGE: &str = "usage: cpe version
Prints the version of this binary (also --version, -V).";

/// Whether `--help` or `-h` comes among the options (before any `--`).
fn asks_help(args: &[OsString]) -> bool {
    args.iter()
        .take_while(|a| a.as_os_str() != "--")
        .any(|a| a.as_os_str() == "--help" || a.as_os_str() == "-h")
}

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
        "version" | "--version" | "-V" if asks_help(&rest) => {
            println!("{VERSION_USAGE}");
            ExitCode::SUCCESS
        }
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
fn check_config(args: Vec<OsString>) -> ExitCode {
    let mut files = Vec::new();
    let mut options_done = false;
    for arg in args {
        let text = arg.to_string_lossy();
        if options_done || !text.starts_with('-') {
            files.push(arg);
        } else if text == "--" {
            options_done = true;
        } else if text == "--help" || text == "-h" {
            println!("{CHECK_CONFIG_USAGE}");
            return ExitCode::SUCCESS;
        } else {
            eprintln!("cpe check-config: unknown option {text:?}\n{CHECK_CONFIG_USAGE}");
            return ExitCode::from(2);
        }
    }
    if files.is_empty() {
        eprintln!("{CHECK_CONFIG_USAGE}");
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
    if asks_help(&args) {
        println!(
            "{DAEMON_USAGE}\ndaemons: {}",
            cpe_supervisor::plan::ALL_DAEMONS.join(", ")
        );
        return ExitCode::SUCCESS;
    }
    if args.is_empty() {
        eprintln!("{DAEMON_USAGE}");
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
        "ntp" => cpe_ntp::main(rest),
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

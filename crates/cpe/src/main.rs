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
  save-config FILE [DEST]    validate FILE and install it as the config
  console-login CONFIG SHADOW  write the console's shadow file from CONFIG
  ctl ARGS                   the console (same as cpectl ARGS)
  daemon NAME                run one daemon (started by the supervisor)
  upgrade FILE               verify FILE, write the other slot, try it
  factory-reset --yes        erase config and state at the next boot
  boot-ok                    mark a trial boot good once the router is healthy
  fw-printenv, fw-setenv     the boot environment (two-slot boards)
  image pack|info            build or check an upgrade image
  version                    print the version
  help                       this text
Every command answers --help (or -h) with its own usage.";

const CHECK_CONFIG_USAGE: &str = "usage: cpe check-config [--] FILE...
Validates each config file without running anything and prints every
problem as FILE:LINE:COL: error|warning: message (FILE: error: ... for the
file as a whole, e.g. not a regular file), or FILE: ok.
Exit 0 if all files are valid, 1 if any is not, 2 for a usage error.
A file whose name starts with '-' goes after --.";

const SAVE_CONFIG_USAGE: &str = "usage: cpe save-config [--] FILE [DEST]
Validates FILE like check-config and, only if it is valid, replaces DEST
(default /etc/cpe/config.toml) with it atomically: written beside DEST,
fsynced, renamed over it, directory fsynced. A power cut leaves the old
config or the new one, never a mix. Then `cpectl reload` applies it.
Exit 0 when installed, 1 when FILE is invalid or the write failed.";

const CONSOLE_LOGIN_USAGE: &str = "usage: cpe console-login CONFIG SHADOW
Writes SHADOW (the image's /etc/shadow, in RAM) from [system]
root_password_hash of CONFIG: root gets the hash, or is locked when there
is none (the console then opens a shell without login). Run at boot before
the console starts; the supervisor (`cpe run --login-shadow SHADOW`) keeps
it in step at every reload. Prints what the console does, never the hash.
Exit 0 when written, 1 when CONFIG is invalid (SHADOW untouched) or the
write failed.";

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
        let rest = args.split_off(1);
        // The console's upgrade and reset run here, not in the supervisor
        // (see cpe_flash::ops).
        if let Some(cmd @ ("upgrade" | "factory-reset")) = rest.first().and_then(|a| a.to_str()) {
            let cmd = cmd.to_string();
            return cpe_flash::console_main(&cmd, rest[1..].to_vec());
        }
        return cpe_cli::main(rest);
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
        "save-config" => save_config(rest),
        "console-login" => console_login(rest),
        "ctl" => cpe_cli::main(rest),
        "daemon" => daemon(rest),
        "upgrade" | "factory-reset" | "boot-ok" | "fw-printenv" | "fw-setenv" | "image" => {
            cpe_flash::main(&command, rest)
        }
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
/// A warning when `wan.interface` is not a network interface of the
/// machine `check-config` runs on. Only a warning: a config is often
/// checked on another machine than the router it is for, and a USB or
/// VLAN interface may appear after boot (the WAN daemon waits for it).
fn missing_wan_interface(path: &Path, config: &cpe_config::Config) -> Option<String> {
    let name = &config.wan.interface;
    let sys = Path::new("/sys/class/net");
    if !sys.is_dir() || sys.join(name).exists() {
        return None;
    }
    Some(format!(
        "{}: warning: wan.interface {name:?} does not exist on this system \
         ({} has no such interface); fine if this config is for another device",
        path.display(),
        sys.display()
    ))
}

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
                if let Some(w) = missing_wan_interface(path, &loaded.config) {
                    println!("{w}");
                }
                if loaded.config.system.root_password_hash.is_none() {
                    println!(
                        "{}: warning: [system] root_password_hash is not set: the serial \
                         console has no login (anyone at it is root); set a crypt(3) \
                         SHA-512 hash (`mkpasswd -m sha-512`)",
                        path.display()
                    );
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

/// `cpe save-config FILE [DEST]`: the engineer's edit becomes the config
/// only whole and only if valid, since a broken or half-written config on
/// flash would be what the router boots with.
fn save_config(args: Vec<OsString>) -> ExitCode {
    if asks_help(&args) {
        println!("{SAVE_CONFIG_USAGE}");
        return ExitCode::SUCCESS;
    }
    let mut paths: Vec<OsString> = args;
    if paths.first().is_some_and(|a| a.as_os_str() == "--") {
        paths.remove(0);
    } else if let Some(opt) = paths.iter().find(|a| a.to_string_lossy().starts_with('-')) {
        eprintln!(
            "cpe save-config: unknown option {:?}\n{SAVE_CONFIG_USAGE}",
            opt.to_string_lossy()
        );
        return ExitCode::from(2);
    }
    let (file, dest) = match paths.as_slice() {
        [file] => (Path::new(file), Path::new(cpe_supervisor::DEFAULT_CONFIG)),
        [file, dest] => (Path::new(file), Path::new(dest)),
        _ => {
            eprintln!("{SAVE_CONFIG_USAGE}");
            return ExitCode::from(2);
        }
    };
    // Exactly the text that was validated is written (one read).
    let text = match cpe_config::load_file_with_source(file) {
        Ok((loaded, text)) => {
            for w in &loaded.warnings {
                println!("{w}");
            }
            text
        }
        Err(diags) => {
            for d in &diags.0 {
                println!("{d}");
            }
            println!(
                "{}: not saved ({} unchanged)",
                file.display(),
                dest.display()
            );
            return ExitCode::FAILURE;
        }
    };
    match cpe_sys::persist::atomic_write(dest, text.as_bytes()) {
        Ok(()) => {
            println!("{}: saved as {}", file.display(), dest.display());
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}: error: not saved: {e}", dest.display());
            ExitCode::FAILURE
        }
    }
}

/// `cpe console-login CONFIG SHADOW`: the login the console asks for is
/// in force before anyone can type at it, whether or not the supervisor
/// comes up.
fn console_login(args: Vec<OsString>) -> ExitCode {
    if asks_help(&args) {
        println!("{CONSOLE_LOGIN_USAGE}");
        return ExitCode::SUCCESS;
    }
    let [config, shadow] = args.as_slice() else {
        eprintln!("{CONSOLE_LOGIN_USAGE}");
        return ExitCode::from(2);
    };
    let (config, shadow) = (Path::new(config), Path::new(shadow));
    let loaded = match cpe_config::load_file(config) {
        Ok(loaded) => loaded,
        Err(diags) => {
            for d in &diags.0 {
                println!("{d}");
            }
            println!(
                "{}: invalid: {} not written",
                config.display(),
                shadow.display()
            );
            return ExitCode::FAILURE;
        }
    };
    match cpe_supervisor::login::write_shadow(shadow, &loaded.config) {
        Ok(_) => {
            println!("{}", cpe_supervisor::login::summary(&loaded.config));
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{}: error: not written: {e}", shadow.display());
            ExitCode::FAILURE
        }
    }
}

/// `cpe daemon NAME [ARGS]`: the daemons the supervisor starts.
fn daemon(mut args: Vec<OsString>) -> ExitCode {
    use cpe_bus::Daemon;
    if asks_help(&args) {
        println!("{DAEMON_USAGE}\ndaemons: {}", Daemon::names());
        return ExitCode::SUCCESS;
    }
    if args.is_empty() {
        eprintln!("{DAEMON_USAGE}");
        return ExitCode::from(2);
    }
    let rest = args.split_off(1);
    let name = args[0].to_string_lossy().into_owned();
    let Some(daemon) = Daemon::from_name(&name) else {
        eprintln!("cpe: no daemon {name:?}; known: {}", Daemon::names());
        return ExitCode::from(2);
    };
    match daemon {
        Daemon::Wan => cpe_wan::main(rest),
        Daemon::Dhcp6c => cpe_dhcp6c::main(rest),
        Daemon::Ra => cpe_ra::main(rest),
        Daemon::Dns => cpe_dns::main(rest),
        Daemon::Dhcp6s => cpe_dhcp6s::main(rest),
        Daemon::Dhcp4s => cpe_dhcp4s::main(rest),
        Daemon::Firewall => cpe_firewall::main(rest),
        Daemon::Ntp => cpe_ntp::main(rest),
    }
}

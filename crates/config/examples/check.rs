//! Validates config files the way the router will, for integrators
//! editing a config off the device:
//!
//! ```text
//! cargo run -p cpe-config --example check -- config/default.toml
//! cargo run -p cpe-config --example check -- --effective config/default.toml
//! ```
//!
//! Prints every finding as `FILE:LINE:COL: severity: message`; with
//! `--effective`, also the config with every default filled in. Exits 1
//! if any file is rejected, 2 on usage errors.

use std::process::ExitCode;

fn main() -> ExitCode {
    let mut effective = false;
    let mut files = Vec::new();
    for arg in std::env::args_os().skip(1) {
        if arg == "--effective" {
            effective = true;
        } else {
            files.push(std::path::PathBuf::from(arg));
        }
    }
    if files.is_empty() {
        eprintln!("usage: check [--effective] FILE...");
        return ExitCode::from(2);
    }
    let mut failed = false;
    for file in &files {
        match cpe_config::load_file(file) {
            Ok(loaded) => {
                for warning in &loaded.warnings {
                    println!("{warning}");
                }
                if effective {
                    print!("{}", cpe_config::to_toml(&loaded.config));
                }
            }
            Err(diagnostics) => {
                println!("{diagnostics}");
                failed = true;
            }
        }
    }
    if failed {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

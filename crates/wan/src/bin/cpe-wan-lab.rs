//! The WAN daemon on its own, for the namespace lab and benchmarks where no
//! supervisor runs: `cpe-wan-lab --interface wan0 --status-file wan.json`.
//! On the router the same code runs as `cpe daemon wan` in the multi-call
//! binary; this target is not part of the image.

fn main() -> std::process::ExitCode {
    cpe_wan::main(std::env::args_os().skip(1).collect())
}

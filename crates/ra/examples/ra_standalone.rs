//! The RA daemon without the multi-call binary: `cargo run -p cpe-ra
//! --example ra_standalone -- --interface br0 --prefix 2001:db8:1:1::/64`.
//! Used by the namespace test in `tests/netns.rs` and for quick lab runs.

fn main() -> std::process::ExitCode {
    cpe_ra::main(std::env::args_os().skip(1).collect())
}

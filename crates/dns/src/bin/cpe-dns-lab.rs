//! Standalone forwarder for the namespace lab and the benchmark, where no
//! supervisor runs: `cpe-dns-lab --listen 192.168.1.1:53%br0 --upstream 192.0.2.53`.
//! Same code path as `cpe daemon dns`; only config comes from flags.

fn main() -> std::process::ExitCode {
    cpe_dns::main(std::env::args_os().skip(1).collect())
}

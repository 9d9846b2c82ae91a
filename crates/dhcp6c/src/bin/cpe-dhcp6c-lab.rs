//! The DHCPv6 client alone, for namespace labs and benchmarks before (or
//! beside) the multi-call `cpe` binary: same code as `cpe daemon dhcp6c`.

fn main() -> std::process::ExitCode {
    cpe_dhcp6c::main(std::env::args_os().skip(1).collect())
}

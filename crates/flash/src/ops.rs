//! The commands: `cpe upgrade`, `cpe factory-reset`, `cpe boot-ok`,
//! `cpe fw-printenv`, `cpe fw-setenv`, `cpe image`.
//!
//! They run in the process that was started (the console's `cpectl
//! upgrade` runs the same code, not a request to the supervisor): an
//! upgrade or a reset is most needed when the supervisor is not healthy,
//! and a long flash write has no place in the supervisor's loop.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use crate::device::{self, Layout, Slot, cmdline_arg, read_env, write_env};
use crate::env::Env;
use crate::health;
use crate::image::{self, Verifier};

const BOARD_ENV: &str = "/etc/cpe/board.env";
const IMAGE_INFO: &str = "/etc/cpe/image-info";
const CMDLINE: &str = "/proc/cmdline";
/// Written when this boot was found good (the init's trial watchdog and
/// tests look for it).
const BOOT_OK_MARK: &str = "/run/cpe/boot-ok";
/// Boots the boot loader tries an upgraded slot before going back.
pub const BOOTLIMIT: &str = "3";

/// Exit status: the image or request was refused, nothing written.
const EXIT_REFUSED: u8 = 1;
const EXIT_USAGE: u8 = 2;
/// This board cannot do it safely (one slot, no boot environment).
const EXIT_UNSUPPORTED: u8 = 3;
/// Writing the flash failed part way (the running slot is untouched).
const EXIT_IO: u8 = 4;

const UPGRADE_USAGE: &str = "usage: cpe upgrade [--no-reboot] FILE   (also cpectl upgrade FILE)
Verifies FILE (an upgrade.img of tools/build-image: magic, board, sizes,
SHA-256), writes it to the slot that is not running, reads it back and
verifies it again, then sets the boot environment to try that slot
(upgrade_available=1, bootcount=0) and reboots. Config and state live on
the data partition and are kept. If the new slot does not come up healthy
(`cpe boot-ok`) within 3 boots, the boot loader goes back to this one.
Exit 0 done, 1 image refused (nothing written), 2 usage, 3 board without
two slots or boot environment, 4 flash write failed (this slot untouched).";

const RESET_USAGE: &str =
    "usage: cpe factory-reset --yes [--no-reboot]   (also cpectl factory-reset --yes)
Erases the data partition at the next boot: the config edits, DUID, ULA,
leases and remembered prefixes are gone, the router starts with the
image's default config. Sets factory_reset=1 in the boot environment,
which the boot script passes on as cpe.factory_reset=1 (the same kernel
command line knob a reset button would set), and reboots.";

const BOOT_OK_USAGE: &str = "usage: cpe boot-ok [--timeout SECS] [--socket PATH]
On a trial boot of an upgraded slot (upgrade_available=1), waits until the
router is healthy, then marks the boot good (upgrade_available=0,
bootcount=0). Healthy: the supervisor answers on its socket and every
supervised daemon is running and has been for 10 s. Exit 1 if not healthy
within SECS (default 120): /init then reboots, and the boot loader counts
the try.";

const ENV_USAGE: &str = "usage: cpe fw-printenv [NAME...] | cpe fw-setenv NAME [VALUE]
The boot environment (U-Boot env format, two copies) of this flash.";

const IMAGE_USAGE: &str =
    "usage: cpe image pack --board B --version V --kernel F --initrd F --rootfs F OUT
       cpe image info [--board B] FILE
Builds or checks an upgrade image (docs/image.md, \"Upgrade image\").";

fn fail(code: u8, msg: impl std::fmt::Display) -> ExitCode {
    eprintln!("{msg}");
    ExitCode::from(code)
}

fn board_env() -> Result<String, String> {
    std::fs::read_to_string(BOARD_ENV).map_err(|e| format!("{BOARD_ENV}: {e}"))
}

fn this_board() -> Result<String, String> {
    let text = std::fs::read_to_string(IMAGE_INFO).map_err(|e| format!("{IMAGE_INFO}: {e}"))?;
    device::shell_var(&text, "BOARD").ok_or_else(|| format!("{IMAGE_INFO} names no BOARD"))
}

/// The layout, or why this board refuses A/B operations.
fn two_slots() -> Result<(Layout, (u64, u64)), String> {
    two_slots_of(&board_env()?)
}

/// [`two_slots`] for the text of a `board.env`. A board with one copy of
/// the system would have to overwrite the one it runs: a power cut or a bad
/// image part way leaves nothing to boot, and no boot loader counts boots
/// to go back. The refusal names the board's flash as `board.env` has it,
/// so the engineer sees why rather than a bare "unsupported".
fn two_slots_of(text: &str) -> Result<(Layout, (u64, u64)), String> {
    let layout = Layout::from_board_env(text);
    match (layout.slots, layout.env_offsets) {
        (Some(_), Some(offs)) => Ok((layout, offs)),
        _ => {
            let flash = device::shell_var(text, "FLASH").unwrap_or_default();
            let what = match flash.as_str() {
                "" => "boots from RAM (kernel + initramfs, FLASH=\"\")".to_string(),
                f => format!("has one copy of the system on its flash (FLASH=\"{f}\")"),
            };
            Err(format!(
                "this board {what}: no second slot and no boot environment, so an upgrade \
                 would overwrite the running system and a power cut or a bad image would \
                 leave it unable to boot; refused, nothing written"
            ))
        }
    }
}

fn booted_slot() -> Result<Slot, String> {
    let cmdline = std::fs::read_to_string(CMDLINE).map_err(|e| format!("{CMDLINE}: {e}"))?;
    cmdline_arg(&cmdline, "cpe.slot")
        .and_then(Slot::parse)
        .ok_or_else(|| "no cpe.slot=a|b on the kernel command line: not booted by the boot loader's script, so the running slot is unknown".into())
}

/// Entry of every command of this crate; `command` is the first word.
pub fn main(command: &str, args: Vec<OsString>) -> ExitCode {
    run(command, args, EXIT_USAGE)
}

/// `cpectl upgrade` and `cpectl factory-reset`: the same commands, with
/// the console's exit status for a usage error (64, as every `cpectl`
/// command), so a script reads the other codes the same either way.
pub fn console_main(command: &str, args: Vec<OsString>) -> ExitCode {
    run(command, args, EXIT_CONSOLE_USAGE)
}

/// The console's usage-error status (`cpectl`, BSD's EX_USAGE).
const EXIT_CONSOLE_USAGE: u8 = 64;

fn run(command: &str, args: Vec<OsString>, usage_exit: u8) -> ExitCode {
    let args: Vec<String> = args
        .into_iter()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    let help = args.iter().any(|a| a == "--help" || a == "-h");
    let usage = match command {
        "upgrade" => UPGRADE_USAGE,
        "factory-reset" => RESET_USAGE,
        "boot-ok" => BOOT_OK_USAGE,
        "fw-printenv" | "fw-setenv" => ENV_USAGE,
        _ => IMAGE_USAGE,
    };
    if help {
        println!("{usage}");
        return ExitCode::SUCCESS;
    }
    let result = match command {
        "upgrade" => upgrade(&args),
        "factory-reset" => factory_reset(&args),
        "boot-ok" => boot_ok(&args),
        "fw-printenv" => printenv(&args),
        "fw-setenv" => setenv(&args),
        "image" => image_cmd(&args),
        _ => Err((EXIT_USAGE, String::new())),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err((EXIT_USAGE, msg)) => fail(usage_exit, format!("cpe {command}: {msg}\n{usage}")),
        Err((code, msg)) => fail(code, format!("cpe {command}: {msg}")),
    }
}

type Outcome = Result<(), (u8, String)>;

fn refused(msg: impl Into<String>) -> (u8, String) {
    (EXIT_REFUSED, msg.into())
}

/// Feeds `len` bytes of `r` (all when `None`) to a verifier.
fn verify_stream(
    r: &mut impl Read,
    len: Option<u64>,
    board: &str,
) -> Result<image::Header, String> {
    let mut v = Verifier::default();
    let mut buf = vec![0u8; 64 * 1024];
    let mut left = len.unwrap_or(u64::MAX);
    while left > 0 {
        let want = buf.len().min(usize::try_from(left).unwrap_or(usize::MAX));
        let n = r.read(&mut buf[..want]).map_err(|e| e.to_string())?;
        if n == 0 {
            break;
        }
        v.update(&buf[..n]);
        left -= n as u64;
    }
    v.finish(board).map_err(|e| e.to_string())
}

fn partition_bytes(dev: &Path) -> Option<u64> {
    let name = dev.file_name()?.to_string_lossy().into_owned();
    let sectors = std::fs::read_to_string(format!("/sys/class/block/{name}/size")).ok()?;
    sectors.trim().parse::<u64>().ok().map(|s| s * 512)
}

fn reboot() -> Outcome {
    // busybox init's reboot: services stop, filesystems are synced and
    // unmounted, then the kernel restarts the board.
    let _ = std::io::stdout().flush();
    match std::process::Command::new("reboot").status() {
        Ok(s) if s.success() => Ok(()),
        Ok(s) => Err((EXIT_IO, format!("reboot failed ({s}); reboot by hand"))),
        Err(e) => Err((EXIT_IO, format!("reboot: {e}; reboot by hand"))),
    }
}

fn upgrade(args: &[String]) -> Outcome {
    let mut no_reboot = false;
    let mut file = None;
    for a in args {
        match a.as_str() {
            "--no-reboot" => no_reboot = true,
            s if s.starts_with('-') => return Err((EXIT_USAGE, format!("unknown option {s}"))),
            s if file.is_none() => file = Some(PathBuf::from(s)),
            _ => return Err((EXIT_USAGE, "one FILE only".into())),
        }
    }
    let file = file.ok_or((EXIT_USAGE, "FILE missing".to_string()))?;
    let (layout, offs) = two_slots().map_err(|e| (EXIT_UNSUPPORTED, e))?;
    let board = this_board().map_err(|e| (EXIT_UNSUPPORTED, e))?;
    let mut f = File::open(&file).map_err(|e| refused(format!("{}: {e}", file.display())))?;
    let h = verify_stream(&mut f, None, &board)
        .map_err(|e| refused(format!("{}: {e}; nothing written", file.display())))?;
    println!(
        "{}: upgrade image for {}, version {}, {} bytes, SHA-256 {}: ok",
        file.display(),
        h.board,
        h.version,
        h.total_size,
        image::hex(&h.sha256)
    );
    let running = booted_slot().map_err(|e| (EXIT_UNSUPPORTED, e))?;
    let target = running.other();
    let dev = layout
        .slot_dev(target)
        .ok_or((EXIT_UNSUPPORTED, "no slot device".to_string()))?;
    if let Some(room) = partition_bytes(&dev)
        && u64::from(h.total_size) > room
    {
        return Err(refused(format!(
            "image of {} bytes does not fit slot {} ({} bytes); nothing written",
            h.total_size,
            target.name(),
            room
        )));
    }
    // The boot loader must keep booting the running slot while the other
    // is being written: a power cut then leaves this router as it was.
    let mut env = match read_env(&layout.dev, offs, layout.env_size) {
        Ok((env, _)) => env,
        Err(e) => {
            println!("{e}: writing a new one");
            Env::default()
        }
    };
    if env.get("slot") != Some(running.name()) || env.get("upgrade_available") != Some("0") {
        set(
            &mut env,
            &[
                ("slot", running.name()),
                ("upgrade_available", "0"),
                ("bootcount", "0"),
            ],
        )?;
        write_env(&layout.dev, offs, layout.env_size, &env).map_err(|e| (EXIT_IO, e))?;
    }
    println!("writing slot {} ({})", target.name(), dev.display());
    let t0 = Instant::now();
    copy_to_slot(&file, &dev).map_err(|e| {
        (
            EXIT_IO,
            format!(
                "writing {}: {e}; slot {} still boots",
                dev.display(),
                running.name()
            ),
        )
    })?;
    let mut back = File::open(&dev).map_err(|e| (EXIT_IO, format!("{}: {e}", dev.display())))?;
    let again = verify_stream(&mut back, Some(u64::from(h.total_size)), &board).map_err(|e| {
        (
            EXIT_IO,
            format!(
                "slot {} read back: {e}; slot {} still boots",
                target.name(),
                running.name()
            ),
        )
    })?;
    println!(
        "slot {} written and read back ({:.1}s): SHA-256 {}",
        target.name(),
        t0.elapsed().as_secs_f64(),
        image::hex(&again.sha256)
    );
    let version_key = format!("version_{}", target.name());
    set(
        &mut env,
        &[
            ("slot", target.name()),
            ("upgrade_available", "1"),
            ("bootcount", "0"),
            ("bootlimit", BOOTLIMIT),
            ("rollback_from", "none"),
            (version_key.as_str(), h.version.as_str()),
        ],
    )?;
    write_env(&layout.dev, offs, layout.env_size, &env).map_err(|e| (EXIT_IO, e))?;
    println!(
        "boot environment: slot={} upgrade_available=1 bootlimit={BOOTLIMIT}: the next boot tries {}; \
         without a healthy boot (cpe boot-ok) within {BOOTLIMIT} boots the boot loader goes back to slot {}",
        target.name(),
        h.version,
        running.name()
    );
    if no_reboot {
        println!("--no-reboot: reboot to run it");
        return Ok(());
    }
    println!("rebooting");
    reboot()
}

fn set(env: &mut Env, vars: &[(&str, &str)]) -> Outcome {
    for (k, v) in vars {
        env.set(k, v).map_err(|e| refused(e.to_string()))?;
    }
    Ok(())
}

fn copy_to_slot(file: &Path, dev: &Path) -> std::io::Result<()> {
    let mut src = File::open(file)?;
    let mut dst = OpenOptions::new().write(true).open(dev)?;
    std::io::copy(&mut src, &mut dst)?;
    dst.sync_all()
}

fn factory_reset(args: &[String]) -> Outcome {
    let mut yes = false;
    let mut no_reboot = false;
    for a in args {
        match a.as_str() {
            "--yes" => yes = true,
            "--no-reboot" => no_reboot = true,
            s => return Err((EXIT_USAGE, format!("unknown argument {s}"))),
        }
    }
    if !yes {
        return Err((
            EXIT_USAGE,
            "erases the config and all state of this router: say --yes".into(),
        ));
    }
    let layout = Layout::from_board_env(&board_env().map_err(|e| (EXIT_UNSUPPORTED, e))?);
    let offs = layout.env_offsets.ok_or((
        EXIT_UNSUPPORTED,
        "this board has no boot environment: boot it with cpe.factory_reset=1 on the kernel command line".to_string(),
    ))?;
    let (mut env, _) = read_env(&layout.dev, offs, layout.env_size).map_err(|e| (EXIT_IO, e))?;
    set(&mut env, &[("factory_reset", "1")])?;
    write_env(&layout.dev, offs, layout.env_size, &env).map_err(|e| (EXIT_IO, e))?;
    println!(
        "factory reset armed: the next boot erases the data partition and starts with the image's default config"
    );
    if no_reboot {
        return Ok(());
    }
    println!("rebooting");
    reboot()
}

fn boot_ok(args: &[String]) -> Outcome {
    let mut timeout = Duration::from_secs(120);
    let mut socket = None;
    let mut it = args.iter();
    while let Some(a) = it.next() {
        match a.as_str() {
            "--timeout" => {
                timeout = it
                    .next()
                    .and_then(|s| s.parse().ok())
                    .map(Duration::from_secs)
                    .ok_or((EXIT_USAGE, "--timeout SECS".to_string()))?;
            }
            "--socket" => {
                socket = Some(PathBuf::from(
                    it.next().ok_or((EXIT_USAGE, "--socket PATH".to_string()))?,
                ));
            }
            s => return Err((EXIT_USAGE, format!("unknown argument {s}"))),
        }
    }
    let (layout, offs) = two_slots().map_err(|e| (EXIT_UNSUPPORTED, e))?;
    let (mut env, _) = read_env(&layout.dev, offs, layout.env_size).map_err(|e| (EXIT_IO, e))?;
    let slot = env.get("slot").unwrap_or("?").to_string();
    if env.get("upgrade_available") != Some("1") {
        println!("boot of slot {slot}: no trial pending");
        mark();
        return Ok(());
    }
    let socket = socket.unwrap_or_else(|| {
        cpe_config::run_dir_lenient(Path::new("/etc/cpe/config.toml"))
            .unwrap_or_else(|| PathBuf::from("/run/cpe"))
            .join(cpe_bus::SOCKET_NAME)
    });
    let t0 = Instant::now();
    let mut why = String::from("not asked yet");
    while t0.elapsed() < timeout {
        why = match cpe_bus::control::request(
            &socket,
            cpe_bus::proto::Request::Status,
            Duration::from_secs(5),
        ) {
            Ok(cpe_bus::FromSupervisor::Status(r)) => match health::healthy(&r) {
                Ok(()) => {
                    set(&mut env, &[("upgrade_available", "0"), ("bootcount", "0")])?;
                    write_env(&layout.dev, offs, layout.env_size, &env)
                        .map_err(|e| (EXIT_IO, e))?;
                    println!(
                        "slot {slot} is healthy after {}s (supervisor and {} daemons running): boot marked good, boot counter reset",
                        t0.elapsed().as_secs(),
                        r.daemons.len()
                    );
                    mark();
                    return Ok(());
                }
                Err(e) => e,
            },
            Ok(other) => format!("unexpected answer {other:?}"),
            Err(e) => format!("supervisor not reachable: {e}"),
        };
        std::thread::sleep(Duration::from_secs(2));
    }
    Err((
        EXIT_REFUSED,
        format!(
            "slot {slot} not healthy after {}s: {why}",
            timeout.as_secs()
        ),
    ))
}

fn mark() {
    let _ = std::fs::create_dir_all("/run/cpe");
    let _ = std::fs::write(BOOT_OK_MARK, b"ok\n");
}

fn env_location() -> Result<(Layout, (u64, u64)), (u8, String)> {
    let layout = Layout::from_board_env(&board_env().map_err(|e| (EXIT_UNSUPPORTED, e))?);
    let offs = layout.env_offsets.ok_or((
        EXIT_UNSUPPORTED,
        "this board has no boot environment".to_string(),
    ))?;
    Ok((layout, offs))
}

fn printenv(args: &[String]) -> Outcome {
    let (layout, offs) = env_location()?;
    let (env, copy) = read_env(&layout.dev, offs, layout.env_size).map_err(|e| (EXIT_IO, e))?;
    if copy == device::Copy::Second {
        eprintln!("note: first copy invalid, read the redundant copy");
    }
    for (k, v) in env.iter() {
        if args.is_empty() || args.iter().any(|a| a == k) {
            println!("{k}={v}");
        }
    }
    Ok(())
}

fn setenv(args: &[String]) -> Outcome {
    let (layout, offs) = env_location()?;
    let assignment = match args {
        [name] => name.clone(),
        [name, value] => format!("{name}={value}"),
        _ => return Err((EXIT_USAGE, "NAME [VALUE]".into())),
    };
    if assignment.starts_with('=') {
        return Err((EXIT_USAGE, "NAME [VALUE]".into()));
    }
    edit_env(&layout.dev, offs, layout.env_size, &[assignment])
}

/// Prints the environment (no assignments) or applies `NAME=VALUE` and
/// `NAME` (removal) and writes it back; a flash without a valid one
/// starts empty.
fn edit_env(dev: &Path, offs: (u64, u64), size: usize, assignments: &[String]) -> Outcome {
    let mut env = match read_env(dev, offs, size) {
        Ok((env, _)) => env,
        Err(e) if !assignments.is_empty() => {
            eprintln!("{e}: starting an empty one");
            Env::default()
        }
        Err(e) => return Err((EXIT_IO, e)),
    };
    if assignments.is_empty() {
        for (k, v) in env.iter() {
            println!("{k}={v}");
        }
        return Ok(());
    }
    for a in assignments {
        match a.split_once('=') {
            Some((k, v)) => set(&mut env, &[(k, v)])?,
            None => env.remove(a),
        }
    }
    write_env(dev, offs, size, &env).map_err(|e| (EXIT_IO, e))
}

fn image_cmd(args: &[String]) -> Outcome {
    let mut opts = std::collections::BTreeMap::new();
    let mut files = Vec::new();
    let mut it = args.iter();
    let sub = it.next().ok_or((EXIT_USAGE, "pack or info".to_string()))?;
    while let Some(a) = it.next() {
        match a.strip_prefix("--") {
            Some(k) => {
                let v = it
                    .next()
                    .ok_or((EXIT_USAGE, format!("--{k} needs a value")))?;
                opts.insert(k.to_string(), v.clone());
            }
            None => files.push(a.clone()),
        }
    }
    let read = |k: &str| -> Result<Vec<u8>, (u8, String)> {
        let p = opts.get(k).ok_or((EXIT_USAGE, format!("--{k} missing")))?;
        std::fs::read(p).map_err(|e| refused(format!("{p}: {e}")))
    };
    match (sub.as_str(), files.as_slice()) {
        ("pack", [out]) => {
            let get = |k: &str| {
                opts.get(k)
                    .cloned()
                    .ok_or((EXIT_USAGE, format!("--{k} missing")))
            };
            let img = image::pack(
                &get("board")?,
                &get("version")?,
                &read("kernel")?,
                &read("initrd")?,
                &read("rootfs")?,
            )
            .map_err(refused)?;
            cpe_sys::persist::atomic_write(Path::new(out), &img)
                .map_err(|e| (EXIT_IO, format!("{out}: {e}")))?;
            println!("{out}: {} bytes", img.len());
            Ok(())
        }
        ("info", [file]) => {
            let mut f = File::open(file).map_err(|e| refused(format!("{file}: {e}")))?;
            let mut head = vec![0u8; image::HEADER_SIZE];
            let n = f.read(&mut head).map_err(|e| refused(e.to_string()))?;
            let h =
                image::Header::parse(&head[..n]).map_err(|e| refused(format!("{file}: {e}")))?;
            let board = opts
                .get("board")
                .cloned()
                .unwrap_or_else(|| h.board.clone());
            let mut f = File::open(file).map_err(|e| refused(format!("{file}: {e}")))?;
            verify_stream(&mut f, None, &board).map_err(|e| refused(format!("{file}: {e}")))?;
            println!(
                "{file}: board {} version {} size {} kernel {} initramfs {} root {} at {} sha256 {}: ok",
                h.board,
                h.version,
                h.total_size,
                h.kernel.size,
                h.initrd.size,
                h.rootfs.size,
                h.rootfs.offset,
                image::hex(&h.sha256)
            );
            Ok(())
        }
        ("env", assignments) => {
            let get = |k: &str| {
                opts.get(k)
                    .cloned()
                    .ok_or((EXIT_USAGE, format!("--{k} missing")))
            };
            let text = std::fs::read_to_string(get("board-env")?)
                .map_err(|e| refused(format!("board env: {e}")))?;
            let layout = Layout::from_board_env(&text);
            let offs = layout.env_offsets.ok_or((
                EXIT_UNSUPPORTED,
                "the board has no boot environment".to_string(),
            ))?;
            let flash = PathBuf::from(get("flash")?);
            edit_env(&flash, offs, layout.env_size, assignments)
        }
        _ => Err((EXIT_USAGE, format!("image {sub}: bad arguments"))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const AARCH64: &str = include_str!("../../../board/qemu-aarch64-virt/board.env");
    const ARMV7: &str = include_str!("../../../board/qemu-armv7-virt/board.env");
    const MIPSEL: &str = include_str!("../../../board/qemu-mipsel-malta/board.env");
    const X86_64: &str = include_str!("../../../board/qemu-x86_64-pc/board.env");
    const MIPS: &str = include_str!("../../../board/qemu-mips-malta/board.env");

    #[test]
    fn one_slot_boards_refuse_upgrade_and_say_why() {
        for (text, flash) in [
            (ARMV7, "emmc"),
            (MIPSEL, "emmc"),
            (X86_64, "emmc"),
            (MIPS, "emmc"),
        ] {
            let e = two_slots_of(text).unwrap_err();
            assert!(
                e.contains(&format!(
                    "one copy of the system on its flash (FLASH=\"{flash}\")"
                )),
                "{e}"
            );
            assert!(
                e.contains("no second slot") && e.contains("nothing written"),
                "{e}"
            );
        }
        let e = two_slots_of("FLASH=\"\"\n").unwrap_err();
        assert!(e.contains("boots from RAM"), "{e}");
        let (layout, offs) = two_slots_of(AARCH64).unwrap();
        assert_eq!(layout.slots, Some((2, 3)));
        assert_eq!(offs, (0x100000, 0x110000));
    }

    #[test]
    fn edit_env_sets_and_removes_on_a_blank_flash() {
        let path = std::env::temp_dir().join(format!("cpe-flash-edit-{}", std::process::id()));
        File::create(&path).unwrap().set_len(0x20000).unwrap();
        let offs = (0x8000, 0x10000);
        // Nothing valid to print on a blank flash.
        assert_eq!(edit_env(&path, offs, 0x1000, &[]).unwrap_err().0, EXIT_IO);
        let args = ["slot=b".to_string(), "x=1".to_string(), "v=a=b".to_string()];
        edit_env(&path, offs, 0x1000, &args).unwrap();
        edit_env(&path, offs, 0x1000, &["x".to_string()]).unwrap();
        let (env, copy) = read_env(&path, offs, 0x1000).unwrap();
        assert_eq!(copy, device::Copy::First);
        assert_eq!(
            env.iter().collect::<Vec<_>>(),
            [("slot", "b"), ("v", "a=b")]
        );
        std::fs::remove_file(&path).unwrap();
    }
}

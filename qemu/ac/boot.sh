# shellcheck shell=bash
# Boots a guest of the access-concentrator image (qemu/ac/build); sourced
# by qemu/pppoetest and qemu/demo, which set ROOT, AC_IMAGES (the image
# directory), QEMU_BIN, QEMU_MACHINE, QEMU_CPU and CONSOLE (board.env),
# timeout (seconds to wait for the guest) and die (how to fail).
#
#   ac_boot DIR [ac.OPTION=VALUE...] -- NETDEV MAC
#
# DIR gets console.sock, console.log, qemu.pid and qemu.err; the options go
# on the kernel command line (qemu/ac/init lists them); NETDEV is the QEMU
# netdev of the guest's eth0 (id n0), MAC its address. Returns once the
# guest printed "ac-guest: ready". A guest already running in DIR is
# stopped first.
ac_boot() {
    local dir=$1; shift
    local opts=() netdev
    while [ "$1" != -- ]; do opts+=("$1"); shift; done
    netdev=$2
    mkdir -p "$dir"
    [ ! -e "$dir/qemu.pid" ] || { kill "$(cat "$dir/qemu.pid")" 2>/dev/null || true; sleep 0.5; }
    rm -f "$dir/console.sock" "$dir/qemu.pid"
    : > "$dir/console.log"
    local args=("$QEMU_BIN" -accel tcg -M "$QEMU_MACHINE" -m 256 -smp 1 -nodefaults -no-reboot -display none
        -kernel "$AC_IMAGES/vmlinuz" -initrd "$AC_IMAGES/initramfs.cpio.gz"
        -append "console=$CONSOLE panic=-1 quiet ${opts[*]}"
        -netdev "$netdev" -device "$(qemu_nic_device n0 "$3")"
        -chardev "socket,id=con,path=$dir/console.sock,server=on,wait=off,logfile=$dir/console.log"
        -serial chardev:con -monitor none -daemonize -pidfile "$dir/qemu.pid")
    [ -z "$QEMU_CPU" ] || args+=(-cpu "$QEMU_CPU")
    "${args[@]}" 2> "$dir/qemu.err" || die "QEMU for the AC guest in $dir did not start: $(cat "$dir/qemu.err")"
    "$ROOT/qemu/console" --run-dir "$dir" wait --timeout "$timeout" 'ac-guest: ready' > /dev/null \
        || die "AC guest not ready after ${timeout}s (see $dir/console.log)"
}

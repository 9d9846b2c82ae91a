# Sourced by qemu/launch and tools/toolchain (after a board.env): the QEMU
# device options every board's guest is started with, in one place, so the
# toolchain's start-up probe checks exactly what launch uses.

# A NIC device for netdev $1 with MAC $2.
#
# The guests boot the kernel directly (-kernel/-initrd): nothing ever runs a
# NIC's option ROM. A PCI NIC still makes QEMU load one (efi-virtio.rom from
# Debian's ipxe-qemu, only a Recommends of qemu-system-*), and QEMU refuses
# to start without it. `romfile=` (empty) tells QEMU there is no ROM, so the
# image boots with the packages tools/toolchain installs and nothing else.
qemu_nic_device() {
    local opts="$QEMU_NIC_DEVICE,netdev=$1,mac=$2"
    case $QEMU_NIC_DEVICE in
        *-pci) opts="$opts,romfile=" ;;
    esac
    printf '%s' "$opts"
}

# The persistent state volume: host directory $1 as virtio-9p, tag cpestate.
qemu_state_device_args() {
    printf '%s\n' -fsdev "local,id=state,path=$1,security_model=none" \
        -device "virtio-9p-pci,fsdev=state,mount_tag=cpestate"
}

# The board's flash, file $1. FLASH="ab": a virtio-blk disk (the guest's
# /dev/vda), standing in for the board class's eMMC, because U-Boot's
# qemu_arm64 build, which boots it, has no MMC driver. cache=writeback:
# what the guest wrote reaches the file when QEMU writes it, so killing
# QEMU loses only what the guest had not yet written out, like a power cut.
# FLASH="emmc": as "ab", a virtio-blk disk standing in for the eMMC, but
# QEMU loads the kernel and first stage itself (no U-Boot).
qemu_flash_device_args() {
    case $FLASH in
        ab|emmc) printf '%s\n' -drive "if=none,id=flash,file=$1,format=raw,cache=writeback" \
                -device virtio-blk-pci,drive=flash ;;
    esac
}

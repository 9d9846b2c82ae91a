# cpe boot script (U-Boot hush), made into boot.scr by tools/build-image
# with mkimage -T script; the placeholders between at-signs are filled in
# from board.env. U-Boot's
# distro boot finds it on the flash's bootable partition 1 and sources it.
#
# It picks the slot from the boot environment (two copies of a U-Boot env
# block at fixed sectors before partition 1, read and written with `env
# import -c` / `env export -c`; cpe fw-printenv reads the same), counts
# the boots of a slot on trial (upgrade_available=1) and goes back to the
# other slot when bootcount passes bootlimit. Userland ends the trial
# (`cpe boot-ok`: upgrade_available=0, bootcount=0) once the router is
# healthy. The slot holds an upgrade image as it was shipped: header, gzip'd
# kernel, first-stage initramfs, squashfs root (crates/flash/src/image.rs).
# All numbers are hex, as U-Boot's commands read them.

setenv cpe_buf 0x47000000
setenv cpe_hdr 0x47100000
if virtio read ${cpe_buf} @ENV1@ @ENVBLKS@ && env import -c ${cpe_buf} @ENVSIZE@; then
    echo "cpe: boot environment: copy 1"
elif virtio read ${cpe_buf} @ENV2@ @ENVBLKS@ && env import -c ${cpe_buf} @ENVSIZE@; then
    echo "cpe: boot environment: copy 1 invalid, copy 2"
else
    echo "cpe: no valid boot environment: slot a"
    setenv slot a
    setenv upgrade_available 0
fi
test -n "${slot}" || setenv slot a
test -n "${bootcount}" || setenv bootcount 0
test -n "${bootlimit}" || setenv bootlimit 3
test -n "${rollback_from}" || setenv rollback_from none
test -n "${factory_reset}" || setenv factory_reset 0

setenv cpe_save 0
if test "${upgrade_available}" = 1; then
    setexpr bootcount ${bootcount} + 1
    setenv cpe_save 1
    if test ${bootcount} -gt ${bootlimit}; then
        echo "cpe: slot ${slot} did not come up healthy in ${bootlimit} boots: back to the other slot"
        setenv rollback_from ${slot}
        if test "${slot}" = b; then setenv slot a; else setenv slot b; fi
        setenv upgrade_available 0
        setenv bootcount 0
    else
        echo "cpe: slot ${slot} on trial: boot ${bootcount} of ${bootlimit}"
    fi
fi

# The slot's header; a slot without one (never written, or erased) sends
# the boot to the other slot at once.
setenv cpe_ok 0
if test "${slot}" = b; then setenv cpe_start @SLOTB@; else setenv cpe_start @SLOTA@; fi
virtio read ${cpe_hdr} ${cpe_start} 8
setexpr.l cpe_magic *@HDR0@
if test "${cpe_magic}" = 49455043; then
    setenv cpe_ok 1
else
    echo "cpe: slot ${slot} holds no image (magic ${cpe_magic}): the other slot"
    setenv rollback_from ${slot}
    if test "${slot}" = b; then setenv slot a; else setenv slot b; fi
    setenv upgrade_available 0
    setenv bootcount 0
    setenv cpe_save 1
    if test "${slot}" = b; then setenv cpe_start @SLOTB@; else setenv cpe_start @SLOTA@; fi
    virtio read ${cpe_hdr} ${cpe_start} 8
    setexpr.l cpe_magic *@HDR0@
    if test "${cpe_magic}" = 49455043; then setenv cpe_ok 1; fi
fi
if test ${cpe_save} = 1; then
    env export -c -s @ENVSIZE@ ${cpe_buf} slot upgrade_available bootcount bootlimit rollback_from factory_reset version_a version_b cpe_append
    virtio write ${cpe_buf} @ENV1@ @ENVBLKS@
    virtio write ${cpe_buf} @ENV2@ @ENVBLKS@
fi
if test ${cpe_ok} = 0; then
    echo "cpe: neither slot holds an image"
    exit
fi

# Header fields (little-endian u32): kernel, initramfs, root offset/size.
setexpr.l cpe_koff *@HDR16@
setexpr.l cpe_ksize *@HDR20@
setexpr.l cpe_ioff *@HDR24@
setexpr.l cpe_isize *@HDR28@
setexpr.l cpe_roff *@HDR32@
setexpr cpe_s ${cpe_koff} / 200
setexpr cpe_s ${cpe_s} + ${cpe_start}
setexpr cpe_n ${cpe_ksize} + 1ff
setexpr cpe_n ${cpe_n} / 200
virtio read ${kernel_addr_r} ${cpe_s} ${cpe_n}
setexpr cpe_s ${cpe_ioff} / 200
setexpr cpe_s ${cpe_s} + ${cpe_start}
setexpr cpe_n ${cpe_isize} + 1ff
setexpr cpe_n ${cpe_n} / 200
virtio read ${ramdisk_addr_r} ${cpe_s} ${cpe_n}

echo "cpe: booting slot ${slot}"
setenv kernel_comp_addr_r 0x48000000
setenv kernel_comp_size ${cpe_ksize}
setenv bootargs "console=@CONSOLE@ panic=-1 cpe.slot=${slot} cpe.rootoff=0x${cpe_roff} cpe.trial=${upgrade_available} cpe.bootcount=${bootcount} cpe.rollback_from=${rollback_from} cpe.factory_reset=${factory_reset} ${cpe_append}"
booti ${kernel_addr_r} ${ramdisk_addr_r}:${cpe_isize} ${fdtcontroladdr}

# shellcheck shell=bash
# A LAN host in a network namespace of this machine, whose eth0 is the
# router guest's LAN NIC (qemu/launch --lan-ns NS --lan-ifname eth0).
# Sourced by qemu/pppoedemo and qemu/pppoetest. Its IPv6 is the kernel's
# own SLAAC from the router's RA; its IPv4 comes from the router's DHCPv4
# server through busybox udhcpc, with an event script of ours (Debian's
# default one would rewrite this machine's /etc/resolv.conf).

# lanhost_new NS: the namespace, lo up, no DAD (addresses usable at once).
lanhost_new() {
    ip netns add "$1"
    ip -n "$1" link set lo up
    ip netns exec "$1" sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
}

# lanhost_dhcp4 NS DIR: one DHCPv4 lease on eth0, applied (address and
# default route); prints "address/len via router dns servers". Fails if
# no lease within about 20 s.
lanhost_dhcp4() {
    local ns=$1 dir=$2
    cat > "$dir/udhcpc.script" <<'SCRIPT'
#!/bin/sh
case "$1" in
bound|renew)
    ip -4 addr flush dev "$interface"
    ip addr add "$ip/$mask" dev "$interface"
    ip route replace default via "$router" dev "$interface"
    echo "$ip/$mask via $router dns $dns" > "$LEASE_FILE"
    ;;
esac
SCRIPT
    chmod 755 "$dir/udhcpc.script"
    rm -f "$dir/dhcp4.lease"
    LEASE_FILE=$dir/dhcp4.lease ip netns exec "$ns" udhcpc -i eth0 -f -q -n -t 20 -T 1 \
        -s "$dir/udhcpc.script" > "$dir/udhcpc.log" 2>&1 || return 1
    cat "$dir/dhcp4.lease"
}

# lanhost_global6 NS: the host's global address from the delegated prefix
# (not the ULA one).
lanhost_global6() {
    ip -n "$1" -6 -o addr show dev eth0 scope global | awk '{print $4}' | grep -v '^f[cd]' | head -n1 | grep .
}

# lanhost_route6 NS: its IPv6 default route, learned from the router's RA.
lanhost_route6() { ip -n "$1" -6 route show default | grep via | head -n1 | grep .; }

# lanhost_ping NS ADDRESS: one echo answered within 3 s (two tries).
lanhost_ping() { ip netns exec "$1" ping -c 1 -W 3 "$2" > /dev/null || ip netns exec "$1" ping -c 1 -W 3 "$2" > /dev/null; }

# Sourced by qemu/demo (--faults, which qemu/systest passes): the serial
# console scenarios of docs/console.md on the booted image. Each breaks the
# emulated ISP one way, waits until `cpectl why` names the cause with its
# evidence and `cpectl status` shows it, repairs it and waits until `why`
# says healthy again, asserting `why`'s exit code each time (0 healthy,
# 1 degraded, 2 down; `status` exits 0 whenever the supervisor answers)
# and that no line of any screen exceeds 80 columns.
# Every screen read is appended to $RUN/faults.txt with its time.
#
# Expects from the demo: RUN, ISP, HOST, ROOT, the router's LAN DNS address
# in $dns, the functions stage, fail and console, and isp.sh's isp_kea,
# isp_unbound, isp_kea_pid and isp_unbound_pid. Kea must run with short
# timers (ISP_KEA_TIMERS) so a Renew is never far away.

# Link-local address of the LAN host (its tap's MAC 02:00:00:00:03:01).
FAULT_HOST_LL=fe80::ff:fe00:301

# screen ARGS: runs `cpectl ARGS` on the serial console; sets screen_text
# and screen_rc. Fails the demo on a line wider than 80 columns.
screen() {
    screen_rc=0
    screen_text=$(console run --timeout 60 "cpectl $*") || screen_rc=$?
    [ "$screen_rc" -ne 124 ] || fail "cpectl $* did not answer on the console"
    printf '=== %s cpectl %s (exit %s)\n%s\n' "$(date -u +%T)" "$*" "$screen_rc" "$screen_text" \
        >> "$RUN/faults.txt"
    local wide
    wide=$(printf '%s\n' "$screen_text" | awk 'length($0) > 80' | head -n1)
    [ -z "$wide" ] || fail "cpectl $* printed a line wider than 80 columns: $wide"
}

# until_screen WITHIN RC ARGS -- NEEDLE...: repeats `cpectl ARGS` until it
# exits RC and shows every NEEDLE (words joined, so a wrapped line still
# matches); fails after WITHIN seconds with the last screen. Sets
# screen_after to the seconds it took from fault_t0.
until_screen() {
    local within=$1 rc=$2; shift 2
    local args=()
    while [ "$1" != -- ]; do args+=("$1"); shift; done
    shift
    local deadline=$((SECONDS + within)) joined needle ok
    while :; do
        screen "${args[@]}"
        joined=$(printf '%s\n' "$screen_text" | tr -s ' \n' '  ')
        ok=1
        [ "$screen_rc" -eq "$rc" ] || ok=0
        for needle in "$@"; do
            [[ $joined == *"$needle"* ]] || { ok=0; break; }
        done
        [ $ok -eq 0 ] || break
        if [ $SECONDS -ge "$deadline" ]; then
            printf '%s\n' "$screen_text" | sed 's/^/    /' >&2
            fail "cpectl ${args[*]} did not exit $rc showing $* within ${within}s (exit $screen_rc)"
        fi
        sleep 1
    done
    screen_after=$(echo "$(date +%s.%N) - $fault_t0" | bc | xargs printf '%.1f')
}

# Shows the last screen, indented, in the demo's output.
show_screen() { printf '%s\n' "$screen_text" | sed 's/^/    /'; }

healthy() {
    fault_t0=$(date +%s.%N)
    until_screen "$1" 0 why -- "healthy: WAN wan0 up"
    stage "$2: cpectl why exits 0 (healthy) ${screen_after}s after the repair"
}

fault_kea_gone() {
    stage "fault 1: the DHCPv6 server goes away (Kea killed)"
    kill -KILL "$isp_kea_pid"
    wait "$isp_kea_pid" 2>/dev/null || true
    fault_t0=$(date +%s.%N)
    until_screen 60 1 why -- "dhcpv6: DHCPv6 server not answering:" "0 replies; last reply"
    stage "cpectl why exits 1 after ${screen_after}s:"
    show_screen
    until_screen 20 0 status -- "dhcpv6 " "0 replies; last reply" "prefix 2001:db8:1"
    stage "cpectl status after ${screen_after}s:"
    show_screen
    isp_kea "$RUN" "$ISP"
    stage "Kea started again (same leases)"
    # Rebind is retransmitted at 10 s, 20 s, 40 s... (RFC 8415 REB_TIMEOUT).
    healthy 120 "DHCPv6 server back"
}

fault_rogue_router() {
    stage "fault 2: a rogue router on the LAN (radvd on the LAN host, 2001:db8:bad::/64)"
    cat > "$RUN/rogue.conf" <<EOF
interface eth0 {
  AdvSendAdvert on;
  MinRtrAdvInterval 3;
  MaxRtrAdvInterval 4;
  AdvDefaultLifetime 30;
  prefix 2001:db8:bad::/64 {
    AdvOnLink on; AdvAutonomous on; AdvValidLifetime 30; AdvPreferredLifetime 20;
  };
};
EOF
    ip netns exec "$HOST" radvd -n -m logfile -l "$RUN/rogue.log" -C "$RUN/rogue.conf" \
        -p "$RUN/rogue.pid" & local rogue=$!
    pids+=("$rogue")
    fault_t0=$(date +%s.%N)
    until_screen 30 0 status -- "WARN lan br0: another router advertises on br0: $FAULT_HOST_LL" \
        "prefixes 2001:db8:bad::/64"
    stage "cpectl status (exit 0: it answered) after ${screen_after}s:"
    show_screen
    until_screen 10 1 why -- "lan br0: another router advertises on br0: $FAULT_HOST_LL"
    stage "cpectl why exits 1 after ${screen_after}s:"
    show_screen
    # SIGTERM: radvd says goodbye (router lifetime 0), as a router
    # unplugged cleanly does; its prefix (valid 30 s) stays on the hosts
    # until it runs out, and the finding with it.
    kill -TERM "$rogue"
    wait "$rogue" 2>/dev/null || true
    stage "rogue radvd stopped (its last RA withdrew it as a router)"
    healthy 60 "rogue gone"
}

fault_dns_dead() {
    stage "fault 3: the upstream DNS server dies (Unbound killed)"
    kill -KILL "$isp_unbound_pid"
    wait "$isp_unbound_pid" 2>/dev/null || true
    fault_t0=$(date +%s.%N)
    local deadline=$((SECONDS + 60))
    # The forwarder learns an upstream is dead from the queries it forwards:
    # the LAN host asks (names the cache cannot answer).
    while :; do
        ip netns exec "$HOST" kdig +short +time=1 +retry=0 "@$dns" "n$SECONDS.test" AAAA >/dev/null 2>&1 || true
        screen status
        [[ $(printf '%s\n' "$screen_text" | tr -s ' \n' '  ') == *"2001:db8:53::1 DOWN ("* ]] && break
        [ $SECONDS -lt "$deadline" ] || { show_screen >&2; fail "upstream not DOWN on cpectl status within 60s"; }
    done
    until_screen 10 0 status -- "2001:db8:53::1 DOWN (" "WARN dns: every upstream DNS server is down"
    stage "cpectl status (exit 0: it answered) after ${screen_after}s:"
    show_screen
    until_screen 10 1 why -- "dns: every upstream DNS server is down"
    stage "cpectl why exits 1 after ${screen_after}s:"
    show_screen
    isp_unbound "$RUN" "$ISP"
    stage "Unbound started again"
    deadline=$((SECONDS + 60))
    until ip netns exec "$HOST" kdig +short +time=1 +retry=0 "@$dns" a.test AAAA 2>/dev/null | grep -q 2001:db8:53::80; do
        [ $SECONDS -lt "$deadline" ] || fail "no DNS answer through the router within 60s of Unbound's restart"
        sleep 1
    done
    healthy 30 "upstream DNS back"
}

# The service log of a clean boot: no passing state reported as a fault
# (the kernel's default route follows the RA by a moment: no "is
# accept_ra=2?" hint), dhcp6c announced its start once, the WAN came up
# once.
boot_log_is_clean() {
    local log n
    log=$(console run --timeout 60 'cat /var/log/cpe.log') || fail "no /var/log/cpe.log"
    printf '%s\n' "$log" > "$RUN/boot-service.log"
    ! grep -q 'accept_ra=2' <<< "$log" \
        || fail "boot log suggests accept_ra=2: $(grep -m1 'accept_ra=2' <<< "$log")"
    n=$(grep -c 'dhcp6c: WAN wan0 ready .*; starting' <<< "$log" || true)
    [ "$n" -eq 1 ] || fail "dhcp6c logged its start $n times on one boot (see $RUN/boot-service.log)"
    n=$(grep -c 'wan: wan0: up:' <<< "$log" || true)
    [ "$n" -eq 1 ] || fail "the WAN's up logged $n times on one boot (see $RUN/boot-service.log)"
    stage "service log of the boot: no accept_ra=2 hint, one dhcp6c start, one WAN up"
}

run_faults() {
    : > "$RUN/faults.txt"
    local t0=$SECONDS
    fault_t0=$(date +%s.%N)
    until_screen 60 0 why -- "healthy: WAN wan0 up"
    stage "before the faults: cpectl why exits 0:"
    show_screen
    boot_log_is_clean
    fault_kea_gone
    fault_rogue_router
    fault_dns_dead
    stage "console scenarios passed in $((SECONDS - t0)) s (screens: $RUN/faults.txt)"
}

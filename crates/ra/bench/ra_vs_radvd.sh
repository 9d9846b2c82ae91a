#!/bin/bash
# Time from "RA sender started" to "a Linux LAN host has a global SLAAC
# address and a default route through us", ours vs radvd, N runs each in the
# same network-namespace setup, medians; then resident memory of both.
#
#   bash crates/ra/bench/ra_vs_radvd.sh [RUNS] [PATH/TO/ra_standalone]
#
# Needs root, iproute2 and radvd. DAD is off on both sides (see
# shared lab notes) so the figure is the RA path itself, not DAD.
set -u
RUNS=${1:-20}
OURS=${2:-${CARGO_TARGET_DIR:-target}/release/examples/ra_standalone}
[ -x "$OURS" ] || { echo "build first: cargo build --release -p cpe-ra --example ra_standalone" >&2; exit 2; }
command -v radvd >/dev/null || { echo "radvd missing" >&2; exit 2; }
R=; H=; N=0; DIR=$(mktemp -d)
cleanup_ns() { [ -n "$R" ] && { ip netns del $R 2>/dev/null; ip netns del $H 2>/dev/null; }; }
cleanup() { cleanup_ns; rm -rf "$DIR"; }
trap cleanup EXIT

setup() {
  cleanup_ns
  # Fresh names each run: a namespace being torn down cannot be reused at once.
  N=$((N + 1)); R=rab-r-$$-$N; H=rab-h-$$-$N
  ip netns add $R; ip netns add $H
  for ns in $R $H; do
    ip netns exec $ns sysctl -qw net.ipv6.conf.all.accept_dad=0 net.ipv6.conf.default.accept_dad=0
  done
  ip netns exec $R sysctl -qw net.ipv6.conf.all.forwarding=1
  ip link add lan0 netns $R address 02:00:5e:00:53:01 type veth peer name host0 netns $H address 02:00:5e:00:53:99
  ip -n $R link set lan0 up; ip -n $H link set host0 up
  ip -n $R addr add 2001:db8:1:1::1/64 dev lan0 nodad
  until ip -n $H -6 addr show dev host0 | grep -q fe80 && ip -n $R -6 addr show dev lan0 | grep -q fe80; do sleep 0.01; done
  sleep 0.2
}

configured() {
  ip -n $H -6 route show default | grep -q fe80::5eff:fe00:5301 &&
    ip -n $H -6 addr show dev host0 | grep -q "2001:db8:1:1:"
}

now_ms() { echo $(( $(date +%s%N) / 1000000 )); }

cat > "$DIR/radvd.conf" <<CONF
interface lan0 {
  AdvSendAdvert on;
  AdvOtherConfigFlag on;
  MinRtrAdvInterval 200;
  MaxRtrAdvInterval 600;
  AdvDefaultLifetime 1800;
  AdvLinkMTU 1492;
  prefix 2001:db8:1:1::/64 { AdvValidLifetime 5400; AdvPreferredLifetime 2700; };
  RDNSS 2001:db8:1:1::1 { AdvRDNSSLifetime 1800; };
  DNSSL lan { AdvDNSSLLifetime 1800; };
};
CONF

run_one() { # $1 = ours|radvd ; appends ms (or "timeout") to $DIR/times_$1
  setup
  local t0 pid
  t0=$(now_ms)
  if [ "$1" = ours ]; then
    ip netns exec $R "$OURS" --interface lan0 --prefix 2001:db8:1:1::/64 --rdnss self --dnssl lan \
      --mtu 1492 --state-dir "$DIR/state" --log-level warn 2>/dev/null &
  else
    ip netns exec $R radvd -n -C "$DIR/radvd.conf" -p "$DIR/radvd.pid" -m stderr 2>/dev/null &
  fi
  pid=$!
  local ok=
  for _ in $(seq 1 3000); do configured && { ok=1; break; }; sleep 0.005; done
  local t1; t1=$(now_ms)
  if [ ! -e "$DIR/rss_$1" ]; then
    sleep 0.5
    # `ip netns exec` execs the daemon, so $pid is the daemon (radvd forks a
    # privilege-separated child: count every radvd process of this run).
    local pids=$pid
    [ "$1" = radvd ] && pids=$(pgrep -f "radvd -n -C $DIR/radvd.conf")
    for p in $pids; do awk '/VmRSS/ {print $2}' /proc/$p/status; done |
      awk '{s+=$1} END {print s}' > "$DIR/rss_$1"
  fi
  kill -TERM $pid 2>/dev/null; wait $pid 2>/dev/null
  rm -rf "$DIR/state"
  if [ -n "$ok" ]; then echo $((t1 - t0)) >> "$DIR/times_$1"; else echo timeout >> "$DIR/times_$1"; fi
}

median() { sort -n | awk '{a[NR]=$1} END {if (NR%2) print a[(NR+1)/2]; else print (a[NR/2]+a[NR/2+1])/2}'; }

for i in $(seq 1 "$RUNS"); do
  # Interleave so machine load affects both equally.
  run_one ours
  run_one radvd
done
echo "ours  (ms): $(paste -sd' ' "$DIR/times_ours")"
echo "radvd (ms): $(paste -sd' ' "$DIR/times_radvd")"
echo "median ours:  $(grep -v timeout "$DIR/times_ours" | median) ms"
echo "median radvd: $(grep -v timeout "$DIR/times_radvd" | median) ms"
echo "RSS ours:  $(cat "$DIR/rss_ours") kB (whole process, one LAN)"
echo "RSS radvd: $(cat "$DIR/rss_radvd") kB (all radvd processes)"

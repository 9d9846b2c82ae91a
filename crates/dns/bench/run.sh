#!/usr/bin/env bash
# DNS forwarder benchmark: ours (cpe-dns-lab, release build) vs dnsmasq vs
# Unbound as a forwarder, in one run, same namespaces, same upstream.
#
#   crates/dns/bench/run.sh [SECONDS]      (root; dnsperf, dnsmasq, unbound)
#   DNS_BIN=path/to/cpe-dns-lab crates/dns/bench/run.sh 10
#
# Topology (private namespaces, removed on exit):
#   bcli 10.53.0.100 --veth-- brtr 10.53.0.1 (ours) .2 (dnsmasq) .3 (unbound)
#                             brtr 10.53.1.2 --veth-- bisp 10.53.1.1 upstream
#                                                     bisp 10.53.1.9 slow upstream
# Upstream: Unbound authoritative for test. with a wildcard *.w.test A, so
# every name exists. Slow upstream: a small Python responder that answers
# every query after 0.5 s, to hold ~1000 queries outstanding.
#
# Measures per forwarder (CPU = utime+stime of the server process from
# /proc, so load from other processes on the machine does not count):
#   1. cached answers: dnsperf over 100 warmed names for SECONDS; qps and
#      server CPU microseconds per answered query.
#   2. cache-miss path at a fixed rate (-Q 1000, unique names): CPU us/query, loss.
#   3. 1000 outstanding: forwarders restarted with only the slow upstream
#      (0.5 s); unique names at 2000 qps, -q 2000; loss must be 0.
#   4. resident memory before and after caching 10,000 names; bytes/entry.
# Prints a Markdown table (paste into crates/dns/README.md).
set -euo pipefail
SECS=${1:-10}
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../../.." && pwd)
TARGET=${CARGO_TARGET_DIR:-$ROOT/target}
WORK=$(mktemp -d /tmp/dns-bench.XXXXXX)
NS="dnsb$$"
CLI=${NS}cli RTR=${NS}rtr ISP=${NS}isp
pids=()

cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  sleep 0.3
  for n in $CLI $RTR $ISP; do ip netns del "$n" 2>/dev/null || true; done
  rm -rf "$WORK"
}
trap cleanup EXIT

# DNS_BIN: a prebuilt cpe-dns-lab; otherwise the release build is made here.
if [ -n "${DNS_BIN:-}" ]; then
  OURS=$DNS_BIN
else
  (cd "$ROOT" && cargo build --release -q -p cpe-dns --bin cpe-dns-lab)
  OURS="$TARGET/release/cpe-dns-lab"
fi

for n in $CLI $RTR $ISP; do ip netns add "$n"; ip -n "$n" link set lo up; done
ip -n $CLI link add name c0 type veth peer name r0 netns $RTR
ip -n $RTR link add name r1 type veth peer name i0 netns $ISP
ip -n $CLI addr add 10.53.0.100/24 dev c0
for a in 1 2 3; do ip -n $RTR addr add 10.53.0.$a/24 dev r0; done
ip -n $RTR addr add 10.53.1.2/24 dev r1
ip -n $ISP addr add 10.53.1.1/24 dev i0
ip -n $ISP addr add 10.53.1.9/24 dev i0
for l in "$CLI c0" "$RTR r0" "$RTR r1" "$ISP i0"; do set -- $l; ip -n "$1" link set "$2" up; done

# Upstream: authoritative test. zone with a wildcard.
cat > "$WORK/test.zone" <<EOF
\$ORIGIN test.
\$TTL 3600
@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60
@ IN NS ns.test.
ns IN A 10.53.1.1
*.w IN A 192.0.2.1
EOF
cat > "$WORK/upstream.conf" <<EOF
server:
  interface: 10.53.1.1
  port: 53
  do-daemonize: no
  use-syslog: no
  logfile: ""
  chroot: ""
  username: ""
  directory: "$WORK"
  pidfile: "$WORK/upstream.pid"
  num-threads: 1
  module-config: "iterator"
  access-control: 0.0.0.0/0 allow
  local-zone: "test." nodefault
auth-zone:
  name: "test."
  zonefile: "$WORK/test.zone"
  for-downstream: yes
remote-control:
  control-enable: no
EOF
ip netns exec $ISP unbound -d -c "$WORK/upstream.conf" > "$WORK/upstream.log" 2>&1 &
pids+=($!)
ip netns exec $ISP python3 "$HERE/slow_upstream.py" 10.53.1.9 0.5 > "$WORK/slow.log" 2>&1 &
pids+=($!)

# Forwarders, each with a 10,000-entry cache and room for 2048 queries in
# flight; started with the given upstreams.
start_forwarders() {
  local a ours_up=() dm_up=() ub_up=""
  for a in "$@"; do
    ours_up+=(--upstream "$a"); dm_up+=(--server="$a"); ub_up+="  forward-addr: $a"$'\n'
  done
  ip netns exec $RTR "$OURS" --listen 10.53.0.1:53 "${ours_up[@]}" \
    --cache-size 10000 --log-level warn --status-file "$WORK/ours-status.json" >> "$WORK/ours.log" 2>&1 &
  OURS_PID=$!; pids+=($!)
  ip netns exec $RTR dnsmasq -k --no-resolv --no-hosts --bind-interfaces --listen-address=10.53.0.2 \
    --except-interface=lo "${dm_up[@]}" --cache-size=10000 --dns-forward-max=2048 \
    --pid-file="$WORK/dnsmasq.pid" --user=root --log-facility="$WORK/dnsmasq.log" &
  DNSMASQ_PID=$!; pids+=($!)
  cat > "$WORK/fwd.conf" <<EOF
server:
  interface: 10.53.0.3
  port: 53
  do-daemonize: no
  use-syslog: no
  logfile: ""
  chroot: ""
  username: ""
  directory: "$WORK"
  pidfile: "$WORK/fwd.pid"
  num-threads: 1
  module-config: "iterator"
  access-control: 0.0.0.0/0 allow
  do-not-query-localhost: no
  local-zone: "test." nodefault
  num-queries-per-thread: 2048
  outgoing-range: 4096
forward-zone:
  name: "."
$ub_up
EOF
  ip netns exec $RTR unbound -d -c "$WORK/fwd.conf" >> "$WORK/fwd.log" 2>&1 &
  UNBOUND_PID=$!; pids+=($!)
  sleep 1.5
}
stop_forwarders() {
  kill $OURS_PID $DNSMASQ_PID $UNBOUND_PID 2>/dev/null || true
  wait $OURS_PID $DNSMASQ_PID $UNBOUND_PID 2>/dev/null || true
}
server_of() {
  case $1 in
    ours) ip=10.53.0.1 pid=$OURS_PID ;;
    dnsmasq) ip=10.53.0.2 pid=$DNSMASQ_PID ;;
    unbound) ip=10.53.0.3 pid=$UNBOUND_PID ;;
  esac
}
start_forwarders 10.53.1.1

cpu_ticks() { awk '{print $14 + $15}' "/proc/$1/stat"; }
rss_kb() { awk '/VmRSS/ {print $2}' "/proc/$1/status"; }
TCK=$(getconf CLK_TCK)

# dnsperf wrapper: prints "completed lost qps"
perf() {
  local out
  out=$(ip netns exec $CLI dnsperf "$@" 2>&1)
  echo "$out" >> "$WORK/dnsperf.log"
  local done lost qps
  done=$(echo "$out" | awk '/Queries completed:/ {print $3}')
  lost=$(echo "$out" | awk '/Queries lost:/ {print $3}')
  qps=$(echo "$out" | awk '/Queries per second:/ {print $4}')
  echo "${done:-0} ${lost:-0} ${qps:-0}"
}

for i in $(seq 0 99); do echo "c$i.w.test A"; done > "$WORK/cached.txt"
declare -A RES
for who in ours dnsmasq unbound; do
  server_of $who
  # 1. cached
  perf -s $ip -d "$WORK/cached.txt" -l 2 > /dev/null
  t0=$(cpu_ticks $pid)
  read -r done lost qps < <(perf -s $ip -d "$WORK/cached.txt" -l "$SECS" -c 4 -q 200)
  t1=$(cpu_ticks $pid)
  RES[$who,cached_qps]=${qps%.*}
  RES[$who,cached_us]=$(awk -v t=$((t1 - t0)) -v n="$done" -v hz="$TCK" 'BEGIN {printf "%.2f", n ? t * 1e6 / hz / n : 0}')
  # 2. cache misses at 1000 qps, unique names
  for i in $(seq 1 $((SECS * 1000 + 2000))); do echo "m$i.$who.w.test A"; done > "$WORK/miss-$who.txt"
  t0=$(cpu_ticks $pid)
  read -r done lost qps < <(perf -s $ip -d "$WORK/miss-$who.txt" -l "$SECS" -Q 1000 -n 1)
  t1=$(cpu_ticks $pid)
  RES[$who,miss_us]=$(awk -v t=$((t1 - t0)) -v n="$done" -v hz="$TCK" 'BEGIN {printf "%.1f", n ? t * 1e6 / hz / n : 0}')
  RES[$who,miss_lost]=$lost
  # 4. memory for 10,000 cached names (before the slow test adds entries)
  r0=$(rss_kb $pid)
  for i in $(seq 1 10000); do echo "f$i.$who.w.test A"; done > "$WORK/fill-$who.txt"
  perf -s $ip -d "$WORK/fill-$who.txt" -n 1 -Q 5000 > /dev/null
  r1=$(rss_kb $pid)
  RES[$who,rss0]=$r0
  RES[$who,rss1]=$r1
  RES[$who,per_entry]=$(( (r1 - r0) * 1024 / 10000 ))
done

# 3. 1000 outstanding: restart the forwarders with the slow upstream only.
stop_forwarders
start_forwarders 10.53.1.9
for who in ours dnsmasq unbound; do
  server_of $who
  for i in $(seq 1 $((SECS * 2000 + 4000))); do echo "s$i.$who.slow A"; done > "$WORK/slow-$who.txt"
  read -r done lost qps < <(perf -s $ip -d "$WORK/slow-$who.txt" -l "$SECS" -Q 2000 -q 2000 -t 5 -n 1)
  RES[$who,slow_done]=$done
  RES[$who,slow_lost]=$lost
done

sleep 2.5
echo "ours after the outstanding test: $(python3 -c 'import json,sys; c=json.load(open(sys.argv[1]))["counters"]; print("servfail", c["servfail"], "upstream_queries", c["upstream_queries"], "drops", c["drops"])' "$WORK/ours-status.json")"

ratio() { awk -v a="$1" -v b="$2" 'BEGIN {printf "%.2f", b ? a / b : 0}'; }
echo
echo "| forwarder | cached qps | cached CPU us/query | miss CPU us/query (1000 qps) | miss lost | 1000 outstanding: answered / lost | RSS before -> after 10k names (KiB) | bytes/entry (RSS) |"
echo "|---|---|---|---|---|---|---|---|"
for who in ours dnsmasq unbound; do
  echo "| $who | ${RES[$who,cached_qps]} | ${RES[$who,cached_us]} | ${RES[$who,miss_us]} | ${RES[$who,miss_lost]} | ${RES[$who,slow_done]} / ${RES[$who,slow_lost]} | ${RES[$who,rss0]} -> ${RES[$who,rss1]} | ${RES[$who,per_entry]} |"
done
echo
echo "cached CPU per query, ours / dnsmasq: $(ratio "${RES[ours,cached_us]}" "${RES[dnsmasq,cached_us]}"); ours / unbound: $(ratio "${RES[ours,cached_us]}" "${RES[unbound,cached_us]}")"
echo "miss-path CPU per query, ours / dnsmasq: $(ratio "${RES[ours,miss_us]}" "${RES[dnsmasq,miss_us]}")"

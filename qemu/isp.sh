# Sourced by qemu/demo and qemu/flashtest: the emulated ISP of the system
# tests, in one place. isp_start RUN NS IFNAME writes the configs into RUN
# and starts, inside namespace NS on interface IFNAME: radvd (M=1 O=1,
# 2001:db8:ffff::/64, RDNSS 2001:db8:53::1), Kea DHCPv6 (rapid commit, /56s
# delegated from 2001:db8:1000::/40, leases in RUN/kea-leases.csv, NTP
# server 2001:db8:ffff::1 in option 56), chrony serving its clock there
# (local stratum 8; the caller puts 2001:db8:ffff::1 on IFNAME first) and
# Unbound serving zone test. on 2001:db8:53::1 and 198.51.100.1 (which the
# caller puts on NS's lo). The pids are appended to the caller's array
# `pids`; Kea's and Unbound's are also in isp_kea_pid and isp_unbound_pid,
# and isp_kea / isp_unbound start them again (same configs and leases), so
# a test can take a server away and bring it back. Kea's T1, T2, preferred
# and valid lifetimes are ISP_KEA_TIMERS (default "1000 2000 3000 4000";
# seconds). Addresses follow the namespace lab's plan (cpe_lab::plan).

isp_kea() {
    local RUN=$1 ISP=$2
    KEA_LOCKFILE_DIR=$RUN KEA_PIDFILE_DIR=$RUN \
        ip netns exec "$ISP" kea-dhcp6 -c "$RUN/kea.json" >> "$RUN/kea.out" 2>&1 &
    isp_kea_pid=$!; pids+=($!)
}

isp_unbound() {
    local RUN=$1 ISP=$2
    ip netns exec "$ISP" unbound -d -c "$RUN/unbound.conf" >> "$RUN/unbound.out" 2>&1 &
    isp_unbound_pid=$!; pids+=($!)
}

isp_start() {
    local RUN=$1 ISP=$2 IF=$3
    local t1 t2 pref valid
    read -r t1 t2 pref valid <<< "${ISP_KEA_TIMERS:-1000 2000 3000 4000}"
    cat > "$RUN/radvd.conf" <<EOF
interface $IF {
  AdvSendAdvert on;
  AdvManagedFlag on;
  AdvOtherConfigFlag on;
  MinRtrAdvInterval 3;
  MaxRtrAdvInterval 10;
  prefix 2001:db8:ffff::/64 { AdvOnLink on; AdvAutonomous on; };
  RDNSS 2001:db8:53::1 { };
};
EOF
    cat > "$RUN/kea.json" <<EOF
{ "Dhcp6": {
  "option-def": [
    { "name": "ntp-server", "code": 56, "space": "dhcp6", "type": "empty", "encapsulate": "ntp-server-suboptions" },
    { "name": "ntp-server-address", "code": 1, "space": "ntp-server-suboptions", "type": "ipv6-address" } ],
  "interfaces-config": { "interfaces": [ "$IF" ] },
  "lease-database": { "type": "memfile", "persist": true, "name": "$RUN/kea-leases.csv", "lfc-interval": 0 },
  "control-socket": { "socket-type": "unix", "socket-name": "$RUN/kea.sock" },
  "data-directory": "$RUN",
  "server-id": { "type": "LLT", "persist": false },
  "renew-timer": $t1, "rebind-timer": $t2, "preferred-lifetime": $pref, "valid-lifetime": $valid,
  "subnet6": [ {
    "id": 1, "subnet": "2001:db8:ffff::/64", "interface": "$IF", "rapid-commit": true,
    "pools": [ { "pool": "2001:db8:ffff::1000-2001:db8:ffff::1fff" } ],
    "pd-pools": [ { "prefix": "2001:db8:1000::", "prefix-len": 40, "delegated-len": 56 } ],
    "option-data": [ { "name": "dns-servers", "data": "2001:db8:53::1" },
                     { "name": "ntp-server" },
                     { "name": "ntp-server-address", "space": "ntp-server-suboptions", "data": "2001:db8:ffff::1" } ]
  } ],
  "loggers": [ { "name": "kea-dhcp6", "output_options": [ { "output": "$RUN/kea.log" } ], "severity": "INFO" } ]
} }
EOF
    cat > "$RUN/test.zone" <<'EOF'
$ORIGIN test.
$TTL 300
@ IN SOA ns.test. hostmaster.test. 1 3600 600 86400 60
@ IN NS ns.test.
ns IN AAAA 2001:db8:53::1
a IN AAAA 2001:db8:53::80
a IN A 198.51.100.80
EOF
    cat > "$RUN/unbound.conf" <<EOF
server:
  interface: 2001:db8:53::1
  interface: 198.51.100.1
  do-daemonize: no
  use-syslog: no
  logfile: "$RUN/unbound.log"
  chroot: ""
  username: ""
  directory: "$RUN"
  pidfile: "$RUN/unbound.pid"
  num-threads: 1
  module-config: "iterator"
  access-control: ::/0 allow
  access-control: 0.0.0.0/0 allow
  local-zone: "test." nodefault
auth-zone:
  name: "test."
  zonefile: "$RUN/test.zone"
  for-downstream: yes
  for-upstream: yes
remote-control:
  control-enable: no
EOF
    cat > "$RUN/chrony.conf" <<EOF
bindaddress 2001:db8:ffff::1
allow all
local stratum 8
cmdport 0
pidfile $RUN/chrony.pid
EOF
    export KEA_LOCKFILE_DIR=$RUN KEA_PIDFILE_DIR=$RUN
    : > "$RUN/kea.out"; : > "$RUN/unbound.out"
    ip netns exec "$ISP" radvd -n -m logfile -l "$RUN/radvd.log" -C "$RUN/radvd.conf" -p "$RUN/radvd.pid" & pids+=($!)
    isp_kea "$RUN" "$ISP"
    isp_unbound "$RUN" "$ISP"
    ip netns exec "$ISP" chronyd -d -x -u root -f "$RUN/chrony.conf" > "$RUN/chrony.out" 2>&1 & pids+=($!)
}

#!/usr/bin/env bash
# Installs the Debian packages vxflow needs: ClickHouse (storage) and the real peers the
# test suite and benchmarks run against. Idempotent, and quiet when everything is present.
set -euo pipefail

PACKAGES=(
  clickhouse-server clickhouse-client   # storage (18.16 on Debian 12)
  zookeeper                              # replicated tables of the cluster tests (test/helpers/cluster.ts)
  tshark tcpdump                         # reference decoder, live capture
  softflowd fprobe                       # exporters nobody here wrote
  nfdump pmacct                          # collectors nobody here wrote
  openvswitch-switch                     # userspace datapath with VXLAN and IPFIX
  iproute2 ethtool iperf3                # network namespaces, kernel VXLAN, offload switches
  iputils-ping                           # fixed-count pings through the OVS lab
  chromium                               # headless browser for UI tests
  gcc libc6-dev                          # the collector's recvmmsg add-on (bin/build.js), the benchmark's sendmmsg blaster
)

missing=()
for p in "${PACKAGES[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
  echo "vxflow: missing Debian packages: ${missing[*]}" >&2
  echo "vxflow: run as root, or: sudo apt-get install -y ${missing[*]}" >&2
  exit 1
fi

echo "vxflow: installing Debian packages: ${missing[*]}" >&2
# Keep package post-install scripts from starting system services (we start our own,
# on loopback, with project-local data).
created_policy=0
if [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  created_policy=1
fi
cleanup() { [ "$created_policy" = 1 ] && rm -f /usr/sbin/policy-rc.d; true; }
trap cleanup EXIT

export DEBIAN_FRONTEND=noninteractive
echo 'wireshark-common wireshark-common/install-setuid boolean false' | debconf-set-selections 2>/dev/null || true
apt-get update -qq >/dev/null
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "vxflow: Debian packages installed" >&2

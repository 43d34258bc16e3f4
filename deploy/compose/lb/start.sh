#!/bin/sh
# The UDP balancer of compose.yaml: deploy/nftables/vxflow-collectors.nft with this
# network's addresses (the balancer's own address as the VIP: the published ports 2055 and
# 4739 arrive here with the exporter's source address, which DNAT keeps), then wait.
set -eu
apk add --no-cache nftables >/dev/null
sed -e 's/^define VXFLOW_VIP = .*/define VXFLOW_VIP = 172.28.0.10/' \
    -e 's/^define VXFLOW_COLLECTOR_A = .*/define VXFLOW_COLLECTOR_A = 172.28.0.21/' \
    -e 's/^define VXFLOW_COLLECTOR_B = .*/define VXFLOW_COLLECTOR_B = 172.28.0.22/' \
    /etc/vxflow/vxflow-collectors.nft > /tmp/vxflow-collectors.nft
nft -f /tmp/vxflow-collectors.nft
echo "vxflow balancer: exporters hashed by source address over 172.28.0.21 and 172.28.0.22"
exec sleep infinity

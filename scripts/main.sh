#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine as root: installs what is missing, brings up the local lab (3 Debian 12
# systemd hosts in network namespaces; the image is built once, then cached) and deploys playbooks/site.ts to it,
# printing the recap and how to reach the cluster. Run it again to redeploy: the second deploy reports 0 changed.
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/install-deps.sh
haplay() { node bin/haplay.js "$@"; }

status_text=$(haplay lab status 2>/dev/null || true)
if grep -q '^lab "haplay": [1-9][0-9]*/[0-9]* nodes running' <<<"$status_text"; then
  echo "==> the lab is already up"
else
  haplay lab up --nodes "${HAPLAY_LAB_NODES:-3}"
fi
inventory=inventory/lab.ts   # the lab (labInventory) + the HA topology: keepalived, haproxy, galera, rabbitmq, swift, nova-network
echo "==> haplay deploy $inventory playbooks/site.ts"
status=0
haplay deploy "$inventory" playbooks/site.ts "$@" || status=$?
cat <<MSG

Reach the cluster:
  node bin/haplay.js lab ssh n1                     # a root shell on a node
  node bin/haplay.js run $inventory all -- uptime   # an ad-hoc command on every node
  curl http://198.18.0.100:8404/                    # HAProxy's stats page through the keepalived VIP
  node bin/haplay.js lab exec n1 -- mariadb -e "SHOW STATUS LIKE 'wsrep_cluster_size'"   # Galera
  node bin/haplay.js rolling $inventory haproxy --role keepalived,haproxy   # a rolling restart, VIP holder last
  node bin/haplay.js deploy $inventory              # deploy again (0 changed)
  node bin/haplay.js lab down                       # tear the lab down
MSG
exit "$status"

#!/usr/bin/env bash
# The main job on a fresh Debian 12 machine as root: installs what is missing, brings up the local lab (3 Debian 12
# systemd hosts in network namespaces; the image is built once, then cached) and deploys playbooks/site.ts to it,
# printing the recap and how to reach the cluster. Run it again to redeploy: the second deploy reports 0 changed.
#   bash scripts/main.sh [fuel|redhat] [deploy options...]
#     fuel    (default) inventory/lab.ts: keepalived + HAProxy, Galera, clustered RabbitMQ, Swift, nova-network
#     redhat  inventory/lab-redhat.ts: Pacemaker VIPs + HAProxy clone, MySQL master/slave + writer VIP, independent brokers
# One lab holds one topology: the lab records which one it got, and a lab deployed with the other is refused (exit 2).
set -euo pipefail
cd "$(dirname "$0")/.."
topology=fuel
case "${1:-}" in
  fuel | redhat) topology=$1; shift ;;
  -* | '') ;; # deploy options only
  *) echo "main.sh: unknown topology \"$1\" (fuel or redhat)" >&2; exit 2 ;;
esac
case $topology in
  fuel) inventory=inventory/lab.ts ;;
  redhat) inventory=inventory/lab-redhat.ts ;;
esac
bash scripts/install-deps.sh
haplay() { node bin/haplay.js "$@"; }

status_text=$(haplay lab status 2>/dev/null || true)
if grep -q '^lab "haplay": [1-9][0-9]*/[0-9]* nodes running' <<<"$status_text"; then
  echo "==> the lab is already up"
else
  haplay lab up --nodes "${HAPLAY_LAB_NODES:-3}"
  fresh=1
fi
# Which topology the lab got: a marker in its state directory (removed by `lab down`). A lab without one was brought
# up before main.sh recorded it (so with the Fuel-style job) or by hand.
marker="$(dirname "$(haplay lab inventory)")/main-topology"
[[ -z ${fresh:-} ]] || echo "$topology" >"$marker"
deployed=$(cat "$marker" 2>/dev/null || echo unrecorded)
if [[ $deployed != "$topology" && ! ($deployed == unrecorded && $topology == fuel) ]]; then
  if [[ $deployed == unrecorded ]]; then
    echo "main.sh: the running lab has no record of its topology (it may run the Fuel-style job)." >&2
  else
    echo "main.sh: the lab runs the $deployed topology; two topologies cannot share its nodes (VIPs, port 3306, HAProxy)." >&2
  fi
  echo "  tear it down first: node bin/haplay.js lab down   then: bash scripts/main.sh $topology" >&2
  exit 2
fi
echo "$topology" >"$marker"
echo "==> haplay deploy $inventory playbooks/site.ts"
status=0
haplay deploy "$inventory" playbooks/site.ts "$@" || status=$?
if [[ $topology == fuel ]]; then
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
else
  cat <<MSG

Reach the cluster:
  node bin/haplay.js lab ssh n1                     # a root shell on a node
  node bin/haplay.js lab exec n1 -- crm_mon -1      # Pacemaker: the VIPs, haproxy-clone, the promoted MySQL, the brokers
  curl http://198.18.0.100:8404/                    # HAProxy's stats page through a Pacemaker VIP
  node bin/haplay.js lab exec n1,n2,n3 -- "mariadb -N -e 'SELECT @@read_only'"   # MySQL: 0 on the promoted node only
  node bin/haplay.js lab ssh n2                     # then: mariadb -h 198.18.0.101 -u haplay -p   (the writer VIP;
                                                    #   password: /var/lib/haplay/lab/haplay/secrets/db-haplay here)
  node bin/haplay.js lab exec n1 -- "echo 'show stat' | socat stdio unix-connect:/run/haproxy/admin.sock | cut -d, -f1,2,18"
                                                    # HAProxy: the brokers behind the AMQP VIP 198.18.0.102:5672
  node bin/haplay.js rolling $inventory pacemaker --role pacemaker   # a rolling restart of the cluster, VIP holders last
  node bin/haplay.js deploy $inventory      # deploy again (0 changed)
  node bin/haplay.js lab down                       # tear the lab down
MSG
fi
exit "$status"

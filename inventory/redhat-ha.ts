// Example inventory: the Red Hat / RDO HA reference architecture (osp-ha-deploy "collapsed"): three controllers in a
// Pacemaker cluster; VIPs are Pacemaker IPaddr2 resources and HAProxy runs as a `systemd:haproxy` clone, so the
// haproxy role renders and validates the config but leaves the systemd unit to Pacemaker (haproxyManageService:
// false). Galera is a single writer behind the DB VIP; Qpid runs as independent brokers behind `stick on dst`.
// Addresses are in the lab's 198.18.0.0/24: `haplay lab up --nodes 4` gives these hosts.
import { defineInventory } from 'haplay';

const VIP = { lb: '198.18.0.100', db: '198.18.0.101', qpid: '198.18.0.102', keystone: '198.18.0.103', horizon: '198.18.0.104' };

export default defineInventory({
  groups: {
    controllers: {
      hosts: {
        rhos1: { address: '198.18.0.11' },
        rhos2: { address: '198.18.0.12' },
        rhos3: { address: '198.18.0.13' },
      },
      vars: {
        // Read by the pacemaker role (issue 6, not written yet): one IPaddr2 resource per VIP, ordered before and
        // colocated with the haproxy clone.
        pacemakerClusterName: 'rhos',
        pacemakerVips: VIP,
        haproxyManageService: false,
        haproxyBackends: 'controllers',
        haproxyCheckOptions: 'check inter 1s',
        haproxyServices: [
          { name: 'keystone-public', kind: 'api', bind: [VIP.keystone], port: 5000, httpCheck: 'GET /v3' },
          { name: 'keystone-admin', kind: 'api', bind: [VIP.keystone], port: 35357, httpCheck: 'GET /v3' },
          { name: 'glance-api', kind: 'api', bind: [VIP.lb], port: 9292 },
          { name: 'nova-api', kind: 'api', bind: [VIP.lb], port: 8774 },
          { name: 'horizon', kind: 'horizon', bind: [VIP.horizon], port: 80 },
          { name: 'galera', kind: 'galera', bind: [VIP.db], port: 3306, checkPort: 9200 },
          { name: 'qpid', kind: 'amqp', bind: [VIP.qpid], port: 5672 },
        ],
      },
    },
    computes: { hosts: { rhos4: { address: '198.18.0.14' } } },
  },
});

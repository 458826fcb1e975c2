// Example inventory: the Red Hat / RDO HA reference architecture (osp-ha-deploy "collapsed"): three controllers in a
// Pacemaker cluster; VIPs are Pacemaker IPaddr2 resources and HAProxy runs as a `systemd:haproxy` clone, so the
// haproxy role renders and validates the config but leaves the systemd unit to Pacemaker (haproxyManageService:
// false). MySQL master/slave: Pacemaker promotes one instance and moves the DB VIP with it; Qpid runs as independent
// brokers behind `stick on dst`.
// Written for RHEL-family hosts (qpidd, eth0, BMCs); addresses in 198.18.0.0/24. The same topology on the local lab's
// Debian 12 nodes (RabbitMQ brokers, no BMCs) is inventory/lab-redhat.ts (`bash scripts/main.sh redhat`).
// Fencing: one fence_ipmilan device per controller (BMCs on 198.18.1.0/24, the lab's out-of-band range), the IPMI
// password a secret (a 0400 file on the nodes, read through password_script; never on a command line).
import { defineInventory, secret } from 'haplay';

const VIP = { lb: '198.18.0.100', qpid: '198.18.0.102', keystone: '198.18.0.103', horizon: '198.18.0.104' };
// The database writer VIP is not an HAProxy VIP: Pacemaker keeps it on the promoted MySQL instance.
const DB_VIP = '198.18.0.101';
const CONTROLLERS = ['rhos1', 'rhos2', 'rhos3'];

export default defineInventory({
  groups: {
    controllers: {
      hosts: {
        rhos1: { address: '198.18.0.11' },
        rhos2: { address: '198.18.0.12' },
        rhos3: { address: '198.18.0.13' },
      },
      vars: {
        // One IPaddr2 resource per VIP, each ordered before and colocated with the haproxy clone.
        pacemakerClusterName: 'rhos',
        pacemakerVips: Object.entries(VIP).map(([name, ip]) => ({ name: `vip-${name}`, ip, cidrNetmask: 24, nic: 'eth0' })),
        pacemakerHaproxyClone: true,
        // MySQL master/slave: a Pacemaker promotable clone, the writer VIP following the promoted instance.
        mysqlReplPassword: secret(process.env['HAPLAY_DB_REPL_PASS'] ?? 'changeme'),
        mysqlReplVip: { name: 'vip-db', ip: DB_VIP, cidrNetmask: 24, nic: 'eth0' },
        // mysqld on every address: the writer VIP reaches the promoted server wherever Pacemaker puts it, and
        // replication uses the node addresses. (A node address only — mysqlReplBindAddress: '' — refuses every
        // connection to the writer VIP.) So no other process may listen on port 3306 here: HAProxy binds only the
        // VIP:port pairs below, none on 3306 (test/roles/inventories.test.ts checks this).
        mysqlReplBindAddress: '0.0.0.0',
        // Three independent brokers behind VIP:5672 (stick on dst): qpidd on RHEL; Debian 12 has no Qpid broker, so a
        // Debian deployment sets qpidBroker: 'rabbitmq' (standalone RabbitMQ brokers, as inventory/lab-redhat.ts).
        qpidBroker: 'qpid',
        qpidPassword: secret(process.env['HAPLAY_AMQP_PASS'] ?? 'changeme'),
        qpidPacemakerClone: true,
        // Rolling restarts drain a broker from HAProxy's listener, named `qpid` here (the role's default is `amqp`).
        qpidHaproxy: { hosts: 'haproxy', backends: ['qpid'] },
        pacemakerFencing: CONTROLLERS.map((node, i) => ({
          name: `fence-${node}`,
          node,
          agent: 'fence_ipmilan' as const,
          ip: `198.18.1.${11 + i}`,
          username: 'admin',
          password: secret(process.env['HAPLAY_IPMI_PASS'] ?? 'changeme'),
          options: { lanplus: '1' },
        })),
        haproxyManageService: false,
        haproxyBackends: 'controllers',
        haproxyCheckOptions: 'check inter 1s',
        haproxyServices: [
          { name: 'keystone-public', kind: 'api', bind: [VIP.keystone], port: 5000, httpCheck: 'GET /v3' },
          { name: 'keystone-admin', kind: 'api', bind: [VIP.keystone], port: 35357, httpCheck: 'GET /v3' },
          { name: 'glance-api', kind: 'api', bind: [VIP.lb], port: 9292 },
          { name: 'nova-api', kind: 'api', bind: [VIP.lb], port: 8774 },
          { name: 'horizon', kind: 'horizon', bind: [VIP.horizon], port: 80 },
          { name: 'qpid', kind: 'amqp', bind: [VIP.qpid], port: 5672, backendPort: 15672 },
        ],
      },
    },
    computes: { hosts: { rhos4: { address: '198.18.0.14' } } },
    // Role groups: playbooks/site.ts runs each role on its group, so these choose the topology.
    haproxy: { children: ['controllers'] },
    pacemaker: { children: ['controllers'] },
    mysql: { children: ['controllers'] },
    amqp: { children: ['controllers'] },
  },
});

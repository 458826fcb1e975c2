// The Red Hat topology on the local lab (`bash scripts/main.sh redhat`), the second main job: inventory/redhat-ha.ts
// (osp-ha-deploy "collapsed") on the lab's three Debian 12 controllers —
//   - a corosync/Pacemaker cluster owning the VIPs (IPaddr2): 198.18.0.100 (HAProxy's stats page) and 198.18.0.102
//     (AMQP), each colocated with and ordered before the `haproxy-clone` (HAProxy as a Pacemaker clone:
//     haproxyManageService: false, the role only writes and validates haproxy.cfg);
//   - MySQL master/slave: Pacemaker's ocf:heartbeat:mariadb promotable clone (GTID, semi-sync), the writer VIP
//     198.18.0.101 following the promoted instance;
//   - three independent brokers behind the AMQP VIP (`stick on dst`: every client on one broker). Debian 12 packages
//     no qpidd, so they are standalone RabbitMQ brokers (qpidBroker: 'rabbitmq'), run by Pacemaker as a clone.
// Nodes, groups, key and known_hosts come from the running lab (labInventory(): lab `$HAPLAY_LAB`, default `haplay`);
// every password is random per lab (labSecret(), never printed).
//   haplay lab up && haplay deploy inventory/lab-redhat.ts playbooks/site.ts
import { defineInventory, labInventory, labSecret, type InventorySpec, type Secret } from 'haplay';

/** VIPs of the topology (the same addresses as inventory/redhat-ha.ts). */
export const REDHAT_LAB_VIP = { lb: '198.18.0.100', db: '198.18.0.101', amqp: '198.18.0.102' } as const;
/** Lab nodes' interface (the node side of their veth pair). */
const NIC = 'host0';
/** Brokers' AMQP port on each node's address, behind HAProxy's VIP:5672 (RabbitMQ's management plugin stays off). */
const BROKER_PORT = 15672;

/**
 * The topology on a lab's inventory spec. Exported (and the default export a function) so that
 * test/roles/inventories.test.ts can plan it without a running lab, with stand-in secrets.
 * @param lab - a lab's inventory spec (labInventory()).
 * @param secretOf - labSecret, or a stand-in in tests.
 */
export function redhatLabInventory(lab: InventorySpec, secretOf: (key: string, options?: { length?: number }) => Secret): InventorySpec {
  const vip = (name: string, ip: string) => ({ name, ip, cidrNetmask: 24, nic: NIC });
  return defineInventory({
    ...lab,
    groups: {
      ...lab.groups,
      // Role groups: playbooks/site.ts runs each role on its group, so these choose the topology.
      haproxy: { children: ['controllers'] },
      pacemaker: { children: ['controllers'] },
      mysql: { children: ['controllers'] },
      amqp: { children: ['controllers'] },
    },
    vars: {
      ...lab.vars,
      pacemakerClusterName: 'rhos',
      // Per lab (removed by `lab down`), not a controller-wide file: a fresh lab gets a fresh cluster key.
      pacemakerAuthkey: secretOf('corosync-authkey', { length: 256 }),
      // Fencing: the lab has no BMC or power switch a node could reach (nodes are containers on this machine), so no
      // fence agent here can really power a node off. A fence_dummy device would report "fenced" for a node that may
      // still run (a partition): worse than none. So fencing is off (the deploy prints a NOTICE task), and the lab
      // relies on quorum instead: with 3 nodes no-quorum-policy=stop stops every resource of an isolated node,
      // including its MySQL instance. Production: inventory/redhat-ha.ts (fence_ipmilan per controller).
      pacemakerStonith: false,
      pacemakerVips: [vip('vip-lb', REDHAT_LAB_VIP.lb), vip('vip-amqp', REDHAT_LAB_VIP.amqp)],
      pacemakerHaproxyClone: true,
      haproxyManageService: false,
      haproxyBackends: 'controllers',
      // A dead broker is marked down after 2 failed 1 s checks; a connect to it costs 2 s before redispatch.
      haproxyCheckOptions: 'check inter 1s rise 2 fall 2',
      haproxyTimeoutConnect: '2s',
      haproxyStats: { bind: REDHAT_LAB_VIP.lb, port: 8404 },
      // HAProxy binds only VIP:port pairs it serves, and none on mysqlReplPort (see mysqlReplBindAddress).
      haproxyServices: [{ name: 'amqp', kind: 'amqp', bind: [REDHAT_LAB_VIP.amqp], port: 5672, backendPort: BROKER_PORT }],
      mysqlReplPassword: secretOf('db-repl'),
      mysqlReplVip: vip('vip-db', REDHAT_LAB_VIP.db),
      // mysqld on every address (0.0.0.0): the writer VIP reaches the promoted server wherever Pacemaker puts it,
      // replication and the agent use the node addresses, and nothing depends on a VIP being present when mysqld
      // starts (unlike binding the VIP itself with ip_nonlocal_bind, which would also cut the replicas off the
      // node addresses). The price: no other process may listen on port 3306 of these hosts — HAProxy has no
      // listener there (test/roles/inventories.test.ts checks it for every inventory with a mysql group).
      mysqlReplBindAddress: '0.0.0.0',
      mysqlReplUsers: [{ name: 'haplay', host: '%', password: secretOf('db-haplay'), privileges: ['ALL PRIVILEGES ON haplay.*'] }],
      qpidBroker: 'rabbitmq', // Debian 12 has no qpidd: standalone RabbitMQ brokers, the same topology
      qpidMode: 'independent',
      qpidPort: BROKER_PORT,
      qpidVhost: 'openstack',
      qpidPassword: secretOf('amqp-openstack'),
      qpidPacemakerClone: true,
      qpidPacemakerResource: 'rabbitmq',
    },
  });
}

export default (): InventorySpec => redhatLabInventory(labInventory(), labSecret);

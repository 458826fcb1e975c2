// The main job's topology on the local lab (`bash scripts/main.sh`): the Fuel keepalived era on the lab's three
// controllers — keepalived holding the public VIP 198.18.0.100 (unicast VRRP, tracking haproxy), HAProxy in front
// (stats page, the Galera single-writer listener VIP:3306, RabbitMQ on VIP:5672, Swift's proxies on VIP:8080), a
// 3-node Galera cluster, a 3-node RabbitMQ cluster (mirrored queues, pause_minority; brokers on :5673), Swift (rings built once, storage on the controllers with directory devices, tempauth) and nova-network multi-host
// networking on the compute (Debian 12 has no nova-network packages: the rest is applied and verified). Nodes,
// groups, keys and known_hosts come from the running lab (labInventory(): lab `$HAPLAY_LAB`, default `haplay`);
// passwords are random per lab (labSecret(), never printed).
//   haplay lab up && haplay deploy inventory/lab.ts playbooks/site.ts
import { defineInventory, labInventory, labSecret } from 'haplay';
import { unicastVrrp } from '../roles/keepalived/index.js';
import { galeraHaproxyService } from '../roles/galera/index.js';

const lab = labInventory();
const VIP = '198.18.0.100';

export default defineInventory({
  ...lab,
  groups: {
    ...lab.groups,
    // Role groups: playbooks/site.ts runs each role on its group.
    haproxy: { children: ['controllers'] },
    keepalived: { children: ['controllers'] },
    galera: { children: ['controllers'] },
    amqp: { children: ['controllers'] },
    swift_proxy: { children: ['controllers'] },
    swift_storage: { children: ['storage'] },
    nova_network: { children: ['controllers', 'computes'] },
  },
  vars: {
    ...lab.vars,
    keepalivedInstances: [
      unicastVrrp({ name: 'VI_PUBLIC', virtualRouterId: 51, vip: `${VIP}/24`, authPass: labSecret('vrrp', { length: 8 }) }),
    ],
    haproxyBackends: 'controllers',
    haproxyStats: { bind: VIP, port: 8404 },
    haproxyServices: [
      galeraHaproxyService({ bind: [VIP], nodes: 'galera' }),
      { name: 'rabbitmq', kind: 'tcp', bind: [VIP], port: 5672, backendPort: 5673, timeout: '48h' },
      { name: 'swift_proxy', kind: 'api', bind: [VIP], port: 8080, backendPort: 8080, httpCheck: 'GET /healthcheck' },
    ],
    galeraClusterName: 'lab',
    galeraUsers: [{ name: 'haplay', host: '%', password: labSecret('db-haplay'), privileges: ['ALL PRIVILEGES ON haplay.*'] }],
    qpidBroker: 'rabbitmq', // Debian 12 has no Qpid broker
    qpidMode: 'clustered',
    qpidPort: 5673,
    qpidVhost: 'openstack',
    qpidPassword: labSecret('amqp-openstack'),
    qpidErlangCookie: labSecret('erlang-cookie', { length: 32 }),
    swiftProxies: 'swift_proxy',
    swiftStorage: 'swift_storage',
    swiftMountCheck: false, // directory devices: no loop devices in the nspawn nodes
    swiftHashPathSuffix: labSecret('swift-hash-suffix'),
    swiftHashPathPrefix: labSecret('swift-hash-prefix'),
    swiftAuth: { type: 'tempauth', users: [{ account: 'admin', user: 'admin', password: labSecret('swift-admin'), roles: ['.admin'] }] },
    novaNetworkFixedRange: '198.18.8.0/24', // inside 198.18.0.0/15, outside the nodes' /24
    novaNetworkInstallPackages: false, // Debian 12 has no nova-network
  },
});

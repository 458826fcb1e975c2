// Example inventory: the Mirantis Fuel HA reference architecture of the keepalived era (2013, controller_ha.pp):
// three controllers running keepalived (public and management VIPs) + HAProxy in front of the OpenStack APIs, Horizon,
// Galera (single writer, backends on 3307 behind VIP:3306) and RabbitMQ (5673 behind VIP:5672); two computes.
// Addresses are in the lab's 198.18.0.0/24 (RFC 2544 benchmarking space): `haplay lab up --nodes 5` gives these hosts.
import { defineInventory, secret } from 'haplay';
import { unicastVrrp } from '../roles/keepalived/index.js';

const VIP_PUBLIC = '198.18.0.100';
const VIP_MGMT = '198.18.0.101';
const both = [VIP_PUBLIC, VIP_MGMT];

export default defineInventory({
  // nova-network multi-host: the fixed range inside 198.18.0.0/15, outside the nodes' /24.
  vars: { ntp: '198.18.0.1', novaNetworkFixedRange: '198.18.8.0/24', novaNetworkComputes: 'computes' },
  groups: {
    controllers: {
      hosts: {
        c1: { address: '198.18.0.11' },
        c2: { address: '198.18.0.12' },
        c3: { address: '198.18.0.13' },
      },
      vars: {
        keepalivedInstances: [
          unicastVrrp({ name: 'VI_PUBLIC', virtualRouterId: 51, vip: `${VIP_PUBLIC}/24`, authPass: secret(process.env['HAPLAY_VRRP_PASS'] ?? 'changeme') }),
          unicastVrrp({ name: 'VI_MGMT', virtualRouterId: 52, vip: `${VIP_MGMT}/24`, authPass: secret(process.env['HAPLAY_VRRP_PASS'] ?? 'changeme') }),
        ],
        haproxyBackends: 'controllers',
        // Galera behind the single-writer mysqld listener (backends on 3307, VIP:3306), users as secrets.
        galeraClusterName: 'fuel',
        // RabbitMQ clustered (Fuel): mirrored queues, pause_minority, behind the rabbitmq tcp listener (5673).
        qpidBroker: 'rabbitmq',
        qpidMode: 'clustered',
        qpidPort: 5673,
        qpidVhost: 'openstack',
        qpidPassword: secret(process.env['HAPLAY_AMQP_PASS'] ?? 'changeme'),
        galeraPort: 3307,
        // `haplay rolling --role galera`: each node out of the mysqld listener (maint + shutdown-sessions) first.
        galeraHaproxy: { hosts: 'haproxy', backends: ['mysqld'] },
        galeraUsers: [{ name: 'nova', host: '%', password: secret(process.env['HAPLAY_DB_NOVA_PASS'] ?? 'changeme'), privileges: ['ALL PRIVILEGES ON nova.*'] }],
        // Swift: proxies on the controllers behind HAProxy, storage on the controllers (Fuel), keystone auth.
        swiftProxies: 'swift_proxy',
        swiftStorage: 'swift_storage',
        swiftHaproxy: { hosts: 'haproxy', backends: ['swift-proxy'] }, // its listener below
        swiftDevices: [{ name: 'sdb', weight: 100, blockDevice: '/dev/sdb' }],
        swiftHashPathSuffix: secret(process.env['HAPLAY_SWIFT_SUFFIX'] ?? 'changeme-suffix'),
        swiftHashPathPrefix: secret(process.env['HAPLAY_SWIFT_PREFIX'] ?? 'changeme-prefix'),
        swiftAuth: {
          type: 'keystone',
          authUrl: `http://${VIP_MGMT}:35357`,
          wwwAuthenticateUri: `http://${VIP_PUBLIC}:5000`,
          project: 'service',
          username: 'swift',
          password: secret(process.env['HAPLAY_SWIFT_PASS'] ?? 'changeme'),
          region: 'RegionOne',
          operatorRoles: ['admin', 'member'],
        },
        haproxyServices: [
          { name: 'keystone-public', kind: 'api', bind: both, port: 5000, httpCheck: 'GET /v3' },
          { name: 'keystone-admin', kind: 'api', bind: [VIP_MGMT], port: 35357, httpCheck: 'GET /v3' },
          { name: 'nova-api', kind: 'api', bind: both, port: 8774 },
          { name: 'glance-api', kind: 'api', bind: both, port: 9292, httpCheck: 'GET /healthcheck' },
          { name: 'glance-registry', kind: 'api', bind: [VIP_MGMT], port: 9191 },
          { name: 'cinder-api', kind: 'api', bind: both, port: 8776 },
          { name: 'horizon', kind: 'horizon', bind: [VIP_PUBLIC], port: 80 },
          { name: 'mysqld', kind: 'galera', bind: [VIP_MGMT], port: 3306, backendPort: 3307, checkPort: 9200 },
          { name: 'rabbitmq', kind: 'tcp', bind: [VIP_MGMT], port: 5672, backendPort: 5673, timeout: '48h' },
          { name: 'swift-proxy', kind: 'api', bind: both, port: 8080, httpCheck: 'GET /healthcheck' },
        ],
      },
    },
    computes: {
      hosts: {
        n4: { address: '198.18.0.14' },
        n5: { address: '198.18.0.15' },
      },
    },
    openstack: { children: ['controllers', 'computes'] },
    // Role groups: playbooks/site.ts runs each role on its group, so these choose the topology.
    haproxy: { children: ['controllers'] },
    keepalived: { children: ['controllers'] },
    galera: { children: ['controllers'] },
    amqp: { children: ['controllers'] },
    swift_proxy: { children: ['controllers'] },
    swift_storage: { children: ['controllers'] },
    nova_network: { children: ['controllers', 'computes'] },
  },
});

// The whole stack in start order (reference ha-roles.md §2): every host finishes a phase before the next starts.
// Phases select hosts by role group, as an Ansible site.yml does; the inventory decides the topology by which groups
// it defines (inventory/fuel-ha.ts: keepalived + haproxy + galera + clustered RabbitMQ + swift + nova-network;
// inventory/redhat-ha.ts: pacemaker + haproxy + MySQL master/slave + independent brokers; inventory/lab.ts and
// inventory/lab-redhat.ts: the two main jobs on the lab). A phase whose group the inventory does not define is
// skipped and says so (`optional`).
//
//   baseline      all hosts: packages, sysctls, time (role baseline)
//   loadbalancer  group haproxy: config validated and in place before anything tracks or clones it (with
//                 Pacemaker, haproxyManageService: false leaves the unit to the cluster); reloads rolled
//   vip           group keepalived: VRRP VIPs, tracking haproxy (Fuel: keepalived requires haproxy); reloads rolled
//   cluster       group pacemaker: corosync/pacemaker, fencing, IPaddr2 VIPs ordered before the haproxy clone
//   galera        group galera: prepare + report, bootstrap or recover, join one node at a time (Synced gate)
//   mysql-…       group mysql: master/slave under Pacemaker (needs the cluster phase)
//   messaging     group amqp: brokers (qpid, or RabbitMQ independent/clustered)
//   swift         groups swift_storage (rings built on one host) then swift_proxy + swift_storage
//   nova-network  group nova_network: multi-host networking on computes, controller-side settings
import { definePlaybook, type PhaseDef } from 'haplay';
import { galeraPhases } from '../roles/galera/index.js';
import { mysqlReplicationPhases } from '../roles/mysql-replication/index.js';

// Phases built by a role's helper, made optional (topologies without the group skip them) and run as root.
const optional = (phases: PhaseDef[]): PhaseDef[] => phases.map((p) => ({ ...p, optional: true, become: true }));

export default definePlaybook({
  name: 'site',
  phases: [
    { name: 'baseline', hosts: 'all', roles: ['baseline'], become: true, gatherFacts: true },
    // Config reloads rolled node by node (docs/rolling.md "In a playbook"): gated, the VIP holder last.
    { name: 'loadbalancer', hosts: 'haproxy', optional: true, roles: ['haproxy'], become: true, rolling: { role: 'haproxy' } },
    { name: 'vip', hosts: 'keepalived', optional: true, roles: ['keepalived'], become: true, rolling: { role: 'keepalived' } },
    { name: 'cluster', hosts: 'pacemaker', optional: true, roles: ['pacemaker'], become: true },
    ...optional(galeraPhases({ hosts: 'galera' })),
    ...optional(mysqlReplicationPhases({ hosts: 'mysql', vars: {} })),
    // Config changes restart the brokers one at a time through role qpid's rolling contract (gated, out of HAProxy).
    { name: 'messaging', hosts: 'amqp', optional: true, roles: [{ role: 'qpid', vars: { qpidNodes: 'amqp' } }], become: true, rolling: { role: 'qpid' } },
    { name: 'swift rings', hosts: 'swift_storage', optional: true, roles: [{ role: 'swift', vars: { swiftStep: 'rings' } }], become: true },
    // Config changes reach the servers node by node (seamless reloads, proxies out of HAProxy, recon-gated).
    { name: 'swift', hosts: 'swift_proxy:swift_storage', optional: true, roles: [{ role: 'swift', vars: { swiftStep: 'nodes' } }], become: true, rolling: { role: 'swift' } },
    // nova-api / nova-network / dnsmasq restarts one node at a time, each gated (the role's rolling contract).
    { name: 'nova-network', hosts: 'nova_network', optional: true, roles: ['nova-network-multihost'], become: true, rolling: { role: 'nova-network-multihost' } },
  ],
});

// The whole stack in start order (reference ha-roles.md §2): every host finishes a phase before the next starts.
// Phases select hosts by role group, as an Ansible site.yml does; the inventory decides the topology by which groups
// it defines (inventory/fuel-ha.ts: keepalived + haproxy; inventory/redhat-ha.ts: pacemaker + haproxy). A phase
// whose group the inventory does not define is skipped and says so (`optional`).
//
//   baseline      all hosts: packages, sysctls, time (role baseline)
//   loadbalancer  group haproxy: config validated and in place before anything tracks or clones it (with
//                 Pacemaker, haproxyManageService: false leaves the unit to the cluster)
//   vip           group keepalived: VRRP VIPs, tracking haproxy (Fuel: keepalived requires haproxy)
//   cluster       group pacemaker: corosync/pacemaker, fencing, IPaddr2 VIPs ordered before the haproxy clone
import { definePlaybook } from 'haplay';

export default definePlaybook({
  name: 'site',
  phases: [
    { name: 'baseline', hosts: 'all', roles: ['baseline'], become: true, gatherFacts: true },
    { name: 'loadbalancer', hosts: 'haproxy', optional: true, roles: ['haproxy'], become: true },
    { name: 'vip', hosts: 'keepalived', optional: true, roles: ['keepalived'], become: true },
    { name: 'cluster', hosts: 'pacemaker', optional: true, roles: ['pacemaker'], become: true },
  ],
});

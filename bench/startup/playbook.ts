// Start-up benchmark playbook (bench/startup/run.mjs): the roles of playbooks/site.ts whose phases run no read-only
// guard before connecting, so a deploy against the closed loopback port stops at the first connection.
import { definePlaybook } from 'haplay';

export default definePlaybook({
  name: 'startup',
  phases: [
    { name: 'baseline', hosts: 'all', roles: ['baseline'], become: true },
    { name: 'loadbalancer', hosts: 'haproxy', optional: true, roles: ['haproxy'], become: true },
    { name: 'vip', hosts: 'keepalived', optional: true, roles: ['keepalived'], become: true },
    { name: 'messaging', hosts: 'amqp', optional: true, roles: [{ role: 'qpid', vars: { qpidNodes: 'amqp' } }], become: true },
    { name: 'nova-network', hosts: 'nova_network', optional: true, roles: ['nova-network-multihost'], become: true },
  ],
});

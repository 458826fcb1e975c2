// The whole stack in start order. Today: the host baseline; the HA roles join as phases (cluster, VIPs, load
// balancer, database, messaging, storage, compute), each finishing on every host before the next starts.
import { definePlaybook } from 'haplay';

export default definePlaybook({
  name: 'site',
  phases: [
    { name: 'baseline', hosts: 'all', roles: ['baseline'], become: true, gatherFacts: true },
  ],
});

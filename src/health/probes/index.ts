// The built-in health checks of haplay's roles, by role name. A role declares its own with `RoleDef.health`
// (which wins); `haplay health` also runs every gate of the role's rolling contract (RoleDef.rolling). docs/health.md.
import type { HealthContract } from '../../contract/health.js';
import { galeraHealth } from './galera.js';
import { haproxyHealth } from './haproxy.js';
import { keepalivedHealth } from './keepalived.js';
import { mysqlReplicationHealth } from './mysql-replication.js';
import { novaNetworkHealth } from './nova-network.js';
import { pacemakerHealth } from './pacemaker.js';
import { qpidHealth } from './qpid.js';
import { swiftHealth } from './swift.js';

// Each contract reads its role's validated variables; the casts only widen the variable type.
export const BUILTIN_HEALTH: Record<string, HealthContract<any>> = {
  galera: galeraHealth,
  haproxy: haproxyHealth,
  keepalived: keepalivedHealth,
  pacemaker: pacemakerHealth,
  'mysql-replication': mysqlReplicationHealth,
  qpid: qpidHealth,
  swift: swiftHealth,
  'nova-network-multihost': novaNetworkHealth,
};

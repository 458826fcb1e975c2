// The main job's topology on the local lab (`bash scripts/main.sh`): the Fuel keepalived era on the lab's three
// controllers — keepalived holding the public VIP 198.18.0.100 (unicast VRRP, tracking haproxy) and HAProxy in
// front, with its stats page on the VIP. Nodes, groups, keys and known_hosts come from the running lab
// (labInventory(): lab `$HAPLAY_LAB`, default `haplay`); passwords are random per lab (labSecret(), never printed).
//   haplay lab up && haplay deploy inventory/lab.ts playbooks/site.ts
import { defineInventory, labInventory, labSecret } from 'haplay';

const lab = labInventory();
const VIP = '198.18.0.100';

export default defineInventory({
  ...lab,
  groups: {
    ...lab.groups,
    // Role groups: playbooks/site.ts runs each role on its group.
    haproxy: { children: ['controllers'] },
    keepalived: { children: ['controllers'] },
  },
  vars: {
    ...lab.vars,
    keepalivedInstances: [
      {
        name: 'VI_PUBLIC',
        virtualRouterId: 51,
        interface: 'host0',
        vips: [`${VIP}/24`],
        peers: 'controllers',
        mode: 'unicast',
        nopreempt: false,
        advertInt: 1,
        authPass: labSecret('vrrp', { length: 8 }),
        trackScripts: ['chk_haproxy'],
      },
    ],
    haproxyBackends: 'controllers',
    haproxyStats: { bind: VIP, port: 8404 },
    haproxyServices: [],
  },
});

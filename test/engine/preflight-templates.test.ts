// Preflight compiles the templates of `template` tasks with static arguments (resolved against the role's
// templates/): a syntax error, a missing file or a broken include fails with E_TEMPLATE naming the template file and
// line, and the task that uses it, before any host is touched. Templates chosen at run time (function args) are not.
import * as path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadPlaybook } from '../../src/engine/load.js';
import { preflight } from '../../src/engine/preflight.js';
import { ENGINE_FIXTURES, enginePlaybook, engineRoleFile, inventoryOf, markedLine, rejection } from './helpers.js';

const templates = path.join(ENGINE_FIXTURES, 'roles/tmpl-static/templates');
const plan = async (vars: Record<string, unknown>) =>
  preflight(await loadPlaybook(enginePlaybook('tmpl-static')), inventoryOf({ vars, hosts: { h1: {}, h2: {} } }), {});

describe('template preflight', () => {
  it('a valid template passes', async () => {
    await expect(plan({ src: 'good.conf.ejs' })).resolves.toHaveLength(1);
  });

  it('a syntax error is E_TEMPLATE naming the template file and line, and the task using it', async () => {
    const err = await rejection(plan({ src: 'broken.conf.ejs' }));
    expect(err.code).toBe('E_TEMPLATE');
    expect(err.message).toMatch(new RegExp(`^template ${path.join(templates, 'broken.conf.ejs').replace(/[.]/g, '\\.')} line 5: syntax error: `));
    expect(err.file).toBe(path.join(templates, 'broken.conf.ejs'));
    expect(err.details.at(-1)).toBe(
      `used by ${enginePlaybook('tmpl-static')}: phase "only", role tmpl-static, task "render (static args)" (${markedLine(engineRoleFile('tmpl-static'), 'render (static args)')})`,
    );
  });

  it('a missing template file and a broken include fail too', async () => {
    const missing = await rejection(plan({ src: 'nope.conf.ejs' }));
    expect(missing.code).toBe('E_TEMPLATE');
    expect(missing.message).toBe(`template ${path.join(templates, 'nope.conf.ejs')}: cannot read template`);
    const include = await rejection(plan({ src: 'outer.conf.ejs' }));
    expect(include.code).toBe('E_TEMPLATE');
    expect(include.message).toMatch(new RegExp(`^template ${path.join(templates, 'parts/broken-part.ejs').replace(/[.]/g, '\\.')} line 2: `));
  });

  it('templates chosen by a function of the host are left to run time', async () => {
    await expect(plan({ src: 'broken.conf.ejs', dynamic: true })).resolves.toHaveLength(1);
  });
});

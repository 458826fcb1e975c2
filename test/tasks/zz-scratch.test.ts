import { it, expect } from 'vitest';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { copy } from '../../src/tasks/copy.js';
import { template } from '../../src/tasks/template.js';
import { run, ctx, tempDir, leftovers } from './helpers.js';
it('scratch', async () => {
  const d = tempDir();
  const dest = join(d, 'a.txt');
  let r = await run(copy, { dest, content: 'hello\n', mode: '0640' }, ctx({ diff: true }));
  console.log(r.out, r.outcome);
  r = await run(copy, { dest, content: 'hello\n', mode: '0640' }, ctx({ diff: true }));
  console.log(r.outcome);
  r = await run(copy, { dest, content: 'hello2\n', mode: '0600', backup: true }, ctx({ diff: true }));
  console.log(r.outcome, leftovers(d), readFileSync(dest, 'utf8'));
  writeFileSync(join(d, 't.ejs'), 'port=<%= it.port %>\n<% if (x) { %>\n<%= it.db.host %>\n');
  try { await run(template, { src: join(d, 't.ejs'), dest }, ctx({ vars: { port: 1, db: {} } })); } catch (e) { console.log(e); }
});

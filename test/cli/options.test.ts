// Options declared once: the parser, the help text and the values' type come from one definition.
import { describe, expect, expectTypeOf, it } from 'vitest';
import { DEMO_HELP } from '../../src/cli/demo.js';
import { DEPLOY_HELP } from '../../src/cli/deploy.js';
import { HEALTH_HELP } from '../../src/cli/health.js';
import { defineOptions, optionsHelp, parseOptions, type ValuesOf } from '../../src/cli/options.js';

const OPTS = defineOptions({
  check: { type: 'boolean', short: 'C', help: 'change nothing' },
  tags: { type: 'string', short: 't', arg: 'T1,T2', help: 'only these tags' },
  identity: { type: 'string', multiple: true, arg: 'FILE', help: 'a key file (repeatable); '.repeat(8).trim() },
  secret: { type: 'boolean', help: 'not shown', hidden: true },
});

describe('defineOptions', () => {
  it('parses with the declared rules and types the values', () => {
    const { values, positionals } = parseOptions('x', ['-C', 'inv.ts', '--tags', 'a,b', '--identity', 'k1', '--identity', 'k2'], OPTS);
    expect(values).toEqual({ check: true, tags: 'a,b', identity: ['k1', 'k2'] });
    expect(positionals).toEqual(['inv.ts']);
    expectTypeOf(values).toEqualTypeOf<ValuesOf<typeof OPTS>>();
    expectTypeOf(values.identity).toEqualTypeOf<string[] | undefined>();
    expectTypeOf(values.check).toEqualTypeOf<boolean | undefined>();
    // @ts-expect-error an option that is not declared is not a value
    void values.nope;
  });

  it('refuses an undeclared option as a usage error naming the command', () => {
    expect(() => parseOptions('deploy', ['--nope'], OPTS)).toThrow(/deploy: Unknown option '--nope'/);
  });

  it('generates the help lines: flags, argument names, wrapped text, hidden options left out', () => {
    const help = optionsHelp(OPTS);
    expect(help.split('\n')[0]).toBe('  -C, --check                  change nothing');
    expect(help).toContain('  -t, --tags T1,T2             only these tags\n');
    expect(help).toMatch(/ {6}--identity FILE {10}a key file \(repeatable\);.*\n {31}\S/);
    expect(help).not.toContain('--secret');
    for (const line of help.trimEnd().split('\n')) expect(line.length).toBeLessThanOrEqual(118);
  });

  it("a command's help is generated from its definitions", () => {
    expect(DEPLOY_HELP).toContain('  -C, --check                  change nothing; report what would change\n');
    expect(DEPLOY_HELP).toContain('      --detailed-exitcode      exit 2 when a task changed');
    expect(DEPLOY_HELP).toContain('  -K, --ask-become-pass        prompt for the sudo password\n');
    expect(HEALTH_HELP).toContain('      --role R[,R]             check only these roles\n');
    expect(DEMO_HELP).toContain('      --hosts N                number of hosts (default 5)\n');
  });
});

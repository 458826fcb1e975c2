import { describe, expect, it } from 'vitest';
import { selectHosts } from '../../src/inventory/patterns.js';
import { inventoryOf, thrown } from './helpers.js';

// Inventory order: bastion, c1, c2, c3, web1.example.com, web2.example.com, db1, db2.
const inv = inventoryOf({
  hosts: { bastion: {} },
  groups: {
    controllers: { hosts: { c1: null, c2: null, c3: null } },
    web: { hosts: { 'web1.example.com': null, 'web2.example.com': null } },
    db: { hosts: { db1: null, db2: null } },
    canary: { hosts: { c3: null, 'web2.example.com': null } },
    prod: { children: ['web', 'db'] },
    empty: {},
  },
});
const names = (pattern: string, limit?: string): string[] => selectHosts(inv, pattern, limit).map((h) => h.name);

describe('selectHosts', () => {
  it.each([
    ['host name', 'c2', ['c2']],
    ['group', 'controllers', ['c1', 'c2', 'c3']],
    ['group with children', 'prod', ['web1.example.com', 'web2.example.com', 'db1', 'db2']],
    ['all', 'all', ['bastion', 'c1', 'c2', 'c3', 'web1.example.com', 'web2.example.com', 'db1', 'db2']],
    ['*', '*', ['bastion', 'c1', 'c2', 'c3', 'web1.example.com', 'web2.example.com', 'db1', 'db2']],
    ['implicit ungrouped', 'ungrouped', ['bastion']],
    ['glob prefix', 'web*', ['web1.example.com', 'web2.example.com']],
    ['glob suffix', '*.example.com', ['web1.example.com', 'web2.example.com']],
    ['glob ?', 'c?', ['c1', 'c2', 'c3']],
    ['glob class', 'db[2-9]', ['db2']],
    ['glob matching groups too', 'c*', ['c1', 'c2', 'c3', 'web2.example.com']],
    ['regex', '~(c|db)[12]$', ['c1', 'c2', 'db1', 'db2']],
    ['regex, unanchored at the end', '~web', ['web1.example.com', 'web2.example.com']],
    ['union with :', 'db:c1', ['c1', 'db1', 'db2']],
    ['union with ,', 'db1,bastion', ['bastion', 'db1']],
    ['union deduplicates', 'controllers:canary', ['c1', 'c2', 'c3', 'web2.example.com']],
    ['intersection', 'controllers:&canary', ['c3']],
    ['exclusion', 'prod:!db', ['web1.example.com', 'web2.example.com']],
    ['order: union, then &, then !', '!c1:&controllers:canary:controllers', ['c2', 'c3']],
    ['only exclusions start from all', '!prod:!controllers', ['bastion']],
    ['regex with : in comma form', '~c[1-2],&controllers', ['c1', 'c2']],
    ['spaces around terms', ' web , db1 ', ['web1.example.com', 'web2.example.com', 'db1']],
  ])('%s: %s', (_name, pattern, expected) => {
    expect(names(pattern)).toEqual(expected);
  });

  it.each([
    ['a group', 'all', 'controllers', ['c1', 'c2', 'c3']],
    ['a union', 'prod', 'db1:web1.example.com', ['web1.example.com', 'db1']],
    ['an exclusion only', 'controllers', '!c2', ['c1', 'c3']],
    ['a glob and an intersection', 'all', 'c*:&canary', ['c3', 'web2.example.com']],
  ])('--limit with %s', (_name, pattern, limit, expected) => {
    expect(names(pattern, limit)).toEqual(expected);
  });

  it.each([
    ['unknown name', 'web:controlers', 'pattern "web:controlers": "controlers" is neither a host nor a group (did you mean "controllers"?)'],
    ['unknown name in an exclusion', 'all:!typo_here', 'pattern "all:!typo_here": "typo_here" is neither a host nor a group'],
    ['glob matching nothing', 'zz*', 'pattern "zz*": "zz*" matches no host or group'],
    ['regex matching nothing', '~^q', 'pattern "~^q": "~^q" matches no host or group'],
    ['regex anchored at the start (like re.match)', '~eb', 'pattern "~eb": "~eb" matches no host or group'],
    ['invalid regex', '~(', 'pattern "~(": invalid regular expression "~("'],
    ['empty pattern', ' , ', 'pattern " , ": empty pattern'],
    ['empty group', 'empty', 'pattern "empty" matches no host'],
    ['everything excluded', 'db:!prod', 'pattern "db:!prod" matches no host'],
  ])('rejects %s', (_name, pattern, message) => {
    const error = thrown(() => names(pattern));
    expect(error.code).toBe('E_INVENTORY');
    expect(error.message).toBe(message);
  });

  it.each([
    ['disjoint limit', 'db', 'controllers', 'pattern "db" with limit "controllers" matches no host'],
    ['unknown limit term', 'db', 'bastoin', 'limit "bastoin": "bastoin" is neither a host nor a group (did you mean "bastion"?)'],
  ])('rejects %s', (_name, pattern, limit, message) => {
    expect(thrown(() => names(pattern, limit)).message).toBe(message);
  });
});

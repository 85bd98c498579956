import * as os from 'node:os';
import * as path from 'node:path';
import { resolveDataDir, searchRoots } from './data-dir';

describe('resolveDataDir', () => {
  it('prefers the explicit folder, then SRE_DATA_DIR, then SMYTH_PATH, then ./.sre', () => {
    const env = { SRE_DATA_DIR: '/srv/sre', SMYTH_PATH: '/srv/smyth' };
    expect(resolveDataDir('/data/x', env)).toBe('/data/x');
    expect(resolveDataDir(undefined, env)).toBe('/srv/sre');
    expect(resolveDataDir(undefined, { SMYTH_PATH: '/srv/smyth' })).toBe('/srv/smyth');
    expect(resolveDataDir(undefined, {})).toBe(path.resolve('.sre'));
    expect(resolveDataDir('rel/dir', {})).toBe(path.resolve('rel/dir'));
  });
});

describe('searchRoots', () => {
  it('lists the data dir first, then the .smyth folders, without duplicates', () => {
    const roots = searchRoots('/srv/sre');
    expect(roots[0]).toBe('/srv/sre');
    expect(roots).toContain(path.resolve('.smyth'));
    expect(roots[roots.length - 1]).toBe(path.join(os.homedir(), '.smyth'));
    expect(new Set(roots).size).toBe(roots.length);
    expect(searchRoots(path.resolve('.smyth')).filter((root) => root === path.resolve('.smyth'))).toHaveLength(1);
  });
});

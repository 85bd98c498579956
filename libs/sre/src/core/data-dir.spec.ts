import * as os from 'node:os';
import * as path from 'node:path';
import { isTestRun, resolveDataDir, searchRoots } from './data-dir';

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
    const roots = searchRoots('/srv/sre', {});
    expect(roots[0]).toBe('/srv/sre');
    expect(roots).toContain(path.resolve('.smyth'));
    expect(roots[roots.length - 1]).toBe(path.join(os.homedir(), '.smyth'));
    expect(new Set(roots).size).toBe(roots.length);
    expect(searchRoots(path.resolve('.smyth')).filter((root) => root === path.resolve('.smyth'))).toHaveLength(1);
  });

  it('leaves the home directory out under Jest or NODE_ENV=test', () => {
    const home = path.join(os.homedir(), '.smyth');
    expect(isTestRun({})).toBe(false);
    expect(isTestRun({ NODE_ENV: 'production' })).toBe(false);
    for (const env of [{ JEST_WORKER_ID: '1' }, { NODE_ENV: 'test' }]) {
      expect(isTestRun(env)).toBe(true);
      expect(searchRoots('/srv/sre', env)).not.toContain(home);
      expect(searchRoots('/srv/sre', env)[0]).toBe('/srv/sre');
    }
    // this very spec runs under Jest
    expect(searchRoots('/srv/sre')).not.toContain(home);
  });
});

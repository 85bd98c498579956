import { ComponentService } from '../component/component.service';
import type { ComponentBackend } from '../component/component.backend';
import { createConnectorContext } from '../core/backend';
import { SreAccessDeniedError, SreBackendError, SreInvalidInputError, SreUnavailableError } from '../core/errors';
import { AccessCandidate } from '../security/access-candidate';
import type { TeamResolver } from '../security/team-resolver';
import { teamResolver, useFreshBackend } from './contract-harness';

/** Who belongs to which team in the policy tests (a team is its own team). */
const resolver = teamResolver({ a1: 'team-a', a2: 'team-a', b1: 'team-b', odd: 'not/a-team' });

const { agent, user, team } = AccessCandidate;

/**
 * The contract of a Component backend, then the Component policy over it (through the real
 * `ComponentService`): `describeComponentBackend('MyComponents', () => new MyComponentConnector(settings, ctx))`.
 * Each test gets a fresh, empty backend and disconnects it after.
 */
export function describeComponentBackend<B extends ComponentBackend>(
  label: string,
  makeBackend: () => B | Promise<B>,
): void {
  describe(`${label}: Component backend contract`, () => {
    const { backend, track } = useFreshBackend(makeBackend);

    const serve = (wrapped: ComponentBackend = backend(), teams: TeamResolver = resolver, secrets: string[] = []) => {
      const context = createConnectorContext({ subsystem: 'Component', connector: label, secrets });
      return track(new ComponentService(wrapped, context, { account: teams }), wrapped);
    };

    /** The backend with every call counted on its way through. */
    const counting = () => {
      const calls: string[] = [];
      const wrapped: ComponentBackend = {
        readComponent: (...args) => (calls.push('readComponent'), backend().readComponent(...args)),
        listComponents: (...args) => (calls.push('listComponents'), backend().listComponents(...args)),
        writeComponent: (...args) => (calls.push('writeComponent'), backend().writeComponent(...args)),
      };
      return { calls, wrapped };
    };

    describe('operations', () => {
      it('answers undefined and {} for what was never written', async () => {
        expect(await backend().readComponent(undefined, 'Missing')).toBeUndefined();
        expect(await backend().readComponent('team-a', 'Missing')).toBeUndefined();
        expect(await backend().listComponents(undefined)).toEqual({});
        expect(await backend().listComponents('team-a')).toEqual({});
      });

      it('hands back the very instance written, functions included', async () => {
        const apiCall = { name: 'APICall', process: async () => 1 };
        class Component {}
        await backend().writeComponent(undefined, 'APICall', apiCall);
        await backend().writeComponent(undefined, 'Klass', Component);
        expect(await backend().readComponent(undefined, 'APICall')).toBe(apiCall);
        expect(await backend().readComponent(undefined, 'Klass')).toBe(Component);
        const listed = await backend().listComponents(undefined);
        expect(Object.keys(listed).sort()).toEqual(['APICall', 'Klass']);
        expect(listed.APICall).toBe(apiCall);
      });

      it('keeps the global registry and every team overlay apart', async () => {
        const global = { v: 'global' };
        const a = { v: 'a' };
        const b = { v: 'b' };
        await backend().writeComponent(undefined, 'X', global);
        await backend().writeComponent('team-a', 'X', a);
        await backend().writeComponent('team-b', 'Y', b);
        expect(await backend().readComponent(undefined, 'X')).toBe(global);
        expect(await backend().readComponent('team-a', 'X')).toBe(a);
        expect(await backend().readComponent('team-b', 'X')).toBeUndefined();
        expect(await backend().readComponent(undefined, 'Y')).toBeUndefined();
        expect(await backend().listComponents(undefined)).toEqual({ X: global });
        expect(await backend().listComponents('team-a')).toEqual({ X: a });
        expect(await backend().listComponents('team-b')).toEqual({ Y: b });
      });

      it('replaces on overwrite', async () => {
        const first = { v: 1 };
        const second = { v: 2 };
        await backend().writeComponent('team-a', 'X', first);
        await backend().writeComponent('team-a', 'X', second);
        expect(await backend().readComponent('team-a', 'X')).toBe(second);
        expect(await backend().listComponents('team-a')).toEqual({ X: second });
      });

      it('keeps names as given: unicode, slashes, dots, prototype names, 128 bytes', async () => {
        const names = [
          'Ünïcödé-組件',
          'a/b/../c',
          '.hidden',
          '__proto__',
          'constructor',
          'hasOwnProperty',
          'x'.repeat(128),
        ];
        for (const [i, name] of names.entries()) await backend().writeComponent('team-a', name, { i });
        for (const [i, name] of names.entries()) expect(await backend().readComponent('team-a', name)).toEqual({ i });
        const listed = await backend().listComponents('team-a');
        expect(Object.keys(listed).sort()).toEqual([...names].sort());
        expect(Object.getOwnPropertyDescriptor(listed, '__proto__')?.value).toEqual({ i: 3 });
        expect(await backend().listComponents(undefined)).toEqual({});
      });

      it('lists a thousand components', async () => {
        for (let i = 0; i < 1000; i++) await backend().writeComponent(undefined, `C${i}`, { i });
        const listed = await backend().listComponents(undefined);
        expect(Object.keys(listed)).toHaveLength(1000);
        expect(listed.C999).toEqual({ i: 999 });
      });

      it('loses no registration under concurrency, and one concurrent writer of a name wins whole', async () => {
        const writers = Array.from({ length: 50 }, (_, i) => ({ i }));
        await Promise.all(writers.map((instance, i) => backend().writeComponent('team-a', `C${i}`, instance)));
        expect(Object.keys(await backend().listComponents('team-a'))).toHaveLength(50);
        await Promise.all(writers.map((instance) => backend().writeComponent('team-b', 'Same', instance)));
        expect(writers).toContain(await backend().readComponent('team-b', 'Same'));
      });
    });

    describe('Component policy (ComponentService over this backend)', () => {
      const builtIn = { name: 'APICall' };

      it('reads the global registry for everyone, the public included', async () => {
        const components = serve();
        await components.registerGlobal('APICall', builtIn);
        expect(await components.requester(AccessCandidate.public()).get('APICall')).toBe(builtIn);
        expect(await components.agent('a1').getAll()).toEqual({ APICall: builtIn });
        expect(await components.user('nobody').get('APICall')).toBe(builtIn);
        expect(await components.agent('a1').get('Missing')).toBeUndefined();
      });

      it('keeps a team registration inside the team (W10)', async () => {
        const components = serve();
        await components.registerGlobal('APICall', builtIn);
        const mine = { name: 'mine' };
        await components.agent('a1').register('APICall', mine);
        await components.agent('a2').register('Extra', { name: 'extra' });
        expect(await components.team('team-a').get('APICall')).toBe(mine);
        expect(await components.agent('a2').get('APICall')).toBe(mine);
        expect(await components.agent('b1').get('APICall')).toBe(builtIn);
        expect(await components.agent('b1').get('Extra')).toBeUndefined();
        expect(await components.requester(AccessCandidate.public()).getAll()).toEqual({ APICall: builtIn });
        expect(await components.agent('a1').getAll()).toEqual({ APICall: mine, Extra: { name: 'extra' } });
        expect(await components.agent('b1').getAll()).toEqual({ APICall: builtIn });
        expect(await backend().readComponent(undefined, 'APICall')).toBe(builtIn);
      });

      it('lets a team register for itself, and no candidate write the global registry', async () => {
        const components = serve();
        await components.team('team-b').register('Tool', { t: 1 });
        expect(await components.agent('b1').get('Tool')).toEqual({ t: 1 });
        for (const candidate of [agent('a1'), team('team-a'), user('nobody'), AccessCandidate.public()])
          expect(await components.hasAccess(candidate, 'write', 'components')).toBe(false);
        expect('registerGlobal' in components.agent('a1')).toBe(false);
      });

      it('denies registration without a team and on another team', async () => {
        const { calls, wrapped } = counting();
        const components = serve(wrapped);
        await expect(components.requester(AccessCandidate.public()).register('X', {})).rejects.toBeInstanceOf(
          SreAccessDeniedError,
        );
        await expect(components.user('nobody').register('X', {})).rejects.toBeInstanceOf(SreAccessDeniedError);
        // an Account answer that is no valid team id is no team
        await expect(components.agent('odd').register('X', {})).rejects.toBeInstanceOf(SreAccessDeniedError);
        expect(calls).toEqual([]);
        expect(await components.hasAccess(agent('b1'), 'write', 'teams/team-a/components/X')).toBe(false);
        expect(await components.hasAccess(team('team-b'), 'read', 'teams/team-a/components')).toBe(false);
        expect(await components.hasAccess(agent('b1'), 'write', 'components')).toBe(false);
        expect(await components.hasAccess(agent('a1'), 'write', 'teams/team-a/components/X')).toBe(true);
        expect(await components.hasAccess(AccessCandidate.public(), 'read', 'components')).toBe(true);
      });

      it('reads the global registry only when the Account cannot resolve a team', async () => {
        const failing: TeamResolver = { getCandidateTeam: () => Promise.reject(new Error('account down')) };
        const components = serve(backend(), failing);
        await components.registerGlobal('APICall', builtIn);
        await backend().writeComponent('team-a', 'APICall', { name: 'team' });
        expect(await components.agent('a1').get('APICall')).toBe(builtIn);
        await expect(components.agent('a1').register('X', {})).rejects.toBeInstanceOf(SreAccessDeniedError);
      });

      it('rejects bad names and non-objects before the backend sees them', async () => {
        const { calls, wrapped } = counting();
        const components = serve(wrapped);
        for (const name of ['', 'x'.repeat(129), 'new\nline', 'nul\u0000', 42, undefined]) {
          await expect(components.agent('a1').get(name as never)).rejects.toBeInstanceOf(SreInvalidInputError);
          await expect(components.agent('a1').register(name as never, {})).rejects.toBeInstanceOf(SreInvalidInputError);
          await expect(components.registerGlobal(name as never, {})).rejects.toBeInstanceOf(SreInvalidInputError);
        }
        for (const instance of ['nope', 1, null, undefined, true]) {
          await expect(components.registerGlobal('X', instance as never)).rejects.toBeInstanceOf(SreInvalidInputError);
          await expect(components.agent('a1').register('X', instance as never)).rejects.toBeInstanceOf(
            SreInvalidInputError,
          );
        }
        expect(calls).toEqual([]);
      });

      it('wraps backend failures and refuses broken answers, naming the connector', async () => {
        const failing: ComponentBackend = {
          readComponent: () => Promise.reject(new Error('read s3cr3t-value failed')),
          listComponents: () => ({ X: 'not an object' }) as never,
          writeComponent: () => {
            throw new Error('full');
          },
        };
        const components = serve(failing, resolver, ['s3cr3t-value']);
        const read = await components
          .agent('a1')
          .get('X')
          .catch((e: unknown) => e);
        expect(read).toBeInstanceOf(SreBackendError);
        expect((read as Error).message).toBe(`Component(${label}): reading a component: read *** failed`);
        await expect(components.agent('a1').getAll()).rejects.toThrow(
          `Component(${label}): the connector answered a component that is not an object`,
        );
        await expect(components.registerGlobal('X', {})).rejects.toThrow(
          `Component(${label}): registering a component: full`,
        );
        const broken = serve({ ...failing, readComponent: () => 'text' as never });
        await expect(broken.agent('a1').get('X')).rejects.toBeInstanceOf(SreBackendError);
      });

      it('hands getAll callers a copy of the registry', async () => {
        const components = serve();
        await components.registerGlobal('APICall', builtIn);
        const all = await components.agent('b1').getAll();
        delete (all as Record<string, unknown>).APICall;
        expect(await components.agent('b1').get('APICall')).toBe(builtIn);
      });

      it('connects on first use and refuses work once closed', async () => {
        const components = serve();
        await components.registerGlobal('APICall', builtIn);
        expect(components.state).toBe('ready');
        await components.disconnect();
        await expect(components.agent('a1').get('APICall')).rejects.toBeInstanceOf(SreUnavailableError);
        await expect(components.registerGlobal('Y', {})).rejects.toBeInstanceOf(SreUnavailableError);
      });
    });
  });
}

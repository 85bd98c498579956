import { SreAccessDeniedError, SreInvalidInputError } from '../core/errors';
import { AccessCandidate } from '../security/access-candidate';
import { describeSubsystemModule, fakeAccountModule } from '../testing/subsystem-module.testkit';
import { InjectComponent } from './component.decorators';
import { ComponentModule } from './component.module';
import { COMPONENT_DEFINITION } from './component.registry';
import { ComponentInstance, ComponentService } from './component.service';

class MemoryComponents extends ComponentService {
  private readonly registries = new Map<string, Map<string, ComponentInstance>>();

  private registry(team: string | undefined): Map<string, ComponentInstance> {
    const id = team ?? '';
    if (!this.registries.has(id)) this.registries.set(id, new Map());
    return this.registries.get(id)!;
  }

  protected async readComponent(team: string | undefined, name: string) {
    return this.registry(team).get(name);
  }

  protected async listComponents(team: string | undefined) {
    return Object.fromEntries(this.registry(team));
  }

  protected async writeComponent(team: string | undefined, name: string, instance: ComponentInstance) {
    this.registry(team).set(name, instance);
  }
}

const TEAMS: Record<string, string> = { a1: 'team-a', b1: 'team-b' };

describe('ComponentModule', () => {
  const { useConnector } = describeSubsystemModule(COMPONENT_DEFINITION, ComponentModule, InjectComponent, {
    connector: MemoryComponents,
    planned: ['LocalComponent'],
    unknownName: 'Local',
  });

  describe('requester', () => {
    const builtIn = { name: 'APICall' };
    const components = useConnector(fakeAccountModule(TEAMS));

    beforeAll(() => components().registerGlobal('APICall', builtIn));

    it('reads the global registry for everyone, the public included', async () => {
      expect(await components().requester(AccessCandidate.public()).get('APICall')).toBe(builtIn);
      expect(await components().requester(AccessCandidate.agent('a1')).getAll()).toEqual({ APICall: builtIn });
      expect(await components().requester(AccessCandidate.agent('a1')).get('Missing')).toBeUndefined();
    });

    it('keeps a team registration inside the team (W10)', async () => {
      const mine = { name: 'mine' };
      await components().requester(AccessCandidate.agent('a1')).register('APICall', mine);
      expect(await components().requester(AccessCandidate.team('team-a')).get('APICall')).toBe(mine);
      expect(await components().requester(AccessCandidate.agent('b1')).get('APICall')).toBe(builtIn);
      expect(await components().requester(AccessCandidate.public()).getAll()).toEqual({ APICall: builtIn });
      expect(await components().requester(AccessCandidate.agent('a1')).getAll()).toEqual({ APICall: mine });
    });

    it('denies registration without a team and on another team', async () => {
      await expect(components().requester(AccessCandidate.public()).register('X', {})).rejects.toBeInstanceOf(
        SreAccessDeniedError,
      );
      await expect(components().requester(AccessCandidate.user('nobody')).register('X', {})).rejects.toBeInstanceOf(
        SreAccessDeniedError,
      );
      expect(await components().hasAccess(AccessCandidate.agent('b1'), 'write', 'teams/team-a/components/X')).toBe(
        false,
      );
      expect(await components().hasAccess(AccessCandidate.agent('b1'), 'write', 'components')).toBe(false);
      expect(await components().hasAccess(AccessCandidate.agent('a1'), 'write', 'teams/team-a/components/X')).toBe(
        true,
      );
    });

    it('rejects empty names and non-objects', async () => {
      await expect(components().requester(AccessCandidate.agent('a1')).get('')).rejects.toBeInstanceOf(
        SreInvalidInputError,
      );
      await expect(components().registerGlobal('X', 'nope' as never)).rejects.toBeInstanceOf(SreInvalidInputError);
    });
  });
});

import { AccessCandidate } from '../../security/access-candidate';
import { ACL } from '../../security/acl';
import { VaultService } from '../vault.service';

/**
 * A vault that holds nothing: every key is missing (`undefined`, not the original's truthy
 * `'NULLKEY'` that flowed into LLM clients as an API key, W16), and every listing is empty.
 */
export class NullVaultConnector extends VaultService {
  static readonly connectorName = 'NullVault';

  async getSecret(): Promise<string | undefined> {
    return undefined;
  }

  async listSecretKeys(): Promise<string[]> {
    return [];
  }

  /** Nothing to scope: the answer is the same for everyone, so no team lookup (nor denial) is needed. */
  protected override async teamFor(candidate: AccessCandidate): Promise<string> {
    const pending = this.ensureReady();
    if (pending) await pending;
    return candidate.id;
  }

  protected override async getResourceACL(_key: string, candidate: AccessCandidate): Promise<ACL> {
    return new ACL().grant(candidate, 'read');
  }
}

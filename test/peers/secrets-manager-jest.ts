import { SecretsManagerClient } from '@aws-sdk/client-secrets-manager';
import { startSecretsManagerPeer, type SecretsManagerPeer } from './secrets-manager';

/**
 * A Secrets Manager peer for the tests of one file: started before them, stopped after, with a
 * plain SDK client beside it to seed and inspect secrets behind the connector's back.
 */
export function useSecretsManagerPeer(): { peer: () => SecretsManagerPeer; admin: () => SecretsManagerClient } {
  let peer: SecretsManagerPeer | undefined;
  let admin: SecretsManagerClient | undefined;
  beforeAll(async () => {
    peer = await startSecretsManagerPeer();
    admin = new SecretsManagerClient(peer.clientConfig());
  });
  afterAll(async () => {
    admin?.destroy();
    await peer?.stop();
  });
  const running = <T>(value: T | undefined): T => {
    if (value === undefined) throw new Error('the Secrets Manager peer runs only while the tests of this file do');
    return value;
  };
  return { peer: () => running(peer), admin: () => running(admin) };
}

import { redactWith } from '../../core/backend';
import { SreAuthError, SreBackendError, SreError, SreRateLimitError, type SreErrorSource } from '../../core/errors';

/**
 * Runs the connector's SDK calls and turns their errors into typed ones. It owns the list of
 * secrets because the API key joins it only on connect, after the context's secrets.
 */
export class PineconeCalls {
  private readonly secrets: string[];

  constructor(
    private readonly source: SreErrorSource,
    secrets: readonly string[],
  ) {
    this.secrets = [...secrets];
  }

  addSecret(secret: string): void {
    this.secrets.push(secret);
  }

  redact(error: unknown): string {
    return redactWith({ secrets: this.secrets }, error instanceof Error ? error.message : String(error));
  }

  /** Runs an SDK call; its errors become typed ones. With `missingIsUndefined`, a 404 answers `undefined`. */
  call<T>(what: string, run: () => Promise<T>, missingIsUndefined: true): Promise<T | undefined>;
  call<T>(what: string, run: () => Promise<T>): Promise<T>;
  async call<T>(what: string, run: () => Promise<T>, missingIsUndefined = false): Promise<T | undefined> {
    try {
      return await run();
    } catch (error) {
      if (error instanceof SreError) throw error;
      const name = error instanceof Error ? error.name : '';
      if (missingIsUndefined && name === 'PineconeNotFoundError') return undefined;
      const message = this.redact(error);
      const cause = { cause: error };
      if (name === 'PineconeAuthorizationError')
        throw new SreAuthError(`Pinecone refused the API key while ${what}`, this.source, undefined, cause);
      if (/\bStatus: 429\b/.test(message))
        throw new SreRateLimitError(
          `Pinecone kept answering 429 (rate limit) while ${what}`,
          this.source,
          undefined,
          cause,
        );
      throw new SreBackendError(`Pinecone failed while ${what}: ${message}`, this.source, cause);
    }
  }
}

import { createConnectorContext, labelOf, sourceOf, type ConnectorContext } from '../../core/backend';
import { SreUnavailableError } from '../../core/errors';
import type { CodeBackend, CodeDeployment, CodeExecutionResult, CodePreparation } from '../code.backend';

/** What to configure instead, said by every refusal. */
const INSTEAD =
  'configure Code with a connector that runs code: your own class implementing CodeBackend ' +
  '(CodeModule.forRoot({ connector: MyRunner })) or ECMASandbox; AWSLambda arrives in a later version';

/**
 * The seed's placeholder for Code (`DummyConnector`), made explicit: the original's silently did
 * nothing and answered `undefined` (W01). Every operation here fails with one `SreUnavailableError`
 * sentence naming the connector and what to configure instead; through `CodeService`, `execute`
 * and `executeDeployment` answer it as a failed result (`success: false`, the sentence in `errors`),
 * the other operations reject with it. No settings; nothing is ever run, stored or logged.
 */
export class DummyCodeConnector implements CodeBackend {
  static readonly connectorName = 'DummyConnector';

  constructor(
    _settings: object = {},
    private readonly context: ConnectorContext = createConnectorContext({
      subsystem: 'Code',
      connector: 'DummyConnector',
    }),
  ) {}

  async prepareCode(): Promise<CodePreparation> {
    throw this.refusal();
  }

  async deployCode(): Promise<CodeDeployment> {
    throw this.refusal();
  }

  async executeCode(): Promise<CodeExecutionResult> {
    throw this.refusal();
  }

  async executeCodeDeployment(): Promise<CodeExecutionResult> {
    throw this.refusal();
  }

  async listCodeDeployments(): Promise<CodeDeployment[]> {
    throw this.refusal();
  }

  async getCodeDeployment(): Promise<CodeDeployment | undefined> {
    throw this.refusal();
  }

  async deleteCodeDeployment(): Promise<void> {
    throw this.refusal();
  }

  /** `Code(DummyConnector): no code executor is configured; configure Code with ...`. */
  private refusal(): SreUnavailableError {
    return new SreUnavailableError(
      `${labelOf(this.context)}: no code executor is configured; ${INSTEAD}`,
      sourceOf(this.context),
    );
  }
}

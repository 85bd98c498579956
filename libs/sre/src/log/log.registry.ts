import { ConnectorRegistry } from '../core/registry';
import type { SubsystemDefinition } from '../core/module-factory';
import { ConsoleLogConnector } from './connectors/console-log.connector';
import { LogService } from './log.service';
import { getLogOptionsToken, getLogToken } from './log.tokens';

/** Log connectors by name; add your own with `LOG_CONNECTORS.register(name, cls)`. */
export const LOG_CONNECTORS = new ConnectorRegistry<LogService>('Log').register('ConsoleLog', ConsoleLogConnector);

export const LOG_DEFINITION: SubsystemDefinition = {
  subsystem: 'Log',
  service: LogService,
  registry: LOG_CONNECTORS,
  token: getLogToken,
  optionsToken: getLogOptionsToken,
};

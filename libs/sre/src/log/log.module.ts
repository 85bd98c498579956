/* eslint-disable @typescript-eslint/no-require-imports -- connectors load on first use (CommonJS) */
import { Module } from '@nestjs/common';
import { connector } from '../core/registry';
import { defineSubsystem } from '../core/subsystem';
import type { ConsoleLogSettings } from './connectors/console-log.connector';
import { LOG_OPERATIONS } from './log.backend';
import { LogService } from './log.service';

/** The Log subsystem, declared once: registry, tokens, `InjectLog` and `LogModule` derive from it. */
export const LOG = defineSubsystem({
  subsystem: 'Log',
  service: LogService,
  operations: LOG_OPERATIONS,
  connectors: {
    ConsoleLog: connector<ConsoleLogSettings>(() => require('./connectors/console-log.connector').ConsoleLogConnector),
  },
});

/** Log connectors by name; add your own with `LOG_CONNECTORS.register(name, cls)`. */
export const LOG_CONNECTORS = LOG.registry;
/** Token of a named Log instance (`'SreLog:<name>'`); `default` aliases `LogService`. */
export const getLogToken = LOG.token;
/** Injects the default Log (`LogService`) or the instance registered under `name`. */
export const InjectLog = LOG.inject;

/**
 * `LogModule.forRoot({ connector: 'ConsoleLog', settings: { level: 'log' } })` provides
 * `LogService` (or `getLogToken(name)` for a named instance).
 */
@Module({})
export class LogModule extends LOG.Module {}

/* eslint-disable @typescript-eslint/no-require-imports -- connectors load on first use (CommonJS) */
import { Module } from '@nestjs/common';
import { connector } from '../core/registry';
import { defineSubsystem } from '../core/subsystem';
import { AGENT_DATA_OPERATIONS } from './agent-data.backend';
import { AgentDataService } from './agent-data.service';
import type { CLIAgentDataSettings } from './connectors/cli-agent-data.connector';
import type { LocalAgentDataSettings } from './connectors/local-agent-data.connector';

/** The AgentData subsystem, declared once: registry, tokens, `InjectAgentData` and `AgentDataModule` derive from it. */
export const AGENT_DATA = defineSubsystem({
  subsystem: 'AgentData',
  service: AgentDataService,
  operations: AGENT_DATA_OPERATIONS,
  connectors: {
    Local: connector<LocalAgentDataSettings>(
      () => require('./connectors/local-agent-data.connector').LocalAgentDataConnector,
    ),
    CLI: connector<CLIAgentDataSettings>(() => require('./connectors/cli-agent-data.connector').CLIAgentDataConnector),
    NullAgentData: connector(() => require('./connectors/null-agent-data.connector').NullAgentDataConnector),
  },
});

/** AgentData connectors by name; add your own with `AGENT_DATA_CONNECTORS.register(name, cls)`. */
export const AGENT_DATA_CONNECTORS = AGENT_DATA.registry;
/** Token of a named AgentData instance (`'SreAgentData:<name>'`); `default` aliases `AgentDataService`. */
export const getAgentDataToken = AGENT_DATA.token;
/** Injects the default AgentData (`AgentDataService`) or the instance registered under `name`. */
export const InjectAgentData = AGENT_DATA.inject;

/**
 * `AgentDataModule.forRoot({ connector: MyAgentSource })` provides `AgentDataService` (or
 * `getAgentDataToken(name)` for a named instance).
 */
@Module({})
export class AgentDataModule extends AGENT_DATA.Module {}

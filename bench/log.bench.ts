import { Logger } from '@nestjs/common';
import { createConnectorContext } from '../libs/sre/src/core/backend';
import { ConsoleLogConnector, ConsoleLogSettings } from '../libs/sre/src/log/connectors/console-log.connector';
import { LogService } from '../libs/sre/src/log/log.service';
import { BenchResult, measure, measurePair, printComparison } from './util';

/** A typical component call: a few fields, a nested input, a short output. */
const ENTRY = {
  sourceId: 'src-1',
  componentId: 'cmp-42',
  domain: 'bench.example.com',
  input: { prompt: 'Summarise the quarterly report in three bullet points.', temperature: 0.2, tags: ['a', 'b'] },
  output: { text: 'One. Two. Three.', tokens: 12 },
  inputTimestamp: 1_764_600_000_000,
  outputTimestamp: 1_764_600_000_250,
  step: 3,
  workflowID: 'wf-7',
  processID: 'proc-9',
};

/**
 * `LogService` over ConsoleLog (level `log`) against a plain Nest `Logger.log` of the same entry as
 * JSON, in alternating rounds, with the application's levels letting `log` through and not. Both
 * go through Nest's ConsoleLogger; stdout is swapped for a counter while measuring so the terminal
 * is not what is measured.
 */
export async function runLogBench(): Promise<void> {
  const context = createConnectorContext({ subsystem: 'Log', connector: 'ConsoleLog' });
  const settings = Object.assign(new ConsoleLogSettings(), { level: 'log' });
  const service = new LogService(new ConsoleLogConnector(settings, context), context);
  await service.connect();
  const agent = service.agent('bench-agent');
  const plain = new Logger('Log(ConsoleLog)');
  const rows: Array<{ subject: BenchResult; baseline: BenchResult }> = [];
  const write = process.stdout.write;
  let written = 0;
  process.stdout.write = ((chunk: string | Uint8Array) => {
    written += chunk.length;
    return true;
  }) as typeof process.stdout.write;
  try {
    for (const [label, levels] of [
      ['enabled', ['error', 'warn', 'log']],
      ['disabled', ['error', 'warn']],
    ] as const) {
      Logger.overrideLogger([...levels]);
      rows.push(
        await measurePair(
          measure,
          { name: `log.log, level ${label}`, op: () => agent.log(ENTRY, 'call-1') },
          {
            name: 'Logger.log(JSON.stringify(entry)) behind a level check',
            op: async () => {
              if (Logger.isLevelEnabled('log')) plain.log(`Log for agent bench-agent: ${JSON.stringify(ENTRY)}`);
            },
          },
        ),
      );
    }
  } finally {
    process.stdout.write = write;
    Logger.overrideLogger(['error', 'warn', 'log', 'debug', 'verbose', 'fatal']);
    await service.disconnect();
  }
  printComparison(
    `Log (ConsoleLog vs plain Nest Logger; ${Math.round(written / 2 ** 20)} MB of log lines dropped)`,
    rows,
  );
}

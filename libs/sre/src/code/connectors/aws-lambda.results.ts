import type * as L from '@aws-sdk/client-lambda';
import type { CodeDeployment, CodeExecutionResult } from '../code.backend';

/** A deployment as `GetFunction` describes it, with the content hash and secret names its description keeps. */
export function deploymentOf(out: L.GetFunctionResponse): {
  deployment: CodeDeployment;
  hash?: string;
  secrets: string[];
} {
  const config = out.Configuration ?? {};
  const [, hash, secrets = ''] = /^sre:([0-9a-f]+)\|(.*)$/.exec(config.Description ?? '') ?? [];
  const created = out.Tags?.['sre-created-at'];
  const failed = config.State === 'Failed' || config.LastUpdateStatus === 'Failed';
  const deployment: CodeDeployment = {
    id: config.FunctionName ?? '',
    status: failed ? 'failed' : config.State === 'Active' ? 'deployed' : 'deploying',
    runtime: config.Runtime ?? '',
    createdAt: created ? new Date(created) : new Date(0),
  };
  return { deployment, hash, secrets: secrets ? secrets.split(',') : [] };
}

/**
 * An invocation's outcome: the handler's `{ result, executionTime }`, or (Lambda answers a
 * handler error with 200 and `X-Amz-Function-Error`) a failed result naming the error type, a
 * timeout as `TimeoutError`; the log tail's own lines in `logs`.
 */
export function resultOf(out: L.InvocationResponse, label: string): CodeExecutionResult {
  const logs = out.LogResult
    ? Buffer.from(out.LogResult, 'base64')
        .toString('utf8')
        .split('\n')
        .filter((line) => line && !/^(START|END|REPORT) RequestId/.test(line))
    : [];
  const text = out.Payload ? Buffer.from(out.Payload).toString('utf8') : 'null';
  if (out.FunctionError) {
    const failure = parse(text) as { errorType?: string; errorMessage?: string } | undefined;
    const type = /timed out/i.test(failure?.errorMessage ?? '') ? 'TimeoutError' : (failure?.errorType ?? 'Error');
    const error = `${label}: running code: ${type}: ${failure?.errorMessage ?? text.slice(0, 500)}`;
    return { output: undefined, executionTime: 0, success: false, errors: [error], logs };
  }
  const result = parse(text) as { result?: unknown; executionTime?: number } | undefined;
  return { output: result?.result, executionTime: Math.round(result?.executionTime ?? 0), success: true, logs };
}

function parse(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

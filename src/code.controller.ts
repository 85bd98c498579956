import { BadRequestException, Controller, Logger, Post, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AccessCandidate, CodeService } from 'nestjs-sre';
import { Team } from './candidate';
import { isClientAbort } from './http-safety';
import { parseJson, readBody } from './read-body';

const MAX_BODY_BYTES = 256 * 1024;
/** The code unit every run of a team goes through. */
const RUN_UID = 'run';

export interface CodeRunResponse {
  success: boolean;
  output: unknown;
  logs: string[];
  errors: string[];
  executionTime: number;
}

/**
 * `POST /code/run`: runs `{ code, inputs? }` through Code as the caller's team. `code` declares an
 * `async function main(...)` whose parameters are bound by name from `inputs`. The app configures
 * the `ECMASandbox` connector (a child process per run, no file system, no environment, killed at
 * its time and memory limits), so a runaway snippet fails that run only.
 */
@Controller('code')
export class CodeController {
  private readonly logger = new Logger(CodeController.name);

  constructor(private readonly code: CodeService) {}

  // @Res(): a body whose client aborted mid-way gets no answer at all (its connection is gone)
  @Post('run')
  async run(@Req() req: Request, @Res() res: Response, @Team() team: AccessCandidate): Promise<void> {
    let text: string;
    try {
      text = await readBody(req, MAX_BODY_BYTES, 'code runs');
    } catch (error) {
      if (!isClientAbort(req, error)) throw error;
      this.logger.warn('a code run was aborted by the client before its body ended: nothing ran');
      return;
    }
    const { code, inputs } = checkRun(parseJson(text, 'the body must be JSON: { "code": "...", "inputs": {...} }'));
    const result = await this.code.requester(team).execute(RUN_UID, { code, inputs });
    const answer: CodeRunResponse = {
      success: result.success,
      output: result.output ?? null,
      logs: result.logs ?? [],
      errors: result.errors ?? [],
      executionTime: result.executionTime,
    };
    res.status(200).json(answer);
  }
}

function checkRun(body: unknown): { code: string; inputs?: Record<string, unknown> } {
  if (!isPlainObject(body)) throw new BadRequestException('the body must be a JSON object: { "code", "inputs" }');
  const { code, inputs } = body;
  if (typeof code !== 'string' || code.trim() === '') throw new BadRequestException('code must be a non-empty string');
  if (inputs !== undefined && !isPlainObject(inputs)) throw new BadRequestException('inputs must be a JSON object');
  return { code, inputs };
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

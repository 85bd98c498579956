import { BadRequestException, createParamDecorator, ExecutionContext } from '@nestjs/common';
import type { Request } from 'express';
import { AccessCandidate } from 'nestjs-sre';

/**
 * The caller's team from the `x-sre-team` header (default `default`). A real application would
 * take it from its authentication instead.
 */
export const Team = createParamDecorator((_: unknown, ctx: ExecutionContext): AccessCandidate => {
  const header = ctx.switchToHttp().getRequest<Request>().headers['x-sre-team'];
  const team = (Array.isArray(header) ? header[0] : header) ?? 'default';
  try {
    return AccessCandidate.team(team);
  } catch {
    throw new BadRequestException('x-sre-team: use letters, digits and - only');
  }
});

/** The part of the URL after `prefix`, percent-decoded (so `..%2F` arrives as `../` and is refused). */
export function pathAfter(request: Request, prefix: string): string {
  const raw = request.path.slice(prefix.length);
  try {
    return decodeURIComponent(raw);
  } catch {
    throw new BadRequestException('malformed percent-encoding in the path');
  }
}

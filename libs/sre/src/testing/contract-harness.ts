// The scaffolding the contract suites (*.contract.ts) share: a fresh backend per test, a timed `it`,
// a recording view of a backend, a stand-in Account and a large value. Uses Jest's globals: import
// it from the suites only.

import type { SreBackend } from '../core/backend';
import type { TeamResolver } from '../security/team-resolver';

export interface FreshBackendOptions {
  /** Jest timeout of the hooks that build, connect and disconnect the backend (default: Jest's). */
  timeout?: number;
  /** Connect the backend before each test (default); `false` leaves that to the tests. */
  connect?: boolean;
}

export interface FreshBackend<B> {
  /** The backend of the running test. */
  backend: () => B;
  /**
   * Disconnects `service` after the test (a failing disconnect is ignored) and returns it. A
   * service built `over` the backend itself owns its lifecycle: the suite then leaves the
   * backend's disconnect to it.
   */
  track: <S extends { disconnect(): Promise<unknown> }>(service: S, over: unknown) => S;
}

/**
 * Registers the hooks that give each test a fresh backend from `makeBackend`, connected (unless
 * `connect: false`), and disconnect it after the test with the services `track` was given.
 */
export function useFreshBackend<B extends SreBackend>(
  makeBackend: () => B | Promise<B>,
  options: FreshBackendOptions = {},
): FreshBackend<B> {
  const { timeout, connect = true } = options;
  let current: B | undefined;
  let services: { disconnect(): Promise<unknown> }[] = [];
  let owned = false;

  beforeEach(async () => {
    services = [];
    owned = false;
    current = await makeBackend();
    if (connect) await current.connect?.();
  }, timeout);

  afterEach(async () => {
    await Promise.all(services.map((service) => service.disconnect().catch(() => undefined)));
    if (!owned) await current?.disconnect?.();
    current = undefined;
  }, timeout);

  return {
    backend: () => {
      if (current === undefined) throw new Error('the contract backend exists only while a test runs');
      return current;
    },
    track: (service, over) => {
      services.push(service);
      if (over === current) owned = true;
      return service;
    },
  };
}

/** `it` with the suite's per-test timeout (default: Jest's). */
export const timedTest =
  (timeout?: number) =>
  (name: string, body: () => Promise<void>): void =>
    it(name, body, timeout);

export interface RecordingView<B> {
  /** The operations the views were called with in the running test, in order (emptied before each test). */
  calls: string[];
  /** A new view of the backend; `fail` replaces every operation with one that throws it. */
  view: (fail?: Error) => B;
}

/**
 * Views of the backend as a service sees it: only its `operations`, without its lifecycle (the
 * suite owns that), each call's name recorded in `calls`.
 */
export function useRecordingView<B extends object>(
  backend: () => B,
  operations: readonly (keyof B & string)[],
): RecordingView<B> {
  const calls: string[] = [];
  beforeEach(() => {
    calls.splice(0);
  });
  const view = (fail?: Error): B =>
    Object.fromEntries(
      operations.map((operation) => [
        operation,
        (...args: unknown[]) => {
          calls.push(operation);
          if (fail) throw fail;
          const target = backend();
          return (target[operation] as (...a: unknown[]) => unknown).apply(target, args);
        },
      ]),
    ) as unknown as B;
  return { calls, view };
}

/**
 * A stand-in Account: a team is its own team, a user or agent is in the team `members` maps its id
 * to (own keys only: `constructor` is nobody), anyone else is in none.
 */
export function teamResolver(members: Readonly<Record<string, string>>): TeamResolver {
  return {
    getCandidateTeam: async (candidate) =>
      candidate.role === 'team'
        ? candidate.id
        : Object.hasOwn(members, candidate.id)
          ? members[candidate.id]
          : undefined,
  };
}

/** `bytes` characters of base64 alphabet, the same every run: a large secret or cache value. */
export function largeValue(bytes: number): string {
  const alphabet = 'abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+/';
  let text = '';
  for (let i = 0; i < bytes; i++) text += alphabet[(i * 7919 + (i >> 5)) % alphabet.length];
  return text;
}

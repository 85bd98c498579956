import { SreUnavailableError } from './errors';

// Names Nest, Node and test runners probe on any provider; answering them keeps the stand-in inert.
const PROBED = new Set([
  'then',
  'constructor',
  'toJSON',
  'inspect',
  'onModuleInit',
  'onApplicationBootstrap',
  'onModuleDestroy',
  'beforeApplicationShutdown',
  'onApplicationShutdown',
  'asymmetricMatch',
  'nodeType',
  '$$typeof',
]);

/**
 * Stands in for a subsystem that has no connector (not configured, and its default connector is
 * not available in this version). It never pretends to work (W01): every method throws a sentence
 * saying why, at the first call instead of returning `undefined`.
 */
export function createUnavailableConnector(subsystem: string, instance: string, reason: string): object {
  const where = instance === 'default' ? subsystem : `${subsystem}[${instance}]`;
  const target = Object.freeze({ unavailable: true, subsystem, reason });
  return new Proxy(target, {
    get(own, property) {
      if (typeof property === 'symbol' || PROBED.has(property)) return undefined;
      if (property in own) return own[property as keyof typeof own];
      return () => {
        throw new SreUnavailableError(`${where} is not available: ${reason}`, { subsystem });
      };
    },
  });
}

export function isUnavailableConnector(value: unknown): boolean {
  return typeof value === 'object' && value !== null && (value as { unavailable?: unknown }).unavailable === true;
}

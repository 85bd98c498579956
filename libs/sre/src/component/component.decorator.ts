import { DiscoveryService } from '@nestjs/core';
import { SreInvalidInputError } from '../core/errors';
import { assertKey } from '../core/resource-id';

/** The longest component name (as `ComponentService` checks it). */
const MAX_NAME_BYTES = 128;

/** The discoverable metadata behind `@SreComponent`: the component's name. */
export const SRE_COMPONENT_METADATA = DiscoveryService.createDecorator<string>();

/**
 * Marks a provider as an agent component: `@SreComponent('APICall') @Injectable() class ApiCall {}`.
 * With the `LocalComponent` connector, the provider's (singleton) instance is registered in the
 * global registry under `name`, for every team: it is application code, like `registerGlobal`.
 * The name is checked here, when the class is declared (1–128 bytes, no control characters).
 */
export function SreComponent(name: string): ClassDecorator {
  assertKey(name, '@SreComponent name', { subsystem: 'Component' }, MAX_NAME_BYTES);
  const decorate = SRE_COMPONENT_METADATA(name);
  return (target) => {
    if (typeof target !== 'function') throw new SreInvalidInputError('@SreComponent decorates a class');
    decorate(target);
  };
}

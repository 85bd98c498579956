import { Injectable } from '@nestjs/common';
import { SreComponent } from 'nestjs-sre';

/**
 * An example agent component: `@SreComponent` registers it in the global Component registry when
 * the app boots, so every team sees it (`GET /components`).
 */
@SreComponent('Echo')
@Injectable()
export class EchoComponent {
  /** Answers its input unchanged. */
  process<T>(input: T): T {
    return input;
  }
}

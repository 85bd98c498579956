import { IsInt, IsOptional, Max, Min } from 'class-validator';

/**
 * One decorator made of several, applied bottom first as a stack written above a field is: the
 * constraints register, and their messages list, in the same order as the stack they replace.
 */
export function stackDecorators(...decorators: PropertyDecorator[]): PropertyDecorator {
  return (target, key) => {
    for (let i = decorators.length - 1; i >= 0; i--) decorators[i](target, key);
  };
}

/** An optional time limit in milliseconds, from 100 ms to 10 minutes. */
export function TimeoutMsSetting(): PropertyDecorator {
  return stackDecorators(IsOptional(), IsInt(), Min(100), Max(600_000));
}

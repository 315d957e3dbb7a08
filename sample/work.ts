import { Logger } from '@nestjs/common';
import { currentTask } from 'nestjs-tasks';

const logger = new Logger('Work');

/** Pretends to work for `ms` milliseconds, logging start and end, and stops early if aborted. */
export async function work(label: string, ms: number): Promise<void> {
  const signal = currentTask()?.signal;
  logger.log(`${label}: start`);
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
  logger.log(`${label}: ${signal?.aborted ? 'aborted' : 'end'}`);
}

import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';

/** The README's TypeScript examples are compiled as files under sample/readme/; this keeps them in step. */
describe('README examples', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const folder = new URL('../sample/readme/', import.meta.url);
  const compiled = new Set(
    readdirSync(folder)
      .filter((name) => name.endsWith('.ts'))
      .flatMap((name) => readFileSync(new URL(name, folder), 'utf8').split('\n'))
      .map((line) => line.trim()),
  );
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => match[1]!);

  it('has TypeScript examples', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(5);
  });

  it.each(blocks.map((block, index) => [index, block] as const))('compiles every line of block %i', (_index, block) => {
    const missing = block
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '' && !compiled.has(line));
    expect(missing).toEqual([]);
  });
});

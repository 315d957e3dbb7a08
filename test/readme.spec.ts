import { describe, expect, it } from '@jest/globals';
import { readdirSync, readFileSync } from 'node:fs';

/**
 * The README's TypeScript examples are compiled as files under sample/readme/; this keeps them in
 * step: each example must appear, line after line, as one contiguous run of a single file.
 * Blank lines and indentation are ignored (an example may sit inside a function there), and so are
 * `// @ts-expect-error` lines, which let an example show a line that does not compile.
 */
describe('README examples', () => {
  const readme = readFileSync(new URL('../README.md', import.meta.url), 'utf8');
  const folder = new URL('../sample/readme/', import.meta.url);
  const lines = (text: string) =>
    text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line !== '');
  const files = readdirSync(folder)
    .filter((name) => name.endsWith('.ts'))
    .map((name) => ({
      name,
      lines: lines(readFileSync(new URL(name, folder), 'utf8')).filter(
        (line) => !line.startsWith('// @ts-expect-error'),
      ),
    }));
  const blocks = [...readme.matchAll(/```ts\n([\s\S]*?)```/g)].map((match) => lines(match[1]!));

  /** The run of `file` that matches the longest prefix of `block`: all of it when the block is there. */
  const closest = (block: string[], file: string[]) => {
    let best = { start: 0, matched: -1 };
    for (let start = 0; start < file.length; start++) {
      let matched = 0;
      while (matched < block.length && file[start + matched] === block[matched]) matched++;
      if (matched > best.matched) best = { start, matched };
    }
    return { run: file.slice(best.start, best.start + block.length), matched: best.matched };
  };

  it('has TypeScript examples', () => {
    expect(blocks.length).toBeGreaterThanOrEqual(5);
  });

  it.each(blocks.map((block, index) => [index, block] as const))(
    'has block %i as one contiguous run of a file under sample/readme/',
    (_index, block) => {
      const best = files
        .map((file) => ({ file: file.name, ...closest(block, file.lines) }))
        .reduce((a, b) => (b.matched > a.matched ? b : a));
      // On drift, the diff shows the closest run of the closest file against the README's lines.
      expect({ file: best.file, lines: best.run }).toEqual({ file: best.file, lines: block });
    },
  );
});

import { describe, expect, it } from '@jest/globals';
import { ESLint, type Linter } from 'eslint';
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import tseslint from 'typescript-eslint';

const root = fileURLToPath(new URL('..', import.meta.url));
const fixture = 'test/lint/call-form.fixture.ts';

/** The 1-based numbers of the fixture's lines that end with `comment`. */
function linesMarked(comment: string): number[] {
  return readFileSync(new URL(`../${fixture}`, import.meta.url), 'utf8')
    .split('\n')
    .flatMap((line, index) => (line.trimEnd().endsWith(comment) ? [index + 1] : []));
}

describe('the call() form under type-checked lint rules', () => {
  it('passes @typescript-eslint/unbound-method (recommendedTypeChecked), where a method passed as a value fails', async () => {
    const eslint = new ESLint({
      cwd: root,
      overrideConfigFile: true,
      overrideConfig: [
        ...(tseslint.configs.recommendedTypeChecked as Linter.Config[]),
        {
          files: ['**/*.ts'],
          languageOptions: { parserOptions: { project: './test/lint/tsconfig.json', tsconfigRootDir: root } },
        },
      ],
    });
    const [result] = await eslint.lintFiles([fixture]);
    const problems = result!.messages.map((message) => ({ line: message.line, rule: message.ruleId }));
    expect(linesMarked('// lint-clean')).toHaveLength(3);
    expect(problems).toEqual(
      linesMarked('// flagged: unbound-method').map((line) => ({ line, rule: '@typescript-eslint/unbound-method' })),
    );
  }, 60_000);
});

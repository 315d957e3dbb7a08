// Consumer tests from the packed tarball: packs nestjs-tasks, installs it into throwaway
// projects under a temporary folder (CommonJS + Jest on Nest 11 and 10, ESM + Jest on Nest 12
// with Fastify), runs each project's own `npm test` (the CommonJS ones share
// test/consumers/shared/cjs-app.spec.ts), and checks that plain `require` and
// `import` load the package. Prints `consumers: N passed, N failed`; exits 1 if any failed.
// npm's cache (~/.npm) makes repeated runs fast; every project installs with --prefer-offline.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

const root = resolve(import.meta.dirname, '..');
const fixtures = join(root, 'test', 'consumers');
const work = mkdtempSync(join(tmpdir(), 'nestjs-tasks-consumers-'));
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const run = (cwd, command, args, env = {}) =>
  execFileSync(command, args, { cwd, stdio: 'inherit', env: { ...process.env, NODE_OPTIONS: '', ...env } });

const results = [];
const check = (name, fn) => {
  const started = Date.now();
  try {
    fn();
    results.push({ name, ok: true });
    console.log(`consumer ok: ${name} (${Math.round((Date.now() - started) / 1000)} s)`);
  } catch (error) {
    results.push({ name, ok: false });
    console.error(`consumer FAILED: ${name}: ${error.message}`);
  }
};

try {
  run(root, npm, ['run', 'build']);
  const packed = execFileSync(npm, ['pack', '--silent', '--pack-destination', work], { cwd: root, encoding: 'utf8' });
  const tarball = join(work, packed.trim().split('\n').pop());
  const projects = readdirSync(fixtures).filter((name) => name !== 'shared');
  for (const name of projects) {
    const dir = join(work, name);
    cpSync(join(fixtures, name), dir, { recursive: true });
    mkdirSync(join(dir, 'src'), { recursive: true });
    cpSync(join(fixtures, 'shared', 'app.ts'), join(dir, 'src', 'app.ts'));
    if (name.startsWith('cjs')) cpSync(join(fixtures, 'shared', 'cjs-app.spec.ts'), join(dir, 'src', 'app.spec.ts'));
    check(`${name}: npm install`, () =>
      run(dir, npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball]),
    );
    check(`${name}: npm test`, () => run(dir, npm, ['test', '--silent'], { CI: 'true' }));
    const load = name.startsWith('esm')
      ? ['--input-type=module', '-e', "const m = await import('nestjs-tasks'); if (!m.TasksModule) process.exit(1);"]
      : ['-e', "if (!require('nestjs-tasks').TasksModule) process.exit(1);"];
    check(`${name}: node ${load[0] === '-e' ? 'require' : 'import'}('nestjs-tasks')`, () =>
      run(dir, process.execPath, load),
    );
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const passed = results.filter((result) => result.ok).length;
console.log(`consumers: ${passed} passed, ${results.length - passed} failed`);
process.exit(passed === results.length && results.length > 0 ? 0 : 1);

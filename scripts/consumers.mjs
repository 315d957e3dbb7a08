// Consumer tests from the packed tarball.
// 1. Packs nestjs-tasks from a clean copy of the source tree — the files a fresh clone has, plus
//    uncommitted changes, without dist/ — so `prepack` has to build it, and checks that the
//    tarball holds both builds.
// 2. Installs the tarball into throwaway projects under a temporary folder: CommonJS + Jest on
//    Nest 11 and 10 (they share test/consumers/shared/cjs/), ESM + Jest on Nest 12 with Fastify,
//    ESM on Nest 12 with nestjs-cls 7.
// 3. On each Node line given with `--node DIR` (a directory holding `node`; default: the node
//    running this script), runs each project's own `npm test` and checks that plain `require` /
//    `import` load the package. A project whose package.json says `"engines": {"node": ">=N"}`
//    runs only on lines N and later, and is installed with the first of them.
// Prints `consumers: N passed, N failed`; exits 1 if any failed.
// npm's cache (~/.npm) makes repeated runs fast; every project installs with --prefer-offline.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { delimiter, dirname, join, resolve } from 'node:path';
import { parseArgs } from 'node:util';

const root = resolve(import.meta.dirname, '..');
const fixtures = join(root, 'test', 'consumers');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';

const { values } = parseArgs({ options: { node: { type: 'string', multiple: true } } });
const lines = (values.node ?? [dirname(process.execPath)]).map((dir) => {
  const node = join(resolve(dir), 'node');
  const version = execFileSync(node, ['--version'], { encoding: 'utf8' }).trim().slice(1);
  return { node, version, major: Number(version.split('.')[0]), dir: resolve(dir) };
});

/** Runs a command on one Node line: its directory first on PATH, so npm and scripts use it. */
const run = (cwd, line, command, args, env = {}) =>
  execFileSync(command, args, {
    cwd,
    stdio: 'inherit',
    env: { ...process.env, PATH: `${line.dir}${delimiter}${process.env.PATH}`, NODE_OPTIONS: '', ...env },
  });

/** Run in a project without the optional peers (ESM). */
const PEERLESS = `
const root = await import('nestjs-tasks');
const testing = await import('nestjs-tasks/testing');
if (!root.TasksModule || !testing.TasksTestingModule) process.exit(1);
for (const [entry, peer] of [
  ['nestjs-tasks/opentelemetry', '@opentelemetry/api'],
  ['nestjs-tasks/terminus', '@nestjs/terminus'],
  ['nestjs-tasks/bullmq', 'bullmq'],
]) {
  try {
    await import(entry);
    console.error(entry + ' loaded without ' + peer);
    process.exit(1);
  } catch (error) {
    if (error.code !== 'ERR_MODULE_NOT_FOUND' || !String(error.message).includes(peer)) throw error;
  }
}
`;

const results = [];
const check = (name, fn) => {
  const started = Date.now();
  try {
    fn();
    results.push({ name, ok: true });
    console.log(`consumer ok: ${name} (${Math.round((Date.now() - started) / 1000)} s)`);
    return true;
  } catch (error) {
    results.push({ name, ok: false });
    console.error(`consumer FAILED: ${name}: ${error.message}`);
    return false;
  }
};

/** Copies the files a fresh clone would have (tracked and untracked-not-ignored ones) to `dest`. */
function copySourceTree(dest) {
  const listed = execFileSync('git', ['ls-files', '-z', '--cached', '--others', '--exclude-standard'], {
    cwd: root,
    encoding: 'utf8',
  });
  for (const file of listed.split('\0').filter(Boolean)) {
    if (!existsSync(join(root, file))) continue; // deleted in the working tree
    mkdirSync(dirname(join(dest, file)), { recursive: true });
    cpSync(join(root, file), join(dest, file));
  }
  symlinkSync(join(root, 'node_modules'), join(dest, 'node_modules'), 'dir');
}

/** `>=N` from a fixture's engines.node, else 0. */
function minMajor(dir) {
  const range = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).engines?.node;
  if (range === undefined) return 0;
  const match = /^>=\s*(\d+)$/.exec(range.trim());
  if (!match) throw new Error(`${dir}: engines.node must be ">=N" for scripts/consumers.mjs, got "${range}"`);
  return Number(match[1]);
}

const work = mkdtempSync(join(tmpdir(), 'nestjs-tasks-consumers-'));
try {
  const source = join(work, 'source');
  let tarball;
  const packed = check('npm pack from a clean tree (no dist/) holds dist/esm/index.js and dist/cjs/index.js', () => {
    copySourceTree(source);
    run(source, lines[0], npm, ['pack', '--pack-destination', work, '--loglevel=warn']);
    tarball = join(
      work,
      readdirSync(work).find((name) => name.endsWith('.tgz')),
    );
    const entries = execFileSync('tar', ['-tzf', tarball], { encoding: 'utf8' }).split('\n');
    const absent = ['package/dist/esm/index.js', 'package/dist/cjs/index.js'].filter((f) => !entries.includes(f));
    if (absent.length > 0) throw new Error(`the tarball lacks ${absent.join(', ')}; it holds:\n${entries.join('\n')}`);
  });

  const projects = packed ? readdirSync(fixtures).filter((name) => name !== 'shared') : [];
  for (const name of projects) {
    const dir = join(work, name);
    cpSync(join(fixtures, name), dir, { recursive: true });
    mkdirSync(join(dir, 'src'), { recursive: true });
    cpSync(join(fixtures, 'shared', 'app.ts'), join(dir, 'src', 'app.ts'));
    if (name.startsWith('cjs')) cpSync(join(fixtures, 'shared', 'cjs'), join(dir, 'src'), { recursive: true });
    const min = minMajor(dir);
    const on = lines.filter((line) => line.major >= min);
    if (on.length === 0) {
      console.log(`consumer not run: ${name} needs Node >= ${min}; lines given: ${lines.map((l) => l.version)}`);
      continue;
    }
    const installed = check(`${name}: npm install (node ${on[0].version})`, () =>
      run(dir, on[0], npm, ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', tarball]),
    );
    if (!installed) continue;
    for (const line of on) {
      check(`${name} on node ${line.version}: npm test`, () =>
        run(dir, line, npm, ['test', '--silent'], { CI: 'true' }),
      );
      const load = name.startsWith('esm')
        ? ['--input-type=module', '-e', "const m = await import('nestjs-tasks'); if (!m.TasksModule) process.exit(1);"]
        : ['-e', "if (!require('nestjs-tasks').TasksModule) process.exit(1);"];
      check(`${name} on node ${line.version}: ${load[0] === '-e' ? 'require' : 'import'}('nestjs-tasks')`, () =>
        run(dir, line, line.node, load),
      );
      // A project without an optional peer: the root entry and nestjs-tasks/testing load, and the
      // peer's own entry fails for want of the peer alone.
      const deps = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')).dependencies ?? {};
      if (deps['@opentelemetry/api'] === undefined && deps['@nestjs/terminus'] === undefined) {
        check(
          `${name} on node ${line.version}: without the optional peers, nestjs-tasks/testing loads and /opentelemetry, /terminus, /bullmq name their peer`,
          () => run(dir, line, line.node, ['--input-type=module', '-e', PEERLESS]),
        );
      }
    }
  }
} finally {
  rmSync(work, { recursive: true, force: true });
}

const passed = results.filter((result) => result.ok).length;
console.log(`consumers: ${passed} passed, ${results.length - passed} failed`);
process.exit(passed === results.length && results.length > 0 ? 0 : 1);

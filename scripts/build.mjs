// Builds dist/esm (ESM) and dist/cjs (CommonJS), each with type declarations.
// TypeScript picks a file's output format from the package.json nearest to its source, so the
// CommonJS build compiles a copy of lib/ placed under a {"type": "commonjs"} package.json.
import { execFileSync } from 'node:child_process';
import { cpSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';

const tsc = (project) =>
  execFileSync(process.execPath, ['node_modules/typescript/bin/tsc', '-p', project], { stdio: 'inherit' });

rmSync('dist', { recursive: true, force: true });
rmSync('.build', { recursive: true, force: true });

tsc('tsconfig.build.json');

mkdirSync('.build/cjs', { recursive: true });
cpSync('lib', '.build/cjs/lib', { recursive: true });
writeFileSync('.build/cjs/package.json', '{ "type": "commonjs" }\n');
tsc('tsconfig.build-cjs.json');
writeFileSync('dist/cjs/package.json', '{ "type": "commonjs" }\n');
rmSync('.build', { recursive: true, force: true });

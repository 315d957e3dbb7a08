/**
 * The bench children's side of the protocol with the bench process: `READY ...` on stdout once
 * started; `CPU` on stdin is answered with this process's CPU time so far (µs); closing stdin
 * closes the app and exits, so a bench never leaves a child behind.
 */
export function serveBench(ready: string, close: () => Promise<void>): void {
  process.stdout.write(`READY ${ready}\n`);
  process.stdin.on('data', (chunk: Buffer) => {
    if (!chunk.toString().includes('CPU')) return;
    const { user, system } = process.cpuUsage();
    process.stdout.write(`CPU ${user + system}\n`);
  });
  process.stdin.on('close', () => void close().then(() => process.exit(0)));
  process.stdin.resume();
}

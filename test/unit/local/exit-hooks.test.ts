import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { describe, expect, it } from 'vitest';

const hooks = new URL('../../../infra/local/exit-hooks.ts', import.meta.url).href;

/**
 * Runs `body` in a fresh Node process after registering a cleanup that prints "cleaned", and
 * `signal`s it once it prints "ready". The cleanup must run however the process ends.
 */
async function run(body: string, signal?: NodeJS.Signals) {
  const script = `import { writeSync } from 'node:fs';
import { onExit } from '${hooks}';
const unregister = onExit(() => writeSync(1, 'cleaned\\n'));
${body}`;
  const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  child.stdout.on('data', (chunk: Buffer) => {
    stdout += chunk.toString();
    if (signal && stdout.includes('ready')) child.kill(signal);
  });
  const [code, killedBy] = (await once(child, 'exit')) as [number | null, NodeJS.Signals | null];
  return { cleaned: stdout.includes('cleaned'), code, killedBy, stdout };
}

const waitForever = "writeSync(1, 'ready\\n'); setInterval(() => {}, 60_000);";

describe('exit hooks', () => {
  it('run when the process ends normally or calls process.exit', async () => {
    expect(await run('')).toMatchObject({ cleaned: true, code: 0 });
    expect(await run('process.exit(3);')).toMatchObject({ cleaned: true, code: 3 });
  });

  it('run on an uncaught exception and an unhandled rejection, which still fail the process', async () => {
    expect(await run("setTimeout(() => { throw new Error('boom'); });")).toMatchObject({ cleaned: true, code: 1 });
    expect(await run("Promise.reject(new Error('boom'));")).toMatchObject({ cleaned: true, code: 1 });
  });

  it('run on SIGTERM and SIGINT, and the process still dies of the signal', async () => {
    expect(await run(waitForever, 'SIGTERM')).toMatchObject({ cleaned: true, killedBy: 'SIGTERM' });
    expect(await run(waitForever, 'SIGINT')).toMatchObject({ cleaned: true, killedBy: 'SIGINT' });
  });

  it('leave the shutdown to another signal listener when there is one', async () => {
    const graceful = `process.on('SIGTERM', () => { writeSync(1, 'graceful\\n'); process.exit(7); }); ${waitForever}`;
    const result = await run(graceful, 'SIGTERM');
    expect(result).toMatchObject({ cleaned: true, code: 7 });
    expect(result.stdout).toContain('graceful');
  });

  it('do not run once unregistered (after a normal stop)', async () => {
    expect(await run('unregister();')).toMatchObject({ cleaned: false, code: 0 });
  });
});

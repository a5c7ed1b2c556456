import { randomBytes } from 'node:crypto';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';

/**
 * The key that signs list cursors (SLIPWAY_CURSOR_KEY; on AWS a generated secret, ADR 14): kept in
 * `<dir>/cursor-key` (mode 0600) so cursors stay valid across restarts, or fresh for an in-memory run.
 */
export async function loadCursorKey(dir?: string): Promise<string> {
  const fresh = randomBytes(32).toString('base64url');
  if (dir === undefined) return fresh;
  await mkdir(dir, { recursive: true });
  const path = join(dir, 'cursor-key');
  // 'wx': the first start writes it; every later one (and a concurrent one) reads that.
  await writeFile(path, fresh, { flag: 'wx', mode: 0o600 }).catch((error: NodeJS.ErrnoException) => {
    if (error.code !== 'EEXIST') throw error;
  });
  return (await readFile(path, 'utf8')).trim();
}

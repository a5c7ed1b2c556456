import type { IncomingMessage } from 'node:http';

/**
 * A request's whole body, or undefined once it passes `limit`. The rest is still read (and
 * dropped) so the client, which may still be sending, gets the 413 instead of a reset connection.
 * Every local server reads bodies this way: the gateway, the AWS endpoint, the Kubernetes simulator.
 */
export function readBody(req: IncomingMessage, limit: number): Promise<Buffer | undefined> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= limit) chunks.push(chunk);
    });
    req.on('end', () => resolve(size <= limit ? Buffer.concat(chunks) : undefined));
    req.on('error', reject);
  });
}

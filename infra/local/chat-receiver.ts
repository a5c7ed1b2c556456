/**
 * A stand-in for a Slack incoming webhook on this machine: `npm start` points the notifier at it
 * (unless `--chat <file>` names real channels) and prints each message it receives, so chat
 * notifications are visible without a Slack workspace.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface ChatReceiver {
  /** `http://127.0.0.1:<port>/slack` */
  url: string;
  close(): Promise<void>;
}

export async function startChatReceiver(print: (line: string) => void): Promise<ChatReceiver> {
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => {
      try {
        const message = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { text?: string };
        print(`chat ▸ ${message.text ?? '(no text)'}`);
      } catch {
        print('chat ▸ (a message that is not JSON)');
      }
      res.writeHead(200, { 'content-type': 'text/plain' }).end('ok');
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/slack`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

/** The notifier configuration that sends every message to the receiver. */
export const receiverChannels = (receiver: ChatReceiver) => ({
  channels: [{ kind: 'slack', url: receiver.url }],
  allowed_hosts: ['127.0.0.1'],
  allow_private: ['127.0.0.1'],
});

/**
 * A relying party's back-channel logout endpoint (OpenID Connect Back-Channel Logout 1.0 §2.5) on
 * loopback: it keeps every logout_token it receives. Gatehouse reaches it only with
 * OUTBOUND_PRIVATE_HOSTS=127.0.0.1.
 */
import { once } from 'node:events';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export type LogoutReceiver = {
  /** the backchannel_logout_uri to register */
  uri: string;
  /** every logout_token received, in order */
  tokens: string[];
  /** resolves when the next token arrives (call it before the action that sends one) */
  next(): Promise<void>;
  close(): Promise<void>;
};

export async function startLogoutReceiver(): Promise<LogoutReceiver> {
  const tokens: string[] = [];
  let arrived: () => void = () => {};
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      res.writeHead(200, { 'cache-control': 'no-store' }).end();
      tokens.push(new URLSearchParams(Buffer.concat(chunks).toString()).get('logout_token') ?? '');
      arrived();
    });
  });
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  return {
    uri: `http://127.0.0.1:${(server.address() as AddressInfo).port}/backchannel-logout`,
    tokens,
    next: () => new Promise<void>((resolve) => (arrived = resolve)),
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}

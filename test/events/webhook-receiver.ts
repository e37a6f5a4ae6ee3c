/**
 * A webhook receiver on loopback for the tests: it keeps every request (headers and body, in arrival
 * order), answers with the statuses it is told (then 200), can hang without answering, and can go down and
 * come back on the same port. Gatehouse reaches it only with OUTBOUND_PRIVATE_HOSTS=127.0.0.1.
 */
import { once } from 'node:events';
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { Webhook } from 'standardwebhooks';

/** Gatehouse settings for the tests: loopback allowed, short polls and back-off (a retry within milliseconds). */
export const FAST_WEBHOOKS = { OUTBOUND_PRIVATE_HOSTS: '127.0.0.1', WEBHOOK_POLL_INTERVAL_MS: '50', WEBHOOK_RETRY_BASE_MS: '20', WEBHOOK_RETRY_MAX_DELAY: '1s', WEBHOOK_TIMEOUT: '2s' };

export type Received = { id: string; headers: IncomingHttpHeaders; body: string; status: number; at: number };

export type WebhookReceiver = {
  url: string;
  port: number;
  /** every request, in arrival order, with the status it was answered */
  received: Received[];
  /** the statuses of the next answers, in order; after them, 200 */
  answers: number[];
  /** requests are held unanswered (an attempt in flight) */
  hang: boolean;
  /** how many requests were held unanswered */
  held: number;
  /** resolves once `check` holds for the requests received (checked on every arrival; bounded by `ms`) */
  until(what: string, check: (r: Received[]) => boolean, ms?: number): Promise<void>;
  /** the bodies of the answered-200 requests, parsed, verified with the standardwebhooks library */
  verified(secret: string | string[]): { id: string; type: string; data: Record<string, unknown>; timestamp: string }[];
  down(): Promise<void>;
  up(): Promise<void>;
  close(): Promise<void>;
};

export async function startWebhookReceiver(port = 0): Promise<WebhookReceiver> {
  const received: Received[] = [];
  const waiters = new Set<() => void>();
  const sockets = new Set<Socket>();
  let server: Server;
  const receiver: WebhookReceiver = {
    url: '',
    port,
    received,
    answers: [],
    hang: false,
    held: 0,
    until(what, check, ms = 20_000) {
      if (check(received)) return Promise.resolve();
      return new Promise((resolve, reject) => {
        const timer = setTimeout(() => {
          waiters.delete(probe);
          reject(new Error(`timed out after ${ms}ms waiting for ${what}; received ${received.length}: ${received.map((r) => `${r.status} ${r.body.slice(0, 80)}`).join(' | ')}`));
        }, ms);
        const probe = () => {
          if (!check(received)) return;
          clearTimeout(timer);
          waiters.delete(probe);
          resolve();
        };
        waiters.add(probe);
      });
    },
    verified(secret) {
      const secrets = Array.isArray(secret) ? secret : [secret];
      return received.filter((r) => r.status === 200).map((r) => {
        const headers = { 'webhook-id': String(r.headers['webhook-id']), 'webhook-timestamp': String(r.headers['webhook-timestamp']), 'webhook-signature': String(r.headers['webhook-signature']) };
        for (const s of secrets) new Webhook(s).verify(r.body, headers); // throws unless every secret's signature is there
        const body = JSON.parse(r.body) as { type: string; data: Record<string, unknown>; timestamp: string };
        return { id: r.id, ...body };
      });
    },
    async down() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async up() {
      await listen(receiver.port);
    },
    close: () => receiver.down(),
  };
  async function listen(p: number): Promise<void> {
    server = createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        if (receiver.hang) {
          receiver.held++; // never answered: the sender's time limit ends it
          for (const w of [...waiters]) w();
          return;
        }
        const status = receiver.answers.shift() ?? 200;
        received.push({ id: String(req.headers['webhook-id']), headers: req.headers, body: Buffer.concat(chunks).toString(), status, at: Date.now() });
        res.writeHead(status).end();
        for (const w of [...waiters]) w();
      });
    });
    server.on('connection', (s: Socket) => {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
    });
    server.listen(p, '127.0.0.1');
    await once(server, 'listening');
    receiver.port = (server.address() as AddressInfo).port;
    receiver.url = `http://127.0.0.1:${receiver.port}/hooks`;
  }
  await listen(port);
  return receiver;
}

import { createServer } from 'node:net';

/**
 * Ask the kernel for an unused TCP port on the loopback interface.
 * There is an unavoidable race between closing this listener and the child
 * binding the port, but on a test machine it is vanishingly rare.
 */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('freePort: listener has no TCP address'));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

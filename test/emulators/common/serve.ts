/**
 * Serve one request handler over plain http and https on loopback, with a close() that does not wait for
 * keep-alive sockets to time out (tests stop emulators often, and a lingering socket would hold jest open).
 */
import http from 'node:http';
import https from 'node:https';
import type { Socket } from 'node:net';

export interface ServeBothOptions {
  /** 0 or unset: a free port. */
  httpPort?: number;
  httpsPort?: number;
  tls: { key: string; cert: string };
}

export interface ServedBoth {
  httpUrl: string;
  httpsUrl: string;
  close(): Promise<void>;
}

function listen(server: http.Server, port: number): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => {
      server.off('error', reject);
      const address = server.address();
      if (address && typeof address === 'object') resolve(address.port);
      else reject(new Error('server has no TCP address'));
    });
  });
}

export async function serveBoth(handler: http.RequestListener, opts: ServeBothOptions): Promise<ServedBoth> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once('close', () => sockets.delete(socket));
  };
  const plain = http.createServer(handler);
  const secure = https.createServer({ key: opts.tls.key, cert: opts.tls.cert }, handler);
  plain.on('connection', track);
  // 'connection' on an https server gives the raw TCP socket; destroying it also ends the TLS session.
  secure.on('connection', track);

  const httpPort = await listen(plain, opts.httpPort ?? 0);
  let httpsPort: number;
  try {
    httpsPort = await listen(secure, opts.httpsPort ?? 0);
  } catch (err) {
    plain.close();
    throw err;
  }

  const closeOne = (server: http.Server): Promise<void> => new Promise((resolve) => server.close(() => resolve()));
  return {
    httpUrl: `http://127.0.0.1:${httpPort}`,
    // 127.0.0.1 rather than localhost: Node 20 may resolve localhost to ::1 first, where nothing listens.
    httpsUrl: `https://127.0.0.1:${httpsPort}`,
    async close() {
      const done = Promise.all([closeOne(plain), closeOne(secure)]);
      for (const socket of sockets) socket.destroy();
      await done;
    },
  };
}

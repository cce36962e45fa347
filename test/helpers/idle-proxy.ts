/**
 * A TCP proxy that behaves like an HTTP/2-terminating proxy or load balancer
 * with an idle timeout (nginx `grpc_read_timeout`, a cloud load balancer's
 * idle timeout): it closes the connection when the server sent no DATA frame
 * for `idleMs`. HTTP/2 PINGs and their ACKs do not count, as they do not cross
 * such proxies. Plaintext HTTP/2 only (the server's bytes are plain frames).
 */
import net from 'node:net';

export interface IdleProxy {
  port: number;
  /** Connections it cut for idleness. */
  cut: number;
  close(): Promise<void>;
}

const DATA = 0x0;

export async function startIdleProxy(upstreamPort: number, idleMs: number): Promise<IdleProxy> {
  const sockets = new Set<net.Socket>();
  const proxy: IdleProxy = { port: 0, cut: 0, close: async () => {} };
  const server = net.createServer((client) => {
    const upstream = net.connect(upstreamPort, '127.0.0.1');
    for (const s of [client, upstream]) {
      sockets.add(s);
      s.on('close', () => sockets.delete(s));
      s.on('error', () => undefined);
    }
    let timer: NodeJS.Timeout | undefined;
    const idle = () => {
      clearTimeout(timer);
      timer = setTimeout(() => {
        proxy.cut++;
        client.destroy();
        upstream.destroy();
      }, idleMs);
    };
    idle();
    client.on('close', () => { clearTimeout(timer); upstream.destroy(); });
    upstream.on('close', () => { clearTimeout(timer); client.destroy(); });
    client.pipe(upstream);
    // Walk the server's frames: a 9-byte header (24-bit length, type, flags, stream id), then the payload.
    let header = Buffer.alloc(0);
    let skip = 0;
    upstream.on('data', (chunk: Buffer) => {
      client.write(chunk);
      let at = 0;
      while (at < chunk.length) {
        if (skip > 0) {
          const n = Math.min(skip, chunk.length - at);
          skip -= n;
          at += n;
          continue;
        }
        const need = 9 - header.length;
        header = Buffer.concat([header, chunk.subarray(at, at + need)]);
        at += Math.min(need, chunk.length - at);
        if (header.length < 9) break;
        skip = header.readUIntBE(0, 3);
        if (header[3] === DATA) idle();
        header = Buffer.alloc(0);
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  proxy.port = (server.address() as net.AddressInfo).port;
  proxy.close = async () => {
    for (const s of sockets) s.destroy();
    await new Promise((r) => server.close(r));
  };
  return proxy;
}

/**
 * The floor for `bench:gateway`: a proxy that does nothing but forward, in node:http, in a
 * process of its own like the Argus node. What it adds to time to first token is what any
 * Node gateway pays on this machine for the extra hop (two more processes woken, two more
 * sockets written) before doing any work of its own.
 *   parent → child: 'measure-cpu' (start counting CPU time), 'report', 'stop'
 *   child → parent: { ready: url }, { measuring: true }, { report: { cpuMs } }
 * Env: UPSTREAM (the model server's base URL).
 */
import { Agent, createServer, request } from 'node:http';

const upstream = new URL(`${process.env.UPSTREAM!.replace(/\/$/, '')}/chat/completions`);
const agent = new Agent({ keepAlive: true });
const server = createServer((req, res) => {
  const chunks: Buffer[] = [];
  req.on('data', (chunk: Buffer) => chunks.push(chunk));
  req.on('end', () => {
    const body = Buffer.concat(chunks);
    const forward = request(
      { hostname: upstream.hostname, port: upstream.port, path: upstream.pathname, method: 'POST', agent, headers: { 'content-type': 'application/json', 'content-length': body.length } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, { 'content-type': answer.headers['content-type'] ?? 'text/event-stream' });
        answer.on('data', (chunk: Buffer) => res.write(chunk));
        answer.on('end', () => res.end());
      },
    );
    forward.on('error', () => res.destroy());
    forward.end(body);
  });
});
server.listen(0, '127.0.0.1', () => {
  const { port } = server.address() as { port: number };
  process.send!({ ready: `http://127.0.0.1:${port}` });
});
let cpuStart = process.cpuUsage();
process.on('message', (message: string) => {
  if (message === 'measure-cpu') {
    cpuStart = process.cpuUsage();
    process.send!({ measuring: true });
  } else if (message === 'report') {
    const cpu = process.cpuUsage(cpuStart);
    process.send!({ report: { cpuMs: (cpu.user + cpu.system) / 1000 } });
  } else if (message === 'stop') {
    server.closeAllConnections();
    server.close(() => process.exit(0));
  }
});

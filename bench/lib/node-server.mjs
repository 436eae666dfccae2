// Baseline server in its own process: bare node:http, no framework, no isolation.
// MODE=hello: answers "hello" at once. MODE=timer: awaits a 50 ms timer, then answers (the same
// work as the Spillway handler, as a plain async function). Prints `LISTENING <port>`.
import { createServer } from 'node:http';

const mode = process.env.MODE ?? 'hello';
const delayMs = Number(process.env.DELAY_MS ?? 50);
const headers = { 'content-type': 'text/plain;charset=UTF-8' };

const handler =
  mode === 'timer'
    ? async () => {
        await new Promise((r) => setTimeout(r, delayMs));
        return 'waited';
      }
    : null;

const server = createServer((req, res) => {
  if (handler === null) {
    res.writeHead(200, headers);
    res.end('hello');
    return;
  }
  handler().then((body) => {
    res.writeHead(200, headers);
    res.end(body);
  });
});
// Same keep-alive timeout as a default Fastify server, and the same default listen backlog (511).
server.keepAliveTimeout = 72_000;
server.listen({ port: 0, host: '127.0.0.1' }, () => {
  process.stdout.write(`LISTENING ${server.address().port}\n`);
});
process.on('SIGTERM', () => process.exit(0));

/**
 * Serves the (read-only) WPT folder over HTTP on 127.0.0.1 for one run, so tests can fetch their
 * resources relative to their own URL (`url/resources/urltestdata.json`, `FileAPI/support/…`).
 * Only GET and HEAD of files inside the folder; a file `X.headers` next to `X` adds its
 * `Name: value` lines to X's response, as wptserve does. Nothing else of wptserve (no `*.py`
 * handlers, no `.sub.` substitution): files that need those are skipped by discovery.
 */
import { createReadStream, existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json',
  '.txt': 'text/plain',
  '.html': 'text/html; charset=utf-8',
  '.htm': 'text/html; charset=utf-8',
  '.xml': 'application/xml',
  '.css': 'text/css',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.gif': 'image/gif',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
  '.idl': 'text/plain',
};

export interface StaticServer {
  /** `http://127.0.0.1:<port>` */
  origin: string;
  host: string;
  port: number;
  close(): Promise<void>;
}

function extraHeaders(file: string): Array<[string, string]> {
  const path = `${file}.headers`;
  if (!existsSync(path)) return [];
  const out: Array<[string, string]> = [];
  for (const line of readFileSync(path, 'utf8').split(/\r?\n/)) {
    const i = line.indexOf(':');
    if (i > 0) out.push([line.slice(0, i).trim(), line.slice(i + 1).trim()]);
  }
  return out;
}

export async function startStaticServer(root: string): Promise<StaticServer> {
  const base = normalize(root + sep);
  const server: Server = createServer((req, res) => {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD', 'content-type': 'text/plain' }).end('only GET and HEAD\n');
      return;
    }
    let pathname: string;
    try {
      pathname = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    } catch {
      res.writeHead(400, { 'content-type': 'text/plain' }).end('bad path\n');
      return;
    }
    const file = normalize(join(base, pathname));
    if (!file.startsWith(base) || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found\n');
      return;
    }
    const headers: Record<string, string | number> = {
      'content-type': TYPES[extname(file).toLowerCase()] ?? 'application/octet-stream',
      'content-length': statSync(file).size,
      'access-control-allow-origin': '*',
    };
    for (const [name, value] of extraHeaders(file)) headers[name.toLowerCase()] = value;
    res.writeHead(200, headers);
    if (req.method === 'HEAD') res.end();
    else createReadStream(file).pipe(res);
  });
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    host: '127.0.0.1',
    port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

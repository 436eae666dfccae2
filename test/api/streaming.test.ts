/**
 * Issue 4 §5: a handler's ReadableStream response reaches the client chunk by chunk. The proof is
 * causal, not timed: the handler writes its second event only after an upstream request that the
 * test answers once it has read the first event, so the client must hold the first event before
 * the last is written.
 */
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { deploy, startPlatform, type TestPlatform } from '../helpers/platform.js';

describe('streamed responses', () => {
  let t: TestPlatform;
  let upstream: Server;
  let openGate: (() => void) | null = null;
  let gateRequested!: Promise<void>;
  let gateWasRequested!: () => void;

  before(async () => {
    gateRequested = new Promise((r) => (gateWasRequested = r));
    upstream = createServer((req, res) => {
      gateWasRequested();
      openGate = () => res.end('go');
    });
    await new Promise<void>((r) => upstream.listen(0, '127.0.0.1', r));
    const port = (upstream.address() as { port: number }).port;
    t = await startPlatform({ SPILLWAY_FETCH_ALLOW_HOSTS: `127.0.0.1:${port}` });
    await deploy(
      t.base,
      'events',
      `export default {
        fetch() {
          const encoder = new TextEncoder();
          const stream = new ReadableStream({
            async start(controller) {
              controller.enqueue(encoder.encode('data: first\\n\\n'));
              const gate = await fetch('http://127.0.0.1:${port}/gate');
              controller.enqueue(encoder.encode('data: ' + (await gate.text()) + '\\n\\n'));
              controller.close();
            },
          });
          return new Response(stream, { headers: { 'content-type': 'text/event-stream', 'cache-control': 'no-store' } });
        },
      };`,
    );
  });
  after(async () => {
    await t.close();
    upstream.closeAllConnections();
    await new Promise((r) => upstream.close(r));
  });

  it('encodes string chunks as UTF-8', async () => {
    await deploy(t.base, 'text-stream', `export default { fetch() {
      return new Response(new ReadableStream({ start(c) { c.enqueue('héllo '); c.enqueue('wörld ✓'); c.close(); } }));
    } }`);
    const res = await fetch(`${t.base}/fn/text-stream`);
    assert.equal(await res.text(), 'héllo wörld ✓');
  });

  it('delivers the first event before the handler writes the last', async () => {
    const res = await fetch(`${t.base}/fn/events`);
    assert.equal(res.status, 200);
    assert.equal(res.headers.get('content-type'), 'text/event-stream');
    const reader = res.body!.getReader();
    const first = await reader.read();
    assert.equal(new TextDecoder().decode(first.value), 'data: first\n\n');
    // Only now, with the first event in hand, let the handler write the second one.
    await gateRequested;
    assert.ok(openGate, 'the handler is waiting on the upstream');
    openGate!();
    let rest = '';
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      rest += new TextDecoder().decode(value);
    }
    assert.equal(rest, 'data: go\n\n');
  });
});

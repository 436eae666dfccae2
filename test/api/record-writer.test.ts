/**
 * HTTP invocation records on SQLite are written by a worker thread with its own connection
 * (src/executions/worker-record-sink.ts): every record is there once the platform has closed,
 * and a flush makes them readable through the API at once.
 */
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { rm } from 'node:fs/promises';
import { api, deploy, startPlatform } from '../helpers/platform.js';
import { SqliteMetadataStore } from '../../src/storage/sqlite/sqlite-metadata-store.js';
import { WorkerRecordSink } from '../../src/executions/worker-record-sink.js';

describe('records written from a worker thread', () => {
  it('the SQLite platform records HTTP calls through the worker; a flush makes them readable', async () => {
    const t = await startPlatform();
    try {
      assert.ok((t.platform.recorder as unknown as { store: unknown }).store instanceof WorkerRecordSink, 'the recorder writes through the worker thread');
      await deploy(t.base, 'rec', `export default { fetch() { return new Response('ok') } };`);
      const res = await fetch(`${t.base}/fn/rec`);
      assert.equal(await res.text(), 'ok');
      await t.platform.recorder.flush();
      const rec = (await api(t.base, 'GET', `/api/executions/${res.headers.get('x-spillway-execution-id')}`)).body.data;
      assert.equal(rec.status, 'completed');
      assert.equal(rec.trigger, 'http');
    } finally {
      await t.close();
    }
  });

  it('every one of 600 records is in the database after close', async () => {
    const t = await startPlatform();
    const dataDir = t.dataDir;
    await deploy(t.base, 'many', `export default { fetch() { return new Response('ok') } };`);
    const ids: string[] = [];
    for (let round = 0; round < 12; round++) {
      const responses = await Promise.all(Array.from({ length: 50 }, () => fetch(`${t.base}/fn/many`)));
      for (const r of responses) {
        await r.text();
        ids.push(r.headers.get('x-spillway-execution-id')!);
      }
    }
    // Close the platform without deleting its folder, then read the database directly.
    await (t as unknown as { platform: { close(): Promise<void> } }).platform.close();
    const store = new SqliteMetadataStore({ path: join(dataDir, 'spillway.db') });
    try {
      const missing: string[] = [];
      for (const id of ids) if (!(await store.getExecution(id))) missing.push(id);
      assert.equal(missing.length, 0, `${missing.length} of ${ids.length} records missing`);
    } finally {
      await store.close();
      await t.close().catch(() => {});
      await rm(dataDir, { recursive: true, force: true });
    }
  });
});

/**
 * The lazy-global mechanism (src/runtime/guest/web/lazy.ts) on a plain object: first read loads
 * and becomes a standard data property, writes before that win, and a library that reads its
 * own globals while it is still being evaluated sees them absent instead of recursing.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { defineLazyGlobal, defineLazyGlobals } from '../../src/runtime/guest/web/lazy.js';

describe('lazy globals', () => {
  it('loads once on first read and leaves a writable, configurable, non-enumerable data property', () => {
    const g: Record<string, unknown> = {};
    let loads = 0;
    defineLazyGlobal(g, 'URL', () => ++loads);
    assert.equal(Object.keys(g).length, 0, 'not enumerable');
    assert.equal(loads, 0);
    assert.equal(g.URL, 1);
    assert.equal(g.URL, 1);
    assert.equal(loads, 1);
    assert.deepEqual(Object.getOwnPropertyDescriptor(g, 'URL'), { value: 1, writable: true, enumerable: false, configurable: true });
  });

  it('a write before the first read replaces the global without loading it', () => {
    const g: Record<string, unknown> = {};
    defineLazyGlobal(g, 'URL', () => assert.fail('must not load'));
    g.URL = 'mine';
    assert.equal(g.URL, 'mine');
  });

  it('a group loads together; reads during the load see undefined; an incomplete load stays lazy', () => {
    const g: Record<string, unknown> = {};
    let attempts = 0;
    let seenDuringLoad: unknown = 'unset';
    defineLazyGlobals(g, ['TextEncoder', 'TextDecoder'], () => {
      attempts++;
      seenDuringLoad = g.TextDecoder;
      // First attempt: the library behind it is mid-evaluation and hands back nothing yet.
      return attempts === 1 ? { TextEncoder: undefined, TextDecoder: undefined } : { TextEncoder: 'E', TextDecoder: 'D' };
    });
    assert.equal(g.TextEncoder, undefined);
    assert.equal(seenDuringLoad, undefined);
    assert.equal(typeof Object.getOwnPropertyDescriptor(g, 'TextEncoder')?.get, 'function', 'still lazy after an incomplete load');
    assert.equal(g.TextDecoder, 'D');
    assert.equal(g.TextEncoder, 'E');
    assert.equal(attempts, 2);
  });
});

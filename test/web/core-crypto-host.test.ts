/**
 * The host half of the Web Crypto API (src/runtime/capabilities/crypto.ts): bounds on what a
 * guest may ask for, and digests checked against known answers (FIPS 180 / FIPS 202 vectors).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cryptoHostApi, MAX_RANDOM_BYTES } from '../../src/runtime/capabilities/crypto.js';

const randomBytes = cryptoHostApi.sync!['crypto.randomBytes'];
const digest = (args: unknown) => cryptoHostApi.async!['crypto.digest'](args, { invocationId: 'i', functionId: 'f', versionId: 'v', signal: new AbortController().signal }) as Promise<ArrayBuffer>;
const hex = (b: ArrayBuffer) => Buffer.from(b).toString('hex');
const abc = new TextEncoder().encode('abc');

describe('crypto host methods', () => {
  it('randomBytes returns fresh bytes and refuses more than the Web Crypto cap', () => {
    const a = randomBytes(32) as Uint8Array;
    const b = randomBytes(32) as Uint8Array;
    assert.equal(a.byteLength, 32);
    assert.notDeepEqual(a, b);
    assert.equal((randomBytes(MAX_RANDOM_BYTES) as Uint8Array).byteLength, MAX_RANDOM_BYTES);
    assert.throws(() => randomBytes(MAX_RANDOM_BYTES + 1), /between 0 and 65536/);
    assert.throws(() => randomBytes(-1), RangeError);
    assert.throws(() => randomBytes('lots'), RangeError);
  });

  it('digests with SHA-1/2/3 and cSHAKE, and names unknown algorithms NotSupportedError', async () => {
    assert.equal(hex(await digest({ algorithm: 'SHA-256', data: abc })), 'ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad');
    assert.equal(hex(await digest({ algorithm: 'sha-1', data: abc.buffer })), 'a9993e364706816aba3e25717850c26c9cd0d89d');
    assert.equal(hex(await digest({ algorithm: 'SHA3-256', data: abc })), '3a985da74fe225b2045c172d6bd390bd855f086e3e9d525b46bfe24511431532');
    assert.equal((await digest({ algorithm: 'cSHAKE128', data: abc, outputBytes: 16 })).byteLength, 16);
    assert.equal((await digest({ algorithm: 'cSHAKE256', data: abc, outputBytes: 0 })).byteLength, 0);
    await assert.rejects(digest({ algorithm: 'MD5', data: abc }), { name: 'NotSupportedError' });
    await assert.rejects(digest({ algorithm: 'SHA-256', data: 'abc' }), TypeError);
    await assert.rejects(digest({ algorithm: 'cSHAKE128', data: abc }), /output length/);
  });
});

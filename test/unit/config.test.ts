import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ConfigError, describeConfig, loadConfig } from '../../src/config/config.js';

describe('config', () => {
  it('uses the documented defaults and freezes the result', () => {
    const config = loadConfig({});
    assert.equal(config.PORT, 5000);
    assert.equal(config.SPILLWAY_STORE, 'sqlite');
    assert.equal(config.SPILLWAY_QUEUE, 'local');
    assert.ok(config.SPILLWAY_DATA_DIR.endsWith('.spillway-data'));
    assert.ok(Object.isFrozen(config));
  });

  it('reports every problem at once, including unknown SPILLWAY_ settings', () => {
    try {
      loadConfig({ PORT: 'eighty', SPILLWAY_STORE: 'mongo', SPILLWAY_TIMEOUT: '5' });
      assert.fail('should have thrown');
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.problems.length, 3);
      assert.match(err.message, /PORT: got "eighty"/);
      assert.match(err.message, /SPILLWAY_STORE: got "mongo"/);
      assert.match(err.message, /SPILLWAY_TIMEOUT: unknown setting/);
    }
  });

  it('hides credentials when the configuration is logged', () => {
    const shown = describeConfig(loadConfig({ SPILLWAY_POSTGRES_URL: 'postgres://app:s3cret@db:5432/spillway' }));
    assert.equal(shown.SPILLWAY_POSTGRES_URL, 'postgres://app:***@db:5432/spillway');
  });
});

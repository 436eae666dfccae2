/**
 * `npm start`: brings the whole platform up on the configured backends (embedded by default) and
 * prints where the API is, with a copy-paste example.
 */
import { buildServer } from './api/server.js';
import { ConfigError, describeConfig, loadConfig } from './config/config.js';
import { PolicyError } from './capacity/policy.js';
import { createPlatform } from './platform.js';

async function main(): Promise<void> {
  let config;
  try {
    config = loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  let platform;
  try {
    platform = await createPlatform(config);
  } catch (err) {
    if (err instanceof PolicyError) {
      console.error(err.message);
      process.exit(2);
    }
    throw err;
  }
  const app = await buildServer(platform);
  app.log.info({ config: describeConfig(config) }, 'effective configuration');
  const address = await app.listen({ port: config.PORT, host: config.SPILLWAY_HOST });
  const base = address.replace('0.0.0.0', '127.0.0.1');
  process.stdout.write(`
Spillway is running: API at ${base}/api, functions at ${base}/fn/<name>/
Data: ${config.SPILLWAY_DATA_DIR} (store: ${config.SPILLWAY_STORE}, queue: ${config.SPILLWAY_QUEUE})

Try it:
  curl -s -X POST ${base}/api/functions -H 'content-type: application/json' \\
    -d '{"name":"hello","code":"export default { fetch(req) { return new Response(\\"Hello from Spillway\\\\n\\") } }"}'
  curl -s ${base}/fn/hello/
  npx spillway deploy examples/add.ts --name add && npx spillway execute add '[2, 3]'

`);
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    app.log.info({ signal }, 'shutting down');
    await app.close();
    await platform.close();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
}

main().catch((err) => {
  console.error(err);
  process.exit(1);
});

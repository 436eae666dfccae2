/**
 * The HTTP server: Node's, with function invocation (`/fn/…` and the pinned-tier paths) served
 * straight from it (./invoke-routes.ts) and everything else, the management API under /api
 * included, handed to Fastify.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import websocket from '@fastify/websocket';
import Fastify, { LogController, type FastifyInstance } from 'fastify';
import { SpillwayError } from '../core/errors.js';
import type { Platform } from '../platform.js';
import { apiRoutes } from './api-routes.js';
import { bindingRoutes } from './binding-routes.js';
import { capacityRoutes } from './capacity-routes.js';
import { costRoutes } from './cost-routes.js';
import { dashboardRoutes } from './dashboard-routes.js';
import { eventsRoutes } from './events-routes.js';
import { errorHandler, sendError } from './errors.js';
import { InvokeHandler, matchInvokeRoute } from './invoke-routes.js';
import { loadTestRoutes } from './loadtest-routes.js';
import { metricsRoutes } from './metrics-routes.js';

export async function buildServer(platform: Platform, options: { logger?: boolean } = {}): Promise<FastifyInstance> {
  const bodyLimit = platform.config.SPILLWAY_MAX_BODY_BYTES;
  let invoke: InvokeHandler | null = null;
  let closing = false;
  const app = Fastify({
    // While closing, invocation paths go to Fastify too, which answers 503 (return503OnClosing).
    serverFactory: (fastifyHandler) =>
      createServer((req: IncomingMessage, res: ServerResponse) => {
        const route = invoke && !closing ? matchInvokeRoute(req.url ?? '/') : null;
        if (route) invoke!.handle(req, res, route);
        else fastifyHandler(req, res);
      }) as Server,
    logger: options.logger === false || platform.config.SPILLWAY_LOG_LEVEL === 'silent' ? false : { level: platform.config.SPILLWAY_LOG_LEVEL },
    bodyLimit,
    // One log line per request would cost more than a warm invocation; errors are still logged.
    logController: new LogController({ disableRequestLogging: true }),
    return503OnClosing: true,
    forceCloseConnections: true,
  });
  app.setErrorHandler(errorHandler(bodyLimit));
  app.setNotFoundHandler((request, reply) =>
    sendError(reply, new SpillwayError('ROUTE_NOT_FOUND', `No route matches ${request.method} ${request.url.split('?')[0]}; see docs/api.md.`)),
  );
  await app.register(websocket, { options: { maxPayload: 64 * 1024 } });
  await app.register(async (scope) => apiRoutes(scope, platform));
  await app.register(async (scope) => capacityRoutes(scope, platform));
  await app.register(async (scope) => costRoutes(scope, platform));
  await app.register(async (scope) => metricsRoutes(scope, platform));
  await app.register(async (scope) => eventsRoutes(scope, platform));
  await app.register(async (scope) => bindingRoutes(scope, platform));
  invoke = new InvokeHandler(platform, bodyLimit, (err) => app.log.error({ err }, 'unhandled error'));
  await app.register(async (scope) => dashboardRoutes(scope));
  await app.register(async (scope) => loadTestRoutes(scope, platform));
  // The load tester calls this server's own /fn/ routes: it needs the real address (PORT may be 0),
  // and a running test stops before the server does.
  app.addHook('onListen', async () => platform.loadTests.listening(app.server.address()));
  app.addHook('preClose', async () => {
    closing = true;
    await platform.loadTests.close();
  });
  platform.server = app;
  return app;
}

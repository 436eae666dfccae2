// Cloudflare Workers module syntax runs unchanged.
export default {
  async fetch(request: Request): Promise<Response> {
    return new Response(`Hello from Spillway: ${request.method} ${request.url}\n`);
  },
};

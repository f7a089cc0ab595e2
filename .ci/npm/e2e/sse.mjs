#!/usr/bin/env node
// The legacy HTTP+SSE transport (2024-11-05) end to end with the
// TypeScript SDK's SSEClientTransport: GET the SSE stream, POST to the
// endpoint it announces, and run the same session as streamable.mjs. The
// server's child must be go-sdk's conformance everything-server.
//
// Usage: node sse.mjs http://127.0.0.1:PORT/sse [TOKEN] (or $MCP_URL, $MCP_TOKEN)

import { SSEClientTransport } from '@modelcontextprotocol/sdk/client/sse.js';
import { authHeaders, done, exercise, newClient, step, target, watchdog } from './lib.mjs';

watchdog(90_000);
const { url, token } = target('node sse.mjs URL [TOKEN]');

const client = newClient('mcp-bridge-e2e-sse');
// requestInit's headers go on the GET of the stream and on every POST.
const transport = new SSEClientTransport(url, { requestInit: { headers: authHeaders(token) } });
await step('connect (GET SSE stream, initialize over its endpoint)', async () => {
  await client.connect(transport, { timeout: 30_000 });
}, { fatal: true });
await exercise(client);
await client.close();
done();

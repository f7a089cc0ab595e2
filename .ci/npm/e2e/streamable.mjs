#!/usr/bin/env node
// Streamable HTTP end to end with the TypeScript SDK's client: the whole
// legacy session (2025-11-25, initialize + Mcp-Session-Id), then the
// stateless 2026-07-28 era with plain fetch. The server's child must be
// go-sdk's conformance everything-server.
//
// Usage: node streamable.mjs http://127.0.0.1:PORT/mcp [TOKEN]
// (or $MCP_URL, $MCP_TOKEN). $MCP_ERAS picks the eras: "legacy,2026"
// (the default), "legacy" or "2026".

import { StreamableHTTPClientTransport } from '@modelcontextprotocol/sdk/client/streamableHttp.js';
import { authHeaders, done, exercise, fail, newClient, step, target, watchdog } from './lib.mjs';
import { exerciseStateless } from './stateless.mjs';

watchdog(90_000);
const { url, token } = target('node streamable.mjs URL [TOKEN]');
const eras = (process.env.MCP_ERAS || 'legacy,2026').split(',');

if (eras.includes('legacy')) {
  const client = newClient('mcp-bridge-e2e-streamable');
  const transport = new StreamableHTTPClientTransport(url, { requestInit: { headers: authHeaders(token) } });
  await step('connect (initialize over Streamable HTTP)', async () => {
    await client.connect(transport, { timeout: 30_000 });
    return `protocol ${transport.protocolVersion ?? '(unset)'}, session ${transport.sessionId ? 'set' : 'none'}`;
  }, { fatal: true });
  await exercise(client);
  await step('terminate session (DELETE)', () => transport.terminateSession());
  await client.close();
}
if (eras.includes('2026')) {
  await exerciseStateless(url, token);
}
if (!eras.includes('legacy') && !eras.includes('2026')) {
  fail(`MCP_ERAS=${process.env.MCP_ERAS}: want legacy, 2026 or both`);
}
done();

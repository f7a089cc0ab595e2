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
import { CreateMessageRequestSchema } from '@modelcontextprotocol/sdk/types.js';
import { authHeaders, check, done, exercise, fail, newClient, step, target, texts, watchdog } from './lib.mjs';
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
  await step('sampling from 4 concurrent sessions reaches each its own client', () => concurrentSampling(4));
}
if (eras.includes('2026')) {
  await exerciseStateless(url, token);
}
if (!eras.includes('legacy') && !eras.includes('2026')) {
  fail(`MCP_ERAS=${process.env.MCP_ERAS}: want legacy, 2026 or both`);
}
done();

// concurrentSampling opens n sessions whose sampling handlers answer with
// their own name, and calls test_sampling on all at once: a child's
// sampling request must reach the client whose call it serves.
async function concurrentSampling(n) {
  const clients = [];
  for (let i = 0; i < n; i++) {
    const c = newClient(`mcp-bridge-e2e-concurrent-${i}`);
    c.setRequestHandler(CreateMessageRequestSchema, async (req) => {
      await new Promise((r) => setTimeout(r, 20 + 30 * Math.random()));
      return { model: 'e2e-model', role: 'assistant', content: { type: 'text', text: `session ${i} answers ${req.params.messages?.[0]?.content?.text}` } };
    });
    await c.connect(new StreamableHTTPClientTransport(url, { requestInit: { headers: authHeaders(token) } }), { timeout: 30_000 });
    clients.push(c);
  }
  try {
    const results = await Promise.all(clients.map((c, i) =>
      c.callTool({ name: 'test_sampling', arguments: { prompt: `prompt ${i}` } }, undefined, { timeout: 60_000 })));
    const wrong = results
      .map((r, i) => ({ session: i, got: texts(r)[0], want: `LLM response: session ${i} answers prompt ${i}` }))
      .filter((x) => x.got !== x.want);
    check(wrong.length === 0, 'sampling answers crossed between sessions', wrong);
  } finally {
    await Promise.all(clients.map((c) => c.close()));
  }
}

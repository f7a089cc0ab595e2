#!/usr/bin/env node
// mcp-remote (the stdio-to-HTTP proxy desktop hosts use) end to end: a
// TypeScript SDK client starts `mcp-remote URL --header "Authorization:
// Bearer ${MCP_TOKEN}"` as its stdio child, lists the tools and calls one.
// mcp-remote must never fall back to OAuth: this script fails as soon as
// mcp-remote says it needs authentication, and no browser can open (BROWSER
// is a no-op, the OAuth state lives in a fresh directory, and the callback
// host is loopback).
//
// Usage: node mcp-remote.mjs URL [TOKEN|-] [mcp-remote flags...]
// (or $MCP_URL, $MCP_TOKEN). Without flags: --transport sse-only for a URL
// ending in /sse, else --transport http-only. With --protocol auto the
// server must speak 2026-07-28, and mcp-remote must have switched to it.

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import { StdioClientTransport } from '@modelcontextprotocol/sdk/client/stdio.js';
import { check, done, fail, ok, step, target, texts, watchdog } from './lib.mjs';

watchdog(90_000);
const { url, token } = target('node mcp-remote.mjs URL [TOKEN] [mcp-remote flags...]');
let flags = process.argv.slice(4);
if (flags.length === 0) {
  flags = ['--transport', url.pathname.endsWith('/sse') ? 'sse-only' : 'http-only'];
}
if (!['127.0.0.1', 'localhost', '[::1]'].includes(url.hostname)) {
  fail(`${url}: this test only talks to loopback`);
}

const proxy = fileURLToPath(new URL('../node_modules/mcp-remote/dist/proxy.js', import.meta.url));
const stateDir = mkdtempSync(join(tmpdir(), 'mcp-remote-e2e-'));
process.on('exit', () => rmSync(stateDir, { recursive: true, force: true }));

// mcp-remote expands ${MCP_TOKEN} itself, so the token stays out of the
// process list. --allow-http is needed for http:// even on loopback in some
// of its paths (the OAuth ones); it is harmless otherwise.
const args = [proxy, url.href, ...flags, '--allow-http', '--host', '127.0.0.1', '--auth-timeout', '5'];
if (token) {
  args.push('--header', 'Authorization: Bearer ${MCP_TOKEN}');
}
const transport = new StdioClientTransport({
  command: process.execPath,
  args,
  env: {
    PATH: process.env.PATH ?? '/usr/bin:/bin',
    HOME: stateDir,
    MCP_REMOTE_CONFIG_DIR: stateDir,
    MCP_TOKEN: token,
    BROWSER: 'true', // a browser that opens nothing
    NO_PROXY: '*',
  },
  stderr: 'pipe',
});
let log = '';
transport.stderr?.on('data', (chunk) => {
  log += chunk;
  if (/Authentication required|Please authorize|Waiting for authorization|Browser opened|OAuth callback server running|Initializing auth/.test(String(chunk))) {
    fail(`mcp-remote tried OAuth instead of using the bearer header:\n${log}`);
  }
});
const failWithLog = (msg) => fail(`${msg}\nmcp-remote's stderr:\n${log}`);

const client = new Client({ name: 'mcp-bridge-e2e-mcp-remote', version: '1.0.0' });
try {
  await client.connect(transport, { timeout: 30_000 });
} catch (err) {
  failWithLog(`connect through mcp-remote ${flags.join(' ')}: ${err.message}`);
}
ok(`connected through mcp-remote ${flags.join(' ')} to ${client.getServerVersion()?.name}`);
// With --protocol auto, mcp-remote probes server/discover and, when the
// server speaks 2026-07-28, bridges every request into that era: check it did.
if (flags.join(' ').includes('--protocol auto')) {
  const era = /Remote server speaks MCP (\S+);/.exec(log);
  if (era?.[1] !== '2026-07-28') {
    failWithLog('mcp-remote --protocol auto did not find a 2026-07-28 server (server/discover); it stayed in the legacy era');
  }
  ok(`mcp-remote bridges into the ${era[1]} era`);
}
await step('tools/list through mcp-remote', async () => {
  const { tools } = await client.listTools({}, { timeout: 30_000 });
  check(tools.some((t) => t.name === 'test_simple_text'), 'tools/list lacks test_simple_text', tools.map((t) => t.name));
  return `${tools.length} tools`;
});
await step('tools/call test_simple_text through mcp-remote', async () => {
  const res = await client.callTool({ name: 'test_simple_text', arguments: {} }, undefined, { timeout: 30_000 });
  check(!res.isError && texts(res)[0] === 'This is a simple text response for testing.', 'unexpected test_simple_text result', res);
});
await client.close();
done(() => `mcp-remote's stderr:\n${log}`);

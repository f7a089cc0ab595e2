#!/usr/bin/env node
// The MCP Inspector's CLI mode end to end: one Inspector process per call,
// as a user scripting the Inspector would run it, asserting on the JSON it
// prints. Transport from the URL: /sse -> sse, anything else -> http.
//
// Usage: node inspector.mjs URL [TOKEN] (or $MCP_URL, $MCP_TOKEN)
//
// @modelcontextprotocol/inspector-cli 1.0.3 is run as build/index.js (what
// `mcp-inspector-cli --cli` spawns; the launcher exits 0 whatever happens)
// from its build directory: it looks for its package.json relative to the
// working directory and fails anywhere else.

import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { check, done, step, target, texts, watchdog } from './lib.mjs';

watchdog(90_000);
const { url, token } = target('node inspector.mjs URL [TOKEN]');
const transport = url.pathname.endsWith('/sse') ? 'sse' : 'http';
const buildDir = fileURLToPath(new URL('../node_modules/@modelcontextprotocol/inspector-cli/build/', import.meta.url));

// inspect runs one Inspector CLI call and returns its parsed JSON output.
function inspect(...args) {
  const argv = ['index.js', url.href, '--transport', transport, ...args];
  if (token) {
    argv.push('--header', `Authorization: Bearer ${token}`);
  }
  const r = spawnSync(process.execPath, argv, { cwd: buildDir, encoding: 'utf8', timeout: 30_000 });
  const shown = argv.map((a) => (token && a.includes(token) ? a.replace(token, '<token>') : a)).join(' ');
  if (r.error || r.status !== 0) {
    throw new Error(`inspector ${shown}: ${r.error ?? `exit ${r.status}`}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`);
  }
  try {
    return JSON.parse(r.stdout);
  } catch {
    throw new Error(`inspector ${shown}: output is not JSON:\n${r.stdout}\nstderr: ${r.stderr}`);
  }
}

await step(`inspector --transport ${transport} --method tools/list`, () => {
  const { tools } = inspect('--method', 'tools/list');
  const names = (tools ?? []).map((t) => t.name);
  check(names.includes('test_simple_text') && names.includes('test_sampling'), 'the Inspector did not print the tools', names);
  return `${names.length} tools`;
});
await step(`inspector --transport ${transport} --method tools/call`, () => {
  const res = inspect('--method', 'tools/call', '--tool-name', 'test_simple_text');
  check(!res.isError && texts(res)[0] === 'This is a simple text response for testing.', 'unexpected tools/call output', res);
});
await step(`inspector --transport ${transport} --method resources/read`, () => {
  const res = inspect('--method', 'resources/read', '--uri', 'test://static-text');
  check(res.contents?.[0]?.text === 'This is the content of the static text resource.', 'unexpected resources/read output', res);
});
await step(`inspector --transport ${transport} --method prompts/get`, () => {
  const res = inspect('--method', 'prompts/get', '--prompt-name', 'test_prompt_with_arguments', '--prompt-args', 'arg1=x', 'arg2=y');
  check(res.messages?.[0]?.content?.text === "Prompt with arguments: arg1='x', arg2='y'", 'unexpected prompts/get output', res);
});
done();

// Shared by the end-to-end client scripts: arguments, failure reporting and
// the session exercise both TypeScript SDK transports run against a server
// whose child is go-sdk's conformance everything-server.

import { Client } from '@modelcontextprotocol/sdk/client/index.js';
import {
  CreateMessageRequestSchema,
  ElicitRequestSchema,
  LoggingMessageNotificationSchema,
} from '@modelcontextprotocol/sdk/types.js';

// target reads the endpoint URL and bearer token: the first and second
// arguments, else $MCP_URL and $MCP_TOKEN; a token argument of "-" also
// means $MCP_TOKEN, which keeps the token out of the process list. The
// token may be empty (a loopback bridge without one).
export function target(usage) {
  const url = process.argv[2] || process.env.MCP_URL;
  const arg = process.argv[3];
  const token = (arg === undefined || arg === '-' ? process.env.MCP_TOKEN : arg) ?? '';
  if (!url) {
    fail(`usage: ${usage} (or set MCP_URL and MCP_TOKEN)`);
  }
  return { url: new URL(url), token };
}

export function authHeaders(token) {
  return token ? { Authorization: `Bearer ${token}` } : {};
}

// fail prints what went wrong and exits 1.
export function fail(msg) {
  console.error(`FAIL ${script()}: ${msg}`);
  process.exit(1);
}

export function ok(msg) {
  console.log(`ok   ${script()}: ${msg}`);
}

function script() {
  return process.argv[1]?.split('/').pop() ?? 'e2e';
}

// check throws unless cond holds; step reports it under the step's name.
export function check(cond, msg, got) {
  if (!cond) {
    throw new Error(got === undefined ? msg : `${msg}; got ${JSON.stringify(got)}`);
  }
}

const failed = [];
let steps = 0;

// step runs one named part and reports it. A failure is printed and the
// script carries on with the next step, so that one run shows every
// problem; done() then exits 1. A fatal step (connecting) ends the script.
export async function step(name, fn, { fatal = false } = {}) {
  steps++;
  try {
    const detail = await fn();
    ok(typeof detail === 'string' ? `${name}: ${detail}` : name);
  } catch (err) {
    failed.push(name);
    if (fatal) {
      fail(`${name}: ${describe(err)}`);
    }
    console.error(`FAIL ${script()}: ${name}: ${describe(err)}`);
  }
}

// done ends the script: exit 0 if every step passed, else print which
// failed (and whatever context() returns) and exit 1.
export function done(context) {
  if (failed.length === 0) {
    ok(`all ${steps} steps passed`);
    process.exit(0);
  }
  const extra = context?.();
  fail(`${failed.length} of ${steps} steps failed: ${failed.join('; ')}${extra ? `\n${extra}` : ''}`);
}

export function describe(err) {
  if (!(err instanceof Error)) {
    return String(err);
  }
  let s = err.message;
  if (err.code !== undefined && !s.includes(String(err.code))) {
    s = `${s} (code ${err.code})`;
  }
  if (err.data !== undefined) {
    s += ` data=${JSON.stringify(err.data)}`;
  }
  if (err.cause) {
    s += ` (cause: ${describe(err.cause)})`;
  }
  return s;
}

// watchdog exits 1 if the whole script has not finished in ms.
export function watchdog(ms) {
  const t = setTimeout(() => fail(`not done after ${ms / 1000} s`), ms);
  t.unref();
}

export const samplingReply = 'pong from the e2e client';

// newClient returns a client that declares sampling and elicitation,
// answers every sampling/createMessage with samplingReply and every
// elicitation/create by accepting username "e2e-user", recording what it was
// asked, and records the log messages it receives.
export function newClient(name) {
  const client = new Client({ name, version: '1.0.0' }, { capabilities: { sampling: {}, elicitation: {} } });
  client.sampled = [];
  client.elicited = [];
  client.logs = [];
  client.setRequestHandler(ElicitRequestSchema, async (req) => {
    client.elicited.push(req.params);
    return { action: 'accept', content: { username: 'e2e-user' } };
  });
  client.setRequestHandler(CreateMessageRequestSchema, async (req) => {
    client.sampled.push(req.params);
    return {
      model: 'e2e-model',
      role: 'assistant',
      content: { type: 'text', text: samplingReply },
      stopReason: 'endTurn',
    };
  });
  client.setNotificationHandler(LoggingMessageNotificationSchema, (n) => {
    client.logs.push(n.params);
  });
  return client;
}

export function texts(result) {
  return (result?.content ?? []).filter((c) => c.type === 'text').map((c) => c.text);
}

// exercise runs the whole session against a connected client: every kind of
// request the bridge relays, and the server-to-client ones.
export async function exercise(client, opts = {}) {
  const timeout = { timeout: 30_000 };
  await step('initialize', () => {
    const info = client.getServerVersion();
    const caps = client.getServerCapabilities() ?? {};
    check(info?.name, 'initialize result has no serverInfo.name', info);
    for (const c of ['tools', 'resources', 'prompts']) {
      check(caps[c], `server capabilities lack ${c}`, caps);
    }
    return `${info.name} ${info.version}, capabilities ${Object.keys(caps).sort().join(',')}`;
  });
  await step('ping', () => client.ping(timeout));
  await step('tools/list', async () => {
    const { tools } = await client.listTools({}, timeout);
    const names = tools.map((t) => t.name);
    for (const want of ['test_simple_text', 'test_tool_with_progress', 'test_sampling', 'test_tool_with_logging']) {
      check(names.includes(want), `tools/list lacks ${want}`, names);
    }
    for (const t of tools) {
      check(t.inputSchema?.type === 'object', `tool ${t.name} has no object inputSchema`, t.inputSchema);
    }
    return `${tools.length} tools`;
  });
  await step('tools/call test_simple_text', async () => {
    const res = await client.callTool({ name: 'test_simple_text', arguments: {} }, undefined, timeout);
    check(!res.isError, 'test_simple_text answered isError', res);
    check(texts(res)[0] === 'This is a simple text response for testing.', 'unexpected test_simple_text content', res.content);
  });
  await step('tools/call test_error_handling', async () => {
    const res = await client.callTool({ name: 'test_error_handling', arguments: {} }, undefined, timeout);
    check(res.isError === true, 'test_error_handling must answer a result with isError: true', res);
  });
  await step('tools/call with progress', async () => {
    const progress = [];
    const res = await client.callTool({ name: 'test_tool_with_progress', arguments: {} }, undefined, {
      ...timeout,
      onprogress: (p) => progress.push(p),
    });
    check(!res.isError, 'test_tool_with_progress answered isError', res);
    const got = progress.map((p) => p.progress);
    check(JSON.stringify(got) === '[0,50,100]', 'want progress notifications 0, 50, 100 of 100 before the result', progress);
    check(progress.every((p) => p.total === 100 && typeof p.message === 'string'), 'progress notifications lack total 100 or message', progress);
    return `progress ${got.join(', ')} (messages: ${progress.map((p) => JSON.stringify(p.message)).join(', ')})`;
  });
  await step('logging/setLevel and tools/call with logging', async () => {
    await client.setLoggingLevel('debug', timeout);
    client.logs.length = 0;
    const res = await client.callTool({ name: 'test_tool_with_logging', arguments: {} }, undefined, timeout);
    check(!res.isError, 'test_tool_with_logging answered isError', res);
    // The log notifications precede the result on the request's stream,
    // or arrive on the standalone stream; allow the latter a moment.
    for (let i = 0; i < 20 && client.logs.length < 3; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    const data = client.logs.map((l) => l.data);
    check(data.length === 3 && data[0] === 'Tool execution started', 'want 3 log messages, "Tool execution started" first', client.logs);
    return `${data.length} log messages`;
  });
  if (!opts.skipSampling) {
    await step('sampling from the child (tools/call test_sampling)', async () => {
      client.sampled.length = 0;
      const res = await client.callTool({ name: 'test_sampling', arguments: { prompt: 'ping from e2e' } }, undefined, timeout);
      check(!res.isError, 'test_sampling answered isError', res);
      check(client.sampled.length === 1, 'want exactly one sampling/createMessage request', client.sampled);
      const asked = client.sampled[0].messages?.[0]?.content?.text;
      check(asked === 'ping from e2e', 'sampling request does not carry the prompt', client.sampled[0]);
      check(texts(res)[0] === `LLM response: ${samplingReply}`, 'tool result does not carry the sampling answer', res.content);
    });
  }
  await step('elicitation from the child (tools/call test_elicitation)', async () => {
    client.elicited.length = 0;
    const res = await client.callTool({ name: 'test_elicitation', arguments: { message: 'who are you?' } }, undefined, timeout);
    check(!res.isError, 'test_elicitation answered isError', res);
    check(client.elicited.length === 1 && client.elicited[0].message === 'who are you?',
      'want exactly one elicitation/create request carrying the message', client.elicited);
    check(texts(res)[0] === 'Elicitation result: action=accept, content=map[username:e2e-user]',
      'tool result does not carry the elicitation answer', res.content);
  });
  await step('completion/complete', async () => {
    const res = await client.complete({
      ref: { type: 'ref/prompt', name: 'test_prompt_with_arguments' },
      argument: { name: 'arg1', value: 'a' },
    }, timeout);
    check(Array.isArray(res.completion?.values), 'completion result has no values array', res);
  });
  await step('resources/list', async () => {
    const { resources } = await client.listResources({}, timeout);
    const uris = resources.map((r) => r.uri);
    check(uris.includes('test://static-text') && uris.includes('test://static-binary'), 'resources/list lacks the static resources', uris);
    const { resourceTemplates } = await client.listResourceTemplates({}, timeout);
    check(resourceTemplates.some((t) => t.uriTemplate === 'test://template/{id}/data'), 'resources/templates/list lacks test://template/{id}/data', resourceTemplates);
    return `${resources.length} resources, ${resourceTemplates.length} templates`;
  });
  await step('resources/read', async () => {
    const { contents } = await client.readResource({ uri: 'test://static-text' }, timeout);
    check(contents?.[0]?.text === 'This is the content of the static text resource.', 'unexpected test://static-text contents', contents);
    const bin = await client.readResource({ uri: 'test://static-binary' }, timeout);
    check(typeof bin.contents?.[0]?.blob === 'string' && bin.contents[0].blob.length > 0, 'test://static-binary has no blob', bin.contents);
    const tpl = await client.readResource({ uri: 'test://template/42/data' }, timeout);
    check(JSON.parse(tpl.contents?.[0]?.text ?? '{}').id === '42', 'template resource did not substitute id 42', tpl.contents);
  });
  await step('prompts/list', async () => {
    const { prompts } = await client.listPrompts({}, timeout);
    const names = prompts.map((p) => p.name);
    check(names.includes('test_simple_prompt') && names.includes('test_prompt_with_arguments'), 'prompts/list lacks the test prompts', names);
    return `${prompts.length} prompts`;
  });
  await step('prompts/get', async () => {
    const res = await client.getPrompt({ name: 'test_prompt_with_arguments', arguments: { arg1: 'alpha', arg2: 'beta' } }, timeout);
    const text = res.messages?.[0]?.content?.text;
    check(text === "Prompt with arguments: arg1='alpha', arg2='beta'", 'unexpected prompt text', res.messages);
  });
}

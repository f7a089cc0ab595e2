// The 2026-07-28 ("stateless") era of Streamable HTTP, spoken with plain
// fetch: the TypeScript SDK 1.x stops at 2025-11-25. Every request carries
// MCP-Protocol-Version, Mcp-Method (and Mcp-Name where the spec asks for
// it) and the protocol version and client capabilities in _meta; there is
// no initialize and no session.

import { authHeaders, check, step } from './lib.mjs';

export const modernVersion = '2026-07-28';

const clientInfo = { name: 'mcp-bridge-e2e-stateless', version: '1.0.0' };
let nextId = 1;

// nameOf is the Mcp-Name header's value for the methods that need one.
function nameOf(method, params) {
  if (method === 'tools/call' || method === 'prompts/get') return params.name;
  if (method === 'resources/read') return params.uri;
  return undefined;
}

// call POSTs one request and returns { status, result, error, events }:
// events are every JSON-RPC message read from an SSE answer before the
// response (or the lone JSON body).
export async function call(url, token, method, params = {}, capabilities = {}, timeoutMs = 30_000) {
  const id = nextId++;
  const headers = {
    ...authHeaders(token),
    'Content-Type': 'application/json',
    Accept: 'application/json, text/event-stream',
    'MCP-Protocol-Version': modernVersion,
    'Mcp-Method': method,
  };
  const name = nameOf(method, params);
  if (name !== undefined) headers['Mcp-Name'] = name;
  const body = {
    jsonrpc: '2.0',
    id,
    method,
    params: {
      ...params,
      _meta: {
        'io.modelcontextprotocol/protocolVersion': modernVersion,
        'io.modelcontextprotocol/clientCapabilities': capabilities,
        'io.modelcontextprotocol/clientInfo': clientInfo,
        ...params._meta,
      },
    },
  };
  const resp = await fetch(url, { method: 'POST', headers, body: JSON.stringify(body), signal: AbortSignal.timeout(timeoutMs) });
  const type = resp.headers.get('content-type') ?? '';
  const text = await resp.text();
  let events;
  if (type.includes('text/event-stream')) {
    events = parseSSE(text);
  } else {
    try {
      events = text ? [JSON.parse(text)] : [];
    } catch {
      throw new Error(`${method}: HTTP ${resp.status} ${type}: body is not JSON: ${text.slice(0, 300)}`);
    }
  }
  const answer = events.find((e) => e.id === id && ('result' in e || 'error' in e));
  if (!answer) {
    throw new Error(`${method}: HTTP ${resp.status} ${type}: no response with id ${id} in ${text.slice(0, 500)}`);
  }
  if (answer.error || resp.status !== 200) {
    throw new Error(`${method}: HTTP ${resp.status}: ${JSON.stringify(answer.error ?? answer).slice(0, 500)}`);
  }
  return { status: resp.status, result: answer.result, events };
}

// parseSSE returns the JSON data of every event in an SSE body.
function parseSSE(text) {
  const out = [];
  for (const block of text.split(/\r?\n\r?\n/)) {
    const data = block
      .split(/\r?\n/)
      .filter((l) => l.startsWith('data:'))
      .map((l) => l.slice(5).replace(/^ /, ''))
      .join('\n');
    if (data.trim()) out.push(JSON.parse(data));
  }
  return out;
}

// exerciseStateless runs discover, list and call in the 2026-07-28 era.
export async function exerciseStateless(url, token) {
  await step(`${modernVersion} server/discover`, async () => {
    const { result } = await call(url, token, 'server/discover');
    check(Array.isArray(result.supportedVersions) && result.supportedVersions.includes(modernVersion),
      `server/discover: supportedVersions must include ${modernVersion}`, result);
    check(result.resultType === 'complete', 'server/discover: resultType must be "complete"', result);
    check(result.capabilities?.tools, 'server/discover: capabilities lack tools', result.capabilities);
    return `supportedVersions ${result.supportedVersions.join(',')}`;
  });
  await step(`${modernVersion} tools/list`, async () => {
    const { result } = await call(url, token, 'tools/list');
    check(result.resultType === 'complete', 'tools/list: resultType must be "complete"', result.resultType);
    check(Number.isInteger(result.ttlMs) && result.ttlMs >= 0, 'tools/list: ttlMs must be an integer >= 0', result.ttlMs);
    check(['public', 'private'].includes(result.cacheScope), 'tools/list: cacheScope must be public or private', result.cacheScope);
    const names = (result.tools ?? []).map((t) => t.name);
    check(names.includes('test_simple_text'), 'tools/list lacks test_simple_text', names);
    return `${names.length} tools`;
  });
  await step(`${modernVersion} tools/call test_simple_text`, async () => {
    const { result } = await call(url, token, 'tools/call', { name: 'test_simple_text', arguments: {} });
    check(result.resultType === 'complete', 'tools/call: resultType must be "complete"', result);
    check(!result.isError && result.content?.[0]?.text === 'This is a simple text response for testing.',
      'unexpected test_simple_text result', result);
  });
  await step(`${modernVersion} tools/call with progress`, async () => {
    const { result, events } = await call(url, token, 'tools/call', {
      name: 'test_tool_with_progress', arguments: {}, _meta: { progressToken: 'e2e-progress' },
    });
    check(!result.isError, 'test_tool_with_progress answered isError', result);
    const progress = events.filter((e) => e.method === 'notifications/progress').map((e) => e.params);
    check(JSON.stringify(progress.map((p) => p.progress)) === '[0,50,100]' && progress.every((p) => p.progressToken === 'e2e-progress'),
      'want progress 0, 50, 100 with token e2e-progress on the request\'s stream', progress);
    return `progress ${progress.map((p) => p.progress).join(', ')}`;
  });
  await step(`${modernVersion} resources/read`, async () => {
    const { result } = await call(url, token, 'resources/read', { uri: 'test://static-text' });
    check(result.resultType === 'complete', 'resources/read: resultType must be "complete"', result);
    check(result.contents?.[0]?.text === 'This is the content of the static text resource.', 'unexpected resources/read result', result);
  });
  await step(`${modernVersion} prompts/get`, async () => {
    const { result } = await call(url, token, 'prompts/get', { name: 'test_simple_prompt' });
    check(result.resultType === 'complete', 'prompts/get: resultType must be "complete"', result);
    check(result.messages?.length > 0, 'prompts/get returned no messages', result);
  });
  await step(`${modernVersion} sampling by multi round-trip (input_required, then inputResponses)`, async () => {
    // The child asks under the key "capital_question"; a bridge may pass
    // its own key instead (the conformance suite checks the key), so answer
    // whichever key the one sampling request comes under.
    const name = 'test_input_required_result_sampling';
    const caps = { sampling: {} };
    const first = await call(url, token, 'tools/call', { name, arguments: {} }, caps);
    const keys = Object.keys(first.result.inputRequests ?? {});
    check(first.result.resultType === 'input_required' && keys.length === 1 &&
      first.result.inputRequests[keys[0]].method === 'sampling/createMessage',
    'first call: want resultType "input_required" with one sampling/createMessage input request', first.result);
    const answer = { role: 'assistant', model: 'e2e-model', content: { type: 'text', text: 'Paris' } };
    const retry = { name, arguments: {}, inputResponses: { [keys[0]]: answer } };
    if (first.result.requestState !== undefined) retry.requestState = first.result.requestState;
    const { result } = await call(url, token, 'tools/call', retry, caps);
    check(result.resultType === 'complete' && result.content?.[0]?.text === 'Sampling response: Paris',
      'retry with inputResponses: want the tool\'s final result "Sampling response: Paris"', result);
    return `input request key ${JSON.stringify(keys[0])}`;
  });
  await step(`${modernVersion} a round the client never answers does not hold up the next call`, async () => {
    // A stateless client may drop an InputRequiredResult and never retry;
    // the same tool must still answer the next caller at once.
    const name = 'test_input_required_result_elicitation';
    const caps = { elicitation: {} };
    for (let i = 1; i <= 3; i++) {
      const started = Date.now();
      let result;
      try {
        ({ result } = await call(url, token, 'tools/call', { name, arguments: {} }, caps, 10_000));
      } catch (err) {
        throw new Error(`call ${i} of ${name}, the earlier rounds left unanswered: ${err.message} after ${Date.now() - started} ms`);
      }
      check(result.resultType === 'input_required', `call ${i}: want resultType "input_required"`, result);
    }
  });
}

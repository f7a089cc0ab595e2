// MCP Bridge's Ingress dashboard. Plain JavaScript, no dependency: every
// URL is relative, because Home Assistant serves the page under a prefix.
'use strict';

const POLL_MS = 2000;
const $ = (id) => document.getElementById(id);

// el builds an element: el('td', {className: 'ok'}, 'text', child, ...).
function el(tag, props, ...children) {
  const e = document.createElement(tag);
  Object.assign(e, props || {});
  for (const c of children) {
    if (c !== null && c !== undefined) e.append(c);
  }
  return e;
}

async function fetchJSON(url, init) {
  const resp = await fetch(url, init);
  const text = await resp.text();
  let body = null;
  try { body = JSON.parse(text); } catch (e) { /* not JSON */ }
  if (!resp.ok) {
    const msg = body && body.error && (body.error.message || body.error);
    throw new Error(`${resp.status} ${msg || text.slice(0, 200)}`);
  }
  return body;
}

// ---- Theme: auto (system), light, dark ----

const themes = ['auto', 'light', 'dark'];
function applyTheme(name) {
  if (name === 'auto') delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = name;
  $('theme').textContent = `Theme: ${name}`;
  $('theme').title = name === 'auto' ? 'Theme: follows your system' : `Theme: ${name}`;
}
function initTheme() {
  let current = 'auto';
  try { current = localStorage.getItem('mcp-bridge-theme') || 'auto'; } catch (e) { /* storage off */ }
  if (!themes.includes(current)) current = 'auto';
  applyTheme(current);
  $('theme').addEventListener('click', () => {
    current = themes[(themes.indexOf(current) + 1) % themes.length];
    try { localStorage.setItem('mcp-bridge-theme', current); } catch (e) { /* storage off */ }
    applyTheme(current);
  });
}

// ---- Formatting ----

function fmtTime(iso) {
  const d = new Date(iso);
  return isNaN(d) ? '' : d.toLocaleTimeString();
}
function fmtDateTime(iso) {
  const d = new Date(iso);
  return isNaN(d) ? '' : d.toLocaleString();
}
function fmtDuration(s) {
  const d = Math.floor(s / 86400), h = Math.floor(s % 86400 / 3600), m = Math.floor(s % 3600 / 60);
  if (d) return `${d}d ${h}h`;
  if (h) return `${h}h ${m}m`;
  return `${m}m ${Math.floor(s % 60)}s`;
}
function fmtNum(n, digits) {
  return Number(n || 0).toLocaleString(undefined, {maximumFractionDigits: digits === undefined ? 2 : digits});
}
function whoLabel(who, user) {
  if (who === 'api-token') return 'API token';
  if (who === 'home-assistant') return 'Home Assistant (MCP integration)';
  if (who === 'local') return 'local (no token)';
  if (who && who.startsWith('ha:')) return user ? `${user} (Home Assistant user)` : `Home Assistant user ${who.slice(3, 11)}`;
  if (who === 'ha') return user || 'Home Assistant user';
  return who || '?';
}
function outcomeClass(outcome) {
  if (outcome === 'ok') return 'ok';
  if (outcome === 'unknown' || outcome === 'unknown_outcome' || outcome === 'stale' || outcome === 'tool_error' || outcome === 'error') return 'warn';
  return 'bad';
}

// ---- Status tiles ----

function tile(label, value, cls, detail) {
  return el('div', {className: 'tile'},
    el('div', {className: 'label'}, label),
    el('div', {className: 'value ' + (cls || '')}, value),
    detail ? el('div', {className: 'detail'}, detail) : null);
}

function renderTiles(d) {
  const ha = (d.health.dependencies || {}).home_assistant || {};
  const haOK = ha.status === 'ok';
  const byStatus = Object.entries(d.sessions.by_status || {}).filter(([, n]) => n > 0).map(([k, n]) => `${n} ${k}`).join(', ');
  const prio = Object.entries(d.queue.by_priority || {}).filter(([, n]) => n > 0).map(([k, n]) => `${k.toLowerCase()} ${n}`).join(', ');
  const breakerCls = d.breaker === 'open' ? 'bad' : d.breaker === 'half-open' ? 'warn' : 'ok';
  const tiles = [
    tile('Home Assistant', haOK ? 'connected' : 'unavailable', haOK ? 'ok' : 'bad', haOK ? `${ha.response_time_ms} ms` : ha.error),
    tile('MCP sessions', `${d.sessions.active} / ${d.sessions.total}`, d.sessions.active > 0 ? 'ok' : 'bad', byStatus || 'none running'),
    tile('Queue', `${d.queue.pending} waiting`, d.queue.pending > 0 ? 'warn' : '', `${d.queue.running} running${prio ? '; ' + prio : ''}; most waiting ${d.queue.max_seen}`),
    tile('Calls', fmtNum(d.totals.calls, 0), '', `${fmtNum(d.performance.requests_per_second)} /s over the last minute`),
    tile('Latency', `${fmtNum(d.performance.avg_response_time_ms, 1)} ms`, '', 'average, last minute'),
    tile('Errors', fmtNum(d.totals.errors, 0), d.totals.errors > 0 ? 'warn' : '', `${fmtNum(d.performance.error_rate * 100, 1)} % over the last minute`),
    tile('Circuit breaker', d.breaker, breakerCls, d.breaker === 'open' ? 'calls are refused for now' : ''),
  ];
  if (d.cache) {
    tiles.push(tile('Cache hit rate', `${fmtNum(d.cache.hit_rate * 100, 1)} %`, '',
      `${fmtNum(d.cache.hits, 0)} hits, ${fmtNum(d.cache.misses, 0)} misses; ${fmtNum(d.cache.size, 0)} answers kept`));
  } else {
    tiles.push(tile('Cache', 'off', '', ''));
  }
  tiles.push(tile('Writes', fmtNum(d.totals.writes, 0), '', 'since start; see the audit log'));
  $('tiles').replaceChildren(...tiles);
  const pill = $('status');
  const cls = d.status === 'healthy' && d.health.status === 'healthy' ? 'ok' : d.status === 'degraded' ? 'warn' : 'bad';
  pill.className = 'pill ' + cls;
  pill.textContent = cls === 'ok' ? 'healthy' : d.status === 'healthy' ? d.health.status : d.status;
  $('meta').textContent = `version ${d.version} · ${d.mode} mode · up ${fmtDuration(d.uptime_seconds)}`;
  $('demo').hidden = d.mode !== 'demo';
}

// ---- Charts: one SVG polyline per series ----

const SVG = 'http://www.w3.org/2000/svg';
function svgEl(tag, attrs) {
  const e = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
  return e;
}

function drawChart(svg, samples, pick, fromLabel, maxLabel, unit) {
  const W = 300, H = 90, pad = 4;
  if (samples.length < 2) {
    const t = svgEl('text', {x: 8, y: 50, class: 'empty'});
    t.textContent = 'collecting: a point every few seconds';
    svg.replaceChildren(t);
    fromLabel.textContent = maxLabel.textContent = '';
    return;
  }
  const values = samples.map(pick);
  const max = Math.max(...values, 0.0001);
  const x = (i) => (i / (samples.length - 1)) * W;
  const y = (v) => H - pad - (v / max) * (H - 2 * pad);
  const pts = values.map((v, i) => `${x(i).toFixed(1)},${y(v).toFixed(1)}`);
  svg.replaceChildren(
    svgEl('polygon', {class: 'area', points: `0,${H} ${pts.join(' ')} ${W},${H}`}),
    svgEl('polyline', {class: 'line', points: pts.join(' ')}));
  fromLabel.textContent = `since ${fmtTime(samples[0].t)}`;
  maxLabel.textContent = `max ${fmtNum(max)} ${unit}`;
}

function renderCharts(d) {
  const s = d.series.samples || [];
  drawChart($('chart-rps'), s, (p) => p.rps, $('rps-from'), $('rps-max'), '/s');
  drawChart($('chart-latency'), s.filter((p) => p.calls > 0), (p) => p.avg_ms, $('lat-from'), $('lat-max'), 'ms');
}

// ---- Tables ----

function renderCalls(d) {
  const rows = (d.recent || []).map((c) => el('tr', {},
    el('td', {}, fmtTime(c.time)),
    el('td', {}, el('code', {}, c.tool), c.kind === 'write' ? ' ✎' : ''),
    el('td', {}, whoLabel(c.who, c.user), c.client ? ` · ${c.client}` : ''),
    el('td', {}, `${fmtNum(c.duration_ms, 1)} ms`),
    el('td', {}, c.cached ? 'yes' : c.deduplicated ? 'shared' : c.stale ? 'stale' : 'no'),
    el('td', {className: outcomeClass(c.outcome), title: c.error || ''}, c.outcome),
    el('td', {}, el('code', {}, JSON.stringify(c.arguments)))));
  $('calls').tBodies[0].replaceChildren(...rows);
  $('calls-empty').hidden = rows.length > 0;
}

function renderAudit(d) {
  if (!d.audit) {
    $('audit-file').textContent = 'The audit log is off.';
    $('audit').tBodies[0].replaceChildren();
    return;
  }
  $('audit-file').textContent = `Kept in ${d.audit.file}; the newest ${d.audit.entries.length} are shown.`;
  const rows = d.audit.entries.map((e) => el('tr', {},
    el('td', {}, fmtDateTime(e.time)),
    el('td', {title: e.who}, whoLabel(e.who, e.user), e.client ? ` · ${e.client}` : ''),
    el('td', {}, el('code', {}, e.service || e.tool)),
    el('td', {}, (e.targets || []).join(', ') + (e.more_targets ? ` and ${e.more_targets} more` : '')),
    el('td', {className: outcomeClass(e.outcome)}, e.outcome),
    el('td', {className: 'sub'}, e.error || `${e.duration_ms} ms`)));
  $('audit').tBodies[0].replaceChildren(...rows);
  $('audit-empty').hidden = rows.length > 0;
}

async function poll() {
  try {
    const d = await fetchJSON('api/dashboard');
    renderTiles(d);
    renderCharts(d);
    renderCalls(d);
    renderAudit(d);
    $('error').hidden = true;
  } catch (e) {
    $('error').textContent = `Cannot reach the bridge: ${e.message}`;
    $('error').hidden = false;
  }
  setTimeout(poll, POLL_MS);
}

// ---- Copying ----

async function copyText(text, stateEl) {
  let ok = false;
  if (navigator.clipboard && window.isSecureContext) {
    try { await navigator.clipboard.writeText(text); ok = true; } catch (e) { /* fall back */ }
  }
  if (!ok) {
    const ta = el('textarea', {value: text, readOnly: true});
    document.body.append(ta);
    ta.select();
    try { ok = document.execCommand('copy'); } catch (e) { ok = false; }
    ta.remove();
  }
  stateEl.textContent = ok ? 'Copied' : 'Select and copy by hand';
  stateEl.dataset.copied = ok ? 'true' : 'false';
  setTimeout(() => { stateEl.textContent = ''; delete stateEl.dataset.copied; }, 4000);
}

// ---- Connection and snippets (as DOCS.md "Connect your LLM tool") ----

function snippets(url, sseURL, token, discovery) {
  const tk = token || '<api_token>';
  const json = (v) => JSON.stringify(v, null, 2);
  return [
    {id: 'claude-desktop', name: 'Claude Desktop', note: 'Settings → Developer → Edit Config (claude_desktop_config.json); needs Node.js 18 or later for mcp-remote. Then quit Claude Desktop completely and start it again.',
      text: json({mcpServers: {'home-assistant': {command: 'npx', args: ['-y', 'mcp-remote', url, '--allow-http', '--header', 'Authorization:${MCP_BRIDGE_AUTH}'], env: {MCP_BRIDGE_AUTH: `Bearer ${tk}`}}}})},
    {id: 'claude-code', name: 'Claude Code', note: 'Run in a terminal; `claude mcp list` then shows it connected.',
      text: `claude mcp add --transport http --scope user home-assistant \\\n  ${url} \\\n  --header "Authorization: Bearer ${tk}"`},
    {id: 'cursor', name: 'Cursor', note: '~/.cursor/mcp.json (every project) or .cursor/mcp.json. Start Cursor with MCP_BRIDGE_TOKEN set to the token, or write the token in place of ${env:MCP_BRIDGE_TOKEN}.',
      text: json({mcpServers: {'home-assistant': {url: url, headers: {Authorization: 'Bearer ${env:MCP_BRIDGE_TOKEN}'}}}})},
    {id: 'vscode', name: 'VS Code', note: '.vscode/mcp.json (or MCP: Open User Configuration). VS Code asks for the token once and stores it securely.',
      text: json({inputs: [{type: 'promptString', id: 'mcp-bridge-token', description: 'MCP Bridge API token', password: true}],
        servers: {homeAssistant: {type: 'http', url: url, headers: {Authorization: 'Bearer ${input:mcp-bridge-token}'}}}})},
    {id: 'lm-studio', name: 'LM Studio', note: 'Program tab → Install → Edit mcp.json (~/.lmstudio/mcp.json); LM Studio 0.3.17 or later.',
      text: json({mcpServers: {'home-assistant': {url: url, headers: {Authorization: `Bearer ${tk}`}}}})},
    {id: 'open-webui', name: 'Open WebUI', note: 'Open WebUI 0.6.31 or later. Its server connects, not your browser: the URL must work from where Open WebUI runs.',
      text: `Admin Settings → External Tools → + (Add Server)\nType: MCP (Streamable HTTP)\nURL:  ${url}\nAuth: Bearer\nKey:  ${tk}`},
    {id: 'n8n', name: 'n8n', note: 'An MCP Client Tool node under an AI Agent node. n8n connects from its own server.',
      text: `Endpoint:          ${url}\nServer Transport:  HTTP Streamable\nAuthentication:    Bearer Auth\nBearer Token:      ${tk}\nTools to Include:  All\n\n(Old node version with an SSE Endpoint field: ${sseURL})`},
    {id: 'home-assistant', name: 'Home Assistant', note: discovery ? 'Nothing to type: the add-on offers itself to Home Assistant.' : 'Only the add-on offers itself to Home Assistant; outside the add-on this integration cannot be used.',
      text: '1. Settings → Devices & services: under Discovered, Model Context Protocol shows MCP Bridge.\n2. Select Add, then Submit (the entry is named mcp-bridge).\n3. In your conversation agent\'s options, choose mcp-bridge under Control Home Assistant.'},
  ];
}

async function initConnection() {
  let c;
  try {
    c = await fetchJSON('api/connection');
  } catch (e) {
    $('snippet').textContent = `Cannot load the connection details: ${e.message}`;
    return;
  }
  const host = location.hostname.includes(':') && !location.hostname.startsWith('[') ? `[${location.hostname}]` : location.hostname;
  const base = `http://${host || 'homeassistant.local'}:${c.port}`;
  const url = base + c.mcp_path, sseURL = base + c.sse_path;
  $('url-mcp').textContent = url;
  $('url-sse').textContent = sseURL;
  if (c.token) {
    $('token').value = c.token;
    $('token-show').addEventListener('click', () => {
      const hidden = $('token').type === 'password';
      $('token').type = hidden ? 'text' : 'password';
      $('token-show').textContent = hidden ? 'Hide' : 'Show';
    });
    $('token-copy').addEventListener('click', () => copyText(c.token, $('token-copied')));
  } else {
    $('token-row').hidden = true;
    $('token-none').hidden = false;
  }
  const list = snippets(url, sseURL, c.token, c.discovery);
  let current = list[0];
  const show = (s) => {
    current = s;
    for (const b of $('snippet-tabs').children) b.setAttribute('aria-selected', String(b.dataset.id === s.id));
    $('snippet').textContent = s.text;
    $('snippet').dataset.client = s.id;
    $('snippet-note').textContent = s.note;
  };
  $('snippet-tabs').replaceChildren(...list.map((s) => {
    const b = el('button', {type: 'button', textContent: s.name});
    b.dataset.id = s.id;
    b.setAttribute('role', 'tab');
    b.addEventListener('click', () => show(s));
    return b;
  }));
  $('snippet-copy').addEventListener('click', () => copyText(current.text, $('snippet-copied')));
  show(current);
}

// ---- Tool tester ----

let tools = [];

// fieldKind says how to ask for a property: enum, boolean, number,
// integer, string, strings (a list, or one string) or json.
function fieldKind(s) {
  if (!s || typeof s !== 'object') return 'json';
  if (Array.isArray(s.enum) && s.enum.every((v) => typeof v === 'string')) return 'enum';
  const alts = s.anyOf || s.oneOf;
  if (alts) {
    const kinds = alts.map(fieldKind);
    if (kinds.every((k) => k === 'string' || k === 'strings')) return 'strings';
    return 'json';
  }
  const t = Array.isArray(s.type) ? s.type.filter((x) => x !== 'null') : [s.type];
  if (t.length === 2 && t.includes('string') && t.includes('array')) return 'strings';
  if (t.length !== 1) return 'json';
  if (t[0] === 'array') return s.items && s.items.type === 'string' ? 'strings' : 'json';
  if (['boolean', 'number', 'integer', 'string'].includes(t[0])) return t[0];
  return 'json';
}

function buildForm(tool) {
  const schema = tool.inputSchema || {};
  const props = schema.properties || {};
  const required = new Set(schema.required || []);
  const order = Array.isArray(schema.propertyOrder) ? schema.propertyOrder : Object.keys(props);
  const fields = order.filter((n) => props[n]).map((name) => {
    const s = props[name], kind = fieldKind(s), id = `arg-${name}`;
    let input;
    if (kind === 'enum' || kind === 'boolean') {
      const values = kind === 'enum' ? s.enum : ['true', 'false'];
      input = el('select', {id}, el('option', {value: '', textContent: required.has(name) ? 'choose…' : '(not set)'}),
        ...values.map((v) => el('option', {value: v, textContent: v})));
    } else if (kind === 'json') {
      input = el('textarea', {id, rows: 3, className: 'mono', placeholder: 'JSON'});
    } else {
      input = el('input', {id, type: kind === 'number' || kind === 'integer' ? 'number' : 'text'});
      if (kind === 'integer') input.step = '1';
      if (kind === 'number') input.step = 'any';
      if (kind === 'strings') input.placeholder = 'one, or several separated by commas';
      if (s.examples && s.examples.length && typeof s.examples[0] !== 'object') input.placeholder = `e.g. ${s.examples[0]}`;
    }
    input.dataset.name = name;
    input.dataset.kind = kind;
    const hint = s.description ? el('div', {className: 'hint'}, s.description) : null;
    return el('div', {className: 'field'}, el('label', {htmlFor: id}, name + (required.has(name) ? ' *' : '')), input, hint);
  });
  $('fields').replaceChildren(...fields);
  $('tool-desc').textContent = tool.description || '';
}

// formArguments reads the form into an arguments object; a bad value
// throws an Error naming the field.
function formArguments() {
  const args = {};
  for (const input of $('fields').querySelectorAll('[data-name]')) {
    const name = input.dataset.name, v = input.value.trim();
    if (v === '') continue;
    switch (input.dataset.kind) {
      case 'boolean': args[name] = v === 'true'; break;
      case 'number': case 'integer': {
        const n = Number(v);
        if (!Number.isFinite(n) || (input.dataset.kind === 'integer' && !Number.isInteger(n))) throw new Error(`${name}: not a ${input.dataset.kind}`);
        args[name] = n;
        break;
      }
      case 'strings': {
        const parts = v.split(',').map((x) => x.trim()).filter(Boolean);
        args[name] = parts.length === 1 ? parts[0] : parts;
        break;
      }
      case 'json':
        try { args[name] = JSON.parse(v); } catch (e) { throw new Error(`${name}: not valid JSON`); }
        break;
      default: args[name] = v;
    }
  }
  return args;
}

async function loadTools() {
  try {
    const r = await fetchJSON('mcp/tools/list', {method: 'POST', headers: {'Content-Type': 'application/json'}, body: '{}'});
    tools = r.tools || [];
  } catch (e) {
    $('tool').replaceChildren(el('option', {value: '', textContent: 'cannot list tools'}));
    $('tool-desc').textContent = e.message;
    return;
  }
  tools.sort((a, b) => a.name.localeCompare(b.name));
  $('tool').replaceChildren(...tools.map((t) => el('option', {value: t.name, textContent: t.name})));
  const first = tools.find((t) => t.name === 'get_entities') || tools[0];
  if (first) {
    $('tool').value = first.name;
    buildForm(first);
  }
}

function initTester() {
  $('tool').addEventListener('change', () => {
    const t = tools.find((x) => x.name === $('tool').value);
    if (t) buildForm(t);
    $('result').hidden = true;
  });
  $('raw').addEventListener('change', () => {
    const raw = $('raw').checked;
    if (raw) {
      try { $('raw-args').value = JSON.stringify(formArguments(), null, 2); } catch (e) { $('raw-args').value = '{}'; }
    }
    $('raw-args').hidden = !raw;
    $('fields').hidden = raw;
  });
  $('tool-form').addEventListener('submit', async (ev) => {
    ev.preventDefault();
    const name = $('tool').value;
    if (!name) return;
    let args;
    try {
      args = $('raw').checked ? JSON.parse($('raw-args').value || '{}') : formArguments();
    } catch (e) {
      $('run-state').textContent = e.message;
      return;
    }
    $('run').disabled = true;
    $('run-state').textContent = 'running…';
    const started = performance.now();
    try {
      const r = await fetchJSON('mcp/tools/call', {method: 'POST', headers: {'Content-Type': 'application/json'},
        body: JSON.stringify({name, arguments: args})});
      const res = r.result || {};
      const text = (res.content || []).filter((c) => c.type === 'text').map((c) => c.text).join('\n');
      $('result').textContent = text || JSON.stringify(res, null, 2);
      $('result').className = 'mono result ' + (res.isError ? 'bad' : '');
      $('run-state').textContent = `${res.isError ? 'the tool answered an error' : 'done'} in ${Math.round(performance.now() - started)} ms`;
    } catch (e) {
      $('result').textContent = e.message;
      $('result').className = 'mono result bad';
      $('run-state').textContent = 'failed';
    }
    $('result').hidden = false;
    $('run').disabled = false;
  });
  loadTools();
}

document.addEventListener('DOMContentLoaded', () => {
  initTheme();
  initConnection();
  initTester();
  poll();
});

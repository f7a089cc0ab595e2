// Drives the Ingress dashboard in headless Chromium, as Home Assistant's
// sidebar shows it: under a prefix, through a proxy that adds the
// Supervisor's headers. Run by mcp_bridge_addon/e2e_dashboard_browser_test.go:
//
//   node e2e/dashboard.mjs <dashboard URL ending in />
//
// Environment: CHROMIUM (the browser binary), SCREENSHOTS (a folder for the
// screenshots), API_URL (the URL the snippets must name). It fails (exit 1)
// on a console error, a request that leaves this machine, or a panel that
// does not work, and prints one line per check.
import { chromium } from 'playwright-core';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';

const [url] = process.argv.slice(2);
const chromiumPath = process.env.CHROMIUM || '/usr/bin/chromium';
const shots = process.env.SCREENSHOTS;
const apiURL = process.env.API_URL;
if (!url || !shots || !apiURL) {
  console.error('usage: SCREENSHOTS=dir API_URL=url node e2e/dashboard.mjs <dashboard URL>');
  process.exit(2);
}
mkdirSync(shots, { recursive: true });

const failures = [];
const fail = (msg) => { failures.push(msg); console.log(`FAIL ${msg}`); };
const ok = (msg) => console.log(`ok   ${msg}`);
const local = new Set(['127.0.0.1', 'localhost', '[::1]']);

const browser = await chromium.launch({
  executablePath: chromiumPath,
  headless: true,
  args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run',
    '--disable-background-networking', '--disable-component-update', '--disable-sync'],
});

// open opens the dashboard in a new context with the given color scheme,
// watching the console and every request.
async function open(scheme) {
  const context = await browser.newContext({ colorScheme: scheme, viewport: { width: 1280, height: 900 } });
  await context.grantPermissions(['clipboard-read', 'clipboard-write'], { origin: new URL(url).origin });
  const page = await context.newPage();
  page.on('console', (m) => { if (m.type() === 'error') fail(`${scheme}: console error: ${m.text()}`); });
  page.on('pageerror', (e) => fail(`${scheme}: page error: ${e.message}`));
  page.on('request', (r) => {
    const u = new URL(r.url());
    if (u.protocol !== 'data:' && !local.has(u.hostname)) fail(`${scheme}: request leaves this machine: ${r.url()}`);
  });
  page.on('response', (r) => { if (r.status() >= 400) fail(`${scheme}: ${r.status()} for ${r.url()}`); });
  await page.goto(url);
  await page.waitForSelector('#tiles .tile');
  return { context, page };
}

const tileValue = (page, label) => page.$$eval('#tiles .tile', (tiles, label) => {
  const t = tiles.find((x) => x.querySelector('.label').textContent === label);
  return t ? t.querySelector('.value').textContent : null;
}, label);

async function runTool(page, name, args) {
  await page.selectOption('#tool', name);
  await page.check('#raw');
  await page.fill('#raw-args', JSON.stringify(args));
  await page.click('#run');
  await page.waitForFunction(() => !document.getElementById('result').hidden && !document.getElementById('run').disabled);
  return page.textContent('#result');
}

try {
  // ---- Light theme: live figures, the tester, the audit log, snippets ----
  const { context, page } = await open('light');
  const bg = await page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  if (bg !== 'rgb(250, 250, 250)') fail(`light: body background ${bg}, want Home Assistant's light rgb(250, 250, 250)`);
  else ok('light theme');

  const callsBefore = Number((await tileValue(page, 'Calls')).replace(/\D/g, ''));
  await page.waitForSelector('#tool option[value="get_entity_state"]', { state: 'attached' });
  // The form made from the input schema: a text field for entity_id.
  await page.selectOption('#tool', 'get_entity_state');
  await page.fill('#arg-entity_id', 'light.kitchen_spots');
  await page.click('#run');
  await page.waitForFunction(() => document.getElementById('result').textContent.includes('light.kitchen_spots'));
  ok('tool tester ran get_entity_state from its form');
  await page.waitForFunction((before) => {
    const t = [...document.querySelectorAll('#tiles .tile')].find((x) => x.querySelector('.label').textContent === 'Calls');
    return t && Number(t.querySelector('.value').textContent.replace(/\D/g, '')) > before;
  }, callsBefore, { timeout: 30000 });
  ok(`live figures change: calls went up from ${callsBefore}`);
  await page.waitForSelector('#calls tbody tr td code');

  const text = await runTool(page, 'call_service', { domain: 'light', service: 'turn_on', entity_id: 'light.kitchen_spots' });
  if (!text.includes('light.kitchen_spots')) fail(`call_service answered: ${text.slice(0, 200)}`);
  await page.waitForFunction(() => [...document.querySelectorAll('#audit tbody tr')]
    .some((r) => r.textContent.includes('Alice (Home Assistant user)') && r.textContent.includes('light.turn_on')), null, { timeout: 30000 });
  ok('the write is in the audit log with who made it');

  await page.click('#snippet-tabs button[data-id="claude-code"]');
  await page.click('#snippet-copy');
  await page.waitForFunction(() => document.getElementById('snippet-copied').dataset.copied === 'true');
  const clip = await page.evaluate(() => navigator.clipboard.readText());
  if (!clip.startsWith('claude mcp add --transport http') || !clip.includes(apiURL)) fail(`clipboard holds ${JSON.stringify(clip)}; want the Claude Code command with ${apiURL}`);
  else ok('copied the Claude Code snippet');
  for (const id of ['claude-desktop', 'cursor', 'vscode', 'lm-studio', 'open-webui', 'n8n', 'home-assistant']) {
    await page.click(`#snippet-tabs button[data-id="${id}"]`);
    const s = await page.textContent('#snippet');
    if (id !== 'home-assistant' && !s.includes(apiURL)) fail(`the ${id} snippet does not name ${apiURL}`);
  }
  ok('every snippet names the URL');

  await page.waitForSelector('#chart-rps polyline', { timeout: 30000 });
  ok('the charts have points');
  await page.click('#snippet-tabs button[data-id="claude-desktop"]');
  await page.screenshot({ path: join(shots, 'dashboard-light.png'), fullPage: true });
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.screenshot({ path: join(shots, 'dashboard-light-top.png'), fullPage: true, clip: { x: 0, y: 0, width: 1280, height: 1150 } });

  // The toggle overrides the system's scheme.
  await page.click('#theme'); // auto -> light
  await page.click('#theme'); // light -> dark
  const toggled = await page.evaluate(() => [document.documentElement.dataset.theme, getComputedStyle(document.body).backgroundColor]);
  if (toggled[0] !== 'dark' || toggled[1] !== 'rgb(17, 17, 17)') fail(`theme toggle: ${toggled}`);
  else ok('theme toggle');
  await context.close();

  // ---- Dark theme from the system's preference ----
  const dark = await open('dark');
  const dbg = await dark.page.evaluate(() => getComputedStyle(document.body).backgroundColor);
  if (dbg !== 'rgb(17, 17, 17)') fail(`dark: body background ${dbg}, want Home Assistant's dark rgb(17, 17, 17)`);
  else ok('dark theme');
  await dark.page.waitForSelector('#audit tbody tr');
  await dark.page.waitForSelector('#chart-rps polyline');
  await dark.page.screenshot({ path: join(shots, 'dashboard-dark.png'), fullPage: true });
  await dark.page.screenshot({ path: join(shots, 'dashboard-dark-top.png'), fullPage: true, clip: { x: 0, y: 0, width: 1280, height: 1150 } });
  await dark.context.close();
} catch (e) {
  fail(`${e.stack || e}`);
} finally {
  await browser.close();
}
if (failures.length) {
  console.log(`${failures.length} failure(s)`);
  process.exit(1);
}
console.log('all dashboard checks passed');

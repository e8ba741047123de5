// The public web in a real browser: Debian's chromium driven by playwright-core
// (no browser download), against the real `sunledger serve` on demo data, on
// 127.0.0.1 only. Run by CTest as WebBrowser (tests/web/run-browser-test.sh).
//
//   node browser_test.mjs --binary build/sunledger --screenshots build/screenshots --vectors tests/data/merkle
//
// Fails (never skips) when something it needs is missing: CI installs it all.
import { spawn, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

const args = {};
for (let i = 2; i < process.argv.length; i += 2) args[process.argv[i].replace(/^--/, '')] = process.argv[i + 1];
const binary = args.binary;
const shots = args.screenshots;
const vectors = args.vectors;
const chromiumPath = process.env.SUNLEDGER_CHROMIUM || '/usr/bin/chromium';

const failures = [];
const fail = (what) => {
  failures.push(what);
  console.error('FAIL: ' + what);
};
const check = (ok, what) => {
  if (!ok) fail(what);
  return ok;
};
const started = Date.now();
const log = (text) => console.log(`[${((Date.now() - started) / 1000).toFixed(1)}s] ${text}`);

function die(text) {
  console.error('browser test cannot run: ' + text);
  process.exit(1);
}

if (!binary || !fs.existsSync(binary)) die(`no sunledger binary at ${binary} (--binary)`);
if (!shots) die('no --screenshots folder');
if (!vectors || !fs.existsSync(vectors)) die(`no Merkle vectors at ${vectors} (--vectors)`);
if (!fs.existsSync(chromiumPath)) die(`no chromium at ${chromiumPath}: run scripts/install-deps (Debian's chromium)`);
let chromium;
try {
  ({ chromium } = await import('playwright-core'));
} catch (e) {
  die('playwright-core is not installed: run `npm ci` in tests/web (' + e.message + ')');
}

function freePort() {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function run(argv) {
  const r = spawnSync(binary, argv, { encoding: 'utf8', timeout: 60000 });
  if (r.status !== 0) die(`sunledger ${argv.join(' ')} exited ${r.status}: ${r.stderr}${r.stdout}`);
  return r.stdout;
}

async function waitForServer(base, child) {
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) die('sunledger serve exited ' + child.exitCode);
    try {
      const r = await fetch(base + '/healthz');
      if (r.ok) return;
    } catch (e) {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  die('sunledger serve did not answer /healthz within 30 s');
}

// A proxy in front of the server that alters what it answers, as a dishonest
// server would: alter(url, body) returns the new body, or null to pass it on.
function alteringProxy(target, alter) {
  const server = http.createServer((req, res) => {
    // Plain bodies to alter: the server compresses when asked (brotli, gzip).
    const headers = { ...req.headers };
    delete headers['accept-encoding'];
    const up = http.request({ host: '127.0.0.1', port: target, path: req.url, method: req.method, headers }, (upRes) => {
      const chunks = [];
      upRes.on('data', (c) => chunks.push(c));
      upRes.on('end', () => {
        let body = Buffer.concat(chunks);
        const changed = alter(new URL(req.url, 'http://127.0.0.1'), body.toString('utf8'));
        if (changed !== null) {
          body = Buffer.from(changed);
          server.altered++;
        }
        const headers = { ...upRes.headers, 'content-length': String(body.length) };
        delete headers['transfer-encoding'];
        res.writeHead(upRes.statusCode, headers);
        res.end(body);
      });
    });
    up.on('error', (e) => {
      res.writeHead(502);
      res.end(String(e));
    });
    req.pipe(up);
  });
  server.altered = 0;
  return server;
}

// The three lies a server could tell about entry #25 (142,400.00 to the road):
const lies = {
  // a proof that does not lead to the signed root (one bit of its first hash flipped);
  proof: (url, body) => {
    if (!url.pathname.endsWith('/proof/inclusion') || url.searchParams.get('index') !== '25') return null;
    const j = JSON.parse(body);
    const h = Buffer.from(j.proof[0], 'base64');
    h[0] ^= 1;
    j.proof[0] = h.toString('base64');
    return JSON.stringify(j);
  },
  // the entry's stored bytes with a smaller amount (its honest proof no longer fits them);
  leaf: (url, body) => {
    if (!url.pathname.endsWith('/entries')) return null;
    const j = JSON.parse(body);
    let changed = false;
    for (const e of j.entries || [])
      if (e.index === 25) {
        const leaf = Buffer.from(e.leaf, 'base64').toString('utf8');
        e.leaf = Buffer.from(leaf.replace('14240000', '4240000')).toString('base64');
        changed = leaf.includes('14240000');
      }
    return changed ? JSON.stringify(j) : null;
  },
  // the page showing another amount than the signed entry's.
  page: (url, body) => {
    if (url.pathname !== '/villages/shuangjiang/2022-11' || !body.includes('<td class="num">142,400.00</td>')) return null;
    return body.replace('<td class="num">142,400.00</td>', '<td class="num">42,400.00</td>');
  },
};

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sunledger-browser-'));
const data = path.join(dir, 'data');
let serverProcess = null;
let proxy = null;
let browser = null;
const xss = '<script>alert(1)</script>';

try {
  fs.mkdirSync(shots, { recursive: true });
  log('demo data');
  run(['--data', data, 'demo', '--no-serve']);
  // A hostile project name, through the CLI before serving: it must show as text.
  run(['--data', data, 'project', 'add', '--village', 'shuangjiang', '--name', xss, '--approved', '1000']);
  // A village whose month has too many long lines for one page: its pages
  // must each verify in full (every entry of the month proven on each).
  run(['--data', data, 'village', 'add', '--id', 'dashan', '--name', '大山村', '--town', '朱亭镇']);
  const item = '村道两侧排水沟清淤及护坡修复人工费按日结算'.repeat(3);
  const csvRows = ['date,type,category,item,amount,project,fund,counterparty,note'];
  for (let i = 0; i < 320; i++) csvRows.push(`2022-11-${String((i % 28) + 1).padStart(2, '0')},收入,上级拨款,${item}${i},${100 + i},,一般资金,朱亭镇财政所,第${i}笔`);
  fs.writeFileSync(path.join(dir, 'dashan.csv'), csvRows.join('\n') + '\n');
  run(['--data', data, 'post', '--village', 'dashan', '--file', path.join(dir, 'dashan.csv')]);
  run(['--data', data, 'close', '--village', 'dashan', '--month', '2022-11', '--no-notice']);

  const port = await freePort();
  const base = `http://127.0.0.1:${port}`;
  serverProcess = spawn(binary, ['--data', data, 'serve', '--listen', `127.0.0.1:${port}`], { stdio: ['ignore', 'ignore', 'pipe'] });
  let serverLog = '';
  serverProcess.stderr.on('data', (c) => {
    serverLog += c;
  });
  await waitForServer(base, serverProcess);
  log('serving on ' + base);

  browser = await chromium.launch({ executablePath: chromiumPath, args: ['--no-sandbox'] });
  const context = await browser.newContext({ viewport: { width: 360, height: 800 }, deviceScaleFactor: 1 });
  // Network traffic to 127.0.0.1 only: anything else is a failure and is never sent.
  await context.route('**/*', (route) => {
    const url = new URL(route.request().url());
    if (url.hostname === '127.0.0.1') return route.continue();
    fail('request outside the server: ' + url.href);
    return route.abort();
  });
  const dialogs = [];
  const consoleErrors = [];
  const newPage = async () => {
    const page = await context.newPage();
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      d.dismiss().catch(() => {});
    });
    page.on('console', (m) => {
      if (m.type() === 'error') consoleErrors.push(`${page.url()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => consoleErrors.push(`${page.url()}: ${e.message}`));
    return page;
  };
  const page = await newPage();

  // Every page of the demo reachable from the front page (not the CSV downloads).
  const seen = new Set(['/']);
  const queue = ['/'];
  const monthPath = /^\/villages\/[^/]+\/\d{4}-\d{2}(\/page\/\d+)?$/;
  const visit = async (tab, p) => {
    const res = await tab.goto(base + p, { waitUntil: 'load' });
    check(res && res.status() === 200, `${p} answered ${res && res.status()}`);
    if (monthPath.test(p)) {
      await tab.waitForSelector('#verify[data-result]', { timeout: 60000 }).catch(() => fail(`${p}: the verification never finished`));
      const result = await tab.getAttribute('#verify', 'data-result');
      check(result === 'verified', `${p}: verification says ${result}: ${await tab.textContent('#verify')}`);
    }
    // Readable on a 360 px phone: nothing but a table's own scroller is wider than the screen.
    const wide = await tab.evaluate(() => document.documentElement.scrollWidth);
    check(wide <= 360, `${p} is ${wide} px wide on a 360 px screen`);
    const name = p === '/' ? 'home' : p.slice(1).replace(/\//g, '_');
    // Dashan's long month is tens of thousands of pixels tall at 360 px: its first screen only.
    await tab.screenshot({ path: path.join(shots, name + '.png'), fullPage: !p.startsWith('/villages/dashan/') });
    if (process.env.SUNLEDGER_TIMING) log(p);
    const links = await tab.$$eval('a[href^="/"]', (as) => as.map((a) => a.getAttribute('href')));
    for (const l of links) {
      if (l.endsWith('.csv') || seen.has(l)) continue;
      seen.add(l);
      queue.push(l);
    }
  };
  // Two tabs take pages off one queue (a tab idles while the server answers).
  const tabs = [page, await newPage()];
  let busy = 0;
  await Promise.all(
    tabs.map(async (tab) => {
      for (;;) {
        const p = queue.shift();
        if (p === undefined) {
          if (busy === 0) return;
          await new Promise((r) => setTimeout(r, 20));
          continue;
        }
        busy++;
        try {
          await visit(tab, p);
        } finally {
          busy--;
        }
      }
    })
  );
  await tabs[1].close();
  log(`${seen.size} pages loaded, screenshots in ${shots}`);
  check(seen.size >= 10, `only ${seen.size} pages reached from the front page`);
  check(seen.has('/villages/shuangjiang/2022-11') && seen.has('/villages/shuangjiang/2022-11/notice'), 'the Shuangjiang month or notice is not linked');
  // Dashan's long month: two pages or more, each verified above with ✓ on its every row.
  check(seen.has('/villages/dashan/2022-11/page/2'),
    "Dashan's month is not in pages: " + [...seen].filter((p) => p.includes('dashan')).join(' '));
  await page.goto(base + '/villages/dashan/2022-11/page/2');
  await page.waitForSelector('#verify[data-result]', { timeout: 30000 });
  const dashanMarks = await page.$$eval('tr[data-index]', (rows) => rows.map((r) => r.querySelector('td.check').textContent));
  check(dashanMarks.length > 0 && dashanMarks.every((m) => m === '✓'), `Dashan page 2: ${dashanMarks.length} rows, marks ${[...new Set(dashanMarks)]}`);
  check((await page.textContent('main')).includes('明细第2/'), 'Dashan page 2 does not say which page it is');

  // Shuangjiang's November: the figures, the alert, and ✓ on every line.
  const nov = '/villages/shuangjiang/2022-11';
  await page.goto(base + nov);
  await page.waitForSelector('#verify[data-result]', { timeout: 20000 });
  const text = await page.textContent('main');
  check(text.includes('142,400.00'), 'the November page does not show 142,400.00');
  check(text.includes('专项资金挪用'), 'the November page does not show the diversion alert');
  const marks = await page.$$eval('tr[data-index]', (rows) => rows.map((r) => [r.dataset.index, r.querySelector('td.check').textContent]));
  check(marks.length > 5, `only ${marks.length} lines on the November page`);
  for (const [i, m] of marks) check(m === '✓', `November line #${i} shows "${m}", not ✓`);
  const summary = await page.textContent('#verify-summary');
  check(summary.includes('全部核验通过') && summary.includes('All verified'), 'November summary: ' + summary);

  // The consistency box: November's own checkpoint, September's (older), a forged one.
  const novNote = await page.textContent('#checkpoint');
  const consistency = async (note) => {
    await page.fill('#consistency-note', note);
    await page.click('#consistency-check');
    await page.waitForFunction(() => /[✓✗]/.test(document.getElementById('consistency-result').textContent), null, { timeout: 10000 });
    return page.textContent('#consistency-result');
  };
  check(await page.isVisible('#consistency'), 'the consistency box is hidden');
  let said = await consistency(novNote);
  check(said.startsWith('✓ 一致'), 'November checkpoint against today: ' + said);
  const sep = await newPage();
  await sep.goto(base + '/villages/shuangjiang/2022-09');
  const sepNote = await sep.textContent('#checkpoint');
  await sep.close();
  said = await consistency('  ' + sepNote.replace(/\n/g, '\r\n') + '  \r\n');  // as pasted from a chat app
  check(said.startsWith('✓ 一致'), 'September checkpoint (pasted with CRLF) against today: ' + said);
  const lines = novNote.split('\n');
  const forged = [lines[0], String(Number(lines[1]) - 1), lines[2], ...lines.slice(3)].join('\n');
  said = await consistency(forged);
  check(said.startsWith('✗') && said.includes('签名无效'), 'a forged checkpoint: ' + said);
  const other = await newPage();
  await other.goto(base + '/villages/huanglong/2022-10');
  const otherNote = await other.textContent('#checkpoint');
  await other.close();
  said = await consistency(otherNote);
  check(said.startsWith('✗') && said.includes('另一本账'), "another village's checkpoint: " + said);

  // The hostile name shows as text; nothing ran.
  await page.goto(base + '/villages/shuangjiang');
  check((await page.textContent('main')).includes(xss), 'the hostile project name is not shown as text');
  check((await page.$$('main script')).length === 0, 'a script element appeared on the village page');

  // The script's hashing and proofs against the public RFC 9162 vectors, in the browser.
  await page.goto(base + nov);
  await page.waitForSelector('#verify[data-result]');
  const load = (kind) =>
    fs.readdirSync(path.join(vectors, kind), { recursive: true })
      .filter((f) => f.endsWith('.json'))
      .map((f) => ({ name: `${kind}/${f}`, ...JSON.parse(fs.readFileSync(path.join(vectors, kind, f), 'utf8')) }));
  const inclusion = load('inclusion');
  const consistencyVectors = load('consistency');
  const outcomes = await page.evaluate(
    async ([inc, con]) => {
      const V = globalThis.SunledgerVerify;
      const hashes = (list) => (list || []).map((h) => V.b64decode(h) || new Uint8Array(0));
      const out = [];
      for (const v of inc) {
        const ok = await V.verifyInclusion(v.leafIdx, v.treeSize, V.b64decode(v.leafHash) || new Uint8Array(0), hashes(v.proof),
          V.b64decode(v.root) || new Uint8Array(0));
        out.push([v.name, ok, !v.wantErr]);
      }
      for (const v of con) {
        const ok = await V.verifyConsistency(v.size1, v.size2, V.b64decode(v.root1) || new Uint8Array(0),
          V.b64decode(v.root2) || new Uint8Array(0), hashes(v.proof));
        out.push([v.name, ok, !v.wantErr]);
      }
      // RFC 9162's leaf hash of the empty leaf, and of leaf 00.
      const hex = (b) => Array.from(b, (x) => x.toString(16).padStart(2, '0')).join('');
      out.push(['leaf ""', hex(await V.leafHash(new Uint8Array(0))), '6e340b9cffb37a989ca544e6bb780a2c78901d3fb33738768511a30617afa01d']);
      return out;
    },
    [inclusion, consistencyVectors]
  );
  for (const [name, got, want] of outcomes) check(got === want, `vector ${name}: got ${got}, want ${want}`);
  log(`${outcomes.length} vectors checked`);

  // Through a proxy that lies about #25: that line shows ✗, the others ✓, and the summary says so.
  for (const [lie, alter] of Object.entries(lies)) {
    const proxyPort = await freePort();
    proxy = alteringProxy(port, alter);
    await new Promise((r) => proxy.listen(proxyPort, '127.0.0.1', r));
    const bad = await newPage();
    await bad.goto(`http://127.0.0.1:${proxyPort}${nov}`);
    await bad.waitForSelector('#verify[data-result]', { timeout: 20000 });
    check(proxy.altered >= 1, `${lie}: the proxy altered nothing`);
    check((await bad.getAttribute('#verify', 'data-result')) === 'failed', `${lie}: the altered month still verified`);
    const badMarks = await bad.$$eval('tr[data-index]', (rows) => rows.map((r) => [r.dataset.index, r.querySelector('td.check').textContent]));
    for (const [i, m] of badMarks) check(m === (i === '25' ? '✗' : '✓'), `${lie}: through the proxy, line #${i} shows "${m}"`);
    const badSummary = await bad.textContent('#verify-summary');
    check(badSummary.includes('核验未通过') && badSummary.includes('FAILED'), `${lie}: through the proxy the summary says: ` + badSummary);
    check((await bad.textContent('#verify-problems')).includes('#25'), `${lie}: the problems do not name #25`);
    if (lie === 'proof') await bad.screenshot({ path: path.join(shots, 'altered-proof_shuangjiang_2022-11.png'), fullPage: true });
    await bad.close();
    proxy.closeAllConnections();
    await new Promise((r) => proxy.close(r));
    proxy = null;
  }

  // The inspector's dashboard: nothing without a session; sign-in by the
  // one-time link the bot sends for 登录 (asked through the real CLI beside
  // the running server, as an inspector writes it in private chat).
  const dash = await newPage();
  const shot = async (name) => {
    const wide = await dash.evaluate(() => document.documentElement.scrollWidth);
    check(wide <= 360, `${name} is ${wide} px wide on a 360 px screen`);
    await dash.screenshot({ path: path.join(shots, name + '.png'), fullPage: true });
  };
  await dash.goto(base + '/inspect');
  check(new URL(dash.url()).pathname === '/inspect/login', 'without a session /inspect went to ' + dash.url());
  await shot('inspect_login');
  const reply = run(['--data', data, 'ask', '--bot', 'generic', '--chat', 'zhuting-inspector', '--private', '--user',
    'zhuting-inspector', '登录']);
  const link = /\/inspect\/login\?t=([a-p]{64})/.exec(reply);
  if (!check(link !== null, '登录 gave no link: ' + reply)) throw new Error('no sign-in link');
  const linkToken = link[1];
  // Opening the link uses nothing (chat apps preview links); its button does.
  await dash.goto(base + link[0]);
  check((await dash.textContent('main')).includes('登录'), 'the link page has no sign-in button');
  await Promise.all([dash.waitForURL(base + '/inspect'), dash.click('form[action="/inspect/login"] button[type="submit"]')]);
  const cookies = await context.cookies(base + '/inspect');
  const session = cookies.find((c) => c.name === 'sl_session');
  check(session && session.httpOnly && session.sameSite === 'Strict' && session.path === '/inspect',
    'the session cookie: ' + JSON.stringify(session));
  check((await dash.textContent('nav.dash')).includes('zhuting-inspector'), 'the dashboard does not name who signed in');
  await shot('inspect_queue');
  // The link works once.
  const again = await newPage();
  await again.goto(base + link[0]);
  await again.click('form[action="/inspect/login"] button[type="submit"]');
  check((await again.textContent('main')).includes('已用过'), 'a used link signed in again: ' + (await again.textContent('main')));
  await again.close();

  // The queue, filtered; Huanglong's complaint (received) through its transitions.
  await dash.goto(base + '/inspect');
  await dash.selectOption('select[name="village"]', 'huanglong');
  await dash.selectOption('select[name="status"]', 'received');
  await Promise.all([dash.waitForURL(/\/inspect\?/), dash.click('form.filters button[type="submit"]')]);
  check(dash.url().includes('village=huanglong') && dash.url().includes('status=received'), 'the filters went to ' + dash.url());
  const complaintLinks = await dash.$$eval('main a[href^="/inspect/complaints/"]', (as) => as.map((a) => a.getAttribute('href')));
  if (!check(complaintLinks.length >= 1, 'no received complaint of Huanglong in the queue')) throw new Error('empty queue');
  const complaint = complaintLinks[0];
  await dash.goto(base + complaint);
  await shot('inspect_complaint');
  // A form post without the CSRF token, and with a wrong one, is refused and changes nothing.
  const stays = await newPage();  // kept open on the form, to post after signing out
  await stays.goto(base + complaint);
  for (const forge of ['remove', 'alter']) {
    await dash.goto(base + complaint);
    await dash.selectOption('select[name="to"]', 'assigned');
    await dash.fill('input[name="assignee"]', '黄龙村监委');
    await dash.$eval('form.act input[name="csrf"]', (input, how) => {
      if (how === 'remove') input.remove();
      else input.value = input.value.replace(/^./, (c) => (c === 'a' ? 'b' : 'a'));
    }, forge);
    const [res] = await Promise.all([dash.waitForNavigation(), dash.click('form.act button[type="submit"]')]);
    check(res && res.status() === 403, `a form post with its CSRF token ${forge}d answered ${res && res.status()}`);
    check((await dash.textContent('main')).includes('没有做任何改动'), `the refusal (${forge}) does not say nothing changed`);
    if (forge === 'remove') await shot('inspect_csrf-refused');
  }
  // The status the complaint page shows (its 状态 row).
  const statusShown = () =>
    dash.$$eval('main tr', (rows) => {
      const row = rows.find((r) => r.querySelector('th') && r.querySelector('th').textContent.startsWith('状态'));
      return row ? row.querySelector('td').textContent : '';
    });
  await dash.goto(base + complaint);
  check((await statusShown()).includes('已受理'), 'a refused post changed the complaint: ' + (await statusShown()));
  for (const [to, assignee, note, shown] of [
    ['assigned', '黄龙村监委', '请核查', '已转办'],
    ['investigating', '', '已约谈会计', '调查中'],
    ['resolved', '', '已督促公开11月账目', '已办结'],
  ]) {
    await dash.selectOption('select[name="to"]', to);
    if (assignee) await dash.fill('input[name="assignee"]', assignee);
    await dash.fill('textarea[name="note"]', note);
    await Promise.all([dash.waitForURL(/\?done=1$/), dash.click('form.act button[type="submit"]')]);
    const after = await dash.textContent('main');
    check(after.includes('已保存') && after.includes(note), `after ${to} the page says: ${after.slice(0, 300)}`);
    check((await statusShown()).includes(shown), `after ${to} the status shown is ${await statusShown()}`);
  }
  check(!(await dash.isVisible('form.act select[name="to"]')), 'a resolved complaint still offers a next step');
  await shot('inspect_complaint-resolved');
  await dash.goto(base + '/inspect?status=resolved&village=huanglong');
  check((await dash.textContent('main')).includes(complaint.split('/').pop()), 'the resolved complaint is not in the resolved queue');
  await dash.goto(base + '/inspect/stats');
  check((await dash.$$('main svg.bars')).length >= 1, 'the statistics page draws no chart');
  await shot('inspect_stats');

  // Sign out: the session ends on the server; every page under /inspect refuses.
  await Promise.all([dash.waitForURL(base + '/inspect/login'), dash.click('nav.dash button[type="submit"]')]);
  check(!(await context.cookies(base + '/inspect')).some((c) => c.name === 'sl_session'), 'the session cookie outlived sign-out');
  for (const p of ['/inspect', complaint, '/inspect/stats', '/inspect/complaints.csv']) {
    const res = await dash.goto(base + p);
    check(new URL(dash.url()).pathname === '/inspect/login' && res.status() === 200, `after sign-out ${p} went to ${dash.url()}`);
  }
  // The tab still showing the form posts with the old session's cookie value.
  await context.addCookies([{ ...session }]);
  await stays.selectOption('select[name="to"]', 'rejected');
  await stays.fill('textarea[name="note"]', 'after sign-out');
  const [late] = await Promise.all([stays.waitForNavigation(), stays.click('form.act button[type="submit"]')]);
  check(late && late.status() === 401, `a post with a signed-out session answered ${late && late.status()}`);
  await stays.close();
  await dash.close();
  await new Promise((r) => setTimeout(r, 200));  // the server's log lines
  check(/dashboard: generic\/zhuting-inspector signed in \(one-time link/.test(serverLog), 'no sign-in line in the log');
  check(/dashboard: generic\/zhuting-inspector signed out/.test(serverLog), 'no sign-out line in the log');
  check(!serverLog.includes(linkToken) && !serverLog.includes(session.value), 'a link or session token in the log');
  log('dashboard: signed in by link, moved a complaint to resolved, CSRF refused, signed out');

  check(dialogs.length === 0, 'a dialog fired: ' + dialogs.join(' | '));
  // Chromium logs each 4xx answer as a console error: the dashboard's four
  // refusals above (a used link, two forged forms, a post after sign-out) are
  // expected, each checked where it happened; any other is a failure.
  const refusal = /^http:\/\/127\.0\.0\.1:\d+\/inspect\/[^ ]*: Failed to load resource: the server responded with a status of 40[13] /;
  const refusals = consoleErrors.filter((e) => refusal.test(e));
  check(refusals.length === 4, `${refusals.length} refusals logged by the dashboard's pages, not 4:\n  ` + refusals.join('\n  '));
  const unexpected = consoleErrors.filter((e) => !refusal.test(e));
  check(unexpected.length === 0, 'console errors:\n  ' + unexpected.join('\n  '));
  if (serverProcess.exitCode !== null) fail('the server stopped: ' + serverLog);
} catch (e) {
  fail('the test stopped: ' + (e && e.stack ? e.stack : e));
} finally {
  if (browser) await browser.close().catch(() => {});
  if (proxy) proxy.close();
  if (serverProcess && serverProcess.exitCode === null) {
    serverProcess.kill('SIGTERM');
    await new Promise((r) => {
      const t = setTimeout(() => {
        serverProcess.kill('SIGKILL');
        r();
      }, 5000);
      serverProcess.once('exit', () => {
        clearTimeout(t);
        r();
      });
    });
  }
  fs.rmSync(dir, { recursive: true, force: true });
}

log(failures.length ? `${failures.length} failure(s)` : 'all browser checks passed');
process.exit(failures.length ? 1 : 0);

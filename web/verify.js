// Sunledger: checks a published month in the visitor's own browser, asking
// nothing of anyone but the server that sent the page (CSP connect-src 'self').
//
// 1. The month's checkpoint (a C2SP signed note) is signed by the verifier
//    key shown on the page (WebCrypto Ed25519).
// 2. Every entry of the month, every displayed line and the statement are in
//    the tree that checkpoint signs: the leaf hash SHA-256(0x00 || leaf) is
//    computed here from the entry's stored bytes (never the server's
//    leaf_hash), and the root is recomputed from the read API's inclusion
//    proof (RFC 9162 §2.1.3.2) and compared with the signed root.
// 3. Each row's amount is the amount in its proven entry, and the statement's
//    totals equal the sum of the month's entries net of reversals.
// A box checks a pasted old checkpoint against today's tree (RFC 9162
// §2.1.4.2). Text from the server only ever reaches the page as textContent.
'use strict';

(function () {
  const enc = new TextEncoder();

  // ---- bytes and hashes ----------------------------------------------------

  // Strict standard base64 (padding required); null when malformed.
  function b64decode(text) {
    if (typeof text !== 'string' || text.length % 4 !== 0 || !/^[A-Za-z0-9+/]*={0,2}$/.test(text)) return null;
    let bin;
    try {
      bin = atob(text);
    } catch (e) {
      return null;
    }
    const out = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) out[i] = bin.charCodeAt(i);
    return out;
  }

  function concat(...parts) {
    let n = 0;
    for (const p of parts) n += p.length;
    const out = new Uint8Array(n);
    let at = 0;
    for (const p of parts) {
      out.set(p, at);
      at += p.length;
    }
    return out;
  }

  function equal(a, b) {
    if (!a || !b || a.length !== b.length) return false;
    let diff = 0;
    for (let i = 0; i < a.length; i++) diff |= a[i] ^ b[i];
    return diff === 0;
  }

  async function sha256(bytes) {
    return new Uint8Array(await crypto.subtle.digest('SHA-256', bytes));
  }

  // RFC 9162 §2.1.1: leaves and interior nodes are hashed with distinct prefixes.
  function leafHash(leaf) {
    return sha256(concat(Uint8Array.of(0), leaf));
  }
  function nodeHash(left, right) {
    return sha256(concat(Uint8Array.of(1), left, right));
  }

  const isHash = (h) => h instanceof Uint8Array && h.length === 32;
  const odd = (n) => n % 2 === 1;
  const half = (n) => Math.floor(n / 2);
  // Sizes are Numbers (bit operators would cut them to 32 bits).
  function isPowerOfTwo(n) {
    while (n > 1 && !odd(n)) n = half(n);
    return n === 1;
  }

  // RFC 9162 §2.1.3.2: the root that `proof` leads to from leaf `index` of a
  // tree of `size` leaves, or null when the proof cannot be right.
  async function rootFromInclusionProof(index, size, leafHashBytes, proof) {
    if (!Number.isSafeInteger(index) || !Number.isSafeInteger(size) || index < 0 || index >= size) return null;
    if (!isHash(leafHashBytes) || !Array.isArray(proof) || !proof.every(isHash)) return null;
    let fn = index;
    let sn = size - 1;
    let r = leafHashBytes;
    for (const p of proof) {
      if (sn === 0) return null;
      if (odd(fn) || fn === sn) {
        r = await nodeHash(p, r);
        if (!odd(fn)) {
          while (!odd(fn) && fn !== 0) {
            fn = half(fn);
            sn = half(sn);
          }
        }
      } else {
        r = await nodeHash(r, p);
      }
      fn = half(fn);
      sn = half(sn);
    }
    return sn === 0 ? r : null;
  }

  async function verifyInclusion(index, size, leafHashBytes, proof, root) {
    if (!isHash(root)) return false;
    return equal(await rootFromInclusionProof(index, size, leafHashBytes, proof), root);
  }

  // RFC 9162 §2.1.4.2: does `proof` show that the tree of size `first` with
  // root `firstRoot` is a prefix of the tree of size `second` with `secondRoot`?
  async function verifyConsistency(first, second, firstRoot, secondRoot, proof) {
    if (!Number.isSafeInteger(first) || !Number.isSafeInteger(second) || first <= 0 || first > second) return false;
    // Equal sizes: nothing to prove, the roots are compared (as ledger/merkle.cc does).
    if (first === second) return Array.isArray(proof) && proof.length === 0 && equal(firstRoot, secondRoot);
    if (!isHash(firstRoot) || !isHash(secondRoot) || !Array.isArray(proof) || !proof.every(isHash)) return false;
    if (first === 0 || proof.length === 0) return false;
    let path = proof;
    // A first tree that is a whole subtree is its own first node.
    if (isPowerOfTwo(first)) path = [firstRoot, ...proof];
    let fn = first - 1;
    let sn = second - 1;
    while (odd(fn)) {
      fn = half(fn);
      sn = half(sn);
    }
    let fr = path[0];
    let sr = path[0];
    for (const c of path.slice(1)) {
      if (sn === 0) return false;
      if (odd(fn) || fn === sn) {
        fr = await nodeHash(c, fr);
        sr = await nodeHash(c, sr);
        if (!odd(fn)) {
          while (!odd(fn) && fn !== 0) {
            fn = half(fn);
            sn = half(sn);
          }
        }
      } else {
        sr = await nodeHash(sr, c);
      }
      fn = half(fn);
      sn = half(sn);
    }
    return sn === 0 && equal(fr, firstRoot) && equal(sr, secondRoot);
  }

  // ---- signed notes (C2SP signed-note, tlog-checkpoint) --------------------

  // "name+hexid+base64(0x01 || key)": the key, its name and its id, or an error.
  async function parseVerifierKey(text) {
    // Key names have no '+'; base64 may.
    const m = /^([^+]+)\+([^+]*)\+(.*)$/.exec(String(text).trim());
    if (!m) return { error: '公钥格式不对 (malformed verifier key)' };
    const [, name, hex, b64] = m;
    const blob = b64decode(b64);
    if (!name || !/^[0-9a-f]{8}$/.test(hex) || !blob || blob.length !== 33 || blob[0] !== 1)
      return { error: '公钥格式不对 (malformed verifier key)' };
    const key = blob.slice(1);
    const id = (await sha256(concat(enc.encode(name), Uint8Array.of(0x0a, 0x01), key))).slice(0, 4);
    const want = Uint8Array.from(hex.match(/../g).map((h) => parseInt(h, 16)));
    if (!equal(id, want)) return { error: '公钥编号与公钥不符 (the key id does not match the key)' };
    return { name, id, key };
  }

  // Pasted text as a note: CRLF, spaces before the note and at the ends of
  // lines (chat apps add them) removed, one final newline.
  function normalizeNote(text) {
    const lines = String(text).replace(/\r\n?/g, '\n').replace(/^[\s\u00a0\u3000]+/, '').split('\n').map((l) => l.replace(/[ \t\u00a0\u3000]+$/, ''));
    while (lines.length && lines[0] === '') lines.shift();
    while (lines.length && lines[lines.length - 1] === '') lines.pop();
    return lines.join('\n') + '\n';
  }

  // A checkpoint signed by `vkey` (from parseVerifierKey): {origin, size, root}
  // or {error}.
  async function openCheckpoint(noteText, vkey) {
    if (vkey.error) return { error: vkey.error };
    const note = noteText;
    const split = note.lastIndexOf('\n\n');
    if (split < 0) return { error: '不是签名格式:正文和签名之间要空一行 (not a signed note)' };
    const body = note.slice(0, split + 1);
    const sigLines = note.slice(split + 2).split('\n');
    if (sigLines.pop() !== '') return { error: '签名行缺少换行 (signature line without a newline)' };
    let key;
    try {
      key = await crypto.subtle.importKey('raw', vkey.key, { name: 'Ed25519' }, false, ['verify']);
    } catch (e) {
      return { error: '这个浏览器不支持 Ed25519 签名核验 (this browser cannot verify Ed25519 signatures)' };
    }
    let verified = false;
    for (const line of sigLines) {
      const m = /^\u2014 (\S+) (\S+)$/.exec(line);
      if (!m) return { error: '签名行格式不对 (malformed signature line)' };
      if (m[1] !== vkey.name) continue;
      const blob = b64decode(m[2]);
      if (!blob || blob.length !== 68 || !equal(blob.slice(0, 4), vkey.id)) continue;
      if (await crypto.subtle.verify({ name: 'Ed25519' }, key, blob.slice(4), enc.encode(body))) verified = true;
    }
    if (!verified) return { error: '签名无效:不是这个公钥签的,或内容被改过 (no valid signature by this key)' };
    const lines = body.slice(0, -1).split('\n');
    if (lines.length < 3 || !lines[0]) return { error: '签名正文应有来源、条数和根哈希 (the body needs origin, size and root)' };
    if (!/^(0|[1-9][0-9]{0,15})$/.test(lines[1]) || !Number.isSafeInteger(Number(lines[1])))
      return { error: '条数格式不对 (malformed size)' };
    const root = b64decode(lines[2]);
    if (!isHash(root)) return { error: '根哈希格式不对 (malformed root)' };
    return { origin: lines[0], size: Number(lines[1]), root };
  }

  // ---- the read API ----------------------------------------------------------

  async function getJson(path) {
    const res = await fetch(path, { credentials: 'omit', cache: 'no-store' });
    if (!res.ok) throw new Error(path + ': HTTP ' + res.status);
    return res.json();
  }

  async function getText(path) {
    const res = await fetch(path, { credentials: 'omit', cache: 'no-store' });
    if (!res.ok) throw new Error(path + ': HTTP ' + res.status);
    return res.text();
  }

  const api = (village) => '/v1/villages/' + encodeURIComponent(village);

  // Entries [from, to) with their leaf bytes, page by page; every index once.
  async function fetchEntries(village, from, to) {
    const out = new Map();
    let at = from;
    while (at < to) {
      const page = await getJson(api(village) + '/entries?from=' + at + '&to=' + to);
      const list = Array.isArray(page.entries) ? page.entries : [];
      for (const e of list)
        if (Number.isSafeInteger(e.index) && e.index >= from && e.index < to && !out.has(e.index)) out.set(e.index, e);
      const next = Number.isSafeInteger(page.to) && page.to > at ? page.to : to;
      if (list.length === 0) break;
      at = next;
    }
    return out;
  }

  // One entry checked against the signed tree: its fields parsed from the
  // very bytes that were proven, or a reason it failed.
  async function proveEntry(village, entry, index, checkpoint) {
    const leaf = entry ? b64decode(entry.leaf) : null;
    if (!leaf) return { ok: false, why: '读不到这条记录 (the entry could not be read)' };
    let proof;
    try {
      proof = await getJson(api(village) + '/proof/inclusion?index=' + index + '&size=' + checkpoint.size);
    } catch (e) {
      return { ok: false, why: '读不到证明 (no inclusion proof): ' + e.message };
    }
    const hashes = Array.isArray(proof.proof) ? proof.proof.map(b64decode) : null;
    const ok = hashes !== null && (await verifyInclusion(index, checkpoint.size, await leafHash(leaf), hashes, checkpoint.root));
    if (!ok) return { ok: false, why: '包含证明不成立:这条记录不在签名的账本里 (the inclusion proof fails)' };
    let fields;
    try {
      fields = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(leaf));
    } catch (e) {
      return { ok: false, why: '记录内容无法解析 (the entry is not readable JSON)' };
    }
    if (!fields || typeof fields !== 'object') return { ok: false, why: '记录内容无法解析 (the entry is not readable JSON)' };
    return { ok: true, fields };
  }

  // Runs `work` on every item, a few at a time.
  async function pool(items, limit, work) {
    let next = 0;
    const runners = [];
    for (let k = 0; k < Math.min(limit, items.length); k++)
      runners.push(
        (async () => {
          while (next < items.length) await work(items[next++]);
        })()
      );
    await Promise.all(runners);
  }

  // ---- money ---------------------------------------------------------------

  const fen = (v) => (Number.isSafeInteger(v) ? v : typeof v === 'undefined' || v === null ? 0 : NaN);

  // "142,400.00" (or "-350.00"), as the server prints amounts.
  function formatFen(f) {
    const neg = f < 0;
    const a = Math.abs(f);
    const yuan = String(Math.floor(a / 100)).replace(/\B(?=(\d{3})+(?!\d))/g, ',');
    return (neg ? '-' : '') + yuan + '.' + String(a % 100).padStart(2, '0');
  }

  // The amount a cell shows ("142,400.00元(14.24万元)" reads 142,400.00).
  function shownAmount(cell) {
    const m = cell ? /-?[0-9][0-9,]*\.[0-9]{2}/.exec(cell.textContent) : null;
    return m ? m[0] : null;
  }

  // What a row of the month page shows as its amount, from its entry.
  function rowAmount(f) {
    if (f.kind === 'reversal') return -fen(f.amount);
    if (f.kind === 'project') return fen(f.approved);
    return fen(f.amount);
  }

  // The statement the ledger would sign for these entries (ledger/month_statement.h).
  function addUp(entries) {
    const t = { income_total: 0, expense_total: 0, subsidy_total: 0, entry_count: 0, subsidy_lines: 0, reversals: 0,
      opening_balances: 0, returned: 0,
      income_by_category: {}, expense_by_category: {}, first_index: -1, last_index: -1 };
    const add = (obj, key, v) => { obj[key] = (obj[key] || 0) + v; };
    for (const [index, f] of entries) {
      if (t.first_index < 0) t.first_index = index;
      t.last_index = index;
      t.entry_count++;
      const amount = fen(f.amount);
      // Corrections (issue #16): money opened, returned or moved between funds, never income or expense.
      if (f.kind === 'opening_balance') { t.opening_balances += amount; continue; }
      if (f.kind === 'special_return') { t.returned += amount; continue; }
      if (f.kind === 'transfer') continue;
      if (f.kind === 'subsidy') {
        t.subsidy_lines++;
        t.subsidy_total += amount;
        continue;
      }
      const reversal = f.kind === 'reversal';
      if (reversal) {
        t.reversals++;
        if (f.target_kind === 'subsidy') {
          t.subsidy_total -= amount;
          continue;
        }
      }
      const signed = reversal ? -amount : amount;
      const category = typeof f.category === 'string' ? f.category : '';
      if (f.direction === 'income') {
        t.income_total += signed;
        add(t.income_by_category, category, signed);
      } else {
        t.expense_total += signed;
        add(t.expense_by_category, category, signed);
      }
    }
    return t;
  }

  function sameCategories(a, b) {
    const keys = new Set([...Object.keys(a || {}), ...Object.keys(b || {})]);
    for (const k of keys) if (fen((a || {})[k]) !== fen((b || {})[k])) return false;
    return true;
  }

  // ---- the page --------------------------------------------------------------

  function say(el, zh, en, cls) {
    el.textContent = '';
    el.append(zh + ' ');
    const span = document.createElement('span');
    span.className = 'en';
    span.textContent = en;
    el.append(span);
    if (cls) el.className = cls;
  }

  function mark(row, ok, why) {
    const cell = row.querySelector('td.check');
    if (!cell) return;
    cell.textContent = ok ? '✓' : '✗';
    cell.className = 'check ' + (ok ? 'verified-ok' : 'verified-bad');
    cell.title = ok ? '已核验 (verified)' : why;
    row.dataset.verified = ok ? 'yes' : 'no';
  }

  async function verifyMonth(section, problems) {
    const village = section.dataset.village;
    const month = section.dataset.month;
    const statementIndex = Number(section.dataset.statement);
    const problem = (text) => {
      problems.push(text);
    };
    const vkey = await parseVerifierKey(document.getElementById('verifier-key').textContent);
    const checkpoint = await openCheckpoint(document.getElementById('checkpoint').textContent, vkey);
    const rows = Array.from(document.querySelectorAll('tr[data-index]'));
    if (checkpoint.error) {
      problem('签名 (checkpoint): ' + checkpoint.error);
      for (const r of rows) mark(r, false, checkpoint.error);
      return { vkey, checkpoint: null, lines: rows.length, verified: 0 };
    }
    if (!/^[a-z0-9-]+$/.test(village) || !checkpoint.origin.endsWith('/' + village))
      problem('签名的来源不是本村的账本 (the checkpoint names another log): ' + checkpoint.origin);
    if (checkpoint.size !== statementIndex + 1)
      problem('签名没有止于本月的汇总 (the checkpoint does not end at the statement)');

    // The statement first: it says which entries are the month's.
    const statementEntries = await fetchEntries(village, statementIndex, statementIndex + 1);
    const statement = await proveEntry(village, statementEntries.get(statementIndex), statementIndex, checkpoint);
    if (!statement.ok) {
      problem('汇总 #' + statementIndex + ' (statement): ' + statement.why);
      for (const r of rows) mark(r, false, statement.why);
      return { vkey, checkpoint, lines: rows.length, verified: 0 };
    }
    const s = statement.fields;
    if (s.kind !== 'statement' || s.month !== month || s.village !== village)
      problem('汇总记录不是本村本月的 (the statement is for another village or month)');

    // Every entry from the first line shown (or the month's first) up to the statement.
    const shown = rows.map((r) => Number(r.dataset.index)).filter(Number.isSafeInteger);
    let from = statementIndex;
    for (const i of shown) from = Math.min(from, i);
    if (Number.isSafeInteger(s.first_index) && s.first_index >= 0) from = Math.min(from, s.first_index);
    const entries = await fetchEntries(village, from, statementIndex);
    const proven = new Map();
    const failed = new Map();
    const indexes = [];
    for (let i = from; i < statementIndex; i++) indexes.push(i);
    await pool(indexes, 6, async (i) => {
      const r = await proveEntry(village, entries.get(i), i, checkpoint);
      if (r.ok) proven.set(i, r.fields);
      else failed.set(i, r.why);
    });

    let verified = 0;
    for (const row of rows) {
      const i = Number(row.dataset.index);
      const f = proven.get(i);
      if (!f) {
        mark(row, false, failed.get(i) || '没有核验 (not checked)');
        problem('#' + i + ': ' + (failed.get(i) || '没有核验 (not checked)'));
        continue;
      }
      const want = formatFen(rowAmount(f));
      const got = shownAmount(row.querySelector('td.num'));
      if (got !== want) {
        const why = '页面金额 ' + got + ' 与签名记录 ' + want + ' 不符 (the amount shown differs from the signed entry)';
        mark(row, false, why);
        problem('#' + i + ': ' + why);
        continue;
      }
      mark(row, true, '');
      verified++;
    }
    for (const [i, why] of failed) if (!shown.includes(i)) problem('#' + i + ': ' + why);

    // The statement against the month's entries, and against what the page shows.
    const mine = Array.from(proven.entries())
      .filter(([, f]) => f.month === month && f.kind !== 'statement')
      .sort((a, b) => a[0] - b[0]);
    const t = addUp(mine);
    const totalsOk =
      t.income_total === fen(s.income_total) &&
      t.expense_total === fen(s.expense_total) &&
      t.subsidy_total === fen(s.subsidy_total) &&
      t.entry_count === fen(s.entry_count) &&
      t.subsidy_lines === fen(s.subsidy_lines) &&
      t.reversals === fen(s.reversals) &&
      (t.entry_count === 0 || (t.first_index === s.first_index && t.last_index === s.last_index)) &&
      sameCategories(t.income_by_category, s.income_by_category) &&
      sameCategories(t.expense_by_category, s.expense_by_category) &&
      t.opening_balances === fen(s.opening_balances) &&
      t.returned === fen(s.returned) &&
      fen(s.closing) === fen(s.opening) + fen(s.income_total) - fen(s.expense_total) + fen(s.opening_balances) - fen(s.returned);
    if (failed.size > 0) problem('有记录未通过核验,合计无法核对 (some entries did not verify, so the totals cannot be checked)');
    else if (!totalsOk) problem('汇总与明细合计不符 (the statement does not equal the sum of its lines net of reversals)');
    for (const cell of document.querySelectorAll('td[data-field]')) {
      const want = formatFen(fen(s[cell.dataset.field]));
      if (shownAmount(cell) !== want)
        problem('页面上的汇总 ' + cell.dataset.field + ' 与签名汇总 ' + want + ' 不符 (a figure shown differs from the signed statement)');
    }
    return { vkey, checkpoint, lines: rows.length, verified };
  }

  async function checkOldCheckpoint(section, vkey, monthCheckpoint, result) {
    const village = section.dataset.village;
    say(result, '正在核对……', 'Checking…', '');
    const old = await openCheckpoint(normalizeNote(document.getElementById('consistency-note').value), vkey);
    if (old.error) return say(result, '✗ ' + old.error, 'The pasted checkpoint is not valid.', 'verified-bad');
    if (monthCheckpoint && old.origin !== monthCheckpoint.origin)
      return say(result, '✗ 这是另一本账的签名:' + old.origin, 'This checkpoint is for another log.', 'verified-bad');
    try {
      const latest = await openCheckpoint(await getText(api(village) + '/checkpoint'), vkey);
      if (latest.error) return say(result, '✗ 当前账本的签名无效:' + latest.error, "Today's checkpoint is not valid.", 'verified-bad');
      if (latest.origin !== old.origin) return say(result, '✗ 当前签名属于另一本账', "Today's checkpoint is for another log.", 'verified-bad');
      if (old.size > latest.size)
        return say(result, '✗ 账本比旧签名时还短:记录被删除过', 'Today\'s log is shorter than the old checkpoint: entries were removed.', 'verified-bad');
      let hashes = [];
      if (old.size !== latest.size) {
        const p = await getJson(api(village) + '/proof/consistency?from=' + old.size + '&to=' + latest.size);
        hashes = Array.isArray(p.proof) ? p.proof.map(b64decode) : [null];
        if (hashes.some((h) => h === null)) hashes = [null];
      }
      const ok = await verifyConsistency(old.size, latest.size, old.root, latest.root, hashes);
      if (ok)
        return say(result, '✓ 一致:现在的账本(' + latest.size + '条)完整包含旧签名时的' + old.size + '条记录,一条没改。',
          'Consistent: today\'s log (' + latest.size + ' entries) holds the ' + old.size + ' entries of the old checkpoint unchanged.', 'verified-ok');
      return say(result, '✗ 不一致:旧签名之后账本被改写过,请向乡镇纪委反映。',
        'Inconsistent: the log was rewritten after the old checkpoint; tell the township discipline commission.', 'verified-bad');
    } catch (e) {
      return say(result, '✗ 无法读取当前账本:' + e.message, "Today's log could not be read.", 'verified-bad');
    }
  }

  async function main() {
    const section = document.getElementById('verify');
    if (!section) return;
    const summary = document.getElementById('verify-summary');
    const list = document.getElementById('verify-problems');
    say(summary, '正在核验……', 'Verifying…', '');
    const problems = [];
    let outcome = null;
    try {
      outcome = await verifyMonth(section, problems);
    } catch (e) {
      problems.push('核验中断 (verification stopped): ' + e.message);
    }
    for (const p of problems.slice(0, 50)) {
      const li = document.createElement('li');
      li.textContent = p;
      list.append(li);
    }
    if (outcome && problems.length === 0) {
      say(summary, '✓ 全部核验通过:签名有效,' + outcome.verified + '条明细都在签名的账本里,汇总等于明细合计(已扣除冲销)。',
        'All verified: the signature is valid, all ' + outcome.verified + ' lines are in the signed ledger, and the totals equal the lines net of reversals.', 'verified-ok');
      section.dataset.result = 'verified';
    } else {
      const n = outcome ? outcome.lines - outcome.verified : 0;
      say(summary, '✗ 核验未通过:' + problems.length + '个问题' + (n ? ',' + n + '条明细未通过' : '') + '。请向乡镇纪委反映。',
        'Verification FAILED: ' + problems.length + ' problem(s)' + (n ? ', ' + n + ' line(s) not verified' : '') + '. Tell the township discipline commission.', 'verified-bad');
      section.dataset.result = 'failed';
    }
    const box = document.getElementById('consistency');
    if (box && outcome && outcome.vkey && !outcome.vkey.error) {
      box.hidden = false;
      const result = document.getElementById('consistency-result');
      document.getElementById('consistency-check').addEventListener('click', () => {
        checkOldCheckpoint(section, outcome.vkey, outcome.checkpoint, result).catch((e) => say(result, '✗ ' + e.message, '', 'verified-bad'));
      });
    }
  }

  // For the browser test: the pure functions, checked against public vectors.
  globalThis.SunledgerVerify = { b64decode, leafHash, rootFromInclusionProof, verifyInclusion, verifyConsistency,
    parseVerifierKey, openCheckpoint, normalizeNote, formatFen };

  if (typeof document === 'undefined') return;
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', main);
  else main();
})();

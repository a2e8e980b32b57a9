// mitmwatch dashboard. Fetches the admin listener's JSON API and renders
// it. Every value from the API goes into the page as text (textContent,
// setAttribute on fixed attribute names, SVG geometry from numbers): the
// page never parses API data as HTML, so a hostile AS name or product
// string cannot become markup or script.
'use strict';

(function () {
  const REFRESH_MS = 15000;
  const SVGNS = 'http://www.w3.org/2000/svg';
  const WINDOWS = {
    '15m': 'the last 15 minutes',
    '1h': 'the last hour',
    '6h': 'the last 6 hours',
    '24h': 'the last 24 hours',
    '7d': 'the last 7 days',
  };
  const WINDOW_MINUTES = { '15m': 15, '1h': 60, '6h': 360, '24h': 1440, '7d': 10080 };

  const state = {
    window: '1h',
    sel: null, // {scope, key, label}
    userPicked: false,
    paused: false,
    timer: 0,
    updated: null,
    inflight: false,
    again: false,
  };

  // ---- small DOM helpers -------------------------------------------------

  const $ = (id) => document.getElementById(id);

  // el builds an element; attrs are set with setAttribute (fixed names
  // only), children are nodes or strings (text nodes).
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v !== undefined && v !== null && v !== false) e.setAttribute(k, String(v));
    }
    for (const c of children) {
      if (c === null || c === undefined || c === false) continue;
      e.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return e;
  }

  function svg(tag, attrs, text) {
    const e = document.createElementNS(SVGNS, tag);
    for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
    if (text !== undefined) e.textContent = String(text);
    return e;
  }

  function clear(node) {
    while (node.firstChild) node.removeChild(node.firstChild);
  }

  function setEmpty(id, text) {
    const p = $(id);
    p.textContent = text || '';
    p.hidden = !text;
  }

  // ---- formatting --------------------------------------------------------

  const numFmt = new Intl.NumberFormat('en-US');
  const num = (n) => numFmt.format(n || 0);

  // people: the browser connections a share is taken over, every browser
  // claim but the bots posing as one (alerts.Counts.People). The page
  // counts "browser connections" this way everywhere, so that a row's
  // intercepted count over its connections is the share it shows.
  const people = (c) => (c.browser || 0) - Math.min(c.spoofed || 0, c.browser || 0);

  function pct(share) {
    if (!share) return '0%';
    if (share < 0.001) return '<0.1%';
    if (share >= 1) return '100%';
    return (share * 100).toFixed(1) + '%';
  }

  // shareClass: any interception is worth a look (amber); 5% or more of a
  // network's browsers is a middlebox, not noise (red).
  function shareClass(share) {
    if (share >= 0.05) return 's-high';
    if (share > 0) return 's-low';
    return '';
  }

  let regionNames = null;
  try {
    regionNames = new Intl.DisplayNames(['en'], { type: 'region' });
  } catch (e) {
    regionNames = null;
  }

  function countryName(cc) {
    if (!cc || cc === 'ZZ') return 'Unknown country';
    try {
      const n = regionNames && regionNames.of(cc);
      if (n && n !== cc) return n;
    } catch (e) {
      // not a region code the browser knows
    }
    return cc;
  }

  const asnText = (asn) => (asn ? 'AS' + asn : 'AS unknown');

  const pad2 = (n) => String(n).padStart(2, '0');
  const clock = (d) => pad2(d.getHours()) + ':' + pad2(d.getMinutes()) + ':' + pad2(d.getSeconds());
  const hhmm = (d) => pad2(d.getHours()) + ':' + pad2(d.getMinutes());
  const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
  const dayHHMM = (d) => d.getDate() + ' ' + MONTHS[d.getMonth()] + ' ' + hhmm(d);

  function ago(t) {
    const s = Math.max(0, (Date.now() - t.getTime()) / 1000);
    if (s < 90) return 'just now';
    if (s < 5400) return Math.round(s / 60) + ' min ago';
    if (s < 172800) return Math.round(s / 3600) + ' h ago';
    return Math.round(s / 86400) + ' days ago';
  }

  function when(iso) {
    const d = new Date(iso);
    if (isNaN(d.getTime()) || d.getFullYear() < 2000) return { text: '—', title: '' };
    const sameDay = d.toDateString() === new Date().toDateString();
    return { text: (sameDay ? hhmm(d) : dayHHMM(d)) + ' · ' + ago(d), title: d.toISOString() };
  }

  function gradeBadge(grade) {
    const g = ['A', 'B', 'C', 'F'].includes(grade) ? grade : '';
    const titles = {
      A: 'A: as safe as a modern browser',
      B: 'B: weaker than a browser, not known-broken',
      C: 'C: known attacks possible (RC4, 3DES, TLS 1.1 or lower)',
      F: 'F: trivially broken (export, NULL or single-DES suites, SSLv3)',
      '': 'not graded',
    };
    return el('span', { class: 'grade ' + (g ? 'g-' + g : 'g-none'), title: titles[g] }, g || '?');
  }

  function shareBar(share) {
    const cls = shareClass(share);
    const meter = el('span', { class: 'meter ' + cls }, el('span'));
    // CSSOM, not a style attribute: allowed under the page's CSP.
    meter.firstChild.style.width = Math.min(100, Math.max(0, share * 100)).toFixed(1) + '%';
    return el('div', { class: 'bar-cell' }, meter, el('span', { class: 'pct ' + cls }, pct(share)));
  }

  function ccBadge(cc) {
    return el('span', { class: 'cc', title: countryName(cc) }, cc || '??');
  }

  // ---- data --------------------------------------------------------------

  async function getJSON(path) {
    const res = await fetch(path, { credentials: 'same-origin', cache: 'no-store', headers: { Accept: 'application/json' } });
    if (res.status === 401) {
      throw new Error('Not signed in (or the token changed): open this page once as /?token=<your admin token>.');
    }
    let body = null;
    try {
      body = await res.json();
    } catch (e) {
      body = null;
    }
    if (!res.ok) {
      throw new Error((body && body.error) || 'HTTP ' + res.status + ' from ' + path);
    }
    return body;
  }

  function q(params) {
    return new URLSearchParams(params).toString();
  }

  // ---- rendering ---------------------------------------------------------

  function renderKPIs(top) {
    const t = top.totals;
    const w = WINDOWS[state.window];
    const kShare = $('kpi-share');
    kShare.className = 'kpi';
    $('share-label').textContent = 'Intercepted share · ' + w.replace(/^the /, '');
    $('share').textContent = people(t) ? pct(t.share) : '–';
    if (!people(t)) {
      $('share-detail').textContent = 'No browser connections in ' + w;
    } else if (!t.intercepted) {
      kShare.classList.add('ok');
      $('share-detail').textContent = 'No intercepted connections in ' + w;
    } else {
      kShare.classList.add(t.share >= 0.05 ? 'bad' : 'warn');
      $('share-detail').textContent = num(t.intercepted) + ' of ' + num(people(t)) + ' browser connections intercepted' + (t.spoofed ? ' (' + num(t.spoofed) + ' bots left out)' : '');
    }
    $('browser').textContent = num(people(t));
    const notCounted = [];
    if (t.spoofed) notCounted.push(num(t.spoofed) + ' bots posing as browsers');
    const others = (t.connections || 0) - (t.browser || 0);
    if (others > 0) notCounted.push(num(others) + ' other clients');
    $('browser-detail').textContent = num(t.connections) + ' connections in all' + (notCounted.length ? '; not counted here: ' + notCounted.join(', ') : '');
    const kAff = $('kpi-affected');
    kAff.className = 'kpi' + (t.affected ? ' bad' : t.countries ? ' ok' : '');
    $('affected').textContent = num(t.affected);
    $('affected-detail').textContent = 'of ' + num(t.countries) + (t.countries === 1 ? ' country' : ' countries') + ' seen';
  }

  function pickable(node, sel) {
    node.classList.add('pick');
    node.setAttribute('tabindex', '0');
    node.setAttribute('role', 'button');
    node.dataset.key = sel.scope + '|' + sel.key;
    const go = () => select(sel, true);
    node.addEventListener('click', go);
    node.addEventListener('keydown', (ev) => {
      if (ev.key === 'Enter' || ev.key === ' ') {
        ev.preventDefault();
        go();
      }
    });
  }

  function renderNetworks(top) {
    const tbody = $('networks').tBodies[0];
    clear(tbody);
    for (const r of top.rows) {
      const prod = r.top_product
        ? el('span', {}, gradeBadge(r.top_product.grade), r.top_product.name)
        : el('span', { class: 'muted' }, r.intercepted ? 'not identified' : '—');
      const tr = el('tr', {},
        el('td', { class: 'nowrap' }, ccBadge(r.country)),
        el('td', { class: 'mono' }, asnText(r.asn)),
        el('td', { class: 'org', title: r.as_org || '' }, r.as_org || '—'),
        el('td', { class: 'num', title: r.spoofed ? num(r.spoofed) + ' bots posing as browsers left out' : '' }, num(people(r))),
        el('td', { class: 'num' }, num(r.intercepted)),
        el('td', {}, shareBar(r.share)),
        el('td', { class: 'nowrap' }, prod));
      pickable(tr, { scope: 'network', key: r.key, label: (r.country || '??') + ' · ' + asnText(r.asn) + (r.as_org ? ' · ' + r.as_org : '') });
      tbody.append(tr);
    }
    $('networks').hidden = top.rows.length === 0;
    setEmpty('networks-empty', top.rows.length ? '' : 'No browser connections in ' + WINDOWS[state.window] + '. Networks appear here as soon as browsers connect.');
  }

  function renderCountries(top) {
    const ul = $('countries');
    clear(ul);
    for (const r of top.rows) {
      const li = el('li', {},
        ccBadge(r.country),
        el('span', { class: 'country-name' }, countryName(r.country), el('small', {}, num(people(r)) + ' browser conns')),
        shareBar(r.share));
      pickable(li, { scope: 'country', key: r.key, label: countryName(r.country) + ' (all networks)' });
      ul.append(li);
    }
    setEmpty('countries-empty', top.rows.length ? '' : 'No countries yet: no browser connections in ' + WINDOWS[state.window] + '.');
  }

  function renderProducts(top) {
    const tbody = $('products').tBodies[0];
    clear(tbody);
    for (const p of top.products) {
      tbody.append(el('tr', {},
        el('td', {}, gradeBadge(p.grade)),
        el('td', {}, p.name),
        el('td', { class: 'num' }, num(p.intercepted)),
        el('td', { class: 'num' }, num(p.countries))));
    }
    $('products').hidden = top.products.length === 0;
    setEmpty('products-empty', top.products.length ? '' : 'No interception product identified in ' + WINDOWS[state.window] + '.');
  }

  function renderFingerprints(fp, fpWindow) {
    const tbody = $('fingerprints').tBodies[0];
    clear(tbody);
    $('fps-hint').textContent = 'intercepted or unknown ClientHellos first seen in ' + WINDOWS[fpWindow];
    for (const f of fp.fingerprints) {
      const w = when(f.first_seen);
      const n0 = f.networks[0];
      const where = n0
        ? el('span', {}, ccBadge(n0.country), asnText(n0.asn) + (n0.as_org ? ' ' + n0.as_org : ''),
          f.networks.length > 1 ? el('span', { class: 'muted' }, ' +' + (f.networks.length - 1) + ' more') : null)
        : el('span', { class: 'muted' }, '—');
      const cls = f.verdict.startsWith('intercepted') ? 'intercepted' : 'unknown';
      tbody.append(el('tr', {},
        el('td', { class: 'nowrap', title: w.title }, w.text),
        el('td', { class: 'mono' }, f.ja4),
        // The reasons the verdicts gave, on hover: why this hello is not the browser it claims.
        el('td', { title: (f.reasons || []).join('\n') }, gradeBadge(f.grade)),
        el('td', { class: 'verdict ' + cls }, f.verdict),
        el('td', { class: 'num' }, num(f.intercepted + f.unknown)),
        el('td', {}, where)));
    }
    $('fingerprints').hidden = fp.fingerprints.length === 0;
    setEmpty('fingerprints-empty', fp.fingerprints.length ? '' : 'No new intercepted or unknown fingerprints in ' + WINDOWS[fpWindow] + '.');
  }

  function renderAlerts(a) {
    const ul = $('alerts');
    clear(ul);
    const kpi = $('kpi-alerts');
    if (!a.configured) {
      kpi.className = 'kpi';
      $('firing').textContent = '–';
      $('firing-detail').textContent = 'no alert feed configured';
      setEmpty('alerts-empty', 'No alert feed configured: alert rules and their notifications show here once they are set up.');
      return;
    }
    const firing = a.alerts.filter((x) => x.state === 'firing').length;
    kpi.className = 'kpi' + (firing ? ' bad' : ' ok');
    $('firing').textContent = num(firing);
    $('firing-detail').textContent = num(a.alerts.length) + ' recent';
    for (const x of a.alerts) {
      const w = when(x.started);
      // A country alert has no ASN, an ASN alert no country: show what the alert is about.
      const net = [x.country, x.asn ? asnText(x.asn) : '', x.as_org].filter(Boolean).join(' ');
      const chips = el('div', { class: 'deliveries' });
      for (const d of x.deliveries) {
        const label = d.sink + ': ' + d.state + (d.attempts > 1 ? ' (' + d.attempts + ' tries)' : '');
        chips.append(el('span', { class: 'delivery ' + d.state, title: d.last_error || '' }, label));
      }
      if (!x.deliveries.length) chips.append(el('span', { class: 'delivery' }, 'not sent anywhere'));
      ul.append(el('li', {},
        el('div', { class: 'alert-top' },
          el('span', { class: 'alert-summary' }, x.summary || x.rule),
          el('span', { class: 'state ' + (x.state === 'firing' ? 'firing' : 'resolved') }, x.state)),
        el('div', { class: 'alert-meta', title: w.title }, [x.rule, net, 'since ' + w.text].filter(Boolean).join(' · ')),
        chips));
    }
    setEmpty('alerts-empty', a.alerts.length ? '' : 'No alerts: no rule has fired recently.');
  }

  function markSelected() {
    const k = state.sel ? state.sel.scope + '|' + state.sel.key : '';
    for (const node of document.querySelectorAll('.pick')) {
      const on = node.dataset.key === k;
      node.classList.toggle('selected', on);
      node.setAttribute('aria-pressed', on ? 'true' : 'false');
    }
  }

  // ---- chart -------------------------------------------------------------

  function niceShareMax(m) {
    for (const c of [0.05, 0.1, 0.25, 0.5]) if (m <= c) return c;
    return 1;
  }

  function niceCount(m) {
    if (m <= 5) return 5;
    const p = Math.pow(10, Math.floor(Math.log10(m)));
    for (const f of [1, 2, 5, 10]) if (m <= f * p) return f * p;
    return 10 * p;
  }

  function renderChart(series) {
    const box = $('chart');
    clear(box);
    const pts = series.points;
    const total = pts.reduce((s, p) => s + people(p), 0);
    $('chart-title').textContent = 'Trend · ' + state.sel.label;
    if (!total) {
      setEmpty('chart-empty', 'No browser connections from ' + state.sel.label + ' in ' + WINDOWS[state.window] + '.');
      return;
    }
    setEmpty('chart-empty', '');
    const W = 900, H = 240, L = 52, R = 60, T = 14, B = 28;
    const iw = W - L - R, ih = H - T - B;
    const n = pts.length;
    const bw = iw / n;
    const maxShare = niceShareMax(Math.max(...pts.map((p) => p.share)));
    const maxConn = niceCount(Math.max(...pts.map(people)));
    const root = svg('svg', { viewBox: '0 0 ' + W + ' ' + H, role: 'img', 'aria-label': 'Intercepted share and browser connections over time for ' + state.sel.label });
    const yS = (s) => T + ih - (s / maxShare) * ih;
    const yC = (c) => T + ih - (c / maxConn) * ih;

    for (const f of [0, 0.5, 1]) {
      const y = T + ih - f * ih;
      root.append(svg('line', { class: f ? 'gridline' : 'axis', x1: L, x2: L + iw, y1: y, y2: y }));
      root.append(svg('text', { class: 'tick', x: L - 6, y: y + 4, 'text-anchor': 'end' }, pct(f * maxShare)));
      root.append(svg('text', { class: 'tick', x: L + iw + 6, y: y + 4, 'text-anchor': 'start' }, num(Math.round(f * maxConn))));
    }

    // Browser connections as bars (right axis).
    pts.forEach((p, i) => {
      if (!people(p)) return;
      const y = yC(people(p));
      root.append(svg('rect', { class: 'conns', x: L + i * bw + bw * 0.15, y: y, width: Math.max(1, bw * 0.7), height: T + ih - y }));
    });

    // Intercepted share as a line with an area under it, broken where a
    // step has no browser connection (no share to draw, not a zero).
    let seg = [];
    const flush = () => {
      if (!seg.length) return;
      if (seg.length === 1) {
        root.append(svg('circle', { class: 'share-line', cx: seg[0][0], cy: seg[0][1], r: 2.5 }));
      } else {
        const line = seg.map((p, i) => (i ? 'L' : 'M') + p[0].toFixed(1) + ' ' + p[1].toFixed(1)).join(' ');
        const area = line + ' L' + seg[seg.length - 1][0].toFixed(1) + ' ' + (T + ih) + ' L' + seg[0][0].toFixed(1) + ' ' + (T + ih) + ' Z';
        root.append(svg('path', { class: 'share-area', d: area }));
        root.append(svg('path', { class: 'share-line', d: line }));
      }
      seg = [];
    };
    pts.forEach((p, i) => {
      if (!people(p)) {
        flush();
        return;
      }
      seg.push([L + i * bw + bw / 2, yS(p.share)]);
    });
    flush();

    // Time ticks: about six, on step boundaries.
    const long = WINDOW_MINUTES[state.window] > 1440;
    const every = Math.max(1, Math.round(n / 6));
    for (let i = 0; i < n; i += every) {
      const d = new Date(pts[i].start);
      const x = L + i * bw + bw / 2;
      root.append(svg('line', { class: 'axis', x1: x, x2: x, y1: T + ih, y2: T + ih + 4 }));
      root.append(svg('text', { class: 'tick', x: x, y: H - 8, 'text-anchor': 'middle' }, long ? dayHHMM(d) : hhmm(d)));
    }

    // Hover targets with a native tooltip per step.
    pts.forEach((p, i) => {
      const d = new Date(p.start);
      const r = svg('rect', { class: 'hover', x: L + i * bw, y: T, width: bw, height: ih });
      r.append(svg('title', {}, (long ? dayHHMM(d) : hhmm(d)) + ' — ' +
        (people(p) ? pct(p.share) + ' intercepted (' + num(p.intercepted) + ' of ' + num(people(p)) + ' browser connections' + (p.spoofed ? ', ' + num(p.spoofed) + ' bots left out)' : ')') : 'no browser connections')));
      root.append(r);
    });
    box.append(root);
  }

  // ---- refresh loop ------------------------------------------------------

  function showStatus(errors) {
    const s = $('status');
    const msgs = [...new Set(errors.map((e) => e.message))];
    s.textContent = msgs.length ? 'Could not load everything: ' + msgs.join(' · ') : '';
    s.hidden = msgs.length === 0;
  }

  function showUpdated() {
    const u = $('updated');
    const t = state.updated ? 'updated ' + clock(state.updated) : 'not updated yet';
    u.textContent = state.paused ? 'paused · ' + t : t;
    u.classList.toggle('paused', state.paused);
  }

  async function refresh() {
    if (state.inflight) {
      state.again = true; // a selection or window changed mid-refresh
      return;
    }
    state.inflight = true;
    state.again = false;
    clearTimeout(state.timer);
    const w = state.window;
    const fpWindow = WINDOW_MINUTES[w] >= 1440 ? w : '24h';
    const [net, cty, fps, als] = await Promise.allSettled([
      getJSON('api/top?' + q({ scope: 'network', window: w })),
      getJSON('api/top?' + q({ scope: 'country', window: w, limit: 300 })),
      getJSON('api/fingerprints?' + q({ window: fpWindow })),
      getJSON('api/alerts'),
    ]);
    const errors = [];
    const done = (r, fn) => {
      if (r.status === 'fulfilled') {
        try {
          fn(r.value);
        } catch (e) {
          errors.push(e);
        }
      } else {
        errors.push(r.reason);
      }
    };
    done(net, (top) => {
      renderKPIs(top);
      renderNetworks(top);
      renderProducts(top);
      if (!state.userPicked && top.rows.length) {
        const r = top.rows[0];
        state.sel = { scope: 'network', key: r.key, label: (r.country || '??') + ' · ' + asnText(r.asn) + (r.as_org ? ' · ' + r.as_org : '') };
      }
    });
    done(cty, renderCountries);
    done(fps, (f) => renderFingerprints(f, fpWindow));
    done(als, renderAlerts);
    markSelected();
    if (state.sel) {
      try {
        renderChart(await getJSON('api/series?' + q({ scope: state.sel.scope, key: state.sel.key, window: w })));
      } catch (e) {
        errors.push(e);
      }
    } else {
      clear($('chart'));
      $('chart-title').textContent = 'Trend';
      setEmpty('chart-empty', 'Select a network or a country to see its intercepted share over time.');
    }
    showStatus(errors);
    state.updated = new Date();
    state.inflight = false;
    showUpdated();
    document.body.dataset.loaded = 'true';
    if (state.again) refresh();
    else schedule();
  }

  function schedule() {
    clearTimeout(state.timer);
    if (!state.paused) state.timer = setTimeout(refresh, REFRESH_MS);
  }

  function saveHash() {
    const p = { w: state.window };
    if (state.sel && state.userPicked) {
      p.scope = state.sel.scope;
      p.key = state.sel.key;
      p.label = state.sel.label;
    }
    history.replaceState(null, '', '#' + q(p));
  }

  function select(sel, byUser) {
    state.sel = sel;
    state.userPicked = state.userPicked || byUser;
    markSelected();
    saveHash();
    refresh();
  }

  function init() {
    const h = new URLSearchParams(location.hash.slice(1));
    if (WINDOWS[h.get('w')]) state.window = h.get('w');
    if (['network', 'country', 'asn'].includes(h.get('scope')) && h.get('key')) {
      state.sel = { scope: h.get('scope'), key: h.get('key'), label: h.get('label') || h.get('key') };
      state.userPicked = true;
    }
    const sel = $('window');
    sel.value = state.window;
    sel.addEventListener('change', () => {
      state.window = sel.value;
      saveHash();
      refresh();
    });
    $('pause').addEventListener('click', () => {
      state.paused = !state.paused;
      const b = $('pause');
      b.setAttribute('aria-pressed', state.paused ? 'true' : 'false');
      b.textContent = state.paused ? 'Resume' : 'Pause';
      showUpdated();
      if (state.paused) clearTimeout(state.timer);
      else refresh();
    });
    refresh();
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', init);
  else init();
})();

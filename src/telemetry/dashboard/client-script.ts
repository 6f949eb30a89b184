/**
 * The dashboard's browser script, as text inlined into the page (no build step, no second
 * request). It keeps a rolling window of frames from `/dashboard/events`, draws uPlot charts and
 * fills the tables. Every value from the server is written with textContent, never as HTML:
 * model and endpoint names come from clients and discovery.
 *
 * Plain ES2017, no template literals (this file is itself one).
 */
export const CLIENT_SCRIPT = String.raw`
(function () {
  'use strict';
  var WINDOW = 300;
  var PALETTE = ['#2f7ed8', '#e4572e', '#29a35a', '#8e44ad', '#f0a202', '#17becf', '#d62790', '#7f7f7f', '#bcbd22', '#1f3b73'];
  var MAX_DECISIONS = 20;
  var pools = {};
  var poolOrder = [];
  var current = null;
  var decisions = [];
  var lastFrameAt = 0;
  var lastServerAt = 0;

  function el(tag, attrs, children) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) {
      if (k === 'text') e.textContent = attrs[k];
      else if (k === 'cls') e.className = attrs[k];
      else e.setAttribute(k, attrs[k]);
    }
    if (children) for (var i = 0; i < children.length; i++) if (children[i] != null) e.appendChild(children[i]);
    return e;
  }
  function $(id) { return document.getElementById(id); }
  function fmt(v, digits) {
    if (v === null || v === undefined || !isFinite(v)) return '–';
    return Number(v).toFixed(digits === undefined ? 1 : digits);
  }
  function pct(v) { return v === null || v === undefined ? '–' : (v * 100).toFixed(1) + '%'; }
  function ageText(ms) {
    if (ms === null || ms === undefined) return 'never scraped';
    return ms < 1000 ? Math.round(ms) + ' ms' : (ms / 1000).toFixed(1) + ' s';
  }
  function two(n) { return n < 10 ? '0' + n : String(n); }
  function clock(seconds) { var d = new Date(seconds * 1000); return two(d.getHours()) + ':' + two(d.getMinutes()) + ':' + two(d.getSeconds()); }
  function timeText(at) { return clock(at / 1000); }

  function poolState(name) {
    var p = pools[name];
    if (!p) {
      p = pools[name] = { name: name, times: [], byKey: {}, keys: [], pool: [], charts: {}, shape: '' };
      poolOrder.push(name);
    }
    return p;
  }

  function push(arr, v) { arr.push(v); if (arr.length > WINDOW) arr.shift(); }

  var ENDPOINT_CHARTS = [
    { id: 'kv', title: 'KV-cache utilization %', get: function (e) { return e.kvUsage * 100; } },
    { id: 'waiting', title: 'Waiting requests', get: function (e) { return e.waiting; } },
    { id: 'running', title: 'Running requests', get: function (e) { return e.running; } },
    { id: 'inflight', title: 'In flight (sent by Switchboard)', get: function (e) { return e.inflight; } },
    { id: 'picks', title: 'Picks per second', get: function (e) { return e.picksPerSec; } },
    { id: 'ttft', title: 'Observed time to first token (ms)', get: function (e) { return e.ttftMs; } },
    { id: 'tpot', title: 'Observed time per output token (ms)', get: function (e) { return e.tpotMs; } },
    { id: 'age', title: 'Metrics age (ms)', get: function (e) { return e.metricsAgeMs; } }
  ];
  var POOL_CHARTS = [
    { id: 'sched', title: 'Scheduling latency (ms)', series: ['p50', 'p99'], get: function (p) { var s = p.scheduler; return s ? [s.p50Ms, s.p99Ms] : [null, null]; } },
    { id: 'prefix', title: 'Prefix-cache hit ratio %', series: ['interval', 'since start'], get: function (p) {
      return [p.prefixHitRatio === null ? null : p.prefixHitRatio * 100, p.prefixHitRatioTotal === null ? null : p.prefixHitRatioTotal * 100];
    } },
    { id: 'admission', title: 'Queued in flow control / refused per second', series: ['queued', 'refused/s'], get: function (p) {
      var q = 0, r = 0, i;
      for (i = 0; i < p.queues.length; i++) q += p.queues[i].requests;
      for (i = 0; i < p.rejections.length; i++) r += p.rejections[i].perSec;
      return [q, r];
    } }
  ];

  function record(p, view, t) {
    push(p.times, t);
    var seen = {};
    var i, j, c;
    for (i = 0; i < view.endpoints.length; i++) {
      var e = view.endpoints[i];
      seen[e.key] = true;
      var s = p.byKey[e.key];
      if (!s) {
        s = p.byKey[e.key] = { name: e.name, data: {} };
        for (j = 0; j < ENDPOINT_CHARTS.length; j++) s.data[ENDPOINT_CHARTS[j].id] = p.times.slice(0, -1).map(function () { return null; });
      }
      for (j = 0; j < ENDPOINT_CHARTS.length; j++) { c = ENDPOINT_CHARTS[j]; push(s.data[c.id], c.get(e)); }
    }
    for (var key in p.byKey) if (!seen[key]) {
      for (j = 0; j < ENDPOINT_CHARTS.length; j++) push(p.byKey[key].data[ENDPOINT_CHARTS[j].id], null);
    }
    // Endpoints gone for the whole window are forgotten.
    for (key in p.byKey) {
      var any = false, d = p.byKey[key].data.kv;
      for (j = 0; j < d.length && !any; j++) any = d[j] !== null;
      if (!any) delete p.byKey[key];
    }
    // Series in the pool's order (the table's), endpoints that left at the end.
    var order = view.endpoints.map(function (e) { return e.key; });
    for (key in p.byKey) if (!seen[key]) order.push(key);
    p.keys = order.filter(function (k) { return p.byKey[k] !== undefined; });
    for (j = 0; j < POOL_CHARTS.length; j++) {
      c = POOL_CHARTS[j];
      var vals = c.get(view);
      var arrs = p.pool[j] || (p.pool[j] = c.series.map(function () { return p.times.slice(0, -1).map(function () { return null; }); }));
      for (i = 0; i < vals.length; i++) push(arrs[i], vals[i]);
    }
    p.view = view;
  }

  function chartWidth(box) { return Math.max(260, box.clientWidth - 16); }

  function makeChart(box, title, labels, data) {
    box.textContent = '';
    box.appendChild(el('h3', { text: title }));
    var series = [{}];
    for (var i = 0; i < labels.length; i++) series.push({ label: labels[i], stroke: PALETTE[i % PALETTE.length], width: 1.5, spanGaps: false, points: { show: false } });
    var plot = el('div', { cls: 'plot' });
    box.appendChild(plot);
    return new uPlot({
      width: chartWidth(box),
      height: 170,
      series: series,
      scales: { x: { time: true } },
      axes: [
        { stroke: '#555', grid: { stroke: '#eee' }, incrs: [1, 2, 5, 10, 15, 30, 60, 120, 300], values: function (u, splits) { return splits.map(clock); } },
        { stroke: '#555', grid: { stroke: '#eee' }, size: 52 }
      ],
      legend: { live: false },
      cursor: { drag: { x: false, y: false } }
    }, data, plot);
  }

  function draw(p) {
    var grid = $('charts');
    var key;
    var shape = p.name + '|' + p.keys.join(',');
    var rebuild = shape !== p.shape || grid.getAttribute('data-pool') !== p.name;
    var specs = [];
    var i, j;
    for (i = 0; i < ENDPOINT_CHARTS.length; i++) {
      (function (c) {
        specs.push({ id: c.id, title: c.title, labels: p.keys.map(function (k) { return p.byKey[k].name; }), data: function () {
          return [p.times].concat(p.keys.map(function (k) { return p.byKey[k].data[c.id]; }));
        } });
      })(ENDPOINT_CHARTS[i]);
    }
    for (j = 0; j < POOL_CHARTS.length; j++) {
      (function (c, j) {
        specs.push({ id: c.id, title: c.title, labels: c.series, data: function () { return [p.times].concat(p.pool[j]); } });
      })(POOL_CHARTS[j], j);
    }
    if (rebuild) {
      for (key in p.charts) p.charts[key].destroy();
      p.charts = {};
      grid.textContent = '';
      grid.setAttribute('data-pool', p.name);
      for (i = 0; i < specs.length; i++) {
        var box = el('div', { cls: 'card chart', id: 'chart-' + specs[i].id });
        grid.appendChild(box);
        p.charts[specs[i].id] = makeChart(box, specs[i].title, specs[i].labels, specs[i].data());
      }
      p.shape = shape;
    } else {
      for (i = 0; i < specs.length; i++) if (p.charts[specs[i].id]) p.charts[specs[i].id].setData(specs[i].data());
    }
  }

  function cell(text, cls) { return el('td', { text: text, cls: cls || '' }); }

  function drawEndpoints(view) {
    var body = $('endpoints');
    body.textContent = '';
    var stale = 0;
    var head = $('endpoints-head');
    head.textContent = '';
    ['endpoint', 'address', 'status', 'metrics age', 'KV', 'waiting', 'running', 'in flight', 'picks/s', 'adapters loaded', 'adapters waiting', 'TTFT ms', 'TPOT ms', 'preempted/s'].forEach(function (h) { head.appendChild(el('th', { text: h })); });
    view.endpoints.forEach(function (e) {
      if (e.stale) stale++;
      var status = e.stale ? 'stale' : e.scrapeOk ? 'fresh' : 'scrape failing';
      var row = el('tr', { cls: e.stale ? 'stale' : '', 'data-endpoint': e.key, 'data-status': status }, [
        cell(e.name), cell(e.key, 'mono'),
        el('td', null, [el('span', { cls: 'badge ' + status.replace(' ', '-'), text: status, title: e.lastError || '' })]),
        cell(ageText(e.metricsAgeMs)), cell(pct(e.kvUsage)), cell(fmt(e.waiting, 0)), cell(fmt(e.running, 0)),
        cell(fmt(e.inflight, 0)), cell(fmt(e.picksPerSec, 1)),
        cell(e.activeAdapters.join(', ') + (e.maxAdapters > 0 ? ' (max ' + e.maxAdapters + ')' : '')),
        cell(e.waitingAdapters.join(', ')),
        cell(fmt(e.ttftMs, 1)), cell(fmt(e.tpotMs, 2)), cell(e.signals.preemptions === undefined ? '–' : fmt(e.signals.preemptions, 2))
      ]);
      body.appendChild(row);
    });
    var banner = $('stale-banner');
    banner.textContent = stale === 0 ? '' : stale + ' of ' + view.endpoints.length + ' endpoints have stale metrics: the scheduler skips them while fresh ones exist.';
    banner.style.display = stale === 0 ? 'none' : 'block';
  }

  function tile(label, value, id) {
    return el('div', { cls: 'tile' }, [el('div', { cls: 'tile-value', id: id, text: value }), el('div', { cls: 'tile-label', text: label })]);
  }

  function drawSummary(view) {
    var fresh = view.endpoints.filter(function (e) { return !e.stale; }).length;
    var queued = view.queues.reduce(function (a, q) { return a + q.requests; }, 0);
    var refused = view.rejections.reduce(function (a, r) { return a + r.perSec; }, 0);
    var s = view.scheduler;
    var all = view.processWide ? ' (all pools)' : '';
    var box = $('summary');
    box.textContent = '';
    box.appendChild(tile('endpoints fresh / total', fresh + ' / ' + view.endpoints.length, 'tile-endpoints'));
    box.appendChild(tile('picks per second', fmt(view.picksPerSec, 1), 'tile-picks'));
    box.appendChild(tile('prefix hit ratio (since start)' + all, pct(view.prefixHitRatioTotal), 'tile-prefix'));
    box.appendChild(tile('scheduling p50 / p99 ms' + all, s && s.p50Ms !== null ? fmt(s.p50Ms, 3) + ' / ' + fmt(s.p99Ms, 3) : '–', 'tile-sched'));
    box.appendChild(tile('queued in flow control' + all, String(queued), 'tile-queued'));
    box.appendChild(tile('refused per second' + all, fmt(refused, 1), 'tile-refused'));
    if (view.saturation !== null) box.appendChild(tile('pool saturation', pct(view.saturation), 'tile-saturation'));
  }

  function drawAdmission(view) {
    var q = $('queues');
    q.textContent = '';
    if (view.queues.length === 0) q.appendChild(el('tr', null, [el('td', { colspan: '4', cls: 'muted', text: 'Nothing queued (flow control off, or every request dispatched at once).' })]));
    view.queues.forEach(function (x) { q.appendChild(el('tr', null, [cell(String(x.priority)), cell(x.flow || '(default)'), cell(String(x.requests)), cell(String(x.bytes))])); });
    var r = $('rejections');
    r.textContent = '';
    if (view.rejections.length === 0) r.appendChild(el('tr', null, [el('td', { colspan: '3', cls: 'muted', text: 'No request refused or failed.' })]));
    view.rejections.forEach(function (x) { r.appendChild(el('tr', null, [cell(x.code, 'mono'), cell(String(x.total)), cell(fmt(x.perSec, 2))])); });
  }

  function drawDecisions() {
    var list = $('decisions');
    list.textContent = '';
    var shown = decisions.filter(function (d) { return d.pool === '' || d.pool === current || poolOrder.length <= 1; });
    if (shown.length === 0) { list.appendChild(el('p', { cls: 'muted', text: 'No decision sampled yet: a few per second are explained while this page is open.' })); return; }
    shown.slice().reverse().forEach(function (d, idx) {
      var scorers = Object.keys(d.weights);
      var head = el('tr', null, [el('th', { text: 'candidate' })].concat(scorers.map(function (s) { return el('th', { text: s + ' ×' + d.weights[s] }); })).concat([el('th', { text: 'total' }), el('th', { text: 'filtered by' })]));
      var rows = d.candidates.map(function (c) {
        return el('tr', { cls: c.picked ? 'picked' : c.filteredBy ? 'filtered' : '' }, [cell((c.picked ? '▶ ' : '') + c.endpoint, 'mono')]
          .concat(scorers.map(function (s) { return cell(c.scores[s] === undefined ? '–' : fmt(c.scores[s], 3)); }))
          .concat([cell(fmt(c.total, 3)), cell(c.filteredBy || (c.spilledBy ? 'spilled in by ' + c.spilledBy : c.allowedBy ? 'kept by ' + c.allowedBy + ' (adapter allowance)' : ''))]));
      });
      var summary = el('summary', null, [
        el('span', { cls: 'mono', text: timeText(d.at) }), el('span', { text: ' ' + (d.model || '(no model)') + ' → ' }),
        el('strong', { cls: 'mono', text: d.outcome === 'picked' ? d.picked.join(', ') : d.outcome }),
        el('span', { cls: 'muted', text: ' · ' + d.profile + ' / ' + d.picker + ' · ' + d.micros + ' µs · ' + d.considered + ' candidates' + (d.pickedBelowBest ? ' · picked below the best total (a near tie won on load, or the picker drew it)' : '') + (d.note ? ' · ' + d.note : '') })
      ]);
      var details = el('details', { cls: 'decision', 'data-seq': String(d.seq) }, [summary, el('table', { cls: 'scores' }, [el('thead', null, [head]), el('tbody', null, rows)])]);
      if (idx === 0) details.open = true;
      list.appendChild(details);
    });
  }

  function drawTabs() {
    var tabs = $('pools');
    tabs.textContent = '';
    tabs.style.display = poolOrder.length > 1 ? 'flex' : 'none';
    poolOrder.forEach(function (name) {
      var b = el('button', { cls: name === current ? 'tab active' : 'tab', text: name, 'data-pool': name });
      b.addEventListener('click', function () { current = name; render(); });
      tabs.appendChild(b);
    });
  }

  function render() {
    var p = pools[current];
    if (!p || !p.view) return;
    $('pool-name').textContent = poolOrder.length > 1 ? poolOrder.length + ' pools' : 'pool ' + current;
    drawTabs();
    drawSummary(p.view);
    draw(p);
    drawEndpoints(p.view);
    drawAdmission(p.view);
    drawDecisions();
  }

  function addDecisions(list) {
    var known = {};
    decisions.forEach(function (d) { known[d.seq] = true; });
    list.forEach(function (d) { if (!known[d.seq]) decisions.push(d); });
    decisions.sort(function (a, b) { return a.seq - b.seq; });
    if (decisions.length > MAX_DECISIONS) decisions = decisions.slice(decisions.length - MAX_DECISIONS);
  }

  function setStatus(text, cls) { var s = $('status'); s.textContent = text; s.className = 'status ' + cls; }

  function connect() {
    var es = new EventSource(location.pathname.replace(/\/?$/, '/events'));
    es.addEventListener('hello', function (ev) { var m = JSON.parse(ev.data); addDecisions(m.decisions || []); setStatus('live', 'live'); });
    es.addEventListener('snapshot', function (ev) {
      var snap = JSON.parse(ev.data);
      var t = snap.at / 1000;
      snap.pools.forEach(function (v) { record(poolState(v.name), v, t); });
      if (current === null || !pools[current]) current = snap.pools.length > 0 ? snap.pools[0].name : null;
      addDecisions(snap.decisions);
      lastFrameAt = Date.now();
      lastServerAt = snap.at;
      document.body.setAttribute('data-frames', String(Number(document.body.getAttribute('data-frames') || '0') + 1));
      setStatus('live', 'live');
      render();
    });
    es.addEventListener('failure', function (ev) { setStatus('server error: ' + JSON.parse(ev.data).message, 'down'); });
    es.onerror = function () { setStatus('reconnecting…', 'down'); };
  }

  setInterval(function () {
    if (lastFrameAt === 0) return;
    var ago = (Date.now() - lastFrameAt) / 1000;
    $('updated').textContent = 'updated ' + timeText(lastServerAt) + (ago > 3 ? ' (' + ago.toFixed(0) + ' s ago)' : '');
    if (ago > 5) setStatus('no update for ' + ago.toFixed(0) + ' s', 'down');
  }, 1000);

  window.addEventListener('resize', function () {
    var p = pools[current];
    if (!p) return;
    for (var id in p.charts) { var box = $('chart-' + id); if (box) p.charts[id].setSize({ width: chartWidth(box), height: 170 }); }
  });

  connect();
})();
`;

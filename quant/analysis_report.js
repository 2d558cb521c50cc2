// Draws octet's analysis report from the JSON in <script id="analysis">: summary, findings,
// sweep plot, ranked table, per-layer weight ranges and histograms, min/max table. Plain DOM and
// SVG; no network. Sets body[data-rendered] when done and body[data-errors] on any error.
(function () {
  'use strict';
  var errors = [];
  function noteError(text) {
    errors.push(text);
    document.body.setAttribute('data-errors', String(errors.length));
    var box = document.getElementById('errors');
    if (box) box.textContent = 'report errors: ' + errors.join('; ');
  }
  window.addEventListener('error', function (e) { noteError(String(e.message)); });
  document.addEventListener('securitypolicyviolation', function (e) {
    noteError('blocked request to ' + e.blockedURI);
  });

  var SVG_NS = 'http://www.w3.org/2000/svg';  // a namespace name, never fetched
  var data = JSON.parse(document.getElementById('analysis').textContent);
  var main = document.getElementById('main');

  function el(tag, attrs, parent, text) {
    var e = document.createElement(tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function svgEl(tag, attrs, parent, text) {
    var e = document.createElementNS(SVG_NS, tag);
    for (var k in attrs || {}) e.setAttribute(k, attrs[k]);
    if (text !== undefined) e.textContent = text;
    if (parent) parent.appendChild(e);
    return e;
  }
  function num(x) {
    if (x === null || x === undefined) return '';
    if (typeof x !== 'number') return String(x);
    if (x !== 0 && (Math.abs(x) >= 1e5 || Math.abs(x) < 1e-3)) return x.toExponential(3);
    return String(Math.round(x * 1e4) / 1e4);
  }
  function layerId(i) { return 'layer-' + i; }
  function layerLink(i, parent) {
    return el('a', { href: '#' + layerId(i) }, parent, data.layers[i].layer);
  }

  // A chart frame: x and y scales over the given domains, axes with a few ticks.
  function frame(parent, width, height, xDomain, yDomain, cls) {
    var m = { l: 58, r: 12, t: 10, b: 26 };
    var svg = svgEl('svg', { width: width, height: height, 'class': cls || 'chart' }, parent);
    var x0 = xDomain[0], x1 = xDomain[1] > xDomain[0] ? xDomain[1] : xDomain[0] + 1;
    var y0 = yDomain[0], y1 = yDomain[1] > yDomain[0] ? yDomain[1] : yDomain[0] + 1;
    var f = {
      svg: svg,
      x: function (v) { return m.l + (v - x0) / (x1 - x0) * (width - m.l - m.r); },
      y: function (v) { return height - m.b - (v - y0) / (y1 - y0) * (height - m.t - m.b); },
      top: m.t, bottom: height - m.b, left: m.l, right: width - m.r
    };
    svgEl('line', { x1: m.l, x2: m.l, y1: m.t, y2: f.bottom, stroke: '#999' }, svg);
    svgEl('line', { x1: m.l, x2: f.right, y1: f.bottom, y2: f.bottom, stroke: '#999' }, svg);
    for (var k = 0; k <= 4; ++k) {
      var v = y0 + (y1 - y0) * k / 4;
      svgEl('text', { x: m.l - 4, y: f.y(v) + 4, 'text-anchor': 'end' }, svg, num(v));
      svgEl('line', { x1: m.l, x2: f.right, y1: f.y(v), y2: f.y(v), stroke: '#eee' }, svg);
    }
    return f;
  }
  function extent(values) {
    var lo = Infinity, hi = -Infinity;
    values.forEach(function (v) {
      if (isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); }
    });
    return isFinite(lo) ? [lo, hi] : [0, 1];
  }

  function summary() {
    el('h1', {}, main, 'Quantization analysis');
    el('p', { 'class': 'muted' }, main, 'score: ' + data.score + '; ' + data.evaluations +
       ' evaluations in ' + num(data.seconds) + ' s (one float evaluation: ' +
       num(data.float_evaluation_seconds) + ' s)' + (data.ptq_steps ? '; after --ptq ' + data.ptq_steps : ''));
    var t = el('table', { id: 'summary' }, main);
    var ag = data.top1_agreement_with_float;
    var agree = ag ? [100, ag.fp32_sanity, ag.weights_only, ag.activations_only, ag.all_quantized] : null;
    var head = el('tr', {}, t);
    el('th', { 'class': 'name' }, head, 'run');
    el('th', {}, head, 'score');
    if (agree) el('th', {}, head, 'top-1 agreement with float (%)');
    var rows = [['float', data.float], ['FP32 sanity (every quantizer disabled)', data.fp32_sanity],
                ['weights only', data.weights_only], ['activations only', data.activations_only],
                ['all quantized', data.all_quantized]];
    rows.forEach(function (r, k) {
      var tr = el('tr', {}, t);
      el('td', { 'class': 'name' }, tr, r[0]);
      el('td', {}, tr, num(r[1]));
      if (agree) el('td', {}, tr, num(agree[k]));  // float agrees with itself
    });
    el('h2', { id: 'findings' }, main, 'Findings');
    if (!data.findings.length) el('p', {}, main, 'Nothing stands out.');
    data.findings.forEach(function (f) {
      var d = el('div', { 'class': 'finding ' + f.severity }, main);
      el('b', {}, d, f.subject + ': ');
      el('span', {}, d, f.text + ' ');
      if (f.fix) el('span', { 'class': 'fix' }, d, 'Try: ' + f.fix);
    });
  }

  function sweepPlot() {
    el('h2', { id: 'sweeps' }, main, 'Per-layer sweeps');
    var legend = el('p', { 'class': 'legend' }, main);
    [['#1f77b4', 'only this layer quantized'], ['#ff7f0e', 'all but this layer quantized'],
     ['#2ca02c', 'float'], ['#d62728', 'all quantized']].forEach(function (s) {
      var sp = el('span', {}, legend);
      el('span', { 'class': 'swatch', style: 'background:' + s[0] }, sp);
      sp.appendChild(document.createTextNode(s[1]));
    });
    var n = data.layers.length;
    var values = [data.float, data.all_quantized];
    data.layers.forEach(function (l) { values.push(l.only_this_quantized, l.all_but_this_quantized); });
    var f = frame(main, Math.max(600, Math.min(1400, 40 + n * 14)), 280, [0, Math.max(1, n - 1)],
                  extent(values), 'chart sweep');
    [[data.float, '#2ca02c'], [data.all_quantized, '#d62728']].forEach(function (h) {
      svgEl('line', { x1: f.left, x2: f.right, y1: f.y(h[0]), y2: f.y(h[0]), stroke: h[1],
                      'stroke-dasharray': '4 3' }, f.svg);
    });
    [['only_this_quantized', '#1f77b4'], ['all_but_this_quantized', '#ff7f0e']].forEach(function (s) {
      var pts = data.layers.map(function (l, i) { return f.x(i) + ',' + f.y(l[s[0]]); });
      svgEl('polyline', { points: pts.join(' '), fill: 'none', stroke: s[1] }, f.svg);
      data.layers.forEach(function (l, i) {
        var a = svgEl('a', { href: '#' + layerId(i) }, f.svg);
        var c = svgEl('circle', { cx: f.x(i), cy: f.y(l[s[0]]), r: 3, fill: s[1] }, a);
        svgEl('title', {}, c, l.layer + ' (' + l.op_type + '): ' + num(l[s[0]]));
      });
    });
  }

  // The score with the k most sensitive layers re-encoded wider, k = 1, 2, ...
  function keptPlot() {
    var kept = data.scores_with_most_sensitive_layers_at_override_bits;
    if (!kept.length) return;
    el('h3', { id: 'kept' }, main, 'The most sensitive layers at ' + data.override_bits + ' bits');
    el('p', { 'class': 'muted' }, main, 'score with the k most sensitive layers\' quantizers re-encoded at ' +
       data.override_bits + ' bits from their calibrated ranges' +
       (data.override_layers ? '; overrides_config.json keeps ' + data.override_layers : ''));
    var k = kept.length;
    var f = frame(main, 600, 220, [1, Math.max(2, k)],
                  extent(kept.concat([data.float, data.all_quantized])), 'chart kept');
    [[data.float, '#2ca02c'], [data.all_quantized, '#d62728']].forEach(function (h) {
      svgEl('line', { x1: f.left, x2: f.right, y1: f.y(h[0]), y2: f.y(h[0]), stroke: h[1],
                      'stroke-dasharray': '4 3' }, f.svg);
    });
    svgEl('polyline', { points: kept.map(function (v, i) { return f.x(i + 1) + ',' + f.y(v); }).join(' '),
                        fill: 'none', stroke: '#9467bd' }, f.svg);
    kept.forEach(function (v, i) {
      var c = svgEl('circle', { cx: f.x(i + 1), cy: f.y(v), r: i + 1 === data.override_layers ? 5 : 3,
                                fill: '#9467bd' }, f.svg);
      svgEl('title', {}, c, (i + 1) + ' layers: ' + num(v));
    });
    svgEl('text', { x: f.left, y: f.bottom + 18 }, f.svg, 'layers kept wider (1 to ' + k + ')');
  }

  function rankedTable() {
    el('h2', { id: 'ranked' }, main, 'Layers, most sensitive first');
    var t = el('table', { id: 'ranked-table' }, main);
    var head = el('tr', {}, t);
    var heads = ['#', 'layer', 'op', 'only this quantized', 'all but this quantized', 'output MSE'];
    if (data.top1_agreement_with_float) heads.push('top-1 agreement, only this / all but this (%)');
    heads.forEach(function (h, k) {
      el('th', { 'class': k === 1 || k === 2 ? 'name' : '' }, head, h);
    });
    data.ranked.forEach(function (i, rank) {
      var l = data.layers[i];
      var tr = el('tr', {}, t);
      el('td', {}, tr, String(rank + 1));
      layerLink(i, el('td', { 'class': 'name' }, tr));
      el('td', { 'class': 'name' }, tr, l.op_type);
      el('td', {}, tr, num(l.only_this_quantized));
      el('td', {}, tr, num(l.all_but_this_quantized));
      el('td', {}, tr, num(l.output_mse));
      if (data.top1_agreement_with_float)
        el('td', {}, tr, num(l.only_this_quantized_top1_agreement) + ' / ' +
           num(l.all_but_this_quantized_top1_agreement));
    });
  }

  // Per output channel: a bar from min to max, a dot at the mean; outliers red; the ranges
  // before the PTQ steps in grey behind.
  function weightRangePlot(parent, w) {
    var n = w.min.length;
    var all = w.min.concat(w.max);
    if (w.before) all = all.concat(w.before.min, w.before.max);
    var f = frame(parent, Math.max(360, Math.min(1200, 80 + n * 6)), 200, [-0.5, n - 0.5], extent(all),
                  'chart weight-ranges');
    var outlier = {};
    w.outlier_channels.forEach(function (c) { outlier[c] = true; });
    var bw = Math.max(1, (f.right - f.left) / n * 0.7);
    for (var c = 0; c < n; ++c) {
      if (w.before) {
        svgEl('rect', { x: f.x(c) - bw / 2, width: bw, y: f.y(w.before.max[c]),
                        height: Math.max(1, f.y(w.before.min[c]) - f.y(w.before.max[c])),
                        fill: '#ccc', 'class': 'before' }, f.svg);
      }
      var r = svgEl('rect', { x: f.x(c) - bw / 4, width: bw / 2, y: f.y(w.max[c]),
                              height: Math.max(1, f.y(w.min[c]) - f.y(w.max[c])),
                              fill: outlier[c] ? '#d62728' : '#1f77b4',
                              'class': outlier[c] ? 'channel outlier' : 'channel' }, f.svg);
      svgEl('title', {}, r, 'channel ' + c + ': min ' + num(w.min[c]) + ', max ' + num(w.max[c]) +
            ', mean ' + num(w.mean[c]) + ', ' + num(w.relative_range[c]) + 'x the narrowest');
      svgEl('circle', { cx: f.x(c), cy: f.y(w.mean[c]), r: 1.5, fill: '#000' }, f.svg);
    }
    svgEl('text', { x: f.left, y: f.bottom + 18 }, f.svg, 'output channel (0 to ' + (n - 1) + ')');
  }

  // Bars of a histogram over [lo, hi]; vertical lines at the marks given.
  function histogramPlot(parent, title, lo, hi, counts, marks, cls) {
    var box = el('div', {}, parent);
    el('div', { 'class': 'muted' }, box, title);
    var max = Math.max.apply(null, counts.concat([1]));
    var f = frame(box, 360, 160, [lo, hi], [0, max], cls);
    var w = (hi - lo) / counts.length;
    counts.forEach(function (v, k) {
      svgEl('rect', { x: f.x(lo + k * w), width: Math.max(0.5, f.x(lo + (k + 1) * w) - f.x(lo + k * w) - 0.5),
                      y: f.y(v), height: f.bottom - f.y(v), fill: '#7a9cc6' }, f.svg);
    });
    marks.forEach(function (m) {
      svgEl('line', { x1: f.x(m[0]), x2: f.x(m[0]), y1: f.top, y2: f.bottom, stroke: m[1],
                      'stroke-width': 2, 'class': 'mark' }, f.svg);
    });
    svgEl('text', { x: f.left, y: f.bottom + 18 }, f.svg, num(lo));
    svgEl('text', { x: f.right, y: f.bottom + 18, 'text-anchor': 'end' }, f.svg, num(hi));
  }

  function relativeRangeHistogram(parent, w) {
    var logs = w.relative_range.filter(function (r) { return r > 0; }).map(function (r) { return Math.log10(r); });
    if (!logs.length) return;
    var e = extent(logs), bins = 20, counts = [];
    for (var k = 0; k < bins; ++k) counts.push(0);
    var span = e[1] > e[0] ? e[1] - e[0] : 1;
    logs.forEach(function (v) { counts[Math.min(bins - 1, Math.floor((v - e[0]) / span * bins))]++; });
    histogramPlot(parent, 'log10 of channel range / narrowest channel range', e[0], e[0] + span, counts, [],
                  'chart relative-ranges');
  }

  function layerSections() {
    el('h2', { id: 'layers' }, main, 'Layers');
    var byWeightLayer = {};
    data.weight_ranges.forEach(function (w) { byWeightLayer[w.layer] = w; });
    var byTensor = {};
    data.histograms.forEach(function (h) { byTensor[h.tensor] = h; });
    data.layers.forEach(function (l, i) {
      var s = el('section', { id: layerId(i), 'data-layer': l.layer }, main);
      el('h3', {}, s, l.layer + ' (' + l.op_type + ')');
      el('p', { 'class': 'muted' }, s, 'only this layer quantized: ' + num(l.only_this_quantized) +
         '; all but this layer: ' + num(l.all_but_this_quantized) + '; output MSE ' + num(l.output_mse) +
         '; quantizers: ' + l.quantizers.join(', '));
      var plots = el('div', { 'class': 'plots' }, s);
      var w = byWeightLayer[l.layer];
      if (w) {
        var box = el('div', {}, plots);
        el('div', { 'class': 'muted' }, box, 'weight ' + w.weight + ' per output channel' +
           (w.before ? ' (grey: before --ptq ' + data.ptq_steps + ')' : '') + '; ' +
           w.outlier_channels.length + ' outlier channel(s)');
        weightRangePlot(box, w);
        relativeRangeHistogram(plots, w);
      }
      l.quantizers.forEach(function (t) {
        var h = byTensor[t];
        if (!h) return;
        histogramPlot(plots, (h.param ? 'parameter ' : 'activation ') + t + ': encoding [' +
                      num(h.encoding_min) + ', ' + num(h.encoding_max) + '], observed [' +
                      num(h.observed_min) + ', ' + num(h.observed_max) + ']', h.lo, h.hi, h.counts,
                      [[h.encoding_min, '#d62728'], [h.encoding_max, '#d62728']], 'chart histogram');
      });
    });
  }

  function minMaxTable() {
    el('h2', { id: 'ranges' }, main, 'Encoding ranges');
    var t = el('table', { id: 'ranges-table' }, main);
    var head = el('tr', {}, t);
    ['tensor', 'kind', 'encodings', 'min', 'max'].forEach(function (h, k) {
      el('th', { 'class': k === 0 ? 'name' : '' }, head, h);
    });
    data.ranges.forEach(function (r) {
      var tr = el('tr', {}, t);
      el('td', { 'class': 'name' }, tr, r.tensor);
      el('td', {}, tr, r.param ? 'parameter' : 'activation');
      el('td', {}, tr, String(r.min.length));
      el('td', {}, tr, num(Math.min.apply(null, r.min)));
      el('td', {}, tr, num(Math.max.apply(null, r.max)));
    });
  }

  function navigation() {
    var nav = document.getElementById('nav');
    [['#findings', 'findings'], ['#sweeps', 'sweeps'], ['#ranked', 'ranked'], ['#layers', 'layers'],
     ['#ranges', 'ranges']].forEach(function (a) { el('a', { href: a[0] }, nav, a[1]); });
    var select = el('select', { id: 'layer-select' }, nav);
    el('option', { value: '' }, select, 'go to layer...');
    data.layers.forEach(function (l, i) { el('option', { value: layerId(i) }, select, l.layer); });
    select.addEventListener('change', function () {
      if (select.value) document.getElementById(select.value).scrollIntoView();
    });
  }

  try {
    navigation();
    summary();
    sweepPlot();
    keptPlot();
    rankedTable();
    layerSections();
    minMaxTable();
    document.body.setAttribute('data-rendered', 'yes');
  } catch (e) {
    noteError(String(e && e.stack || e));
  }
})();

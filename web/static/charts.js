// SVG charts drawn by hand: a time-series line with threshold lines, a
// sparkline, and horizontal bars. Each returns SVG markup that scales to
// its container's width (viewBox), so one drawing serves a wall screen and
// a phone. See README.md in this folder for why there is no chart library.
(function () {
  "use strict";
  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function r1(x) { return Math.round(x * 10) / 10; }

  // niceTicks returns about n round values covering [lo, hi].
  function niceTicks(lo, hi, n) {
    if (!(hi > lo)) { hi = lo + 1; }
    var raw = (hi - lo) / Math.max(n, 1);
    var mag = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 2.5, 5, 10].map(function (m) { return m * mag; }).find(function (s) { return s >= raw; }) || 10 * mag;
    var out = [];
    for (var v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) { out.push(Math.round(v / step) * step); }
    return out;
  }
  function fmtNum(v) {
    var a = Math.abs(v);
    return a >= 1000 ? v.toFixed(0) : a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1).replace(/\.0$/, "") : v.toFixed(2).replace(/\.?0+$/, "");
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  // Time labels and ticks are in the server's zone (time.js), as every
  // time the console shows.
  function fmtTick(t, span) {
    var d = window.YJTime.parts(t);
    var hm = pad(d.h) + ":" + pad(d.mi);
    return span > 36 * 3600e3 ? d.mo + "/" + d.d + " " + hm : hm;
  }

  // line draws readings over time.
  // o: {points: [{ts, value}], from, to (ms), thresholds: [{value, level, label}],
  //     markers: [{t (ms), label, n}], unit, width, height, label (for screen readers)}
  // Markers closer than a label's width are drawn as one, labelled with
  // their numbers (n, by default their place in time order: "2–4"), so
  // they never pile up; the page lists what each number is. Threshold
  // labels are moved apart when their lines are close, each keeping a
  // leader to its line.
  function line(o) {
    var W = o.width || 960, H = o.height || 300, L = 48, R = W < 600 ? 92 : 112, T = 22, B = 30;
    var pts = (o.points || []).map(function (p) { return [Date.parse(p.ts), p.value]; });
    var t0 = o.from, t1 = o.to;
    var vals = pts.map(function (p) { return p[1]; }).concat((o.thresholds || []).map(function (x) { return x.value; }));
    var lo = Math.min.apply(null, vals.length ? vals : [0]), hi = Math.max.apply(null, vals.length ? vals : [1]);
    var padv = (hi - lo) * 0.08 || Math.abs(hi) * 0.1 || 1;
    lo -= padv; hi += padv;
    if (lo > 0 && lo < (hi - lo)) { lo = 0; }
    var ticks = niceTicks(lo, hi, 5);
    lo = Math.min(lo, ticks[0]); hi = Math.max(hi, ticks[ticks.length - 1]);
    function x(t) { return L + (W - L - R) * (t - t0) / Math.max(t1 - t0, 1); }
    function y(v) { return T + (H - T - B) * (1 - (v - lo) / Math.max(hi - lo, 1e-9)); }
    var s = '<svg class="chart line" viewBox="0 0 ' + W + " " + H + '" preserveAspectRatio="xMidYMid meet" role="img" aria-label="' + esc(o.label || "") +
      '" data-from="' + Math.round(t0) + '" data-to="' + Math.round(t1) + '" data-plot="' + L + " " + (W - R) + " " + T + " " + (H - B) + '">';
    ticks.forEach(function (v) {
      s += '<line class="grid" x1="' + L + '" x2="' + (W - R) + '" y1="' + r1(y(v)) + '" y2="' + r1(y(v)) + '"/>' +
        '<text class="axis" x="' + (L - 6) + '" y="' + r1(y(v) + 4) + '" text-anchor="end">' + fmtNum(v) + "</text>";
    });
    niceTimeTicks(t0, t1, W > 600 ? 6 : 3).forEach(function (t) {
      s += '<line class="grid" x1="' + r1(x(t)) + '" x2="' + r1(x(t)) + '" y1="' + T + '" y2="' + (H - B) + '"/>' +
        '<text class="axis" x="' + r1(x(t)) + '" y="' + (H - B + 18) + '" text-anchor="middle">' + fmtTick(t, t1 - t0) + "</text>";
    });
    if (o.unit) { s += '<text class="axis unit" x="' + (L - 6) + '" y="' + (T - 8) + '" text-anchor="end">' + esc(o.unit) + "</text>"; }
    // Threshold labels at their lines, pushed apart to a label's height, within the plot.
    var ths = (o.thresholds || []).map(function (th) { return { th: th, y: y(th.value), ly: y(th.value) + 4 }; })
      .sort(function (a, b) { return a.ly - b.ly; });
    var gap = 17; // a 12 px label's box, CJK glyphs included
    for (var i = 1; i < ths.length; i++) { ths[i].ly = Math.max(ths[i].ly, ths[i - 1].ly + gap); }
    var bottom = H - B + 4;
    for (var j = ths.length - 1; j >= 0; j--) {
      var limit = j === ths.length - 1 ? bottom : ths[j + 1].ly - gap;
      ths[j].ly = Math.min(ths[j].ly, limit);
    }
    ths.forEach(function (h) {
      var th = h.th, yy = r1(h.y), ly = r1(h.ly);
      s += '<line class="threshold lvl-stroke-' + esc(th.level) + '" x1="' + L + '" x2="' + (W - R) + '" y1="' + yy + '" y2="' + yy + '"/>';
      if (Math.abs(ly - 4 - yy) > 1) {
        s += '<polyline class="th-leader lvl-stroke-' + esc(th.level) + '" points="' + (W - R) + "," + yy + " " + (W - R + 6) + "," + r1(ly - 4) + '"/>';
      }
      s += '<text class="th-label lvl-fill-' + esc(th.level) + '" data-level="' + esc(th.level) + '" x="' + (W - R + 8) + '" y="' + ly + '">' + esc(th.label) + "</text>";
    });
    // Markers, in clusters no closer than a badge.
    var ms = (o.markers || []).map(function (m, k) { return { t: m.t, label: m.label, n: m.n || k + 1 }; })
      .filter(function (m) { return m.t >= t0 && m.t <= t1; }).sort(function (a, b) { return a.t - b.t; });
    var clusters = [];
    ms.forEach(function (m) {
      var c = clusters[clusters.length - 1], xx = x(m.t);
      if (c && xx - c.x < c.w + 4) { c.ms.push(m); c.w = badgeWidth(c); } else { c = { x: xx, ms: [m] }; c.w = badgeWidth(c); clusters.push(c); }
    });
    clusters.forEach(function (c) {
      var first = c.ms[0].n, last = c.ms[c.ms.length - 1].n, text = c.ms.length > 1 ? first + "–" + last : String(first), xx = r1(c.x);
      var title = c.ms.map(function (m) { return m.n + " " + m.label; }).join("\n");
      s += '<g class="marker-group" data-markers="' + c.ms.length + '"><title>' + esc(title) + "</title>" +
        '<line class="marker" x1="' + xx + '" x2="' + xx + '" y1="' + T + '" y2="' + (H - B) + '"/>' +
        '<rect class="marker-badge" x="' + xx + '" y="' + (T - 16) + '" width="' + c.w + '" height="15" rx="3"/>' +
        '<text class="marker-label" x="' + r1(c.x + c.w / 2) + '" y="' + (T - 5) + '" text-anchor="middle">' + esc(text) + "</text></g>";
    });
    if (pts.length) {
      var d = pts.map(function (p, k) { return (k ? "L" : "M") + r1(x(p[0])) + " " + r1(y(p[1])); }).join("");
      s += '<path class="series" data-points="' + pts.length + '" d="' + d + '"/>';
      var last = pts[pts.length - 1];
      s += '<circle class="last" cx="' + r1(x(last[0])) + '" cy="' + r1(y(last[1])) + '" r="3.5"/>';
    }
    return s + '<rect class="brush" x="0" y="' + T + '" width="0" height="' + (H - T - B) + '" visibility="hidden"/></svg>';
  }
  // badgeWidth is the width of a cluster's number label, "7" or "12–15".
  function badgeWidth(c) {
    var first = c.ms[0].n, last = c.ms[c.ms.length - 1].n;
    return 8 + 7 * (c.ms.length > 1 ? String(first).length + String(last).length + 1 : String(first).length);
  }

  // brush lets the user drag across a line chart in box to choose a time
  // span; onSpan(from, to) gets it in ms. A drag shorter than 8 px is a
  // click, not a span.
  function brush(box, onSpan) {
    var start = null;
    function at(ev) {
      var svg = box.querySelector("svg.chart.line");
      if (!svg) { return null; }
      var r = svg.getBoundingClientRect(), vb = svg.viewBox.baseVal, p = svg.dataset.plot.split(" ").map(Number);
      var vx = (ev.clientX - r.left) * vb.width / r.width, cx = Math.min(Math.max(vx, p[0]), p[1]);
      var from = +svg.dataset.from, to = +svg.dataset.to;
      return { svg: svg, vx: cx, t: from + (to - from) * (cx - p[0]) / Math.max(p[1] - p[0], 1) };
    }
    box.addEventListener("pointerdown", function (ev) {
      if (ev.button !== 0) { return; }
      start = at(ev);
      if (start) { ev.preventDefault(); }
    });
    box.addEventListener("pointermove", function (ev) {
      if (!start) { return; }
      var now = at(ev), b = now && now.svg.querySelector("rect.brush");
      if (!b) { return; }
      b.setAttribute("x", r1(Math.min(start.vx, now.vx)));
      b.setAttribute("width", r1(Math.abs(now.vx - start.vx)));
      b.setAttribute("visibility", "visible");
    });
    window.addEventListener("pointerup", function (ev) {
      if (!start) { return; }
      var a = start, z = at(ev);
      start = null;
      var b = a.svg.querySelector("rect.brush");
      if (b) { b.setAttribute("visibility", "hidden"); }
      if (z && Math.abs(z.vx - a.vx) >= 8) { onSpan(Math.min(a.t, z.t), Math.max(a.t, z.t)); }
    });
  }
  function niceTimeTicks(t0, t1, n) {
    var span = t1 - t0, steps = [60e3, 120e3, 300e3, 600e3, 900e3, 1800e3, 3600e3, 7200e3, 10800e3, 21600e3, 43200e3, 86400e3, 172800e3, 604800e3];
    var step = steps.find(function (s) { return span / s <= n; }) || steps[steps.length - 1];
    var off = -window.YJTime.offset(t0) * 1000; // ticks on round times of the zone
    var out = [];
    for (var t = Math.ceil((t0 - off) / step) * step + off; t <= t1; t += step) { out.push(t); }
    return out;
  }

  // spark draws a small trend: values only, no axes.
  function spark(points, o) {
    o = o || {};
    var W = o.width || 120, H = o.height || 28;
    if (!points || points.length < 2) { return '<svg class="spark empty" viewBox="0 0 ' + W + " " + H + '" aria-hidden="true"></svg>'; }
    var ts = points.map(function (p) { return Date.parse(p.ts); }), vs = points.map(function (p) { return p.value; });
    var t0 = ts[0], t1 = ts[ts.length - 1], lo = Math.min.apply(null, vs), hi = Math.max.apply(null, vs);
    if (hi === lo) { hi = lo + 1; lo = lo - 1; }
    var pl = points.map(function (p, i) {
      return r1(1 + (W - 2) * (ts[i] - t0) / Math.max(t1 - t0, 1)) + "," + r1(H - 2 - (H - 4) * (vs[i] - lo) / (hi - lo));
    }).join(" ");
    return '<svg class="spark" viewBox="0 0 ' + W + " " + H + '" preserveAspectRatio="none" aria-hidden="true"><polyline points="' + pl + '"/></svg>';
  }

  // bars draws one horizontal bar per row, optionally stacked.
  // o: {rows: [{label, segments: [{value, cls, title}], text}], max, width}
  function bars(o) {
    var rows = o.rows || [], W = o.width || 720, rowH = 28, L = Math.min(W * 0.4, Math.max(90, longest(rows) * 14 + 12)), R = 110;
    var H = rows.length * rowH + 8;
    var max = o.max || Math.max.apply(null, rows.map(function (r) { return sum(r.segments); }).concat([1]));
    var s = '<svg class="chart bars" viewBox="0 0 ' + W + " " + H + '" role="img" aria-label="' + esc(o.label || "") + '">';
    rows.forEach(function (r, i) {
      var yy = 4 + i * rowH, xx = L;
      s += '<text class="axis" x="' + (L - 8) + '" y="' + (yy + 18) + '" text-anchor="end">' + esc(clip(r.label, 18)) + "<title>" + esc(r.label) + "</title></text>";
      r.segments.forEach(function (g) {
        var w = (W - L - R) * g.value / max;
        if (w > 0) {
          s += '<rect class="bar ' + esc(g.cls || "") + '" x="' + r1(xx) + '" y="' + (yy + 3) + '" width="' + r1(Math.max(w, 1.5)) + '" height="' + (rowH - 8) + '">' +
            (g.title ? "<title>" + esc(g.title) + "</title>" : "") + "</rect>";
        }
        xx += w;
      });
      s += '<text class="bar-value" x="' + r1(xx + 6) + '" y="' + (yy + 18) + '">' + esc(r.text != null ? r.text : sum(r.segments)) + "</text>";
    });
    return s + "</svg>";
  }
  function sum(segs) { return (segs || []).reduce(function (a, g) { return a + (g.value || 0); }, 0); }
  function longest(rows) { return rows.reduce(function (m, r) { return Math.max(m, Math.min(String(r.label).length, 18)); }, 4); }
  function clip(s, n) { s = String(s); return s.length > n ? s.slice(0, n - 1) + "…" : s; }

  window.YJCharts = { line: line, brush: brush, spark: spark, bars: bars, niceTicks: niceTicks, fmtNum: fmtNum };
})();

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
  //     markers: [{t (ms), label}], unit, width, height, label (for screen readers)}
  function line(o) {
    var W = o.width || 960, H = o.height || 300, L = 48, R = W < 600 ? 78 : 96, T = 16, B = 30;
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
    var s = '<svg class="chart line" viewBox="0 0 ' + W + " " + H + '" preserveAspectRatio="xMidYMid meet" role="img" aria-label="' + esc(o.label || "") + '">';
    ticks.forEach(function (v) {
      s += '<line class="grid" x1="' + L + '" x2="' + (W - R) + '" y1="' + r1(y(v)) + '" y2="' + r1(y(v)) + '"/>' +
        '<text class="axis" x="' + (L - 6) + '" y="' + r1(y(v) + 4) + '" text-anchor="end">' + fmtNum(v) + "</text>";
    });
    niceTimeTicks(t0, t1, W > 600 ? 6 : 3).forEach(function (t) {
      s += '<line class="grid" x1="' + r1(x(t)) + '" x2="' + r1(x(t)) + '" y1="' + T + '" y2="' + (H - B) + '"/>' +
        '<text class="axis" x="' + r1(x(t)) + '" y="' + (H - B + 18) + '" text-anchor="middle">' + fmtTick(t, t1 - t0) + "</text>";
    });
    if (o.unit) { s += '<text class="axis unit" x="' + (L - 6) + '" y="' + (T - 2) + '" text-anchor="end">' + esc(o.unit) + "</text>"; }
    (o.thresholds || []).forEach(function (th) {
      var yy = r1(y(th.value));
      s += '<line class="threshold lvl-stroke-' + esc(th.level) + '" x1="' + L + '" x2="' + (W - R) + '" y1="' + yy + '" y2="' + yy + '"/>' +
        '<text class="th-label lvl-fill-' + esc(th.level) + '" x="' + (W - R + 4) + '" y="' + r1(yy + 4) + '">' + esc(th.label) + "</text>";
    });
    (o.markers || []).forEach(function (m) {
      if (m.t < t0 || m.t > t1) { return; }
      var xx = r1(x(m.t));
      s += '<line class="marker" x1="' + xx + '" x2="' + xx + '" y1="' + T + '" y2="' + (H - B) + '"/>' +
        '<text class="marker-label" x="' + (xx + 3) + '" y="' + (T + 10) + '">' + esc(m.label) + "</text>";
    });
    if (pts.length) {
      var d = pts.map(function (p, i) { return (i ? "L" : "M") + r1(x(p[0])) + " " + r1(y(p[1])); }).join("");
      s += '<path class="series" data-points="' + pts.length + '" d="' + d + '"/>';
      var last = pts[pts.length - 1];
      s += '<circle class="last" cx="' + r1(x(last[0])) + '" cy="' + r1(y(last[1])) + '" r="3.5"/>';
    }
    return s + "</svg>";
  }
  function niceTimeTicks(t0, t1, n) {
    var span = t1 - t0, steps = [60e3, 300e3, 600e3, 900e3, 1800e3, 3600e3, 7200e3, 10800e3, 21600e3, 43200e3, 86400e3, 172800e3, 604800e3];
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

  window.YJCharts = { line: line, spark: spark, bars: bars, niceTicks: niceTicks, fmtNum: fmtNum };
})();

// The wall screen (大屏, #/wall): a full-screen view for the duty room's
// wall. Open warnings counted by level and by family, today's answer rate,
// the sites on a map drawn from the outlines and coordinates the
// configuration gives (SVG, no map tiles or fonts from outside), and the
// open red and orange warnings with their call-and-answer: the step, who
// is being called, and the time left to answer. One request
// (GET /api/v1/wall) per redraw; redrawn on every warning event and when
// a step's time runs out.
(function (YJ) {
  "use strict";
  var t = YJ.t, esc = YJ.esc, $ = YJ.$, api = YJ.api, TZ = YJ.time, CH = YJ.charts, LEVELS = YJ.LEVELS;
  YJ.strings({
    zh: {
      "nav.wall": "大屏",
      "wall.title": "预警监测大屏", "wall.fullscreen": "全屏显示", "wall.exit": "退出大屏",
      "wall.levels": "未关闭预警", "wall.total": "共 {n} 条", "wall.none": "没有未关闭的预警。", "wall.families": "各类别未关闭预警",
      "wall.answers": "今日叫应应答率", "wall.answers.detail": "已应答 {a} 次 · 超时未应答 {u} 次 · 共呼叫 {n} 次",
      "wall.answers.none": "今日还没有到期的呼叫",
      "wall.map": "站点分布", "wall.map.none": "尚未标注站点位置：在配置文件 sites 下填写 location 或 boundary。",
      "wall.map.unplaced": "未标注位置：{list}", "wall.map.quiet": "无预警",
      "wall.warnings": "红色、橙色预警及叫应", "wall.warnings.none": "当前没有红色、橙色预警。",
      "wall.esc.none": "未启动叫应", "wall.esc.step": "叫应第 {step} 步", "wall.esc.round": "第 {round} 轮",
      "wall.esc.calling": "正在呼叫：{who}", "wall.esc.left": "剩余 {t}", "wall.esc.due": "时限已到，转下一步",
      "wall.esc.answered": "已应答：{who}，{at}", "wall.esc.exhausted": "已叫应到顶，无人应答", "wall.esc.stopped": "叫应已停止"
    },
    en: {
      "nav.wall": "Wall",
      "wall.title": "Warning wall", "wall.fullscreen": "Full screen", "wall.exit": "Leave the wall",
      "wall.levels": "Open warnings", "wall.total": "{n} in all", "wall.none": "No open warnings.", "wall.families": "Open warnings by family",
      "wall.answers": "Answer rate today", "wall.answers.detail": "{a} answered · {u} unanswered · {n} calls",
      "wall.answers.none": "No call has come due today",
      "wall.map": "Sites", "wall.map.none": "No site is placed yet: give location or boundary under sites in the configuration.",
      "wall.map.unplaced": "Not placed: {list}", "wall.map.quiet": "no warnings",
      "wall.warnings": "Red and orange warnings, call-and-answer", "wall.warnings.none": "No red or orange warning now.",
      "wall.esc.none": "no call-and-answer started", "wall.esc.step": "step {step}", "wall.esc.round": "round {round}",
      "wall.esc.calling": "calling: {who}", "wall.esc.left": "{t} left", "wall.esc.due": "time is up: next step",
      "wall.esc.answered": "answered: {who}, {at}", "wall.esc.exhausted": "top of the chain reached, nobody answered", "wall.esc.stopped": "call-and-answer stopped"
    }
  });
  YJ.page("wall", { nav: 15, live: true, render: wall });

  var map = null, data = null, dueAt = 0;
  function wall(r, fresh) {
    var v = $("#view");
    if (fresh || !$("#wall")) {
      v.innerHTML = '<section id="wall" class="wall">' +
        '<div class="wall-top"><h2>' + esc(t("wall.title")) + '</h2><span id="wall-clock" class="wall-clock"></span>' +
        '<span class="wall-buttons"><button type="button" id="wall-full">' + esc(t("wall.fullscreen")) + '</button><a href="#/board" id="wall-exit">' + esc(t("wall.exit")) + "</a></span></div>" +
        '<div class="wall-left"><section class="card"><h3>' + esc(t("wall.levels")) + ' <span id="wall-total" class="muted small"></span></h3><div id="wall-levels" class="wall-levels"></div></section>' +
        '<section class="card"><h3>' + esc(t("wall.families")) + '</h3><div id="wall-families"></div></section>' +
        '<section class="card"><h3>' + esc(t("wall.answers")) + '</h3><div id="wall-answers" class="wall-answers"></div></section></div>' +
        '<section class="card wall-map"><h3>' + esc(t("wall.map")) + '</h3><div id="wall-map" class="wall-map-box"></div><p id="wall-unplaced" class="muted small"></p></section>' +
        '<section class="card wall-right"><h3>' + esc(t("wall.warnings")) + '</h3><ol id="wall-warnings" class="wall-warnings"></ol></section></section>';
      $("#wall-full").onclick = function () {
        var el = document.documentElement;
        if (document.fullscreenElement) { document.exitFullscreen(); } else if (el.requestFullscreen) { el.requestFullscreen().catch(function () {}); }
      };
      map = null;
      clock();
    }
    var current = YJ.ticket("view"), now = TZ.now(), today = TZ.midnight(TZ.date(now));
    Promise.all([
      api("GET", "/api/v1/wall"),
      map ? Promise.resolve(map) : api("GET", "/api/v1/sites/map"),
      api("GET", "/api/v1/reports/answers?" + YJ.qs({ from: YJ.iso(today), to: YJ.iso(now + 1000), by: "level" })).catch(function () { return null; }),
      YJ.loadSensors().catch(function () { return []; })
    ]).then(function (res) {
      if (YJ.app.view !== "wall" || !current() || !$("#wall")) { return; }
      data = res[0];
      map = res[1];
      levels(data);
      families(data);
      answers(res[2]);
      drawMap(map, data);
      warnings(data);
      tick();
    }, function (err) { if (err.status !== 401 && $("#wall-warnings")) { $("#wall-warnings").innerHTML = "<li>" + YJ.failed(err) + "</li>"; } });
  }

  function levels(d) {
    var total = 0;
    $("#wall-levels").innerHTML = LEVELS.map(function (l) {
      total += d.levels[l] || 0;
      return '<a class="wall-level lvl-' + l + '" data-level="' + l + '" href="#/board?level=' + l + '"><span>' + esc(t("level." + l)) + "</span><b>" + (d.levels[l] || 0) + "</b></a>";
    }).join("");
    $("#wall-total").textContent = t("wall.total", { n: total });
  }
  function families(d) {
    var box = $("#wall-families");
    if (!d.families.length) { box.innerHTML = '<p class="muted">' + esc(t("wall.none")) + "</p>"; return; }
    box.innerHTML = CH.bars({ label: t("wall.families"), width: YJ.boxWidth(box), rows: d.families.map(function (f) {
      return { label: YJ.fam(f.key) || f.key, segments: LEVELS.map(function (l) { return { value: f.levels[l], cls: "lvl-fill-" + l, title: t("level." + l) + " " + f.levels[l] }; }) };
    }) }) + '<table class="wall-fam-table">' + d.families.map(function (f) {
      return '<tr data-family="' + esc(f.key) + '"><td>' + esc(YJ.fam(f.key)) + '</td><td class="num"><b>' + f.total + "</b></td></tr>";
    }).join("") + "</table>";
  }
  function answers(rep) {
    var box = $("#wall-answers"), tot = rep && rep.total;
    if (!tot || tot.answer_rate == null) {
      box.innerHTML = '<b id="wall-rate" class="wall-rate">' + esc(t("common.none")) + '</b><p class="muted small">' + esc(t("wall.answers.none")) + "</p>";
      return;
    }
    var pct = (tot.answer_rate * 100).toFixed(1).replace(/\.0$/, "") + "%";
    box.innerHTML = '<b id="wall-rate" class="wall-rate' + (tot.answer_rate < 0.9 ? " low" : "") + '">' + esc(pct) + '</b><p class="muted small">' +
      esc(t("wall.answers.detail", { a: tot.answered || 0, u: tot.unanswered || 0, n: tot.calls || 0 })) + "</p>";
  }

  // --- the map ---------------------------------------------------------------
  // drawMap draws the sites from GET /api/v1/sites/map (GeoJSON) in a
  // flat projection (longitude scaled by the cosine of the middle
  // latitude), each coloured by its most severe open warning.
  function drawMap(fc, d) {
    var box = $("#wall-map"), feats = (fc && fc.features) || [];
    var placed = feats.filter(function (f) { return f.geometry; }), unplaced = feats.filter(function (f) { return !f.geometry; });
    $("#wall-unplaced").textContent = unplaced.length ? t("wall.map.unplaced", { list: unplaced.map(function (f) { return f.properties.name; }).join("、") }) : "";
    if (!placed.length) { box.innerHTML = '<p class="muted" id="wall-map-none">' + esc(t("wall.map.none")) + "</p>"; return; }
    var bySite = {};
    d.sites.forEach(function (s) { bySite[s.key] = s; });
    var pts = [];
    placed.forEach(function (f) { eachPoint(f.geometry, function (p) { pts.push(p); }); if (f.properties.label) { pts.push(f.properties.label); } });
    var lon0 = Math.min.apply(null, pts.map(function (p) { return p[0]; })), lon1 = Math.max.apply(null, pts.map(function (p) { return p[0]; }));
    var lat0 = Math.min.apply(null, pts.map(function (p) { return p[1]; })), lat1 = Math.max.apply(null, pts.map(function (p) { return p[1]; }));
    var k = Math.cos((lat0 + lat1) / 2 * Math.PI / 180), minSpan = 0.02; // about 2 km around a single site
    if ((lon1 - lon0) * k < minSpan) { var cx = (lon0 + lon1) / 2; lon0 = cx - minSpan / k / 2; lon1 = cx + minSpan / k / 2; }
    if (lat1 - lat0 < minSpan) { var cy = (lat0 + lat1) / 2; lat0 = cy - minSpan / 2; lat1 = cy + minSpan / 2; }
    var W = YJ.boxWidth(box), H = Math.max(320, Math.round(box.clientHeight || W * 0.62)), pad = 60;
    var s = Math.min((W - 2 * pad) / ((lon1 - lon0) * k), (H - 2 * pad) / (lat1 - lat0));
    var ox = (W - (lon1 - lon0) * k * s) / 2, oy = (H - (lat1 - lat0) * s) / 2;
    function x(p) { return Math.round((ox + (p[0] - lon0) * k * s) * 10) / 10; }
    function y(p) { return Math.round((H - oy - (p[1] - lat0) * s) * 10) / 10; }
    var out = '<svg class="map" viewBox="0 0 ' + W + " " + H + '" role="img" aria-label="' + esc(t("wall.map")) + '">';
    var labels = "";
    placed.forEach(function (f) {
      var id = f.properties.id, g = bySite[id], level = top(g), cls = "site lvl-" + level, title = f.properties.name + " · " + (g ? t("wall.total", { n: g.total }) : t("wall.map.quiet"));
      var at = f.properties.label, attrs = ' data-site="' + esc(id) + '" data-level="' + level + '" data-placed="' + esc(f.properties.placed) + '"';
      if (f.geometry.type === "Point") {
        at = at || f.geometry.coordinates;
        out += '<g class="' + cls + '"' + attrs + "><title>" + esc(title) + '</title><circle cx="' + x(f.geometry.coordinates) + '" cy="' + y(f.geometry.coordinates) + '" r="' + (g ? 11 : 7) + '"/></g>';
      } else {
        var d2 = "", box2 = [Infinity, Infinity, -Infinity, -Infinity];
        polygons(f.geometry).forEach(function (poly) {
          poly.forEach(function (ring) {
            d2 += ring.map(function (p, i) { return (i ? "L" : "M") + x(p) + " " + y(p); }).join("") + "Z";
            ring.forEach(function (p) { box2 = [Math.min(box2[0], p[0]), Math.min(box2[1], p[1]), Math.max(box2[2], p[0]), Math.max(box2[3], p[1])]; });
          });
        });
        at = at || [(box2[0] + box2[2]) / 2, (box2[1] + box2[3]) / 2];
        out += '<g class="' + cls + '"' + attrs + "><title>" + esc(title) + '</title><path fill-rule="evenodd" d="' + d2 + '"/></g>';
      }
      labels += '<text class="site-label" x="' + x(at) + '" y="' + (y(at) - 16) + '" text-anchor="middle">' + esc(f.properties.name) + (g ? " · " + g.total : "") + "</text>";
    });
    box.innerHTML = out + labels + "</svg>";
  }
  function polygons(g) { return g.type === "Polygon" ? [g.coordinates] : g.type === "MultiPolygon" ? g.coordinates : []; }
  function eachPoint(g, fn) {
    if (g.type === "Point") { fn(g.coordinates); return; }
    polygons(g).forEach(function (poly) { poly.forEach(function (ring) { ring.forEach(fn); }); });
  }
  function top(g) {
    if (!g) { return "none"; }
    return LEVELS.find(function (l) { return g.levels[l] > 0; }) || "none";
  }

  // --- the red and orange warnings with their call-and-answer --------------------
  function warnings(d) {
    var list = $("#wall-warnings");
    if (!d.warnings.length) { list.innerHTML = '<li class="empty">' + esc(t("wall.warnings.none")) + "</li>"; return; }
    list.innerHTML = d.warnings.map(function (a) {
      var flags = (a.silenced ? ' <span class="flag">' + esc(t("flag.silenced")) + "</span>" : "") + (a.inhibited ? ' <span class="flag">' + esc(t("flag.inhibited")) + "</span>" : "") +
        (a.overdue ? ' <span class="flag overdue">' + esc(t("flag.overdue")) + "</span>" : "");
      return '<li class="wall-warning row-' + esc(a.level) + '" data-id="' + a.id + '"><div class="ww-head">' + YJ.lvl(a.level) + " " + YJ.stateTag(a.state) + flags +
        ' <span class="ww-age muted">' + esc(YJ.age(a.started_at)) + "</span></div>" +
        '<div class="ww-what"><b>' + esc(YJ.siteName(a.site)) + "</b> · " + esc(YJ.sensorName(a.sensor)) + ' <span class="num">' + YJ.num(a.value) + " " + esc(a.unit || "") + "</span></div>" +
        '<div class="ww-esc">' + escalation(a) + "</div></li>";
    }).join("");
  }
  function who(calls) {
    return calls.map(function (c) { return c.person_name || c.person; }).filter(function (n, i, all) { return all.indexOf(n) === i; }).join("、");
  }
  function escalation(a) {
    var e = a.escalation;
    if (!e) { return '<span class="muted" data-esc="none">' + esc(t("wall.esc.none")) + "</span>"; }
    var step = t("wall.esc.step", { step: e.step }) + (e.round > 1 ? " · " + t("wall.esc.round", { round: e.round }) : "");
    if (e.state === "answered") { // by name: the called person whose call was answered (the answer may have been recorded by a user)
      var by = who((a.calling || []).filter(function (c) { return c.outcome === "answered"; })) || YJ.actor(e.answered_by || "");
      return '<span class="esc-ok" data-esc="answered">' + esc(t("wall.esc.answered", { who: by, at: YJ.fmtTime(e.answered_at) }) + (e.answer_channel ? "（" + YJ.via(e.answer_channel) + "）" : "")) + "</span>";
    }
    if (e.state === "exhausted") { return '<span class="esc-bad" data-esc="exhausted">' + esc(step + " · " + t("wall.esc.exhausted")) + "</span>"; }
    if (e.state !== "active") { return '<span class="muted" data-esc="' + esc(e.state) + '">' + esc(t("wall.esc.stopped")) + "</span>"; }
    var waiting = (a.calling || []).filter(function (c) { return c.outcome === "pending" || c.outcome === "unanswered" || !c.outcome; });
    return '<span data-esc="active">' + esc(step) + (waiting.length ? " · " + esc(t("wall.esc.calling", { who: who(waiting) })) : "") + "</span>" +
      (e.deadline ? ' <b class="countdown" data-deadline="' + Date.parse(e.deadline) + '"></b>' : "");
  }

  // tick moves the clock and the countdowns every second; a step whose
  // time ran out is read again a moment later (the next step's calls).
  function tick() {
    clock();
    var now = TZ.now(), next = 0;
    YJ.$$("#wall-warnings .countdown").forEach(function (c) {
      var left = +c.dataset.deadline - now;
      c.textContent = left > 0 ? t("wall.esc.left", { t: mmss(left) }) : t("wall.esc.due");
      c.classList.toggle("due", left <= 60e3);
      if (left <= 0 && (!next || +c.dataset.deadline < next)) { next = +c.dataset.deadline; }
    });
    if (next && next !== dueAt && YJ.app.view === "wall") {
      dueAt = next;
      setTimeout(function () { if (YJ.app.view === "wall") { wall({ params: {} }, false); } }, 2000);
    }
  }
  function clock() {
    var c = $("#wall-clock"), now = TZ.now();
    if (c) { c.textContent = TZ.date(now) + " " + TZ.clock(now) + " (" + TZ.offsetLabel(now) + ")"; }
  }
  function mmss(ms) {
    var s = Math.ceil(ms / 1000), h = Math.floor(s / 3600), m = Math.floor(s % 3600 / 60), r = s % 60;
    return (h ? h + ":" + (m < 10 ? "0" : "") : "") + m + ":" + (r < 10 ? "0" : "") + r;
  }
  setInterval(function () { if (YJ.app.view === "wall" && $("#wall")) { tick(); } }, 1000);
  document.addEventListener("click", function (ev) {
    var li = ev.target.closest && ev.target.closest("#wall-warnings li[data-id]");
    if (li) { location.hash = "#/alert/" + li.dataset.id; }
  });
})(window.YJ);

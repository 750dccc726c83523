// Sensors (#/sensors?q=&site=&family=&online=&view=site): the registry —
// search and filters (kept in the URL), every sensor's last value, last
// seen, online / offline / fault, a 6-hour sparkline; as a list or grouped
// by site (and by the hazard_source tag when sensors have it). An admin
// also adds, edits (pages/sensor.js), imports a sheet
// (pages/sensorimport.js) and deletes here; everybody may look at the
// topics nobody registered (pages/discovered.js).
(function (YJ) {
  "use strict";
  var t = YJ.t, esc = YJ.esc, $ = YJ.$, $$ = YJ.$$, api = YJ.api, CH = YJ.charts, TZ = YJ.time;
  var fam = YJ.fam, age = YJ.age, num = YJ.num, named = YJ.named, siteName = YJ.siteName, metricName = YJ.metricName;
  var ticket = YJ.ticket, qs = YJ.qs, iso = YJ.iso, failed = YJ.failed;
  YJ.strings({
    zh: {
      "nav.sensors": "监测点",
      "sensors.title": "监测点", "sensors.bySite": "按站点分组", "sensors.list": "列表",
      "sensors.last": "最新值", "sensors.seen": "最后上报", "sensors.status": "状态", "sensors.trend": "6 小时趋势",
      "sensors.online": "在线", "sensors.offline": "离线", "sensors.fault": "故障", "sensors.never": "从未上报",
      "sensors.empty": "没有监测点。", "sensors.none": "没有符合条件的监测点。", "sensors.group.other": "其他",
      "sensors.q": "搜索（编号或名称）", "sensors.state": "在线状态", "sensors.shown": "显示 {n} 个，共 {total} 个", "sensors.more": "显示更多",
      "sensors.add": "新增监测点", "sensors.import": "导入表格", "sensors.discovered": "未登记的主题",
      "sensors.edit": "编辑", "sensors.delete": "删除", "sensors.delete.confirm": "确认删除？", "sensors.deleted": "已删除监测点 {id}。",
      "sensors.actions": "操作"
    },
    en: {
      "nav.sensors": "Sensors",
      "sensors.title": "Sensors", "sensors.bySite": "By site", "sensors.list": "List",
      "sensors.last": "Last value", "sensors.seen": "Last seen", "sensors.status": "Status", "sensors.trend": "6 h trend",
      "sensors.online": "online", "sensors.offline": "offline", "sensors.fault": "fault", "sensors.never": "never",
      "sensors.empty": "No sensors.", "sensors.none": "No sensor matches.", "sensors.group.other": "other",
      "sensors.q": "Search (id or name)", "sensors.state": "Online", "sensors.shown": "{n} shown of {total}", "sensors.more": "Show more",
      "sensors.add": "Add a sensor", "sensors.import": "Import a sheet", "sensors.discovered": "Unregistered topics",
      "sensors.edit": "Edit", "sensors.delete": "Delete", "sensors.delete.confirm": "Delete it?", "sensors.deleted": "Sensor {id} deleted.",
      "sensors.actions": "Actions"
    }
  });
  YJ.page("sensors", { nav: 20, live: true, render: sensors });

  // PAGE is how many sensors are drawn at a time (and asked for per
  // request); "show more" draws the next ones.
  var PAGE = 200;
  var shown = PAGE, flash = "", lastKey = "";

  // fetchSensors reads GET /api/v1/sensors with the filters (q, site,
  // family, online → status=online|offline), which the server applies
  // itself, following its pages (Link: <…>; rel="next") until it holds
  // want sensors or there are no more: {list, total (X-Total-Count), more}.
  function fetchSensors(filter, want) {
    var got = [], total = null;
    function step(path) {
      return api("GET", path, undefined, { headers: true }).then(function (ans) {
        got = got.concat(ans.data || []);
        var n = parseInt(ans.headers.get("X-Total-Count"), 10);
        if (!isNaN(n)) { total = n; }
        var next = nextLink(ans.headers.get("Link"));
        if (next && got.length < want) { return step(next); }
        return { list: got, total: total != null ? total : got.length, more: !!next };
      });
    }
    var status = { "true": "online", "false": "offline" }[filter.online] || "";
    return step("/api/v1/sensors?" + qs({ limit: PAGE, q: filter.q, site: filter.site, family: filter.family, status: status }));
  }
  // nextLink is the URL of a Link header's rel="next", or "".
  function nextLink(h) {
    var m = /<([^>]*)>\s*;\s*rel="?next"?/.exec(h || "");
    return m ? m[1] : "";
  }

  function filterOf(p) {
    var f = {};
    ["q", "site", "family", "online"].forEach(function (k) { if (p[k]) { f[k] = p[k]; } });
    return f;
  }
  function sensors(r, fresh) {
    var p = r.params, bySite = p.view === "site", v = $("#view"), f = filterOf(p), admin = YJ.can("admin");
    var key = qs(f) + "|" + bySite;
    if (key !== lastKey) { shown = PAGE; lastKey = key; }
    if (fresh) {
      var link = function (view) { var o = {}; Object.keys(f).forEach(function (k) { o[k] = f[k]; }); o.view = view; return "#/sensors" + (qs(o) ? "?" + qs(o) : ""); };
      v.innerHTML = '<section class="sensors"><div class="toolbar"><h2>' + esc(t("sensors.title")) + '</h2><div class="tgroup">' +
        (admin ? '<a class="button primary" id="sensor-add" href="#/sensor">' + esc(t("sensors.add")) + '</a><a class="button" id="sensor-import" href="#/sensorimport">' + esc(t("sensors.import")) + "</a>" : "") +
        '<a class="button" id="sensor-discovered" href="#/discovered">' + esc(t("sensors.discovered")) + "</a>" +
        '<div class="tabs"><a href="' + link("") + '"' + (bySite ? "" : ' aria-current="page"') + ">" + esc(t("sensors.list")) + '</a><a href="' + link("site") + '"' + (bySite ? ' aria-current="page"' : "") + ">" +
        esc(t("sensors.bySite")) + "</a></div></div></div>" +
        '<form id="sensor-filters" class="filters" role="search">' +
        '<label class="field">' + esc(t("sensors.q")) + '<input type="search" name="q" id="sensor-q" value="' + esc(p.q || "") + '"></label>' +
        YJ.field("site", '<select name="site"><option value="">' + esc(t("filter.all")) + "</option>" + ((YJ.app.meta && YJ.app.meta.sites) || []).map(function (s) {
          return '<option value="' + esc(s.id) + '"' + (s.id === p.site ? " selected" : "") + ">" + esc(s.name || s.id) + "</option>";
        }).join("") + "</select>") +
        YJ.field("family", YJ.select("family", [""].concat(YJ.FAMILIES), p.family, function (x) { return x ? fam(x) : t("filter.all"); })) +
        '<label class="field">' + esc(t("sensors.state")) + YJ.select("online", ["", "true", "false"], p.online, function (x) { return x ? t(x === "true" ? "sensors.online" : "sensors.offline") : t("filter.all"); }) + "</label>" +
        '<button type="button" id="sensor-clear" class="link">' + esc(t("filter.clear")) + '</button><span id="sensor-shown" class="muted"></span></form>' +
        '<p id="sensor-flash" class="act-msg ok" role="status">' + esc(flash) + "</p>" +
        '<div id="sensor-list"><p class="muted">' + esc(t("common.loading")) + '</p></div><p><button type="button" id="sensor-more" hidden>' + esc(t("sensors.more")) + "</button></p></section>";
      flash = "";
      var form = $("#sensor-filters");
      var apply = function (ev) {
        if (ev) { ev.preventDefault(); }
        var o = {};
        ["q", "site", "family", "online"].forEach(function (k) { o[k] = form[k].value.trim(); });
        if (bySite) { o.view = "site"; }
        location.hash = "#/sensors" + (qs(o) ? "?" + qs(o) : "");
      };
      form.addEventListener("change", apply);
      form.addEventListener("submit", apply);
      $("#sensor-clear").onclick = function () { location.hash = "#/sensors" + (bySite ? "?view=site" : ""); };
      $("#sensor-more").onclick = function () { shown += PAGE; draw(r, f, bySite); };
    }
    draw(r, f, bySite);
  }
  function draw(r, f, bySite) {
    var current = ticket("view");
    Promise.all([fetchSensors(f, shown), YJ.loadRules(), api("GET", "/api/v1/alerts?state=open&limit=1000")]).then(function (res) {
      if (YJ.app.view !== "sensors" || !current()) { return; }
      var got = res[0], list = got.list.slice(0, shown), kinds = {}, faulty = {};
      res[1].forEach(function (x) { kinds[x.name] = x.kind; });
      (res[2] || []).forEach(function (a) { if (kinds[a.rule] === "fault" || kinds[a.rule] === "stuck") { faulty[a.sensor] = true; } });
      var box = $("#sensor-list");
      $("#sensor-shown").textContent = t("sensors.shown", { n: list.length, total: got.total });
      $("#sensor-more").hidden = !(got.list.length > shown || got.more);
      if (!list.length) { box.innerHTML = '<p class="empty">' + esc(t(Object.keys(f).length ? "sensors.none" : "sensors.empty")) + "</p>"; return; }
      box.innerHTML = bySite ? siteView(list, faulty) : sensorTable(list, faulty);
      bindDelete(r);
      sparklines();
    }, function (err) { if (err.status !== 401 && $("#sensor-list")) { $("#sensor-list").innerHTML = failed(err); } });
  }
  function bindDelete(r) {
    $$("button.sensor-delete").forEach(function (b) {
      b.onclick = function () {
        YJ.twice(b, t("sensors.delete.confirm"), function () {
          b.disabled = true;
          api("DELETE", "/api/v1/sensors/" + encodeURIComponent(b.dataset.id)).then(function () {
            flash = t("sensors.deleted", { id: b.dataset.id });
            YJ.loadSensors(true).catch(function () {});
            sensors(r, true);
          }, function (err) {
            b.disabled = false;
            $("#sensor-flash").className = "act-msg error";
            $("#sensor-flash").textContent = t("common.error", { msg: err.message });
          });
        });
      };
    });
  }
  function sensorStatus(s, faulty) {
    if (faulty[s.id]) { return "fault"; }
    if (!s.last_seen) { return "never"; }
    return s.online ? "online" : "offline";
  }
  function lastValues(s) {
    return (s.last || []).map(function (x) { return '<span class="reading">' + (s.last.length > 1 ? esc(metricName(s.family, x.metric)) + " " : "") + "<b>" + num(x.value) + "</b> " + esc(x.unit || "") + "</span>"; }).join(" ") || esc(t("common.none"));
  }
  function statusTag(st) { return '<span class="sstatus s-' + st + '">' + esc(t("sensors." + st)) + "</span>"; }
  function actions(s) {
    return '<a class="button small" href="#/sensor/' + encodeURIComponent(s.id) + '" data-edit="' + esc(s.id) + '">' + esc(t("sensors.edit")) + "</a>" +
      '<button type="button" class="small sensor-delete" data-id="' + esc(s.id) + '">' + esc(t("sensors.delete")) + "</button>";
  }
  function sensorTable(list, faulty) {
    var admin = YJ.can("admin");
    var cols = [t("col.sensor"), t("col.site"), t("filter.family"), t("sensors.last"), t("sensors.seen"), t("sensors.status"), t("sensors.trend")].concat(admin ? [t("sensors.actions")] : []);
    return '<table class="sensor-table" id="sensor-table"><thead><tr><th>' + cols.map(esc).join("</th><th>") +
      "</th></tr></thead><tbody>" + list.map(function (s) {
        var st = sensorStatus(s, faulty);
        return '<tr data-sensor="' + esc(s.id) + '" data-status="' + st + '"><td data-label="' + esc(t("col.sensor")) + '"><b>' + named(s.name || s.id, s.id) + "</b>" +
          '</td><td data-label="' + esc(t("col.site")) + '">' + esc(siteName(s.site)) + '</td><td data-label="' + esc(t("filter.family")) + '">' + esc(fam(s.family)) +
          '</td><td data-label="' + esc(t("sensors.last")) + '">' + lastValues(s) + '</td><td data-label="' + esc(t("sensors.seen")) + '">' + (s.last_seen ? esc(t("time.ago", { t: age(s.last_seen) })) : esc(t("sensors.never"))) +
          '</td><td data-label="' + esc(t("sensors.status")) + '">' + statusTag(st) + '</td><td data-label="' + esc(t("sensors.trend")) + '" class="spark-cell" data-spark="' + esc(s.id) + '" data-metric="' + esc(s.metric) + '"></td>' +
          (admin ? '<td data-label="' + esc(t("sensors.actions")) + '" class="act">' + actions(s) + "</td>" : "") + "</tr>";
      }).join("") + "</tbody></table>";
  }
  function siteView(list, faulty) {
    var sites = {}, admin = YJ.can("admin");
    list.forEach(function (s) {
      var src = (s.tags && (s.tags.hazard_source || s.tags.source)) || "";
      sites[s.site] = sites[s.site] || {};
      (sites[s.site][src] = sites[s.site][src] || []).push(s);
    });
    return Object.keys(sites).sort().map(function (site) {
      var all = [].concat.apply([], Object.keys(sites[site]).map(function (k) { return sites[site][k]; }));
      var off = all.filter(function (s) { return sensorStatus(s, faulty) !== "online"; }).length;
      return '<section class="site card" data-site="' + esc(site) + '"><h3>' + named(siteName(site), site) + ' <span class="muted small">' + all.length + (off ? ' · <span class="s-offline">' + off + " " + esc(t("sensors.offline")) + "/" + esc(t("sensors.fault")) + "</span>" : "") + "</span></h3>" +
        Object.keys(sites[site]).sort().map(function (src) {
          return (src ? "<h4>" + esc(src) + "</h4>" : "") + '<div class="tiles">' + sites[site][src].map(function (s) {
            var st = sensorStatus(s, faulty);
            return '<div class="tile s-edge-' + st + '" data-sensor="' + esc(s.id) + '"><div><b>' + esc(s.name || s.id) + "</b> " + statusTag(st) + '</div><div class="muted small">' + esc(s.id) + " · " + esc(fam(s.family)) +
              '</div><div class="tile-value">' + lastValues(s) + '</div><div class="spark-cell" data-spark="' + esc(s.id) + '" data-metric="' + esc(s.metric) + '"></div>' +
              (admin ? '<div class="act">' + actions(s) + "</div>" : "") + "</div>";
          }).join("") + "</div>";
        }).join("") + "</section>";
    }).join("");
  }
  // sparklines fetches each drawn sensor's last 6 hours (60 points), three at a time.
  function sparklines() {
    var cells = $$("[data-spark]"), i = 0, to = TZ.now(), from = to - 6 * 3600e3;
    function next() {
      var c = cells[i++];
      if (!c || YJ.app.view !== "sensors" || !c.isConnected) { return; }
      api("GET", "/api/v1/sensors/" + encodeURIComponent(c.dataset.spark) + "/readings?" + qs({ metric: c.dataset.metric, from: iso(from), to: iso(to), points: 60 }))
        .then(function (s) { c.innerHTML = CH.spark(s.points); }, function () {}).then(next);
    }
    next(); next(); next();
  }

})(window.YJ);

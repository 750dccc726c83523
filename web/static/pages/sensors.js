// Sensors (#/sensors, #/sensors?view=site): every sensor's last value,
// last seen, online / offline / fault, a 6-hour sparkline; grouped by site
// (and by the hazard_source tag when sensors have it).
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
      "sensors.empty": "没有监测点。", "sensors.group.other": "其他"
    },
    en: {
      "nav.sensors": "Sensors",
      "sensors.title": "Sensors", "sensors.bySite": "By site", "sensors.list": "List",
      "sensors.last": "Last value", "sensors.seen": "Last seen", "sensors.status": "Status", "sensors.trend": "6 h trend",
      "sensors.online": "online", "sensors.offline": "offline", "sensors.fault": "fault", "sensors.never": "never",
      "sensors.empty": "No sensors.", "sensors.group.other": "other"
    }
  });
  YJ.page("sensors", { nav: 20, live: true, render: sensors });

  function sensors(r, fresh) {
    var bySite = r.params.view === "site", v = $("#view");
    if (fresh) {
      v.innerHTML = '<section class="sensors"><div class="toolbar"><h2>' + esc(t("sensors.title")) + '</h2><div class="tabs">' +
        '<a href="#/sensors"' + (bySite ? "" : ' aria-current="page"') + ">" + esc(t("sensors.list")) + '</a><a href="#/sensors?view=site"' + (bySite ? ' aria-current="page"' : "") + ">" +
        esc(t("sensors.bySite")) + '</a></div></div><div id="sensor-list"><p class="muted">' + esc(t("common.loading")) + "</p></div></section>";
    }
    var current = ticket("view");
    Promise.all([YJ.loadSensors(true), YJ.loadRules(), api("GET", "/api/v1/alerts?state=open&limit=1000")]).then(function (res) {
      if (YJ.app.view !== "sensors" || !current()) { return; }
      var list = res[0], kinds = {}, faulty = {};
      res[1].forEach(function (x) { kinds[x.name] = x.kind; });
      (res[2] || []).forEach(function (a) { if (kinds[a.rule] === "fault" || kinds[a.rule] === "stuck") { faulty[a.sensor] = true; } });
      var box = $("#sensor-list");
      if (!list.length) { box.innerHTML = '<p class="empty">' + esc(t("sensors.empty")) + "</p>"; return; }
      box.innerHTML = bySite ? siteView(list, faulty) : sensorTable(list, faulty);
      sparklines(list);
    }, function (err) { if (err.status !== 401) { $("#sensor-list").innerHTML = failed(err); } });
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
  function sensorTable(list, faulty) {
    return '<table class="sensor-table"><thead><tr><th>' + [t("col.sensor"), t("col.site"), t("filter.family"), t("sensors.last"), t("sensors.seen"), t("sensors.status"), t("sensors.trend")].map(esc).join("</th><th>") +
      "</th></tr></thead><tbody>" + list.map(function (s) {
        var st = sensorStatus(s, faulty);
        return '<tr data-sensor="' + esc(s.id) + '" data-status="' + st + '"><td data-label="' + esc(t("col.sensor")) + '"><b>' + esc(s.id) + "</b> " + esc(s.name || "") +
          '</td><td data-label="' + esc(t("col.site")) + '">' + esc(siteName(s.site)) + '</td><td data-label="' + esc(t("filter.family")) + '">' + esc(fam(s.family)) +
          '</td><td data-label="' + esc(t("sensors.last")) + '">' + lastValues(s) + '</td><td data-label="' + esc(t("sensors.seen")) + '">' + (s.last_seen ? esc(t("time.ago", { t: age(s.last_seen) })) : esc(t("sensors.never"))) +
          '</td><td data-label="' + esc(t("sensors.status")) + '">' + statusTag(st) + '</td><td data-label="' + esc(t("sensors.trend")) + '" class="spark-cell" data-spark="' + esc(s.id) + '" data-metric="' + esc(s.metric) + '"></td></tr>';
      }).join("") + "</tbody></table>";
  }
  function siteView(list, faulty) {
    var sites = {};
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
            return '<div class="tile s-edge-' + st + '" data-sensor="' + esc(s.id) + '"><div><b>' + esc(s.id) + "</b> " + statusTag(st) + '</div><div class="muted small">' + esc(s.name || fam(s.family)) +
              '</div><div class="tile-value">' + lastValues(s) + '</div><div class="spark-cell" data-spark="' + esc(s.id) + '" data-metric="' + esc(s.metric) + '"></div></div>';
          }).join("") + "</div>";
        }).join("") + "</section>";
    }).join("");
  }
  // sparklines fetches each sensor's last 6 hours (60 points), three at a time.
  function sparklines() {
    var cells = $$("[data-spark]"), i = 0, to = TZ.now(), from = to - 6 * 3600e3;
    function next() {
      var c = cells[i++];
      if (!c || YJ.app.view !== "sensors") { return; }
      api("GET", "/api/v1/sensors/" + encodeURIComponent(c.dataset.spark) + "/readings?" + qs({ metric: c.dataset.metric, from: iso(from), to: iso(to), points: 60 }))
        .then(function (s) { c.innerHTML = CH.spark(s.points); }, function () {}).then(next);
    }
    next(); next(); next();
  }

})(window.YJ);

// Statistics (#/stats?days=&from=&to=&by=&aby=&rollup=): warnings per
// level / family / region / industry / site, the answer rate and answer
// times with the calls answered by a colleague, pending and stopped in
// their own columns, 含下级 (rollup), false-alarm rate per site; charts,
// tables, CSV export.
(function (YJ) {
  "use strict";
  var t = YJ.t, esc = YJ.esc, $ = YJ.$, api = YJ.api, CH = YJ.charts, TZ = YJ.time, LEVELS = YJ.LEVELS, RANK = YJ.RANK;
  var lvl = YJ.lvl, fam = YJ.fam, fmtTime = YJ.fmtTime, fmtDur = YJ.fmtDur, ticket = YJ.ticket, qs = YJ.qs, iso = YJ.iso, boxWidth = YJ.boxWidth, select = YJ.select;
  YJ.strings({
    zh: {
      "nav.stats": "统计",
      "stats.title": "统计分析", "stats.period": "统计周期", "stats.from": "从", "stats.to": "到", "stats.by": "分组",
      "stats.days": "最近 {n} 天", "stats.apply": "查询", "stats.csv": "导出 CSV",
      "stats.alerts": "预警数量", "stats.answers": "叫应应答率与应答时间", "stats.false": "各站点误报率",
      "stats.by.level": "按级别", "stats.by.family": "按类别", "stats.by.region": "按区域", "stats.by.industry": "按行业", "stats.by.site": "按站点",
      "stats.by.person": "按人员", "stats.by.org": "按单位", "stats.by.day": "按日", "stats.by.week": "按周", "stats.by.month": "按月",
      "stats.total": "合计", "stats.alertsCol": "预警", "stats.open": "未关闭", "stats.closed": "已关闭", "stats.falseAlarms": "误报", "stats.falseRate": "误报率",
      "stats.calls": "呼叫", "stats.answered": "已应答", "stats.unanswered": "超时未应答", "stats.rate": "应答率",
      "stats.median": "应答时间中位数", "stats.p90": "90% 应答时间", "stats.top": "叫应到顶（无人应答）",
      "stats.none": "该周期没有数据。", "stats.unavailable": "该报表接口不可用。", "stats.unknown": "（未填写）",
      "stats.colleague": "他人已应答", "stats.pending": "等待应答", "stats.stopped": "已停止",
      "stats.stoppedResolved": "因预警解除", "stats.stoppedSuperseded": "因预警升级", "stats.stoppedClosed": "因预警关闭", "stats.stoppedOther": "因其他原因",
      "stats.rateNote": "应答率 = 已应答 ÷（已应答 + 超时未应答）。他人已应答（同一叫应已有人应答）、等待应答和已停止（应答时限前预警已解除、升级或关闭）的呼叫单独列出，不计入应答率。",
      "stats.rollup": "含下级", "stats.rollupHint": "按单位：计入下级单位的呼叫；按区域：计入所辖区域的呼叫",
      "stats.rollupNote": "已含下级：上级的行包含其下级的呼叫，合计中每次呼叫只计一次。"
    },
    en: {
      "nav.stats": "Statistics",
      "stats.title": "Statistics", "stats.period": "Period", "stats.from": "From", "stats.to": "To", "stats.by": "Group by",
      "stats.days": "last {n} days", "stats.apply": "Show", "stats.csv": "Export CSV",
      "stats.alerts": "Warnings", "stats.answers": "Answer rate and answer times", "stats.false": "False-alarm rate per site",
      "stats.by.level": "level", "stats.by.family": "family", "stats.by.region": "region", "stats.by.industry": "industry", "stats.by.site": "site",
      "stats.by.person": "person", "stats.by.org": "organisation", "stats.by.day": "day", "stats.by.week": "week", "stats.by.month": "month",
      "stats.total": "Total", "stats.alertsCol": "Warnings", "stats.open": "Open", "stats.closed": "Closed", "stats.falseAlarms": "False alarms", "stats.falseRate": "False-alarm rate",
      "stats.calls": "Calls", "stats.answered": "Answered", "stats.unanswered": "Unanswered", "stats.rate": "Answer rate",
      "stats.median": "Median answer time", "stats.p90": "90th percentile", "stats.top": "Escalations that reached the top unanswered",
      "stats.none": "No data in this period.", "stats.unavailable": "This report is not available.", "stats.unknown": "(not set)",
      "stats.colleague": "Answered by a colleague", "stats.pending": "Pending", "stats.stopped": "Stopped",
      "stats.stoppedResolved": "Stopped: cleared", "stats.stoppedSuperseded": "Stopped: upgraded", "stats.stoppedClosed": "Stopped: closed", "stats.stoppedOther": "Stopped: other",
      "stats.rateNote": "Answer rate = answered ÷ (answered + unanswered). Calls answered by a colleague (somebody else answered the escalation), pending, and stopped (the warning cleared, was upgraded or closed before the deadline) are shown apart and not counted in the rate.",
      "stats.rollup": "Include lower levels", "stats.rollupHint": "By organisation: count the calls of the organisations below; by region: of the regions within",
      "stats.rollupNote": "Lower levels included: rows overlap; the total counts each call once."
    }
  });
  YJ.page("stats", { nav: 40, render: stats });

  function stats(r) {
    var p = r.params, v = $("#view");
    var days = parseInt(p.days || "30", 10) || 30;
    // Dates are days in the server's zone: from its 00:00 to the end of "to".
    var toMs = p.to ? TZ.midnight(p.to) + 86400e3 : TZ.now(), fromMs = p.from ? TZ.midnight(p.from) : toMs - days * 86400e3;
    if (isNaN(toMs)) { toMs = TZ.now(); }
    if (isNaN(fromMs)) { fromMs = toMs - days * 86400e3; }
    var by = p.by || "level", aby = p.aby || "org", canRollup = aby === "org" || aby === "region", rollup = canRollup && p.rollup === "1" ? "1" : "";
    var period = { from: iso(fromMs), to: iso(toMs + (p.to ? 0 : 1000)) };
    v.innerHTML = '<section class="stats"><div class="toolbar"><h2>' + esc(t("stats.title")) + "</h2></div>" +
      '<form id="stats-form" class="filters">' + '<label class="field">' + esc(t("stats.period")) + select("days", ["7", "30", "90", "365"], p.from ? "" : String(days), function (d) { return t("stats.days", { n: d }); }) + "</label>" +
      '<label class="field">' + esc(t("stats.from")) + '<input type="date" name="from" value="' + esc(p.from || "") + '"></label>' +
      '<label class="field">' + esc(t("stats.to")) + '<input type="date" name="to" value="' + esc(p.to || "") + '"></label>' +
      '<label class="field">' + esc(t("stats.by")) + select("by", ["level", "family", "region", "industry", "site"], by, function (x) { return t("stats.by." + x); }) + "</label>" +
      '<button type="submit" class="primary">' + esc(t("stats.apply")) + "</button></form>" +
      '<section class="card"><div class="toolbar"><h3>' + esc(t("stats.alerts")) + " · " + esc(t("stats.by." + by)) + '</h3><a class="csv" id="alerts-csv" download href="/api/v1/reports/alerts.csv?' + esc(qs({ from: period.from, to: period.to, by: by })) + '">' + esc(t("stats.csv")) + '</a></div><div id="alerts-report"><p class="muted">' + esc(t("common.loading")) + "</p></div></section>" +
      '<section class="card"><div class="toolbar"><div class="tgroup"><h3>' + esc(t("stats.answers")) + "</h3>" + '<form id="aby-form">' + select("aby", ["org", "person", "region", "level", "day", "week", "month"], aby, function (x) { return t("stats.by." + x); }) +
      '<label class="check" title="' + esc(t("stats.rollupHint")) + '"><input type="checkbox" name="rollup" value="1"' + (rollup ? " checked" : "") + (canRollup ? "" : " disabled") + "> " + esc(t("stats.rollup")) + "</label></form></div>" +
      '<a class="csv" id="answers-csv" download href="/api/v1/reports/answers.csv?' + esc(qs({ from: period.from, to: period.to, by: aby, rollup: rollup })) + '">' + esc(t("stats.csv")) + '</a></div><div id="answers-report"><p class="muted">' + esc(t("common.loading")) + "</p></div></section>" +
      '<section class="card"><div class="toolbar"><h3>' + esc(t("stats.false")) + '</h3><a class="csv" download href="/api/v1/reports/alerts.csv?' + esc(qs({ from: period.from, to: period.to, by: "site" })) + '">' + esc(t("stats.csv")) + '</a></div><div id="false-report"></div></section></section>';
    var form = $("#stats-form");
    function go(extra) {
      var o = { days: form.days.value, from: form.from.value, to: form.to.value, by: form.by.value, aby: $("#aby-form").aby.value, rollup: $("#aby-form").rollup.checked ? "1" : "" };
      if (extra === "days") { o.from = ""; o.to = ""; }
      if (o.from || o.to) { o.days = ""; }
      location.hash = "#/stats?" + qs(o);
    }
    form.addEventListener("submit", function (ev) { ev.preventDefault(); go(); });
    form.days.addEventListener("change", function () { go("days"); });
    form.by.addEventListener("change", function () { go(); });
    $("#aby-form").addEventListener("change", function () { go(); });
    var current = ticket("stats");
    api("GET", "/api/v1/reports/alerts?" + qs({ from: period.from, to: period.to, by: by })).then(function (rep) {
      if (!current() || YJ.app.view !== "stats") { return; }
      $("#alerts-report").innerHTML = alertReportHTML(rep, by, boxWidth($("#alerts-report")));
      $("#false-report").innerHTML = falseHTML(rep.sites || [], boxWidth($("#false-report")));
    }, function (err) {
      if (err.status === 401) { return; }
      $("#alerts-report").innerHTML = '<p class="muted">' + esc(err.status === 404 ? t("stats.unavailable") : t("common.error", { msg: err.message })) + "</p>";
    });
    Promise.all([api("GET", "/api/v1/reports/answers?" + qs({ from: period.from, to: period.to, by: aby, rollup: rollup })), YJ.loadSensors().catch(function () { return []; })]).then(function (res) {
      var rep = res[0]; // the sensors: their names, for the escalations that reached the top
      if (!current() || YJ.app.view !== "stats") { return; }
      $("#answers-report").innerHTML = answersHTML(rep || {}, boxWidth($("#answers-report")));
    }, function (err) {
      if (err.status === 401) { return; }
      $("#answers-report").innerHTML = '<p class="muted">' + esc(err.status === 404 ? t("stats.unavailable") : t("common.error", { msg: err.message })) + "</p>";
    });
  }
  function groupLabel(by, r) {
    if (by === "level") { return t("level." + r.key); }
    if (by === "family") { return r.key ? fam(r.key) : t("stats.unknown"); }
    if (!r.key) { return t("stats.unknown"); }
    return r.name ? r.name + (by === "site" ? " (" + r.key + ")" : "") : r.key;
  }
  function pct(x) { return x == null ? t("common.none") : (x * 100).toFixed(1).replace(/\.0$/, "") + "%"; }
  function alertReportHTML(rep, by, width) {
    var rows = rep.rows || [];
    if (!rows.length) { return '<p class="empty">' + esc(t("stats.none")) + "</p>"; }
    var chart = CH.bars({ label: t("stats.alerts"), width: width, rows: rows.map(function (r) {
      return { label: groupLabel(by, r), segments: LEVELS.map(function (l) { return { value: r.levels[l], cls: "lvl-fill-" + l, title: t("level." + l) + " " + r.levels[l] }; }) };
    }) });
    var legend = '<p class="legend">' + LEVELS.map(function (l) { return lvl(l); }).join(" ") + "</p>";
    var head = [t("stats.by." + by)].concat(LEVELS.map(function (l) { return t("level." + l); }), [t("stats.alertsCol"), t("stats.open"), t("stats.closed"), t("stats.falseAlarms"), t("stats.falseRate")]);
    function tr(r, label) {
      return "<tr><td>" + esc(label) + "</td>" + LEVELS.map(function (l) { return '<td class="num">' + r.levels[l] + "</td>"; }).join("") +
        '<td class="num"><b>' + r.alerts + '</b></td><td class="num">' + r.open + '</td><td class="num">' + r.closed + '</td><td class="num">' + r.false_alarms + '</td><td class="num">' + pct(r.false_alarm_rate) + "</td></tr>";
    }
    return legend + chart + '<div class="scroll"><table class="report"><thead><tr><th>' + head.map(esc).join("</th><th>") + "</th></tr></thead><tbody>" +
      rows.map(function (r) { return tr(r, groupLabel(by, r)); }).join("") + "</tbody><tfoot>" + tr(rep.total, t("stats.total")) + "</tfoot></table></div>";
  }
  function falseHTML(sites, width) {
    var closed = sites.filter(function (s) { return s.closed > 0; });
    if (!closed.length) { return '<p class="empty">' + esc(t("stats.none")) + "</p>"; }
    return CH.bars({ label: t("stats.false"), width: width, max: 1, rows: closed.map(function (s) {
      return { label: s.name || s.key, text: pct(s.false_alarm_rate) + " (" + s.false_alarms + "/" + s.closed + ")", segments: [{ value: s.false_alarm_rate || 0, cls: "bar-false" }] };
    }) }) + '<div class="scroll"><table class="report"><thead><tr><th>' + [t("col.site"), t("stats.closed"), t("stats.falseAlarms"), t("stats.falseRate")].map(esc).join("</th><th>") + "</th></tr></thead><tbody>" +
      closed.map(function (s) { return "<tr><td>" + esc(s.name ? s.name + " (" + s.key + ")" : s.key) + '</td><td class="num">' + s.closed + '</td><td class="num">' + s.false_alarms + '</td><td class="num">' + pct(s.false_alarm_rate) + "</td></tr>"; }).join("") + "</tbody></table></div>";
  }
  function secs(x) { return x == null ? t("common.none") : fmtDur(x * 1000); }
  // answersHTML is the answer report: the rate per group, each call by
  // outcome (stopped ones split by why; "other" only when there are any),
  // and the rate's formula.
  function answersHTML(rep, width) {
    var rows = rep.rows || [];
    if (!rows.length) { return '<p class="empty">' + esc(t("stats.none")) + "</p>"; }
    var label = function (r) { return r.key && r.key in RANK ? t("level." + r.key) : (r.name || r.key || t("stats.unknown")); };
    var chart = CH.bars({ label: t("stats.answers"), width: width, max: 1, rows: rows.map(function (r) {
      return { label: label(r), text: pct(r.answer_rate) + " · " + secs(r.median_seconds), segments: [{ value: r.answer_rate || 0, cls: "bar-answer" }] };
    }) });
    var cols = [["calls", "stats.calls"], ["answered", "stats.answered"], ["answered_by_colleague", "stats.colleague"], ["unanswered", "stats.unanswered"],
      ["pending", "stats.pending"], ["stopped", "stats.stopped"], ["stopped_resolved", "stats.stoppedResolved"], ["stopped_superseded", "stats.stoppedSuperseded"],
      ["stopped_closed", "stats.stoppedClosed"]];
    if (rep.total && rep.total.stopped_other) { cols.push(["stopped_other", "stats.stoppedOther"]); }
    function tr(r, l) {
      return "<tr><td>" + esc(l) + "</td>" + cols.map(function (c) { return '<td class="num col-' + c[0] + '">' + (r[c[0]] || 0) + "</td>"; }).join("") +
        '<td class="num"><b>' + pct(r.answer_rate) + '</b></td><td class="num">' + esc(secs(r.median_seconds)) + '</td><td class="num">' + esc(secs(r.p90_seconds)) + "</td></tr>";
    }
    var head = [""].concat(cols.map(function (c) { return t(c[1]); }), [t("stats.rate"), t("stats.median"), t("stats.p90")]);
    var top = rep.top_reached || [];
    return chart + '<div class="scroll"><table class="report answers"><thead><tr><th>' + head.map(esc).join("</th><th>") +
      "</th></tr></thead><tbody>" + rows.map(function (r) { return tr(r, label(r)); }).join("") + "</tbody>" + (rep.total ? "<tfoot>" + tr(rep.total, t("stats.total")) + "</tfoot>" : "") + "</table></div>" +
      '<p class="muted small rate-note">' + esc(t("stats.rateNote")) + (rep.rollup ? " " + esc(t("stats.rollupNote")) : "") + "</p>" +
      (top.length ? "<h4>" + esc(t("stats.top")) + '</h4><ul class="top">' + top.map(function (x) {
        return '<li><a href="#/alert/' + esc(x.alert_id) + '">#' + esc(x.alert_id) + "</a> " + lvl(x.level) + " " + esc(YJ.siteName(x.site)) + " · " + esc(YJ.sensorName(x.sensor)) + " · " + esc(x.policy || "") + " · " + esc(fmtTime(x.top_reached_at, true)) + "</li>";
      }).join("") + "</ul>" : "");
  }
})(window.YJ);

// Rules (#/rules, #/rules/{name}): every rule with its tiers, the sensors
// it binds, its evaluations and health; a rule's page adds its numbers,
// each bound sensor's level and last evaluation, its recent warnings and
// (admin) the preview: what other numbers would have raised over the last
// 7 days from the stored readings, beside what the rule as it is raises
// from them and what was actually raised (POST /api/v1/rules/{name}/preview).
(function (YJ) {
  "use strict";
  var t = YJ.t, esc = YJ.esc, $ = YJ.$, api = YJ.api;
  var fmtTime = YJ.fmtTime, named = YJ.named, label = YJ.label, failed = YJ.failed, ticket = YJ.ticket, qs = YJ.qs, lvl = YJ.lvl, num = YJ.num;
  var LEVELS = YJ.LEVELS, PREVIEWABLE = { threshold: true, rate: true, tangent: true }, SHOWN = 12;
  YJ.strings({
    zh: {
      "nav.rules": "规则",
      "rules.title": "预警规则", "rules.empty": "没有配置规则。", "rules.unknown": "没有这条规则：{name}", "rules.back": "← 全部规则",
      "rules.rule": "规则", "rules.kind": "类型", "rules.tiers": "阈值", "rules.sensors": "监测点", "rules.evals": "评估次数",
      "rules.lastEval": "最近评估", "rules.open": "未关闭预警", "rules.health": "运行状态", "rules.ok": "正常", "rules.err": "出错",
      "rules.kind.threshold": "阈值", "rules.kind.rate": "变化率", "rules.kind.offline": "离线", "rules.kind.stuck": "数值停滞", "rules.kind.fault": "设备故障",
      "rules.kind.composite": "组合条件", "rules.kind.event": "设备事件", "rules.kind.tangent": "切线角", "rules.kind.scheduled": "定时统计",
      "rules.metric": "监测指标", "rules.scope": "适用范围", "rules.scope.all": "全部监测点", "rules.scope.sensors": "指定监测点：{list}",
      "rules.match.family": "类别", "rules.match.site": "站点", "rules.match.region": "区域", "rules.match.industry": "行业",
      "rules.hysteresis": "回差", "rules.for": "持续多久才触发", "rules.clearFor": "恢复需持续", "rules.whenStatus": "仅在生产状态为", "rules.schedule": "执行周期",
      "rules.nextRun": "下次执行", "rules.lastError": "最近错误", "rules.level": "级别", "rules.above": "高于（≥）", "rules.below": "低于（≤）", "rules.clear": "恢复值",
      "rules.bound": "适用的监测点", "rules.bound.empty": "当前没有监测点适用这条规则。", "rules.site": "站点", "rules.now": "当前级别", "rules.normal": "正常",
      "rules.own": "专属阈值", "rules.never": "尚未评估",
      "rules.recent": "最近预警", "rules.recent.empty": "这条规则没有产生过预警。",
      "rules.preview": "阈值预演：近 7 天", "rules.preview.hint": "按下列阈值重放近 7 天存储的读数，看会产生哪些预警；与现行阈值和实际发生的预警对照。预演不会修改规则：确定后请在配置文件中修改并重新加载。",
      "rules.preview.run": "预演近 7 天", "rules.preview.running": "正在重放读数…", "rules.preview.forHint": "如 30s、5m，留空为立即",
      "rules.preview.current": "按现行规则", "rules.preview.proposed": "按拟调整阈值", "rules.preview.actual": "实际发生",
      "rules.preview.warnings": "{n} 次预警", "rules.preview.upgrades": "升级 {n} 次", "rules.preview.window": "{from} 至 {to}（{zone}）",
      "rules.preview.readings": "读数", "rules.preview.downsampled": "读数较多，已按时段抽样（保留每段的最高值和最低值，短时尖峰不会丢失），“持续多久”的判断为近似结果。",
      "rules.preview.skipped": "只预演前 {n} 个监测点，未预演：{list}", "rules.preview.none": "无", "rules.preview.more": "…另 {n} 条",
      "rules.preview.replayed": "重放 {n} 条", "rules.preview.notApplicable": "这类规则不支持阈值预演。"
    },
    en: {
      "nav.rules": "Rules",
      "rules.title": "Warning rules", "rules.empty": "No rules configured.", "rules.unknown": "No such rule: {name}", "rules.back": "← All rules",
      "rules.rule": "Rule", "rules.kind": "Kind", "rules.tiers": "Tiers", "rules.sensors": "Sensors", "rules.evals": "Evaluations",
      "rules.lastEval": "Last evaluated", "rules.open": "Open warnings", "rules.health": "Health", "rules.ok": "ok", "rules.err": "error",
      "rules.kind.threshold": "threshold", "rules.kind.rate": "rate of change", "rules.kind.offline": "offline", "rules.kind.stuck": "stuck value", "rules.kind.fault": "device fault",
      "rules.kind.composite": "composite", "rules.kind.event": "device event", "rules.kind.tangent": "tangent angle", "rules.kind.scheduled": "scheduled",
      "rules.metric": "Metric", "rules.scope": "Applies to", "rules.scope.all": "every sensor", "rules.scope.sensors": "sensors {list}",
      "rules.match.family": "family", "rules.match.site": "site", "rules.match.region": "region", "rules.match.industry": "industry",
      "rules.hysteresis": "Hysteresis", "rules.for": "Must hold for", "rules.clearFor": "Clear must hold for", "rules.whenStatus": "Only while the site is", "rules.schedule": "Schedule",
      "rules.nextRun": "Next run", "rules.lastError": "Last error", "rules.level": "Level", "rules.above": "Above (≥)", "rules.below": "Below (≤)", "rules.clear": "Clears at",
      "rules.bound": "Sensors it applies to", "rules.bound.empty": "No sensor is bound to this rule now.", "rules.site": "Site", "rules.now": "Level now", "rules.normal": "normal",
      "rules.own": "Own tiers", "rules.never": "not yet",
      "rules.recent": "Recent warnings", "rules.recent.empty": "This rule has raised no warnings.",
      "rules.preview": "Threshold preview: last 7 days", "rules.preview.hint": "Replays the last 7 days of stored readings with these numbers and shows the warnings they would have raised, beside the rule as it is and what was actually raised. It changes nothing: change the configuration and reload once you are sure.",
      "rules.preview.run": "Preview the last 7 days", "rules.preview.running": "Replaying the readings…", "rules.preview.forHint": "e.g. 30s, 5m; empty: at once",
      "rules.preview.current": "Rule as it is", "rules.preview.proposed": "Proposed numbers", "rules.preview.actual": "Actually raised",
      "rules.preview.warnings": "{n} warnings", "rules.preview.upgrades": "{n} upgrades", "rules.preview.window": "{from} to {to} ({zone})",
      "rules.preview.readings": "Readings", "rules.preview.downsampled": "Many readings: downsampled by stretch (each keeps its highest and lowest, so short spikes are kept); holds (“must hold for”) are approximate.",
      "rules.preview.skipped": "Only the first {n} sensors are previewed; not: {list}", "rules.preview.none": "none", "rules.preview.more": "… {n} more",
      "rules.preview.replayed": "{n} replayed", "rules.preview.notApplicable": "Rules of this kind have no threshold preview."
    }
  });
  YJ.page("rules", { nav: 50, render: rules });

  function kind(k) { return label("rules.kind.", k || "threshold"); }
  // tiers writes a rule's tiers, highest level first: 红色 Ⅰ级 ≥ 50.
  function tiers(above, below) {
    var out = [];
    LEVELS.forEach(function (l) {
      if (above && above[l] != null) { out.push('<span class="tier">' + lvl(l) + " ≥ " + num(above[l]) + "</span>"); }
      if (below && below[l] != null) { out.push('<span class="tier">' + lvl(l) + " ≤ " + num(below[l]) + "</span>"); }
    });
    return out.join(" ") || '<span class="muted">' + esc(t("common.none")) + "</span>";
  }
  function cell(key, html) { return '<td data-label="' + esc(t(key)) + '">' + html + "</td>"; }
  function head(keys) { return "<thead><tr><th>" + keys.map(function (k) { return esc(t(k)); }).join("</th><th>") + "</th></tr></thead>"; }
  function health(r) {
    return r.health === "err" ? '<span class="error" title="' + esc(r.last_error || "") + '">' + esc(t("rules.err")) + "</span>" : esc(t("rules.ok"));
  }

  function rules(r) {
    if (r.id) { one(r.id); return; }
    var v = $("#view"), current = ticket("view");
    v.innerHTML = '<section class="rules"><h2>' + esc(t("rules.title")) + '</h2><div id="rules-list"><p class="muted">' + esc(t("common.loading")) + "</p></div></section>";
    api("GET", "/api/v1/rules").then(function (list) {
      var box = $("#rules-list");
      if (YJ.app.view !== "rules" || !current() || !box) { return; }
      list = list || [];
      if (!list.length) { box.innerHTML = '<p class="empty">' + esc(t("rules.empty")) + "</p>"; return; }
      box.innerHTML = '<table id="rules-table" class="data-table">' + head(["rules.rule", "rules.kind", "rules.tiers", "rules.sensors", "rules.evals", "rules.lastEval", "rules.open", "rules.health"]) +
        "<tbody>" + list.map(function (x) {
          return '<tr data-rule="' + esc(x.name) + '">' + cell("rules.rule", '<a href="#/rules/' + encodeURIComponent(x.name) + '">' + named(x.description || x.name, x.name) + "</a>") +
            cell("rules.kind", esc(kind(x.kind))) + cell("rules.tiers", x.kind === "scheduled" ? esc(x.schedule || "") : tiers(x.above, x.below)) +
            cell("rules.sensors", String(x.sensors)) + cell("rules.evals", String(x.evaluations)) +
            cell("rules.lastEval", x.last_evaluation ? esc(fmtTime(x.last_evaluation)) : '<span class="muted">' + esc(t("rules.never")) + "</span>") +
            cell("rules.open", x.open_alerts ? '<a href="#/board">' + x.open_alerts + "</a>" : "0") + cell("rules.health", health(x)) + "</tr>";
        }).join("") + "</tbody></table>";
    }, function (err) { if (err.status !== 401 && $("#rules-list")) { $("#rules-list").innerHTML = failed(err); } });
  }

  function fact(key, html) { return "<div><dt>" + esc(t(key)) + "</dt><dd>" + html + "</dd></div>"; }
  // one draws a rule's page.
  function one(name) {
    var v = $("#view"), current = ticket("view");
    v.innerHTML = '<section class="rule" data-rule="' + esc(name) + '"><p><a href="#/rules">' + esc(t("rules.back")) + '</a></p><div id="rule-body"><p class="muted">' + esc(t("common.loading")) + "</p></div></section>";
    Promise.all([api("GET", "/api/v1/rules/" + encodeURIComponent(name)), YJ.loadSensors().catch(function () { return []; })]).then(function (res) {
      var d = res[0], box = $("#rule-body");
      if (YJ.app.view !== "rules" || !current() || !box) { return; }
      var sensors = {};
      res[1].forEach(function (s) { sensors[s.id] = s; });
      var fam = ((d.bound || [])[0] && sensors[d.bound[0].sensor] || {}).family;
      var scope = d.sensor_ids && d.sensor_ids.length ? t("rules.scope.sensors", { list: d.sensor_ids.map(YJ.sensorName).join("、") }) :
        Object.keys(d.match || {}).map(function (k) {
          var val = d.match[k];
          if (k === "family") { val = YJ.fam(val); } else if (k === "site") { val = YJ.siteName(val); }
          return label("rules.match.", k) + "：" + val;
        }).join("；") || t("rules.scope.all");
      box.innerHTML = '<div class="detail-head"><h2>' + named(d.description || d.name, d.name) + ' <span class="flag">' + esc(kind(d.kind)) + '</span></h2><dl class="facts">' +
        (d.metric || fam ? fact("rules.metric", esc(YJ.metricName(fam, d.metric || "") || d.metric || t("common.none"))) : "") + fact("rules.scope", esc(scope)) +
        (d.hysteresis ? fact("rules.hysteresis", num(d.hysteresis)) : "") + (d.for ? fact("rules.for", esc(d.for)) : "") + (d.clear_for ? fact("rules.clearFor", esc(d.clear_for)) : "") +
        (d.level && d.level !== "none" ? fact("rules.level", lvl(d.level)) : "") +
        (d.when_status ? fact("rules.whenStatus", esc(d.when_status.map(function (s) { return label("pstatus.", s); }).join("、"))) : "") +
        (d.schedule ? fact("rules.schedule", esc(d.schedule)) + (d.next_run ? fact("rules.nextRun", esc(fmtTime(d.next_run, true))) : "") : "") +
        fact("rules.evals", String(d.evaluations)) + fact("rules.lastEval", d.last_evaluation ? esc(fmtTime(d.last_evaluation, true)) : esc(t("rules.never"))) +
        fact("rules.health", health(d)) + (d.last_error ? fact("rules.lastError", esc(d.last_error) + (d.last_error_at ? ' <span class="muted">' + esc(fmtTime(d.last_error_at, true)) + "</span>" : "")) : "") +
        "</dl></div>" +
        '<div class="cols wide"><div>' + tierTable(d) + boundTable(d, sensors) + '<div class="card" id="rule-recent"><h3>' + esc(t("rules.recent")) + '</h3><p class="muted">' + esc(t("common.loading")) + "</p></div></div>" +
        "<div>" + (!YJ.can("admin") ? "" : PREVIEWABLE[d.kind || "threshold"] ? previewForm(d) : '<p class="muted">' + esc(t("rules.preview.notApplicable")) + "</p>") + "</div></div>" +
        '<div id="preview-result"></div>';
      recent(name);
      if ($("#preview-form")) { wirePreview(d, sensors); }
    }, function (err) {
      if (err.status !== 401 && $("#rule-body")) { $("#rule-body").innerHTML = err.status === 404 ? '<p class="empty">' + esc(t("rules.unknown", { name: name })) + "</p>" : failed(err); }
    });
  }
  function tierTable(d) {
    if (!d.above && !d.below) { return ""; }
    var hasBelow = !!d.below, hasClear = !!d.clear;
    return '<div class="card"><h3>' + esc(t("rules.tiers")) + '</h3><table id="rule-tiers" class="data-table tiers">' +
      head(["rules.level", "rules.above"].concat(hasBelow ? ["rules.below"] : [], hasClear ? ["rules.clear"] : [])) + "<tbody>" +
      LEVELS.filter(function (l) { return (d.above && d.above[l] != null) || (d.below && d.below[l] != null); }).map(function (l) {
        var v = function (m) { return m && m[l] != null ? num(m[l]) : '<span class="muted">' + esc(t("common.none")) + "</span>"; };
        return '<tr data-level="' + l + '">' + cell("rules.level", lvl(l)) + cell("rules.above", v(d.above)) + (hasBelow ? cell("rules.below", v(d.below)) : "") +
          (hasClear ? cell("rules.clear", v(d.clear)) : "") + "</tr>";
      }).join("") + "</tbody></table></div>";
  }
  function boundTable(d, sensors) {
    var b = d.bound || [];
    return '<div class="card"><h3>' + esc(t("rules.bound")) + "</h3>" + (b.length ? '<table id="rule-bound" class="data-table">' +
      head(["rules.sensors", "rules.site", "rules.now", "rules.evals", "rules.lastEval", "rules.own"]) + "<tbody>" + b.map(function (x) {
        var s = sensors[x.sensor] || {};
        return '<tr data-sensor="' + esc(x.sensor) + '">' + cell("rules.sensors", named(YJ.sensorName(x.sensor), x.sensor)) +
          cell("rules.site", s.site ? '<a href="#/sites/' + encodeURIComponent(s.site) + '">' + esc(YJ.siteName(s.site)) + "</a>" : "") +
          cell("rules.now", x.level && x.level !== "none" ? lvl(x.level) : esc(t("rules.normal"))) + cell("rules.evals", String(x.evaluations)) +
          cell("rules.lastEval", x.last_evaluation ? esc(fmtTime(x.last_evaluation, true)) : '<span class="muted">' + esc(t("rules.never")) + "</span>") +
          cell("rules.own", x.above || x.below ? tiers(x.above, x.below) : "") + "</tr>";
      }).join("") + "</tbody></table>" : '<p class="muted">' + esc(t("rules.bound.empty")) + "</p>") + "</div>";
  }
  function recent(name) {
    var current = ticket("rule-recent");
    api("GET", "/api/v1/alerts?" + qs({ rule: name, limit: 20 })).then(function (as) {
      var box = $("#rule-recent");
      if (!box || !current()) { return; }
      as = as || [];
      box.innerHTML = "<h3>" + esc(t("rules.recent")) + "</h3>" + (as.length ? '<table id="rule-alerts" class="alerts">' +
        head(["col.level", "col.state", "col.site", "col.sensor", "col.value", "col.started"]) + "<tbody>" + as.map(function (a) {
          return '<tr data-id="' + a.id + '" class="row-' + esc(a.level) + '" tabindex="0">' + cell("col.level", lvl(a.level)) + cell("col.state", YJ.stateTag(a.state)) +
            cell("col.site", esc(YJ.siteName(a.site))) + cell("col.sensor", named(YJ.sensorName(a.sensor), a.sensor)) +
            '<td data-label="' + esc(t("col.value")) + '" class="num">' + num(a.value) + " " + esc(a.unit || "") + "</td>" + cell("col.started", esc(fmtTime(a.started_at, true))) + "</tr>";
        }).join("") + "</tbody></table>" : '<p class="muted">' + esc(t("rules.recent.empty")) + "</p>");
    }, function (err) { if ($("#rule-recent") && err.status !== 401) { $("#rule-recent").innerHTML = failed(err); } });
  }

  // --- the preview (admin) -----------------------------------------------------
  function previewForm(d) {
    var input = function (name, m, l) { return '<input type="number" step="any" name="' + name + "-" + l + '" value="' + esc(m && m[l] != null ? m[l] : "") + '" aria-label="' + esc(t("rules." + name) + " " + t("level." + l)) + '">'; };
    return '<form id="preview-form" class="card stack"><h3>' + esc(t("rules.preview")) + '</h3><p class="muted small">' + esc(t("rules.preview.hint")) + "</p>" +
      '<table class="tiers-input"><thead><tr><th>' + esc(t("rules.level")) + "</th><th>" + esc(t("rules.above")) + "</th><th>" + esc(t("rules.below")) + "</th></tr></thead><tbody>" +
      LEVELS.map(function (l) { return "<tr><td>" + lvl(l) + "</td><td>" + input("above", d.above, l) + "</td><td>" + input("below", d.below, l) + "</td></tr>"; }).join("") + "</tbody></table>" +
      '<div class="tgroup"><label class="field">' + esc(t("rules.hysteresis")) + '<input type="number" step="any" min="0" name="hysteresis" value="' + esc(d.hysteresis || 0) + '"></label>' +
      '<label class="field">' + esc(t("rules.for")) + '<input name="for" value="' + esc(d.for || "") + '" placeholder="' + esc(t("rules.preview.forHint")) + '"></label>' +
      '<label class="field">' + esc(t("rules.clearFor")) + '<input name="clear_for" value="' + esc(d.clear_for || "") + '" placeholder="' + esc(t("rules.preview.forHint")) + '"></label></div>' +
      '<button type="submit" class="primary" id="preview-run">' + esc(t("rules.preview.run")) + '</button><p id="preview-msg" class="act-msg" role="status"></p></form>';
  }
  function wirePreview(d, sensors) {
    var f = $("#preview-form");
    f.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var body = { above: {}, below: {}, hysteresis: parseFloat(f.hysteresis.value) || 0, for: f.for.value.trim(), clear_for: f.clear_for.value.trim() };
      LEVELS.forEach(function (l) {
        ["above", "below"].forEach(function (k) { var x = f[k + "-" + l].value; if (x !== "") { body[k][l] = parseFloat(x); } });
      });
      var msg = $("#preview-msg"), current = ticket("preview");
      msg.className = "act-msg"; msg.textContent = t("rules.preview.running");
      $("#preview-run").disabled = true;
      api("POST", "/api/v1/rules/" + encodeURIComponent(d.name) + "/preview", body).then(function (res) {
        if (!current() || !$("#preview-result")) { return; }
        $("#preview-run").disabled = false;
        msg.textContent = "";
        $("#preview-result").innerHTML = result(res, sensors);
      }, function (err) {
        $("#preview-run").disabled = false;
        msg.className = "act-msg error";
        msg.textContent = t("common.error", { msg: err.message });
      });
    });
  }
  function counts(c, key, cls) {
    var peak = c.peak || {};
    return '<div class="pv-count ' + cls + '"><h4>' + esc(t(key)) + '</h4><p class="pv-n">' + esc(t("rules.preview.warnings", { n: c.warnings })) + "</p><p>" +
      LEVELS.filter(function (l) { return peak[l]; }).map(function (l) { return lvl(l) + " × " + peak[l]; }).join(" ") +
      (c.upgrades ? ' <span class="muted">' + esc(t("rules.preview.upgrades", { n: c.upgrades })) + "</span>" : "") + "</p></div>";
  }
  function events(evs, unit) {
    if (!evs.length) { return '<span class="muted">' + esc(t("rules.preview.none")) + "</span>"; }
    var shown = evs.slice(0, SHOWN);
    return '<ul class="pv-events">' + shown.map(function (e) {
      return '<li data-event="' + esc(e.event) + '" data-level="' + esc(e.level) + '"><span class="when">' + esc(fmtTime(e.at, true)) + "</span> " + esc(t("event." + e.event)) +
        (e.event !== "resolved" ? " " + lvl(e.level) : "") + ' <span class="num">' + num(e.value) + " " + esc(unit || "") + "</span>" +
        (e.alert ? ' <a href="#/alert/' + e.alert + '">#' + e.alert + "</a>" : "") + "</li>";
    }).join("") + (evs.length > SHOWN ? '<li class="muted">' + esc(t("rules.preview.more", { n: evs.length - SHOWN })) + "</li>" : "") + "</ul>";
  }
  function result(res, sensors) {
    return '<div class="card" id="preview-out"><h3>' + esc(t("rules.preview")) + ' <span class="muted small">' +
      esc(t("rules.preview.window", { from: fmtTime(res.from, true), to: fmtTime(res.to, true), zone: YJ.time.zone() })) + "</span></h3>" +
      '<div class="pv-counts">' + counts(res.current, "rules.preview.current", "pv-current") + counts(res.proposed, "rules.preview.proposed", "pv-proposed") +
      counts(res.actual, "rules.preview.actual", "pv-actual") + "</div>" +
      (res.downsampled ? '<p class="muted small" id="pv-downsampled">' + esc(t("rules.preview.downsampled")) + "</p>" : "") +
      ((res.skipped || []).length ? '<p class="muted small">' + esc(t("rules.preview.skipped", { n: res.sensors.length, list: res.skipped.map(YJ.sensorName).join("、") })) + "</p>" : "") +
      '<div class="scroll"><table id="preview-table" class="data-table">' + head(["rules.sensors", "rules.preview.readings", "rules.preview.current", "rules.preview.proposed", "rules.preview.actual"]) +
      "<tbody>" + (res.sensors || []).map(function (s) {
        return '<tr data-sensor="' + esc(s.sensor) + '">' + cell("rules.sensors", named(YJ.sensorName(s.sensor), s.sensor) + (sensors[s.sensor] ? '<br><span class="muted small">' + esc(YJ.siteName(sensors[s.sensor].site)) + "</span>" : "")) +
          cell("rules.preview.readings", '<span class="num">' + s.readings + "</span>" + (s.replayed < s.readings ? '<br><span class="muted small">' + esc(t("rules.preview.replayed", { n: s.replayed })) + "</span>" : "")) +
          '<td class="pv-current" data-label="' + esc(t("rules.preview.current")) + '">' + events(s.current, s.unit) + "</td>" +
          '<td class="pv-proposed" data-label="' + esc(t("rules.preview.proposed")) + '">' + events(s.proposed, s.unit) + "</td>" +
          '<td class="pv-actual" data-label="' + esc(t("rules.preview.actual")) + '">' + events(s.actual, s.unit) + "</td></tr>";
      }).join("") + "</tbody></table></div></div>";
  }

})(window.YJ);

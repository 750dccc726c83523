// Silences (#/silences, #/silences/new?sensor=&site=&rule=&family=&level=&hours=&alert=):
// what keeps calls back for maintenance or calibration — by site, sensor,
// family, rule and levels, for a span of time or in a daily (weekly)
// maintenance window — with who made each and why, and who ended it.
// Everybody sees the list; an admin creates (also from a warning's page:
// "silence this sensor for 2 h") and ends them. A silence never hides a
// warning: it is still recorded and shown, marked 已静默.
(function (YJ) {
  "use strict";
  var t = YJ.t, esc = YJ.esc, $ = YJ.$, $$ = YJ.$$, api = YJ.api, TZ = YJ.time;
  var fmtTime = YJ.fmtTime, named = YJ.named, siteName = YJ.siteName, sensorName = YJ.sensorName, ruleName = YJ.ruleName;
  YJ.strings({
    zh: {
      "nav.silences": "静默",
      "silences.title": "静默规则", "silences.new": "新建静默", "silences.showEnded": "显示已结束的", "silences.empty": "没有静默规则。",
      "silences.emptyCurrent": "当前没有生效或待生效的静默。",
      "silences.col.status": "状态", "silences.col.match": "静默对象", "silences.col.when": "起止时间", "silences.col.window": "检修窗口",
      "silences.col.by": "创建", "silences.col.why": "原因", "silences.col.ended": "解除",
      "silences.st.active": "生效中", "silences.st.waiting": "窗口外", "silences.st.pending": "未开始", "silences.st.over": "已到期", "silences.st.ended": "已解除",
      "silences.daily": "每天 {from}–{to}", "silences.weekly": "每{days} {from}–{to}", "silences.always": "持续生效",
      "silences.wd.0": "周日", "silences.wd.1": "周一", "silences.wd.2": "周二", "silences.wd.3": "周三", "silences.wd.4": "周四", "silences.wd.5": "周五", "silences.wd.6": "周六",
      "silences.expire": "解除", "silences.expire.confirm": "确认解除？", "silences.expired": "已解除静默 #{id}。",
      "silences.any": "不限", "silences.site": "站点", "silences.sensor": "监测点", "silences.family": "类别", "silences.rule": "规则", "silences.levels": "级别（不选为全部级别）",
      "silences.starts": "开始", "silences.ends": "结束", "silences.plus": "结束于开始后：",
      "silences.h1": "1 小时", "silences.h2": "2 小时", "silences.h8": "8 小时", "silences.d1": "1 天", "silences.d7": "7 天", "silences.d30": "30 天",
      "silences.window": "只在每天的检修窗口内生效（周期性）", "silences.wfrom": "窗口开始", "silences.wto": "窗口结束",
      "silences.wdays": "星期（不选为每天）",
      "silences.comment": "原因（必填：检修、标定……）", "silences.by": "操作人", "silences.create": "创建静默", "silences.cancel": "取消",
      "silences.fromAlert": "来自预警 #{id}", "silences.created": "已创建静默 #{id}。",
      "silences.needMatch": "请至少选择一个静默对象（站点、监测点、类别、规则或级别）。", "silences.badTime": "结束时间须晚于开始时间。",
      "silences.hint": "静默期间匹配的预警照常记录和显示，只是不再叫应、不发通知。时间按 {zone} 计。",
      "silences.viewer": "只有管理员可以新建或解除静默。"
    },
    en: {
      "nav.silences": "Silences",
      "silences.title": "Silences", "silences.new": "New silence", "silences.showEnded": "Show ended ones", "silences.empty": "No silences.",
      "silences.emptyCurrent": "No silence in force or to come.",
      "silences.col.status": "Status", "silences.col.match": "Silences", "silences.col.when": "From – to", "silences.col.window": "Maintenance window",
      "silences.col.by": "Created", "silences.col.why": "Why", "silences.col.ended": "Ended",
      "silences.st.active": "in force", "silences.st.waiting": "outside its window", "silences.st.pending": "not started", "silences.st.over": "over", "silences.st.ended": "ended",
      "silences.daily": "daily {from}–{to}", "silences.weekly": "{days} {from}–{to}", "silences.always": "throughout",
      "silences.wd.0": "Sun", "silences.wd.1": "Mon", "silences.wd.2": "Tue", "silences.wd.3": "Wed", "silences.wd.4": "Thu", "silences.wd.5": "Fri", "silences.wd.6": "Sat",
      "silences.expire": "End", "silences.expire.confirm": "End it?", "silences.expired": "Silence #{id} ended.",
      "silences.any": "any", "silences.site": "Site", "silences.sensor": "Sensor", "silences.family": "Family", "silences.rule": "Rule", "silences.levels": "Levels (none: every level)",
      "silences.starts": "Starts", "silences.ends": "Ends", "silences.plus": "Ends after the start:",
      "silences.h1": "1 h", "silences.h2": "2 h", "silences.h8": "8 h", "silences.d1": "1 day", "silences.d7": "7 days", "silences.d30": "30 days",
      "silences.window": "Only within a daily maintenance window (recurring)", "silences.wfrom": "Window from", "silences.wto": "Window to",
      "silences.wdays": "Weekdays (none: every day)",
      "silences.comment": "Why (required: maintenance, calibration, …)", "silences.by": "Your name", "silences.create": "Create silence", "silences.cancel": "Cancel",
      "silences.fromAlert": "from warning #{id}", "silences.created": "Silence #{id} created.",
      "silences.needMatch": "Choose at least one thing to silence (site, sensor, family, rule or level).", "silences.badTime": "The end must be after the start.",
      "silences.hint": "Matching warnings are still recorded and shown while silenced; nobody is called or notified. Times are in {zone}.",
      "silences.viewer": "Only an admin creates or ends silences."
    }
  });
  YJ.page("silences", { nav: 45, render: silences });

  var flash = "";
  var SPANS = [["h1", 3600e3], ["h2", 7200e3], ["h8", 8 * 3600e3], ["d1", 86400e3], ["d7", 7 * 86400e3], ["d30", 30 * 86400e3]];

  function silences(r) {
    var admin = YJ.can("admin"), creating = admin && r.id === "new", all = r.params.all === "1", v = $("#view");
    v.innerHTML = '<section class="silences"><div class="toolbar"><h2>' + esc(t("silences.title")) + '</h2><div class="tgroup">' +
      '<label class="check"><input type="checkbox" id="sl-all"' + (all ? " checked" : "") + "> " + esc(t("silences.showEnded")) + "</label>" +
      (admin && !creating ? '<a class="button primary" id="sl-new" href="#/silences/new">' + esc(t("silences.new")) + "</a>" : "") + "</div></div>" +
      '<p class="muted small">' + esc(t("silences.hint", { zone: TZ.zone() })) + (admin ? "" : " " + esc(t("silences.viewer"))) + "</p>" +
      '<p id="sl-flash" class="act-msg ok" role="status">' + esc(flash) + "</p>" +
      (creating ? '<div id="sl-form-box"></div>' : "") +
      '<div id="sl-list"><p class="muted">' + esc(t("common.loading")) + "</p></div></section>";
    flash = "";
    $("#sl-all").onchange = function () { location.hash = "#/silences" + (creating ? "/new" : "") + (this.checked ? "?all=1" : ""); };
    var current = YJ.ticket("view");
    Promise.all([YJ.loadSensors().catch(function () { return []; }), YJ.loadRules()]).then(function (res) {
      if (YJ.app.view !== "silences" || !current()) { return; }
      if (creating) { form(r.params, res[0], res[1]); }
      list(all);
    });
  }

  // list draws the silences, newest first: those in force or to come, or
  // all of them.
  function list(all) {
    var current = YJ.ticket("silences");
    api("GET", "/api/v1/silences").then(function (ss) {
      var box = $("#sl-list");
      if (!box || !current()) { return; }
      ss = (ss || []).map(function (s) { s.status = status(s); return s; });
      var shown = all ? ss : ss.filter(function (s) { return s.status !== "over" && s.status !== "ended"; });
      if (!shown.length) { box.innerHTML = '<p class="empty">' + esc(t(all ? "silences.empty" : "silences.emptyCurrent")) + "</p>"; return; }
      var admin = YJ.can("admin"), cols = ["status", "match", "when", "window", "by", "why", "ended"];
      box.innerHTML = '<table id="silences" class="silence-table"><thead><tr><th>' + cols.map(function (c) { return esc(t("silences.col." + c)); }).join("</th><th>") +
        (admin ? "</th><th>" : "") + "</th></tr></thead><tbody>" + shown.map(function (s) {
          var open = s.status !== "over" && s.status !== "ended";
          return '<tr data-id="' + s.id + '" data-status="' + s.status + '">' +
            cell("status", '<span class="sl-status sl-' + s.status + '">' + esc(t("silences.st." + s.status)) + '</span> <span class="muted id">#' + s.id + "</span>") +
            cell("match", matchers(s.matchers || {})) +
            cell("when", esc(fmtTime(s.starts_at, true)) + " –<br>" + esc(fmtTime(s.ends_at, true))) +
            cell("window", s.window ? esc(windowText(s.window)) : '<span class="muted">' + esc(t("silences.always")) + "</span>") +
            cell("by", esc(YJ.actor(s.created_by)) + '<br><span class="muted small">' + esc(fmtTime(s.created_at, true)) + "</span>") +
            cell("why", esc(s.comment)) +
            cell("ended", s.expired_at ? esc(YJ.actor(s.expired_by || "")) + '<br><span class="muted small">' + esc(fmtTime(s.expired_at, true)) + "</span>" : "") +
            (admin ? '<td class="act">' + (open ? '<button type="button" class="expire" data-id="' + s.id + '">' + esc(t("silences.expire")) + "</button>" : "") + "</td>" : "") + "</tr>";
        }).join("") + "</tbody></table>";
      $$("button.expire", box).forEach(function (b) {
        b.onclick = function () {
          YJ.twice(b, t("silences.expire.confirm"), function () {
            b.disabled = true;
            var by = YJ.app.me.open ? "?" + YJ.qs({ by: YJ.store("yujing.by") || "" }) : "";
            api("DELETE", "/api/v1/silences/" + b.dataset.id + by).then(function () {
              $("#sl-flash").textContent = t("silences.expired", { id: b.dataset.id });
              YJ.refreshOpen(); // the alarm sounds again for what the silence held back
              list(all);
            }, function (err) { b.disabled = false; $("#sl-flash").className = "act-msg error"; $("#sl-flash").textContent = t("common.error", { msg: err.message }); });
          });
        };
      });
    }, function (err) { if (err.status !== 401 && $("#sl-list")) { $("#sl-list").innerHTML = YJ.failed(err); } });
  }
  function cell(col, html) { return '<td data-label="' + esc(t("silences.col." + col)) + '">' + html + "</td>"; }
  // status is where a silence stands now (the server's clock).
  function status(s) {
    var now = TZ.now();
    if (s.expired_at) { return "ended"; }
    if (now >= Date.parse(s.ends_at)) { return "over"; }
    if (now < Date.parse(s.starts_at)) { return "pending"; }
    return s.active ? "active" : "waiting";
  }
  // matchers names what a silence selects, by name.
  function matchers(m) {
    var out = [];
    if (m.site) { out.push(esc(t("silences.site")) + " " + named(siteName(m.site), m.site)); }
    if (m.sensor) { out.push(esc(t("silences.sensor")) + " " + named(sensorName(m.sensor), m.sensor)); }
    if (m.family) { out.push(esc(t("silences.family")) + " " + esc(YJ.fam(m.family))); }
    if (m.rule) { out.push(esc(t("silences.rule")) + " " + named(ruleName(m.rule), m.rule)); }
    if (m.levels && m.levels.length) { out.push(m.levels.map(YJ.lvl).join(" ")); }
    return out.join("<br>");
  }
  function windowText(w) {
    var days = (w.weekdays || []).slice().sort().map(function (d) { return t("silences.wd." + d); }).join(YJ.app.lang === "zh" ? "、" : ", ");
    return days ? t("silences.weekly", { days: days, from: w.start, to: w.end }) : t("silences.daily", { from: w.start, to: w.end });
  }

  // form is the admin's form for a new silence, filled from the route
  // (a warning's "silence this sensor for 2 h" link).
  function form(p, sensors, rules) {
    var start = TZ.now(), hours = parseFloat(p.hours) || 2;
    var sites = (YJ.app.meta && YJ.app.meta.sites) || [];
    var opt = function (v, label, cur) { return '<option value="' + esc(v) + '"' + (v === (cur || "") ? " selected" : "") + ">" + esc(label) + "</option>"; };
    var any = opt("", t("silences.any"), "");
    $("#sl-form-box").innerHTML = '<form id="silence-form" class="card silence-form">' +
      "<h3>" + esc(t("silences.new")) + (p.alert ? ' <a class="small" href="#/alert/' + esc(p.alert) + '">' + esc(t("silences.fromAlert", { id: p.alert })) + "</a>" : "") + "</h3>" +
      '<div class="filters">' +
      '<label class="field">' + esc(t("silences.site")) + '<select id="sl-site">' + any + sites.map(function (s) { return opt(s.id, s.name || s.id, p.site && !p.sensor ? p.site : ""); }).join("") + "</select></label>" +
      '<label class="field">' + esc(t("silences.sensor")) + '<input id="sl-sensor" list="sl-sensors" value="' + esc(p.sensor || "") + '" autocomplete="off"><datalist id="sl-sensors">' +
      sensors.map(function (s) { return '<option value="' + esc(s.id) + '">' + esc((s.name || "") + " · " + siteName(s.site)) + "</option>"; }).join("") + "</datalist></label>" +
      '<label class="field">' + esc(t("silences.family")) + '<select id="sl-family">' + any + YJ.FAMILIES.map(function (f) { return opt(f, YJ.fam(f), p.family); }).join("") + "</select></label>" +
      '<label class="field">' + esc(t("silences.rule")) + '<select id="sl-rule">' + any + rules.map(function (x) { return opt(x.name, x.description || x.name, p.rule); }).join("") + "</select></label>" +
      '<fieldset class="field"><legend>' + esc(t("silences.levels")) + "</legend>" + YJ.LEVELS.map(function (l) {
        return '<label class="check"><input type="checkbox" name="level" value="' + l + '"' + (p.level === l ? " checked" : "") + "> " + YJ.lvl(l) + "</label>";
      }).join("") + "</fieldset></div>" +
      '<div class="filters">' +
      '<label class="field">' + esc(t("silences.starts")) + '<input type="datetime-local" id="sl-starts" required value="' + esc(TZ.local(start)) + '"></label>' +
      '<label class="field">' + esc(t("silences.ends")) + '<input type="datetime-local" id="sl-ends" required value="' + esc(TZ.local(start + hours * 3600e3)) + '"></label>' +
      '<span class="field">' + esc(t("silences.plus")) + '<span class="plus">' + SPANS.map(function (s) {
        return '<button type="button" class="link sl-plus" data-ms="' + s[1] + '">' + esc(t("silences." + s[0])) + "</button>";
      }).join("") + "</span></span></div>" +
      '<label class="check"><input type="checkbox" id="sl-window"> ' + esc(t("silences.window")) + "</label>" +
      '<div class="filters" id="sl-window-box" hidden>' +
      '<label class="field">' + esc(t("silences.wfrom")) + '<input type="time" id="sl-wstart" value="02:00"></label>' +
      '<label class="field">' + esc(t("silences.wto")) + '<input type="time" id="sl-wend" value="04:00"></label>' +
      '<fieldset class="field"><legend>' + esc(t("silences.wdays")) + "</legend>" + [1, 2, 3, 4, 5, 6, 0].map(function (d) {
        return '<label class="check"><input type="checkbox" name="wd" value="' + d + '"> ' + esc(t("silences.wd." + d)) + "</label>";
      }).join("") + "</fieldset></div>" +
      '<label class="field">' + esc(t("silences.comment")) + '<textarea id="sl-comment" rows="2" required></textarea></label>' +
      (YJ.app.me.open ? '<label class="field">' + esc(t("silences.by")) + '<input id="sl-by" required value="' + esc(YJ.store("yujing.by") || "") + '"></label>' : "") +
      '<p id="sl-msg" class="act-msg" role="alert"></p>' +
      '<div class="tgroup"><button type="submit" class="primary" id="sl-create">' + esc(t("silences.create")) + '</button><a href="#/silences" class="link">' + esc(t("silences.cancel")) + "</a></div></form>";
    $$(".sl-plus").forEach(function (b) {
      b.onclick = function () {
        var s = TZ.instant($("#sl-starts").value);
        if (!isNaN(s)) { $("#sl-ends").value = TZ.local(s + +b.dataset.ms); }
      };
    });
    $("#sl-window").onchange = function () { $("#sl-window-box").hidden = !this.checked; };
    $("#silence-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var msg = $("#sl-msg"), body = { matchers: {}, comment: $("#sl-comment").value.trim() };
      var m = body.matchers;
      if ($("#sl-site").value) { m.site = $("#sl-site").value; }
      if ($("#sl-sensor").value.trim()) { m.sensor = $("#sl-sensor").value.trim(); }
      if ($("#sl-family").value) { m.family = $("#sl-family").value; }
      if ($("#sl-rule").value) { m.rule = $("#sl-rule").value; }
      var levels = $$('input[name=level]:checked').map(function (x) { return x.value; });
      if (levels.length) { m.levels = levels; }
      msg.className = "act-msg error";
      if (!Object.keys(m).length) { msg.textContent = t("silences.needMatch"); return; }
      var starts = TZ.instant($("#sl-starts").value), ends = TZ.instant($("#sl-ends").value);
      if (isNaN(starts) || isNaN(ends) || ends <= starts) { msg.textContent = t("silences.badTime"); return; }
      body.starts_at = YJ.iso(starts);
      body.ends_at = YJ.iso(ends);
      if ($("#sl-window").checked) {
        body.window = { start: $("#sl-wstart").value, end: $("#sl-wend").value };
        var wd = $$('input[name=wd]:checked').map(function (x) { return +x.value; });
        if (wd.length) { body.window.weekdays = wd; }
      }
      if ($("#sl-by")) { body.created_by = $("#sl-by").value.trim(); YJ.store("yujing.by", body.created_by); }
      $("#sl-create").disabled = true;
      msg.className = "act-msg";
      msg.textContent = t("common.loading");
      api("POST", "/api/v1/silences", body).then(function (s) {
        flash = t("silences.created", { id: s.id });
        YJ.refreshOpen(); // the alarm stops for what is silenced now
        location.hash = "#/silences";
      }, function (err) {
        $("#sl-create").disabled = false;
        msg.className = "act-msg error";
        msg.textContent = t("common.error", { msg: err.message });
      });
    });
  }
})(window.YJ);

// Duty (#/duty): who is on duty now per organisation, and the handover
// list of open warnings (the print button prints it on white paper).
(function (YJ) {
  "use strict";
  var t = YJ.t, esc = YJ.esc, $ = YJ.$, api = YJ.api, TZ = YJ.time;
  var lvl = YJ.lvl, stateTag = YJ.stateTag, fmtTime = YJ.fmtTime, age = YJ.age, num = YJ.num, named = YJ.named, actor = YJ.actor;
  var siteName = YJ.siteName, sensorName = YJ.sensorName, byLevel = YJ.byLevel, ticket = YJ.ticket;
  YJ.strings({
    zh: {
      "nav.duty": "值班",
      "duty.title": "当前值班", "duty.now": "在岗", "duty.next": "下一班", "duty.shift": "班次", "duty.override": "临时调整",
      "duty.empty": "没有配置值班表。", "duty.unavailable": "值班表接口不可用。", "duty.print": "打印交接单",
      "duty.handover": "交接班：未关闭预警", "duty.handover.empty": "没有未关闭的预警，可以正常交班。",
      "duty.org": "单位", "duty.role": "岗位", "duty.holders": "值班人员", "duty.printed": "打印时间"
    },
    en: {
      "nav.duty": "Duty",
      "duty.title": "On duty now", "duty.now": "On duty", "duty.next": "Next", "duty.shift": "Shift", "duty.override": "Override",
      "duty.empty": "No duty rosters configured.", "duty.unavailable": "The duty API is not available.", "duty.print": "Print handover",
      "duty.handover": "Handover: open warnings", "duty.handover.empty": "No open warnings to hand over.",
      "duty.org": "Organisation", "duty.role": "Role", "duty.holders": "On duty", "duty.printed": "Printed"
    }
  });
  YJ.page("duty", { nav: 30, live: true, render: duty });

  function duty(r, fresh) {
    var v = $("#view");
    if (fresh) {
      v.innerHTML = '<section class="duty"><div class="toolbar"><h2>' + esc(t("duty.title")) + '</h2><button type="button" id="print" class="primary">' + esc(t("duty.print")) + "</button></div>" +
        '<p class="print-only">' + esc(t("duty.printed")) + ' <span id="printed"></span></p><div id="duty-list"><p class="muted">' + esc(t("common.loading")) + "</p></div>" +
        "<h2>" + esc(t("duty.handover")) + '</h2><div id="handover-box"></div></section>';
      $("#print").onclick = function () { window.print(); };
    }
    $("#printed") && ($("#printed").textContent = fmtTime(TZ.now(), true) + " (" + TZ.zone() + ", " + TZ.offsetLabel(TZ.now()) + ")");
    var currentDuty = ticket("duty"), currentHandover = ticket("handover");
    api("GET", "/api/v1/duty").then(function (rows) {
      var box = $("#duty-list");
      if (!box || !currentDuty()) { return; }
      // {at, rosters: [{org, org_name, role, role_label, holders, since, until, next, override, note}]}
      rows = Array.isArray(rows) ? rows : (rows && (rows.rosters || rows.duty || rows.rows)) || [];
      if (!rows.length) { box.innerHTML = '<p class="empty">' + esc(t("duty.empty")) + "</p>"; return; }
      var person = function (h) { return "<b>" + esc(h.name || h.id) + "</b>" + (h.position ? ' <span class="muted">' + esc(h.position) + "</span>" : "") + (h.phone ? ' <a href="tel:' + esc(h.phone) + '">' + esc(h.phone) + "</a>" : ""); };
      box.innerHTML = '<table class="duty-table"><thead><tr><th>' + [t("duty.org"), t("duty.role"), t("duty.holders"), t("duty.shift"), t("duty.next")].map(esc).join("</th><th>") + "</th></tr></thead><tbody>" +
        rows.map(function (d) {
          var since = d.since || d.shift_start, until = d.until || d.shift_end;
          var note = d.note || (d.override && d.override.note) || "";
          var next = (d.next || []).map(function (n) { return esc(n.name || n.id); }).join("、");
          return '<tr data-org="' + esc(d.org) + '"><td data-label="' + esc(t("duty.org")) + '">' + esc(d.org_name || d.org) + '</td><td data-label="' + esc(t("duty.role")) + '">' + esc(d.role_label || d.role) +
            (d.override ? ' <span class="flag">' + esc(t("duty.override")) + (note ? "：" + esc(note) : "") + "</span>" : "") +
            '</td><td data-label="' + esc(t("duty.holders")) + '">' + ((d.holders || []).map(person).join("<br>") || esc(t("common.none"))) + '</td><td data-label="' + esc(t("duty.shift")) + '">' +
            (since ? esc(fmtTime(since)) + " – " + esc(fmtTime(until)) : esc(t("common.none"))) + '</td><td data-label="' + esc(t("duty.next")) + '">' +
            (next ? next + (until ? ' <span class="muted">' + esc(fmtTime(until)) + "</span>" : "") : esc(t("common.none"))) + "</td></tr>";
        }).join("") + "</tbody></table>";
    }, function (err) {
      var box = $("#duty-list");
      if (box && err.status !== 401) { box.innerHTML = '<p class="muted">' + esc(err.status === 404 ? t("duty.unavailable") : t("common.error", { msg: err.message })) + "</p>"; }
    });
    Promise.all([api("GET", "/api/v1/alerts?state=open&limit=1000"), YJ.loadSensors().catch(function () { return []; })]).then(function (res) {
      var box = $("#handover-box"), as = res[0];
      if (!box || !currentHandover()) { return; }
      as = (as || []).sort(byLevel);
      box.innerHTML = as.length ? '<table id="handover" class="alerts"><thead><tr><th>' + [t("col.level"), t("col.state"), t("col.site"), t("col.sensor"), t("col.value"), t("col.started"), t("col.age"), t("col.acked"), t("col.message")].map(esc).join("</th><th>") +
        "</th></tr></thead><tbody>" + as.map(function (a) {
          return '<tr data-id="' + a.id + '"><td data-label="' + esc(t("col.level")) + '">' + lvl(a.level) + '</td><td data-label="' + esc(t("col.state")) + '">' + stateTag(a.state) + (a.overdue ? ' <span class="flag overdue">' + esc(t("flag.overdue")) + "</span>" : "") +
            '</td><td data-label="' + esc(t("col.site")) + '" data-site="' + esc(a.site) + '">' + esc(siteName(a.site)) + '</td><td data-label="' + esc(t("col.sensor")) + '" data-sensor="' + esc(a.sensor) + '">' + named(sensorName(a.sensor), a.sensor) + '</td><td data-label="' + esc(t("col.value")) + '" class="num">' + num(a.value) + " " + esc(a.unit || "") +
            '</td><td data-label="' + esc(t("col.started")) + '">' + esc(fmtTime(a.started_at, true)) + '</td><td data-label="' + esc(t("col.age")) + '">' + esc(age(a.started_at)) + '</td><td data-label="' + esc(t("col.acked")) + '">' + esc(a.acked_by ? actor(a.acked_by) : t("common.none")) +
            '</td><td data-label="' + esc(t("col.message")) + '" class="msg">' + esc(a.message) + "</td></tr>";
        }).join("") + "</tbody></table>" : '<p class="empty">' + esc(t("duty.handover.empty")) + "</p>";
    }, function () {});
  }

})(window.YJ);

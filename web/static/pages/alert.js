// A warning (#/alert/{id}): its facts, the readings chart with the rule's
// thresholds, the level and state history, the call-and-answer timeline
// (each call's outcome from the server), and the actions: acknowledge,
// record disposal (note, photos), verify and close.
(function (YJ) {
  "use strict";
  var t = YJ.t, esc = YJ.esc, $ = YJ.$, api = YJ.api, CH = YJ.charts, TZ = YJ.time, LEVELS = YJ.LEVELS, REASONS = YJ.REASONS;
  var lvl = YJ.lvl, stateTag = YJ.stateTag, fam = YJ.fam, fmtTime = YJ.fmtTime, age = YJ.age, num = YJ.num, named = YJ.named, via = YJ.via, actor = YJ.actor;
  var siteName = YJ.siteName, sensorName = YJ.sensorName, metricName = YJ.metricName, ruleName = YJ.ruleName, canOperate = YJ.canOperate;
  var ticket = YJ.ticket, qs = YJ.qs, iso = YJ.iso, boxWidth = YJ.boxWidth, failed = YJ.failed, store = YJ.store;
  YJ.strings({
    zh: {
      "detail.back": "返回实时预警", "detail.silence": "静默此监测点 2 小时…", "detail.title": "预警 #{id}", "detail.threshold": "阈值", "detail.value": "当前值",
      "detail.started": "开始", "detail.resolved": "恢复", "detail.closed": "关闭",
      "detail.chart": "监测曲线", "detail.chart.empty": "该时段没有读数。", "detail.chart.note": "{n} 个读数（已抽稀为 {p} 个点，保留每段最高与最低值）",
      "detail.zoom.hint": "在曲线上拖动选择时段可放大", "detail.zoom.out": "缩小", "detail.zoom.reset": "还原", "detail.events": "事件", "detail.events.out": "不在当前时段内",
      "detail.history": "级别与状态记录", "detail.calls": "叫应记录", "detail.calls.empty": "没有呼叫记录。",
      "detail.photos": "处置照片", "detail.notfound": "没有这条预警。",
      "hist.time": "时间", "hist.event": "事件", "hist.level": "级别", "hist.state": "状态", "hist.value": "数值", "hist.actor": "操作人", "hist.note": "说明",
      "call.step": "第 {step} 步", "call.round": "第 {round} 轮", "call.sent": "发送", "call.deadline": "应答时限",
      "call.answered": "已应答", "call.unanswered": "超时未应答", "call.waiting": "等待应答", "call.noanswer": "无需应答",
      "call.by": "应答人", "call.record": "代为登记应答", "call.recordNote": "登记说明（如：电话已确认）", "call.via": "方式", "call.note": "备注", "call.onsite": "已到场",
      "call.status.pending": "待发送", "call.status.sent": "已发送", "call.status.failed": "发送失败",
      "call.answered_by_colleague": "他人已应答", "call.stopped_resolved": "已停止（预警已解除）", "call.stopped_superseded": "已停止（预警已升级）",
      "call.stopped_closed": "已停止（预警已关闭）", "call.stopped_other": "已停止（其他原因）",
      "esc.title": "叫应 · {policy}", "esc.active": "进行中", "esc.answered": "已应答", "esc.exhausted": "已到顶无人应答", "esc.stopped": "已停止",
      "esc.top": "已上报至最高层级",
      "act.title": "处置操作", "act.ack": "确认响应", "act.dispose": "记录处置", "act.close": "核查销号",
      "act.note": "处置说明", "act.note.close": "核查说明", "act.photos": "现场照片（最多 5 张）", "act.reason": "关闭原因",
      "act.by": "操作人", "act.done": "已保存", "act.closeWhenResolved": "条件恢复（已恢复）后才能销号。",
      "act.needNote": "请填写说明。", "act.needReason": "请选择关闭原因。", "act.forbidden": "当前账号无权执行此操作。",
      "act.viewer": "只读账号：可查看，不能操作。"
    },
    en: {
      "detail.back": "Back to the board", "detail.silence": "Silence this sensor for 2 h…", "detail.title": "Warning #{id}", "detail.threshold": "Threshold", "detail.value": "Value",
      "detail.started": "Started", "detail.resolved": "Resolved", "detail.closed": "Closed",
      "detail.chart": "Readings", "detail.chart.empty": "No readings in this window.", "detail.chart.note": "{n} readings (thinned to {p} points, keeping each stretch's highest and lowest)",
      "detail.zoom.hint": "drag across the chart to zoom in", "detail.zoom.out": "Zoom out", "detail.zoom.reset": "Reset", "detail.events": "Events", "detail.events.out": "outside the span shown",
      "detail.history": "Level and state history", "detail.calls": "Call-and-answer", "detail.calls.empty": "No calls.",
      "detail.photos": "Disposal photos", "detail.notfound": "No such warning.",
      "hist.time": "Time", "hist.event": "Event", "hist.level": "Level", "hist.state": "State", "hist.value": "Value", "hist.actor": "By", "hist.note": "Note",
      "call.step": "step {step}", "call.round": "round {round}", "call.sent": "sent", "call.deadline": "answer due",
      "call.answered": "answered", "call.unanswered": "not answered in time", "call.waiting": "awaiting answer", "call.noanswer": "no answer expected",
      "call.by": "answered by", "call.record": "Record an answer", "call.recordNote": "Note (e.g. confirmed by phone)", "call.via": "via", "call.note": "note", "call.onsite": "on site",
      "call.status.pending": "pending", "call.status.sent": "sent", "call.status.failed": "failed",
      "call.answered_by_colleague": "answered by a colleague", "call.stopped_resolved": "stopped: the warning cleared", "call.stopped_superseded": "stopped: the warning was upgraded",
      "call.stopped_closed": "stopped: the warning was closed", "call.stopped_other": "stopped: other reason",
      "esc.title": "Call-and-answer · {policy}", "esc.active": "active", "esc.answered": "answered", "esc.exhausted": "top reached, nobody answered", "esc.stopped": "stopped",
      "esc.top": "reached the top of the chain",
      "act.title": "Actions", "act.ack": "Acknowledge", "act.dispose": "Record disposal", "act.close": "Verify and close",
      "act.note": "What was done", "act.note.close": "How it was verified", "act.photos": "Photos (up to 5)", "act.reason": "Reason",
      "act.by": "By", "act.done": "Saved", "act.closeWhenResolved": "It can be closed once its condition has cleared (resolved).",
      "act.needNote": "Please write a note.", "act.needReason": "Please choose a reason.", "act.forbidden": "Your account may not do this.",
      "act.viewer": "Viewer account: read only."
    }
  });
  var detailID = 0;
  YJ.page("alert", {
    navAs: "board", render: detail,
    live: function (e) { return !!e.alert && e.alert.id === detailID; }
  });

  // An operator records an answer that came another way (a phone call
  // back, in person) for the called person: POST /api/v1/calls/{id}/answer.
  document.addEventListener("click", function (ev) {
    var b = ev.target.closest && ev.target.closest("button.record-answer");
    if (!b) { return; }
    var note = window.prompt(t("call.recordNote"), "");
    if (note === null) { return; }
    b.disabled = true;
    api("POST", "/api/v1/calls/" + encodeURIComponent(b.dataset.call) + "/answer", { note: note }).then(function () {
      if (YJ.app.view === "alert") { detail({ id: String(detailID) }, false); }
    }, function (err) {
      b.disabled = false;
      window.alert(err.status === 403 ? t("act.forbidden") : t("common.error", { msg: err.message }));
    });
  });

  function detail(r, fresh) {
    var id = parseInt(r.id, 10);
    detailID = id;
    var v = $("#view");
    if (fresh) { v.innerHTML = '<p class="muted">' + esc(t("common.loading")) + "</p>"; }
    var current = ticket("view");
    Promise.all([api("GET", "/api/v1/alerts/" + id), YJ.loadRules()]).then(function (res) {
      if (YJ.app.view !== "alert" || detailID !== id || !current()) { return; }
      var a = res[0], rules = res[1];
      var art = $("article.detail");
      // A live refresh that changes nothing the actions depend on leaves
      // the action forms alone, so an operator typing a note keeps focus.
      if (!fresh && art && +art.dataset.id === a.id && art.dataset.actions === actionsKey(a)) {
        var next = document.createElement("div");
        next.innerHTML = detailHTML(a);
        ["#d-head", "#d-calls", "#d-history", "#d-photos"].forEach(function (sel) {
          $(sel).className = $(sel, next).className;
          $(sel).innerHTML = $(sel, next).innerHTML;
        });
        art.dataset.state = a.state;
        art.dataset.level = a.level;
      } else {
        var keep = fresh ? null : actionState();
        v.innerHTML = detailHTML(a);
        if (keep) { restoreActionState(keep); }
        bindActions(a);
        bindChart();
      }
      chart(a, rules);
    }, function (err) {
      if (err.status === 404) { v.innerHTML = '<p class="empty">' + esc(t("detail.notfound")) + '</p><p><a href="#/board">' + esc(t("detail.back")) + "</a></p>"; } else if (err.status !== 401) { v.innerHTML = failed(err); }
    });
  }
  function detailHTML(a) {
    var facts = YJ.issued(a) ? [
      [t("detail.issued"), esc(YJ.issued(a)) + ' <span class="muted">' + esc(t("issued.label")) + "</span>"],
      [t("col.rule"), esc(a.rule)],
      [t("col.site"), named(siteName(a.site), a.site)],
      [t("detail.started"), esc(fmtTime(a.started_at, true)) + ' <span class="muted">(' + esc(age(a.started_at)) + ")</span>"]
    ] : [
      [t("detail.value"), num(a.value) + " " + esc(a.unit || "")],
      [t("detail.threshold"), num(a.threshold) + " " + esc(a.unit || "")],
      [t("col.rule"), named(ruleName(a.rule), a.rule)],
      [t("col.site"), named(siteName(a.site), a.site)],
      [t("col.sensor"), named(sensorName(a.sensor), a.sensor) + " · " + esc(metricName(a.family, a.metric)) + " · " + esc(fam(a.family))],
      [t("detail.started"), esc(fmtTime(a.started_at, true)) + ' <span class="muted">(' + esc(age(a.started_at)) + ")</span>"]
    ];
    if (a.acked_at) { facts.push([t("col.acked"), esc(fmtTime(a.acked_at, true)) + " · " + esc(a.acked_by)]); }
    if (a.resolved_at) { facts.push([t("detail.resolved"), esc(fmtTime(a.resolved_at, true))]); }
    if (a.closed_at) { facts.push([t("detail.closed"), esc(fmtTime(a.closed_at, true)) + " · " + esc(t("reason." + a.close_reason))]); }
    var flags = (a.silenced ? '<span class="flag">' + esc(t("flag.silenced")) + "</span>" : "") +
      (a.inhibited ? '<span class="flag">' + esc(t("flag.inhibited")) + "</span>" : "") +
      (a.overdue ? '<span class="flag overdue">' + esc(t("flag.overdue")) + "</span>" : "");
    return '<article class="detail" data-id="' + a.id + '" data-state="' + esc(a.state) + '" data-level="' + esc(a.level) + '" data-actions="' + actionsKey(a) + '">' +
      '<p><a href="#/board" class="back">← ' + esc(t("detail.back")) + "</a></p>" +
      '<header id="d-head" class="detail-head lvl-edge-' + esc(a.level) + '"><h2>' + lvl(a.level) + " " + esc(t("detail.title", { id: a.id })) + " " + stateTag(a.state) + " " + flags + "</h2>" +
      '<p class="message">' + esc(a.message) + "</p>" +
      '<dl class="facts">' + facts.map(function (f) { return "<div><dt>" + esc(f[0]) + "</dt><dd>" + f[1] + "</dd></div>"; }).join("") + "</dl>" +
      // An admin silences the sensor from here (pages/silences.js: the form, filled in).
      (YJ.can("admin") && a.state !== "closed" ? '<p class="detail-links"><a id="silence-link" href="#/silences/new?' + YJ.qs({ sensor: a.sensor, hours: 2, alert: a.id }) + '">' + esc(t("detail.silence")) + "</a></p>" : "") +
      "</header>" +
      '<div class="cols"><section class="card chart-card"><div class="toolbar"><h3>' + esc(t("detail.chart")) + '</h3><span class="zoom"><span id="zoom-hint" class="muted small" hidden>' + esc(t("detail.zoom.hint")) + "</span>" +
      '<button type="button" id="zoom-out" class="link" hidden>' + esc(t("detail.zoom.out")) + '</button><button type="button" id="zoom-reset" class="link" hidden>' + esc(t("detail.zoom.reset")) + "</button></span></div>" +
      '<div id="chart" class="chart-box"><p class="muted">' + esc(t("common.loading")) + '</p></div><ol id="chart-events" class="chart-events" aria-label="' + esc(t("detail.events")) + '"></ol><p id="chart-note" class="muted small"></p></section>' +
      actionsHTML(a) + "</div>" +
      '<section class="card" id="d-calls"><h3>' + esc(t("detail.calls")) + "</h3>" + callsHTML(a) + "</section>" +
      '<section class="card" id="d-history"><h3>' + esc(t("detail.history")) + "</h3>" + historyHTML(a) + "</section>" +
      '<div id="d-photos">' + photosHTML(a) + "</div></article>";
  }
  // actionsKey changes when the actions offered change.
  function actionsKey(a) { return a.state + (a.acked_at ? "+acked" : ""); }
  function historyHTML(a) {
    var h = a.history || [];
    return '<table class="history"><thead><tr><th>' + [t("hist.time"), t("hist.event"), t("hist.level"), t("hist.state"), t("hist.value"), t("hist.actor"), t("hist.note")].map(esc).join("</th><th>") +
      "</th></tr></thead><tbody>" + h.map(function (x) {
        var lv = x.from_level && x.from_level !== "none" && x.from_level !== x.to_level ? lvl(x.from_level) + " → " + lvl(x.to_level) : lvl(x.to_level);
        return '<tr data-event="' + esc(x.event) + '"><td data-label="' + esc(t("hist.time")) + '">' + esc(fmtTime(x.at, true)) + '</td><td data-label="' + esc(t("hist.event")) + '">' + esc(t("event." + x.event)) +
          '</td><td data-label="' + esc(t("hist.level")) + '">' + lv + '</td><td data-label="' + esc(t("hist.state")) + '">' + stateTag(x.to_state) + '</td><td data-label="' + esc(t("hist.value")) + '" class="num">' + num(x.value) +
          '</td><td data-label="' + esc(t("hist.actor")) + '">' + esc(actor(x.actor)) + '</td><td data-label="' + esc(t("hist.note")) + '">' + esc(x.note || "") + (x.reason ? ' <span class="flag">' + esc(t("reason." + x.reason)) + "</span>" : "") + "</td></tr>";
      }).join("") + "</tbody></table>";
  }
  // callsHTML is the call-and-answer timeline: each escalation with its
  // calls (who, how, when, deadline, answered or not, by whom, note), then
  // calls outside any escalation.
  function callsHTML(a) {
    var calls = (a.calls || []).slice().sort(function (x, y) { return Date.parse(x.sent_at || x.created_at) - Date.parse(y.sent_at || y.created_at); });
    var escs = (a.escalations || []).slice().sort(function (x, y) { return Date.parse(x.started_at) - Date.parse(y.started_at); });
    if (!calls.length && !escs.length) { return '<p class="muted">' + esc(t("detail.calls.empty")) + "</p>"; }
    var html = "", used = {};
    escs.forEach(function (e) {
      var mine = calls.filter(function (c) { return c.escalation_id != null && String(c.escalation_id) === String(e.id); });
      mine.forEach(function (c) { used[c.id] = true; });
      var at = t("call.step", { step: e.step }) + (e.round > 1 ? " · " + t("call.round", { round: e.round }) : "") +
        (e.state === "active" && e.deadline ? " · " + t("call.deadline") + " " + fmtTime(e.deadline) : "");
      html += '<div class="escalation esc-' + esc(e.state) + '" data-escalation="' + esc(e.id) + '"><h4>' + lvl(e.level) + " " + esc(t("esc.title", { policy: e.policy || "" })) +
        ' <span class="esc-state">' + esc(t("esc." + e.state)) + '</span> <span class="muted small">' + esc(at) + "</span>" + (e.top_reached_at ? ' <span class="flag overdue">' + esc(t("esc.top")) + " " + esc(fmtTime(e.top_reached_at)) + "</span>" : "") + "</h4>" +
        (e.answered_at ? '<p class="answered">' + esc(t("call.answered")) + " " + esc(fmtTime(e.answered_at, true)) + " · " + esc(personName(a, e.answered_by)) + (e.answer_channel ? " · " + esc(via(e.answer_channel)) : "") + "</p>" : "") +
        timeline(a, mine) + "</div>";
    });
    var rest = calls.filter(function (c) { return !used[c.id]; });
    if (rest.length) { html += timeline(a, rest); }
    return html;
  }
  // personName is who answered by name: a called person's id becomes the
  // name their calls carry; a user who recorded the answer stays as is.
  function personName(a, id) {
    var c = (a.calls || []).find(function (x) { return x.person === id && x.person_name; });
    return c ? c.person_name : actor(id || "");
  }
  function timeline(a, calls) {
    return '<ol class="timeline">' + calls.map(function (c) {
      var answered = !!c.answered_at, due = c.deadline ? Date.parse(c.deadline) : 0;
      // The server's outcome (answered, answered by a colleague, unanswered,
      // pending, stopped_*): a call of a chain that stopped before its
      // deadline is no miss, whatever the clock says now.
      var st = c.outcome ? (c.outcome === "pending" ? "waiting" : c.outcome) : answered ? "answered" : due ? (due < TZ.now() ? "unanswered" : "waiting") : "noanswer";
      var step = c.step ? t("call.step", { step: c.step }) + (c.round ? " · " + t("call.round", { round: c.round }) : "") : "";
      return '<li class="call call-' + st + '" data-call="' + esc(c.id) + '" data-status="' + st + '">' +
        '<div class="when">' + esc(fmtTime(c.sent_at || c.created_at)) + "</div>" +
        '<div class="what"><b>' + esc(c.person_name || c.person) + "</b> · " + esc(c.channel) + (step ? ' <span class="muted">' + esc(step) + "</span>" : "") +
        ' <span class="call-status status-' + esc(c.status) + '">' + esc(t("call.status." + c.status)) + "</span>" +
        (c.last_error && c.status === "failed" ? ' <span class="muted small">' + esc(c.last_error) + "</span>" : "") +
        "<br>" + (due ? '<span class="muted">' + esc(t("call.deadline")) + " " + esc(fmtTime(c.deadline)) + "</span> " : "") +
        '<span class="answer">' + esc(t("call." + st)) +
        (answered ? " " + esc(fmtTime(c.answered_at)) + " · " + esc(t("call.by")) + " " + esc(personName(a, c.answered_by)) + (c.answer_channel ? " · " + esc(t("call.via")) + " " + esc(via(c.answer_channel)) : "") +
          (c.on_site ? " · " + esc(t("call.onsite")) : "") + (c.answer_note ? " · " + esc(t("call.note")) + "：" + esc(c.answer_note) : "") : "") +
        "</span>" + ((st === "unanswered" || st === "waiting") && canOperate() ? ' <button type="button" class="link record-answer" data-call="' + esc(c.id) + '">' + esc(t("call.record")) + "</button>" : "") +
        "</div></li>";
    }).join("") + "</ol>";
  }
  function photosHTML(a) {
    var ps = a.attachments || [];
    if (!ps.length) { return ""; }
    return '<section class="card"><h3>' + esc(t("detail.photos")) + '</h3><div class="photos">' + ps.map(function (p) {
      var u = "/api/v1/alerts/" + a.id + "/attachments/" + p.id;
      return '<a href="' + u + '" target="_blank" rel="noopener"><img src="' + u + '" alt="' + esc(p.name) + '" loading="lazy"></a>';
    }).join("") + "</div></section>";
  }
  function actionsHTML(a) {
    if (a.state === "closed") { return ""; }
    if (!canOperate()) { return '<section class="card actions"><h3>' + esc(t("act.title")) + '</h3><p class="muted" id="viewer-note">' + esc(t("act.viewer")) + "</p></section>"; }
    var by = YJ.app.me.open ? '<label class="field">' + esc(t("act.by")) + '<input name="by" id="act-by" required value="' + esc(store("yujing.by") || "") + '"></label>' : "";
    return '<section class="card actions" id="actions"><h3>' + esc(t("act.title")) + "</h3>" + by +
      (a.acked_at ? "" : '<form id="ack-form"><button type="submit" id="ack" class="primary">' + esc(t("act.ack")) + "</button></form>") +
      '<form id="dispose-form"><label class="field">' + esc(t("act.note")) + '<textarea name="note" id="dispose-note" rows="3"></textarea></label>' +
      '<label class="field">' + esc(t("act.photos")) + '<input type="file" name="photos" id="dispose-photos" accept="image/jpeg,image/png,image/webp" multiple></label>' +
      '<button type="submit" id="dispose">' + esc(t("act.dispose")) + "</button></form>" +
      '<form id="close-form"' + (a.state === "resolved" ? "" : ' class="disabled"') + '><label class="field">' + esc(t("act.reason")) + '<select name="reason" id="close-reason"><option value=""></option>' +
      REASONS.map(function (x) { return '<option value="' + x + '">' + esc(t("reason." + x)) + "</option>"; }).join("") + "</select></label>" +
      '<label class="field">' + esc(t("act.note.close")) + '<textarea name="note" id="close-note" rows="2"></textarea></label>' +
      '<button type="submit" id="close"' + (a.state === "resolved" ? "" : " disabled") + ">" + esc(t("act.close")) + "</button>" +
      (a.state === "resolved" ? "" : '<p class="muted small">' + esc(t("act.closeWhenResolved")) + "</p>") + "</form>" +
      '<p id="act-msg" class="act-msg" role="status"></p></section>';
  }
  // actionState keeps what an operator is typing across a live refresh.
  function actionState() {
    var s = {};
    ["dispose-note", "close-note", "close-reason", "act-by"].forEach(function (id) { var e = document.getElementById(id); if (e) { s[id] = e.value; } });
    return s;
  }
  function restoreActionState(s) {
    Object.keys(s).forEach(function (id) { var e = document.getElementById(id); if (e && s[id]) { e.value = s[id]; } });
  }
  function bindActions(a) {
    var msg = $("#act-msg");
    function by() {
      if (!YJ.app.me.open) { return YJ.app.me.user; }
      var v = ($("#act-by") || {}).value || "";
      store("yujing.by", v);
      return v;
    }
    function send(kind, body, btn) {
      body.by = by();
      if (btn) { btn.disabled = true; }
      msg.className = "act-msg";
      msg.textContent = t("common.loading");
      return api("POST", "/api/v1/alerts/" + a.id + "/" + kind, body).then(function () {
        msg.className = "act-msg ok";
        msg.textContent = t("act.done");
        YJ.refreshOpen();
        detail({ id: String(a.id) }, false);
      }, function (err) {
        if (btn) { btn.disabled = false; }
        msg.className = "act-msg error";
        msg.textContent = err.status === 403 ? t("act.forbidden") : t("common.error", { msg: err.message });
      });
    }
    var ack = $("#ack-form");
    if (ack) { ack.addEventListener("submit", function (ev) { ev.preventDefault(); send("ack", {}, $("#ack")); }); }
    var dis = $("#dispose-form");
    if (dis) {
      dis.addEventListener("submit", function (ev) {
        ev.preventDefault();
        var note = dis.note.value.trim();
        if (!note) { msg.className = "act-msg error"; msg.textContent = t("act.needNote"); return; }
        readPhotos(dis.photos.files).then(function (photos) {
          return send("dispose", { note: note, photos: photos }, $("#dispose"));
        }, function (err) { msg.className = "act-msg error"; msg.textContent = t("common.error", { msg: err.message }); });
      });
    }
    var cl = $("#close-form");
    if (cl) {
      cl.addEventListener("submit", function (ev) {
        ev.preventDefault();
        if (!cl.reason.value) { msg.className = "act-msg error"; msg.textContent = t("act.needReason"); return; }
        if (!cl.note.value.trim()) { msg.className = "act-msg error"; msg.textContent = t("act.needNote"); return; }
        send("close", { reason: cl.reason.value, note: cl.note.value.trim() }, $("#close"));
      });
    }
  }
  // readPhotos encodes up to 5 images of at most 5 MB as the dispose API's
  // photos: [{name, content_type, data (base64)}].
  function readPhotos(files) {
    var list = Array.prototype.slice.call(files || []);
    if (list.length > 5) { return Promise.reject(new Error("≤ 5")); }
    return Promise.all(list.map(function (f) {
      return new Promise(function (ok, fail) {
        if (f.size > 5 << 20) { fail(new Error(f.name + " > 5 MB")); return; }
        var rd = new FileReader();
        rd.onload = function () { ok({ name: f.name, content_type: f.type, data: String(rd.result).replace(/^data:[^,]*,/, "") }); };
        rd.onerror = function () { fail(rd.error); };
        rd.readAsDataURL(f);
      });
    }));
  }
  // The chart's window. By default the readings around the warning: from
  // an hour before it started to now (or half an hour after it closed),
  // narrowed on the left to where the readings and events begin, so a
  // sensor that began reporting minutes ago fills the width; zoomed: the
  // span the user dragged across, read again in full detail.
  var zoom = null, shown = null; // zoom {id, from, to}; shown {a, rules}: what is drawn
  function fullWindow(a) {
    var start = Date.parse(a.started_at), end = a.closed_at ? Date.parse(a.closed_at) + 30 * 60e3 : TZ.now();
    var from = start - 60 * 60e3;
    return { from: from, to: Math.min(Math.max(end, start + 10 * 60e3), TZ.now() + 1000, from + 30 * 86400e3) };
  }
  function fitWindow(a, points, marks, win) {
    var ts = points.map(function (p) { return Date.parse(p.ts); }).concat([Date.parse(a.started_at)],
      marks.map(function (m) { return m.t; }).filter(function (x) { return x >= win.from && x <= win.to; }));
    var lo = Math.min.apply(null, ts), hi = a.closed_at ? Math.max.apply(null, ts) : win.to;
    var pad = Math.max((hi - lo) * 0.04, 30e3);
    lo = Math.max(win.from, lo - pad);
    hi = Math.min(win.to, hi + pad);
    if (hi - lo < 5 * 60e3) { lo = Math.max(win.from, hi - 5 * 60e3); }
    return { from: lo, to: hi };
  }
  function readings(a, win) {
    return api("GET", "/api/v1/sensors/" + encodeURIComponent(a.sensor) + "/readings?" + qs({ metric: a.metric, from: iso(win.from), to: iso(win.to), points: 600 }));
  }
  // events are the warning's history as numbered chart markers, in time order.
  function events(a) {
    return (a.history || []).map(function (h) { return { t: Date.parse(h.at), label: t("event." + h.event), h: h }; })
      .sort(function (x, y) { return x.t - y.t; }).map(function (m, i) { m.n = i + 1; return m; });
  }
  // chart draws the readings with the rule's thresholds and the numbered
  // events, and lists the events under it.
  function chart(a, rules) {
    shown = { a: a, rules: rules };
    var zoomed = !!zoom && zoom.id === a.id, full = fullWindow(a), marks = events(a);
    var win = zoomed ? { from: zoom.from, to: zoom.to } : full;
    var current = ticket("chart");
    readings(a, win).then(function (s) {
      if (zoomed || !s.points.length) { return { s: s, win: win }; }
      var fit = fitWindow(a, s.points, marks, win);
      if (s.downsampled && fit.to - fit.from < (win.to - win.from) / 2) { // thinned over the whole hour: read the narrower window again
        return readings(a, fit).then(function (s2) { return { s: s2, win: fit }; });
      }
      return { s: s, win: fit };
    }).then(function (r) {
      var box = $("#chart"), s = r.s;
      if (!box || detailID !== a.id || !current()) { return; }
      var w = boxWidth(box);
      box.innerHTML = s.points.length ? CH.line({ points: s.points, from: r.win.from, to: r.win.to, thresholds: thresholds(a, rules), markers: marks, unit: s.unit || a.unit,
        width: w, height: Math.round(Math.min(400, Math.max(240, w * 0.3))), label: t("detail.chart") + " " + sensorName(a.sensor) + " " + metricName(a.family, a.metric) }) : '<p class="muted">' + esc(t("detail.chart.empty")) + "</p>";
      $("#chart-note").textContent = s.downsampled ? t("detail.chart.note", { n: s.count, p: s.points.length }) : "";
      $("#chart-events").innerHTML = marks.map(function (m) {
        var out = m.t < r.win.from || m.t > r.win.to, h = m.h;
        return '<li data-n="' + m.n + '"' + (out ? ' class="out" title="' + esc(t("detail.events.out")) + '"' : "") + '><b class="n">' + m.n + "</b> " + esc(fmtTime(m.t)) + " " + esc(m.label) +
          (h.to_level && h.to_level !== "none" ? " " + lvl(h.to_level) : "") + (h.value != null ? ' <span class="muted">' + num(h.value) + "</span>" : "") + "</li>";
      }).join("");
      $("#zoom-out").hidden = $("#zoom-reset").hidden = !zoomed;
      $("#zoom-hint").hidden = zoomed || !s.points.length;
    }, function (err) { var box = $("#chart"); if (box && err.status !== 401) { box.innerHTML = failed(err); } });
  }
  // zoomTo draws the span from–to (at least a minute); null: the full window.
  function zoomTo(from, to) {
    if (!shown) { return; }
    var full = fullWindow(shown.a);
    if (from == null || (from <= full.from && to >= full.to)) {
      zoom = null;
    } else {
      var mid = (from + to) / 2, half = Math.max((to - from) / 2, 30e3);
      zoom = { id: shown.a.id, from: Math.max(full.from, mid - half), to: Math.min(full.to, mid + half) };
    }
    chart(shown.a, shown.rules);
  }
  function bindChart() {
    CH.brush($("#chart"), zoomTo);
    $("#zoom-reset").onclick = function () { zoomTo(null); };
    $("#zoom-out").onclick = function () {
      var svg = $("#chart svg.chart"), from = +svg.dataset.from, to = +svg.dataset.to;
      zoomTo(from - (to - from) / 2, to + (to - from) / 2);
    };
  }
  // thresholds: the rule's tiers when the rules API gives them, else the
  // alert's own threshold at its level.
  function thresholds(a, rules) {
    var rule = (rules || []).find(function (r) { return r.name === a.rule; }) || {};
    var out = [], tiers = rule.thresholds || rule.above || rule.below || rule.tiers || null;
    if (tiers && typeof tiers === "object") {
      LEVELS.forEach(function (l) { if (typeof tiers[l] === "number") { out.push({ value: tiers[l], level: l, label: t("level." + l) + " " + CH.fmtNum(tiers[l]) }); } });
    }
    if (!out.some(function (x) { return x.value === a.threshold; }) && typeof a.threshold === "number") {
      out.push({ value: a.threshold, level: a.level, label: t("level." + a.level) + " " + CH.fmtNum(a.threshold) });
    }
    return out;
  }
})(window.YJ);

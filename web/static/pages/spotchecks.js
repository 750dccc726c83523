// Spot checks (#/spotchecks): today's duty spot checks (查岗) — who was
// called, whether they answered within the deadline, the principal called
// when not — and the day's on-duty rate (在岗率). An operator starts a
// check on demand with the 抽查 button (hidden for viewers).
(function (YJ) {
  "use strict";
  var t = YJ.t, esc = YJ.esc, $ = YJ.$, api = YJ.api, TZ = YJ.time;
  var fmtTime = YJ.fmtTime, ticket = YJ.ticket;
  YJ.strings({
    zh: {
      "nav.spotchecks": "查岗",
      "spot.title": "今日查岗", "spot.run": "抽查", "spot.org": "单位", "spot.role": "抽查岗位", "spot.due": "时间",
      "spot.state": "结果", "spot.called": "已呼叫", "spot.who": "应答人", "spot.took": "应答用时", "spot.deadline": "应答截止", "spot.by": "发起",
      "spot.schedule": "计划抽查", "spot.empty": "今天还没有查岗。", "spot.unavailable": "查岗接口不可用。",
      "spot.rate": "今日在岗率 {rate}（{on}/{made}）", "spot.rate.none": "今日尚无已完成的查岗。",
      "spot.started": "已向 {org} 发起抽查（#{id}）。", "spot.viewer": "只有值班员及以上角色可以发起抽查。",
      "spot.st.planned": "待抽查", "spot.st.calling": "呼叫中", "spot.st.onduty": "在岗", "spot.st.escalated": "未在岗（{role}应答）",
      "spot.st.missed": "无人应答", "spot.st.skipped": "未执行（系统停机）",
      "spot.step": "正在呼叫{role}"
    },
    en: {
      "nav.spotchecks": "Spot checks",
      "spot.title": "Today's spot checks", "spot.run": "Check now", "spot.org": "Organisation", "spot.role": "Role checked", "spot.due": "Time",
      "spot.state": "Result", "spot.called": "Called", "spot.who": "Answered by", "spot.took": "Answer time", "spot.deadline": "Due by", "spot.by": "Asked by",
      "spot.schedule": "scheduled", "spot.empty": "No spot checks today yet.", "spot.unavailable": "The spot-check API is not available.",
      "spot.rate": "On duty today: {rate} ({on}/{made})", "spot.rate.none": "No spot check finished today yet.",
      "spot.started": "Spot check #{id} of {org} started.", "spot.viewer": "Only operators and admins start spot checks.",
      "spot.st.planned": "planned", "spot.st.calling": "calling", "spot.st.onduty": "on duty", "spot.st.escalated": "not on duty ({role} answered)",
      "spot.st.missed": "nobody answered", "spot.st.skipped": "not made (yujing was down)",
      "spot.step": "calling the {role}"
    }
  });
  YJ.page("spotchecks", { nav: 31, live: true, render: spotchecks });

  var flash = "";
  var ROLES = ["duty_officer", "leader_on_duty"];

  function roleName(r) { return YJ.label("dutyrole.", r); }

  // result is a check's outcome as a flag: on duty, answered only by a
  // later role (the principal), nobody, or still calling whom.
  function result(c) {
    var role = roleName((c.roles || [])[Math.max(0, (c.answer_step || c.step || 1) - 1)] || "");
    switch (c.state) {
      case "answered": return c.on_duty ? '<span class="flag spot-ok">' + esc(t("spot.st.onduty")) + "</span>" : '<span class="flag overdue">' + esc(t("spot.st.escalated", { role: role })) + "</span>";
      case "missed": return '<span class="flag overdue">' + esc(t("spot.st.missed")) + "</span>";
      case "calling": return '<span class="flag">' + esc(t("spot.st.calling")) + "</span> " + esc(t("spot.step", { role: role }));
    }
    return '<span class="flag">' + esc(t("spot.st." + c.state)) + "</span>";
  }

  // called lists who each step called, once per person: 张伟（值班员）.
  function called(c) {
    var seen = {};
    return (c.calls || []).filter(function (x) { var k = x.step + "/" + x.person; if (seen[k]) { return false; } seen[k] = true; return true; })
      .map(function (x) { return '<span data-person="' + esc(x.person) + '">' + esc(x.person_name || x.person) + "（" + esc(roleName((c.roles || [])[x.step - 1] || "")) + "）</span>"; })
      .join("、") || esc(t("common.none"));
  }

  function took(c) {
    if (!c.answered_at || !c.started_at) { return t("common.none"); }
    return YJ.fmtDur(Date.parse(c.answered_at) - Date.parse(c.started_at));
  }

  function spotchecks(r, fresh) {
    var v = $("#view");
    if (fresh) {
      var form = YJ.canOperate() ? '<form id="spot-form" class="inline"><label>' + esc(t("spot.org")) + ' <select id="spot-org"></select></label> <label>' + esc(t("spot.role")) +
        ' <select id="spot-role">' + ROLES.map(function (x) { return '<option value="' + esc(x) + '">' + esc(roleName(x)) + "</option>"; }).join("") +
        '</select></label> <button type="submit" id="spot-run" class="primary">' + esc(t("spot.run")) + "</button></form>" :
        '<p class="muted" id="spot-viewer">' + esc(t("spot.viewer")) + "</p>";
      v.innerHTML = '<section class="spotchecks"><div class="toolbar"><h2>' + esc(t("spot.title")) + "</h2>" + form + '</div><p id="spot-flash" role="status"></p>' +
        '<p id="spot-rate"></p><div id="spot-list"><p class="muted">' + esc(t("common.loading")) + "</p></div></section>";
      if (YJ.canOperate()) {
        api("GET", "/api/v1/orgs").then(function (orgs) {
          var sel = $("#spot-org");
          if (!sel) { return; }
          sel.innerHTML = (orgs || []).filter(function (o) { return o.kind === "enterprise" || o.kind === "township"; })
            .map(function (o) { return '<option value="' + esc(o.id) + '">' + esc(o.name || o.id) + "</option>"; }).join("");
        }, function () {});
        $("#spot-form").onsubmit = function (e) {
          e.preventDefault();
          var org = $("#spot-org").value;
          $("#spot-run").disabled = true;
          api("POST", "/api/v1/spot-checks", { org: org, role: $("#spot-role").value }).then(function (c) {
            flash = t("spot.started", { org: c.org_name || c.org, id: c.id });
            $("#spot-run").disabled = false;
            spotchecks(r, false);
          }, function (err) {
            $("#spot-run").disabled = false;
            $("#spot-flash").innerHTML = YJ.failed(err);
          });
        };
      }
    }
    // The flash of an action stays until the page is drawn afresh (a
    // refresh while calling keeps it).
    if (flash) { $("#spot-flash").textContent = flash; flash = ""; }
    var current = ticket("spotchecks");
    api("GET", "/api/v1/spot-checks").then(function (list) {
      var box = $("#spot-list");
      if (!box || !current()) { return; }
      list = list || [];
      // While a check is calling (or due), look again in a few seconds:
      // the answer comes by phone, not through this page.
      var busy = list.some(function (c) { return c.state === "calling" || (c.state === "planned" && Date.parse(c.due_at) <= TZ.now() + 5000); });
      if (busy) { setTimeout(function () { if (current() && YJ.app.view === "spotchecks" && $("#spot-list")) { spotchecks(r, false); } }, 2000); }
      var made = list.filter(function (c) { return c.state === "answered" || c.state === "missed"; });
      var on = made.filter(function (c) { return c.on_duty; }).length;
      $("#spot-rate").textContent = made.length ? t("spot.rate", { rate: Math.round(100 * on / made.length) + "%", on: on, made: made.length }) : t("spot.rate.none");
      if (!list.length) { box.innerHTML = '<p class="empty">' + esc(t("spot.empty")) + "</p>"; return; }
      var cols = [t("spot.due"), t("spot.org"), t("spot.role"), t("spot.state"), t("spot.called"), t("spot.who"), t("spot.took"), t("spot.deadline"), t("spot.by")];
      box.innerHTML = '<table id="spot-checks" class="alerts"><thead><tr><th>' + cols.map(esc).join("</th><th>") + "</th></tr></thead><tbody>" +
        list.slice().reverse().map(function (c) {
          var cell = function (i, html) { return '<td data-label="' + esc(cols[i]) + '">' + html + "</td>"; };
          return '<tr data-id="' + c.id + '" data-state="' + esc(c.state) + '" data-org="' + esc(c.org) + '">' +
            cell(0, esc(fmtTime(c.due_at))) + cell(1, esc(c.org_name || c.org)) + cell(2, esc(roleName((c.roles || [])[0] || ""))) + cell(3, result(c)) + cell(4, called(c)) +
            cell(5, esc(c.answered_by ? YJ.actor(c.answered_by) : t("common.none"))) + cell(6, esc(took(c))) +
            cell(7, esc(c.deadline ? fmtTime(c.deadline) : t("common.none"))) + cell(8, esc(c.requested_by ? YJ.actor(c.requested_by) : t("spot.schedule"))) + "</tr>";
        }).join("") + "</tbody></table>";
    }, function (err) {
      var box = $("#spot-list");
      if (box && err.status !== 401) { box.innerHTML = '<p class="muted">' + esc(err.status === 404 ? t("spot.unavailable") : t("common.error", { msg: err.message })) + "</p>"; }
    });
  }
})(window.YJ);

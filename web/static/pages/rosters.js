// Rosters (#/rosters?at=, #/rosters?org=&role=): who is on duty at any
// time T (the zone's wall clock), every duty roster with its shifts and
// rotation; a roster's page has its coming shifts, its holiday overrides
// and (admin) the editor and the roster's changes from the audit log.
// The server checks a change as it checks the configuration's rosters and
// answers every problem with its field, shown at the row it concerns.
(function (YJ) {
  "use strict";
  var t = YJ.t, esc = YJ.esc, $ = YJ.$, $$ = YJ.$$, api = YJ.api, TZ = YJ.time;
  var fmtTime = YJ.fmtTime, label = YJ.label, failed = YJ.failed, ticket = YJ.ticket, qs = YJ.qs;
  var UPCOMING = 6; // shifts shown from now on a roster's page
  YJ.strings({
    zh: {
      "nav.rosters": "值班表",
      "rosters.title": "值班表", "rosters.at": "在岗查询", "rosters.atTime": "查询时间（{zone}）", "rosters.show": "查询", "rosters.now": "现在",
      "rosters.atResult": "{at}（{zone}）在岗人员", "rosters.empty": "没有配置值班表。", "rosters.unavailable": "值班表接口不可用。",
      "rosters.org": "单位", "rosters.role": "岗位", "rosters.holders": "值班人员", "rosters.shift": "班次", "rosters.next": "下一班",
      "rosters.override": "临时调整", "rosters.list": "全部值班表", "rosters.shifts": "每日班次", "rosters.rotation": "轮值顺序",
      "rosters.overrides": "临时调整（节假日、调班）", "rosters.open": "查看",
      "rosters.back": "← 全部值班表", "rosters.unknown": "没有这个值班表：{key}", "rosters.tz": "时区", "rosters.start": "轮值起始日期",
      "rosters.startHint": "这一天的第一班由轮值顺序第 1 班值守，之后每班依次轮换。",
      "rosters.turn": "第 {n} 班", "rosters.coming": "近期排班", "rosters.from": "开始", "rosters.to": "结束", "rosters.note": "说明",
      "rosters.people": "人员", "rosters.overrides.empty": "没有临时调整。",
      "rosters.edit": "编辑", "rosters.delete": "删除值班表", "rosters.deleteConfirm": "确定删除值班表“{name}”？",
      "rosters.deleted": "值班表已删除。", "rosters.new": "新建值班表", "rosters.newOrg": "单位", "rosters.newRole": "岗位（如 duty_officer、leader_on_duty）", "rosters.create": "创建",
      "rosters.save": "保存", "rosters.cancel": "取消", "rosters.saved": "已保存，修改已记入审计日志。",
      "rosters.shiftsInput": "每班开始时间（逗号分隔，如 08:00, 20:00）", "rosters.tzInput": "时区（留空为系统时区 {zone}）",
      "rosters.addTurn": "+ 增加一班", "rosters.addPerson": "+ 同班加一人", "rosters.remove": "移除", "rosters.addOverride": "+ 增加临时调整",
      "rosters.problems": "未保存，请修改以下问题：", "rosters.pick": "选择人员",
      "rosters.changes": "修改记录", "rosters.changes.empty": "审计日志中没有这个值班表的修改。", "rosters.changes.when": "时间", "rosters.changes.who": "操作人",
      "rosters.changes.what": "操作", "rosters.changes.put": "修改", "rosters.changes.delete": "删除",
      "rosters.field.shifts": "班次开始时间", "rosters.field.start": "轮值起始日期", "rosters.field.timezone": "时区", "rosters.field.rotation": "轮值顺序",
      "rosters.field.turn": "轮值第 {n} 班", "rosters.field.override": "临时调整第 {n} 条", "rosters.field.role": "岗位", "rosters.field.org": "单位",
      "rosters.ownOrg": "本单位", "rosters.others": "其他单位"
    },
    en: {
      "nav.rosters": "Rosters",
      "rosters.title": "Duty rosters", "rosters.at": "Who is on duty", "rosters.atTime": "At ({zone})", "rosters.show": "Show", "rosters.now": "Now",
      "rosters.atResult": "On duty at {at} ({zone})", "rosters.empty": "No duty rosters configured.", "rosters.unavailable": "The duty API is not available.",
      "rosters.org": "Organisation", "rosters.role": "Role", "rosters.holders": "On duty", "rosters.shift": "Shift", "rosters.next": "Next",
      "rosters.override": "Override", "rosters.list": "All rosters", "rosters.shifts": "Daily shifts", "rosters.rotation": "Rotation",
      "rosters.overrides": "Overrides (holidays, swaps)", "rosters.open": "Open",
      "rosters.back": "← All rosters", "rosters.unknown": "No such roster: {key}", "rosters.tz": "Time zone", "rosters.start": "Rotation starts",
      "rosters.startHint": "The first shift of this day is the rotation's turn 1; each shift after it is the next turn.",
      "rosters.turn": "Turn {n}", "rosters.coming": "Coming shifts", "rosters.from": "From", "rosters.to": "To", "rosters.note": "Note",
      "rosters.people": "People", "rosters.overrides.empty": "No overrides.",
      "rosters.edit": "Edit", "rosters.delete": "Delete roster", "rosters.deleteConfirm": "Delete the roster “{name}”?",
      "rosters.deleted": "The roster was deleted.", "rosters.new": "New roster", "rosters.newOrg": "Organisation", "rosters.newRole": "Role (e.g. duty_officer, leader_on_duty)", "rosters.create": "Create",
      "rosters.save": "Save", "rosters.cancel": "Cancel", "rosters.saved": "Saved; the change is in the audit log.",
      "rosters.shiftsInput": "Shift start times (comma separated, e.g. 08:00, 20:00)", "rosters.tzInput": "Time zone (empty: the server's, {zone})",
      "rosters.addTurn": "+ Add a turn", "rosters.addPerson": "+ Another person", "rosters.remove": "Remove", "rosters.addOverride": "+ Add an override",
      "rosters.problems": "Not saved; please fix:", "rosters.pick": "Pick a person",
      "rosters.changes": "Changes", "rosters.changes.empty": "The audit log has no change of this roster.", "rosters.changes.when": "When", "rosters.changes.who": "By",
      "rosters.changes.what": "What", "rosters.changes.put": "changed", "rosters.changes.delete": "deleted",
      "rosters.field.shifts": "shift start times", "rosters.field.start": "rotation start", "rosters.field.timezone": "time zone", "rosters.field.rotation": "rotation",
      "rosters.field.turn": "rotation turn {n}", "rosters.field.override": "override {n}", "rosters.field.role": "role", "rosters.field.org": "organisation",
      "rosters.ownOrg": "This organisation", "rosters.others": "Other organisations"
    }
  });
  YJ.page("rosters", { nav: 34, render: rosters });

  var people = [], byID = {}, orgs = {};
  function loadDirectory() {
    return Promise.all([api("GET", "/api/v1/people"), api("GET", "/api/v1/orgs")]).then(function (res) {
      people = res[0] || [];
      byID = {};
      people.forEach(function (p) { byID[p.id] = p; });
      orgs = {};
      (res[1] || []).forEach(function (o) { orgs[o.id] = o; });
    });
  }
  function personName(id) { return (byID[id] && byID[id].name) || id; }
  function orgName(id) { return (orgs[id] && orgs[id].name) || id; }
  function rosterName(ro) { return orgName(ro.org) + " · " + label("dutyrole.", ro.role); }
  function turn(x) { return Array.isArray(x) ? x : [x]; }
  function holders(list) {
    return (list || []).map(function (h) { return "<b>" + esc(h.name || h.id) + "</b>" + (h.phone ? ' <a href="tel:' + esc(h.phone) + '">' + esc(h.phone) + "</a>" : ""); }).join("<br>") || esc(t("common.none"));
  }
  function cell(key, html) { return '<td data-label="' + esc(t(key)) + '">' + html + "</td>"; }
  function head(keys) { return "<thead><tr><th>" + keys.map(function (k) { return esc(t(k)); }).join("</th><th>") + "</th></tr></thead>"; }

  function rosters(r) {
    var p = r.params;
    if (p.org && p.role) { one(p.org, p.role, p); return; }
    var v = $("#view"), current = ticket("view");
    var when = p.at ? TZ.instant(p.at) : NaN;
    v.innerHTML = '<section class="rosters"><div class="card"><div class="toolbar"><h2>' + esc(t("rosters.at")) + '</h2><form id="duty-at" class="tgroup">' +
      '<label class="field">' + esc(t("rosters.atTime", { zone: TZ.zone() })) + ' <input type="datetime-local" name="at" value="' + esc(isNaN(when) ? TZ.local(TZ.now()) : p.at) + '"></label>' +
      '<button type="submit" class="primary">' + esc(t("rosters.show")) + '</button><button type="button" id="duty-now" class="link">' + esc(t("rosters.now")) + "</button></form></div>" +
      '<div id="duty-at-result"><p class="muted">' + esc(t("common.loading")) + "</p></div></div>" +
      '<div class="card"><div class="toolbar"><h2>' + esc(t("rosters.list")) + "</h2></div>" + '<div id="roster-list"></div>' +
      (YJ.can("admin") ? newForm() : "") + "</div></section>";
    $("#duty-at").addEventListener("submit", function (ev) { ev.preventDefault(); location.hash = "#/rosters?" + qs({ at: ev.target.at.value }); });
    $("#duty-now").onclick = function () { location.hash = "#/rosters"; };
    var instant = isNaN(when) ? TZ.now() : when;
    Promise.all([loadDirectory(), api("GET", "/api/v1/duty?" + qs({ at: YJ.iso(instant) })), api("GET", "/api/v1/rosters")]).then(function (res) {
      if (YJ.app.view !== "rosters" || !current()) { return; }
      dutyAt(res[1], instant);
      rosterList(res[2] || []);
      var nf = $("#new-roster");
      if (nf) {
        nf.org.innerHTML = Object.keys(orgs).map(function (id) { return '<option value="' + esc(id) + '">' + esc(orgName(id)) + "</option>"; }).join("");
        nf.addEventListener("submit", function (ev) {
          ev.preventDefault();
          if (nf.role.value.trim()) { location.hash = "#/rosters?" + qs({ org: nf.org.value, role: nf.role.value.trim(), edit: 1 }); }
        });
      }
    }, function (err) {
      if (err.status !== 401 && $("#duty-at-result")) { $("#duty-at-result").innerHTML = '<p class="muted">' + esc(err.status === 404 ? t("rosters.unavailable") : t("common.error", { msg: err.message })) + "</p>"; }
    });
  }
  function newForm() {
    return '<form id="new-roster" class="tgroup new-roster"><label class="field">' + esc(t("rosters.newOrg")) + '<select name="org"></select></label>' +
      '<label class="field">' + esc(t("rosters.newRole")) + '<input name="role" list="known-roles" required></label><datalist id="known-roles">' +
      ["duty_officer", "leader_on_duty", "bureau_on_duty", "grid_member"].map(function (x) { return '<option value="' + x + '">' + esc(label("dutyrole.", x)) + "</option>"; }).join("") +
      '</datalist><button type="submit">' + esc(t("rosters.new")) + "</button></form>";
  }
  // dutyAt draws who holds every roster at the instant.
  function dutyAt(d, instant) {
    var box = $("#duty-at-result"), rows = (d && d.rosters) || [];
    var title = '<p class="at-title">' + esc(t("rosters.atResult", { at: fmtTime(instant, true), zone: TZ.zone() })) + "</p>";
    if (!rows.length) { box.innerHTML = title + '<p class="empty">' + esc(t("rosters.empty")) + "</p>"; return; }
    box.innerHTML = title + '<table id="duty-at-table" class="data-table">' + head(["rosters.org", "rosters.role", "rosters.holders", "rosters.shift", "rosters.next"]) + "<tbody>" +
      rows.map(function (e) {
        return '<tr data-org="' + esc(e.org) + '" data-role="' + esc(e.role) + '">' + cell("rosters.org", esc(e.org_name || orgName(e.org))) +
          cell("rosters.role", '<a href="#/rosters?' + qs({ org: e.org, role: e.role }) + '">' + esc(label("dutyrole.", e.role)) + "</a>" +
            (e.override ? ' <span class="flag">' + esc(t("rosters.override")) + (e.note ? "：" + esc(e.note) : "") + "</span>" : "")) +
          cell("rosters.holders", holders(e.holders)) + cell("rosters.shift", esc(fmtTime(e.since, true)) + " – " + esc(fmtTime(e.until, true))) +
          cell("rosters.next", (e.next || []).map(function (n) { return esc(n.name || n.id); }).join("、") || esc(t("common.none"))) + "</tr>";
      }).join("") + "</tbody></table>";
  }
  function rosterList(list) {
    var box = $("#roster-list");
    if (!list.length) { box.innerHTML = '<p class="empty">' + esc(t("rosters.empty")) + "</p>"; return; }
    box.innerHTML = '<table id="rosters-table" class="data-table">' + head(["rosters.org", "rosters.role", "rosters.shifts", "rosters.rotation", "rosters.overrides"]) + "<tbody>" +
      list.map(function (ro) {
        return '<tr data-org="' + esc(ro.org) + '" data-role="' + esc(ro.role) + '">' + cell("rosters.org", esc(orgName(ro.org))) +
          cell("rosters.role", '<a href="#/rosters?' + qs({ org: ro.org, role: ro.role }) + '">' + esc(label("dutyrole.", ro.role)) + "</a>") +
          cell("rosters.shifts", esc((ro.shifts || []).join("、"))) +
          cell("rosters.rotation", esc((ro.rotation || []).map(function (x) { return turn(x).map(personName).join("+"); }).join(" → "))) +
          cell("rosters.overrides", String((ro.overrides || []).length)) + "</tr>";
      }).join("") + "</tbody></table>";
  }

  // one draws a roster's page; edit opens the editor at once (a new
  // roster, or after a refused save).
  function one(org, role, p, note) {
    var v = $("#view"), current = ticket("view"), key = org + "/" + role;
    var path = "/api/v1/rosters/" + encodeURIComponent(org) + "/" + encodeURIComponent(role);
    v.innerHTML = '<section class="roster" data-roster="' + esc(key) + '"><p><a href="#/rosters">' + esc(t("rosters.back")) + '</a></p><div id="roster-body"><p class="muted">' + esc(t("common.loading")) + "</p></div></section>";
    Promise.all([loadDirectory(), api("GET", path).catch(function (err) { if (err.status === 404) { return null; } throw err; })]).then(function (res) {
      if (YJ.app.view !== "rosters" || !current()) { return; }
      var ro = res[1], box = $("#roster-body");
      if (!ro && !(p.edit && YJ.can("admin"))) { box.innerHTML = '<p class="empty">' + esc(t("rosters.unknown", { key: key })) + "</p>"; return; }
      ro = ro || { org: org, role: role, shifts: ["08:00"], start: TZ.date(TZ.now()), rotation: [], overrides: [] };
      var isNew = !res[1];
      box.innerHTML = '<div class="toolbar"><h2>' + esc(rosterName(ro)) + ' <span class="muted id">' + esc(key) + "</span></h2>" +
        (YJ.can("admin") && !isNew ? '<div class="tgroup"><button type="button" id="roster-edit" class="primary">' + esc(t("rosters.edit")) + '</button><button type="button" id="roster-delete">' + esc(t("rosters.delete")) + "</button></div>" : "") +
        '</div><p id="roster-msg" class="act-msg ok" role="status">' + esc(note || "") + "</p>" +
        '<div id="roster-view"' + (isNew ? " hidden" : "") + ">" + view(ro) + "</div>" +
        (YJ.can("admin") ? '<div id="roster-editor"' + (p.edit || isNew ? "" : " hidden") + ">" + editor(ro) + '</div><div class="card" id="roster-changes"></div>' : "");
      if (!isNew) { coming(ro); }
      if (!YJ.can("admin")) { return; }
      wireEditor(ro, path, isNew);
      changes(path);
      if ($("#roster-edit")) {
        $("#roster-edit").onclick = function () { $("#roster-editor").hidden = false; $("#roster-view").hidden = true; $("#roster-edit").disabled = true; };
        $("#roster-delete").onclick = function () {
          if (!window.confirm(t("rosters.deleteConfirm", { name: rosterName(ro) }))) { return; }
          api("DELETE", path).then(function () { location.hash = "#/rosters"; }, function (err) {
            $("#roster-msg").className = "act-msg error";
            $("#roster-msg").textContent = t("common.error", { msg: err.message });
          });
        };
      }
    }, function (err) { if (err.status !== 401 && $("#roster-body")) { $("#roster-body").innerHTML = failed(err); } });
  }
  function fact(key, html) { return "<div><dt>" + esc(t(key)) + "</dt><dd>" + html + "</dd></div>"; }
  function view(ro) {
    return '<div class="card"><dl class="facts">' + fact("rosters.shifts", esc((ro.shifts || []).join("、"))) + fact("rosters.start", esc(ro.start)) +
      fact("rosters.tz", esc(ro.timezone || TZ.zone())) + "</dl>" +
      "<h3>" + esc(t("rosters.rotation")) + '</h3><ol id="rotation" class="rotation">' + (ro.rotation || []).map(function (x) {
        return "<li>" + esc(turn(x).map(personName).join("、")) + "</li>";
      }).join("") + '</ol><p class="muted small">' + esc(t("rosters.startHint")) + "</p></div>" +
      '<div class="card"><h3>' + esc(t("rosters.coming")) + '</h3><div id="coming"><p class="muted">' + esc(t("common.loading")) + "</p></div></div>" +
      '<div class="card"><h3>' + esc(t("rosters.overrides")) + "</h3>" + ((ro.overrides || []).length ? '<table id="overrides" class="data-table">' +
        head(["rosters.from", "rosters.to", "rosters.people", "rosters.note"]) + "<tbody>" + ro.overrides.map(function (o) {
          return "<tr>" + cell("rosters.from", esc(o.from)) + cell("rosters.to", esc(o.to)) + cell("rosters.people", esc((o.people || []).map(personName).join("、"))) +
            cell("rosters.note", esc(o.note || "")) + "</tr>";
        }).join("") + "</tbody></table>" : '<p class="muted">' + esc(t("rosters.overrides.empty")) + "</p>") + "</div>";
  }
  // coming lists the roster's shifts from now: who, from when to when,
  // and the override in force, asking GET /api/v1/duty at each shift's end.
  function coming(ro) {
    var rows = [], current = ticket("coming");
    function step(at, n) {
      if (n === 0) { return Promise.resolve(); }
      return api("GET", "/api/v1/duty?" + qs({ at: YJ.iso(at) })).then(function (d) {
        var e = ((d && d.rosters) || []).filter(function (x) { return x.org === ro.org && x.role === ro.role; })[0];
        if (!e) { return null; }
        rows.push(e);
        return step(Date.parse(e.until), n - 1);
      });
    }
    step(TZ.now(), UPCOMING).then(function () {
      var box = $("#coming");
      if (!box || !current()) { return; }
      box.innerHTML = '<table id="coming-table" class="data-table">' + head(["rosters.from", "rosters.to", "rosters.holders"]) + "<tbody>" + rows.map(function (e) {
        return "<tr>" + cell("rosters.from", esc(fmtTime(e.since, true))) + cell("rosters.to", esc(fmtTime(e.until, true))) +
          cell("rosters.holders", holders(e.holders) + (e.override ? ' <span class="flag">' + esc(t("rosters.override")) + (e.note ? "：" + esc(e.note) : "") + "</span>" : "")) + "</tr>";
      }).join("") + "</tbody></table>";
    }, function (err) { if ($("#coming") && err.status !== 401) { $("#coming").innerHTML = failed(err); } });
  }

  // --- the editor (admin) ---------------------------------------------------
  function personSelect(org, cur) {
    var own = people.filter(function (x) { return x.org === org; }), others = people.filter(function (x) { return x.org !== org; });
    var opt = function (x) { return '<option value="' + esc(x.id) + '"' + (x.id === cur ? " selected" : "") + ">" + esc(x.name + (x.position ? "（" + x.position + "）" : "")) + "</option>"; };
    return '<select class="person" aria-label="' + esc(t("rosters.pick")) + '"><option value="">' + esc(t("rosters.pick")) + "</option>" +
      (own.length ? '<optgroup label="' + esc(t("rosters.ownOrg")) + '">' + own.map(opt).join("") + "</optgroup>" : "") +
      (others.length ? '<optgroup label="' + esc(t("rosters.others")) + '">' + others.map(opt).join("") + "</optgroup>" : "") + "</select>";
  }
  function turnRow(org, ids, i) {
    return '<li class="turn" data-i="' + i + '"><span class="turn-n">' + esc(t("rosters.turn", { n: i + 1 })) + '</span><span class="persons">' +
      (ids.length ? ids : [""]).map(function (id) { return personSelect(org, id); }).join("") + '</span><button type="button" class="link add-person">' + esc(t("rosters.addPerson")) +
      '</button><button type="button" class="link remove">' + esc(t("rosters.remove")) + '</button><p class="row-error error"></p></li>';
  }
  function overrideRow(org, o, i) {
    var dt = function (s) { return esc((s || "").replace(" ", "T").slice(0, 16)); };
    return '<li class="override" data-i="' + i + '"><label class="field">' + esc(t("rosters.from")) + '<input type="datetime-local" name="from" value="' + dt(o.from) + '"></label>' +
      '<label class="field">' + esc(t("rosters.to")) + '<input type="datetime-local" name="to" value="' + dt(o.to) + '"></label>' +
      '<span class="field">' + esc(t("rosters.people")) + '<span class="persons">' + ((o.people || []).length ? o.people : [""]).map(function (id) { return personSelect(org, id); }).join("") + "</span></span>" +
      '<label class="field">' + esc(t("rosters.note")) + '<input name="note" value="' + esc(o.note || "") + '"></label>' +
      '<button type="button" class="link add-person">' + esc(t("rosters.addPerson")) + '</button><button type="button" class="link remove">' + esc(t("rosters.remove")) + '</button><p class="row-error error"></p></li>';
  }
  function editor(ro) {
    return '<form id="roster-form" class="card stack" novalidate><div id="roster-problems" class="error" role="alert"></div>' +
      '<div class="tgroup"><label class="field">' + esc(t("rosters.shiftsInput")) + '<input name="shifts" value="' + esc((ro.shifts || []).join(", ")) + '"></label>' +
      '<label class="field">' + esc(t("rosters.start")) + '<input type="date" name="start" value="' + esc(ro.start || "") + '"></label>' +
      '<label class="field">' + esc(t("rosters.tzInput", { zone: TZ.zone() })) + '<input name="timezone" value="' + esc(ro.timezone || "") + '"></label></div>' +
      "<h3>" + esc(t("rosters.rotation")) + '</h3><ol id="turns" class="turns">' + (ro.rotation || []).map(function (x, i) { return turnRow(ro.org, turn(x), i); }).join("") +
      '</ol><button type="button" id="add-turn" class="link">' + esc(t("rosters.addTurn")) + "</button>" +
      "<h3>" + esc(t("rosters.overrides")) + '</h3><ol id="override-rows" class="overrides">' + (ro.overrides || []).map(function (o, i) { return overrideRow(ro.org, o, i); }).join("") +
      '</ol><button type="button" id="add-override" class="link">' + esc(t("rosters.addOverride")) + "</button>" +
      '<div class="tgroup"><button type="submit" class="primary" id="roster-save">' + esc(t("rosters.save")) + '</button><button type="button" id="roster-cancel">' + esc(t("rosters.cancel")) + "</button></div></form>";
  }
  function renumber() {
    $$("#turns .turn").forEach(function (li, i) { li.dataset.i = i; li.querySelector(".turn-n").textContent = t("rosters.turn", { n: i + 1 }); });
    $$("#override-rows .override").forEach(function (li, i) { li.dataset.i = i; });
  }
  function wireEditor(ro, path, isNew) {
    var f = $("#roster-form");
    f.addEventListener("click", function (ev) {
      var b = ev.target.closest("button");
      if (!b) { return; }
      var row = b.closest("li");
      if (b.classList.contains("add-person") && row) { row.querySelector(".persons").insertAdjacentHTML("beforeend", personSelect(ro.org, "")); }
      if (b.classList.contains("remove") && row) { row.remove(); renumber(); }
      if (b.id === "add-turn") { $("#turns").insertAdjacentHTML("beforeend", turnRow(ro.org, [], $$("#turns .turn").length)); }
      if (b.id === "add-override") { $("#override-rows").insertAdjacentHTML("beforeend", overrideRow(ro.org, {}, $$("#override-rows .override").length)); }
      if (b.id === "roster-cancel") {
        if (isNew) { location.hash = "#/rosters"; return; }
        $("#roster-editor").hidden = true; $("#roster-view").hidden = false; $("#roster-edit").disabled = false;
      }
    });
    f.addEventListener("submit", function (ev) {
      ev.preventDefault();
      var picked = function (li) { return $$("select.person", li).map(function (s) { return s.value; }).filter(Boolean); };
      var body = {
        shifts: f.shifts.value.split(/[,，、\s]+/).filter(Boolean), start: f.start.value,
        rotation: $$("#turns .turn").map(function (li) { var ids = picked(li); return ids.length === 1 ? ids[0] : ids; }),
        overrides: $$("#override-rows .override").map(function (li) {
          var o = { from: li.querySelector("[name=from]").value.replace("T", " "), to: li.querySelector("[name=to]").value.replace("T", " "), people: picked(li) };
          var note = li.querySelector("[name=note]").value.trim();
          if (note) { o.note = note; }
          return o;
        })
      };
      if (f.timezone.value.trim()) { body.timezone = f.timezone.value.trim(); }
      $$(".invalid", f).forEach(function (x) { x.classList.remove("invalid"); });
      $$(".row-error", f).forEach(function (x) { x.textContent = ""; });
      $("#roster-problems").innerHTML = "";
      $("#roster-save").disabled = true;
      api("PUT", path, body).then(function () {
        one(ro.org, ro.role, {}, t("rosters.saved"));
      }, function (err) {
        $("#roster-save").disabled = false;
        problems(f, err);
      });
    });
  }
  // problems shows a refused save: each problem at the row or field it
  // names (shifts[0], rotation[2][1], overrides[0].to), all in a list on
  // top.
  function problems(f, err) {
    var list = (err.data && err.data.problems) || [];
    var lines = list.length ? list.map(function (p) {
      var where = p.field || "", m, el = null, txt = where;
      if ((m = /^rotation\[(\d+)\]/.exec(where))) {
        el = $$("#turns .turn")[+m[1]];
        txt = t("rosters.field.turn", { n: +m[1] + 1 });
      } else if ((m = /^overrides\[(\d+)\](?:\.(\w+))?/.exec(where))) {
        el = $$("#override-rows .override")[+m[1]];
        txt = t("rosters.field.override", { n: +m[1] + 1 }) + (m[2] ? " · " + t("rosters." + (m[2] === "people" ? "people" : m[2])) : "");
        if (el && m[2] && el.querySelector("[name=" + m[2] + "]")) { el.querySelector("[name=" + m[2] + "]").classList.add("invalid"); }
      } else if ((m = /^(shifts|start|timezone|role|org)/.exec(where))) {
        if (f[m[1]]) { f[m[1]].classList.add("invalid"); }
        txt = t("rosters.field." + m[1]);
      }
      if (el) {
        el.classList.add("invalid");
        var re = el.querySelector(".row-error");
        re.textContent = (re.textContent ? re.textContent + "；" : "") + p.message;
      }
      return "<li><b>" + esc(txt) + "</b>：" + esc(p.message) + "</li>";
    }) : ["<li>" + esc(err.message) + "</li>"];
    $("#roster-problems").innerHTML = "<p>" + esc(t("rosters.problems")) + "</p><ul>" + lines.join("") + "</ul>";
    $("#roster-problems").scrollIntoView({ block: "nearest" });
  }
  // changes lists the roster's changes from the audit log (admin).
  function changes(path) {
    var current = ticket("roster-changes");
    api("GET", "/api/v1/audit?" + qs({ action: "/api/v1/rosters/", limit: 500 })).then(function (es) {
      var box = $("#roster-changes");
      if (!box || !current()) { return; }
      var mine = (es || []).filter(function (e) { return e.object === path; }).slice(0, 20);
      box.innerHTML = "<h3>" + esc(t("rosters.changes")) + "</h3>" + (mine.length ? '<table id="roster-audit" class="data-table">' +
        head(["rosters.changes.when", "rosters.changes.who", "rosters.changes.what"]) + "<tbody>" + mine.map(function (e) {
          return "<tr>" + cell("rosters.changes.when", esc(fmtTime(e.at, true))) + cell("rosters.changes.who", esc(YJ.actor(e.actor))) +
            cell("rosters.changes.what", esc(t(/^DELETE/.test(e.action) ? "rosters.changes.delete" : "rosters.changes.put"))) + "</tr>";
        }).join("") + "</tbody></table>" : '<p class="muted">' + esc(t("rosters.changes.empty")) + "</p>");
    }, function (err) { if ($("#roster-changes") && err.status !== 401) { $("#roster-changes").innerHTML = failed(err); } });
  }

})(window.YJ);

// The audit log (#/audit?q=&actor=&action=&from=&to=), admins only: who
// did what, when and from where, newest first; searched (q: text anywhere
// in an entry) and filtered by actor, kind of action and time (in the
// configured zone); whether the hash chain is intact (GET
// /api/v1/audit/verify); the same selection as CSV (GET /api/v1/audit.csv).
// Actions are said in words, their objects by name, the route beside them.
(function (YJ) {
  "use strict";
  var t = YJ.t, esc = YJ.esc, $ = YJ.$, api = YJ.api, TZ = YJ.time, qs = YJ.qs;
  YJ.strings({
    zh: {
      "nav.audit": "审计日志",
      "audit.title": "审计日志", "audit.q": "搜索（对象、内容、操作人）", "audit.actor": "操作人", "audit.kind": "操作类别", "audit.from": "起", "audit.to": "止",
      "audit.csv": "导出 CSV", "audit.more": "加载更多", "audit.shown": "显示 {n} 条", "audit.empty": "没有符合条件的记录。",
      "audit.verify": "重新校验", "audit.checking": "正在校验审计链…",
      "audit.ok": "审计链完整：共 {n} 条记录，逐条核对哈希无误。最后一条的哈希：{hash}",
      "audit.broken": "审计链已损坏：{problem}。第 1 至 {last} 条完好。", "audit.brokenAll": "审计链已损坏：{problem}。",
      "audit.keep": "请把最后一条的哈希另行留存（值班日志、每日邮件），日后可据此发现末尾记录被删除。",
      "audit.col.seq": "序号", "audit.col.at": "时间", "audit.col.actor": "操作人", "audit.col.action": "操作", "audit.col.object": "对象", "audit.col.detail": "内容", "audit.col.from": "来源",
      "audit.k.alerts": "预警处置", "audit.k.calls": "叫应", "audit.k.answer": "应答链接", "audit.k.silences": "静默", "audit.k.sensors": "监测点", "audit.k.sites": "站点生产状态",
      "audit.k.people": "人员", "audit.k.orgs": "单位", "audit.k.rosters": "值班表", "audit.k.responsibility": "责任链", "audit.k.users": "用户", "audit.k.tokens": "API 令牌",
      "audit.k.login": "登录", "audit.k.password": "修改本人密码", "audit.k.reload": "重新加载配置", "audit.k.callbacks": "服务商回执",
      "audit.a.ack": "确认响应", "audit.a.dispose": "记录处置", "audit.a.close": "核查销号", "audit.a.links": "生成应答链接", "audit.a.answer": "代为登记应答", "audit.a.link": "生成应答链接",
      "audit.a.answerLink": "经应答链接应答", "audit.a.silenceNew": "新建静默", "audit.a.silenceEnd": "解除静默",
      "audit.a.sensorNew": "新增监测点", "audit.a.sensorEdit": "修改监测点", "audit.a.sensorDelete": "删除监测点", "audit.a.sensorImport": "导入监测点表格", "audit.a.siteStatus": "变更生产状态",
      "audit.a.personNew": "新增人员", "audit.a.personEdit": "修改人员", "audit.a.personDelete": "删除人员", "audit.a.orgNew": "新增单位", "audit.a.orgEdit": "修改单位", "audit.a.orgDelete": "删除单位",
      "audit.a.rosterEdit": "修改值班表", "audit.a.rosterDelete": "删除值班表", "audit.a.respEdit": "修改责任链", "audit.a.respDelete": "删除责任链",
      "audit.a.userNew": "新建用户", "audit.a.userEdit": "修改用户", "audit.a.userRole": "修改用户角色", "audit.a.userPassword": "重置用户密码", "audit.a.userDisable": "停用用户", "audit.a.userEnable": "启用用户", "audit.a.userDelete": "删除用户",
      "audit.a.tokenNew": "新建 API 令牌", "audit.a.tokenRevoke": "吊销 API 令牌", "audit.a.login": "登录", "audit.a.logout": "退出", "audit.a.password": "修改本人密码",
      "audit.a.reload": "重新加载配置", "audit.a.callback": "服务商回执",
      "audit.a.cliUserAdd": "命令行：新建用户", "audit.a.cliPasswd": "命令行：设置密码", "audit.a.cliDisable": "命令行：停用用户", "audit.a.cliEnable": "命令行：启用用户", "audit.a.cliUserRm": "命令行：删除用户",
      "audit.a.cliTokenNew": "命令行：新建令牌", "audit.a.cliTokenRevoke": "命令行：吊销令牌",
      "audit.o.alert": "预警 #{id}", "audit.o.call": "叫应 {id}", "audit.o.silence": "静默 #{id}", "audit.o.user": "用户 {id}", "audit.o.token": "令牌 {id}",
      "audit.o.person": "人员 {id}", "audit.o.org": "单位 {id}", "audit.o.roster": "值班表 {id}", "audit.o.resp": "责任链 {id}"
    },
    en: {
      "nav.audit": "Audit log",
      "audit.title": "Audit log", "audit.q": "Search (object, content, actor)", "audit.actor": "Actor", "audit.kind": "Kind of action", "audit.from": "From", "audit.to": "To",
      "audit.csv": "Export CSV", "audit.more": "Load more", "audit.shown": "{n} shown", "audit.empty": "No entry matches.",
      "audit.verify": "Check again", "audit.checking": "Checking the chain…",
      "audit.ok": "The chain is intact: {n} entries, every hash checked. The last entry's hash: {hash}",
      "audit.broken": "The chain is broken: {problem}. Entries 1 to {last} are intact.", "audit.brokenAll": "The chain is broken: {problem}.",
      "audit.keep": "Keep the last hash elsewhere (the duty log, a daily e-mail): it shows later whether entries were removed from the end.",
      "audit.col.seq": "No.", "audit.col.at": "Time", "audit.col.actor": "Actor", "audit.col.action": "Action", "audit.col.object": "Object", "audit.col.detail": "Content", "audit.col.from": "From",
      "audit.k.alerts": "warnings", "audit.k.calls": "calls", "audit.k.answer": "answer links", "audit.k.silences": "silences", "audit.k.sensors": "sensors", "audit.k.sites": "site statuses",
      "audit.k.people": "people", "audit.k.orgs": "organisations", "audit.k.rosters": "duty rosters", "audit.k.responsibility": "responsibility chains", "audit.k.users": "users", "audit.k.tokens": "API tokens",
      "audit.k.login": "log in", "audit.k.password": "own password", "audit.k.reload": "reload", "audit.k.callbacks": "provider callbacks",
      "audit.a.ack": "acknowledged", "audit.a.dispose": "recorded disposal", "audit.a.close": "closed", "audit.a.links": "made answer links", "audit.a.answer": "recorded an answer", "audit.a.link": "made an answer link",
      "audit.a.answerLink": "answered by link", "audit.a.silenceNew": "created a silence", "audit.a.silenceEnd": "ended a silence",
      "audit.a.sensorNew": "added a sensor", "audit.a.sensorEdit": "changed a sensor", "audit.a.sensorDelete": "deleted a sensor", "audit.a.sensorImport": "imported a sheet of sensors", "audit.a.siteStatus": "changed a site's status",
      "audit.a.personNew": "added a person", "audit.a.personEdit": "changed a person", "audit.a.personDelete": "removed a person", "audit.a.orgNew": "added an organisation", "audit.a.orgEdit": "changed an organisation", "audit.a.orgDelete": "removed an organisation",
      "audit.a.rosterEdit": "changed a duty roster", "audit.a.rosterDelete": "removed a duty roster", "audit.a.respEdit": "changed a responsibility chain", "audit.a.respDelete": "removed a responsibility chain",
      "audit.a.userNew": "created a user", "audit.a.userEdit": "changed a user", "audit.a.userRole": "changed a user's role", "audit.a.userPassword": "reset a user's password", "audit.a.userDisable": "disabled a user", "audit.a.userEnable": "enabled a user", "audit.a.userDelete": "removed a user",
      "audit.a.tokenNew": "created an API token", "audit.a.tokenRevoke": "revoked an API token", "audit.a.login": "logged in", "audit.a.logout": "logged out", "audit.a.password": "changed own password",
      "audit.a.reload": "reloaded the configuration", "audit.a.callback": "provider callback",
      "audit.a.cliUserAdd": "CLI: created a user", "audit.a.cliPasswd": "CLI: set a password", "audit.a.cliDisable": "CLI: disabled a user", "audit.a.cliEnable": "CLI: enabled a user", "audit.a.cliUserRm": "CLI: removed a user",
      "audit.a.cliTokenNew": "CLI: created a token", "audit.a.cliTokenRevoke": "CLI: revoked a token",
      "audit.o.alert": "warning #{id}", "audit.o.call": "call {id}", "audit.o.silence": "silence #{id}", "audit.o.user": "user {id}", "audit.o.token": "token {id}",
      "audit.o.person": "person {id}", "audit.o.org": "organisation {id}", "audit.o.roster": "roster {id}", "audit.o.resp": "responsibility {id}"
    }
  });
  YJ.page("audit", { nav: 95, role: "admin", render: auditPage });

  var PAGE = 100;
  // KINDS are the action filter's choices: each a text the action contains.
  var KINDS = [["alerts", "/api/v1/alerts/"], ["calls", "/api/v1/calls/"], ["answer", "/answer/"], ["silences", "/api/v1/silences"], ["sensors", "/api/v1/sensors"],
    ["sites", "/api/v1/sites/"], ["people", "/api/v1/people"], ["orgs", "/api/v1/orgs"], ["rosters", "/api/v1/rosters"], ["responsibility", "/api/v1/responsibility"],
    ["users", "users"], ["tokens", "tokens"], ["login", "/api/v1/log"], ["password", "/api/v1/me/password"], ["reload", "/-/reload"], ["callbacks", "/api/v1/callbacks/"]];
  // ACTIONS name each recorded action (web.actionOf: method and route;
  // web/auth/accounts: "yujing users add", …).
  var ACTIONS = {
    "POST /api/v1/alerts/{id}/ack": "ack", "POST /api/v1/alerts/{id}/dispose": "dispose", "POST /api/v1/alerts/{id}/close": "close", "POST /api/v1/alerts/{id}/links": "links",
    "POST /api/v1/calls/{id}/answer": "answer", "POST /api/v1/calls/{id}/link": "link", "POST /answer/{token}": "answerLink",
    "POST /api/v1/silences": "silenceNew", "DELETE /api/v1/silences/{id}": "silenceEnd",
    "POST /api/v1/sensors": "sensorNew", "PUT /api/v1/sensors/{id}": "sensorEdit", "DELETE /api/v1/sensors/{id}": "sensorDelete", "POST /api/v1/sensors/import": "sensorImport",
    "PUT /api/v1/sites/{id}/status": "siteStatus",
    "POST /api/v1/people": "personNew", "PUT /api/v1/people/{id}": "personEdit", "DELETE /api/v1/people/{id}": "personDelete",
    "POST /api/v1/orgs": "orgNew", "PUT /api/v1/orgs/{id}": "orgEdit", "DELETE /api/v1/orgs/{id}": "orgDelete",
    "PUT /api/v1/rosters/{org}/{role}": "rosterEdit", "DELETE /api/v1/rosters/{org}/{role}": "rosterDelete",
    "PUT /api/v1/responsibility/{key}": "respEdit", "DELETE /api/v1/responsibility/{key}": "respDelete",
    "POST /api/v1/users": "userNew", "PUT /api/v1/users/{name}": "userEdit", "DELETE /api/v1/users/{name}": "userDelete",
    "POST /api/v1/tokens": "tokenNew", "DELETE /api/v1/tokens/{name}": "tokenRevoke",
    "POST /api/v1/login": "login", "POST /api/v1/logout": "logout", "POST /api/v1/me/password": "password",
    "POST /-/reload": "reload", "POST /api/v1/callbacks/{channel}": "callback",
    "yujing users add": "cliUserAdd", "yujing users passwd": "cliPasswd", "yujing users disable": "cliDisable", "yujing users enable": "cliEnable", "yujing users rm": "cliUserRm",
    "yujing tokens create": "cliTokenNew", "yujing tokens revoke": "cliTokenRevoke"
  };
  // OBJECTS name what an action was done to, from its path.
  var OBJECTS = [
    [/^\/api\/v1\/alerts\/(\d+)/, function (m) { return '<a href="#/alert/' + m[1] + '">' + esc(t("audit.o.alert", { id: m[1] })) + "</a>"; }],
    [/^\/api\/v1\/calls\/([^/]+)/, function (m) { return esc(t("audit.o.call", { id: dec(m[1]) })); }],
    [/^\/api\/v1\/silences\/(\d+)/, function (m) { return esc(t("audit.o.silence", { id: m[1] })); }],
    [/^\/api\/v1\/sensors\/(?!import$)([^/]+)$/, function (m) { return YJ.named(YJ.sensorName(dec(m[1])), dec(m[1])); }],
    [/^\/api\/v1\/sites\/([^/]+)/, function (m) { return YJ.named(YJ.siteName(dec(m[1])), dec(m[1])); }],
    [/^(?:\/api\/v1\/users|user)\/([^/]+)$/, function (m) { return esc(t("audit.o.user", { id: dec(m[1]) })); }],
    [/^(?:\/api\/v1\/tokens|token)\/([^/]+)$/, function (m) { return esc(t("audit.o.token", { id: dec(m[1]) })); }],
    [/^\/api\/v1\/people\/([^/]+)$/, function (m) { return esc(t("audit.o.person", { id: dec(m[1]) })); }],
    [/^\/api\/v1\/orgs\/([^/]+)$/, function (m) { return esc(t("audit.o.org", { id: dec(m[1]) })); }],
    [/^\/api\/v1\/rosters\/(.+)$/, function (m) { return esc(t("audit.o.roster", { id: dec(m[1]) })); }],
    [/^\/api\/v1\/responsibility\/(.+)$/, function (m) { return esc(t("audit.o.resp", { id: dec(m[1]) })); }]
  ];
  function dec(s) { try { return decodeURIComponent(s); } catch (e) { return s; } }

  var loaded = [];
  function auditPage(r) {
    var p = r.params;
    $("#view").innerHTML = '<section class="audit"><div class="toolbar"><h2>' + esc(t("audit.title")) + '</h2><a class="button" id="audit-csv" download href="#">' + esc(t("audit.csv")) + "</a></div>" +
      '<div id="audit-verify" class="card verify" aria-live="polite"><p class="muted">' + esc(t("audit.checking")) + "</p></div>" +
      '<form id="audit-filters" class="filters" role="search">' +
      '<label class="field">' + esc(t("audit.q")) + '<input type="search" name="q" id="audit-q" value="' + esc(p.q || "") + '"></label>' +
      '<label class="field">' + esc(t("audit.actor")) + '<input name="actor" id="audit-actor" list="audit-actors" autocomplete="off" value="' + esc(p.actor || "") + '"><datalist id="audit-actors"></datalist></label>' +
      '<label class="field">' + esc(t("audit.kind")) + '<select name="action" id="audit-kind"><option value="">' + esc(t("filter.all")) + "</option>" + KINDS.map(function (k) {
        return '<option value="' + esc(k[1]) + '"' + (k[1] === p.action ? " selected" : "") + ">" + esc(t("audit.k." + k[0])) + "</option>";
      }).join("") + (p.action && !KINDS.some(function (k) { return k[1] === p.action; }) ? '<option selected value="' + esc(p.action) + '">' + esc(p.action) + "</option>" : "") + "</select></label>" +
      '<label class="field">' + esc(t("audit.from")) + '<input type="datetime-local" name="from" id="audit-from" value="' + esc(p.from || "") + '"></label>' +
      '<label class="field">' + esc(t("audit.to")) + '<input type="datetime-local" name="to" id="audit-to" value="' + esc(p.to || "") + '"></label>' +
      '<button type="button" id="audit-clear" class="link">' + esc(t("filter.clear")) + '</button><span id="audit-shown" class="muted"></span></form>' +
      '<div id="audit-list"><p class="muted">' + esc(t("common.loading")) + '</p></div><p><button type="button" id="audit-more" hidden>' + esc(t("audit.more")) + "</button></p></section>";
    var form = $("#audit-filters");
    var apply = function (ev) {
      if (ev) { ev.preventDefault(); }
      var o = {};
      ["q", "actor", "action", "from", "to"].forEach(function (k) { o[k] = form[k].value.trim(); });
      location.hash = "#/audit" + (qs(o) ? "?" + qs(o) : "");
    };
    form.addEventListener("change", apply);
    form.addEventListener("submit", apply);
    $("#audit-clear").onclick = function () { location.hash = "#/audit"; };
    var f = filterOf(p);
    $("#audit-csv").href = "/api/v1/audit.csv" + (qs(f) ? "?" + qs(f) : "");
    loaded = [];
    $("#audit-more").onclick = function () { more(f); };
    verify();
    actors();
    more(f);
  }
  // filterOf is the API's filter: the times typed in the configured zone
  // as RFC 3339 instants.
  function filterOf(p) {
    var f = { q: p.q || "", actor: p.actor || "", action: p.action || "" };
    ["from", "to"].forEach(function (k) {
      var ms = TZ.instant(p[k] || "");
      if (!isNaN(ms)) { f[k] = YJ.iso(ms); }
    });
    return f;
  }
  function more(f) {
    var current = YJ.ticket("audit"), q = { limit: PAGE, offset: loaded.length };
    Object.keys(f).forEach(function (k) { q[k] = f[k]; });
    // The sensors are read for their names.
    Promise.all([api("GET", "/api/v1/audit?" + qs(q)), YJ.loadSensors().catch(function () { return []; })]).then(function (res) {
      var box = $("#audit-list"), es = res[0];
      if (!box || !current() || YJ.app.view !== "audit") { return; }
      loaded = loaded.concat(es || []);
      $("#audit-more").hidden = (es || []).length < PAGE;
      $("#audit-shown").textContent = t("audit.shown", { n: loaded.length });
      if (!loaded.length) { box.innerHTML = '<p class="empty">' + esc(t("audit.empty")) + "</p>"; return; }
      box.innerHTML = '<table id="audit" class="audit-table"><thead><tr><th>' + ["seq", "at", "actor", "action", "object", "detail", "from"].map(function (c) { return esc(t("audit.col." + c)); }).join("</th><th>") +
        "</th></tr></thead><tbody>" + loaded.map(row).join("") + "</tbody></table>";
    }, function (err) { if (err.status !== 401 && $("#audit-list")) { $("#audit-list").innerHTML = YJ.failed(err); } });
  }
  function cell(col, html, cls) { return '<td data-label="' + esc(t("audit.col." + col)) + '"' + (cls ? ' class="' + cls + '"' : "") + ">" + html + "</td>"; }
  function row(e) {
    var from = /^(\S*)(?:.*?ua="((?:[^"\\]|\\.)*)")?/.exec(e.from || "") || [];
    var detail = e.detail || "";
    return '<tr data-seq="' + e.seq + '" data-actor="' + esc(e.actor) + '" data-action="' + esc(e.action) + '">' +
      cell("seq", esc(e.seq), "num") + cell("at", esc(YJ.fmtTime(e.at, true))) + cell("actor", esc(YJ.actor(e.actor))) +
      cell("action", "<b>" + esc(actionName(e)) + '</b><br><span class="muted small">' + esc(e.action) + "</span>") +
      cell("object", objectName(e)) +
      cell("detail", detail.length > 80 ? "<details><summary>" + esc(detail.slice(0, 80)) + "…</summary><code>" + esc(detail) + "</code></details>" : "<code>" + esc(detail) + "</code>", "detail") +
      cell("from", esc(from[1] || "") + (from[2] ? '<br><span class="muted small" title="' + esc(from[2]) + '">' + esc(from[2].slice(0, 40)) + "</span>" : "")) + "</tr>";
  }
  // actionName says an action in words; a change of a user by what changed.
  function actionName(e) {
    var k = ACTIONS[e.action];
    if (k === "userEdit") {
      var d = {};
      try { d = JSON.parse(e.detail) || {}; } catch (err) { d = {}; }
      k = d.password !== undefined ? "userPassword" : d.disabled === true ? "userDisable" : d.disabled === false ? "userEnable" : d.role ? "userRole" : k;
    }
    return k ? t("audit.a." + k) : e.action;
  }
  // objectName names what an action was done to: from its path, or for
  // one that made something (a user, a token, a sensor, a silence) or
  // logged in, from what it was sent.
  function objectName(e) {
    var o = e.object || "";
    for (var i = 0; i < OBJECTS.length; i++) {
      var m = OBJECTS[i][0].exec(o);
      if (m) { return OBJECTS[i][1](m); }
    }
    var d = {};
    try { d = JSON.parse(e.detail) || {}; } catch (err) { d = {}; }
    switch (e.action) {
      case "POST /api/v1/users": case "POST /api/v1/login":
        if (typeof d.username === "string") { return esc(t("audit.o.user", { id: d.username })); }
        break;
      case "POST /api/v1/tokens":
        if (typeof d.name === "string") { return esc(t("audit.o.token", { id: d.name })); }
        break;
      case "POST /api/v1/sensors":
        if (typeof d.id === "string") { return YJ.named(YJ.sensorName(d.id), d.id); }
        break;
      case "POST /api/v1/silences":
        var m = d.matchers || {};
        if (m.sensor) { return YJ.named(YJ.sensorName(m.sensor), m.sensor); }
        if (m.site) { return YJ.named(YJ.siteName(m.site), m.site); }
        if (m.family) { return esc(YJ.fam(m.family)); }
        if (m.rule) { return YJ.named(YJ.ruleName(m.rule), m.rule); }
        break;
    }
    return esc(o);
  }
  function verify() {
    var box = $("#audit-verify"), current = YJ.ticket("verify");
    api("GET", "/api/v1/audit/verify").then(function (rep) {
      if (!current() || !$("#audit-verify")) { return; }
      box.dataset.ok = rep.ok ? "true" : "false";
      box.className = "card verify " + (rep.ok ? "verify-ok" : "verify-broken");
      box.innerHTML = "<p><b>" + esc(rep.ok ? t("audit.ok", { n: rep.entries, hash: rep.last_hash }) : rep.last_seq ? t("audit.broken", { problem: rep.problem, last: rep.last_seq }) : t("audit.brokenAll", { problem: rep.problem })) + "</b></p>" +
        '<p class="muted small">' + esc(t("audit.keep")) + ' <button type="button" class="link" id="audit-reverify">' + esc(t("audit.verify")) + "</button></p>";
      $("#audit-reverify").onclick = function () { box.innerHTML = '<p class="muted">' + esc(t("audit.checking")) + "</p>"; verify(); };
    }, function (err) { if (err.status !== 401 && $("#audit-verify")) { box.innerHTML = YJ.failed(err); } });
  }
  // actors offers the users and tokens to filter by.
  function actors() {
    Promise.all([api("GET", "/api/v1/users").catch(function () { return []; }), api("GET", "/api/v1/tokens").catch(function () { return []; })]).then(function (res) {
      var dl = $("#audit-actors");
      if (!dl) { return; }
      var names = (res[0] || []).map(function (u) { return u.username; }).concat((res[1] || []).map(function (x) { return "token:" + x.name; }), ["system", "anonymous"]);
      dl.innerHTML = names.map(function (n) { return '<option value="' + esc(n) + '">'; }).join("");
    });
  }
})(window.YJ);

// Users and API tokens (#/users), admins only: create a user with a role,
// change the role, reset the password, disable and enable, remove; create
// an API token (its secret is shown once, here, and never again) and
// revoke one. The server keeps the last enabled admin (409) and ends a
// user's sessions when the password changes or the user is disabled.
(function (YJ) {
  "use strict";
  var t = YJ.t, esc = YJ.esc, $ = YJ.$, $$ = YJ.$$, api = YJ.api, fmtTime = YJ.fmtTime;
  var ROLES = ["viewer", "operator", "admin"];
  YJ.strings({
    zh: {
      "nav.users": "用户与令牌",
      "users.title": "用户", "users.name": "用户名", "users.role": "角色", "users.state": "状态", "users.created": "创建时间", "users.updated": "最后修改",
      "users.enabled": "正常", "users.disabled": "已停用", "users.you": "（本人）",
      "users.add": "新建用户", "users.password": "初始密码（至少 10 个字符）", "users.create": "创建",
      "users.created.ok": "已创建用户 {name}。", "users.role.ok": "{name} 的角色已改为{role}。",
      "users.reset": "重置密码", "users.reset.new": "{name} 的新密码", "users.reset.save": "确定", "users.reset.ok": "已重置 {name} 的密码，其登录已全部退出。",
      "users.disable": "停用", "users.enable": "启用", "users.disable.confirm": "确认停用？", "users.disabled.ok": "已停用 {name}，其登录已全部退出。", "users.enabled.ok": "已启用 {name}。",
      "users.delete": "删除", "users.delete.confirm": "确认删除？", "users.deleted": "已删除用户 {name}。",
      "users.roles": "只读：查看一切（审计日志、用户和令牌除外）；值班员：另可确认、处置、销号预警和代为登记应答；管理员：另可管理监测点、静默、通讯录、用户和令牌，查看审计日志。",
      "tokens.title": "API 令牌", "tokens.hint": "令牌供系统对接（脚本、值班 App、Grafana）使用：请求头 Authorization: Bearer <令牌>。",
      "tokens.name": "名称", "tokens.source": "来源", "tokens.src.api": "本页创建", "tokens.src.config": "配置文件", "tokens.createdBy": "创建人",
      "tokens.lastUsed": "最近使用", "tokens.state": "状态", "tokens.valid": "有效", "tokens.revoked": "已吊销 {at}",
      "tokens.add": "新建令牌", "tokens.create": "创建", "tokens.secret": "令牌 {name} 已创建。它只显示这一次，请立即复制保存：",
      "tokens.copy": "复制", "tokens.copied": "已复制", "tokens.revoke": "吊销", "tokens.revoke.confirm": "确认吊销？", "tokens.revoked.ok": "已吊销令牌 {name}。",
      "tokens.never": "从未", "tokens.fromConfig": "在配置文件中删除",
      "users.off": "本服务未启用登录，没有用户和令牌。"
    },
    en: {
      "nav.users": "Users & tokens",
      "users.title": "Users", "users.name": "User name", "users.role": "Role", "users.state": "State", "users.created": "Created", "users.updated": "Last changed",
      "users.enabled": "active", "users.disabled": "disabled", "users.you": " (you)",
      "users.add": "New user", "users.password": "First password (at least 10 characters)", "users.create": "Create",
      "users.created.ok": "User {name} created.", "users.role.ok": "{name} is now {role}.",
      "users.reset": "Reset password", "users.reset.new": "New password for {name}", "users.reset.save": "Set", "users.reset.ok": "{name}'s password was reset; all their logins ended.",
      "users.disable": "Disable", "users.enable": "Enable", "users.disable.confirm": "Disable?", "users.disabled.ok": "{name} disabled; all their logins ended.", "users.enabled.ok": "{name} enabled.",
      "users.delete": "Remove", "users.delete.confirm": "Remove?", "users.deleted": "User {name} removed.",
      "users.roles": "viewer: sees everything but the audit log, users and tokens; operator: also acknowledges, disposes and closes warnings and records answers; admin: also manages sensors, silences, the directory, users and tokens, and reads the audit log.",
      "tokens.title": "API tokens", "tokens.hint": "Tokens are for integrations (scripts, a duty app, Grafana): send the header Authorization: Bearer <token>.",
      "tokens.name": "Name", "tokens.source": "Source", "tokens.src.api": "made here", "tokens.src.config": "configuration file", "tokens.createdBy": "Created by",
      "tokens.lastUsed": "Last used", "tokens.state": "State", "tokens.valid": "valid", "tokens.revoked": "revoked {at}",
      "tokens.add": "New token", "tokens.create": "Create", "tokens.secret": "Token {name} created. It is shown this once: copy it now:",
      "tokens.copy": "Copy", "tokens.copied": "copied", "tokens.revoke": "Revoke", "tokens.revoke.confirm": "Revoke?", "tokens.revoked.ok": "Token {name} revoked.",
      "tokens.never": "never", "tokens.fromConfig": "remove it from the configuration",
      "users.off": "Login is not enabled on this server: there are no users or tokens."
    }
  });
  YJ.page("users", { nav: 85, role: "admin", render: usersPage });

  function roleOptions(cur) {
    return ROLES.map(function (r) { return '<option value="' + r + '"' + (r === cur ? " selected" : "") + ">" + esc(t("role." + r)) + "</option>"; }).join("");
  }
  function usersPage() {
    $("#view").innerHTML = '<section class="users">' +
      '<div class="card"><div class="toolbar"><h2>' + esc(t("users.title")) + "</h2></div>" +
      '<p class="muted small">' + esc(t("users.roles")) + "</p>" +
      '<p id="users-msg" class="act-msg" role="status"></p><div id="users-list" class="scroll"><p class="muted">' + esc(t("common.loading")) + "</p></div>" +
      '<form id="user-form" class="filters"><h3 class="wide">' + esc(t("users.add")) + "</h3>" +
      '<label class="field">' + esc(t("users.name")) + '<input id="nu-name" name="username" required autocomplete="off"></label>' +
      '<label class="field">' + esc(t("users.password")) + '<input id="nu-password" name="password" type="password" required minlength="10" autocomplete="new-password"></label>' +
      '<label class="field">' + esc(t("users.role")) + '<select id="nu-role" name="role">' + roleOptions("operator") + "</select></label>" +
      '<button type="submit" class="primary" id="nu-create">' + esc(t("users.create")) + "</button></form></div>" +
      '<div class="card"><h2>' + esc(t("tokens.title")) + '</h2><p class="muted small">' + esc(t("tokens.hint")) + "</p>" +
      '<p id="tokens-msg" class="act-msg" role="status"></p><div id="token-secret-box"></div><div id="tokens-list" class="scroll"><p class="muted">' + esc(t("common.loading")) + "</p></div>" +
      '<form id="token-form" class="filters"><h3 class="wide">' + esc(t("tokens.add")) + "</h3>" +
      '<label class="field">' + esc(t("tokens.name")) + '<input id="nt-name" name="name" required autocomplete="off" placeholder="grafana"></label>' +
      '<label class="field">' + esc(t("users.role")) + '<select id="nt-role" name="role">' + roleOptions("viewer") + "</select></label>" +
      '<button type="submit" class="primary" id="nt-create">' + esc(t("tokens.create")) + "</button></form></div></section>";
    $("#user-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var f = ev.target, name = f.username.value.trim();
      act("users", api("POST", "/api/v1/users", { username: name, password: f.password.value, role: f.role.value }), t("users.created.ok", { name: name }), $("#nu-create"))
        .then(function (ok) { if (ok) { f.reset(); f.role.value = "operator"; } });
    });
    $("#token-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var f = ev.target, b = $("#nt-create");
      b.disabled = true;
      api("POST", "/api/v1/tokens", { name: f.name.value.trim(), role: f.role.value }).then(function (tok) {
        b.disabled = false;
        f.reset();
        $("#tokens-msg").textContent = "";
        // The secret, once: it is in no other answer and not in the list.
        $("#token-secret-box").innerHTML = '<div class="secret card" id="token-secret"><p>' + esc(t("tokens.secret", { name: tok.name })) + "</p>" +
          '<p><code id="token-value">' + esc(tok.token) + '</code> <button type="button" id="token-copy">' + esc(t("tokens.copy")) + "</button></p></div>";
        $("#token-copy").onclick = function () {
          var done = function () { $("#token-copy").textContent = t("tokens.copied"); };
          if (navigator.clipboard) { navigator.clipboard.writeText(tok.token).then(done, function () {}); } else { done(); }
        };
        tokens();
      }, function (err) {
        b.disabled = false;
        say("tokens", false, t("common.error", { msg: err.message }));
      });
    });
    users();
    tokens();
  }
  function say(box, ok, text) {
    var m = $("#" + box + "-msg");
    if (m) { m.className = "act-msg " + (ok ? "ok" : "error"); m.textContent = text; }
  }
  // act runs a request, says how it went and reads the list again;
  // resolves true when it went through.
  function act(box, req, done, button) {
    if (button) { button.disabled = true; }
    return req.then(function () {
      if (button) { button.disabled = false; }
      say(box, true, done);
      if (box === "users") { users(); } else { tokens(); }
      return true;
    }, function (err) {
      if (button) { button.disabled = false; }
      say(box, false, t("common.error", { msg: err.message }));
      if (box === "users") { users(); }
      return false;
    });
  }
  function users() {
    var current = YJ.ticket("users");
    api("GET", "/api/v1/users").then(function (us) {
      var box = $("#users-list");
      if (!box || !current()) { return; }
      var me = YJ.app.me.user;
      box.innerHTML = '<table id="users" class="users-table"><thead><tr><th>' + ["users.name", "users.role", "users.state", "users.created", "users.updated"].map(function (k) { return esc(t(k)); }).join("</th><th>") +
        "</th><th></th></tr></thead><tbody>" + (us || []).map(function (u) {
          var self = u.username === me, n = esc(u.username);
          return '<tr data-user="' + n + '" data-role="' + esc(u.role) + '" data-disabled="' + u.disabled + '"><td data-label="' + esc(t("users.name")) + '"><b>' + n + "</b>" + (self ? esc(t("users.you")) : "") +
            '</td><td data-label="' + esc(t("users.role")) + '">' + (self ? esc(t("role." + u.role)) : '<select class="user-role" data-user="' + n + '" aria-label="' + esc(t("users.role")) + '">' + roleOptions(u.role) + "</select>") +
            '</td><td data-label="' + esc(t("users.state")) + '"><span class="' + (u.disabled ? "s-offline" : "s-online") + '">' + esc(t(u.disabled ? "users.disabled" : "users.enabled")) + "</span>" +
            '</td><td data-label="' + esc(t("users.created")) + '">' + esc(fmtTime(u.created_at, true)) + '</td><td data-label="' + esc(t("users.updated")) + '">' + esc(fmtTime(u.updated_at, true)) +
            '</td><td class="act">' + (self ? "" : '<button type="button" class="small user-reset" data-user="' + n + '">' + esc(t("users.reset")) + "</button>" +
              '<button type="button" class="small user-toggle" data-user="' + n + '" data-disabled="' + u.disabled + '">' + esc(t(u.disabled ? "users.enable" : "users.disable")) + "</button>" +
              '<button type="button" class="small user-delete" data-user="' + n + '">' + esc(t("users.delete")) + "</button>") + "</td></tr>";
        }).join("") + "</tbody></table>";
      $$("select.user-role", box).forEach(function (s) {
        s.onchange = function () {
          var name = s.dataset.user, role = s.value;
          act("users", api("PUT", "/api/v1/users/" + encodeURIComponent(name), { role: role }), t("users.role.ok", { name: name, role: t("role." + role) }));
        };
      });
      $$("button.user-reset", box).forEach(function (b) { b.onclick = function () { resetForm(b); }; });
      $$("button.user-toggle", box).forEach(function (b) {
        var name = b.dataset.user, disabled = b.dataset.disabled === "true";
        b.onclick = function () {
          var go = function () { act("users", api("PUT", "/api/v1/users/" + encodeURIComponent(name), { disabled: !disabled }), t(disabled ? "users.enabled.ok" : "users.disabled.ok", { name: name }), b); };
          if (disabled) { go(); } else { YJ.twice(b, t("users.disable.confirm"), go); }
        };
      });
      $$("button.user-delete", box).forEach(function (b) {
        b.onclick = function () {
          YJ.twice(b, t("users.delete.confirm"), function () {
            act("users", api("DELETE", "/api/v1/users/" + encodeURIComponent(b.dataset.user)), t("users.deleted", { name: b.dataset.user }), b);
          });
        };
      });
    }, function (err) { listFailed("#users-list", err); });
  }
  function listFailed(sel, err) {
    var box = $(sel);
    if (box && err.status !== 401) { box.innerHTML = err.status === 404 ? '<p class="empty">' + esc(t("users.off")) + "</p>" : YJ.failed(err); }
  }
  // resetForm opens a small form under the user's row for the new password.
  function resetForm(b) {
    var name = b.dataset.user, tr = b.closest("tr"), old = $("#reset-row");
    if (old) { old.remove(); }
    tr.insertAdjacentHTML("afterend", '<tr id="reset-row"><td colspan="6"><form id="reset-form" class="filters"><label class="field">' + esc(t("users.reset.new", { name: name })) +
      '<input type="password" id="reset-password" required minlength="10" autocomplete="new-password"></label><button type="submit" class="primary" id="reset-save">' + esc(t("users.reset.save")) + "</button></form></td></tr>");
    $("#reset-password").focus();
    $("#reset-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      act("users", api("PUT", "/api/v1/users/" + encodeURIComponent(name), { password: $("#reset-password").value }), t("users.reset.ok", { name: name }), $("#reset-save"));
    });
  }
  function tokens() {
    var current = YJ.ticket("tokens");
    api("GET", "/api/v1/tokens").then(function (ts) {
      var box = $("#tokens-list");
      if (!box || !current()) { return; }
      box.innerHTML = '<table id="tokens" class="tokens-table"><thead><tr><th>' + ["tokens.name", "users.role", "tokens.source", "tokens.createdBy", "users.created", "tokens.lastUsed", "tokens.state"].map(function (k) { return esc(t(k)); }).join("</th><th>") +
        "</th><th></th></tr></thead><tbody>" + (ts || []).map(function (x) {
          var n = esc(x.name), api_ = x.source === "api";
          return '<tr data-token="' + n + '" data-revoked="' + !!x.revoked_at + '"><td data-label="' + esc(t("tokens.name")) + '"><b>' + n + '</b></td><td data-label="' + esc(t("users.role")) + '">' + esc(t("role." + x.role)) +
            '</td><td data-label="' + esc(t("tokens.source")) + '">' + esc(t(api_ ? "tokens.src.api" : "tokens.src.config")) + '</td><td data-label="' + esc(t("tokens.createdBy")) + '">' + esc(YJ.actor(x.created_by || "")) +
            '</td><td data-label="' + esc(t("users.created")) + '">' + (x.created_at ? esc(fmtTime(x.created_at, true)) : "") + '</td><td data-label="' + esc(t("tokens.lastUsed")) + '">' + (x.last_used_at ? esc(fmtTime(x.last_used_at, true)) : esc(t(api_ ? "tokens.never" : "common.none"))) +
            '</td><td data-label="' + esc(t("tokens.state")) + '">' + (x.revoked_at ? '<span class="s-offline">' + esc(t("tokens.revoked", { at: fmtTime(x.revoked_at, true) })) + "</span>" : '<span class="s-online">' + esc(t("tokens.valid")) + "</span>") +
            '</td><td class="act">' + (!api_ ? '<span class="muted small">' + esc(t("tokens.fromConfig")) + "</span>" : x.revoked_at ? "" : '<button type="button" class="small token-revoke" data-token="' + n + '">' + esc(t("tokens.revoke")) + "</button>") + "</td></tr>";
        }).join("") + "</tbody></table>";
      $$("button.token-revoke", box).forEach(function (b) {
        b.onclick = function () {
          YJ.twice(b, t("tokens.revoke.confirm"), function () {
            act("tokens", api("DELETE", "/api/v1/tokens/" + encodeURIComponent(b.dataset.token)), t("tokens.revoked.ok", { name: b.dataset.token }), b);
          });
        };
      });
    }, function (err) { listFailed("#tokens-list", err); });
  }
})(window.YJ);

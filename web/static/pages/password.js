// Change password (#/password, 修改密码 in the header): a logged-in user
// changes their own. Not for API tokens or a server without login.
(function (YJ) {
  "use strict";
  var t = YJ.t, esc = YJ.esc, $ = YJ.$, api = YJ.api;
  YJ.strings({
    zh: {
      "password.title": "修改密码", "password.current": "当前密码", "password.new": "新密码", "password.confirm": "再次输入新密码",
      "password.submit": "修改", "password.hint": "新密码至少 10 个字符。修改后，本账号在其他设备上的登录会退出。",
      "password.mismatch": "两次输入的新密码不一致", "password.wrong": "当前密码不正确",
      "password.done": "密码已修改，其他 {n} 处登录已退出。"
    },
    en: {
      "password.title": "Change your password", "password.current": "Current password", "password.new": "New password", "password.confirm": "New password again",
      "password.submit": "Change", "password.hint": "At least 10 characters. Your account's other logins (other devices) are logged out.",
      "password.mismatch": "The two new passwords differ", "password.wrong": "The current password is wrong",
      "password.done": "Password changed; {n} other logins were logged out."
    }
  });
  YJ.page("password", { render: passwordPage });

  // passwordPage lets a logged-in user change their own password. The
  // server checks the current one and the new one's length; its other
  // sessions end, this one goes on.
  function passwordPage() {
    if (YJ.app.me.open || YJ.app.me.token) { location.hash = "#/board"; return; }
    var v = $("#view");
    v.innerHTML = '<form id="password-form" class="login card">' +
      "<h2>" + esc(t("password.title")) + "</h2>" +
      '<input type="text" name="username" autocomplete="username" value="' + esc(YJ.app.me.user) + '" hidden>' +
      '<label>' + esc(t("password.current")) + '<input name="current" id="pw-current" type="password" autocomplete="current-password" required></label>' +
      '<label>' + esc(t("password.new")) + '<input name="next" id="pw-new" type="password" autocomplete="new-password" required></label>' +
      '<label>' + esc(t("password.confirm")) + '<input name="confirm" id="pw-confirm" type="password" autocomplete="new-password" required></label>' +
      '<p class="error" role="alert" id="pw-error"></p><p class="act-msg ok" role="status" id="pw-done"></p>' +
      '<button type="submit" class="primary">' + esc(t("password.submit")) + "</button>" +
      '<p class="hint">' + esc(t("password.hint")) + "</p></form>";
    $("#password-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var f = ev.target;
      $("#pw-error").textContent = "";
      $("#pw-done").textContent = "";
      if (f.next.value !== f.confirm.value) { $("#pw-error").textContent = t("password.mismatch"); return; }
      api("POST", "/api/v1/me/password", { current_password: f.current.value, new_password: f.next.value }).then(function (r) {
        f.reset();
        $("#pw-done").textContent = t("password.done", { n: r.other_sessions_ended });
      }, function (err) {
        $("#pw-error").textContent = err.status === 403 ? t("password.wrong") : err.status === 429 ? t("login.limited") : t("common.error", { msg: err.message });
      });
    });
  }

})(window.YJ);

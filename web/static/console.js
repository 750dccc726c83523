// The duty-room console: one page, hash routes (#/board, #/alert/7,
// #/sensors, #/duty, #/stats), live over Server-Sent Events (EventSource,
// which reconnects on its own; no polling). Strings come from i18n.js,
// charts from charts.js.
(function () {
  "use strict";
  var DICT = window.YJ_I18N, CH = window.YJCharts, TZ = window.YJTime;
  var LEVELS = ["red", "orange", "yellow", "blue"], RANK = { red: 4, orange: 3, yellow: 2, blue: 1 };
  // FAMILIES are the sensor families the server's configuration knows
  // (GET /api/v1/families, loaded in begin); these built-in ones until then.
  var FAMILIES = ["gas", "hazard", "dust", "weather", "flood", "power", "electrical"], FAMINFO = {};
  var STATES = ["open", "firing", "acknowledged", "disposing", "resolved", "closed"];
  var REASONS = ["real_hazard", "false_alarm", "equipment_fault", "maintenance", "other"];
  var app = {
    lang: store("yujing.lang") === "en" ? "en" : "zh",
    me: null, es: null, open: [], board: [], seen: {}, audio: null,
    sensors: null, rules: null, timers: {}, seq: {}, view: "", detailID: 0,
    meta: null, siteNames: {}, sensorNames: {}, metricNames: {}
  };
  var $ = function (s, root) { return (root || document).querySelector(s); };
  var $$ = function (s, root) { return Array.prototype.slice.call((root || document).querySelectorAll(s)); };

  function store(k, v) {
    try {
      if (v === undefined) { return localStorage.getItem(k); }
      localStorage.setItem(k, v);
    } catch (e) { return null; }
  }
  function t(key, vars) {
    var s = (DICT[app.lang] && DICT[app.lang][key]) || DICT.zh[key] || key;
    return vars ? s.replace(/\{(\w+)\}/g, function (m, k) { return vars[k] != null ? vars[k] : m; }) : s;
  }
  function esc(s) {
    return String(s == null ? "" : s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function lvl(l) { return '<span class="lvl lvl-' + esc(l) + '" data-level="' + esc(l) + '">' + esc(t("level." + l)) + "</span>"; }
  function stateTag(s) { return '<span class="state state-' + esc(s) + '">' + esc(t("state." + s)) + "</span>"; }
  function fam(f) {
    if (!f) { return ""; }
    var key = "family." + f, info = FAMINFO[f] || {};
    var name = (DICT[app.lang] && DICT[app.lang][key]) || DICT.zh[key] ? t(key) : (app.lang === "en" ? info.name_en : info.name) || info.name || f;
    return info.icon ? info.icon + " " + name : name;
  }
  // loadFamilies reads the families the server's configuration knows; an
  // older server without GET /api/v1/families keeps the built-in ones.
  function loadFamilies() {
    return api("GET", "/api/v1/families").then(function (fs) {
      if (fs && fs.length) {
        FAMILIES = fs.map(function (f) { FAMINFO[f.id] = f; return f.id; });
      }
    }, function () { /* the built-in families */ });
  }
  function pad(n) { return (n < 10 ? "0" : "") + n; }
  // fmtTime writes a time in the server's zone (TZ, from /api/v1/meta),
  // the date only when it is not today there (or withDate).
  function fmtTime(s, withDate) {
    if (!s) { return t("common.none"); }
    var ms = typeof s === "number" ? s : Date.parse(s);
    if (isNaN(ms)) { return String(s); }
    var day = TZ.date(ms);
    return (withDate || day !== TZ.date(TZ.now()) ? day + " " : "") + TZ.clock(ms);
  }
  // Names instead of ids: sites from /api/v1/meta, sensors from
  // /api/v1/sensors, metrics by family from /api/v1/meta.
  function siteName(id) { return app.siteNames[id] || id || ""; }
  function sensorName(id) { return app.sensorNames[id] || id || ""; }
  function metricName(family, metric) {
    var n = app.metricNames[family + "/" + metric];
    return (n && (app.lang === "en" ? n.en : n.zh)) || metric || "";
  }
  function ruleName(id) {
    var r = (app.rules || []).find(function (x) { return x.name === id; });
    return (r && r.description) || id || "";
  }
  // named shows a name with its id after it, when they differ.
  function named(name, id) { return esc(name) + (id && name !== id ? ' <span class="muted id">' + esc(id) + "</span>" : ""); }
  // via says how an answer came (link, console, api, "sms reply", "voice key 1").
  function via(ch) {
    if (!ch) { return ""; }
    if (ch === "link" || ch === "console" || ch === "api") { return t("via." + ch); }
    var m = /^(.*) (reply|key (\S+))$/.exec(ch);
    if (m) { return m[3] ? t("via.key", { ch: m[1], key: m[3] }) : t("via.reply", { ch: m[1] }); }
    return ch;
  }
  function actor(a) { return a === "system" ? t("actor.system") : a; }
  function loadMeta() {
    return api("GET", "/api/v1/meta").then(function (m) {
      app.meta = m || {};
      TZ.setZone(app.meta.timezone, app.meta.utc_offset_seconds);
      TZ.setNow(app.meta.now);
      app.siteNames = {};
      (app.meta.sites || []).forEach(function (x) { if (x.name) { app.siteNames[x.id] = x.name; } });
      app.metricNames = {};
      (app.meta.metrics || []).forEach(function (x) { if (x.zh || x.en) { app.metricNames[x.family + "/" + x.metric] = x; } });
      footer();
    }, function () { footer(); });
  }
  // footer names the zone every time on the page is in.
  function footer() {
    var f = $("#foot");
    if (!f) { return; }
    if (!app.me) { f.textContent = ""; return; }
    f.innerHTML = '<span id="zone" data-zone="' + esc(TZ.zone()) + '">' + esc(t("foot.zone", { zone: TZ.zone(), offset: TZ.offsetLabel(TZ.now()) })) + "</span>" +
      (app.meta && app.meta.version ? ' · yujing ' + esc(app.meta.version) : "");
  }
  function fmtDur(ms) {
    var s = Math.max(0, Math.round(ms / 1000));
    if (s < 60) { return t("time.s", { n: s }); }
    if (s < 3600) { return t("time.m", { n: Math.floor(s / 60) }); }
    if (s < 86400) { return t("time.h", { n: (s / 3600).toFixed(s < 36000 ? 1 : 0).replace(/\.0$/, "") }); }
    return t("time.d", { n: (s / 86400).toFixed(1).replace(/\.0$/, "") });
  }
  function age(s) { return fmtDur(TZ.now() - Date.parse(s)); }
  function num(v) { return typeof v === "number" ? CH.fmtNum(v) : esc(v); }
  function byLevel(a, b) { return (RANK[b.level] - RANK[a.level]) || (Date.parse(a.started_at) - Date.parse(b.started_at)); }
  function canOperate() { return app.me && (app.me.role === "operator" || app.me.role === "admin"); }
  // ticket numbers the requests of one kind: only the answer to the latest
  // is drawn, so a slow older answer never overwrites a newer one.
  function ticket(name) {
    var n = app.seq[name] = (app.seq[name] || 0) + 1;
    return function () { return app.seq[name] === n; };
  }
  function qs(o) {
    return Object.keys(o).filter(function (k) { return o[k] !== "" && o[k] != null; })
      .map(function (k) { return encodeURIComponent(k) + "=" + encodeURIComponent(o[k]); }).join("&");
  }

  // api calls the JSON API; a 401 outside login means the session is gone.
  function api(method, path, body) {
    var h = { Accept: "application/json" };
    if (body !== undefined) { h["Content-Type"] = "application/json"; }
    if (method !== "GET" && app.me && app.me.csrf_token) { h["X-CSRF-Token"] = app.me.csrf_token; }
    return fetch(path, { method: method, headers: h, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body) })
      .then(function (r) {
        return r.text().then(function (txt) {
          var data = null;
          try { data = txt ? JSON.parse(txt) : null; } catch (e) { data = null; }
          if (r.ok) { return data; }
          var err = new Error((data && data.error) || r.statusText || "HTTP " + r.status);
          err.status = r.status;
          if (r.status === 401 && path !== "/api/v1/login" && path !== "/api/v1/me") { sessionLost(); }
          throw err;
        });
      });
  }

  // --- session -------------------------------------------------------------
  function start() {
    applyLang();
    api("GET", "/api/v1/me").then(function (me) {
      app.me = me;
      begin();
    }, function (err) {
      if (err.status === 404) { // no login on this server: everything is open
        app.me = { user: "", role: "admin", open: true };
        begin();
      } else {
        showLogin();
      }
    });
  }
  function begin() {
    document.body.classList.remove("logged-out");
    header();
    Promise.all([loadMeta(), loadFamilies()]).then(function () {
      if (!app.me) { return; }
      connect();
      refreshOpen();
      route();
    });
  }
  function sessionLost() {
    if (!app.me || app.me.open) { return; }
    app.me = null;
    if (app.es) { app.es.close(); app.es = null; }
    showLogin();
  }
  function showLogin(msg) {
    app.view = "login";
    document.body.classList.add("logged-out");
    header();
    footer();
    var v = $("#view");
    v.innerHTML = '<form id="login" class="login card" autocomplete="on">' +
      "<h2>" + esc(t("login.title")) + "</h2>" +
      '<label>' + esc(t("login.user")) + '<input name="username" id="login-user" autocomplete="username" required autofocus></label>' +
      '<label>' + esc(t("login.password")) + '<input name="password" id="login-password" type="password" autocomplete="current-password" required></label>' +
      '<p class="error" role="alert" id="login-error">' + esc(msg || "") + "</p>" +
      '<button type="submit" class="primary">' + esc(t("login.submit")) + "</button>" +
      '<p class="hint">' + esc(t("login.hint")) + "</p></form>";
    $("#login").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var f = ev.target;
      api("POST", "/api/v1/login", { username: f.username.value, password: f.password.value }).then(function (me) {
        app.me = me;
        unlockAudio();
        begin();
      }, function (err) {
        $("#login-error").textContent = err.status === 429 ? t("login.limited") : err.status === 401 || err.status === 403 ? t("login.failed") : t("common.error", { msg: err.message });
      });
    });
  }
  function logout() {
    api("POST", "/api/v1/logout", {}).catch(function () {}).then(function () {
      app.me = null;
      if (app.es) { app.es.close(); app.es = null; }
      showLogin();
    });
  }

  // passwordPage lets a logged-in user change their own password. The
  // server checks the current one and the new one's length; its other
  // sessions end, this one goes on.
  function passwordPage() {
    app.view = "password";
    if (app.me.open || app.me.token) { location.hash = "#/board"; return; }
    var v = $("#view");
    v.innerHTML = '<form id="password-form" class="login card">' +
      "<h2>" + esc(t("password.title")) + "</h2>" +
      '<input type="text" name="username" autocomplete="username" value="' + esc(app.me.user) + '" hidden>' +
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

  // --- header ----------------------------------------------------------------
  function header() {
    var h = $("#top");
    var page = (location.hash.match(/^#\/(\w+)/) || [])[1] || "board";
    if (page === "alert") { page = "board"; }
    var nav = ["board", "sensors", "duty", "stats"].map(function (p) {
      return '<a href="#/' + p + '" data-page="' + p + '"' + (p === page ? ' aria-current="page"' : "") + ">" + esc(t("nav." + p)) + "</a>";
    }).join("");
    var who = "";
    if (app.me) {
      who = app.me.open ? '<span class="who muted">' + esc(t("user.anonymous")) + "</span>" :
        '<span class="who" id="whoami" data-role="' + esc(app.me.role) + '">' + esc(app.me.user) + ' <span class="role">' + esc(t("role." + app.me.role)) + "</span></span>" +
        (app.me.token ? "" : '<a href="#/password" id="password-link" class="link">' + esc(t("user.password")) + "</a>") +
        '<button type="button" id="logout" class="link">' + esc(t("user.logout")) + "</button>";
    }
    h.innerHTML = '<h1><a href="#/board">' + esc(t("app.title")) + "</a> <small>yujing</small></h1>" +
      (app.me ? '<nav id="nav">' + nav + "</nav>" : "") +
      '<div id="counters" aria-live="polite"></div>' +
      '<div class="right">' + (app.me ? '<span id="conn" class="conn off">● ' + esc(t(app.es && app.es.readyState === 1 ? "conn.live" : "conn.connecting")) + "</span>" : "") +
      who + '<button type="button" id="lang" class="link" aria-label="' + esc(t("lang.label")) + '">' + esc(t("lang.switch")) + "</button></div>";
    if (app.es && app.es.readyState === 1) { $("#conn").className = "conn on"; }
    $("#lang").onclick = function () {
      app.lang = app.lang === "zh" ? "en" : "zh";
      store("yujing.lang", app.lang);
      applyLang();
      header();
      if (app.me) { route(); } else { showLogin(); }
    };
    if ($("#logout")) { $("#logout").onclick = logout; }
    counters();
  }
  function applyLang() {
    document.documentElement.lang = app.lang === "zh" ? "zh-CN" : "en";
    document.title = t("app.title") + " · yujing";
    footer();
    if (app.sys) { systemBanner(app.sys); }
  }
  function counters() {
    var c = $("#counters");
    if (!c || !app.me) { return; }
    var n = { red: 0, orange: 0, yellow: 0, blue: 0 };
    app.open.forEach(function (a) { n[a.level]++; });
    c.innerHTML = LEVELS.map(function (l) {
      return '<a class="count lvl-' + l + '" data-level="' + l + '" href="#/board?' + qs({ level: l }) + '">' + esc(t("level." + l)) + " <b>" + n[l] + "</b></a>";
    }).join("");
  }
  function refreshOpen() {
    var current = ticket("open");
    return api("GET", "/api/v1/alerts?state=open&limit=1000").then(function (as) {
      if (!current()) { return; }
      app.open = (as || []).sort(byLevel);
      counters();
    }, function () {});
  }

  // --- live stream, banner and tone -------------------------------------------
  function connect() {
    if (app.es) { app.es.close(); }
    var es = new EventSource("/api/v1/stream");
    app.es = es;
    es.onopen = function () {
      var c = $("#conn");
      if (c) { c.className = "conn on"; c.textContent = "● " + t("conn.live"); }
      refreshOpen();
      refreshView();
    };
    es.onerror = function () {
      var c = $("#conn");
      if (c) { c.className = "conn off"; c.textContent = "● " + t("conn.retry"); }
      if (es.readyState === 2) { // closed for good (e.g. 401): check the session, then retry
        setTimeout(function () {
          api("GET", "/api/v1/me").then(function () { if (app.es === es) { connect(); } }, function (err) { if (err.status === 401) { sessionLost(); } else if (app.es === es) { connect(); } });
        }, 3000);
      }
    };
    es.addEventListener("system", function (ev) {
      try { systemBanner(JSON.parse(ev.data)); } catch (err) { /* keep the last one */ }
    });
    es.addEventListener("alert", function (ev) {
      var e;
      try { e = JSON.parse(ev.data); } catch (err) { return; }
      if (e.alert) {
        var rising = e.event === "raised" || e.event === "upgraded" || e.event === "reopened";
        if (rising && !e.alert.silenced && (e.alert.level === "red" || e.alert.level === "orange")) {
          banner(e.alert);
          beep(e.alert.level === "red" ? 3 : 1, e.alert.level === "red" ? 1320 : 880);
        } else if (String(e.alert.id) === $("#banner").dataset.id && (e.alert.acked_at || e.alert.state === "closed")) {
          $("#banner").hidden = true; // somebody has answered it
        }
      }
      soon("open", refreshOpen, 100);
      if (app.view === "board" || app.view === "duty" || app.view === "sensors" || e.event === "resync" ||
        (app.view === "alert" && e.alert && e.alert.id === app.detailID)) {
        soon("view", refreshView, 100);
      }
    });
  }
  function soon(name, fn, ms) {
    clearTimeout(app.timers[name]);
    app.timers[name] = setTimeout(fn, ms);
  }
  function unlockAudio() {
    try {
      app.audio = app.audio || new (window.AudioContext || window.webkitAudioContext)();
      if (app.audio.state === "suspended") { app.audio.resume(); }
    } catch (e) { app.audio = null; }
  }
  document.addEventListener("click", unlockAudio);
  // beep: three high tones for red, one lower for orange. Browsers play
  // sound only after the page was clicked once (logging in counts).
  function beep(times, freq) {
    try {
      unlockAudio();
      var au = app.audio;
      for (var i = 0; i < times; i++) {
        var o = au.createOscillator(), g = au.createGain(), at = au.currentTime + i * 0.35;
        o.frequency.value = freq;
        o.connect(g); g.connect(au.destination);
        g.gain.setValueAtTime(0.25, at);
        g.gain.exponentialRampToValueAtTime(0.001, at + 0.3);
        o.start(at); o.stop(at + 0.3);
      }
    } catch (e) { /* no audio device */ }
  }
  function banner(a) {
    var b = $("#banner");
    b.className = "banner lvl-" + a.level;
    b.dataset.id = a.id;
    b.innerHTML = '<span class="bt"><b>' + esc(t("banner.new", { level: t("level." + a.level) })) + "</b> " + esc(siteName(a.site)) + " · " + esc(sensorName(a.sensor)) +
      " · " + esc(a.message) + ' <span class="dismiss">（' + esc(t("banner.dismiss")) + "）</span></span>";
    b.hidden = false;
  }
  // systemBanner shows yujing's own trouble (GET /api/v1/system, "system"
  // events) in red under the header while it lasts: readings the store
  // refused, kept for replay.
  function systemBanner(st) {
    var b = $("#sysbanner");
    app.sys = st;
    var w = ((st && st.warnings) || []).filter(function (x) { return x.kind === "store_refused"; })[0];
    if (!w) { b.hidden = true; b.innerHTML = ""; return; }
    var reasons = Object.keys(w.reasons || {}).sort().map(function (r) { return t("sysreason." + r); }).join(app.lang === "zh" ? "、" : ", ");
    b.innerHTML = '<span class="bt"><b>' + esc(t("sys.store_refused", { n: w.readings })) + "</b>" +
      (w.full ? " · " + esc(t("sys.store_full")) : "") +
      ' <span class="dismiss">' + esc(t("sys.reasons", { r: reasons })) + " · " + esc(t("sys.how")) + "</span></span>";
    b.hidden = false;
  }
  $("#banner").addEventListener("click", function (ev) {
    var b = ev.currentTarget;
    b.hidden = true;
    if (b.dataset.id && !ev.target.classList.contains("dismiss")) { location.hash = "#/alert/" + b.dataset.id; }
  });

  // --- routing -------------------------------------------------------------
  function parseHash() {
    var h = location.hash.replace(/^#\/?/, "");
    var qi = h.indexOf("?"), path = qi >= 0 ? h.slice(0, qi) : h, params = {};
    if (qi >= 0) {
      h.slice(qi + 1).split("&").forEach(function (kv) {
        var p = kv.split("=");
        if (p[0]) { params[decodeURIComponent(p[0])] = decodeURIComponent((p[1] || "").replace(/\+/g, " ")); }
      });
    }
    var seg = path.split("/");
    return { page: seg[0] || "board", id: seg[1], params: params };
  }
  function route() {
    if (!app.me) { showLogin(); return; }
    var r = parseHash();
    header();
    var pages = { board: board, alert: detail, sensors: sensors, duty: duty, stats: stats, password: passwordPage };
    (pages[r.page] || board)(r, true);
  }
  function refreshView() {
    if (!app.me || app.view === "login") { return; }
    var r = parseHash();
    var pages = { board: board, alert: detail, sensors: sensors, duty: duty, stats: null };
    var f = pages[r.page];
    if (f) { f(r, false); }
  }
  window.addEventListener("hashchange", route);
  function failed(err) {
    return '<p class="error" role="alert">' + esc(t("common.error", { msg: err.message })) + "</p>";
  }
  function loadSensors() {
    if (app.sensors && Date.now() - app.sensors.at < 30000) { return Promise.resolve(app.sensors.list); }
    return api("GET", "/api/v1/sensors").then(function (l) {
      app.sensors = { at: Date.now(), list: l || [] };
      app.sensors.list.forEach(function (s) { if (s.name) { app.sensorNames[s.id] = s.name; } });
      return app.sensors.list;
    });
  }
  function loadRules() {
    if (app.rules) { return Promise.resolve(app.rules); }
    return api("GET", "/api/v1/rules").then(function (l) { app.rules = l || []; return app.rules; }, function () { return []; });
  }

  // --- live board ----------------------------------------------------------
  function board(r, fresh) {
    app.view = "board";
    var p = r.params, v = $("#view");
    var state = p.state || "open";
    if (fresh) {
      v.innerHTML = '<section class="board">' +
        '<form id="filters" class="filters" aria-label="filters">' +
        field("region", '<input name="region" list="regions" inputmode="numeric" value="' + esc(p.region || "") + '" placeholder="320506"><datalist id="regions"></datalist>') +
        field("site", '<select name="site"><option value="">' + esc(t("filter.all")) + "</option></select>") +
        field("family", select("family", [""].concat(FAMILIES), p.family, function (f) { return f ? fam(f) : t("filter.all"); })) +
        field("level", select("level", [""].concat(LEVELS), p.level, function (l) { return l ? t("level." + l) : t("filter.all"); })) +
        field("state", select("state", STATES, state, function (s) { return t("state." + s); })) +
        '<button type="button" id="clear" class="link">' + esc(t("filter.clear")) + '</button><span id="shown" class="muted"></span></form>' +
        '<table id="alerts" class="alerts"><thead><tr><th>' + [t("col.level"), t("col.state"), t("col.site"), t("col.sensor"), t("col.value"),
          t("col.started"), t("col.age"), t("col.message")].map(esc).join("</th><th>") + "</th></tr></thead><tbody></tbody></table>" +
        '<p id="empty" class="empty" hidden>' + esc(t("board.empty")) + "</p></section>";
      var form = $("#filters");
      form.addEventListener("change", function () {
        var o = {};
        ["region", "site", "family", "level", "state"].forEach(function (k) { o[k] = form[k].value; });
        if (o.state === "open") { o.state = ""; }
        location.hash = "#/board" + (qs(o) ? "?" + qs(o) : "");
      });
      $("#clear").onclick = function () { location.hash = "#/board"; };
      loadSensors().then(function (ss) {
        var sites = {}, regions = {};
        ss.forEach(function (s) { sites[s.site] = 1; if (s.region) { regions[s.region] = 1; } });
        form.site.innerHTML = '<option value="">' + esc(t("filter.all")) + "</option>" + Object.keys(sites).sort().map(function (s) {
          return '<option value="' + esc(s) + '"' + (s === p.site ? " selected" : "") + ">" + esc(siteName(s)) + "</option>";
        }).join("");
        $("#regions").innerHTML = Object.keys(regions).sort().map(function (x) { return '<option value="' + esc(x) + '">'; }).join("");
      }, function () {});
    }
    var query = { state: state, site: p.site || "", family: p.family || "", region: p.region || "", limit: 1000 };
    var current = ticket("view");
    return Promise.all([api("GET", "/api/v1/alerts?" + qs(query)), loadSensors().catch(function () { return []; })]).then(function (res) {
      if (app.view !== "board" || !current()) { return; }
      app.board = (res[0] || []).filter(function (a) { return !p.level || a.level === p.level; }).sort(byLevel);
      boardRows();
    }, function (err) { if (err.status !== 401) { $("#view").insertAdjacentHTML("afterbegin", failed(err)); } });
  }
  function boardRows() {
    var tb = $("#alerts tbody");
    if (!tb) { return; }
    var seen = {};
    tb.innerHTML = app.board.map(function (a) {
      var fresh = app.seen[a.id] !== undefined && app.seen[a.id] !== a.updated_at || app.seen[a.id] === undefined && app.seenReady;
      seen[a.id] = a.updated_at;
      var flags = (a.silenced ? ' <span class="flag">' + esc(t("flag.silenced")) + "</span>" : "") +
        (a.inhibited ? ' <span class="flag">' + esc(t("flag.inhibited")) + "</span>" : "") +
        (a.overdue ? ' <span class="flag overdue">' + esc(t("flag.overdue")) + "</span>" : "");
      return '<tr data-id="' + a.id + '" data-level="' + esc(a.level) + '" data-state="' + esc(a.state) + '" tabindex="0" class="row-' + esc(a.level) + (fresh ? " fresh" : "") + '">' +
        '<td data-label="' + esc(t("col.level")) + '">' + lvl(a.level) + "</td>" +
        '<td data-label="' + esc(t("col.state")) + '">' + stateTag(a.state) + flags + "</td>" +
        '<td data-label="' + esc(t("col.site")) + '" data-site="' + esc(a.site) + '">' + esc(siteName(a.site)) + "</td>" +
        '<td data-label="' + esc(t("col.sensor")) + '" data-sensor="' + esc(a.sensor) + '">' + named(sensorName(a.sensor), a.sensor) + ' <span class="muted">' + esc(fam(a.family)) + "</span></td>" +
        '<td data-label="' + esc(t("col.value")) + '" class="num">' + num(a.value) + " " + esc(a.unit || "") + "</td>" +
        '<td data-label="' + esc(t("col.started")) + '">' + esc(fmtTime(a.started_at)) + "</td>" +
        '<td data-label="' + esc(t("col.age")) + '">' + esc(age(a.started_at)) + "</td>" +
        '<td data-label="' + esc(t("col.message")) + '" class="msg">' + esc(a.message) + "</td></tr>";
    }).join("");
    app.seen = seen;
    app.seenReady = true;
    $("#empty").hidden = app.board.length > 0;
    $("#shown").textContent = t("board.count", { n: app.board.length });
  }
  document.addEventListener("click", function (ev) {
    var tr = ev.target.closest && ev.target.closest("tr[data-id]");
    if (tr && tr.closest("#alerts, #handover")) { location.hash = "#/alert/" + tr.dataset.id; }
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
      if (app.view === "alert") { detail({ id: String(app.detailID) }, false); }
    }, function (err) {
      b.disabled = false;
      window.alert(err.status === 403 ? t("act.forbidden") : t("common.error", { msg: err.message }));
    });
  });
  document.addEventListener("keydown", function (ev) {
    var tr = ev.target.closest && ev.target.closest("tr[data-id]");
    if (tr && ev.key === "Enter") { location.hash = "#/alert/" + tr.dataset.id; }
  });
  setInterval(function () { if (app.view === "board") { boardRows(); } }, 30000);
  function field(name, control) { return '<label class="field">' + esc(t("filter." + name)) + control + "</label>"; }
  function select(name, values, cur, label) {
    return '<select name="' + name + '">' + values.map(function (x) {
      return '<option value="' + esc(x) + '"' + (x === (cur || "") ? " selected" : "") + ">" + esc(label(x)) + "</option>";
    }).join("") + "</select>";
  }

  // --- warning detail --------------------------------------------------------
  function detail(r, fresh) {
    app.view = "alert";
    var id = parseInt(r.id, 10);
    app.detailID = id;
    var v = $("#view");
    if (fresh) { v.innerHTML = '<p class="muted">' + esc(t("common.loading")) + "</p>"; }
    var current = ticket("view");
    Promise.all([api("GET", "/api/v1/alerts/" + id), loadRules()]).then(function (res) {
      if (app.view !== "alert" || app.detailID !== id || !current()) { return; }
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
      }
      chart(a, rules);
    }, function (err) {
      if (err.status === 404) { v.innerHTML = '<p class="empty">' + esc(t("detail.notfound")) + '</p><p><a href="#/board">' + esc(t("detail.back")) + "</a></p>"; } else if (err.status !== 401) { v.innerHTML = failed(err); }
    });
  }
  function detailHTML(a) {
    var facts = [
      [t("detail.value"), num(a.value) + " " + esc(a.unit || "")],
      [t("detail.threshold"), num(a.threshold) + " " + esc(a.unit || "")],
      [t("col.rule"), named(ruleName(a.rule), a.rule)],
      [t("col.site"), named(siteName(a.site), a.site)],
      [t("col.sensor"), named(sensorName(a.sensor), a.sensor) + " · " + esc(metricName(a.family, a.metric)) + " · " + esc(fam(a.family))],
      [t("detail.started"), esc(fmtTime(a.started_at, true)) + ' <span class="muted">(' + esc(age(a.started_at)) + ")</span>"]
    ];
    if (a.acked_at) { facts.push([t("detail.acked"), esc(fmtTime(a.acked_at, true)) + " · " + esc(a.acked_by)]); }
    if (a.resolved_at) { facts.push([t("detail.resolved"), esc(fmtTime(a.resolved_at, true))]); }
    if (a.closed_at) { facts.push([t("detail.closed"), esc(fmtTime(a.closed_at, true)) + " · " + esc(t("reason." + a.close_reason))]); }
    var flags = (a.silenced ? '<span class="flag">' + esc(t("flag.silenced")) + "</span>" : "") +
      (a.inhibited ? '<span class="flag">' + esc(t("flag.inhibited")) + "</span>" : "") +
      (a.overdue ? '<span class="flag overdue">' + esc(t("flag.overdue")) + "</span>" : "");
    return '<article class="detail" data-id="' + a.id + '" data-state="' + esc(a.state) + '" data-level="' + esc(a.level) + '" data-actions="' + actionsKey(a) + '">' +
      '<p><a href="#/board" class="back">← ' + esc(t("detail.back")) + "</a></p>" +
      '<header id="d-head" class="detail-head lvl-edge-' + esc(a.level) + '"><h2>' + lvl(a.level) + " " + esc(t("detail.title", { id: a.id })) + " " + stateTag(a.state) + " " + flags + "</h2>" +
      '<p class="message">' + esc(a.message) + "</p>" +
      '<dl class="facts">' + facts.map(function (f) { return "<div><dt>" + esc(f[0]) + "</dt><dd>" + f[1] + "</dd></div>"; }).join("") + "</dl></header>" +
      '<div class="cols"><section class="card chart-card"><h3>' + esc(t("detail.chart")) + '</h3><div id="chart" class="chart-box"><p class="muted">' + esc(t("common.loading")) + '</p></div><p id="chart-note" class="muted small"></p></section>' +
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
        (e.answered_at ? '<p class="answered">' + esc(t("call.answered")) + " " + esc(fmtTime(e.answered_at, true)) + " · " + esc(e.answered_by || "") + (e.answer_channel ? " · " + esc(via(e.answer_channel)) : "") + "</p>" : "") +
        timeline(mine) + "</div>";
    });
    var rest = calls.filter(function (c) { return !used[c.id]; });
    if (rest.length) { html += timeline(rest); }
    return html;
  }
  function timeline(calls) {
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
        (answered ? " " + esc(fmtTime(c.answered_at)) + " · " + esc(t("call.by")) + " " + esc(c.answered_by || "") + (c.answer_channel ? " · " + esc(t("call.via")) + " " + esc(via(c.answer_channel)) : "") +
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
    var by = app.me.open ? '<label class="field">' + esc(t("act.by")) + '<input name="by" id="act-by" required value="' + esc(store("yujing.by") || "") + '"></label>' : "";
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
      if (!app.me.open) { return app.me.user; }
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
        refreshOpen();
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
  // chart draws the readings around the warning: from an hour before it
  // started to now (or half an hour after it closed), with the thresholds.
  function chart(a, rules) {
    var start = Date.parse(a.started_at), end = a.closed_at ? Date.parse(a.closed_at) + 30 * 60e3 : TZ.now();
    var from = start - 60 * 60e3, to = Math.min(Math.max(end, start + 10 * 60e3), TZ.now() + 1000, from + 30 * 86400e3);
    var url = "/api/v1/sensors/" + encodeURIComponent(a.sensor) + "/readings?" + qs({ metric: a.metric, from: iso(from), to: iso(to), points: 600 });
    var current = ticket("chart");
    api("GET", url).then(function (s) {
      var box = $("#chart");
      if (!box || app.detailID !== a.id || !current()) { return; }
      var ths = thresholds(a, rules);
      var marks = (a.history || []).filter(function (h) { return h.event === "raised" || h.event === "upgraded" || h.event === "resolved" || h.event === "reopened"; })
        .map(function (h) { return { t: Date.parse(h.at), label: t("event." + h.event) }; });
      var w = boxWidth(box);
      box.innerHTML = s.points.length ? CH.line({ points: s.points, from: from, to: to, thresholds: ths, markers: marks, unit: s.unit || a.unit,
        width: w, height: Math.round(Math.min(400, Math.max(240, w * 0.3))), label: t("detail.chart") + " " + sensorName(a.sensor) + " " + metricName(a.family, a.metric) }) : '<p class="muted">' + esc(t("detail.chart.empty")) + "</p>";
      $("#chart-note").textContent = s.downsampled ? t("detail.chart.note", { n: s.count, p: s.points.length }) : "";
    }, function (err) { var box = $("#chart"); if (box && err.status !== 401) { box.innerHTML = failed(err); } });
  }
  // boxWidth is the width to draw an SVG at, so its text stays at its
  // real size on a phone as on a wall screen.
  function boxWidth(el) { return Math.max(300, Math.round((el && el.clientWidth) || 960)); }
  function iso(ms) { return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z"); }
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

  // --- sensors ---------------------------------------------------------------
  function sensors(r, fresh) {
    app.view = "sensors";
    var bySite = r.params.view === "site", v = $("#view");
    if (fresh) {
      v.innerHTML = '<section class="sensors"><div class="toolbar"><h2>' + esc(t("sensors.title")) + '</h2><div class="tabs">' +
        '<a href="#/sensors"' + (bySite ? "" : ' aria-current="page"') + ">" + esc(t("sensors.list")) + '</a><a href="#/sensors?view=site"' + (bySite ? ' aria-current="page"' : "") + ">" +
        esc(t("sensors.bySite")) + '</a></div></div><div id="sensor-list"><p class="muted">' + esc(t("common.loading")) + "</p></div></section>";
    }
    app.sensors = null;
    var current = ticket("view");
    Promise.all([loadSensors(), loadRules(), api("GET", "/api/v1/alerts?state=open&limit=1000")]).then(function (res) {
      if (app.view !== "sensors" || !current()) { return; }
      var list = res[0], kinds = {}, faulty = {};
      res[1].forEach(function (x) { kinds[x.name] = x.kind; });
      (res[2] || []).forEach(function (a) { if (kinds[a.rule] === "fault" || kinds[a.rule] === "stuck") { faulty[a.sensor] = true; } });
      var box = $("#sensor-list");
      if (!list.length) { box.innerHTML = '<p class="empty">' + esc(t("sensors.empty")) + "</p>"; return; }
      box.innerHTML = bySite ? siteView(list, faulty) : sensorTable(list, faulty);
      sparklines(list);
    }, function (err) { if (err.status !== 401) { $("#sensor-list").innerHTML = failed(err); } });
  }
  function sensorStatus(s, faulty) {
    if (faulty[s.id]) { return "fault"; }
    if (!s.last_seen) { return "never"; }
    return s.online ? "online" : "offline";
  }
  function lastValues(s) {
    return (s.last || []).map(function (x) { return '<span class="reading">' + (s.last.length > 1 ? esc(metricName(s.family, x.metric)) + " " : "") + "<b>" + num(x.value) + "</b> " + esc(x.unit || "") + "</span>"; }).join(" ") || esc(t("common.none"));
  }
  function statusTag(st) { return '<span class="sstatus s-' + st + '">' + esc(t("sensors." + st)) + "</span>"; }
  function sensorTable(list, faulty) {
    return '<table class="sensor-table"><thead><tr><th>' + [t("col.sensor"), t("col.site"), t("filter.family"), t("sensors.last"), t("sensors.seen"), t("sensors.status"), t("sensors.trend")].map(esc).join("</th><th>") +
      "</th></tr></thead><tbody>" + list.map(function (s) {
        var st = sensorStatus(s, faulty);
        return '<tr data-sensor="' + esc(s.id) + '" data-status="' + st + '"><td data-label="' + esc(t("col.sensor")) + '"><b>' + esc(s.id) + "</b> " + esc(s.name || "") +
          '</td><td data-label="' + esc(t("col.site")) + '">' + esc(siteName(s.site)) + '</td><td data-label="' + esc(t("filter.family")) + '">' + esc(fam(s.family)) +
          '</td><td data-label="' + esc(t("sensors.last")) + '">' + lastValues(s) + '</td><td data-label="' + esc(t("sensors.seen")) + '">' + (s.last_seen ? esc(t("time.ago", { t: age(s.last_seen) })) : esc(t("sensors.never"))) +
          '</td><td data-label="' + esc(t("sensors.status")) + '">' + statusTag(st) + '</td><td data-label="' + esc(t("sensors.trend")) + '" class="spark-cell" data-spark="' + esc(s.id) + '" data-metric="' + esc(s.metric) + '"></td></tr>';
      }).join("") + "</tbody></table>";
  }
  function siteView(list, faulty) {
    var sites = {};
    list.forEach(function (s) {
      var src = (s.tags && (s.tags.hazard_source || s.tags.source)) || "";
      sites[s.site] = sites[s.site] || {};
      (sites[s.site][src] = sites[s.site][src] || []).push(s);
    });
    return Object.keys(sites).sort().map(function (site) {
      var all = [].concat.apply([], Object.keys(sites[site]).map(function (k) { return sites[site][k]; }));
      var off = all.filter(function (s) { return sensorStatus(s, faulty) !== "online"; }).length;
      return '<section class="site card" data-site="' + esc(site) + '"><h3>' + named(siteName(site), site) + ' <span class="muted small">' + all.length + (off ? ' · <span class="s-offline">' + off + " " + esc(t("sensors.offline")) + "/" + esc(t("sensors.fault")) + "</span>" : "") + "</span></h3>" +
        Object.keys(sites[site]).sort().map(function (src) {
          return (src ? "<h4>" + esc(src) + "</h4>" : "") + '<div class="tiles">' + sites[site][src].map(function (s) {
            var st = sensorStatus(s, faulty);
            return '<div class="tile s-edge-' + st + '" data-sensor="' + esc(s.id) + '"><div><b>' + esc(s.id) + "</b> " + statusTag(st) + '</div><div class="muted small">' + esc(s.name || fam(s.family)) +
              '</div><div class="tile-value">' + lastValues(s) + '</div><div class="spark-cell" data-spark="' + esc(s.id) + '" data-metric="' + esc(s.metric) + '"></div></div>';
          }).join("") + "</div>";
        }).join("") + "</section>";
    }).join("");
  }
  // sparklines fetches each sensor's last 6 hours (60 points), three at a time.
  function sparklines() {
    var cells = $$("[data-spark]"), i = 0, to = TZ.now(), from = to - 6 * 3600e3;
    function next() {
      var c = cells[i++];
      if (!c || app.view !== "sensors") { return; }
      api("GET", "/api/v1/sensors/" + encodeURIComponent(c.dataset.spark) + "/readings?" + qs({ metric: c.dataset.metric, from: iso(from), to: iso(to), points: 60 }))
        .then(function (s) { c.innerHTML = CH.spark(s.points); }, function () {}).then(next);
    }
    next(); next(); next();
  }

  // --- duty and handover -----------------------------------------------------
  function duty(r, fresh) {
    app.view = "duty";
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
    Promise.all([api("GET", "/api/v1/alerts?state=open&limit=1000"), loadSensors().catch(function () { return []; })]).then(function (res) {
      var box = $("#handover-box"), as = res[0];
      if (!box || !currentHandover()) { return; }
      as = (as || []).sort(byLevel);
      box.innerHTML = as.length ? '<table id="handover" class="alerts"><thead><tr><th>' + [t("col.level"), t("col.state"), t("col.site"), t("col.sensor"), t("col.value"), t("col.started"), t("col.age"), t("detail.acked"), t("col.message")].map(esc).join("</th><th>") +
        "</th></tr></thead><tbody>" + as.map(function (a) {
          return '<tr data-id="' + a.id + '"><td data-label="' + esc(t("col.level")) + '">' + lvl(a.level) + '</td><td data-label="' + esc(t("col.state")) + '">' + stateTag(a.state) + (a.overdue ? ' <span class="flag overdue">' + esc(t("flag.overdue")) + "</span>" : "") +
            '</td><td data-label="' + esc(t("col.site")) + '" data-site="' + esc(a.site) + '">' + esc(siteName(a.site)) + '</td><td data-label="' + esc(t("col.sensor")) + '" data-sensor="' + esc(a.sensor) + '">' + named(sensorName(a.sensor), a.sensor) + '</td><td data-label="' + esc(t("col.value")) + '" class="num">' + num(a.value) + " " + esc(a.unit || "") +
            '</td><td data-label="' + esc(t("col.started")) + '">' + esc(fmtTime(a.started_at, true)) + '</td><td data-label="' + esc(t("col.age")) + '">' + esc(age(a.started_at)) + '</td><td data-label="' + esc(t("detail.acked")) + '">' + esc(a.acked_by ? actor(a.acked_by) : t("common.none")) +
            '</td><td data-label="' + esc(t("col.message")) + '" class="msg">' + esc(a.message) + "</td></tr>";
        }).join("") + "</tbody></table>" : '<p class="empty">' + esc(t("duty.handover.empty")) + "</p>";
    }, function () {});
  }

  // --- statistics ------------------------------------------------------------
  function stats(r) {
    app.view = "stats";
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
      if (!current() || app.view !== "stats") { return; }
      $("#alerts-report").innerHTML = alertReportHTML(rep, by, boxWidth($("#alerts-report")));
      $("#false-report").innerHTML = falseHTML(rep.sites || [], boxWidth($("#false-report")));
    }, function (err) {
      if (err.status === 401) { return; }
      $("#alerts-report").innerHTML = '<p class="muted">' + esc(err.status === 404 ? t("stats.unavailable") : t("common.error", { msg: err.message })) + "</p>";
    });
    api("GET", "/api/v1/reports/answers?" + qs({ from: period.from, to: period.to, by: aby, rollup: rollup })).then(function (rep) {
      if (!current() || app.view !== "stats") { return; }
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
        return '<li><a href="#/alert/' + esc(x.alert_id) + '">#' + esc(x.alert_id) + "</a> " + lvl(x.level) + " " + esc(x.site) + " · " + esc(x.sensor) + " · " + esc(x.policy || "") + " · " + esc(fmtTime(x.top_reached_at, true)) + "</li>";
      }).join("") + "</ul>" : "");
  }

  start();
})();

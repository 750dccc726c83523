// The console's core: the API client, login and session, the header, the
// live stream (EventSource, which reconnects on its own; no polling), the
// hash router with its page registry, and what every page shares
// (formatting, names instead of ids, times in the server's zone). The
// pages are pages/*.js, one file each: a page registers itself with
// YJ.page and its strings with YJ.strings (i18n.js). README.md in this
// folder tells how to add one.
(function (YJ) {
  "use strict";
  var DICT = YJ.dict, CH = window.YJCharts, TZ = window.YJTime;
  var LEVELS = ["red", "orange", "yellow", "blue"], RANK = { red: 4, orange: 3, yellow: 2, blue: 1 };
  // FAMILIES are the sensor families the server's configuration knows
  // (GET /api/v1/families, loaded in begin); these built-in ones until then.
  var FAMILIES = ["gas", "hazard", "dust", "weather", "flood", "power", "electrical"], FAMINFO = {};
  var STATES = ["open", "firing", "acknowledged", "disposing", "resolved", "closed"];
  var REASONS = ["real_hazard", "false_alarm", "equipment_fault", "maintenance", "other"];
  // ROLES ranks the roles of web/auth: a page or control for a role is
  // for every role above it too.
  var ROLES = { viewer: 1, operator: 2, admin: 3 };
  var app = {
    lang: store("yujing.lang") === "en" ? "en" : "zh",
    me: null, es: null, open: [], sys: null,
    sensors: null, rules: null, timers: {}, seq: {}, view: "",
    meta: null, siteNames: {}, sensorNames: {}, metricNames: {}
  };
  var pages = {}, listeners = {};
  var $ = function (s, root) { return (root || document).querySelector(s); };
  var $$ = function (s, root) { return Array.prototype.slice.call((root || document).querySelectorAll(s)); };

  // --- pages -------------------------------------------------------------------
  // page registers a page under its hash route (#/name). spec:
  //   render(r, fresh)  draws the page into #view; r is the parsed route
  //                     ({page, id, params}); fresh is false on a live
  //                     refresh, which should keep what the user is typing
  //   nav               its place in the header's menu (10, 20, …); none: not in the menu
  //   role              the least role that sees it: "viewer" (default), "operator", "admin"
  //   live              true: redrawn (fresh false) on every warning event
  //                     of the stream and after a reconnect; a function
  //                     (event) → bool: only on the events it says
  //   navAs             the menu entry to mark current (the alert page marks "board")
  // The menu label is the string "nav." + name.
  function page(name, spec) {
    if (pages[name]) { throw new Error("page " + name + " is registered twice"); }
    if (typeof spec.render !== "function") { throw new Error("page " + name + " has no render"); }
    if (spec.role && !ROLES[spec.role]) { throw new Error("page " + name + ": unknown role " + spec.role); }
    pages[name] = spec;
  }
  // on subscribes to what happens: "alert" (each warning event of the live
  // stream, parsed: {event, alert}), "system" (yujing's own trouble),
  // "open" (the open warnings, read again after each event and reconnect)
  // and "header" (the header was drawn; the user, or null when logged out).
  function on(kind, fn) { (listeners[kind] = listeners[kind] || []).push(fn); }
  function emit(kind, e) { (listeners[kind] || []).forEach(function (fn) { try { fn(e); } catch (err) { window.console.error(err); } }); }

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
        // In place: the pages hold this array (YJ.FAMILIES).
        FAMILIES.length = 0;
        fs.forEach(function (f) { FAMINFO[f.id] = f; FAMILIES.push(f.id); });
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
  // label is the string prefix+value ("dutyrole." + "duty_officer" → 值班员),
  // or the value itself when there is none (a chain may name any role).
  function label(prefix, v) {
    var key = prefix + v;
    return (DICT[app.lang] && DICT[app.lang][key]) || DICT.zh[key] ? t(key) : String(v == null ? "" : v);
  }
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
  // can says whether the logged-in user holds role (or a higher one).
  function can(role) { return !!app.me && (ROLES[app.me.role] || 0) >= (ROLES[role || "viewer"] || 0); }
  function canOperate() { return can("operator"); }
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
  function iso(ms) { return new Date(ms).toISOString().replace(/\.\d{3}Z$/, "Z"); }
  // boxWidth is the width to draw an SVG at, so its text stays at its
  // real size on a phone as on a wall screen.
  function boxWidth(el) { return Math.max(300, Math.round((el && el.clientWidth) || 960)); }
  function failed(err) {
    return '<p class="error" role="alert">' + esc(t("common.error", { msg: err.message })) + "</p>";
  }
  // twice runs fn on a second click of button b within 4 s: the first
  // click only asks (b says ask). No dialog, so a wall screen's keyboard
  // and a test drive it alike; pages use it for what cannot be undone.
  function twice(b, ask, fn) {
    if (b.dataset.armed) {
      clearTimeout(+b.dataset.armed);
      delete b.dataset.armed;
      b.classList.remove("armed");
      b.textContent = b.dataset.label;
      fn();
      return;
    }
    b.dataset.label = b.textContent;
    b.textContent = ask;
    b.classList.add("armed");
    b.dataset.armed = String(setTimeout(function () {
      if (!b.dataset.armed) { return; }
      delete b.dataset.armed;
      b.classList.remove("armed");
      b.textContent = b.dataset.label;
    }, 4000));
  }
  function field(name, control) { return '<label class="field">' + esc(t("filter." + name)) + control + "</label>"; }
  function select(name, values, cur, label) {
    return '<select name="' + name + '">' + values.map(function (x) {
      return '<option value="' + esc(x) + '"' + (x === (cur || "") ? " selected" : "") + ">" + esc(label(x)) + "</option>";
    }).join("") + "</select>";
  }

  // api calls the JSON API; a 401 outside login means the session is gone.
  // The body is sent as JSON, or as it is with opts.type (a sheet as
  // text/csv). With opts.headers it answers {data, headers} (a paged list's
  // X-Total-Count and Link). A refusal rejects with an Error carrying the
  // status and the answer (data: the import's plan with its problems, say).
  function api(method, path, body, opts) {
    var h = { Accept: "application/json" }, raw = opts && opts.type;
    if (body !== undefined) { h["Content-Type"] = raw || "application/json"; }
    if (method !== "GET" && app.me && app.me.csrf_token) { h["X-CSRF-Token"] = app.me.csrf_token; }
    return fetch(path, { method: method, headers: h, credentials: "same-origin", body: body === undefined ? undefined : raw ? body : JSON.stringify(body) })
      .then(function (r) {
        return r.text().then(function (txt) {
          var data = null;
          try { data = txt ? JSON.parse(txt) : null; } catch (e) { data = null; }
          if (r.ok) { return opts && opts.headers ? { data: data, headers: r.headers } : data; }
          var err = new Error((data && data.error) || r.statusText || "HTTP " + r.status);
          err.status = r.status;
          err.data = data; // the refusal's answer, e.g. the problems, each with its field
          if (r.status === 401 && path !== "/api/v1/login" && path !== "/api/v1/me") { sessionLost(); }
          throw err;
        });
      });
  }
  // loadSensors is GET /api/v1/sensors, every page of it (the server
  // answers a page at a time, naming the next in Link: <…>; rel="next"),
  // kept for 30 s (fresh: read again); it learns the sensors' names.
  function loadSensors(fresh) {
    if (fresh) { app.sensors = null; }
    if (app.sensors && Date.now() - app.sensors.at < 30000) { return Promise.resolve(app.sensors.list); }
    var got = [];
    function step(path) {
      return api("GET", path, undefined, { headers: true }).then(function (ans) {
        got = got.concat(ans.data || []);
        var m = /<([^>]*)>\s*;\s*rel="?next"?/.exec(ans.headers.get("Link") || "");
        return m ? step(m[1]) : got;
      });
    }
    return step("/api/v1/sensors?limit=10000").then(function (l) {
      app.sensors = { at: Date.now(), list: l };
      l.forEach(function (s) { if (s.name) { app.sensorNames[s.id] = s.name; } });
      return l;
    });
  }
  function loadRules() {
    if (app.rules) { return Promise.resolve(app.rules); }
    return api("GET", "/api/v1/rules").then(function (l) { app.rules = l || []; return app.rules; }, function () { return []; });
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

  // --- header ----------------------------------------------------------------
  // header draws the title, the menu (the pages with a nav place the user
  // may see, in nav order), the counters, the connection and the user.
  function header() {
    var h = $("#top");
    var name = parseHash().page, cur = pages[name] ? pages[name].navAs || name : "board";
    var nav = Object.keys(pages).filter(function (p) { return pages[p].nav != null && can(pages[p].role); })
      .sort(function (a, b) { return pages[a].nav - pages[b].nav; }).map(function (p) {
        return '<a href="#/' + p + '" data-page="' + p + '"' + (p === cur ? ' aria-current="page"' : "") + ">" + esc(t("nav." + p)) + "</a>";
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
    emit("header", app.me);
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
    var n = app.counts || {};
    c.innerHTML = LEVELS.map(function (l) {
      return '<a class="count lvl-' + l + '" data-level="' + l + '" href="#/board?' + qs({ level: l }) + '">' + esc(t("level." + l)) + " <b>" + (n[l] || 0) + "</b></a>";
    }).join("");
  }
  // refreshOpen reads the counters (how many open warnings per level,
  // counted by the server: a flood's ten thousand are not read for it)
  // and the red and orange warnings nobody has acknowledged (app.open,
  // most severe and longest waiting first), for the "open" listeners: the
  // alarm.
  function refreshOpen() {
    var current = ticket("open");
    return Promise.all([api("GET", "/api/v1/alerts/counts?state=open"),
      api("GET", "/api/v1/alerts?state=firing,resolved&level=red,orange&order=severity&limit=1000")]).then(function (res) {
      if (!current() || !app.me) { return; }
      app.counts = (res[0] && res[0].levels) || {};
      app.open = (res[1] || []).filter(function (a) { return !a.acked_at; });
      counters();
      emit("open", app.open);
    }, function () {});
  }

  // --- live stream and yujing's own trouble -------------------------------------
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
      var st;
      try { st = JSON.parse(ev.data); } catch (err) { return; } // keep the last one
      systemBanner(st);
      emit("system", st);
    });
    es.addEventListener("alert", function (ev) {
      var e;
      try { e = JSON.parse(ev.data); } catch (err) { return; }
      emit("alert", e);
      soon("open", refreshOpen);
      var spec = pages[parseHash().page];
      if (spec && spec.live && (spec.live === true || e.event === "resync" || spec.live(e))) {
        soon("view", refreshView);
      }
    });
  }
  // soon runs fn 150 ms after the first of a run of events, once for all
  // that came meanwhile: during a flood the page is read again a few
  // times a second, not once per warning and not only when it is over.
  function soon(name, fn) {
    if (app.timers[name]) { return; }
    app.timers[name] = setTimeout(function () { app.timers[name] = null; fn(); }, 150);
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
  // route draws the page the hash names (an unknown one: the board); a
  // page above the user's role says so instead of drawing controls the
  // API would refuse.
  function route() {
    if (!app.me) { showLogin(); return; }
    var r = parseHash(), name = pages[r.page] ? r.page : "board", spec = pages[name];
    header();
    app.view = name;
    document.body.dataset.page = name; // a page's own layout (the wall screen hides the header)
    if (!can(spec.role)) {
      $("#view").innerHTML = '<p class="empty" id="forbidden">' + esc(t("page.forbidden")) + "</p>";
      return;
    }
    spec.render(r, true);
  }
  // refreshView redraws a live page after a stream event or a reconnect.
  function refreshView() {
    if (!app.me || app.view === "login") { return; }
    var r = parseHash(), spec = pages[r.page];
    if (spec && spec.live && can(spec.role) && app.view === r.page) { spec.render(r, false); }
  }
  window.addEventListener("hashchange", route);
  // Rows of warnings (any table.alerts: the board, the handover list)
  // open the warning, by click or Enter.
  function alertRow(ev) {
    var tr = ev.target.closest && ev.target.closest("tr[data-id]");
    return tr && tr.closest("table.alerts") ? tr : null;
  }
  document.addEventListener("click", function (ev) {
    var tr = alertRow(ev);
    if (tr) { location.hash = "#/alert/" + tr.dataset.id; }
  });
  document.addEventListener("keydown", function (ev) {
    var tr = alertRow(ev);
    if (tr && ev.key === "Enter") { location.hash = "#/alert/" + tr.dataset.id; }
  });

  // What the pages use. app is read-only to them (me, lang, view, open, meta).
  var k;
  var exported = {
    app: app, page: page, on: on, t: t, esc: esc, $: $, $$: $$, api: api, store: store,
    LEVELS: LEVELS, RANK: RANK, FAMILIES: FAMILIES, STATES: STATES, REASONS: REASONS,
    lvl: lvl, stateTag: stateTag, fam: fam, fmtTime: fmtTime, fmtDur: fmtDur, age: age, num: num,
    siteName: siteName, sensorName: sensorName, metricName: metricName, ruleName: ruleName, named: named, via: via, actor: actor, label: label,
    byLevel: byLevel, can: can, canOperate: canOperate, ticket: ticket, qs: qs, iso: iso, boxWidth: boxWidth,
    failed: failed, field: field, select: select, twice: twice, loadSensors: loadSensors, loadRules: loadRules, refreshOpen: refreshOpen,
    charts: CH, time: TZ
  };
  for (k in exported) { if (Object.prototype.hasOwnProperty.call(exported, k)) { YJ[k] = exported[k]; } }
  // The page files come after this one in index.html; the console starts
  // once they have all registered.
  document.addEventListener("DOMContentLoaded", start);
})(window.YJ);

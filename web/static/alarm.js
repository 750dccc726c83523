// The alarm nobody misses. A red or orange warning that nobody has
// acknowledged sounds (Web Audio: three high tones for red, one lower for
// orange) and sounds again every N seconds (the operator's choice, kept in
// this browser) until it is acknowledged, closed, silenced, or the sound
// is muted for 5, 15 or 60 minutes; the mute counts down where everybody
// sees it, and a warning that is new or upgraded during a mute still
// sounds once. A browser that blocks sound until the page is clicked (a
// wall screen reloaded overnight) gets a banner that enables it in one
// click. Where the browser has a Chinese voice, a new warning is also
// announced (speechSynthesis).
//
// window.YJAlarm is the instrument the browser tests read: played counts
// the tone patterns actually started (the audio context running), spoken
// the announcements; tick(at) runs the repeat as if the clock said at.
(function (YJ) {
  "use strict";
  var t = YJ.t, esc = YJ.esc, $ = YJ.$;
  YJ.strings({
    zh: {
      "alarm.settings": "报警声", "alarm.on": "报警声：开", "alarm.muted.short": "报警声：静音 {left}",
      "alarm.pending": "{n} 条红色、橙色预警未响应，报警声每 {s} 秒重复一次，直到有人确认响应",
      "alarm.mute": "静音 {m} 分钟", "alarm.unmute": "取消静音",
      "alarm.muted": "报警声已静音，还剩 {left}", "alarm.mutedNote": "静音期间新的或升级的红色、橙色预警仍会响一次",
      "alarm.blocked": "浏览器阻止了报警声：点击此处启用声音", "alarm.unsupported": "此浏览器不能播放报警声",
      "alarm.repeat": "重复间隔（秒）", "alarm.voice": "中文语音播报", "alarm.noVoice": "本浏览器没有中文语音，只响提示音",
      "alarm.test": "试听", "alarm.close": "关闭",
      "alarm.say": "{level}预警：{site}，{sensor}。请立即响应。", "alarm.level.red": "红色", "alarm.level.orange": "橙色"
    },
    en: {
      "alarm.settings": "Alarm sound", "alarm.on": "Alarm: on", "alarm.muted.short": "Alarm: muted {left}",
      "alarm.pending": "{n} red or orange warnings not acknowledged; the alarm repeats every {s} s until somebody acknowledges",
      "alarm.mute": "Mute {m} min", "alarm.unmute": "Unmute",
      "alarm.muted": "Alarm muted, {left} left", "alarm.mutedNote": "a warning that is new or upgraded during the mute still sounds once",
      "alarm.blocked": "The browser blocked the alarm sound: click here to enable it", "alarm.unsupported": "This browser cannot play the alarm sound",
      "alarm.repeat": "Repeat every (s)", "alarm.voice": "Spoken announcement (Chinese)", "alarm.noVoice": "No Chinese voice in this browser: tones only",
      "alarm.test": "Test", "alarm.close": "Close",
      "alarm.say": "{level} warning: {site}, {sensor}.", "alarm.level.red": "Red", "alarm.level.orange": "Orange"
    }
  });
  var REPEAT_KEY = "yujing.alarm.repeat", MUTE_KEY = "yujing.alarm.muteUntil", VOICE_KEY = "yujing.alarm.voice";
  var DEFAULT_REPEAT = 30, MIN_REPEAT = 2, MAX_REPEAT = 600, MUTES = [5, 15, 60];
  var ctx = null, unsupported = false, pending = {}, lastPlayed = 0, on = false;
  var A = window.YJAlarm = { played: 0, spoken: 0, lastSpoken: "", tick: tick, state: state };

  // repeatSeconds is the chosen interval, within [MIN_REPEAT, MAX_REPEAT].
  function repeatSeconds() {
    var n = parseInt(YJ.store(REPEAT_KEY) || "", 10);
    return isNaN(n) ? DEFAULT_REPEAT : Math.min(MAX_REPEAT, Math.max(MIN_REPEAT, n));
  }
  function muteUntil() { return parseInt(YJ.store(MUTE_KEY) || "0", 10) || 0; }
  function voiceWanted() { return YJ.store(VOICE_KEY) !== "off"; }
  // needs says whether a warning calls for the alarm.
  function needs(a) {
    return (a.level === "red" || a.level === "orange") && !a.acked_at && !a.silenced && !a.inhibited && a.state !== "closed";
  }
  function state() {
    var now = Date.now();
    return { pending: Object.keys(pending).length, muted: muteUntil() > now, mute_left_ms: Math.max(0, muteUntil() - now),
      repeat_seconds: repeatSeconds(), audio: ctx ? ctx.state : unsupported ? "unsupported" : "none", played: A.played };
  }

  // --- sound ---------------------------------------------------------------
  // audio makes the AudioContext once. Made without a click, a browser that
  // wants a gesture first keeps it "suspended": the banner says so.
  function audio() {
    if (ctx || unsupported) { return ctx; }
    try {
      ctx = new (window.AudioContext || window.webkitAudioContext)();
      ctx.onstatechange = render;
    } catch (e) { unsupported = true; }
    return ctx;
  }
  // unlock resumes the context on the user's click or key (logging in counts).
  function unlock() {
    var c = audio();
    if (c && c.state === "suspended") { c.resume().then(render, function () {}); }
  }
  document.addEventListener("click", unlock, true);
  document.addEventListener("keydown", unlock, true);
  // play starts the pattern of level; it counts only when the context runs
  // (a blocked one plays nothing).
  function play(level) {
    var c = audio();
    if (!c || c.state !== "running") { render(); return false; }
    var red = level === "red", times = red ? 3 : 1, freq = red ? 1320 : 880;
    try {
      for (var i = 0; i < times; i++) {
        var o = c.createOscillator(), g = c.createGain(), at = c.currentTime + i * 0.35;
        o.frequency.value = freq;
        o.connect(g); g.connect(c.destination);
        g.gain.setValueAtTime(0.25, at);
        g.gain.exponentialRampToValueAtTime(0.001, at + 0.3);
        o.start(at); o.stop(at + 0.3);
      }
    } catch (e) { return false; }
    A.played++;
    return true;
  }
  // --- voice ---------------------------------------------------------------
  function zhVoice() {
    var s = window.speechSynthesis;
    if (!s || !s.getVoices) { return null; }
    var vs = s.getVoices() || [];
    return vs.find(function (v) { return /^zh[-_]CN/i.test(v.lang); }) || vs.find(function (v) { return /^zh\b|^cmn/i.test(v.lang); }) || null;
  }
  if (window.speechSynthesis && window.speechSynthesis.addEventListener) {
    window.speechSynthesis.addEventListener("voiceschanged", function () { if (!$("#alarm-panel").hidden) { panel(); } });
  }
  // announce says the warning in Chinese, whatever the console's language:
  // the announcement is for the duty room.
  function announce(a) {
    var v = zhVoice();
    if (!v || !voiceWanted()) { return; }
    var zh = YJ.dict.zh;
    var text = zh["alarm.say"].replace("{level}", zh["alarm.level." + a.level]).replace("{site}", YJ.siteName(a.site)).replace("{sensor}", YJ.sensorName(a.sensor));
    try {
      var u = new window.SpeechSynthesisUtterance(text);
      u.lang = v.lang;
      try { u.voice = v; } catch (e) { /* not a SpeechSynthesisVoice: the lang chooses */ }
      window.speechSynthesis.speak(u);
      A.spoken++;
      A.lastSpoken = text;
    } catch (e) { /* no speech */ }
  }

  // --- what sounds, and when --------------------------------------------------
  // A new or upgraded red or orange warning: banner, tone at once (even
  // while muted), announcement.
  YJ.on("alert", function (e) {
    var a = e.alert;
    if (!a) { return; }
    var rising = e.event === "raised" || e.event === "upgraded" || e.event === "reopened";
    if (rising && needs(a)) {
      pending[a.id] = a;
      banner(a);
      if (play(a.level)) { lastPlayed = Date.now(); }
      announce(a);
    } else if (!needs(a)) {
      delete pending[a.id];
      if (String(a.id) === $("#banner").dataset.id && (a.acked_at || a.state === "closed")) { $("#banner").hidden = true; } // somebody has answered it
    }
    render();
  });
  // The open warnings, read after every event and reconnect, are the
  // truth: a warning acknowledged elsewhere stops, one missed while the
  // stream was down (or before a reload) starts.
  YJ.on("open", function (list) {
    var next = {};
    list.forEach(function (a) { if (needs(a)) { next[a.id] = a; } });
    pending = next;
    tick();
  });
  YJ.on("header", function (me) {
    on = !!me;
    if (!on) { pending = {}; $("#banner").hidden = true; $("#alarm-panel").hidden = true; }
    if (on) { audio(); headerButton(); }
    render();
  });
  // tick repeats the tone when it is due: something pending, not muted,
  // the interval passed since the last tone. at: the time to act as if
  // (tests); the clock otherwise.
  function tick(at) {
    var now = at || Date.now(), ids = Object.keys(pending);
    if (on && ids.length && muteUntil() <= now && now - lastPlayed >= repeatSeconds() * 1000) {
      var top = ids.some(function (id) { return pending[id].level === "red"; }) ? "red" : "orange";
      if (play(top)) { lastPlayed = now; }
    }
    render(now);
  }
  setInterval(function () { tick(); }, 1000);

  // --- what shows ----------------------------------------------------------
  var bar = document.createElement("div"), blocked = document.createElement("div"), box = document.createElement("div");
  bar.id = "alarm"; bar.className = "alarm-bar"; bar.hidden = true; bar.setAttribute("role", "status");
  blocked.id = "soundblocked"; blocked.className = "banner sound"; blocked.hidden = true; blocked.setAttribute("role", "alert");
  box.id = "alarm-panel"; box.className = "alarm-panel card"; box.hidden = true;
  $("#banner").insertAdjacentElement("afterend", bar);
  bar.insertAdjacentElement("afterend", blocked);
  document.body.appendChild(box);
  blocked.addEventListener("click", function () {
    var c = audio();
    if (c) { c.resume().then(function () { render(); tick(); }, function () {}); }
  });
  bar.addEventListener("click", function (ev) {
    var b = ev.target.closest("button[data-mute]");
    if (!b) { return; }
    var m = +b.dataset.mute;
    YJ.store(MUTE_KEY, String(m ? Date.now() + m * 60e3 : 0));
    if (!m) { lastPlayed = 0; }
    tick();
  });
  function banner(a) {
    var b = $("#banner");
    b.className = "banner lvl-" + a.level;
    b.dataset.id = a.id;
    b.innerHTML = '<span class="bt"><b>' + esc(t("banner.new", { level: t("level." + a.level) })) + "</b> " + esc(YJ.siteName(a.site)) + " · " + esc(YJ.sensorName(a.sensor)) +
      " · " + esc(a.message) + ' <span class="dismiss">（' + esc(t("banner.dismiss")) + "）</span></span>";
    b.hidden = false;
  }
  $("#banner").addEventListener("click", function (ev) {
    var b = ev.currentTarget;
    b.hidden = true;
    if (b.dataset.id && !ev.target.classList.contains("dismiss")) { location.hash = "#/alert/" + b.dataset.id; }
  });
  function mmss(ms) {
    var s = Math.ceil(ms / 1000), m = Math.floor(s / 60);
    return m + ":" + (s % 60 < 10 ? "0" : "") + (s % 60);
  }
  // render draws the bar (what is pending, the mute and its countdown),
  // the blocked-sound banner and the header button; it writes only what
  // changed, so the buttons under a pointer stay put.
  function render(at) {
    var now = typeof at === "number" ? at : Date.now(), n = Object.keys(pending).length, mu = muteUntil(), muted = mu > now;
    var html = "";
    if (on && muted) {
      html = '<span class="alarm-text"><b id="alarm-muted">' + esc(t("alarm.muted", { left: mmss(mu - now) })) + '</b> <span class="muted small">' + esc(t("alarm.mutedNote")) + "</span></span>" +
        '<button type="button" data-mute="0" id="alarm-unmute">' + esc(t("alarm.unmute")) + "</button>";
    } else if (on && n) {
      html = '<span class="alarm-text"><b id="alarm-pending">' + esc(t("alarm.pending", { n: n, s: repeatSeconds() })) + "</b></span>" +
        MUTES.map(function (m) { return '<button type="button" data-mute="' + m + '" id="alarm-mute-' + m + '">' + esc(t("alarm.mute", { m: m })) + "</button>"; }).join("");
    }
    if (bar.dataset.html !== html) { bar.innerHTML = html; bar.dataset.html = html; }
    bar.hidden = !html;
    bar.classList.toggle("is-muted", muted);
    var c = on ? audio() : null, off = on && (unsupported || (c && c.state !== "running"));
    var msg = unsupported ? t("alarm.unsupported") : t("alarm.blocked");
    if (blocked.textContent !== msg) { blocked.textContent = msg; }
    blocked.hidden = !off;
    var hb = $("#alarm-toggle");
    if (hb) {
      var label = muted ? t("alarm.muted.short", { left: mmss(mu - now) }) : t("alarm.on");
      if (hb.textContent !== label) { hb.textContent = label; }
      hb.classList.toggle("is-muted", muted);
    }
  }
  // The header's button opens the settings: the repeat interval, the
  // voice, a test tone.
  function headerButton() {
    var right = $("#top .right");
    if (!right || $("#alarm-toggle")) { return; }
    right.insertAdjacentHTML("afterbegin", '<button type="button" id="alarm-toggle" class="link alarm-toggle" aria-controls="alarm-panel">' + esc(t("alarm.on")) + "</button>");
    $("#alarm-toggle").onclick = function () {
      box.hidden = !box.hidden;
      if (!box.hidden) { panel(); }
    };
  }
  function panel() {
    var v = zhVoice();
    box.innerHTML = "<h3>" + esc(t("alarm.settings")) + "</h3>" +
      '<label class="field">' + esc(t("alarm.repeat")) + '<input type="number" id="alarm-repeat" min="' + MIN_REPEAT + '" max="' + MAX_REPEAT + '" step="1" value="' + repeatSeconds() + '"></label>' +
      '<label class="check"><input type="checkbox" id="alarm-voice"' + (v && voiceWanted() ? " checked" : "") + (v ? "" : " disabled") + "> " + esc(t("alarm.voice")) + "</label>" +
      (v ? "" : '<p class="muted small" id="alarm-novoice">' + esc(t("alarm.noVoice")) + "</p>") +
      '<p class="alarm-actions"><button type="button" id="alarm-test">' + esc(t("alarm.test")) + '</button> <button type="button" id="alarm-close" class="link">' + esc(t("alarm.close")) + "</button></p>";
    $("#alarm-repeat").addEventListener("change", function (ev) {
      var n = parseInt(ev.target.value, 10);
      if (isNaN(n)) { return; }
      n = Math.min(MAX_REPEAT, Math.max(MIN_REPEAT, n));
      ev.target.value = n;
      YJ.store(REPEAT_KEY, String(n));
      bar.dataset.html = "";
      tick();
    });
    $("#alarm-voice").addEventListener("change", function (ev) { YJ.store(VOICE_KEY, ev.target.checked ? "on" : "off"); });
    $("#alarm-test").onclick = function () { play("red"); };
    $("#alarm-close").onclick = function () { box.hidden = true; };
  }
})(window.YJ);

// Live board: open alerts ordered by level then age, refreshed on every
// change pushed over Server-Sent Events (no polling).
(function () {
  "use strict";
  var LEVELS = { red: ["红色", 4], orange: ["橙色", 3], yellow: ["黄色", 2], blue: ["蓝色", 1] };
  var STATES = { firing: "待响应", acknowledged: "已响应", disposing: "处置中", resolved: "已恢复", closed: "已关闭" };
  var tbody = document.querySelector("#alerts tbody");
  var known = {};
  var audio = null;

  // A tone for each new red (three high beeps) or orange (one) warning.
  // Browsers play sound only after the page was clicked once: the banner
  // asks for that click.
  function beep(times, freq) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      for (var i = 0; i < times; i++) {
        var o = audio.createOscillator(), g = audio.createGain();
        o.frequency.value = freq;
        o.connect(g); g.connect(audio.destination);
        var t = audio.currentTime + i * 0.35;
        g.gain.setValueAtTime(0.25, t);
        g.gain.exponentialRampToValueAtTime(0.001, t + 0.3);
        o.start(t); o.stop(t + 0.3);
      }
    } catch (e) {}
  }
  function banner(a) {
    var b = document.getElementById("banner");
    b.className = "banner lvl-" + a.level;
    b.textContent = (a.level === "red" ? "红色预警 " : "橙色预警 ") + a.message + "（点击关闭）";
    b.hidden = false;
  }
  document.addEventListener("click", function () {
    if (audio && audio.state === "suspended") { audio.resume(); }
  });

  function esc(s) {
    return String(s).replace(/[&<>"']/g, function (c) {
      return { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c];
    });
  }
  function fmtTime(s) {
    var d = new Date(s);
    return isNaN(d) ? s : d.toLocaleString("zh-CN", { hour12: false });
  }
  function render(alerts) {
    alerts.sort(function (a, b) {
      return (LEVELS[b.level][1] - LEVELS[a.level][1]) || (new Date(a.started_at) - new Date(b.started_at));
    });
    var counts = { red: 0, orange: 0, yellow: 0, blue: 0 };
    var html = "";
    var seen = {};
    alerts.forEach(function (a) {
      counts[a.level]++;
      seen[a.id] = true;
      var fresh = known[a.id] === undefined || known[a.id] !== a.updated_at;
      html += '<tr data-id="' + a.id + '" data-level="' + a.level + '"' + (fresh ? ' class="fresh"' : "") + ">" +
        '<td><span class="lvl lvl-' + a.level + '">' + LEVELS[a.level][0] + " " + a.level + "</span></td>" +
        '<td class="state-' + a.state + '">' + esc(STATES[a.state] || a.state) + "</td>" +
        "<td>" + esc(a.site) + "</td><td>" + esc(a.sensor) + "</td><td>" + esc(a.rule) + "</td>" +
        "<td>" + esc(a.value) + " " + esc(a.unit || "") + "</td>" +
        "<td>" + esc(fmtTime(a.started_at)) + "</td>" +
        '<td class="msg">' + esc(a.message) + "</td></tr>";
      known[a.id] = a.updated_at;
    });
    tbody.innerHTML = html;
    document.getElementById("empty").hidden = alerts.length > 0;
    document.getElementById("counters").innerHTML = ["red", "orange", "yellow", "blue"].map(function (l) {
      return '<span class="count lvl-' + l + '" data-level="' + l + '">' + LEVELS[l][0] + " " + counts[l] + "</span>";
    }).join("");
  }
  function load() {
    fetch("/api/v1/alerts?state=open&limit=1000", { credentials: "same-origin" })
      .then(function (r) { return r.json(); })
      .then(render)
      .catch(function () {});
  }
  function connect() {
    var conn = document.getElementById("conn");
    var es = new EventSource("/api/v1/stream");
    es.onopen = function () { conn.className = "conn on"; conn.textContent = "● 实时"; load(); };
    es.onerror = function () { conn.className = "conn off"; conn.textContent = "● 重连中"; };
    es.addEventListener("alert", function (ev) {
      try {
        var e = JSON.parse(ev.data);
        var rising = e.event === "raised" || e.event === "upgraded" || e.event === "reopened";
        if (rising && !e.alert.silenced && (e.alert.level === "red" || e.alert.level === "orange")) {
          banner(e.alert);
          beep(e.alert.level === "red" ? 3 : 1, e.alert.level === "red" ? 1320 : 880);
        }
      } catch (err) {}
      load();
    });
  }
  load();
  connect();
})();

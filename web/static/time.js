// Times in the server's configured zone (GET /api/v1/meta: timezone), not
// the browser's: a duty room in Urumqi or a laptop set to UTC shows the
// same clock times as the SMS the officials got. Intl.DateTimeFormat does
// the zone arithmetic; a zone the browser does not know falls back to the
// server's fixed offset.
(function () {
  "use strict";
  var zone = "", fixed = null, fmt = null, skew = 0;

  // setNow takes the server's clock (GET /api/v1/meta: now): now() is the
  // browser's clock moved by the difference, so a duty-room PC whose
  // clock is off still ends its charts at the server's now and tells
  // passed deadlines right.
  function setNow(serverTime) {
    var ms = Date.parse(serverTime || "");
    if (!isNaN(ms)) { skew = ms - Date.now(); }
  }
  function now() { return Date.now() + skew; }

  // setZone sets the zone by IANA name, with its offset in seconds as the
  // fallback.
  function setZone(name, offsetSeconds) {
    zone = name || "";
    fixed = typeof offsetSeconds === "number" ? offsetSeconds : null;
    fmt = null;
    if (zone) {
      try {
        fmt = new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit",
          hour: "2-digit", minute: "2-digit", second: "2-digit", weekday: "short" });
      } catch (e) { fmt = null; } // RangeError: unknown zone
    }
  }

  // parts is the wall-clock time of ms in the zone: {y, mo (1–12), d, h, mi, s}.
  function parts(ms) {
    if (fmt) {
      var o = {};
      fmt.formatToParts(new Date(ms)).forEach(function (p) { o[p.type] = p.value; });
      return { y: +o.year, mo: +o.month, d: +o.day, h: +o.hour % 24, mi: +o.minute, s: +o.second };
    }
    var off = fixed != null ? fixed : -new Date(ms).getTimezoneOffset() * 60;
    var u = new Date(ms + off * 1000);
    return { y: u.getUTCFullYear(), mo: u.getUTCMonth() + 1, d: u.getUTCDate(), h: u.getUTCHours(), mi: u.getUTCMinutes(), s: u.getUTCSeconds() };
  }

  // offset is the zone's offset from UTC at ms, in seconds.
  function offset(ms) {
    var p = parts(ms);
    return Math.round((Date.UTC(p.y, p.mo - 1, p.d, p.h, p.mi, p.s) - Math.floor(ms / 1000) * 1000) / 60000) * 60;
  }

  // offsetLabel writes an offset as UTC+8, UTC-3:30, UTC.
  function offsetLabel(ms) {
    var o = offset(ms);
    if (!o) { return "UTC"; }
    var a = Math.abs(o), m = Math.floor(a % 3600 / 60);
    return "UTC" + (o < 0 ? "-" : "+") + Math.floor(a / 3600) + (m ? ":" + (m < 10 ? "0" : "") + m : "");
  }

  // midnight is the instant a date ("2026-07-01") begins in the zone.
  function midnight(date) { return /^\d{4}-\d{2}-\d{2}$/.test(date || "") ? instant(date + "T00:00") : NaN; }

  // instant is the moment a wall-clock time in the zone is: "2026-07-01T08:30"
  // (as an <input type="datetime-local"> gives it, seconds optional); NaN
  // when it is not one.
  function instant(s) {
    var m = /^(\d{4})-(\d{2})-(\d{2})T(\d{2}):(\d{2})(?::(\d{2}))?$/.exec(s || "");
    if (!m) { return NaN; }
    var wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
    var guess = wall - offset(wall) * 1000;
    return wall - offset(guess) * 1000;
  }

  // instant is the moment a wall-clock time in the zone ("2026-10-01T08:30",
  // as a datetime-local input gives it) stands for; NaN if it is not one.
  function instant(local) {
    var m = /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2}))?$/.exec(local || "");
    if (!m) { return NaN; }
    var wall = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
    var guess = wall - offset(wall) * 1000;
    return wall - offset(guess) * 1000;
  }

  function pad(n) { return (n < 10 ? "0" : "") + n; }
  // local writes ms as the zone's wall clock for a datetime-local input:
  // 2026-10-01T08:30.
  function local(ms) { var p = parts(ms); return p.y + "-" + pad(p.mo) + "-" + pad(p.d) + "T" + pad(p.h) + ":" + pad(p.mi); }
  // date writes ms as 2026-07-01 in the zone; clock as 08:30:05.
  function date(ms) { var p = parts(ms); return p.y + "-" + pad(p.mo) + "-" + pad(p.d); }
  function clock(ms) { var p = parts(ms); return pad(p.h) + ":" + pad(p.mi) + ":" + pad(p.s); }
  // local writes ms as a datetime-local input's value in the zone: 2026-07-01T08:30.
  function local(ms) { return date(ms) + "T" + clock(ms).slice(0, 5); }

  setZone("", null);
  window.YJTime = {
    setZone: setZone, setNow: setNow, now: now, zone: function () { return zone || Intl.DateTimeFormat().resolvedOptions().timeZone; },
    parts: parts, offset: offset, offsetLabel: offsetLabel, midnight: midnight, instant: instant, local: local, date: date, clock: clock
  };
})();

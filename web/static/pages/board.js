// The live board (#/board?region=&site=&family=&level=&state=): open
// warnings by level then age, filters kept in the URL (a wall screen can
// be pointed at /#/board?region=320506&level=red and stay there). The
// server filters, orders and pages them: PAGE at a time, 显示更多 for the
// next, so a flood's ten thousand open warnings cost one page.
(function (YJ) {
  "use strict";
  var t = YJ.t, esc = YJ.esc, $ = YJ.$;
  YJ.strings({
    zh: {
      "nav.board": "实时预警",
      "board.empty": "当前没有符合条件的预警。", "board.count": "共 {n} 条", "board.shown": "显示 {n} 条，共 {total} 条", "board.more": "显示更多"
    },
    en: {
      "nav.board": "Live board",
      "board.empty": "No warnings match.", "board.count": "{n} shown", "board.shown": "{n} shown of {total}", "board.more": "Show more"
    }
  });
  YJ.page("board", { nav: 10, live: true, render: board });

  var PAGE = 200, MAX = 5000; // the API's most per request
  var rows = [], total = 0, limit = PAGE, seen = {}, seenReady = false;
  function board(r, fresh) {
    var p = r.params, v = $("#view");
    var state = p.state || "open";
    if (fresh) {
      v.innerHTML = '<section class="board">' +
        '<form id="filters" class="filters" aria-label="filters">' +
        YJ.field("region", '<input name="region" list="regions" inputmode="numeric" value="' + esc(p.region || "") + '" placeholder="320506"><datalist id="regions"></datalist>') +
        YJ.field("site", '<select name="site"><option value="">' + esc(t("filter.all")) + "</option></select>") +
        YJ.field("family", YJ.select("family", [""].concat(YJ.FAMILIES), p.family, function (f) { return f ? YJ.fam(f) : t("filter.all"); })) +
        YJ.field("level", YJ.select("level", [""].concat(YJ.LEVELS), p.level, function (l) { return l ? t("level." + l) : t("filter.all"); })) +
        YJ.field("state", YJ.select("state", YJ.STATES, state, function (s) { return t("state." + s); })) +
        '<button type="button" id="clear" class="link">' + esc(t("filter.clear")) + '</button><span id="shown" class="muted"></span></form>' +
        '<table id="alerts" class="alerts"><thead><tr><th>' + [t("col.level"), t("col.state"), t("col.site"), t("col.sensor"), t("col.value"),
          t("col.started"), t("col.age"), t("col.message")].map(esc).join("</th><th>") + "</th></tr></thead><tbody></tbody></table>" +
        '<p id="empty" class="empty" hidden>' + esc(t("board.empty")) + '</p><p><button type="button" id="board-more" hidden>' + esc(t("board.more")) + "</button></p></section>";
      limit = PAGE;
      var form = $("#filters");
      form.addEventListener("change", function () {
        var o = {};
        ["region", "site", "family", "level", "state"].forEach(function (k) { o[k] = form[k].value; });
        if (o.state === "open") { o.state = ""; }
        location.hash = "#/board" + (YJ.qs(o) ? "?" + YJ.qs(o) : "");
      });
      $("#clear").onclick = function () { location.hash = "#/board"; };
      $("#board-more").onclick = function () { limit = Math.min(limit + PAGE, MAX); board(r, false); };
      YJ.loadSensors().then(function (ss) {
        var sites = {}, regions = {};
        ss.forEach(function (s) { sites[s.site] = 1; if (s.region) { regions[s.region] = 1; } });
        form.site.innerHTML = '<option value="">' + esc(t("filter.all")) + "</option>" + Object.keys(sites).sort().map(function (s) {
          return '<option value="' + esc(s) + '"' + (s === p.site ? " selected" : "") + ">" + esc(YJ.siteName(s)) + "</option>";
        }).join("");
        $("#regions").innerHTML = Object.keys(regions).sort().map(function (x) { return '<option value="' + esc(x) + '">'; }).join("");
      }, function () {});
    }
    var query = { state: state, site: p.site || "", family: p.family || "", region: p.region || "", level: p.level || "", order: "severity", limit: limit };
    var current = YJ.ticket("view");
    return Promise.all([YJ.api("GET", "/api/v1/alerts?" + YJ.qs(query), undefined, { headers: true }), YJ.loadSensors().catch(function () { return []; })]).then(function (res) {
      if (YJ.app.view !== "board" || !current()) { return; }
      rows = res[0].data || [];
      total = +(res[0].headers.get("X-Total-Count") || rows.length);
      boardRows();
    }, function (err) { if (err.status !== 401) { $("#view").insertAdjacentHTML("afterbegin", YJ.failed(err)); } });
  }
  // boardRows draws the rows; a warning new or changed since the last
  // drawing flashes.
  function boardRows() {
    var tb = $("#alerts tbody");
    if (!tb) { return; }
    var now = {};
    tb.innerHTML = rows.map(function (a) {
      var fresh = seen[a.id] !== undefined && seen[a.id] !== a.updated_at || seen[a.id] === undefined && seenReady;
      now[a.id] = a.updated_at;
      var flags = (a.silenced ? ' <span class="flag">' + esc(t("flag.silenced")) + "</span>" : "") +
        (a.inhibited ? ' <span class="flag">' + esc(t("flag.inhibited")) + "</span>" : "") +
        (a.overdue ? ' <span class="flag overdue">' + esc(t("flag.overdue")) + "</span>" : "");
      return '<tr data-id="' + a.id + '" data-level="' + esc(a.level) + '" data-state="' + esc(a.state) + '" tabindex="0" class="row-' + esc(a.level) + (fresh ? " fresh" : "") + '">' +
        '<td data-label="' + esc(t("col.level")) + '">' + YJ.lvl(a.level) + "</td>" +
        '<td data-label="' + esc(t("col.state")) + '">' + YJ.stateTag(a.state) + flags + "</td>" +
        '<td data-label="' + esc(t("col.site")) + '" data-site="' + esc(a.site) + '">' + esc(YJ.siteName(a.site)) + "</td>" +
        '<td data-label="' + esc(t("col.sensor")) + '" data-sensor="' + esc(a.sensor) + '">' + YJ.named(YJ.sensorName(a.sensor), a.sensor) + ' <span class="muted">' + esc(YJ.fam(a.family)) + "</span></td>" +
        '<td data-label="' + esc(t("col.value")) + '" class="num">' + YJ.num(a.value) + " " + esc(a.unit || "") + "</td>" +
        '<td data-label="' + esc(t("col.started")) + '">' + esc(YJ.fmtTime(a.started_at)) + "</td>" +
        '<td data-label="' + esc(t("col.age")) + '">' + esc(YJ.age(a.started_at)) + "</td>" +
        '<td data-label="' + esc(t("col.message")) + '" class="msg">' + esc(a.message) + "</td></tr>";
    }).join("");
    seen = now;
    seenReady = true;
    $("#empty").hidden = rows.length > 0;
    $("#shown").textContent = total > rows.length ? t("board.shown", { n: rows.length, total: total }) : t("board.count", { n: rows.length });
    $("#board-more").hidden = rows.length >= total || limit >= MAX;
  }
  // The ages move on without a stream event.
  setInterval(function () { if (YJ.app.view === "board") { boardRows(); } }, 30000);
})(window.YJ);

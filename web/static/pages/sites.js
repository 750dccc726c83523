// Sites (#/sites, #/sites/{id}): every site with who runs it and its
// production status (生产状态); a site's page has the status with who set
// it, when and why, its history, the form to change it (admin), the
// site's responsibility chain at a chosen time, and its sensors.
(function (YJ) {
  "use strict";
  var t = YJ.t, esc = YJ.esc, $ = YJ.$, api = YJ.api, TZ = YJ.time;
  var fmtTime = YJ.fmtTime, named = YJ.named, label = YJ.label, failed = YJ.failed, ticket = YJ.ticket;
  var STATUSES = ["normal", "ordered_stopped", "rectifying", "suspended", "closed"];
  YJ.strings({
    zh: {
      "nav.sites": "站点",
      "sites.title": "站点与生产状态", "sites.empty": "没有配置站点。", "sites.unknown": "没有这个站点：{id}",
      "sites.name": "站点", "sites.org": "所属单位", "sites.region": "区域代码", "sites.industry": "行业", "sites.parent": "所属站点",
      "sites.status": "生产状态", "sites.setBy": "设置", "sites.byAt": "{by} · {at}",
      "sites.back": "← 全部站点", "sites.current": "当前生产状态", "sites.since": "自", "sites.reason": "依据 / 原因", "sites.by": "设置人",
      "sites.never": "未设置过（默认正常生产）",
      "sites.change": "更改生产状态", "sites.newStatus": "新状态", "sites.reasonHint": "如：某应急停字〔2026〕12 号，责令停产整改", "sites.save": "保存",
      "sites.saved": "已保存，生产状态为“{status}”。", "sites.needReason": "请填写依据或原因。",
      "sites.history": "变更记录", "sites.history.empty": "没有变更记录。", "sites.when": "时间",
      "sites.chain": "责任链", "sites.at": "查询时间（{zone}）", "sites.show": "查询", "sites.now": "现在",
      "sites.tier": "层级", "sites.role": "职责", "sites.people": "人员", "sites.source": "来源",
      "sites.tierN": "第 {n} 级", "sites.fromSite": "站点 {site}", "sites.fromRegion": "区域 {region}",
      "sites.chain.empty": "这个站点没有配置责任链。", "sites.chain.nobody": "无人",
      "sites.sensors": "监测点", "sites.sensors.empty": "这个站点没有监测点。", "sites.alerts": "查看该站点的预警",
      "sites.rules.note": "规则设置了 when_status 时，只在站点处于所列状态时生效。"
    },
    en: {
      "nav.sites": "Sites",
      "sites.title": "Sites and production status", "sites.empty": "No sites configured.", "sites.unknown": "No such site: {id}",
      "sites.name": "Site", "sites.org": "Run by", "sites.region": "Region code", "sites.industry": "Industry", "sites.parent": "Part of",
      "sites.status": "Production status", "sites.setBy": "Set", "sites.byAt": "{by} · {at}",
      "sites.back": "← All sites", "sites.current": "Production status now", "sites.since": "Since", "sites.reason": "Grounds / reason", "sites.by": "Set by",
      "sites.never": "never set (normal by default)",
      "sites.change": "Change the production status", "sites.newStatus": "New status", "sites.reasonHint": "e.g. the order's document number and what it says", "sites.save": "Save",
      "sites.saved": "Saved: the status is now “{status}”.", "sites.needReason": "Give the grounds or the reason.",
      "sites.history": "Changes", "sites.history.empty": "No changes.", "sites.when": "When",
      "sites.chain": "Responsibility chain", "sites.at": "At ({zone})", "sites.show": "Show", "sites.now": "Now",
      "sites.tier": "Tier", "sites.role": "Role", "sites.people": "People", "sites.source": "From",
      "sites.tierN": "tier {n}", "sites.fromSite": "site {site}", "sites.fromRegion": "region {region}",
      "sites.chain.empty": "No responsibility chain for this site.", "sites.chain.nobody": "nobody",
      "sites.sensors": "Sensors", "sites.sensors.empty": "No sensors at this site.", "sites.alerts": "This site's warnings",
      "sites.rules.note": "A rule with when_status applies only while the site has one of its statuses."
    }
  });
  YJ.page("sites", { nav: 25, render: sites });

  var known = {}; // site id → the site as GET /api/v1/sites gave it
  function loadSites() {
    return api("GET", "/api/v1/sites").then(function (l) {
      known = {};
      (l || []).forEach(function (s) { known[s.id] = s; });
      return l || [];
    });
  }
  function siteLabel(id) { return (known[id] && known[id].name) || YJ.siteName(id); }
  function statusTag(s) { return '<span class="pstatus ps-' + esc(s) + '" data-status="' + esc(s) + '">' + esc(label("pstatus.", s)) + "</span>"; }

  function sites(r) {
    if (r.id) { site(r.id, r.params); return; }
    var v = $("#view"), current = ticket("view");
    v.innerHTML = '<section class="sites"><h2>' + esc(t("sites.title")) + '</h2><div id="sites-list"><p class="muted">' + esc(t("common.loading")) + "</p></div></section>";
    loadSites().then(function (list) {
      var box = $("#sites-list");
      if (YJ.app.view !== "sites" || !current() || !box) { return; }
      if (!list.length) { box.innerHTML = '<p class="empty">' + esc(t("sites.empty")) + "</p>"; return; }
      var cols = ["sites.name", "sites.org", "sites.region", "sites.industry", "sites.parent", "sites.status", "sites.setBy"];
      box.innerHTML = '<table id="sites-table" class="data-table"><thead><tr><th>' + cols.map(function (c) { return esc(t(c)); }).join("</th><th>") + "</th></tr></thead><tbody>" +
        list.map(function (s) {
          var cells = [
            '<a href="#/sites/' + encodeURIComponent(s.id) + '">' + named(s.name || s.id, s.id) + "</a>",
            esc(s.org_name || s.org || t("common.none")), esc(s.region || t("common.none")), esc(s.industry || t("common.none")),
            s.parent ? named(siteLabel(s.parent), s.parent) : esc(t("common.none")),
            statusTag(s.status),
            s.status_since ? esc(t("sites.byAt", { by: s.status_by, at: fmtTime(s.status_since, true) })) : '<span class="muted">' + esc(t("common.none")) + "</span>"
          ];
          return '<tr data-site="' + esc(s.id) + '">' + cells.map(function (c, i) { return '<td data-label="' + esc(t(cols[i])) + '">' + c + "</td>"; }).join("") + "</tr>";
        }).join("") + "</tbody></table>";
    }, function (err) { if (err.status !== 401 && $("#sites-list")) { $("#sites-list").innerHTML = failed(err); } });
  }

  // site draws one site's page.
  function site(id, params) {
    var v = $("#view"), current = ticket("view");
    v.innerHTML = '<section class="site" data-site="' + esc(id) + '"><p><a href="#/sites">' + esc(t("sites.back")) + '</a></p><div id="site-head"><p class="muted">' + esc(t("common.loading")) + "</p></div>" +
      '<div class="cols wide"><div><div class="card" id="site-chain-card"></div><div class="card" id="site-history"></div></div>' +
      '<div><div class="card" id="site-status"></div><div class="card" id="site-sensors"></div></div></div></section>';
    Promise.all([loadSites(), YJ.loadSensors().catch(function () { return []; })]).then(function (res) {
      if (YJ.app.view !== "sites" || !current()) { return; }
      var s = known[id];
      if (!s) { $("#site-head").innerHTML = '<p class="empty">' + esc(t("sites.unknown", { id: id })) + "</p>"; return; }
      $("#site-head").innerHTML = '<div class="detail-head"><h2>' + named(s.name || s.id, s.id) + " " + statusTag(s.status) + '</h2><dl class="facts">' +
        fact("sites.org", esc(s.org_name || s.org || t("common.none"))) + fact("sites.region", esc(s.region || t("common.none"))) +
        fact("sites.industry", esc(s.industry || t("common.none"))) +
        (s.parent ? fact("sites.parent", '<a href="#/sites/' + encodeURIComponent(s.parent) + '">' + named(siteLabel(s.parent), s.parent) + "</a>") : "") +
        "</dl></div>";
      sensorsOf(id, res[1]);
      chain(id, params.at);
      status(id);
    }, function (err) { if (err.status !== 401) { $("#site-head").innerHTML = failed(err); } });
  }
  function fact(key, html) { return "<div><dt>" + esc(t(key)) + "</dt><dd>" + html + "</dd></div>"; }

  function sensorsOf(id, list) {
    var mine = list.filter(function (x) { return x.site === id; });
    $("#site-sensors").innerHTML = "<h3>" + esc(t("sites.sensors")) + "</h3>" + (mine.length ? "<ul class=\"plain\">" + mine.map(function (x) {
      return "<li>" + named(YJ.sensorName(x.id), x.id) + ' <span class="muted">' + esc(YJ.fam(x.family)) + "</span></li>";
    }).join("") + "</ul>" : '<p class="muted">' + esc(t("sites.sensors.empty")) + "</p>") +
      '<p><a href="#/board?' + YJ.qs({ site: id }) + '">' + esc(t("sites.alerts")) + "</a></p>";
  }

  // chain draws the site's responsibility chain at the time the form
  // names (the zone's wall clock), now by default.
  function chain(id, at) {
    var box = $("#site-chain-card");
    var when = at ? TZ.instant(at) : NaN;
    box.innerHTML = '<div class="toolbar"><h3>' + esc(t("sites.chain")) + '</h3><form id="chain-at" class="tgroup">' +
      '<label class="field">' + esc(t("sites.at", { zone: TZ.zone() })) + ' <input type="datetime-local" name="at" value="' + esc(isNaN(when) ? TZ.local(TZ.now()) : at) + '"></label>' +
      '<button type="submit">' + esc(t("sites.show")) + '</button><button type="button" class="link" id="chain-now">' + esc(t("sites.now")) + "</button></form></div>" +
      '<div id="site-chain"><p class="muted">' + esc(t("common.loading")) + "</p></div>";
    $("#chain-at").addEventListener("submit", function (ev) {
      ev.preventDefault();
      location.hash = "#/sites/" + encodeURIComponent(id) + "?" + YJ.qs({ at: ev.target.at.value });
    });
    $("#chain-now").onclick = function () { location.hash = "#/sites/" + encodeURIComponent(id); };
    var current = ticket("site-chain");
    api("GET", "/api/v1/sites/" + encodeURIComponent(id) + "/chain" + (isNaN(when) ? "" : "?" + YJ.qs({ at: YJ.iso(when) }))).then(function (c) {
      var out = $("#site-chain");
      if (!out || !current()) { return; }
      var links = (c && c.chain) || [];
      if (!links.length) { out.innerHTML = '<p class="muted">' + esc(t("sites.chain.empty")) + "</p>"; return; }
      var cols = ["sites.tier", "sites.role", "sites.people", "sites.source"];
      out.innerHTML = '<table id="chain" class="data-table"><thead><tr><th>' + cols.map(function (k) { return esc(t(k)); }).join("</th><th>") + "</th></tr></thead><tbody>" +
        links.map(function (l) {
          var src = /^site (.*)$/.exec(l.source || ""), reg = /^region (.*)$/.exec(l.source || "");
          var cells = [esc(t("sites.tierN", { n: l.tier })), esc(label("dutyrole.", l.role)),
            (l.people || []).map(function (p) { return "<b>" + esc(p.name || p.id) + "</b>" + (p.position ? ' <span class="muted">' + esc(p.position) + "</span>" : "") + (p.phone ? ' <a href="tel:' + esc(p.phone) + '">' + esc(p.phone) + "</a>" : ""); }).join("<br>") || '<span class="muted">' + esc(t("sites.chain.nobody")) + "</span>",
            esc(src ? t("sites.fromSite", { site: siteLabel(src[1]) }) : reg ? t("sites.fromRegion", { region: reg[1] }) : l.source || "")];
          return '<tr data-role="' + esc(l.role) + '">' + cells.map(function (x, i) { return '<td data-label="' + esc(t(cols[i])) + '">' + x + "</td>"; }).join("") + "</tr>";
        }).join("") + "</tbody></table>";
    }, function (err) { if (err.status !== 401 && $("#site-chain")) { $("#site-chain").innerHTML = failed(err); } });
  }

  // status draws the production status, its history and (admin) the form
  // that changes it, with note (what was just saved) under it.
  function status(id, note) {
    var current = ticket("site-status");
    api("GET", "/api/v1/sites/" + encodeURIComponent(id) + "/status").then(function (st) {
      var box = $("#site-status"), hist = $("#site-history");
      if (!box || !current()) { return; }
      var set = st.since && !/^0001-/.test(st.since);
      box.innerHTML = "<h3>" + esc(t("sites.current")) + '</h3><p class="pstatus-now">' + statusTag(st.status) + "</p>" +
        (set ? '<dl class="facts">' + fact("sites.since", esc(fmtTime(st.since, true))) + fact("sites.by", esc(st.by)) + fact("sites.reason", esc(st.reason)) + "</dl>" :
          '<p class="muted">' + esc(t("sites.never")) + "</p>") +
        '<p class="muted small">' + esc(t("sites.rules.note")) + "</p>" + (YJ.can("admin") ? statusForm(st.status) : "");
      if (note && $("#status-msg")) { $("#status-msg").className = "act-msg ok"; $("#status-msg").textContent = note; }
      var h = st.history || [];
      hist.innerHTML = "<h3>" + esc(t("sites.history")) + "</h3>" + (h.length ? '<table id="status-history" class="data-table"><thead><tr><th>' +
        [t("sites.when"), t("sites.status"), t("sites.by"), t("sites.reason")].map(esc).join("</th><th>") + "</th></tr></thead><tbody>" + h.map(function (x) {
          return '<tr><td data-label="' + esc(t("sites.when")) + '">' + esc(fmtTime(x.since, true)) + '</td><td data-label="' + esc(t("sites.status")) + '">' + statusTag(x.status) +
            '</td><td data-label="' + esc(t("sites.by")) + '">' + esc(x.by) + '</td><td data-label="' + esc(t("sites.reason")) + '">' + esc(x.reason) + "</td></tr>";
        }).join("") + "</tbody></table>" : '<p class="muted">' + esc(t("sites.history.empty")) + "</p>");
      var f = $("#status-form");
      if (f) {
        f.addEventListener("submit", function (ev) {
          ev.preventDefault();
          var msg = $("#status-msg");
          if (!f.reason.value.trim()) { msg.className = "act-msg error"; msg.textContent = t("sites.needReason"); return; }
          f.querySelector("button").disabled = true;
          api("PUT", "/api/v1/sites/" + encodeURIComponent(id) + "/status", { status: f.status.value, reason: f.reason.value.trim() }).then(function (x) {
            status(id, t("sites.saved", { status: label("pstatus.", x.status) }));
            var head = $("#site-head .pstatus");
            if (head) { head.outerHTML = statusTag(x.status); }
          }, function (err) {
            f.querySelector("button").disabled = false;
            msg.className = "act-msg error";
            msg.textContent = t("common.error", { msg: err.message });
          });
        });
      }
    }, function (err) { if (err.status !== 401 && $("#site-status")) { $("#site-status").innerHTML = failed(err); } });
  }
  function statusForm(cur) {
    return '<form id="status-form" class="stack"><h4>' + esc(t("sites.change")) + "</h4>" +
      '<label class="field">' + esc(t("sites.newStatus")) + '<select name="status">' + STATUSES.map(function (s) {
        return '<option value="' + s + '"' + (s === cur ? " selected" : "") + ">" + esc(label("pstatus.", s)) + "</option>";
      }).join("") + "</select></label>" +
      '<label class="field">' + esc(t("sites.reason")) + '<textarea name="reason" rows="3" maxlength="500" placeholder="' + esc(t("sites.reasonHint")) + '"></textarea></label>' +
      '<button type="submit" class="primary">' + esc(t("sites.save")) + '</button><p id="status-msg" class="act-msg" role="status"></p></form>';
  }

})(window.YJ);

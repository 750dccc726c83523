// Directory (#/directory?q=): the organisations as a tree (province →
// city → county → park → enterprise), each with its people, the sites it
// runs (each a link to the site's responsibility chain) and its duty
// rosters; a search over names, positions, phones and organisations.
(function (YJ) {
  "use strict";
  var t = YJ.t, esc = YJ.esc, $ = YJ.$, api = YJ.api, label = YJ.label, failed = YJ.failed, ticket = YJ.ticket, qs = YJ.qs;
  YJ.strings({
    zh: {
      "nav.directory": "通讯录",
      "directory.title": "组织与人员", "directory.search": "搜索姓名、职务、电话或单位", "directory.clear": "清除",
      "directory.empty": "没有配置组织和人员。", "directory.none": "没有找到“{q}”。", "directory.found": "找到 {n} 人",
      "directory.name": "姓名", "directory.position": "职务", "directory.phone": "电话", "directory.org": "单位", "directory.region": "区域代码",
      "directory.sites": "运营站点", "directory.rosters": "值班表", "directory.people": "{n} 人", "directory.noOrg": "未归属单位"
    },
    en: {
      "nav.directory": "Directory",
      "directory.title": "Organisations and people", "directory.search": "Search names, positions, phones, organisations", "directory.clear": "Clear",
      "directory.empty": "No organisations or people configured.", "directory.none": "Nothing matches “{q}”.", "directory.found": "{n} found",
      "directory.name": "Name", "directory.position": "Position", "directory.phone": "Phone", "directory.org": "Organisation", "directory.region": "Region code",
      "directory.sites": "Sites", "directory.rosters": "Rosters", "directory.people": "{n} people", "directory.noOrg": "No organisation"
    }
  });
  YJ.page("directory", { nav: 32, render: directory });

  function directory(r) {
    var q = (r.params.q || "").trim(), v = $("#view"), current = ticket("view");
    v.innerHTML = '<section class="directory"><div class="toolbar"><h2>' + esc(t("directory.title")) + '</h2><form id="dir-search" class="tgroup" role="search">' +
      '<input type="search" name="q" value="' + esc(q) + '" placeholder="' + esc(t("directory.search")) + '" aria-label="' + esc(t("directory.search")) + '">' +
      (q ? '<a href="#/directory">' + esc(t("directory.clear")) + "</a>" : "") + '</form></div><div id="dir-body"><p class="muted">' + esc(t("common.loading")) + "</p></div></section>";
    $("#dir-search").addEventListener("submit", function (ev) { ev.preventDefault(); location.hash = "#/directory" + (ev.target.q.value.trim() ? "?" + qs({ q: ev.target.q.value.trim() }) : ""); });
    Promise.all([api("GET", "/api/v1/orgs"), api("GET", "/api/v1/people"), api("GET", "/api/v1/sites").catch(function () { return []; }),
      api("GET", "/api/v1/rosters").catch(function () { return []; })]).then(function (res) {
      var box = $("#dir-body");
      if (YJ.app.view !== "directory" || !current() || !box) { return; }
      var orgs = res[0] || [], people = res[1] || [], byOrg = {}, known = {};
      orgs.forEach(function (o) { known[o.id] = o; });
      if (!orgs.length && !people.length) { box.innerHTML = '<p class="empty">' + esc(t("directory.empty")) + "</p>"; return; }
      var path = function (id) {
        var o = known[id];
        if (!o) { return id ? id : t("directory.noOrg"); }
        return [o.name].concat((o.ancestors || []).map(function (a) { return (known[a] || {}).name || a; })).reverse().join(" › ");
      };
      if (q) { box.innerHTML = results(people, q, path); return; }
      people.forEach(function (p) { (byOrg[known[p.org] ? p.org : ""] = byOrg[known[p.org] ? p.org : ""] || []).push(p); });
      var sites = {}, rosters = {};
      (res[2] || []).forEach(function (s) { if (s.org && !s.parent) { (sites[s.org] = sites[s.org] || []).push(s); } });
      (res[3] || []).forEach(function (ro) { (rosters[ro.org] = rosters[ro.org] || []).push(ro); });
      var kids = {};
      orgs.forEach(function (o) { var p = known[o.parent] ? o.parent : ""; (kids[p] = kids[p] || []).push(o); });
      var node = function (o) {
        var ps = byOrg[o.id] || [];
        return '<li class="org" data-org="' + esc(o.id) + '"><details open><summary><b>' + esc(o.name) + '</b> <span class="flag">' + esc(label("orgkind.", o.kind)) + "</span>" +
          (o.region ? ' <span class="muted">' + esc(o.region) + "</span>" : "") + (ps.length ? ' <span class="muted small">' + esc(t("directory.people", { n: ps.length })) + "</span>" : "") + "</summary>" +
          (sites[o.id] ? '<p class="org-line"><span class="muted">' + esc(t("directory.sites")) + "：</span>" + sites[o.id].map(function (s) {
            return '<a href="#/sites/' + encodeURIComponent(s.id) + '">' + esc(s.name || s.id) + "</a>";
          }).join("、") + "</p>" : "") +
          (rosters[o.id] ? '<p class="org-line"><span class="muted">' + esc(t("directory.rosters")) + "：</span>" + rosters[o.id].map(function (ro) {
            return '<a href="#/rosters?' + qs({ org: ro.org, role: ro.role }) + '">' + esc(label("dutyrole.", ro.role)) + "</a>";
          }).join("、") + "</p>" : "") +
          (ps.length ? '<ul class="people">' + ps.map(person).join("") + "</ul>" : "") +
          ((kids[o.id] || []).length ? '<ul class="tree">' + kids[o.id].map(node).join("") + "</ul>" : "") + "</details></li>";
      };
      box.innerHTML = '<ul class="tree" id="org-tree">' + (kids[""] || []).map(node).join("") + "</ul>" +
        ((byOrg[""] || []).length ? "<h3>" + esc(t("directory.noOrg")) + '</h3><ul class="people">' + byOrg[""].map(person).join("") + "</ul>" : "");
    }, function (err) { if (err.status !== 401 && $("#dir-body")) { $("#dir-body").innerHTML = failed(err); } });
  }
  function person(p) {
    return '<li class="person" data-person="' + esc(p.id) + '"><b>' + esc(p.name) + "</b>" + (p.position ? ' <span class="muted">' + esc(p.position) + "</span>" : "") +
      (p.phone ? ' <a href="tel:' + esc(p.phone) + '">' + esc(p.phone) + "</a>" : "") + "</li>";
  }
  function results(people, q, path) {
    var needle = q.toLowerCase();
    var hits = people.filter(function (p) {
      return [p.name, p.id, p.position, p.phone, path(p.org), p.region].some(function (x) { return x && String(x).toLowerCase().indexOf(needle) >= 0; });
    });
    if (!hits.length) { return '<p class="empty">' + esc(t("directory.none", { q: q })) + "</p>"; }
    var cols = ["directory.name", "directory.position", "directory.org", "directory.phone", "directory.region"];
    return '<p class="muted">' + esc(t("directory.found", { n: hits.length })) + '</p><table id="dir-results" class="data-table"><thead><tr><th>' +
      cols.map(function (c) { return esc(t(c)); }).join("</th><th>") + "</th></tr></thead><tbody>" + hits.map(function (p) {
        var cells = [esc(p.name), esc(p.position || ""), esc(path(p.org)), p.phone ? '<a href="tel:' + esc(p.phone) + '">' + esc(p.phone) + "</a>" : "", esc(p.region || "")];
        return '<tr data-person="' + esc(p.id) + '">' + cells.map(function (c, i) { return '<td data-label="' + esc(t(cols[i])) + '">' + c + "</td>"; }).join("") + "</tr>";
      }).join("") + "</tbody></table>";
  }

})(window.YJ);

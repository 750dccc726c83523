// A sensor's form (#/sensor: a new one; #/sensor/{id}: change it;
// #/sensor?topic=&site=&id=: a new one from a discovered topic, its
// family, metric, unit, decoder and interval taken from the sensor most
// like it — at the same site, the longest shared id prefix — so that
// registering it is one click on 保存). Admins only: POST /api/v1/sensors
// or PUT /api/v1/sensors/{id}; the server checks it as it checks the
// configuration file and names the field that is wrong. An empty topic is
// the default, yujing/{site}/{id}.
(function (YJ) {
  "use strict";
  var t = YJ.t, esc = YJ.esc, $ = YJ.$, api = YJ.api;
  YJ.strings({
    zh: {
      "sensor.new": "新增监测点", "sensor.edit": "修改监测点 {id}", "sensor.back": "返回监测点列表",
      "sensor.id": "编号", "sensor.name": "名称", "sensor.site": "站点", "sensor.family": "类别", "sensor.metric": "指标（默认）",
      "sensor.unit": "单位", "sensor.topic": "MQTT 主题", "sensor.topic.hint": "留空即 yujing/站点/编号",
      "sensor.decoder": "解码器", "sensor.decoder.hint": "留空即 json", "sensor.interval": "上报间隔", "sensor.interval.hint": "如 10s、1m；留空即 1m",
      "sensor.min": "量程下限", "sensor.max": "量程上限", "sensor.location": "安装位置", "sensor.tags": "标签（键=值，用逗号分隔）",
      "sensor.save": "保存", "sensor.cancel": "取消", "sensor.notfound": "没有这个监测点。",
      "sensor.fromTopic": "来自未登记的主题 {topic}，最近一条：{sample}", "sensor.like": "类别、指标、单位、解码器和上报间隔取自相近的监测点 {like}，请核对。", "sensor.badNumber": "{field}应为数字",
      "sensor.badTag": "标签“{tag}”应写成 键=值"
    },
    en: {
      "sensor.new": "Add a sensor", "sensor.edit": "Change sensor {id}", "sensor.back": "Back to the sensors",
      "sensor.id": "Id", "sensor.name": "Name", "sensor.site": "Site", "sensor.family": "Family", "sensor.metric": "Metric (default)",
      "sensor.unit": "Unit", "sensor.topic": "MQTT topic", "sensor.topic.hint": "empty: yujing/site/id",
      "sensor.decoder": "Decoder", "sensor.decoder.hint": "empty: json", "sensor.interval": "Reporting interval", "sensor.interval.hint": "e.g. 10s, 1m; empty: 1m",
      "sensor.min": "Range low", "sensor.max": "Range high", "sensor.location": "Place", "sensor.tags": "Tags (key=value, comma-separated)",
      "sensor.save": "Save", "sensor.cancel": "Cancel", "sensor.notfound": "No such sensor.",
      "sensor.fromTopic": "From the unregistered topic {topic}; its latest message: {sample}", "sensor.like": "Family, metric, unit, decoder and interval are taken from the similar sensor {like}: check them.", "sensor.badNumber": "{field} must be a number",
      "sensor.badTag": "tag \"{tag}\": write key=value"
    }
  });
  YJ.page("sensor", { role: "admin", navAs: "sensors", render: sensorPage });

  // The fields a sensor is sent with (ingest.SensorJSON); units, metric
  // map, region and industry are kept as they are when changing one.
  var KEEP = ["units", "metric_map", "region", "industry"];

  function sensorPage(r) {
    var v = $("#view"), id = r.id ? decodeURIComponent(r.id) : "";
    v.innerHTML = '<p class="muted">' + esc(t("common.loading")) + "</p>";
    var current = YJ.ticket("view");
    var load = id ? api("GET", "/api/v1/sensors/" + encodeURIComponent(id)) : Promise.resolve(null);
    var others = !id && r.params.id ? YJ.loadSensors().catch(function () { return []; }) : Promise.resolve([]);
    Promise.all([load, others]).then(function (res) {
      if (YJ.app.view !== "sensor" || !current()) { return; }
      draw(res[0], r.params, likeOf(r.params.id, r.params.site, res[1]));
    }, function (err) {
      if (err.status === 404) { v.innerHTML = '<p class="empty">' + esc(t("sensor.notfound")) + '</p><p><a href="#/sensors">' + esc(t("sensor.back")) + "</a></p>"; } else if (err.status !== 401) { v.innerHTML = YJ.failed(err); }
    });
  }
  // likeOf is the registered sensor most like a new one: at its site, with
  // the longest id prefix in common (at least two characters).
  function likeOf(id, site, list) {
    var best = null, bestLen = 1;
    (list || []).forEach(function (s) {
      if (!id || s.site !== site) { return; }
      var n = 0;
      while (n < id.length && n < s.id.length && id[n] === s.id[n]) { n++; }
      if (n > bestLen) { best = s; bestLen = n; }
    });
    return best;
  }
  function draw(s, p, like) {
    var editing = !!s, sites = (YJ.app.meta && YJ.app.meta.sites) || [];
    s = s || { id: p.id || "", site: p.site || "", topic: p.topic || "", family: "" };
    if (!editing && like) {
      ["family", "metric", "unit", "decoder"].forEach(function (k) { s[k] = like[k]; });
      s.interval = like.interval;
    }
    var topic = s.topic && s.topic === "yujing/" + s.site + "/" + s.id && editing ? "" : s.topic || "";
    var tags = Object.keys(s.tags || {}).sort().map(function (k) { return k + "=" + s.tags[k]; }).join(", ");
    var input = function (name, value, attrs, hint) {
      return '<label class="field">' + esc(t("sensor." + name)) + '<input id="sf-' + name + '" name="' + name + '" value="' + esc(value == null ? "" : value) + '"' + (attrs || "") +
        (hint ? ' placeholder="' + esc(t(hint)) + '"' : "") + "></label>";
    };
    $("#view").innerHTML = '<section class="sensor-form"><p><a href="#/sensors" class="back">← ' + esc(t("sensor.back")) + "</a></p>" +
      '<form id="sensor-form" class="card" data-mode="' + (editing ? "edit" : "new") + '"><h2>' + esc(editing ? t("sensor.edit", { id: s.id }) : t("sensor.new")) + "</h2>" +
      (p.topic && !editing ? '<p class="muted small" id="sf-from">' + esc(t("sensor.fromTopic", { topic: p.topic, sample: p.sample || "—" })) + "</p>" : "") +
      (like && !editing ? '<p class="muted small" id="sf-like" data-like="' + esc(like.id) + '">' + esc(t("sensor.like", { like: (like.name ? like.name + " " : "") + like.id })) + "</p>" : "") +
      '<div class="form-grid">' +
      input("id", s.id, editing ? " readonly" : " required") + input("name", s.name) +
      '<label class="field">' + esc(t("sensor.site")) + '<input id="sf-site" name="site" list="sf-sites" required autocomplete="off" value="' + esc(s.site) + '"><datalist id="sf-sites">' +
      sites.map(function (x) { return '<option value="' + esc(x.id) + '">' + esc(x.name || x.id) + "</option>"; }).join("") + "</datalist></label>" +
      '<label class="field">' + esc(t("sensor.family")) + '<select id="sf-family" name="family" required><option value=""></option>' + YJ.FAMILIES.map(function (f) {
        return '<option value="' + esc(f) + '"' + (f === s.family ? " selected" : "") + ">" + esc(YJ.fam(f)) + "</option>";
      }).join("") + "</select></label>" +
      input("metric", s.metric) + input("unit", s.unit) + input("topic", topic, "", "sensor.topic.hint") + input("decoder", s.decoder === "json" && editing ? "" : s.decoder, "", "sensor.decoder.hint") +
      input("interval", s.interval === "1m0s" ? "" : s.interval, "", "sensor.interval.hint") +
      input("min", s.min, ' inputmode="decimal"') + input("max", s.max, ' inputmode="decimal"') + input("location", s.location) +
      '<label class="field wide">' + esc(t("sensor.tags")) + '<input id="sf-tags" name="tags" value="' + esc(tags) + '" placeholder="zone=罐区, hazard_source=1号罐"></label></div>' +
      '<p id="sf-msg" class="act-msg" role="alert"></p>' +
      '<div class="tgroup"><button type="submit" class="primary" id="sf-save">' + esc(t("sensor.save")) + '</button><a href="#/sensors" class="link">' + esc(t("sensor.cancel")) + "</a></div></form></section>";
    $("#sensor-form").addEventListener("submit", function (ev) {
      ev.preventDefault();
      var f = ev.target, msg = $("#sf-msg"), body = {}, problem = "";
      ["id", "name", "site", "family", "metric", "unit", "topic", "decoder", "interval", "location"].forEach(function (k) {
        var x = f[k].value.trim();
        if (x) { body[k] = x; }
      });
      ["min", "max"].forEach(function (k) {
        var x = f[k].value.trim();
        if (!x) { return; }
        if (isNaN(+x)) { problem = problem || t("sensor.badNumber", { field: t("sensor." + k) }); }
        body[k] = +x;
      });
      var tg = f.tags.value.split(/[,，;；]/).map(function (x) { return x.trim(); }).filter(Boolean);
      if (tg.length) { body.tags = {}; }
      tg.forEach(function (x) {
        var i = x.search(/[=＝]/);
        if (i <= 0) { problem = problem || t("sensor.badTag", { tag: x }); return; }
        body.tags[x.slice(0, i).trim()] = x.slice(i + 1).trim();
      });
      if (editing) {
        KEEP.forEach(function (k) {
          if (s[k] == null) { return; }
          // Region and industry come from the site unless the sensor set its own.
          var site = sites.filter(function (x) { return x.id === s.site; })[0] || {};
          if ((k === "region" || k === "industry") && s[k] === site[k]) { return; }
          body[k] = s[k];
        });
      }
      msg.className = "act-msg error";
      if (problem) { msg.textContent = problem; return; }
      $("#sf-save").disabled = true;
      msg.className = "act-msg";
      msg.textContent = t("common.loading");
      var req = editing ? api("PUT", "/api/v1/sensors/" + encodeURIComponent(s.id), body) : api("POST", "/api/v1/sensors", body);
      req.then(function (out) {
        YJ.loadSensors(true).catch(function () {});
        location.hash = "#/sensors?" + YJ.qs({ q: out.id });
      }, function (err) {
        $("#sf-save").disabled = false;
        msg.className = "act-msg error";
        msg.textContent = t("common.error", { msg: err.message });
      });
    });
  }
})(window.YJ);

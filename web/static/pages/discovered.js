// Unregistered topics (#/discovered): MQTT topics that carried messages
// but belong to no sensor (GET /api/v1/sensors/discovered, with
// mqtt.discovery: true), with their latest message. An admin turns one
// into a sensor in two clicks: 登记 opens the sensor form filled from the
// topic (pages/sensor.js), 保存 registers it.
(function (YJ) {
  "use strict";
  var t = YJ.t, esc = YJ.esc, $ = YJ.$, api = YJ.api, fmtTime = YJ.fmtTime;
  YJ.strings({
    zh: {
      "discovered.title": "未登记的主题", "discovered.back": "返回监测点列表",
      "discovered.hint": "这些主题收到了消息，但不属于任何监测点，消息未被处理。登记后，新消息按监测点处理。",
      "discovered.off": "未开启主题发现：在配置中设置 mqtt.discovery: true 后，这里会列出收到消息但未登记的主题。",
      "discovered.empty": "没有未登记的主题。", "discovered.dropped": "另有 {n} 个主题超出记录上限，未列出。",
      "discovered.topic": "主题", "discovered.guess": "推测的站点 / 编号", "discovered.count": "消息数", "discovered.first": "首次",
      "discovered.last": "最近", "discovered.sample": "最近一条消息", "discovered.register": "登记为监测点"
    },
    en: {
      "discovered.title": "Unregistered topics", "discovered.back": "Back to the sensors",
      "discovered.hint": "These topics carried messages but belong to no sensor, so their messages were not used. Once registered, new messages count for the sensor.",
      "discovered.off": "Topic discovery is off: with mqtt.discovery: true in the configuration, topics that carried messages but belong to no sensor are listed here.",
      "discovered.empty": "No unregistered topics.", "discovered.dropped": "{n} more topics over the limit are not listed.",
      "discovered.topic": "Topic", "discovered.guess": "Site / id guessed", "discovered.count": "Messages", "discovered.first": "First",
      "discovered.last": "Latest", "discovered.sample": "Latest message", "discovered.register": "Register as a sensor"
    }
  });
  YJ.page("discovered", { navAs: "sensors", render: discovered });

  function discovered() {
    var v = $("#view");
    v.innerHTML = '<section class="discovered"><p><a href="#/sensors" class="back">← ' + esc(t("discovered.back")) + "</a></p>" +
      "<h2>" + esc(t("discovered.title")) + '</h2><p class="muted small">' + esc(t("discovered.hint")) + '</p><div id="discovered-list"><p class="muted">' + esc(t("common.loading")) + "</p></div></section>";
    var current = YJ.ticket("view");
    api("GET", "/api/v1/sensors/discovered").then(function (d) {
      var box = $("#discovered-list");
      if (!box || !current() || YJ.app.view !== "discovered") { return; }
      var ts = (d && d.topics) || [], admin = YJ.can("admin");
      var cols = ["topic", "guess", "count", "first", "last", "sample"];
      box.innerHTML = (ts.length ? '<table id="discovered" class="discovered-table"><thead><tr><th>' + cols.map(function (c) { return esc(t("discovered." + c)); }).join("</th><th>") +
        (admin ? "</th><th>" : "") + "</th></tr></thead><tbody>" + ts.map(function (x) {
          var href = "#/sensor?" + YJ.qs({ topic: x.topic, site: x.site || "", id: x.sensor || "", sample: (x.sample || "").slice(0, 120) });
          return '<tr data-topic="' + esc(x.topic) + '"><td data-label="' + esc(t("discovered.topic")) + '"><code>' + esc(x.topic) + '</code></td><td data-label="' + esc(t("discovered.guess")) + '">' +
            esc(x.site ? YJ.siteName(x.site) : "") + (x.sensor ? " / " + esc(x.sensor) : "") + '</td><td data-label="' + esc(t("discovered.count")) + '" class="num">' + esc(x.count) +
            '</td><td data-label="' + esc(t("discovered.first")) + '">' + esc(fmtTime(x.first_seen)) + '</td><td data-label="' + esc(t("discovered.last")) + '">' + esc(fmtTime(x.last_seen)) +
            '</td><td data-label="' + esc(t("discovered.sample")) + '"><code class="sample">' + esc(x.sample) + "</code></td>" +
            (admin ? '<td class="act"><a class="button primary register" href="' + esc(href) + '">' + esc(t("discovered.register")) + "</a></td>" : "") + "</tr>";
        }).join("") + "</tbody></table>" : '<p class="empty">' + esc(t("discovered.empty")) + "</p>") +
        (d && d.not_kept ? '<p class="muted">' + esc(t("discovered.dropped", { n: d.not_kept })) + "</p>" : "");
    }, function (err) {
      var box = $("#discovered-list");
      if (box && err.status !== 401) { box.innerHTML = err.status === 404 ? '<p class="empty" id="discovery-off">' + esc(t("discovered.off")) + "</p>" : YJ.failed(err); }
    });
  }
})(window.YJ);

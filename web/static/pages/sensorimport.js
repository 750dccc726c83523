// Import a sheet of sensors (#/sensorimport): the CSV that Excel or WPS
// saves (UTF-8, GBK or UTF-16; commas, semicolons or tabs; Chinese or
// English headers). The server reads it, not this page: the chosen file is
// sent as it is to POST /api/v1/sensors/import?dry_run=1 for the preview —
// what each row would do and every problem at its line and column — and
// only a sheet without problems can then be imported, all or nothing, by
// the same code as `yujing sensors import`. Admins only.
(function (YJ) {
  "use strict";
  var t = YJ.t, esc = YJ.esc, $ = YJ.$, api = YJ.api;
  YJ.strings({
    zh: {
      "sensorimport.title": "导入监测点表格", "sensorimport.back": "返回监测点列表",
      "sensorimport.file": "选择表格文件（CSV，可由 Excel / WPS “另存为 CSV”得到）",
      "sensorimport.hint": "表头可用中文或英文：编号、名称、类别、站点、指标、单位、上报间隔、量程下限、量程上限、位置、经度、纬度、标签、主题、解码器。已有编号的行按表格修改（空单元格保留原值），新编号的行新增。先预检，全部无误才能导入，导入要么全部生效、要么一条也不生效。",
      "sensorimport.checking": "正在预检…", "sensorimport.format": "格式：{format}；{rows} 行；与现有 {sensors} 个监测点比对。",
      "sensorimport.summary": "新增 {create} 个，修改 {update} 个，不变 {unchanged} 个，有误 {invalid} 行。",
      "sensorimport.problems": "发现 {n} 处问题，未导入任何监测点。请修改表格后重新选择文件。",
      "sensorimport.ok": "预检通过，可以导入。", "sensorimport.nothing": "表格与现有监测点完全一致，无需导入。",
      "sensorimport.apply": "确认导入（新增 {create}，修改 {update}）", "sensorimport.applying": "正在导入…",
      "sensorimport.done": "已导入：新增 {create} 个，修改 {update} 个。", "sensorimport.toList": "查看监测点",
      "sensorimport.col.line": "行", "sensorimport.col.id": "编号", "sensorimport.col.action": "结果", "sensorimport.col.what": "内容",
      "sensorimport.act.create": "新增", "sensorimport.act.update": "修改", "sensorimport.act.unchanged": "不变", "sensorimport.act.invalid": "有误",
      "sensorimport.at": "第 {line} 行", "sensorimport.atcol": "第 {line} 行第 {col} 列", "sensorimport.item": "第 {item} 项",
      "sensorimport.nproblems": "{n} 处问题"
    },
    en: {
      "sensorimport.title": "Import a sheet of sensors", "sensorimport.back": "Back to the sensors",
      "sensorimport.file": "Choose the sheet (CSV, as Excel or WPS saves it with Save as CSV)",
      "sensorimport.hint": "Headers in English or Chinese: id, name, family, site, metric, unit, interval, min, max, location, lon, lat, tags, topic, decoder. A row with a known id changes that sensor (an empty cell keeps its value); a new id adds one. The sheet is checked first and can be imported only without problems; the import is all or nothing.",
      "sensorimport.checking": "Checking…", "sensorimport.format": "Format: {format}; {rows} rows; compared with the {sensors} sensors in force.",
      "sensorimport.summary": "{create} to add, {update} to change, {unchanged} unchanged, {invalid} rows wrong.",
      "sensorimport.problems": "{n} problems found; nothing was imported. Correct the sheet and choose it again.",
      "sensorimport.ok": "Checked: ready to import.", "sensorimport.nothing": "The sheet matches the sensors in force: nothing to import.",
      "sensorimport.apply": "Import ({create} to add, {update} to change)", "sensorimport.applying": "Importing…",
      "sensorimport.done": "Imported: {create} added, {update} changed.", "sensorimport.toList": "See the sensors",
      "sensorimport.col.line": "Line", "sensorimport.col.id": "Id", "sensorimport.col.action": "Result", "sensorimport.col.what": "What",
      "sensorimport.act.create": "add", "sensorimport.act.update": "change", "sensorimport.act.unchanged": "unchanged", "sensorimport.act.invalid": "wrong",
      "sensorimport.at": "line {line}", "sensorimport.atcol": "line {line}, column {col}", "sensorimport.item": "item {item}",
      "sensorimport.nproblems": "{n} problems"
    }
  });
  YJ.page("sensorimport", { role: "admin", navAs: "sensors", render: importPage });

  function importPage() {
    $("#view").innerHTML = '<section class="sensor-import"><p><a href="#/sensors" class="back">← ' + esc(t("sensorimport.back")) + "</a></p>" +
      '<div class="card"><h2>' + esc(t("sensorimport.title")) + "</h2>" +
      '<label class="field">' + esc(t("sensorimport.file")) + '<input type="file" id="import-file" accept=".csv,.tsv,.txt,text/csv,text/plain,text/tab-separated-values"></label>' +
      '<p class="muted small">' + esc(t("sensorimport.hint")) + "</p></div>" +
      '<div id="import-result" aria-live="polite"></div></section>';
    $("#import-file").addEventListener("change", function () {
      var file = this.files && this.files[0];
      if (file) { check(file); }
    });
  }
  // send posts the file as it is: the server detects its encoding and
  // separator. A sheet with problems is 422 with the same plan.
  function send(file, dry) {
    return api("POST", "/api/v1/sensors/import" + (dry ? "?dry_run=1" : ""), file, { type: "text/csv" }).then(function (res) {
      return res;
    }, function (err) {
      if (err.status === 422 && err.data && err.data.steps) { return err.data; }
      throw err;
    });
  }
  function check(file) {
    var box = $("#import-result"), current = YJ.ticket("import");
    box.innerHTML = '<p class="muted">' + esc(t("sensorimport.checking")) + "</p>";
    send(file, true).then(function (res) {
      if (!current() || YJ.app.view !== "sensorimport") { return; }
      var n = counts(res), bad = (res.problems || []).length;
      box.innerHTML = '<div class="card" id="import-plan" data-problems="' + bad + '"><p class="muted small">' + esc(t("sensorimport.format", { format: res.format, rows: res.rows, sensors: res.sensors })) + "</p>" +
        '<p id="import-summary">' + esc(t("sensorimport.summary", n)) + "</p>" +
        (bad ? '<p class="error" id="import-refused">' + esc(t("sensorimport.problems", { n: bad })) + "</p>" + problemsHTML(res.problems) :
          n.create + n.update ? '<p class="act-msg ok">' + esc(t("sensorimport.ok")) + '</p><button type="button" class="primary" id="import-apply">' + esc(t("sensorimport.apply", n)) + "</button>" :
            '<p class="muted">' + esc(t("sensorimport.nothing")) + "</p>") +
        '<p id="import-msg" class="act-msg" role="status"></p>' + stepsHTML(res.steps || []) + "</div>";
      var apply = $("#import-apply");
      if (apply) {
        apply.onclick = function () {
          apply.disabled = true;
          $("#import-file").disabled = true;
          var msg = $("#import-msg");
          msg.className = "act-msg";
          msg.textContent = t("sensorimport.applying");
          send(file, false).then(function (done) {
            $("#import-file").disabled = false;
            if ((done.problems || []).length || !done.applied) { // changed meanwhile: the new plan, nothing applied
              box.insertAdjacentHTML("afterbegin", '<p class="error">' + esc(t("sensorimport.problems", { n: (done.problems || []).length })) + "</p>" + problemsHTML(done.problems || []));
              apply.remove();
              return;
            }
            YJ.loadSensors(true).catch(function () {});
            msg.className = "act-msg ok";
            msg.id = "import-done";
            msg.innerHTML = esc(t("sensorimport.done", counts(done))) + ' <a href="#/sensors">' + esc(t("sensorimport.toList")) + "</a>";
            apply.remove();
          }, function (err) {
            apply.disabled = false;
            $("#import-file").disabled = false;
            msg.className = "act-msg error";
            msg.textContent = t("common.error", { msg: err.message });
          });
        };
      }
    }, function (err) {
      if (current() && err.status !== 401) { box.innerHTML = YJ.failed(err); }
    });
  }
  function counts(res) {
    var n = { create: 0, update: 0, unchanged: 0, invalid: 0 };
    (res.steps || []).forEach(function (s) { n[s.action] = (n[s.action] || 0) + 1; });
    return n;
  }
  function where(p) {
    if (p.line && p.col) { return t("sensorimport.atcol", { line: p.line, col: p.col }); }
    if (p.line) { return t("sensorimport.at", { line: p.line }); }
    if (p.item) { return t("sensorimport.item", { item: p.item }); }
    return "";
  }
  function problemsHTML(ps) {
    return '<ol class="problems" id="import-problems">' + ps.map(function (p) {
      var col = p.column || p.field;
      return '<li data-line="' + esc(p.line || "") + '"><b>' + esc(where(p)) + "</b>" + (col ? " 「" + esc(col) + "」" : "") + "：" + esc(p.message) + "</li>";
    }).join("") + "</ol>";
  }
  function stepsHTML(steps) {
    if (!steps.length) { return ""; }
    return '<table class="import-steps" id="import-steps"><thead><tr><th>' + ["line", "id", "action", "what"].map(function (c) { return esc(t("sensorimport.col." + c)); }).join("</th><th>") +
      "</th></tr></thead><tbody>" + steps.map(function (s) {
        var what = s.action === "update" ? (s.changes || []).map(esc).join("<br>") : s.action === "invalid" ? esc(t("sensorimport.nproblems", { n: s.problems })) : esc(s.details || "");
        return '<tr data-action="' + esc(s.action) + '" data-id="' + esc(s.id) + '"><td>' + esc(s.line || s.item || "") + "</td><td>" + esc(s.id) + '</td><td><span class="imp imp-' + esc(s.action) + '">' +
          esc(t("sensorimport.act." + s.action)) + "</span></td><td>" + what + "</td></tr>";
      }).join("") + "</tbody></table>";
  }
})(window.YJ);

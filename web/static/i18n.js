// The dictionary: every string the console shows, in Chinese (the
// default) and English. This file holds the core's strings (levels,
// states, families, the header, login, common words); each page file
// (pages/*.js) adds its own the same way: one YJ.strings call with a zh
// and an en object. A key defined twice is an error thrown where it
// happens, never a silent overwrite. YJ.t(key, vars) (console.js) fills
// {n} from vars; a key missing in English falls back to Chinese.
(function () {
  "use strict";
  var YJ = window.YJ = window.YJ || {};
  var dict = { zh: {}, en: {} };
  YJ.dict = dict;
  // strings merges a file's strings into the dictionary.
  YJ.strings = function (d) {
    ["zh", "en"].forEach(function (lang) {
      var add = (d && d[lang]) || {};
      Object.keys(add).forEach(function (k) {
        if (Object.prototype.hasOwnProperty.call(dict[lang], k)) { throw new Error("i18n: string " + lang + " " + k + " is defined twice"); }
        dict[lang][k] = add[k];
      });
    });
  };

  YJ.strings({
    zh: {
      "app.title": "预警值守台",
      "conn.connecting": "连接中", "conn.live": "实时", "conn.retry": "重连中",
      "lang.switch": "English", "lang.label": "切换语言",
      "user.logout": "退出", "user.anonymous": "未启用登录", "user.password": "修改密码",
      "role.viewer": "只读", "role.operator": "值班员", "role.admin": "管理员",
      "login.title": "登录预警值守台", "login.user": "用户名", "login.password": "密码", "login.submit": "登录",
      "login.failed": "用户名或密码不正确", "login.limited": "尝试次数过多，请稍后再试",
      "login.hint": "账号由管理员分配。",
      "level.red": "红色 Ⅰ级", "level.orange": "橙色 Ⅱ级", "level.yellow": "黄色 Ⅲ级", "level.blue": "蓝色 Ⅳ级", "level.none": "无",
      "state.firing": "待响应", "state.acknowledged": "已响应", "state.disposing": "处置中", "state.resolved": "已恢复", "state.closed": "已关闭", "state.open": "未关闭（全部）",
      "family.gas": "燃气/可燃气体", "family.hazard": "重大危险源", "family.dust": "粉尘涉爆", "family.weather": "气象",
      "family.flood": "防汛", "family.power": "电力监测", "family.electrical": "电气火灾",
      "event.raised": "触发", "event.upgraded": "升级", "event.downgraded": "降级", "event.resolved": "恢复",
      "event.reopened": "再次触发", "event.acknowledged": "响应确认", "event.disposed": "处置记录", "event.closed": "核查销号", "event.overdue": "超时督办",
      "reason.real_hazard": "真实险情", "reason.false_alarm": "误报", "reason.equipment_fault": "设备故障", "reason.maintenance": "检修作业", "reason.other": "其他",
      "filter.region": "区域代码", "filter.site": "站点", "filter.family": "类别", "filter.level": "级别", "filter.state": "状态",
      "filter.all": "全部", "filter.clear": "清除筛选",
      "col.level": "级别", "col.state": "状态", "col.site": "站点", "col.sensor": "监测点", "col.rule": "规则", "col.value": "数值",
      "col.started": "开始时间", "col.age": "持续", "col.message": "内容", "col.flags": "标记", "col.acked": "响应",
      "site.area": "区域 {code}", "issued.label": "发布的预警", "detail.issued": "预警信息",
      "flag.silenced": "已静默", "flag.inhibited": "已抑制", "flag.overdue": "超时督办",
      "banner.new": "新{level}预警", "banner.dismiss": "点击关闭",
      "sys.store_refused": "存储拒收 {n} 条读数，已保存待重放", "sys.store_full": "存放区已满，新读数暂留 MQTT 代理、尚未确认",
      "sys.reasons": "原因：{r}", "sys.how": "按 docs/INFLUXDB.md 调整 InfluxDB 上限后，yujing 会自动重放",
      "sysreason.max_values_per_tag": "标签取值数超限（max-values-per-tag）", "sysreason.max_series_per_database": "序列数超限（max-series-per-database）",
      "sysreason.field_type_conflict": "字段类型冲突", "sysreason.beyond_retention": "超出保留期", "sysreason.invalid_reading": "读数无效",
      "sysreason.too_large": "请求过大", "sysreason.other": "其他", "sysreason.rejected": "被拒收",
      "common.loading": "加载中…", "common.error": "出错了：{msg}", "common.retry": "重试",
      "common.yes": "是", "common.no": "否", "common.none": "—",
      "page.forbidden": "当前账号无权查看此页面。",
      "time.s": "{n} 秒", "time.m": "{n} 分钟", "time.h": "{n} 小时", "time.d": "{n} 天", "time.ago": "{t}前",
      "foot.zone": "时间均为 {zone}（{offset}）",
      "via.link": "应答链接", "via.console": "值班台代为登记", "via.api": "接口登记", "via.reply": "{ch} 回复", "via.key": "{ch} 按键 {key}",
      "actor.system": "系统",
      // The directory's words, shared by the pages of people, sites and
      // rosters: roles of a chain or roster (duty's Role* constants), kinds
      // of organisation, a site's production status (yujing.ProductionStatus).
      // YJ.label(prefix, value) falls back to the value (a chain may name any role).
      "dutyrole.duty_officer": "值班员", "dutyrole.leader_on_duty": "带班领导", "dutyrole.principal": "主要负责人",
      "dutyrole.assigned_official": "包保责任人", "dutyrole.bureau_on_duty": "值班局", "dutyrole.supervisor_in_chief": "督长",
      "dutyrole.grid_member": "网格员", "dutyrole.dam_chief": "库长",
      "orgkind.province": "省级", "orgkind.city": "市级", "orgkind.county": "县（区）级", "orgkind.township": "乡镇（街道）",
      "orgkind.village": "村（社区）", "orgkind.enterprise": "企业", "orgkind.park": "园区", "orgkind.bureau": "部门", "orgkind.department": "内设机构",
      "pstatus.normal": "正常生产", "pstatus.ordered_stopped": "责令停产停业", "pstatus.rectifying": "停产整顿",
      "pstatus.suspended": "停产", "pstatus.closed": "关闭取缔"
    },
    en: {
      "app.title": "Warning duty room",
      "conn.connecting": "connecting", "conn.live": "live", "conn.retry": "reconnecting",
      "lang.switch": "中文", "lang.label": "Switch language",
      "user.logout": "Log out", "user.anonymous": "login not enabled", "user.password": "Change password",
      "role.viewer": "viewer", "role.operator": "operator", "role.admin": "admin",
      "login.title": "Log in to the duty room", "login.user": "User name", "login.password": "Password", "login.submit": "Log in",
      "login.failed": "Wrong user name or password", "login.limited": "Too many attempts, try again later",
      "login.hint": "Accounts are given out by an administrator.",
      "level.red": "Red · I", "level.orange": "Orange · II", "level.yellow": "Yellow · III", "level.blue": "Blue · IV", "level.none": "none",
      "state.firing": "firing", "state.acknowledged": "acknowledged", "state.disposing": "disposing", "state.resolved": "resolved", "state.closed": "closed", "state.open": "open (all)",
      "family.gas": "gas", "family.hazard": "major hazard", "family.dust": "dust explosion", "family.weather": "weather",
      "family.flood": "flood", "family.power": "power", "family.electrical": "electrical fire",
      "event.raised": "raised", "event.upgraded": "upgraded", "event.downgraded": "downgraded", "event.resolved": "resolved",
      "event.reopened": "reopened", "event.acknowledged": "acknowledged", "event.disposed": "disposal", "event.closed": "closed", "event.overdue": "overdue",
      "reason.real_hazard": "real hazard", "reason.false_alarm": "false alarm", "reason.equipment_fault": "equipment fault", "reason.maintenance": "maintenance", "reason.other": "other",
      "filter.region": "Region code", "filter.site": "Site", "filter.family": "Family", "filter.level": "Level", "filter.state": "State",
      "filter.all": "all", "filter.clear": "Clear filters",
      "col.level": "Level", "col.state": "State", "col.site": "Site", "col.sensor": "Sensor", "col.rule": "Rule", "col.value": "Value",
      "col.started": "Started", "col.age": "For", "col.message": "Message", "col.flags": "Flags", "col.acked": "Acknowledged",
      "site.area": "Area {code}", "issued.label": "issued warning", "detail.issued": "Warning",
      "flag.silenced": "silenced", "flag.inhibited": "inhibited", "flag.overdue": "overdue",
      "banner.new": "New {level} warning", "banner.dismiss": "click to dismiss",
      "sys.store_refused": "Store refused {n} readings, kept for replay", "sys.store_full": "no room left to keep more: new readings stay unacknowledged at the MQTT broker",
      "sys.reasons": "reason: {r}", "sys.how": "raise InfluxDB's limit (docs/INFLUXDB.md); yujing then replays them by itself",
      "sysreason.max_values_per_tag": "max-values-per-tag reached", "sysreason.max_series_per_database": "max-series-per-database reached",
      "sysreason.field_type_conflict": "field type conflict", "sysreason.beyond_retention": "older than the retention policy", "sysreason.invalid_reading": "invalid reading",
      "sysreason.too_large": "request too large", "sysreason.other": "other", "sysreason.rejected": "rejected",
      "common.loading": "Loading…", "common.error": "Error: {msg}", "common.retry": "Retry",
      "common.yes": "yes", "common.no": "no", "common.none": "—",
      "page.forbidden": "Your account may not see this page.",
      "time.s": "{n} s", "time.m": "{n} min", "time.h": "{n} h", "time.d": "{n} d", "time.ago": "{t} ago",
      "foot.zone": "All times in {zone} ({offset})",
      "via.link": "answer link", "via.console": "recorded in the console", "via.api": "recorded through the API", "via.reply": "{ch} reply", "via.key": "{ch} key {key}",
      "actor.system": "system",
      "dutyrole.duty_officer": "duty officer", "dutyrole.leader_on_duty": "leader on duty", "dutyrole.principal": "principal",
      "dutyrole.assigned_official": "assigned official", "dutyrole.bureau_on_duty": "bureau on duty", "dutyrole.supervisor_in_chief": "supervisor-in-chief",
      "dutyrole.grid_member": "grid member", "dutyrole.dam_chief": "dam chief",
      "orgkind.province": "province", "orgkind.city": "city", "orgkind.county": "county", "orgkind.township": "township",
      "orgkind.village": "village", "orgkind.enterprise": "enterprise", "orgkind.park": "park", "orgkind.bureau": "bureau", "orgkind.department": "department",
      "pstatus.normal": "normal", "pstatus.ordered_stopped": "ordered to stop", "pstatus.rectifying": "stopped for rectification",
      "pstatus.suspended": "suspended", "pstatus.closed": "closed down"
    }
  });
})();

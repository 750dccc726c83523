package yujing

// metricNames are the display names of the metric ids the presets, the
// demo and the examples use: what a message to an official or the
// console says instead of the id ("可燃气体浓度 39.8 %LEL", not
// "lel 39.8 %LEL"). byFamily names a metric whose meaning depends on the
// sensor family (a tank's level is 液位, a river's 水位).
var metricNames = map[string]struct {
	zh, en   string
	byFamily map[Family][2]string
}{
	"lel":              {zh: "可燃气体浓度", en: "combustible gas"},
	"oel":              {zh: "有毒气体浓度", en: "toxic gas"},
	"h2s":              {zh: "硫化氢浓度", en: "H2S concentration"},
	"co":               {zh: "一氧化碳浓度", en: "CO concentration"},
	"o2":               {zh: "氧含量", en: "oxygen"},
	"oxygen":           {zh: "氧含量", en: "oxygen"},
	"level":            {zh: "液位", en: "level", byFamily: map[Family][2]string{FamilyFlood: {"水位", "water level"}, FamilyWeather: {"水位", "water level"}}},
	"water_level":      {zh: "水位", en: "water level"},
	"pressure":         {zh: "压力", en: "pressure"},
	"temperature":      {zh: "温度", en: "temperature"},
	"hopper_temp":      {zh: "灰斗温度", en: "ash-hopper temperature"},
	"bearing_temp":     {zh: "轴承温度", en: "bearing temperature"},
	"dp":               {zh: "除尘器压差", en: "filter differential pressure"},
	"spark":            {zh: "火花探测", en: "spark detection"},
	"rain":             {zh: "降雨量", en: "rainfall"},
	"rainfall":         {zh: "降雨量", en: "rainfall"},
	"rain_1h":          {zh: "1小时雨量", en: "1-hour rainfall"},
	"rain_3h":          {zh: "3小时雨量", en: "3-hour rainfall"},
	"rain_6h":          {zh: "6小时雨量", en: "6-hour rainfall"},
	"rain_12h":         {zh: "12小时雨量", en: "12-hour rainfall"},
	"rain_24h":         {zh: "24小时雨量", en: "24-hour rainfall"},
	"depth":            {zh: "积水深度", en: "water depth"},
	"wind_speed":       {zh: "风速", en: "wind speed"},
	"wind_gust":        {zh: "阵风风速", en: "wind gust"},
	"power":            {zh: "用电功率", en: "power draw"},
	"current":          {zh: "电流", en: "current"},
	"residual_current": {zh: "剩余电流", en: "residual current"},
	"cable_temp":       {zh: "线缆温度", en: "cable temperature"},
	"energy":           {zh: "用电量", en: "energy used"},
	"displacement":     {zh: "位移", en: "displacement"},
	"crack_width":      {zh: "裂缝宽度", en: "crack width"},
	"danger_grade":     {zh: "森林火险等级", en: "forest-fire danger grade"},
	"beach_length":     {zh: "干滩长度", en: "dry-beach length"},
	"phreatic_depth":   {zh: "浸润线埋深", en: "phreatic line depth"},
}

// MetricName is the display name of a metric of a sensor of family f in
// Chinese and in English; both "" for a metric yujing has no name for
// (show the rule's description or the id then).
func MetricName(f Family, metric string) (zh, en string) {
	m, ok := metricNames[metric]
	if !ok {
		return "", ""
	}
	if n, ok := m.byFamily[f]; ok {
		return n[0], n[1]
	}
	return m.zh, m.en
}

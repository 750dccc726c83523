// Package message owns the text of a warning: the note the rule engine
// writes into Alert.Message (Note, OverdueNote), the scheduled summary
// (SummaryText), the variables of the cloud SMS and voice templates
// (TemplateParams), and the text of a call (yujing.Call) for each kind of
// channel: a short SMS with its template parameters, an IM message (title
// and markdown), an e-mail (subject and plain-text body) and a voice (TTS)
// script. It imports only the root package: alerting, alerting/escalate
// and the channels call it, and none of them writes a warning's words.
//
// Texts come from text/template sets, one per language: Simplified Chinese
// ("zh-CN", the default) and English ("en"). They say the warning level
// (红色预警 / Ⅰ级, or RED), the sensor family (燃气, 危化品重大危险源, ...),
// the site and sensor by name, the metric by its display name, the value
// beside the threshold of its level, the time in the configured zone (and
// which zone), short guidance on what to do, and the answer link and
// deadline when the call expects an answer. Raised, upgraded, downgraded,
// reopened, resolved, acknowledged, disposed, closed, overdue (督办) and a
// summary each have their own wording; a reminder and a later step or round
// of call-and-answer say why the person is called now.
//
// Any named template can be replaced when the Renderer is built; New parses
// every replacement and renders sample calls of every level and event with
// it, so a broken or over-long template is a start-up error naming the
// template, never a failed call at 3 a.m.
//
// SMS text is kept within two segments of a domestic Chinese SMS (70
// characters for one, 67 per part of a long message) including the
// signature the provider adds, and each SMS template parameter within the
// strictest per-variable limit of the providers; see README.md.
package message

// Package feishu is the Feishu (飞书) / Lark channel: it posts each call to
// a group through a custom bot (自定义机器人) webhook as an interactive
// card whose header has the warning level's colour and whose button opens
// the answer link, signed with the bot's secret when it checks signatures.
// Bot answers are classified for the dispatcher: frequency limits are
// retried, a rejected signature, keyword, IP or token is permanent. See
// README.md.
package feishu

// Package dingtalk is the DingTalk channel: it posts each call to a
// DingTalk group through a custom robot (自定义机器人) webhook, signed with
// the robot's 加签 secret, as a markdown message that @mentions the person
// for orange and red warnings, or as an action card with a "收到 / 确认"
// button to the answer link. Robot answers are classified for the
// dispatcher: throttling (errcode 130101) is retried, a refused token,
// signature or keyword is permanent. See README.md.
package dingtalk

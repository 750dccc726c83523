package logchan

import (
	"context"
	"errors"
	"log/slog"

	"yujing"
	"yujing/notify"
)

// DefaultName is the channel name when Config.Name is empty.
const DefaultName = "log"

// Message is the fixed message of every record.
const Message = "warning call"

// Config configures the log channel.
type Config struct {
	Name string `yaml:"name"` // channel name calls are routed by; default "log"
}

// Channel is a notify.Channel that logs calls.
type Channel struct {
	name string
	log  *slog.Logger
}

var (
	_ notify.Channel     = (*Channel)(nil)
	_ notify.GroupSender = (*Channel)(nil)
)

// New builds the channel writing to logger.
func New(cfg Config, logger *slog.Logger) (*Channel, error) {
	if logger == nil {
		return nil, errors.New("logchan: no logger")
	}
	if cfg.Name == "" {
		cfg.Name = DefaultName
	}
	return &Channel{name: cfg.Name, log: logger}, nil
}

// Name returns the channel name.
func (l *Channel) Name() string { return l.name }

// Send writes one Warn record for c, with the keys call_id, alert_id,
// event, alert_level, site, sensor, value, person, person_name and message.
// It fails only when ctx is done.
func (l *Channel) Send(ctx context.Context, c yujing.Call) error {
	return l.write(ctx, c)
}

// SendGroup writes one Warn record for a grouped delivery: the first
// call's keys with the combined message, and group, the ids of every call
// it stands for.
func (l *Channel) SendGroup(ctx context.Context, g notify.Group) (string, error) {
	ids := make([]string, len(g.Members))
	for i, m := range g.Members {
		ids[i] = m.ID
	}
	return "", l.write(ctx, g.Call, slog.Any("group", ids))
}

func (l *Channel) write(ctx context.Context, c yujing.Call, extra ...slog.Attr) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	l.log.LogAttrs(ctx, slog.LevelWarn, Message, append([]slog.Attr{
		slog.String("call_id", c.ID),
		slog.Int64("alert_id", c.Alert.ID),
		slog.String("event", string(c.Event)),
		slog.String("alert_level", c.Alert.Level.String()), // "level" would clash with slog's own key
		slog.String("site", c.Alert.Site),
		slog.String("sensor", c.Alert.Sensor),
		slog.Float64("value", c.Alert.Value),
		slog.String("person", c.Person.ID),
		slog.String("person_name", c.Person.Name),
		slog.String("message", c.Alert.Message),
	}, append(answerAttrs(c), extra...)...)...)
	return nil
}

// answerAttrs are a call-and-answer call's step, deadline and answer link
// (none for a plain notification).
func answerAttrs(c yujing.Call) []slog.Attr {
	if c.AnswerURL == "" {
		return nil
	}
	return []slog.Attr{slog.Int("step", c.Step), slog.Time("deadline", c.Deadline), slog.String("answer_url", c.AnswerURL)}
}

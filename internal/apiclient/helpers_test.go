package apiclient

import (
	"context"
	"encoding/json"
	"testing"
)

func quote(s string) string {
	b, _ := json.Marshal(s)
	return string(b)
}

func contextCancelled(t *testing.T) (context.Context, context.CancelFunc) {
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	return ctx, cancel
}

package escalate

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestLinkToken(t *testing.T) {
	s := signer{key: []byte("0123456789abcdef0123456789abcdef")}
	now := time.Date(2026, 7, 14, 10, 0, 0, 0, time.UTC)
	tok := s.token("esc1-r0-s1-zhang-p-sms", now.Add(time.Hour))
	if strings.ContainsAny(tok, "/+=?&# ") {
		t.Errorf("token %q is not URL-path safe", tok)
	}
	for _, c := range []struct {
		name, token string
		at          time.Time
		want        error
	}{
		{"good", tok, now, nil},
		{"expired at its expiry", tok, now.Add(time.Hour), ErrExpired},
		{"other key", signer{key: []byte("another key of at least 32 bytes!!")}.token("esc1-r0-s1-zhang-p-sms", now.Add(time.Hour)), now, ErrForged},
		{"call id swapped", strings.Split(s.token("esc1-r0-s1-li-p-sms", now.Add(time.Hour)), ".")[0] + "." + strings.Split(tok, ".")[1], now, ErrForged},
		{"expiry extended", strings.Split(s.token("esc1-r0-s1-zhang-p-sms", now.Add(48*time.Hour)), ".")[0] + "." + strings.Split(tok, ".")[1], now, ErrForged},
		{"no signature", strings.Split(tok, ".")[0], now, ErrForged},
		{"empty", "", now, ErrForged},
	} {
		t.Run(c.name, func(t *testing.T) {
			id, _, err := s.verify(c.token, c.at)
			if !errors.Is(err, c.want) && !(c.want == nil && err == nil) {
				t.Fatalf("verify: %v, want %v", err, c.want)
			}
			if c.want == nil && id != "esc1-r0-s1-zhang-p-sms" {
				t.Errorf("call id %q", id)
			}
		})
	}
}

// maxTokenCallID is the longest call id whose token stays within the 1 KiB
// verify accepts (base64 of 8 + id bytes, a dot, 22 signature characters).
const maxTokenCallID = 700

// FuzzLinkToken: any string either verifies to the call id it was made
// for or is refused; verify never panics, and a token made for any call
// id verifies to exactly that id.
func FuzzLinkToken(f *testing.F) {
	s := signer{key: []byte("0123456789abcdef0123456789abcdef")}
	now := time.Unix(1_800_000_000, 0)
	f.Add("esc1-r0-s1-zhang-p-sms", "")
	f.Add("", "AAAA.BBBB")
	f.Add("x", "..")
	f.Fuzz(func(t *testing.T, callID, garbage string) {
		if _, _, err := s.verify(garbage, now); err == nil && !strings.Contains(garbage, ".") {
			t.Fatalf("garbage %q verified", garbage)
		}
		if callID == "" || len(callID) > maxTokenCallID {
			return // verify refuses tokens over 1 KiB; call ids are far shorter
		}
		id, _, err := s.verify(s.token(callID, now.Add(time.Minute)), now)
		if err != nil || id != callID {
			t.Fatalf("round trip of %q: %q, %v", callID, id, err)
		}
	})
}

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
		{"line break in the payload", tok[:4] + "\n" + tok[4:], now, ErrForged},
		{"line break in the signature", tok[:len(tok)-2] + "\r\n" + tok[len(tok)-2:], now, ErrForged},
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

// flipUnusedBits returns s (unpadded base64url) with the unused low bits
// of its last character set: the same bytes to a lenient decoder, another
// string to a strict one. ok is false when s has no unused bits (its length
// is a multiple of 4).
func flipUnusedBits(s string) (string, bool) {
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
	unused := map[int]int{2: 4, 3: 2}[len(s)%4] // 2 chars carry 8 of 12 bits, 3 carry 16 of 18
	if unused == 0 {
		return s, false
	}
	last := strings.IndexByte(alphabet, s[len(s)-1])
	return s[:len(s)-1] + string(alphabet[last|(1<<unused-1)]), true
}

// A token whose signature or payload differs from the one issued only in
// the unused bits of its last base64 character is refused: a lenient
// decoder would read the same bytes, so one link would have several
// spellings that all work.
func TestLinkTokenStrictBase64(t *testing.T) {
	s := signer{key: []byte("0123456789abcdef0123456789abcdef")}
	now := time.Date(2026, 7, 14, 10, 0, 0, 0, time.UTC)
	for _, c := range []struct {
		name, callID string
		part         int // 0: payload, 1: signature
	}{
		{"signature (22 characters: 4 unused bits)", "esc1-r0-s1-zhang-p-sms", 1},
		{"payload with 2 unused bits", "esc1-r0-s1-zhang-p-sm", 0},
		{"payload with 4 unused bits", "esc1-r0-s1-zhang-p-s", 0},
	} {
		t.Run(c.name, func(t *testing.T) {
			tok := s.token(c.callID, now.Add(time.Hour))
			if _, _, err := s.verify(tok, now); err != nil {
				t.Fatalf("the token as issued: %v", err)
			}
			parts := strings.Split(tok, ".")
			flipped, ok := flipUnusedBits(parts[c.part])
			if !ok {
				t.Fatalf("part %q has no unused bits: pick another call id", parts[c.part])
			}
			if flipped == parts[c.part] {
				t.Fatalf("part %q was issued with its unused bits set", parts[c.part])
			}
			parts[c.part] = flipped
			bad := strings.Join(parts, ".")
			if id, _, err := s.verify(bad, now); !errors.Is(err, ErrForged) {
				t.Errorf("verify(%q) (issued %q) = %q, %v; want ErrForged", bad, tok, id, err)
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
		tok := s.token(callID, now.Add(time.Minute))
		id, _, err := s.verify(tok, now)
		if err != nil || id != callID {
			t.Fatalf("round trip of %q: %q, %v", callID, id, err)
		}
		// Only the token as issued verifies: no other spelling of the
		// same bytes (unused bits of a last character set).
		for part := range 2 {
			parts := strings.Split(tok, ".")
			if flipped, ok := flipUnusedBits(parts[part]); ok && flipped != parts[part] {
				parts[part] = flipped
				if _, _, err := s.verify(strings.Join(parts, "."), now); err == nil {
					t.Fatalf("token %q with the unused bits of part %d set verified", tok, part)
				}
			}
		}
	})
}

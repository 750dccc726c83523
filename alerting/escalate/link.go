package escalate

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"
)

// Errors of a refused answer link; match with errors.Is.
var (
	ErrForged  = errors.New("this answer link is not valid: its signature does not match (altered or forged)")
	ErrExpired = errors.New("this answer link has expired")
	ErrUsed    = errors.New("this answer link was already used")
	// ErrNoLink: the call expects no answer (a route's notification).
	ErrNoLink = errors.New("this call has no answer link")
)

// signer makes and checks answer-link tokens: the call id and an expiry,
// signed with HMAC-SHA256 under a secret key. The token is the only
// credential of the answer page, so it carries no secret of its own and
// cannot be made without the key; single use is enforced by the call's
// stored answer.
type signer struct{ key []byte }

// sigLen is the length of the truncated MAC (128 bits).
const sigLen = 16

// b64 encodes the token's two parts: URL-safe, unpadded, and strict about
// the unused bits of the last character.
var b64 = base64.RawURLEncoding.Strict()

// decodePart decodes one part of a token, accepting only the spelling
// token makes: a lenient decoder also takes a last character with unused
// bits set and ignores line breaks, which would give one link several
// working spellings.
func decodePart(s string) ([]byte, error) {
	b, err := b64.DecodeString(s)
	if err != nil {
		return nil, err
	}
	if b64.EncodeToString(b) != s {
		return nil, errors.New("not in canonical base64url form")
	}
	return b, nil
}

// token returns the token for a call, good until exp.
func (s signer) token(callID string, exp time.Time) string {
	payload := make([]byte, 8, 8+len(callID))
	binary.BigEndian.PutUint64(payload, uint64(exp.Unix()))
	payload = append(payload, callID...)
	return b64.EncodeToString(payload) + "." + b64.EncodeToString(s.mac(payload))
}

func (s signer) mac(payload []byte) []byte {
	m := hmac.New(sha256.New, s.key)
	m.Write([]byte("yujing answer link v1\x00"))
	m.Write(payload)
	return m.Sum(nil)[:sigLen]
}

// verify returns the call id of a token signed with the key and not
// expired at now; only the exact token made for the call verifies, no other
// spelling of the same bytes. Errors wrap ErrForged or ErrExpired.
func (s signer) verify(token string, now time.Time) (callID string, exp time.Time, err error) {
	p, sig, ok := strings.Cut(token, ".")
	if !ok || len(token) > 1024 {
		return "", exp, fmt.Errorf("%w (malformed token)", ErrForged)
	}
	payload, err1 := decodePart(p)
	mac, err2 := decodePart(sig)
	if err1 != nil || err2 != nil || len(payload) <= 8 {
		return "", exp, fmt.Errorf("%w (malformed token)", ErrForged)
	}
	if !hmac.Equal(mac, s.mac(payload)) {
		return "", exp, ErrForged
	}
	exp = time.Unix(int64(binary.BigEndian.Uint64(payload[:8])), 0)
	if !now.Before(exp) {
		return string(payload[8:]), exp, fmt.Errorf("%w (at %s)", ErrExpired, exp.UTC().Format(time.RFC3339))
	}
	return string(payload[8:]), exp, nil
}

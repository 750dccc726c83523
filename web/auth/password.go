package auth

import (
	"crypto/rand"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"unicode/utf8"

	"golang.org/x/crypto/argon2"
)

// Params are argon2id's cost parameters.
type Params struct {
	Memory  uint32 // KiB
	Time    uint32 // passes over the memory
	Threads uint8
}

// DefaultParams are OWASP's recommended argon2id minimum (19 MiB, 2
// passes, 1 lane): about 50 ms on one core of a 2024 server.
func DefaultParams() Params { return Params{Memory: 19 * 1024, Time: 2, Threads: 1} }

// Password rules.
const (
	MinPassword = 10   // characters
	MaxPassword = 1024 // bytes: bounds the work of a hash
	saltLen     = 16
	keyLen      = 32
)

// CheckPassword says what is wrong with a new password, if anything.
func CheckPassword(pw string) error {
	switch {
	case utf8.RuneCountInString(pw) < MinPassword:
		return fmt.Errorf("password: at least %d characters", MinPassword)
	case len(pw) > MaxPassword:
		return fmt.Errorf("password: at most %d bytes", MaxPassword)
	case !utf8.ValidString(pw):
		return errors.New("password: not valid UTF-8")
	}
	return nil
}

// HashPassword hashes pw with a fresh random salt and returns the PHC
// string: $argon2id$v=19$m=19456,t=2,p=1$<salt>$<hash>, salt and hash in
// unpadded standard base64. The string names its parameters, so they can
// change later and old hashes still verify.
func HashPassword(pw string, p Params) (string, error) {
	if p.Memory < 8*uint32(max(p.Threads, 1)) || p.Time < 1 || p.Threads < 1 {
		return "", fmt.Errorf("argon2id parameters %+v: want memory ≥ 8×threads KiB, time ≥ 1, threads ≥ 1", p)
	}
	salt := make([]byte, saltLen)
	if _, err := rand.Read(salt); err != nil {
		return "", err
	}
	key := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, keyLen)
	return encodePHC(p, salt, key), nil
}

func encodePHC(p Params, salt, key []byte) string {
	b64 := base64.RawStdEncoding
	return fmt.Sprintf("$argon2id$v=%d$m=%d,t=%d,p=%d$%s$%s", argon2.Version, p.Memory, p.Time, p.Threads,
		b64.EncodeToString(salt), b64.EncodeToString(key))
}

// Bounds of the parameters a stored hash may ask for, so that a damaged
// or planted hash cannot make a login take minutes or gigabytes.
const (
	maxMemory  = 1 << 20 // KiB: 1 GiB
	maxTime    = 64
	maxThreads = 64
)

// ParsePHC reads an argon2id PHC string.
func ParsePHC(encoded string) (p Params, salt, key []byte, err error) {
	parts := strings.Split(encoded, "$")
	// "", "argon2id", "v=19", "m=…,t=…,p=…", salt, hash
	if len(parts) != 6 || parts[0] != "" || parts[1] != "argon2id" {
		return p, nil, nil, errors.New("password hash: not an argon2id PHC string")
	}
	if parts[2] != "v="+strconv.Itoa(argon2.Version) {
		return p, nil, nil, fmt.Errorf("password hash: argon2 version %q, want v=%d", parts[2], argon2.Version)
	}
	seen := map[string]bool{}
	for _, kv := range strings.Split(parts[3], ",") {
		k, v, _ := strings.Cut(kv, "=")
		n, err := strconv.ParseUint(v, 10, 32)
		if err != nil || seen[k] {
			return p, nil, nil, fmt.Errorf("password hash: bad parameter %q", kv)
		}
		seen[k] = true
		switch {
		case k == "m" && n >= 8 && n <= maxMemory:
			p.Memory = uint32(n)
		case k == "t" && n >= 1 && n <= maxTime:
			p.Time = uint32(n)
		case k == "p" && n >= 1 && n <= maxThreads:
			p.Threads = uint8(n)
		default:
			return p, nil, nil, fmt.Errorf("password hash: parameter %q unknown or out of range", kv)
		}
	}
	if len(seen) != 3 {
		return p, nil, nil, errors.New("password hash: want parameters m, t and p")
	}
	if salt, err = base64.RawStdEncoding.DecodeString(parts[4]); err != nil || len(salt) < 8 {
		return p, nil, nil, errors.New("password hash: bad salt")
	}
	if key, err = base64.RawStdEncoding.DecodeString(parts[5]); err != nil || len(key) < 16 || len(key) > 128 {
		return p, nil, nil, errors.New("password hash: bad hash")
	}
	return p, salt, key, nil
}

// VerifyPassword reports whether pw matches the PHC string encoded,
// comparing in constant time. The error says the hash itself is unusable.
func VerifyPassword(pw, encoded string) (bool, error) {
	p, salt, key, err := ParsePHC(encoded)
	if err != nil {
		return false, err
	}
	if len(pw) > MaxPassword {
		return false, nil
	}
	got := argon2.IDKey([]byte(pw), salt, p.Time, p.Memory, p.Threads, uint32(len(key)))
	return subtle.ConstantTimeCompare(got, key) == 1, nil
}

// needsRehash reports whether encoded was made with other parameters than p.
func needsRehash(encoded string, p Params) bool {
	q, _, key, err := ParsePHC(encoded)
	return err != nil || q != p || len(key) != keyLen
}

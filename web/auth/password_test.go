package auth

import (
	"fmt"
	"strings"
	"testing"
)

func TestPasswordHashRoundTrip(t *testing.T) {
	p := DefaultParams()
	h, err := HashPassword("correct horse battery", p)
	if err != nil {
		t.Fatal(err)
	}
	// The hash names its algorithm and parameters, so they can change
	// later and this hash still verifies.
	prefix := fmt.Sprintf("$argon2id$v=19$m=%d,t=%d,p=%d$", p.Memory, p.Time, p.Threads)
	if !strings.HasPrefix(h, prefix) {
		t.Fatalf("hash %q does not start with %q", h, prefix)
	}
	got, salt, key, err := ParsePHC(h)
	if err != nil || got != p || len(salt) != saltLen || len(key) != keyLen {
		t.Fatalf("ParsePHC = %+v, %d-byte salt, %d-byte key, %v", got, len(salt), len(key), err)
	}
	if p.Memory < 19*1024 || p.Time < 2 {
		t.Errorf("default parameters %+v are below OWASP's argon2id minimum (19 MiB, t=2)", p)
	}
	for _, tc := range []struct {
		pw   string
		want bool
	}{{"correct horse battery", true}, {"correct horse batterY", false}, {"", false}, {"correct horse battery ", false}} {
		ok, err := VerifyPassword(tc.pw, h)
		if err != nil || ok != tc.want {
			t.Errorf("VerifyPassword(%q) = %v, %v; want %v", tc.pw, ok, err, tc.want)
		}
	}
	// Same password, new salt: a different hash.
	h2, _ := HashPassword("correct horse battery", p)
	if h2 == h {
		t.Error("two hashes of one password are equal: the salt is not random")
	}
	// A hash made with other parameters still verifies, and is due for
	// an upgrade.
	cheap := Params{Memory: 64, Time: 1, Threads: 1}
	old, _ := HashPassword("correct horse battery", cheap)
	if ok, err := VerifyPassword("correct horse battery", old); !ok || err != nil {
		t.Errorf("old-parameter hash: %v, %v", ok, err)
	}
	if !needsRehash(old, p) || needsRehash(h, p) {
		t.Errorf("needsRehash: old %v (want true), current %v (want false)", needsRehash(old, p), needsRehash(h, p))
	}
}

func TestParsePHCRefuses(t *testing.T) {
	for _, tc := range []struct{ in, err string }{
		{"", "not an argon2id PHC string"},
		{"$2a$10$abcdefghijklmnopqrstuv", "not an argon2id PHC string"},
		{"$argon2i$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "not an argon2id PHC string"},
		{"$argon2id$v=16$m=64,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "version"},
		{"$argon2id$v=19$m=99999999,t=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "out of range"},
		{"$argon2id$v=19$m=64,t=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "want parameters m, t and p"},
		{"$argon2id$v=19$m=64,t=1,p=1,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaA", "bad parameter"},
		{"$argon2id$v=19$m=64,t=1,p=1$!!$aGFzaGhhc2hoYXNoaGFzaA", "bad salt"},
		{"$argon2id$v=19$m=64,t=1,p=1$c2FsdHNhbHQ$c2hvcnQ", "bad hash"},
	} {
		_, _, _, err := ParsePHC(tc.in)
		if err == nil || !strings.Contains(err.Error(), tc.err) {
			t.Errorf("ParsePHC(%q) = %v, want an error with %q", tc.in, err, tc.err)
		}
		if ok, _ := VerifyPassword("anything", tc.in); ok {
			t.Errorf("VerifyPassword accepted %q", tc.in)
		}
	}
}

// FuzzParsePHC: a stored hash is parsed before every login; garbage must
// never panic nor ask for more than the bounded cost.
func FuzzParsePHC(f *testing.F) {
	h, _ := HashPassword("seed password", Params{Memory: 64, Time: 1, Threads: 1})
	for _, s := range []string{h, "", "$", "$argon2id$v=19$m=,t=,p=$$", "$argon2id$v=19$m=8,t=1,p=1$AAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAA"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		p, salt, key, err := ParsePHC(s)
		if err != nil {
			return
		}
		if p.Memory > maxMemory || p.Time > maxTime || p.Threads > maxThreads || p.Memory < 8 || p.Time < 1 || p.Threads < 1 {
			t.Fatalf("ParsePHC(%q) accepted parameters %+v", s, p)
		}
		if len(salt) < 8 || len(key) < 16 || len(key) > 128 {
			t.Fatalf("ParsePHC(%q) accepted salt %d, key %d bytes", s, len(salt), len(key))
		}
	})
}

func TestCheckPassword(t *testing.T) {
	for _, tc := range []struct {
		pw string
		ok bool
	}{{"123456789", false}, {"1234567890", true}, {"密码是十个汉字的长度啊", true}, {"密码太短了", false},
		{strings.Repeat("x", MaxPassword+1), false}} {
		if err := CheckPassword(tc.pw); (err == nil) != tc.ok {
			t.Errorf("CheckPassword(%q) = %v, want ok %v", tc.pw, err, tc.ok)
		}
	}
}

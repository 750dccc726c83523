package notify

import (
	"encoding/json"
	"net/url"
	"regexp"
	"slices"
	"strings"
	"unicode/utf8"
)

// MaxErrorText bounds, in characters, the text of a channel's error as the
// Dispatcher logs it and hands it on in Result.Err (the outbox keeps it as
// the call's last_error, which the API shows to every role).
const MaxErrorText = 1000

// Patterns of what must not leave a channel whatever it is called.
var (
	// userinfoRe is the user info of a URL: scheme://user:password@.
	userinfoRe = regexp.MustCompile(`(?i)\b([a-z][a-z0-9+.-]*://)[^/\s@"'<>\\]+@`)
	// queryRe is one parameter of a URL's query: ?name=value or &name=value.
	queryRe = regexp.MustCompile(`([?&][^=\s&#?"'<>\\]+=)[^&\s#"'<>\\]*`)
	// credentialRe is a value whose name says it is a credential, written
	// as a parameter (token=…), a JSON field ("token": "…", also escaped
	// inside a quoted string) or a header line (Authorization: Bearer …).
	credentialRe = regexp.MustCompile(`(?i)((?:^|[^a-z0-9])` +
		`(?:access[_-]?token|refresh[_-]?token|token|secret|secret[_-]?key|password|passwd|pwd|sign|signature|` +
		`api[_-]?key|app[_-]?key|app[_-]?secret|access[_-]?key(?:[_-]?id|[_-]?secret)?|key|authorization|` +
		`proxy-authorization|credential|credentials|ticket|session[_-]?key|cookie|set-cookie|x-[a-z0-9-]*(?:token|key|secret|signature))` +
		`(?:\\?")?\s*[:=](?:\s|\[|\\?")*)` +
		`(?:(?:bearer|basic|digest|token|tc3-hmac-sha256|hmac-sha256)\s+)?[^\s"'&,;<>\\\]]+`)
)

// Redact returns text fit for a log line, an error and an API answer:
//
//   - every value of secrets (tokens, keys, passwords, header values,
//     phone numbers; those under four characters are left, replacing them
//     would mangle ordinary text and protect nothing) replaced with ***,
//     also in the forms an echo of a request shows it: query-escaped,
//     path-escaped, JSON-escaped;
//   - in every URL, the user info and the value of every query parameter
//     replaced with ***, whatever their names;
//   - the value of every parameter, JSON field or header whose name says
//     it is a credential (access_token, token, key, secret, sign,
//     signature, password, Authorization, …) replaced with ***;
//   - on one line (OneLine), at most MaxErrorText characters.
//
// Every channel passes what came back from its provider and what names
// its request through it (RedactError), and the Dispatcher passes every
// channel error through it once more, with no secrets of its own, before
// logging it or handing it on.
func Redact(text string, secrets ...string) string {
	text = OneLine(text)
	if r := secretReplacer(secrets); r != nil {
		text = r.Replace(text)
	}
	text = userinfoRe.ReplaceAllString(text, "${1}***@")
	text = queryRe.ReplaceAllString(text, "${1}***")
	text = credentialRe.ReplaceAllString(text, "${1}***")
	if utf8.RuneCountInString(text) > MaxErrorText {
		text = string([]rune(text)[:MaxErrorText-1]) + "…"
	}
	return text
}

// secretReplacer replaces each secret, in each of its forms, with ***;
// nil when there is nothing to replace.
func secretReplacer(secrets []string) *strings.Replacer {
	var forms []string
	for _, s := range secrets {
		if s = OneLine(s); utf8.RuneCountInString(s) < 4 { // as the text is, on one line
			continue
		}
		j, _ := json.Marshal(s)
		for _, f := range []string{s, url.QueryEscape(s), url.PathEscape(s), strings.Trim(string(j), `"`)} {
			if !slices.Contains(forms, f) {
				forms = append(forms, f)
			}
		}
	}
	if len(forms) == 0 {
		return nil
	}
	// Longest first: a secret that contains another is replaced whole.
	slices.SortStableFunc(forms, func(a, b string) int { return len(b) - len(a) })
	pairs := make([]string, 0, 2*len(forms))
	for _, f := range forms {
		pairs = append(pairs, f, "***")
	}
	return strings.NewReplacer(pairs...)
}

// RedactError returns err with the text Redact makes of it, or err itself
// when that changes nothing. The result still unwraps to err, so that
// errors.Is, errors.As, Retryable and FailureReason see what they saw;
// only its text is safe, so print the result, never what errors.As finds
// inside it. RedactError(nil) is nil.
func RedactError(err error, secrets ...string) error {
	if err == nil {
		return nil
	}
	if re, ok := err.(*redactedError); ok && len(secrets) == 0 {
		return re // already made safe
	}
	msg := err.Error()
	safe := Redact(msg, secrets...)
	if safe == msg {
		return err
	}
	return &redactedError{msg: safe, err: err}
}

type redactedError struct {
	msg string
	err error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.err }

// RequestSecrets returns the secrets a request to rawURL with headers
// carries, for Redact: the URL's user name and password, the value of
// every parameter of its query, every header value and its last word (the
// token of "Bearer t"). The URL itself is not parsed into an error.
func RequestSecrets(rawURL string, headers map[string]string) []string {
	var out []string
	add := func(s string) {
		if s = strings.TrimSpace(s); s != "" && !slices.Contains(out, s) {
			out = append(out, s)
		}
	}
	if u, err := url.Parse(rawURL); err == nil {
		if u.User != nil {
			add(u.User.Username())
			if p, ok := u.User.Password(); ok {
				add(p)
			}
		}
		for _, vs := range u.Query() {
			for _, v := range vs {
				add(v)
			}
		}
	}
	for _, v := range headers {
		add(v)
		if f := strings.Fields(v); len(f) > 1 {
			add(f[len(f)-1])
		}
	}
	return out
}

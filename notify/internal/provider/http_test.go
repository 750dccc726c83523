package provider

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
)

// TestNoRedirectClient: a redirect comes back to the channel as the 3xx
// answer; the request is not sent again elsewhere.
func TestNoRedirectClient(t *testing.T) {
	var elsewhere int
	other := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { elsewhere++ }))
	defer other.Close()
	srv := httptest.NewServer(http.RedirectHandler(other.URL+"/stolen", http.StatusTemporaryRedirect))
	defer srv.Close()
	a, b := NoRedirectClient(), NoRedirectClient()
	if a.Transport == b.Transport || a.Transport == http.DefaultTransport {
		t.Error("clients share a transport")
	}
	resp, err := a.Post(srv.URL+"/send?token=secret", "application/json", strings.NewReader(`{}`))
	if err != nil {
		t.Fatal(err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	resp.Body.Close()
	if resp.StatusCode != http.StatusTemporaryRedirect || elsewhere != 0 {
		t.Errorf("status %d, %d requests elsewhere; want the 307 and none", resp.StatusCode, elsewhere)
	}
}

func TestCheckEndpoint(t *testing.T) {
	for _, c := range []struct{ in, err string }{
		{"https://dysmsapi.aliyuncs.com/", ""},
		{"http://127.0.0.1:8080/", ""},
		{"dysmsapi.aliyuncs.com", `endpoint scheme "" is not http or https`},
		{"ftp://x/", `endpoint scheme "ftp" is not http or https`},
		{"https:///x", "endpoint has no host"},
		{"https://x/?a=b", "endpoint must not carry a query or user info"},
		{"https://user:SECRET@x/", "endpoint must not carry a query or user info"},
		{"https://exa mple.com/", "endpoint is not a valid URL"},
	} {
		u, err := CheckEndpoint(c.in)
		if c.err == "" {
			if err != nil || u.String() != c.in {
				t.Errorf("CheckEndpoint(%q) = %v, %v", c.in, u, err)
			}
			continue
		}
		if err == nil || err.Error() != c.err {
			t.Errorf("CheckEndpoint(%q) error %v, want %q", c.in, err, c.err)
		}
	}
}

func TestLoopbackAndStripPhone(t *testing.T) {
	for host, want := range map[string]bool{"localhost": true, "127.0.0.1": true, "::1": true, "10.0.0.1": false, "example.com": false, "": false} {
		if Loopback(host) != want {
			t.Errorf("Loopback(%q) = %v", host, !want)
		}
	}
	if got := StripPhone(" +86 (138) 0000-0000\t"); got != "+8613800000000" {
		t.Errorf("StripPhone = %q", got)
	}
}

func TestHeaders(t *testing.T) {
	h, errs := Headers(map[string]string{"X-Tenant": "county-1", "authorization": "Bearer tok"}, "Content-Type", "Idempotency-Key")
	if errs != nil || h.Get("X-Tenant") != "county-1" || h.Get("Authorization") != "Bearer tok" || len(h) != 2 {
		t.Errorf("Headers = %v, %v", h, errs)
	}
	for _, c := range []struct {
		name, key, value, err string
	}{
		{"reserved, any case", "content-type", "x", `header "content-type" is set by yujing and cannot be configured`},
		{"reserved", "Idempotency-Key", "x", `header "Idempotency-Key" is set by yujing and cannot be configured`},
		{"name", "Bad Header", "x", `header name "Bad Header" is not valid`},
		{"empty name", "", "x", `header name "" is not valid`},
		{"injection", "X-A", "SECRETVALUE\r\nX-B: y", `header "X-A" has a control character in its value`},
		{"nul", "X-A", "SECRET\x00", `header "X-A" has a control character in its value`},
	} {
		h, errs := Headers(map[string]string{c.key: c.value}, "Content-Type", "Idempotency-Key")
		if len(errs) != 1 || errs[0].Error() != c.err || len(h) != 0 {
			t.Errorf("%s: %v, %v; want %q", c.name, h, errs, c.err)
		}
	}
}

type item struct {
	ID string `json:"id"`
}

func TestDecodeBatch(t *testing.T) {
	for _, c := range []struct {
		name, body string
		want       []item
		err        string
	}{
		{"array", ` [{"id":"a"},{"id":"b"}] `, []item{{"a"}, {"b"}}, ""},
		{"one object", "\n{\"id\":\"a\"}", []item{{"a"}}, ""},
		{"empty array", `[]`, []item{}, ""},
		{"empty", " \n", nil, "empty body"},
		{"bad object", `{"id":`, nil, "not JSON: "},
		{"bad array", `[1]`, nil, "not a JSON array of reports: "},
		{"text", `ok`, nil, "not a JSON array of reports: "},
	} {
		got, err := DecodeBatch[item]([]byte(c.body), "reports")
		if c.err != "" {
			if err == nil || !strings.HasPrefix(err.Error(), c.err) {
				t.Errorf("%s: err %v, want %q", c.name, err, c.err)
			}
			continue
		}
		if err != nil || !slices.Equal(got, c.want) {
			t.Errorf("%s: %v, %v; want %v", c.name, got, err, c.want)
		}
	}
}

// FuzzDecodeBatch: any body gives items or an error, never a panic, and
// the items of a body that decodes are what encoding/json makes of it.
func FuzzDecodeBatch(f *testing.F) {
	for _, s := range []string{`[{"id":"a"}]`, `{"id":"a"}`, ``, `[`, `{}`, `[null]`, ` [ {"id":1} ] `} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		got, err := DecodeBatch[item](body, "items")
		if err != nil {
			if got != nil {
				t.Errorf("items %v with error %v", got, err)
			}
			return
		}
		var want []item
		if b := strings.TrimSpace(string(body)); strings.HasPrefix(b, "{") {
			var one item
			if json.Unmarshal([]byte(b), &one) != nil {
				t.Fatalf("decoded %q, which encoding/json refuses", body)
			}
			want = []item{one}
		} else if json.Unmarshal([]byte(b), &want) != nil {
			t.Fatalf("decoded %q, which encoding/json refuses", body)
		}
		if !slices.Equal(got, want) {
			t.Errorf("DecodeBatch(%q) = %v, want %v", body, got, want)
		}
	})
}

func TestMissingAndNotNumber(t *testing.T) {
	errs := Missing(Field{"secret_id", "AKID"}, Field{"secret_key", " "}, Field{"template_id", ""})
	if len(errs) != 2 || errs[0].Error() != "secret_key is empty" || errs[1].Error() != "template_id is empty" {
		t.Errorf("Missing = %v", errs)
	}
	errs = NotNumber(Field{"sms_sdk_app_id", "1400006666"}, Field{"template_id", "T-1"}, Field{"other", ""})
	if len(errs) != 1 || errs[0].Error() != `template_id "T-1" is not a number` {
		t.Errorf("NotNumber = %v", errs)
	}
}

func TestCutMainland(t *testing.T) {
	for _, c := range []struct {
		in, out string
		ok      bool
	}{
		{"+8613800000000", "13800000000", true},
		{"008613800000000", "13800000000", true},
		{"8613800000000", "13800000000", true},
		{"+86057112345678", "057112345678", true},
		{"13800000000", "13800000000", false},
		{"8605711234567", "8605711234567", false}, // 13 digits, not a mobile after 86
		{"+85261234567", "+85261234567", false},
		{"0085261234567", "0085261234567", false},
	} {
		if got, ok := CutMainland(c.in); got != c.out || ok != c.ok {
			t.Errorf("CutMainland(%q) = %q, %v; want %q, %v", c.in, got, ok, c.out, c.ok)
		}
	}
}

package apiclient

import (
	"errors"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func TestNew(t *testing.T) {
	for _, c := range []struct{ in, base, err string }{
		{"http://127.0.0.1:8080", "http://127.0.0.1:8080", ""},
		{"127.0.0.1:8080", "http://127.0.0.1:8080", ""},
		{"https://yj.example/prefix/?q=1#f", "https://yj.example/prefix", ""},
		{"ftp://x", "", `want http://HOST:PORT, got "ftp://x"`},
		{"http://", "", `want http://HOST:PORT, got "http://"`},
	} {
		cl, err := New(c.in, "")
		switch {
		case c.err != "":
			if err == nil || err.Error() != c.err {
				t.Errorf("New(%q): %v, want error %q", c.in, err, c.err)
			}
		case err != nil || cl.Base() != c.base:
			t.Errorf("New(%q) = %v, %v; want base %s", c.in, cl, err, c.base)
		}
	}
}

// TestSend checks each request as the API sees it (method, path, token,
// content type, body) and what the client makes of each kind of answer.
func TestSend(t *testing.T) {
	hs := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		got := r.Method + " " + r.URL.RequestURI() + " auth=" + r.Header.Get("Authorization") + " type=" + r.Header.Get("Content-Type") +
			" accept=" + r.Header.Get("Accept") + " body=" + string(body)
		switch r.URL.Path {
		case "/p/echo":
			w.Header().Set("Content-Type", "application/json")
			w.Write([]byte(`{"got": ` + quote(got) + `}`))
		case "/p/sheet":
			w.WriteHeader(http.StatusUnprocessableEntity)
			w.Write([]byte(`{"error": "2 problems; nothing imported", "steps": [1]}`))
		case "/p/401":
			w.WriteHeader(http.StatusUnauthorized)
			w.Write([]byte(`{"error":"authentication required"}`))
		case "/p/403":
			w.WriteHeader(http.StatusForbidden)
			w.Write([]byte(`{"error":"needs admin"}`))
		case "/p/long":
			w.WriteHeader(http.StatusBadGateway)
			w.Write([]byte(strings.Repeat("网关", 100)))
		case "/p/notjson":
			w.Write([]byte("<html>"))
		}
	}))
	defer hs.Close()
	c, err := New(hs.URL+"/p/", "tok")
	if err != nil {
		t.Fatal(err)
	}
	var out struct{ Got string }
	if err := c.Do(t.Context(), "POST", "/echo?dry_run=1", map[string]int{"a": 1}, &out); err != nil {
		t.Fatal(err)
	}
	if want := `POST /p/echo?dry_run=1 auth=Bearer tok type=application/json accept=application/json body={"a":1}`; out.Got != want {
		t.Errorf("JSON request seen as\n%s\nwant\n%s", out.Got, want)
	}
	if err := c.Send(t.Context(), "POST", "/echo", "text/csv", []byte("id\nGT-1\n"), &out); err != nil {
		t.Fatal(err)
	}
	if want := "POST /p/echo auth=Bearer tok type=text/csv accept=application/json body=id\nGT-1\n"; out.Got != want {
		t.Errorf("CSV request seen as\n%q\nwant\n%q", out.Got, want)
	}
	if err := c.Do(t.Context(), "GET", "/echo", nil, &out); err != nil || !strings.HasPrefix(out.Got, "GET /p/echo auth=Bearer tok type= ") {
		t.Errorf("GET: %v, seen as %q", err, out.Got)
	}

	for _, e := range []struct {
		path   string
		status int
		msg    string
	}{
		{"/sheet", 422, "HTTP 422: 2 problems; nothing imported"},
		{"/401", 401, "HTTP 401: authentication required (give an API token with -token or YUJING_TOKEN)"},
		{"/403", 403, "HTTP 403: needs admin (the token's role may not do this)"},
		{"/long", 502, "HTTP 502: " + strings.Repeat("网关", 33) + "…"}, // 200 bytes, cut at a character
	} {
		err := c.Do(t.Context(), "GET", e.path, nil, nil)
		var se *StatusError
		if !errors.As(err, &se) || se.Status != e.status || err.Error() != e.msg {
			t.Errorf("%s: %v, want %q", e.path, err, e.msg)
		}
	}
	// A 422 keeps its body for the caller to read.
	var se *StatusError
	if err := c.Do(t.Context(), "POST", "/sheet", nil, nil); !errors.As(err, &se) || !strings.Contains(string(se.Body), `"steps": [1]`) {
		t.Errorf("422 body not kept: %v", err)
	}
	if err := c.Do(t.Context(), "GET", "/notjson", nil, &out); err == nil || !strings.Contains(err.Error(), "GET /notjson: the answer is not the JSON expected") {
		t.Errorf("not JSON: %v", err)
	}
}

// TestUnreachable: nobody listening is an *UnreachableError naming the URL;
// a cancelled context is the context's error.
func TestUnreachable(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := ln.Addr().String()
	ln.Close()
	c, _ := New(addr, "")
	err = c.Do(t.Context(), "GET", "/api/v1/sensors", nil, nil)
	var ue *UnreachableError
	if !errors.As(err, &ue) || ue.URL != "http://"+addr || !strings.HasPrefix(err.Error(), "no answer from http://"+addr+": ") {
		t.Errorf("got %v, want an UnreachableError", err)
	}
	ctx, cancel := contextCancelled(t)
	defer cancel()
	if err := c.Do(ctx, "GET", "/", nil, nil); !errors.Is(err, ctx.Err()) {
		t.Errorf("cancelled: %v", err)
	}
}

package influx

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"
)

// InfluxQL through the v1 query endpoint, POST /query, which InfluxDB 1.8,
// 2.x (through a DBRP mapping; 2.1 and later map every bucket by itself)
// and 3.x all serve; Flux is in maintenance and InfluxDB 3 has none. The
// database and retention policy come from the bucket "database/retention-
// policy"; the token ("user:password" for InfluxDB 1.8) goes in an
// "Authorization: Token …" header, which every one of them takes.
//
// Answers are asked for chunked (chunked=true): InfluxDB then streams one
// JSON object per chunk of rows, and its [http] max-row-limit, which
// truncates a plain answer, does not apply.

// qlSeries is one series of an InfluxQL answer.
type qlSeries struct {
	Name    string            `json:"name"`
	Tags    map[string]string `json:"tags"`
	Columns []string          `json:"columns"`
	// Values holds rows, each a time (epoch nanoseconds) and the columns:
	// json.Number for numbers, string for strings, nil for null.
	Values [][]any `json:"values"`
}

// qlChunk is one JSON object of a chunked answer.
type qlChunk struct {
	Error   string `json:"error"`
	Results []struct {
		StatementID int        `json:"statement_id"`
		Series      []qlSeries `json:"series"`
		Error       string     `json:"error"`
	} `json:"results"`
}

// influxQL runs the statements of q (";"-separated) in one request and
// hands every series of every answer to each with the index of its
// statement, in the order the server sends them (a long series may come in
// parts). It stops at the first error, the server's or each's.
func (w *Writer) influxQL(ctx context.Context, q string, each func(stmt int, s *qlSeries) error) error {
	ctx, cancel := context.WithTimeout(ctx, w.timeout)
	defer cancel()
	params := url.Values{"db": {w.db}, "epoch": {"ns"}, "chunked": {"true"}}
	if w.rp != "" {
		params.Set("rp", w.rp)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, w.url+"/query?"+params.Encode(),
		strings.NewReader(url.Values{"q": {q}}.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("Accept", "application/json")
	if w.token != "" {
		req.Header.Set("Authorization", "Token "+w.token)
	}
	resp, err := w.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	return readAnswer(resp.Body, resp.StatusCode, each)
}

// readAnswer reads an answer to POST /query with HTTP status code status:
// chunked, a JSON object per chunk (a plain answer is one chunk). It hands
// each series to each, and returns the first error: the server's (a
// *QueryError), a malformed answer's, or each's.
func readAnswer(body io.Reader, status int, each func(stmt int, s *qlSeries) error) error {
	if status != http.StatusOK {
		b, _ := io.ReadAll(io.LimitReader(body, 4<<10))
		var e qlChunk
		if json.Unmarshal(b, &e) == nil && e.Error != "" {
			return &QueryError{Status: status, Statement: -1, Message: e.Error}
		}
		return &QueryError{Status: status, Statement: -1, Message: strings.TrimSpace(string(b))}
	}
	dec := json.NewDecoder(body)
	dec.UseNumber()
	for {
		var c qlChunk
		if err := dec.Decode(&c); errors.Is(err, io.EOF) {
			return nil
		} else if err != nil {
			return fmt.Errorf("answer: %w", err)
		}
		if c.Error != "" {
			return &QueryError{Status: status, Statement: -1, Message: c.Error}
		}
		for _, r := range c.Results {
			if r.Error != "" {
				return &QueryError{Status: status, Statement: r.StatementID, Message: r.Error}
			}
			for i := range r.Series {
				if err := each(r.StatementID, &r.Series[i]); err != nil {
					return err
				}
			}
		}
	}
}

// QueryError is InfluxDB's answer to a query it did not run.
type QueryError struct {
	Status    int // the HTTP status
	Statement int // which statement of the request failed, from 0; -1 for the request
	Message   string
}

func (e *QueryError) Error() string {
	if e.Statement < 0 {
		return fmt.Sprintf("InfluxDB answered %d: %s", e.Status, e.Message)
	}
	return fmt.Sprintf("InfluxDB answered %d: statement %d: %s", e.Status, e.Statement, e.Message)
}

// splitBucket returns the database and retention policy of a bucket named
// "database/retention-policy"; a bucket without "/" is a database with its
// default retention policy.
func splitBucket(bucket string) (db, rp string) {
	db, rp, _ = strings.Cut(bucket, "/")
	return db, rp
}

// qlEscaper escapes a string for the inside of an InfluxQL string literal
// ('…') or quoted identifier ("…"): InfluxQL knows the escapes \\, \', \"
// and \n, and a raw newline ends the literal.
var qlEscaper = strings.NewReplacer(`\`, `\\`, `'`, `\'`, `"`, `\"`, "\n", `\n`)

// qlString quotes s as an InfluxQL string literal.
func qlString(s string) string { return "'" + qlEscaper.Replace(s) + "'" }

// qlIdent quotes s as an InfluxQL identifier.
func qlIdent(s string) string { return `"` + qlEscaper.Replace(s) + `"` }

// qlTime writes t as an InfluxQL time literal.
func qlTime(t time.Time) string { return "'" + t.UTC().Format(time.RFC3339Nano) + "'" }

// qlOneOf returns an InfluxQL regular expression that matches exactly the
// strings of ss: /^(a|b|…)$/, each quoted (regexp.QuoteMeta), "/" escaped
// as InfluxQL's regex literal wants, a newline as \n. InfluxDB 1.8 turns
// up to 100 such literals into equalities and matches a longer alternation
// against the sensor tag's values (Go's regexp parser factors the literals
// into a prefix tree): at 10 000 sensors about as fast as no filter at
// all, where an equality per sensor joined by OR takes minutes
// (BENCHMARKS.md, scheduled rules at province scale).
func qlOneOf(ss []string) string {
	var b strings.Builder
	b.WriteString("/^(")
	for i, s := range ss {
		if i > 0 {
			b.WriteByte('|')
		}
		q := regexp.QuoteMeta(s)
		if strings.ContainsAny(q, "/\n") {
			q = strings.NewReplacer("/", `\/`, "\n", `\n`).Replace(q)
		}
		b.WriteString(q)
	}
	b.WriteString(")$/")
	return b.String()
}

// qlTimeOf reads a row's time column (epoch nanoseconds).
func qlTimeOf(v any) (int64, error) {
	n, ok := v.(json.Number)
	if !ok {
		return 0, fmt.Errorf("time %v (%T) is not epoch nanoseconds", v, v)
	}
	return strconv.ParseInt(string(n), 10, 64)
}

// qlFloat reads a number column; ok is false for null.
func qlFloat(v any) (f float64, ok bool, err error) {
	switch v := v.(type) {
	case nil:
		return 0, false, nil
	case json.Number:
		f, err := strconv.ParseFloat(string(v), 64)
		return f, err == nil, err
	}
	return 0, false, fmt.Errorf("value %v (%T) is not a number", v, v)
}

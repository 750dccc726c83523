package influx

import (
	"errors"
	"net/http"
	"strings"
	"testing"

	"yujing/store"
)

// FuzzReadAnswer feeds readAnswer arbitrary answers, handing each series
// to what Aggregate, AggregateBySensor and Query do with it: whatever the
// server sends, they return an answer or an error, never panic.
func FuzzReadAnswer(f *testing.F) {
	for _, seed := range []string{
		`{"results":[{"statement_id":0,"series":[{"name":"weather","tags":{"sensor":"RG-1"},"columns":["time","sum"],"values":[[0,50.5]]}],"partial":true}]}
{"results":[{"statement_id":1,"series":[{"name":"reading","tags":{"sensor":"RG-1"},"columns":["time","count"],"values":[[0,3]]}]}]}`,
		`{"results":[{"statement_id":0,"series":[{"name":"gas","columns":["time","lel","site","unit"],"values":[[1,2.5,"s","%LEL"],[2,null,null,null]]}]}]}`,
		`{"results":[{"statement_id":0,"error":"database not found: yujing"}]}`,
		`{"error":"authorization failed"}`,
		`{"results":[{"statement_id":7,"series":[{"tags":{},"values":[[],[1],["x",1],[1,"x"],[1,1e400]]}]}]}`,
		`{"results":[]}{`,
	} {
		f.Add(seed, http.StatusOK)
	}
	f.Add(`{"error":"authorization failed"}`, http.StatusUnauthorized)
	f.Fuzz(func(t *testing.T, answer string, status int) {
		for _, fn := range store.Funcs {
			ps, _ := parts(fn, true)
			accs := map[string]*aggAcc{}
			err := readAnswer(strings.NewReader(answer), status, func(stmt int, s *qlSeries) error {
				return addSeries(accs, ps, stmt, s)
			})
			for _, a := range accs {
				a.value(fn)
			}
			var qe *QueryError
			if status != http.StatusOK && !errors.As(err, &qe) {
				t.Fatalf("status %d: error %v, want a QueryError", status, err)
			}
		}
		readAnswer(strings.NewReader(answer), status, func(_ int, s *qlSeries) error {
			_, err := appendReadings(nil, s, "RG-1", "rain")
			return err
		})
	})
}

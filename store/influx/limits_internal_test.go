package influx

import (
	"errors"
	"testing"
)

func FuzzParseDiagnostics(f *testing.F) {
	f.Add([]byte(`{"results":[{"statement_id":0,"series":[{"name":"config-data","columns":["dir","max-series-per-database","max-values-per-tag"],"values":[["/d",1000000,100000]]}]}]}`))
	f.Add([]byte(`{"results":[{"error":"requires admin privilege"}]}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		l, err := parseDiagnostics(body)
		if err != nil {
			if !errors.Is(err, ErrNoLimits) {
				t.Fatalf("error %v does not match ErrNoLimits", err)
			}
			return
		}
		if l.MaxValuesPerTag < 0 || l.MaxSeriesPerDatabase < 0 {
			t.Fatalf("negative limits %+v", l)
		}
	})
}

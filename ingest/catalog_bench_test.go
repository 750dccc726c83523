package ingest_test

import (
	"fmt"
	"path/filepath"
	"testing"
	"time"

	"yujing"
	"yujing/ingest"
	"yujing/store/sqlite"
)

// BenchmarkCatalogLoad is what starting costs with sensors registered
// through the API or a sheet: Catalog.Load of n sensors saved in a real
// SQLite state database (each op is one Load; the Import before is timed
// apart, as import-s):
//
//	go test -run '^$' -bench CatalogLoad -benchtime 1x ./ingest/
func BenchmarkCatalogLoad(b *testing.B) {
	for _, n := range []int{100_000} {
		b.Run(fmt.Sprintf("sensors=%d", n), func(b *testing.B) {
			path := filepath.Join(b.TempDir(), "state.db")
			st, err := sqlite.OpenState(b.Context(), path)
			if err != nil {
				b.Fatal(err)
			}
			defer st.Close()
			sites := make([]yujing.Site, n/100)
			for j := range sites {
				sites[j] = yujing.Site{ID: fmt.Sprintf("S%05d", j)}
			}
			batch := make([]yujing.Sensor, n)
			for i := range batch {
				batch[i] = yujing.Sensor{ID: fmt.Sprintf("G%07d", i), Name: fmt.Sprintf("可燃气体探测器%d号", i%100+1),
					Site: sites[i/100].ID, Family: yujing.FamilyGas, Metric: "lel", Unit: "%LEL"}
			}
			reg, _ := ingest.NewRegistry(sites, nil)
			cat := ingest.NewCatalog(reg, st, sites, nil, nil, []string{"json"}, yujing.BuiltinFamilies())
			t0 := time.Now()
			if err := cat.Import(b.Context(), batch, false); err != nil {
				b.Fatal(err)
			}
			b.ReportMetric(time.Since(t0).Seconds(), "import-s")
			for b.Loop() {
				reg, _ := ingest.NewRegistry(sites, nil)
				cat := ingest.NewCatalog(reg, st, sites, nil, nil, []string{"json"}, yujing.BuiltinFamilies())
				if err := cat.Load(b.Context()); err != nil {
					b.Fatal(err)
				}
				if reg.Len() != n {
					b.Fatalf("%d sensors", reg.Len())
				}
			}
		})
	}
}

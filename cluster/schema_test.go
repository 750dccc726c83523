package cluster

import (
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"

	"yujing/internal/testenv"
)

// Migrations from several nodes starting at once: each version is applied
// once, by one of them; the others wait for the lock and find nothing to
// do.
func testMigrate(t *testing.T, pg *testenv.Postgres) {
	t.Run("cluster schema from 4 starters", func(t *testing.T) {
		url := pg.NewDatabase(t)
		const starters = 4
		applied := make([]int, starters)
		errs := make([]error, starters)
		start := make(chan struct{})
		var wg sync.WaitGroup
		for i := range starters {
			pool := openPool(t, url)
			wg.Go(func() {
				<-start
				applied[i], errs[i] = Migrate(t.Context(), pool)
			})
		}
		close(start)
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		total := 0
		for _, n := range applied {
			total += n
		}
		if total != len(Migrations()) {
			t.Fatalf("applied %v: %d in all, want each of the %d versions once", applied, total, len(Migrations()))
		}
		pool := openPool(t, url)
		var versions int
		if err := pool.QueryRow(t.Context(), `SELECT count(*) FROM cluster_schema_migrations`).Scan(&versions); err != nil || versions != len(Migrations()) {
			t.Fatalf("%d versions recorded (%v), want %d", versions, err, len(Migrations()))
		}
		for _, table := range []string{"nodes", "leases"} {
			var ok bool
			if err := pool.QueryRow(t.Context(), `SELECT to_regclass($1) IS NOT NULL`, table).Scan(&ok); err != nil || !ok {
				t.Errorf("table %s missing (%v)", table, err)
			}
		}
		if n, err := Migrate(t.Context(), pool); err != nil || n != 0 {
			t.Fatalf("Migrate again: %d applied, %v; want 0", n, err)
		}
		// The entries can be appended to a store's own list, in a database
		// Migrate has already set up.
		for i, m := range Migrations() {
			if _, err := pool.Exec(t.Context(), m); err != nil {
				t.Errorf("version %d again: %v", i+1, err)
			}
		}
	})

	// Versions that are not idempotent prove "once": each inserts a row.
	t.Run("each version once", func(t *testing.T) {
		url := pg.NewDatabase(t)
		list := []string{
			`CREATE TABLE applied (version int NOT NULL); INSERT INTO applied VALUES (1);`,
			`INSERT INTO applied VALUES (2);`,
			`ALTER TABLE applied ADD COLUMN note text; INSERT INTO applied VALUES (3, 'three');`,
		}
		var wg sync.WaitGroup
		errs := make([]error, 4)
		for i := range errs {
			pool := openPool(t, url)
			wg.Go(func() { _, errs[i] = migrate(t.Context(), pool, "test_migrations", 42, list) })
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			t.Fatal(err)
		}
		var got string
		pool := openPool(t, url)
		if err := pool.QueryRow(t.Context(), `SELECT string_agg(version::text, ',' ORDER BY version) FROM applied`).Scan(&got); err != nil || got != "1,2,3" {
			t.Fatalf("applied rows %q (%v), want 1,2,3", got, err)
		}
	})

	t.Run("errors", func(t *testing.T) {
		url := pg.NewDatabase(t)
		pool := openPool(t, url)
		list := []string{`CREATE TABLE one (x int);`, `CREATE TABLE two (x int); SELECT no_such_function();`}
		n, err := migrate(t.Context(), pool, "test_migrations", 42, list)
		if n != 1 || err == nil || !strings.HasPrefix(err.Error(), "cluster: migrate: version 2: ") {
			t.Fatalf("a failing version: %d applied, %v", n, err)
		}
		var two bool
		if err := pool.QueryRow(t.Context(), `SELECT to_regclass('two') IS NOT NULL`).Scan(&two); err != nil || two {
			t.Fatalf("table of the failed version exists: %v %v", two, err)
		}
		_, err = migrate(t.Context(), pool, "test_migrations", 42, list[:0])
		want := fmt.Sprintf("cluster: migrate: test_migrations: schema version 1 is newer than this build knows (0)")
		if err == nil || err.Error() != want {
			t.Fatalf("an older build: %v, want %q", err, want)
		}
	})
}

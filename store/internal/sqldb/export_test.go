package sqldb

// queued is the number of writes waiting for the writer's next batch.
func (db *DB) queued() int { return db.WriteStats().Queued }

// prepared reports whether q is in the pool's statement cache.
func (db *DB) prepared(q string) bool { return db.stmts.get(q) != nil }

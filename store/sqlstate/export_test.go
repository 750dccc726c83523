package sqlstate

// commitCount is the number of transactions the state's writer has
// committed through Write and WriteExec (sqldb.DB.WriteStats).
func commitCount(s *State) int64 { return s.db.w.WriteStats().Commits }

package web

import (
	"encoding/json"
	"net/http"
	"time"
)

// System reports conditions of yujing itself that the duty room must see
// (GET /api/v1/system, and "system" events on the live stream).
type System interface {
	SystemStatus() SystemStatus
}

// SystemStatus is yujing's own health: no warnings when all is well.
type SystemStatus struct {
	Warnings []SystemWarning `json:"warnings"`
}

// SystemWarning is one condition of yujing itself, shown on the console
// while it lasts.
type SystemWarning struct {
	// Kind says what it is: SystemStoreRefused.
	Kind string `json:"kind"`
	// Readings is how many readings it concerns.
	Readings int64 `json:"readings"`
	// Since is when it began.
	Since time.Time `json:"since,omitzero"`
	// Reasons counts the readings by reason.
	Reasons map[string]int64 `json:"reasons,omitempty"`
	// Full is true when there is no room left to keep more: new readings
	// stay unacknowledged at the broker.
	Full bool `json:"full,omitempty"`
	// How says what to do, in English (the console words it itself).
	How string `json:"how,omitempty"`
}

// SystemStoreRefused: the reading store refused readings for good; they
// are kept (the spool's dead letters) and replayed once it takes them.
const SystemStoreRefused = "store_refused"

// systemEvery is how often the live stream looks for a change of the
// system status.
const systemEvery = 2 * time.Second

func (s *Server) systemStatus() SystemStatus {
	st := SystemStatus{Warnings: []SystemWarning{}}
	if s.opts.System != nil {
		st = s.opts.System.SystemStatus()
		if st.Warnings == nil {
			st.Warnings = []SystemWarning{}
		}
	}
	return st
}

// system serves GET /api/v1/system.
func (s *Server) system(w http.ResponseWriter, r *http.Request) {
	writeJSON(w, http.StatusOK, s.systemStatus())
}

// systemEvent returns the system status as a stream event's data when it
// differs from last.
func (s *Server) systemEvent(last []byte) ([]byte, bool) {
	data, err := json.Marshal(s.systemStatus())
	if err != nil || string(data) == string(last) {
		return last, false
	}
	return data, true
}

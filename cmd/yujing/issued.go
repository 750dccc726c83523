package main

import (
	"context"
	"fmt"

	"yujing/alerting/issued"
	"yujing/alerting/issued/capwarn"
	"yujing/duty"
	"yujing/store/sqlstate"
)

// issuedStage takes warnings other systems issue (CAP; the Alertmanager
// API builds on warnings) into the alert lifecycle, and so into
// call-and-answer: built after the lifecycle, before the console and the
// intake that feed it.
type issuedStage struct {
	warnings *issued.Warnings
	cap      *capwarn.Intake
}

func (w *wiring) issued(state *sqlstate.State, alerts *alertStage) (*issuedStage, error) {
	warnings, err := issued.New(alerts.alerts, state, issued.Options{Logger: w.log, Registerer: w.reg, ValidRegion: duty.ValidRegion})
	if err != nil {
		return nil, err
	}
	intake, err := capwarn.New(w.cfg.CAP, warnings, state, capwarn.Options{Logger: w.log, ValidRegion: duty.ValidRegion})
	if err != nil {
		return nil, err
	}
	// Warnings whose end time passed end, also those that passed while
	// yujing was down (at the first tick).
	w.background(false, warnings.Run)
	return &issuedStage{warnings: warnings, cap: intake}, nil
}

// Accept applies the documents of sensors with a document decoder
// (ingest.Documents): the CAP feeds.
func (s *issuedStage) Accept(ctx context.Context, kind, topic string, payload []byte) error {
	switch kind {
	case capwarn.Source:
		_, err := s.cap.Accept(ctx, payload)
		return err
	}
	return fmt.Errorf("no intake takes %s documents", kind)
}

package main

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"yujing/alerting/escalate"
	"yujing/config"
	"yujing/duty"
	"yujing/store/sqlstate"
)

// answerKeyFile is where the random answer-link key is kept when the
// configuration sets no escalation.secret.
const answerKeyFile = "answer.key"

// answerKey returns the key that signs answer links: escalation.secret,
// else the key of a PostgreSQL state database (the same on every node),
// else a random key made once and kept in the data directory (0600), so
// links stay valid across restarts.
func answerKey(cfg *config.Config, st *sqlstate.State) ([]byte, error) {
	if cfg.AnswerSecret != "" {
		return []byte(cfg.AnswerSecret), nil
	}
	if key := st.AnswerKey(); key != nil {
		return key, nil
	}
	path := filepath.Join(cfg.DataDir, answerKeyFile)
	data, err := os.ReadFile(path)
	if err == nil {
		key, err := hex.DecodeString(strings.TrimSpace(string(data)))
		if err != nil || len(key) < 32 {
			return nil, fmt.Errorf("answer-link key %s is damaged (want 64 hex digits); remove it to make a new one (links already sent stop working)", path)
		}
		return key, nil
	}
	if !errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("answer-link key: %w", err)
	}
	key := make([]byte, 32)
	if _, err := rand.Read(key); err != nil {
		return nil, fmt.Errorf("answer-link key: %w", err)
	}
	tmp := path + ".tmp"
	if err := os.WriteFile(tmp, []byte(hex.EncodeToString(key)+"\n"), 0o600); err != nil {
		return nil, fmt.Errorf("answer-link key: %w", err)
	}
	if err := os.Rename(tmp, path); err != nil {
		return nil, fmt.Errorf("answer-link key: %w", err)
	}
	return key, nil
}

// answerBaseURL is where answer links point: escalation.base_url, else
// the HTTP listener's address (a wildcard host shown as 127.0.0.1, which
// only works on this machine: set base_url in production).
func answerBaseURL(cfg *config.Config, addr net.Addr, log *slog.Logger) string {
	if cfg.Escalation.BaseURL != "" {
		return cfg.Escalation.BaseURL
	}
	host, port, err := net.SplitHostPort(addr.String())
	if err != nil {
		return "http://" + addr.String()
	}
	if ip := net.ParseIP(host); ip == nil || ip.IsUnspecified() {
		host = "127.0.0.1"
		if len(cfg.Escalation.Policies) > 0 {
			log.Warn("escalation.base_url is not set: answer links point at this machine only; set it to the address officials' phones reach yujing at")
		}
	}
	return "http://" + net.JoinHostPort(host, port)
}

// escalationSettings are call-and-answer's settings from the
// configuration: its routes and policies, and where answer links point.
func escalationSettings(cfg *config.Config, addr net.Addr, log *slog.Logger) escalate.Settings {
	set := cfg.Escalation
	set.Routes = cfg.Routes
	set.BaseURL = answerBaseURL(cfg, addr, log)
	return set
}

// newEscalator builds call-and-answer on its parts with the
// configuration's routes and policies, the answer-link key (kept in st
// when the state database is PostgreSQL) and base URL.
func newEscalator(cfg *config.Config, st *sqlstate.State, parts escalate.Parts, addr net.Addr, own *ownership, log *slog.Logger,
	reg prometheus.Registerer) (*escalate.Engine, error) {
	key, err := answerKey(cfg, st)
	if err != nil {
		return nil, err
	}
	return escalate.New(escalationSettings(cfg, addr, log), parts, escalate.Options{Logger: log, Registerer: reg,
		Key: key, Covers: duty.RegionCovers, Tick: 250 * time.Millisecond, Location: cfg.Location,
		Owns: own.ownsFunc(), Leads: own.leadsFunc(), Fence: own.fenceFunc()})
}

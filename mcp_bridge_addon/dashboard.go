package main

import (
	"context"
	"os"
	"path/filepath"

	"github.com/rs/zerolog"

	"github.com/mcp-bridge/mcp-bridge/src/audit"
	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/httpapi"
	"github.com/mcp-bridge/mcp-bridge/src/httpapi/dashboard"
)

// auditFile is the audit log's name in the data folder.
const auditFile = "audit.jsonl"

// openAudit opens the audit log of writes in the data folder: /data in the
// add-on, bridge.data_dir standalone and, in demo mode, a temporary folder
// unless bridge.data_dir was set. A log that cannot be opened is reported
// and left off: the bridge serves without it. cleanup removes a
// temporary folder.
func openAudit(cfg *Config, log zerolog.Logger) (l *audit.Log, path string, cleanup func()) {
	cleanup = func() {}
	dir := cfg.Bridge.DataDir
	if _, set := cfg.origin["bridge.data_dir"]; cfg.Mode == ModeDemo && !set {
		tmp, err := os.MkdirTemp("", "mcp-bridge-demo-")
		if err != nil {
			log.Error().Err(err).Msg("the audit log is off: no temporary folder for it")
			return nil, "", cleanup
		}
		dir, cleanup = tmp, func() { os.RemoveAll(tmp) }
	}
	path = filepath.Join(dir, auditFile)
	l, err := audit.Open(audit.Config{Path: path, Logger: log.With().Str("component", "audit").Logger()})
	if err != nil {
		log.Error().Err(err).Msg("the audit log of writes is off")
		cleanup()
		return nil, "", func() {}
	}
	return l, path, cleanup
}

// newDashboard builds the Ingress dashboard. stats and health are read
// once the bridge and the HTTP server exist; the generated token (never a
// token the user chose) is shown there.
func newDashboard(cfg *Config, al *audit.Log, auditPath string, stats func() bridge.Stats,
	health func(context.Context) httpapi.Health, log zerolog.Logger) (*dashboard.Dashboard, error) {
	dc := dashboard.Config{
		Stats: stats, Health: health, Audit: al, AuditFile: auditPath,
		Version: version, Mode: cfg.Mode, APIPort: cfg.Bridge.Port, Discovery: cfg.discovery != nil,
		Logger: log.With().Str("component", "dashboard").Logger(),
	}
	if cfg.apiTokenFile != "" {
		dc.APIToken = cfg.Bridge.APIToken
	}
	return dashboard.New(dc)
}

package main

import (
	"bytes"
	"encoding/json"
	"strings"
	"testing"

	"github.com/rs/zerolog"
)

func TestLogLevels(t *testing.T) {
	tests := []struct {
		level string
		want  zerolog.Level
	}{
		{"trace", zerolog.TraceLevel},
		{"debug", zerolog.DebugLevel},
		{"info", zerolog.InfoLevel},
		{"notice", zerolog.InfoLevel},
		{"warning", zerolog.WarnLevel},
		{"error", zerolog.ErrorLevel},
		{"fatal", zerolog.FatalLevel},
	}
	for _, tt := range tests {
		log, _, err := newLogger(&bytes.Buffer{}, LoggingConfig{Level: tt.level, Format: "console"})
		if err != nil {
			t.Fatalf("%s: %v", tt.level, err)
		}
		if got := log.GetLevel(); got != tt.want {
			t.Errorf("level %q -> %v, want %v", tt.level, got, tt.want)
		}
	}
	if _, _, err := newLogger(&bytes.Buffer{}, LoggingConfig{Level: "loud"}); err == nil {
		t.Error("newLogger accepted the level \"loud\"")
	}
}

func TestLogFormats(t *testing.T) {
	var buf bytes.Buffer
	log, _, _ := newLogger(&buf, LoggingConfig{Level: "info", Format: "console"})
	log.Info().Str("k", "v").Msg("hello")
	log.Debug().Msg("hidden")
	got := buf.String()
	if !strings.Contains(got, "INF hello k=v") || strings.Contains(got, "\x1b[") || strings.Contains(got, "hidden") {
		t.Errorf("console output = %q, want an uncolored info line and no debug line", got)
	}

	buf.Reset()
	log, _, _ = newLogger(&buf, LoggingConfig{Level: "info", Format: "json"})
	log.Warn().Msg("careful")
	var line map[string]any
	if err := json.Unmarshal(buf.Bytes(), &line); err != nil || line["level"] != "warn" || line["message"] != "careful" {
		t.Errorf("json output = %q (%v)", buf.String(), err)
	}
}

// TestLogFile checks that logging.file gets a copy of the log.
func TestLogFile(t *testing.T) {
	name := t.TempDir() + "/bridge.log"
	var buf bytes.Buffer
	log, closeLog, err := newLogger(&buf, LoggingConfig{Level: "info", Format: "json", File: name})
	if err != nil {
		t.Fatal(err)
	}
	log.Info().Msg("to both")
	if err := closeLog(); err != nil {
		t.Fatal(err)
	}
	data := readFile(t, name)
	if !strings.Contains(data, "to both") || !strings.Contains(buf.String(), "to both") {
		t.Errorf("file %q, stderr %q: want the line in both", data, buf.String())
	}
}

func TestStructuredMeansJSON(t *testing.T) {
	c := mustLoad(t, setup{env: standalone(nil), yaml: "logging:\n  structured: true\n"})
	if c.Logging.Format != "json" {
		t.Errorf("format = %q with structured: true, want json", c.Logging.Format)
	}
	c = mustLoad(t, setup{env: standalone(nil), yaml: "logging:\n  structured: true\n  format: console\n"})
	if c.Logging.Format != "console" {
		t.Errorf("format = %q with an explicit console, want console", c.Logging.Format)
	}
	c = mustLoad(t, setup{env: standalone(nil), yaml: "bridge:\n  debug: true\n"})
	if c.Logging.Level != "debug" {
		t.Errorf("level = %q with bridge.debug, want debug", c.Logging.Level)
	}
}

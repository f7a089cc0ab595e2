package main

import (
	"fmt"
	"io"
	"os"
	"time"

	"github.com/rs/zerolog"
)

// zerologLevel maps the add-on's log levels onto zerolog's. zerolog has no
// notice level, so notice logs what info logs.
func zerologLevel(level string) (zerolog.Level, error) {
	switch level {
	case "trace":
		return zerolog.TraceLevel, nil
	case "debug":
		return zerolog.DebugLevel, nil
	case "info", "notice":
		return zerolog.InfoLevel, nil
	case "warning":
		return zerolog.WarnLevel, nil
	case "error":
		return zerolog.ErrorLevel, nil
	case "fatal":
		return zerolog.FatalLevel, nil
	}
	return zerolog.NoLevel, fmt.Errorf("unknown log level %q", level)
}

// newLogger builds the process's logger from cfg. Logs go to stderr (stdout
// is the protocol in stdio mode), as console lines for the Supervisor's log
// tab or as JSON, and are also appended to logging.file when it is set. The
// returned close function closes that file.
func newLogger(stderr io.Writer, cfg LoggingConfig) (zerolog.Logger, func() error, error) {
	level, err := zerologLevel(cfg.Level)
	if err != nil {
		return zerolog.Nop(), nil, err
	}
	var out io.Writer = stderr
	if cfg.Format != "json" {
		out = zerolog.ConsoleWriter{Out: stderr, NoColor: !isTerminal(stderr), TimeFormat: time.DateTime}
	}
	closeFile := func() error { return nil }
	if cfg.File != "" {
		f, err := os.OpenFile(cfg.File, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o600)
		if err != nil {
			return zerolog.Nop(), nil, fmt.Errorf("logging.file: %w", err)
		}
		out = zerolog.MultiLevelWriter(out, f)
		closeFile = f.Close
	}
	log := zerolog.New(out).Level(level).With().Timestamp().Logger()
	return log, closeFile, nil
}

// isTerminal reports whether w is a character device, so that colors are
// used on a terminal and never in the Supervisor's log or a file.
func isTerminal(w io.Writer) bool {
	f, ok := w.(*os.File)
	if !ok {
		return false
	}
	st, err := f.Stat()
	return err == nil && st.Mode()&os.ModeCharDevice != 0
}

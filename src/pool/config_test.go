package pool

import (
	"strings"
	"testing"
	"time"
)

func TestConfigValidate(t *testing.T) {
	tests := []struct {
		name string
		cfg  Config
		want string // substring of the error, "" for valid
	}{
		{"defaults", Config{Command: []string{"x"}}, ""},
		{"no command", Config{}, "Command is empty"},
		{"min above max", Config{Command: []string{"x"}, MinSessions: 5, MaxSessions: 3}, "MinSessions"},
		{"max one defaults min", Config{Command: []string{"x"}, MaxSessions: 1}, ""},
		{"scale factor", Config{Command: []string{"x"}, ScaleFactor: 0.5}, "ScaleFactor"},
		{"negative timeout", Config{Command: []string{"x"}, StopTimeout: -time.Second}, "StopTimeout"},
		{"backoff order", Config{Command: []string{"x"}, RestartBackoffMin: time.Minute, RestartBackoffMax: time.Second}, "RestartBackoffMax"},
		{"inflight", Config{Command: []string{"x"}, MaxInflightPerSession: -1}, "MaxInflightPerSession"},
	}
	for _, tt := range tests {
		err := tt.cfg.Validate()
		switch {
		case tt.want == "" && err != nil:
			t.Errorf("%s: Validate() = %v, want nil", tt.name, err)
		case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
			t.Errorf("%s: Validate() = %v, want an error about %s", tt.name, err, tt.want)
		}
	}
}

func TestConfigDefaults(t *testing.T) {
	got := Config{Command: []string{"x"}}.withDefaults()
	if got.MinSessions != 2 || got.MaxSessions != 10 || got.TargetSessions != 5 || got.ScaleFactor != 1.5 ||
		got.IdleTimeout != 300*time.Second || got.HealthCheckInterval != time.Minute || got.HealthCheckTimeout != 10*time.Second ||
		got.MaxInflightPerSession != 1 || got.StartTimeout != 30*time.Second || got.StopTimeout != 5*time.Second ||
		got.RestartBackoffMin != 500*time.Millisecond || got.RestartBackoffMax != 30*time.Second {
		t.Errorf("defaults = %+v", got)
	}
	if got := (Config{Command: []string{"x"}, MaxSessions: 3}).withDefaults(); got.TargetSessions != 3 {
		t.Errorf("TargetSessions = %d, want it clamped to MaxSessions 3", got.TargetSessions)
	}
}

func TestBackoff(t *testing.T) {
	b := backoff{min: 100 * time.Millisecond, max: time.Second}
	var got []time.Duration
	for range 6 {
		got = append(got, b.next())
	}
	want := []time.Duration{100, 200, 400, 800, 1000, 1000}
	for i := range want {
		if got[i] != want[i]*time.Millisecond {
			t.Fatalf("backoffs = %v, want %v ms", got, want)
		}
	}
	b.reset()
	if d := b.next(); d != 100*time.Millisecond {
		t.Errorf("after reset next() = %v, want 100ms", d)
	}
}

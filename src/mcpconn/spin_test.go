package mcpconn

import (
	"testing"
	"time"
)

func TestSpinFor(t *testing.T) {
	tests := []struct {
		name    string
		pending int
		answer  time.Duration
		want    time.Duration
	}{
		{"fast child, one call", 1, 40 * time.Microsecond, 80 * time.Microsecond},
		{"capped", 1, 150 * time.Microsecond, maxSpin},
		{"slow child", 1, time.Millisecond, 0},
		{"no history", 1, 0, 0},
		{"several calls", 2, 40 * time.Microsecond, 0},
	}
	for _, tt := range tests {
		s := &Session{pending: map[int64]*pendingCall{}, answerTime: tt.answer}
		for i := range tt.pending {
			s.pending[int64(i)] = &pendingCall{}
		}
		if got := s.spinFor(); got != tt.want {
			t.Errorf("%s: spinFor = %v, want %v", tt.name, got, tt.want)
		}
	}
}

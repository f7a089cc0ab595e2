package hass

import (
	"encoding/json"
	"errors"
	"testing"
	"time"
)

func TestParseFrame(t *testing.T) {
	tests := []struct {
		name    string
		in      string
		wantIDs []int64
		wantErr bool
	}{
		{"object", `{"id":1,"type":"result","success":true,"result":null}`, []int64{1}, false},
		{"array", `[{"id":1,"type":"result","success":true},{"id":2,"type":"event","event":{}}]`, []int64{1, 2}, false},
		{"leading space", " \n{\"id\":3,\"type\":\"pong\"}", []int64{3}, false},
		{"empty array", `[]`, []int64{}, false},
		{"empty", ``, nil, true},
		{"scalar", `42`, nil, true},
		{"broken object", `{"id":1,`, nil, true},
		{"broken array", `[{"id":1}`, nil, true},
		{"bad member kept by id", `[{"id":1,"type":"result","success":"yes"},{"id":2,"type":"pong"}]`, []int64{1, 2}, false},
		{"bad member without id", `[{"type":"result","success":"yes"},{"id":2,"type":"pong"}]`, []int64{2}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := parseFrame([]byte(tt.in))
			if (err != nil) != tt.wantErr {
				t.Fatalf("parseFrame(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
			}
			if err != nil && !errors.Is(err, errFrame) {
				t.Errorf("error %v does not wrap errFrame", err)
			}
			if tt.wantIDs == nil {
				return
			}
			if len(got) != len(tt.wantIDs) {
				t.Fatalf("parseFrame(%q) = %d messages, want %d", tt.in, len(got), len(tt.wantIDs))
			}
			for i, m := range got {
				if m.ID != tt.wantIDs[i] {
					t.Errorf("message %d: id = %d, want %d", i, m.ID, tt.wantIDs[i])
				}
			}
		})
	}
}

func TestParseFrameBadMemberFailsItsWaiter(t *testing.T) {
	got, _ := parseFrame([]byte(`[{"id":7,"type":"result","success":true,"error":"oops"}]`))
	if len(got) != 1 {
		t.Fatalf("got %d messages, want 1", len(got))
	}
	if got[0].succeeded() {
		t.Error("undecodable result counts as success")
	}
	if err := got[0].err(); !errors.Is(err, errFrame) {
		t.Errorf("err() = %v, want errFrame", err)
	}
}

func TestMessageErr(t *testing.T) {
	ms, err := parseFrame([]byte(`{"id":4,"type":"result","success":false,"error":{"code":"not_found","message":"Service not found."}}`))
	if err != nil {
		t.Fatal(err)
	}
	var haErr *Error
	if !errors.As(ms[0].err(), &haErr) || haErr.Code != "not_found" || haErr.Message != "Service not found." {
		t.Errorf("err() = %#v, want not_found / Service not found.", ms[0].err())
	}
}

func TestEncodeCommand(t *testing.T) {
	tests := []struct {
		name    string
		cmd     any
		want    string // after withID(…, 9)
		wantErr bool
	}{
		{"map", map[string]any{"type": "get_states"}, `{"id":9,"type":"get_states"}`, false},
		{"struct", struct {
			Type     string `json:"type"`
			Template string `json:"template"`
		}{"render_template", "{{ 1 }}"}, `{"id":9,"type":"render_template","template":"{{ 1 }}"}`, false},
		{"raw", json.RawMessage(` {"type":"ping"} `), `{"id":9,"type":"ping"}`, false},
		{"no type", map[string]any{"domain": "light"}, "", true},
		{"empty type", map[string]any{"type": ""}, "", true},
		{"id set", map[string]any{"type": "ping", "id": 3}, "", true},
		{"array", []any{"type"}, "", true},
		{"string", "ping", "", true},
		{"unmarshalable", map[string]any{"type": "x", "f": func() {}}, "", true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			raw, err := encodeCommand(tt.cmd)
			if (err != nil) != tt.wantErr {
				t.Fatalf("encodeCommand error = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			if got := string(withID(raw, 9)); got != tt.want {
				t.Errorf("withID(encodeCommand) = %s, want %s", got, tt.want)
			}
		})
	}
}

func TestBackoff(t *testing.T) {
	const min, max = 100 * time.Millisecond, 3 * time.Second
	lowest := func(int64) int64 { return 0 }
	highest := func(n int64) int64 { return n - 1 }
	tests := []struct {
		attempt          int
		wantLow, wantHig time.Duration
	}{
		{0, min, min},
		{1, min, 200 * time.Millisecond},
		{3, min, 800 * time.Millisecond},
		{5, min, max},
		{1000, min, max},
	}
	for _, tt := range tests {
		if got := backoff(tt.attempt, min, max, lowest); got != tt.wantLow {
			t.Errorf("backoff(%d) lowest = %s, want %s", tt.attempt, got, tt.wantLow)
		}
		if got := backoff(tt.attempt, min, max, highest); got != tt.wantHig {
			t.Errorf("backoff(%d) highest = %s, want %s", tt.attempt, got, tt.wantHig)
		}
		for range 100 {
			if got := backoff(tt.attempt, min, max, jitter); got < tt.wantLow || got > tt.wantHig {
				t.Fatalf("backoff(%d) = %s, want in [%s, %s]", tt.attempt, got, tt.wantLow, tt.wantHig)
			}
		}
	}
}

func FuzzParseFrame(f *testing.F) {
	for _, seed := range []string{
		`{"type":"auth_required","ha_version":"2026.11.2"}`,
		`{"id":1,"type":"result","success":true,"result":{"a":1}}`,
		`[{"id":2,"type":"event","event":{"event_type":"state_changed","data":{}}},{"id":3,"type":"pong"}]`,
		`{"id":4,"type":"result","success":false,"error":{"code":"x","message":"y"}}`,
		`[{"id":5,"success":"no"}, 1, null]`,
		`  [ ]`,
		`nul`,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		msgs, err := parseFrame(data)
		if err != nil && !errors.Is(err, errFrame) {
			t.Fatalf("error %v does not wrap errFrame", err)
		}
		for i := range msgs {
			m := &msgs[i]
			if !m.succeeded() && m.err() == nil {
				t.Fatalf("failed message %+v has no error", m)
			}
		}
	})
}

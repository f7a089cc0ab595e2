package bridge

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mcp-bridge/mcp-bridge/src/queue"
)

func TestLocks(t *testing.T) {
	tests := []struct {
		name string
		args string
		want []string
	}{
		{"entity string", `{"entity_id":"light.kitchen"}`, []string{"light.kitchen"}},
		{"entity list", `{"entity_id":["light.b","light.a","light.b"]}`, []string{"light.a", "light.b"}},
		{"comma separated, mixed case", `{"entity_id":"Light.A, light.b ,"}`, []string{"light.a", "light.b"}},
		{"target", `{"domain":"light","service":"turn_on","target":{"entity_id":"light.x","area_id":["kitchen"],"device_id":"abc","floor_id":"up","label_id":"l"}}`,
			[]string{"area:kitchen", "device:abc", "floor:up", "label:l", "light.x"}},
		{"service_data and data", `{"service_data":{"entity_id":"switch.a"},"data":{"entity_id":["switch.b"]}}`, []string{"switch.a", "switch.b"}},
		{"non-string ids ignored", `{"entity_id":[1,true,null,{"x":1}],"target":"light.y"}`, []string{"tool:t"}},
		{"nothing identifiable", `{"name":"reload"}`, []string{"tool:t"}},
		{"no arguments", `{}`, []string{"tool:t"}},
		{"untargeted, with a service domain", `{"domain":"Notify","service":"mobile"}`, []string{"tool:t:notify"}},
		{"a target wins over the domain", `{"domain":"light","entity_id":"light.x"}`, []string{"light.x"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args, _, err := decodeArguments(json.RawMessage(tt.args))
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, Locks("t", args)); diff != "" {
				t.Errorf("Locks(%s) (-want +got):\n%s", tt.args, diff)
			}
		})
	}
}

func TestDecodeArgumentsCanonical(t *testing.T) {
	a := `{"b":{"y":1,"x":[2,1.50]},"a":"é"}`
	b := "{ \"a\" : \"\\u00e9\",\n \"b\":{\"x\":[2,1.50],\"y\":1}}"
	_, ca, err := decodeArguments(json.RawMessage(a))
	if err != nil {
		t.Fatal(err)
	}
	_, cb, err := decodeArguments(json.RawMessage(b))
	if err != nil {
		t.Fatal(err)
	}
	if string(ca) != string(cb) {
		t.Errorf("canonical forms differ: %s vs %s", ca, cb)
	}
	if want := `{"a":"é","b":{"x":[2,1.50],"y":1}}`; string(ca) != want {
		t.Errorf("canonical = %s, want %s", ca, want)
	}
	for _, absent := range []string{"", "null", "  "} {
		args, canon, err := decodeArguments(json.RawMessage(absent))
		if err != nil || args != nil || string(canon) != "{}" {
			t.Errorf("decodeArguments(%q) = %v, %s, %v; want nil, {}, nil", absent, args, canon, err)
		}
	}
}

func TestDecodeArgumentsRejects(t *testing.T) {
	deep := `{"search":` + strings.Repeat("[", 1000) + strings.Repeat("]", 1000) + `}`
	for _, bad := range []string{`[]`, `"x"`, `1`, `{"a":`, `{"a":1} {}`, `{"a":1}x`, deep, `{"entity_id":"a","entity_id":"b"}`} {
		if _, _, err := decodeArguments(json.RawMessage(bad)); !errors.Is(err, ErrInvalidRequest) {
			t.Errorf("decodeArguments(%q) error = %v, want ErrInvalidRequest", bad, err)
		}
	}
}

func FuzzDecodeArguments(f *testing.F) {
	for _, s := range []string{`{}`, `{"entity_id":"a,b"}`, `{"target":{"area_id":["x"]}}`, `[1]`, `{"a":1e400}`, ""} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		args, canon, err := decodeArguments(data)
		if err != nil {
			return
		}
		// The canonical form decodes to the same canonical form.
		_, again, err := decodeArguments(canon)
		if err != nil || string(again) != string(canon) {
			t.Fatalf("canonical form %s is not stable: %s, %v", canon, again, err)
		}
		for _, k := range Locks("tool", args) {
			if k == "" {
				t.Fatalf("empty lock key from %q", data)
			}
		}
	})
}

func TestPlanPolicies(t *testing.T) {
	crit, bulk := queue.Critical, queue.Bulk
	b := &Bridge{cfg: Config{Tools: map[string]ToolPolicy{
		"forced_read": {Kind: KindRead},
		"slow":        {Timeout: time.Hour, Priority: &bulk},
	}}}
	b.cfg.setDefaults()
	tests := []struct {
		name     string
		req      Request
		readOnly bool
		kind     Kind
		prio     queue.Priority
		timeout  time.Duration
	}{
		{"read default", Request{Tool: "echo"}, true, KindRead, queue.High, DefaultTimeout},
		{"write default", Request{Tool: "write"}, false, KindWrite, queue.Medium, DefaultTimeout},
		{"policy kind beats hint", Request{Tool: "forced_read"}, false, KindRead, queue.High, DefaultTimeout},
		{"policy timeout capped", Request{Tool: "slow"}, true, KindRead, queue.Bulk, DefaultMaxTimeout},
		{"caller overrides", Request{Tool: "slow", Priority: &crit, Timeout: time.Second}, true, KindRead, queue.Critical, time.Second},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			p, err := b.makePlan(tt.req, toolInfo{readOnly: tt.readOnly})
			if err != nil {
				t.Fatal(err)
			}
			if p.kind != tt.kind || p.priority != tt.prio || p.timeout != tt.timeout {
				t.Errorf("plan = kind %v prio %v timeout %v; want %v %v %v", p.kind, p.priority, p.timeout, tt.kind, tt.prio, tt.timeout)
			}
			if (p.kind == KindRead) != (p.dedupKey != "") || (p.kind == KindWrite) != (len(p.locks) > 0) {
				t.Errorf("reads need a dedup key and writes locks: dedup %q locks %v", p.dedupKey, p.locks)
			}
		})
	}
}

func TestIdempotencyKeyScope(t *testing.T) {
	b := &Bridge{}
	b.cfg.setDefaults()
	key := func(r Request) string {
		p, err := b.makePlan(r, toolInfo{})
		if err != nil {
			t.Fatal(err)
		}
		return p.idemKey
	}
	base := Request{Tool: "write", Arguments: json.RawMessage(`{"entity_id":"a"}`), RequestID: "1", SessionID: "s"}
	same := base
	same.Arguments = json.RawMessage(` { "entity_id" : "a" } `)
	otherSession, otherArgs := base, base
	otherSession.SessionID = "t"
	otherArgs.Arguments = json.RawMessage(`{"entity_id":"b"}`)
	if key(base) != key(same) {
		t.Error("the same call with reformatted arguments has another idempotency key")
	}
	if key(base) == key(otherSession) || key(base) == key(otherArgs) {
		t.Error("the idempotency key does not depend on the session and the arguments")
	}
	if key(Request{Tool: "write"}) != "" {
		t.Error("a call without request id has an idempotency key")
	}
}

func TestWriteGroup(t *testing.T) {
	for _, tt := range []struct {
		args string
		want string
	}{
		{`{"domain":"Switch","service":"turn_on","entity_id":"light.a"}`, "write:switch"},
		{`{"entity_id":["switch.b","light.a"]}`, "write:light"}, // locks are sorted
		{`{"target":{"area_id":"kitchen"}}`, "write:tool:call_service"},
		{`{}`, "write:tool:call_service"},
	} {
		args, _, err := decodeArguments(json.RawMessage(tt.args))
		if err != nil {
			t.Fatal(err)
		}
		if got := writeGroup("call_service", args, Locks("call_service", args)); got != tt.want {
			t.Errorf("writeGroup(%s) = %q, want %q", tt.args, got, tt.want)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"crypto/rand"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"

	"github.com/mcp-bridge/mcp-bridge/src/pool/pooltest"
	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

// The stdio MCP children the bridge and its peer can be measured with
// (-child).
const (
	childFast       = "fast"       // pooltest's hand-written echo server: costs next to nothing
	childSDK        = "sdk"        // pooltest's go-sdk server
	childEverything = "everything" // the reference TypeScript server-everything, under node
	childOurs       = "ours"       // the bridge's own stdio tools against the simulated demo home
)

// child is one kind of stdio MCP child: how to start it and what to call.
type child struct {
	kind    string
	command []string
	env     []string // added to this process's environment
	calls   callSpec
	cleanup func()
}

// callSpec is the tool call a worker makes and how its answer is checked.
// Every call's arguments are unique to the worker and the call (or, for
// ours, vary with them), so that an answer given to the wrong caller is
// caught.
type callSpec struct {
	tool string
	// args appends worker w's i-th arguments (a JSON object) to b.
	args func(b []byte, w, i int) []byte
	// check verifies a JSON-RPC answer (as the REST API and MCP transports
	// give it) to worker w's i-th call.
	check func(w, i int, msg []byte) error
}

// newChild prepares the child of kind k. npmDir holds the node_modules of
// the everything child; ours builds the add-on binary and starts the
// simulated home, which cleanup stops.
func newChild(o options) (*child, error) {
	switch o.child {
	case childFast, childSDK:
		env := pooltest.Env(pooltest.ChildOptions{Fast: o.child == childFast})
		if o.childGOGC != 0 {
			env = append(env, "GOGC="+strconv.Itoa(o.childGOGC))
		}
		return &child{kind: o.child, command: pooltest.Command(), env: env, calls: echoCalls, cleanup: func() {}}, nil
	case childEverything:
		js := filepath.Join(o.npmDir, "node_modules", "@modelcontextprotocol", "server-everything", "dist", "index.js")
		if _, err := os.Stat(js); err != nil {
			return nil, fmt.Errorf("server-everything is not installed (npm ci --prefix %s): %w", o.npmDir, err)
		}
		return &child{kind: o.child, command: []string{"node", js, "stdio"}, calls: everythingCalls, cleanup: func() {}}, nil
	case childOurs:
		return newOursChild(o)
	}
	return nil, fmt.Errorf("unknown child %q (want fast, sdk, everything or ours)", o.child)
}

// echoCalls drive pooltest's echo, which answers its arguments as
// structuredContent.
var echoCalls = callSpec{
	tool:  "echo",
	args:  func(b []byte, w, i int) []byte { return fmt.Appendf(b, `{"w":%d,"i":%d}`, w, i) },
	check: checkEcho,
}

// everythingCalls drive server-everything's echo, which answers
// "Echo: <message>" as text.
var everythingCalls = callSpec{
	tool: "echo",
	args: func(b []byte, w, i int) []byte { return fmt.Appendf(b, `{"message":"w%d-i%d"}`, w, i) },
	check: func(w, i int, msg []byte) error {
		want := fmt.Sprintf("Echo: w%d-i%d", w, i)
		if bytes.Contains(msg, []byte(`"text":"`+want+`"`)) && !bytes.Contains(msg, []byte(`"isError":true`)) && json.Valid(msg) {
			return nil
		}
		res, err := decodeResult(msg)
		if err != nil {
			return err
		}
		for _, c := range res.Content {
			if c.Text == want && !res.IsError {
				return nil
			}
		}
		return fmt.Errorf("wrong answer for w=%d i=%d: %.200s", w, i, msg)
	},
}

// demoEntities are the demo home's entities that ours reads, in turn.
var demoEntities = []string{
	"light.living_room_ceiling", "light.kitchen_counter", "light.office_desk", "light.garage",
	"sensor.living_room_temperature", "sensor.kitchen_humidity", "sensor.outdoor_temperature",
	"sensor.power_consumption", "binary_sensor.front_door_contact", "binary_sensor.kitchen_window",
	"scene.movie_night",
}

func oursEntity(w, i int) string { return demoEntities[(w+i)%len(demoEntities)] }

// oursCalls read one entity of the demo home; the answer must be that
// entity's.
var oursCalls = callSpec{
	tool: "get_entity_state",
	args: func(b []byte, w, i int) []byte { return fmt.Appendf(b, `{"entity_id":%q}`, oursEntity(w, i)) },
	check: func(w, i int, msg []byte) error {
		want := oursEntity(w, i)
		var ans struct {
			Result struct {
				StructuredContent struct {
					EntityID string `json:"entity_id"`
				} `json:"structuredContent"`
				IsError bool `json:"isError"`
			} `json:"result"`
		}
		if err := json.Unmarshal(msg, &ans); err != nil {
			return fmt.Errorf("decoding %.200q: %w", msg, err)
		}
		if ans.Result.IsError || ans.Result.StructuredContent.EntityID != want {
			return fmt.Errorf("wrong answer for %s: %.200s", want, msg)
		}
		return nil
	},
}

// toolResult is the part of a tools/call answer the checks read.
type toolResult struct {
	Content []struct {
		Text string `json:"text"`
	} `json:"content"`
	IsError bool `json:"isError"`
}

func decodeResult(msg []byte) (toolResult, error) {
	var ans struct {
		Result toolResult `json:"result"`
	}
	if err := json.Unmarshal(msg, &ans); err != nil {
		return ans.Result, fmt.Errorf("decoding %.200q: %w", msg, err)
	}
	return ans.Result, nil
}

// newOursChild builds the add-on binary and starts the simulated demo
// home; the child is `mcp_bridge_addon stdio` pointed at it, as serve
// starts its own children.
func newOursChild(o options) (*child, error) {
	dir, err := os.MkdirTemp("", "mcp-bridge-loadtest-")
	if err != nil {
		return nil, err
	}
	bin := filepath.Join(dir, "mcp_bridge_addon")
	if err := buildAddon(bin); err != nil {
		os.RemoveAll(dir)
		return nil, err
	}
	token := rand.Text()
	home := simhome.New(simhome.Options{Token: token, Home: simhome.DemoHome()})
	if err := home.Start("127.0.0.1:0"); err != nil {
		os.RemoveAll(dir)
		return nil, fmt.Errorf("starting the simulated home: %w", err)
	}
	env := []string{"HASS_URL=" + home.RESTURL(), "HASS_TOKEN=" + token, "MCP_BRIDGE_TOKEN=", "MCP_BRIDGE_CONFIG=",
		"MCP_BRIDGE_LOG_LEVEL=warning", "MCP_BRIDGE_DATA=" + dir}
	if o.childGOGC != 0 {
		env = append(env, "GOGC="+strconv.Itoa(o.childGOGC))
	}
	return &child{kind: childOurs, command: []string{bin, "stdio"}, env: env, calls: oursCalls,
		cleanup: func() { home.Close(); os.RemoveAll(dir) }}, nil
}

// buildAddon builds ./mcp_bridge_addon of this module into bin.
func buildAddon(bin string) error {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	mod := strings.TrimSpace(string(out))
	if err != nil || mod == "" || mod == os.DevNull {
		return fmt.Errorf("-child ours builds ./mcp_bridge_addon: run from inside the module (go env GOMOD: %q, %v)", mod, err)
	}
	cmd := exec.CommandContext(context.Background(), "go", "build", "-o", bin, "./mcp_bridge_addon")
	cmd.Dir = filepath.Dir(mod)
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("building the add-on: %v\n%s", err, out)
	}
	return nil
}

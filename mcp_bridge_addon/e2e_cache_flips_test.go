package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/mcp-bridge/mcp-bridge/src/cache"
	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

// flipName is the name flip k gives the light: every answer that shows
// the light says which flip it shows.
func flipName(k int64) string { return fmt.Sprintf("Flip %d", k) }

func flipOf(name string) (int64, bool) {
	n, err := strconv.ParseInt(strings.TrimPrefix(name, "Flip "), 10, 64)
	return n, err == nil && strings.HasPrefix(name, "Flip ")
}

func flipState(k int64) string { return map[bool]string{true: "on", false: "off"}[k%2 == 1] }

// flipRead is one read of the flipping light and what it showed.
type flipRead struct {
	tool string
	args map[string]any
}

// shown calls the read and returns the flip it shows (-1: the light is
// not in the answer) and whether the cache answered.
func (r flipRead) shown(t *testing.T, b *localBridge, light string) (int64, bool, error) {
	body, _ := json.Marshal(map[string]any{"name": r.tool, "arguments": r.args})
	status, m, err := postJSON(b.base+"/mcp/tools/call", b.token, body)
	if err != nil {
		return 0, false, err
	}
	var res struct {
		IsError bool `json:"isError"`
		SC      struct {
			Name     string `json:"name"`
			State    string `json:"state"`
			Entities []struct {
				EntityID string `json:"entity_id"`
				Name     string `json:"name"`
				State    string `json:"state"`
			} `json:"entities"`
		} `json:"structuredContent"`
		Meta map[string]any `json:"_meta"`
	}
	raw, _ := json.Marshal(m["result"])
	if status != 200 || json.Unmarshal(raw, &res) != nil || res.IsError {
		return 0, false, fmt.Errorf("%s %v: %d %v", r.tool, r.args, status, m)
	}
	cached, _ := res.Meta["io.github.mcp-bridge/cached"].(bool)
	name, state := res.SC.Name, res.SC.State
	if r.tool == "get_entities" {
		name, state = "", ""
		for _, e := range res.SC.Entities {
			if e.EntityID == light {
				name, state = e.Name, e.State
			}
		}
		if name == "" {
			return -1, cached, nil
		}
	}
	k, ok := flipOf(name)
	if !ok {
		k = 0 // before the first flip
	}
	if k > 0 && state != flipState(k) {
		return 0, cached, fmt.Errorf("%s: %q is %q; flip %d set %q", r.tool, name, state, k, flipState(k))
	}
	return k, cached, nil
}

// TestServeCacheFlips flips a light from outside Home Assistant (a person
// at the switch) 1000 times while readers ask the bridge for it, with the
// bridge's real children, one of which reads Home Assistant over a
// connection slowed by 15 ms and another by 40 ms, so that they lag the
// bridge's own event stream. Once event k reached the bridge (its cache
// applied it), every answer started afterwards shows flip k or a later
// one: get_entity_state, get_entities(domain=light), and
// get_entities(domain=light, state=on), where the light's absence means
// "off" and so a later flip when k turned it on.
func TestServeCacheFlips(t *testing.T) {
	if testing.Short() {
		t.Skip("1000 flips through the real bridge")
	}
	ha := simhome.NewServer(t, simhome.Options{})
	proxy := startLagProxy(t, strings.TrimPrefix(ha.URL(), "http://"), 0, 15*time.Millisecond, 40*time.Millisecond)
	const light = "light.kitchen_spots"
	var delivered, started atomic.Int64 // newest flip the bridge's cache applied; newest flip sent to HA
	b := startLocalBridge(t, ha.URL(), proxy.url(), ha.Token(), func(c *Config) {
		c.SessionPool.MinConnections, c.SessionPool.TargetConnections, c.SessionPool.MaxConnections = 3, 3, 3
		c.SessionPool.AutoScale = false
	}, func(ev cache.Event) {
		if ev.Type != "state_changed" {
			return
		}
		var d struct {
			EntityID string `json:"entity_id"`
			New      struct {
				Attributes struct {
					Name string `json:"friendly_name"`
				} `json:"attributes"`
			} `json:"new_state"`
		}
		if json.Unmarshal(ev.Data, &d) == nil && d.EntityID == light {
			if k, ok := flipOf(d.New.Attributes.Name); ok {
				delivered.Store(k)
			}
		}
	})

	reads := []flipRead{
		{"get_entity_state", map[string]any{"entity_id": light}},
		{"get_entities", map[string]any{"domain": "light", "limit": 100}},
		{"get_entities", map[string]any{"domain": "light", "state": "on", "limit": 100}},
	}
	const flips = 1000
	var stop atomic.Bool
	var answers, during, hits, errs atomic.Int64
	const readers = 6
	var settled [readers]atomic.Int64 // per reader, answers started once the last flip had reached the bridge
	var wg sync.WaitGroup
	for r := range readers {
		read := reads[r%len(reads)]
		wg.Go(func() {
			for !stop.Load() {
				known := delivered.Load()
				got, cached, err := read.shown(t, b, light)
				end := started.Load()
				switch {
				case err != nil:
					t.Error(err)
				case got >= known:
				case got == -1 && (known%2 == 0 || end > known):
					// off: flip known turned it off, or a later flip did
				default:
					t.Errorf("%s %v answered flip %d (cached %v; -1: absent, so off) after flip %d had reached the bridge: stale",
						read.tool, read.args, got, cached, known)
				}
				if err != nil || got < known && got != -1 {
					errs.Add(1)
					if errs.Load() > 10 {
						return
					}
				}
				answers.Add(1)
				switch {
				case known == flips:
					settled[r].Add(1)
				case known > 0:
					during.Add(1)
				}
				if cached {
					hits.Add(1)
				}
			}
		})
	}
	for k := int64(1); k <= flips; k++ {
		started.Store(k)
		ha.SetState(light, flipState(k), map[string]any{"friendly_name": flipName(k), "supported_color_modes": []string{"onoff"}})
		time.Sleep(2 * time.Millisecond)
	}
	// Each reader goes on until it has read three times after the last flip
	// reached the bridge: by then the answers are cached.
	quiet := func() bool {
		for r := range settled {
			if settled[r].Load() < 3 {
				return false
			}
		}
		return true
	}
	for deadline := time.Now().Add(20 * time.Second); !quiet() && errs.Load() <= 10 && time.Now().Before(deadline); {
		time.Sleep(10 * time.Millisecond)
	}
	stop.Store(true)
	wg.Wait()
	if got := delivered.Load(); got != flips {
		t.Fatalf("the bridge saw flip %d of %d", got, flips)
	}
	// After the last flip, every read shows it.
	for _, read := range reads {
		got, _, err := read.shown(t, b, light)
		if err != nil || got != flips && !(got == -1 && flipState(flips) == "off") {
			t.Errorf("%s %v after the last flip: flip %d, %v; want %d", read.tool, read.args, got, err, flips)
		}
	}
	lagging := int(metricSum(t, b.bridgeProc, "mcp_bridge_cache_lagging_answers_total"))
	t.Logf("%d answers (%d while flipping), %d from the cache; %d answers of lagging children refused and asked again",
		answers.Load(), during.Load(), hits.Load(), lagging)
	if hits.Load() == 0 || lagging == 0 || during.Load() < 60 {
		t.Errorf("answers while flipping %d, hits %d, lagging answers %d: the test did not exercise the cache and the lagging children",
			during.Load(), hits.Load(), lagging)
	}
}

// postJSON posts body with the token and decodes the JSON object answered;
// unlike bridgeProc.post it returns errors, for readers on their own
// goroutines.
func postJSON(url, token string, body []byte) (int, map[string]any, error) {
	req, err := http.NewRequest(http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		return 0, nil, err
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Authorization", "Bearer "+token)
	resp, err := (&http.Client{Timeout: 60 * time.Second}).Do(req)
	if err != nil {
		return 0, nil, err
	}
	defer resp.Body.Close()
	raw, err := io.ReadAll(resp.Body)
	if err != nil {
		return 0, nil, err
	}
	var m map[string]any
	if err := json.Unmarshal(raw, &m); err != nil {
		return resp.StatusCode, nil, fmt.Errorf("%d, body %.300q: %w", resp.StatusCode, raw, err)
	}
	return resp.StatusCode, m, nil
}

// metricSum adds up every series of a metric (all labels) on /metrics.
func metricSum(t *testing.T, b *bridgeProc, name string) float64 {
	t.Helper()
	a := request(t, b.base+"/metrics", b.token)
	total := 0.0
	for _, m := range regexp.MustCompile(`(?m)^`+regexp.QuoteMeta(name)+`(?:\{[^}]*\})? (\S+)$`).FindAllStringSubmatch(a.body, -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		total += v
	}
	return total
}

package tools

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"io"
	"testing"

	"github.com/mcp-bridge/mcp-bridge/src/hass"
	"github.com/mcp-bridge/mcp-bridge/src/mcpstdio"
	"github.com/mcp-bridge/mcp-bridge/src/simhome"
	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// BenchmarkStdioGetEntityState measures one get_entity_state on the demo
// home as `mcp_bridge_addon stdio` serves it, one call at a time: the
// request line written to the server's input, the answer line read back
// (what the load harness's child-floor row measures, without the
// process), over go-sdk's stdio transport and over ours. allocs/op and
// B/op are the server's garbage per call, which sets how often the child
// collects.
func BenchmarkStdioGetEntityState(b *testing.B) {
	b.Run("go-sdk", func(b *testing.B) {
		benchStdio(b, func(r io.ReadCloser, w io.WriteCloser) mcp.Transport { return &mcp.IOTransport{Reader: r, Writer: w} })
	})
	b.Run("mcpstdio", func(b *testing.B) {
		benchStdio(b, func(r io.ReadCloser, w io.WriteCloser) mcp.Transport {
			return &mcpstdio.Transport{Reader: r, Writer: w}
		})
	})
}

func benchStdio(b *testing.B, transport func(io.ReadCloser, io.WriteCloser) mcp.Transport) {
	ha := simhome.NewServer(b, simhome.Options{Home: simhome.DemoHome()})
	hc, err := hass.New(hass.Config{RESTURL: ha.RESTURL(), WebSocketURL: ha.WebSocketURL(), Token: ha.Token()})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	hcDone := make(chan struct{})
	go func() { defer close(hcDone); _ = hc.Run(ctx) }()
	inR, inW := io.Pipe()
	outR, outW := io.Pipe()
	served := make(chan error, 1)
	go func() { served <- Serve(ctx, Config{}, hc, transport(inR, outW)) }()
	b.Cleanup(func() {
		inW.Close()
		if err := <-served; err != nil {
			b.Errorf("Serve: %v", err)
		}
		cancel()
		<-hcDone
	})
	out := bufio.NewReader(outR)
	roundTrip := func(msg string, id int) []byte {
		if _, err := io.WriteString(inW, msg+"\n"); err != nil {
			b.Fatal(err)
		}
		want := fmt.Appendf(nil, `"id":%d,`, id)
		for {
			line, err := out.ReadBytes('\n')
			if err != nil {
				b.Fatal(err)
			}
			if bytes.Contains(line, want) {
				return line
			}
		}
	}
	roundTrip(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"bench","version":"1"}}}`, 0)
	if _, err := io.WriteString(inW, `{"jsonrpc":"2.0","method":"notifications/initialized"}`+"\n"); err != nil {
		b.Fatal(err)
	}
	entities := []string{"light.living_room_ceiling", "sensor.living_room_temperature", "binary_sensor.front_door_contact", "scene.movie_night"}
	id := 0
	b.ReportAllocs()
	for b.Loop() {
		id++
		e := entities[id%len(entities)]
		ans := roundTrip(fmt.Sprintf(`{"jsonrpc":"2.0","id":%d,"method":"tools/call","params":{"name":"get_entity_state","arguments":{"entity_id":%q}}}`, id, e), id)
		if !bytes.Contains(ans, []byte(e)) || bytes.Contains(ans, []byte(`"isError":true`)) {
			b.Fatalf("answer to %s: %s", e, ans)
		}
	}
}

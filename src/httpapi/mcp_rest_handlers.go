package httpapi

import (
	"bytes"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mcp-bridge/mcp-bridge/src/bridge"
	"github.com/mcp-bridge/mcp-bridge/src/cache"
)

// Protocol versions /mcp/initialize negotiates, newest first: the
// handshake-based ones (2026-07-28 has no initialize).
var restProtocolVersions = []string{"2025-11-25", "2025-06-18", "2025-03-26", "2024-11-05"}

// handleInitialize creates (or renews) a client session and answers a
// JSON-RPC initialize result carrying its id.
func (m *MCP) handleInitialize(c *gin.Context) {
	data, err := m.readBody(c)
	if err != nil {
		m.writeMCPError(c, nil, err)
		return
	}
	body, err := parseInitBody(data)
	if err != nil {
		m.writeMCPError(c, nil, err)
		return
	}
	want := ""
	if body.SessionID != nil {
		want = *body.SessionID
	}
	id, err := m.sessions.open(want, time.Now())
	if err != nil {
		m.writeMCPError(c, nil, err)
		return
	}
	version := restProtocolVersions[0]
	if slices.Contains(restProtocolVersions, body.ProtocolVersion) {
		version = body.ProtocolVersion
	}
	c.Header("X-Session-ID", id)
	c.JSON(http.StatusOK, gin.H{"jsonrpc": "2.0", "id": 1, "result": gin.H{
		"protocolVersion": version,
		"capabilities":    gin.H{"tools": gin.H{"listChanged": false}},
		"serverInfo":      gin.H{"name": "mcp-bridge", "version": m.cfg.Version},
		"session_id":      id,
	}})
}

// handleToolsList answers the children's tools, from the cache unless
// X-Cache-Control asks for a fresher list.
func (m *MCP) handleToolsList(c *gin.Context) {
	if _, err := m.session(c); err != nil {
		m.writeMCPError(c, nil, err)
		return
	}
	l, err := m.bridge.ListTools(c.Request.Context(), parseCacheControl(c.GetHeader("X-Cache-Control")))
	if err != nil {
		m.writeMCPError(c, nil, err)
		return
	}
	tools := l.Tools
	if tools == nil {
		tools = []json.RawMessage{}
	}
	c.JSON(http.StatusOK, gin.H{
		"tools":         tools,
		"cached":        l.Cached,
		"cache_expires": l.Expires.UTC().Format(time.RFC3339),
	})
}

// handleToolsCall runs one tool call through the bridge.
func (m *MCP) handleToolsCall(c *gin.Context) {
	req, id, err := m.callRequest(c)
	if err != nil {
		m.writeMCPError(c, id, err)
		return
	}
	res, err := m.bridge.Call(c.Request.Context(), req)
	if err != nil {
		m.writeMCPError(c, id, err)
		return
	}
	out, err := bridge.WithMeta(res.Raw, res.Meta)
	if err != nil {
		m.writeMCPError(c, id, err)
		return
	}
	if id == nil {
		id = json.RawMessage("1")
	}
	var buf bytes.Buffer
	buf.Grow(len(out) + 64)
	buf.WriteString(`{"jsonrpc":"2.0","id":`)
	buf.Write(id)
	buf.WriteString(`,"result":`)
	buf.Write(out)
	buf.WriteByte('}')
	c.Data(http.StatusOK, "application/json; charset=utf-8", buf.Bytes())
}

// callRequest builds the bridge request from the headers and body. It also
// returns the JSON-RPC id to answer with (request_id as sent, or nil).
func (m *MCP) callRequest(c *gin.Context) (bridge.Request, json.RawMessage, error) {
	session, err := m.session(c)
	if err != nil {
		return bridge.Request{}, nil, err
	}
	prio, err := parsePriorityHeader(c.GetHeader("X-Priority"))
	if err != nil {
		return bridge.Request{}, nil, err
	}
	timeout, err := parseTimeoutHeader(c.GetHeader("X-Timeout"))
	if err != nil {
		return bridge.Request{}, nil, err
	}
	control, err := cache.ParseControl(c.GetHeader("X-Cache-Control"))
	if err != nil {
		return bridge.Request{}, nil, fmt.Errorf("%w: header X-Cache-Control: %w", errBadInput, err)
	}
	data, err := m.readBody(c)
	if err != nil {
		return bridge.Request{}, nil, err
	}
	body, err := parseCallBody(data)
	if err != nil {
		return bridge.Request{}, nil, err
	}
	return bridge.Request{
		Tool:         body.Name,
		Arguments:    body.Arguments,
		RequestID:    body.RequestID,
		Priority:     prio,
		Timeout:      timeout,
		SessionID:    session,
		Client:       m.cfg.Client(c.Request),
		CacheControl: control,
	}, body.ID, nil
}

// handleStatus answers the seed's status document.
func (m *MCP) handleStatus(c *gin.Context) {
	s := m.bridge.Stats()
	status := "healthy"
	switch {
	case s.Breaker == "open":
		status = "unhealthy"
	case s.Breaker == "half-open", s.Sessions.Total > 0 && s.Sessions.Active == 0:
		status = "degraded"
	}
	byStatus := s.Sessions.ByStatus
	if byStatus == nil {
		byStatus = map[string]int{}
	}
	c.Header("Cache-Control", "no-store")
	body := gin.H{
		"bridge": gin.H{
			"status": status, "version": m.cfg.Version,
			"uptime_seconds": int64(time.Since(m.started).Seconds()),
		},
		"sessions": gin.H{"active": s.Sessions.Active, "total": s.Sessions.Total, "by_status": byStatus},
		"queue": gin.H{
			"pending": s.Queue.Pending, "processing": s.Queue.Running,
			"by_priority": s.Queue.ByPriority, "max_seen": s.Queue.MaxSeen,
		},
		"performance": gin.H{
			"avg_response_time_ms": roundMS(s.Performance.AvgResponseTime),
			"requests_per_second":  round2(s.Performance.RequestsPerSecond),
			"error_rate":           round2(s.Performance.ErrorRate),
			"window_seconds":       int64(s.Performance.Window.Seconds()),
		},
		"circuit_breaker": gin.H{"state": s.Breaker},
		"client_sessions": m.sessions.count(),
	}
	if s.Cache != nil {
		body["cache"] = s.Cache
	}
	c.JSON(http.StatusOK, body)
}

func roundMS(d time.Duration) float64 {
	return round2(float64(d) / float64(time.Millisecond))
}

func round2(f float64) float64 {
	v, _ := strconv.ParseFloat(strconv.FormatFloat(f, 'f', 2, 64), 64)
	return v
}

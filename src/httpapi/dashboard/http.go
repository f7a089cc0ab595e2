package dashboard

import (
	"bytes"
	"context"
	"embed"
	"html/template"
	"net/http"
	"regexp"
	"time"

	"github.com/gin-gonic/gin"

	"github.com/mcp-bridge/mcp-bridge/src/audit"
	"github.com/mcp-bridge/mcp-bridge/src/cache"
	"github.com/mcp-bridge/mcp-bridge/src/httpapi"
)

//go:embed ui
var ui embed.FS

var page = template.Must(template.ParseFS(ui, "ui/index.html"))

// auditShown is how many audit entries the page gets.
const auditShown = 50

// Routes registers the page, its assets and its JSON on the Ingress port's
// group (set httpapi.Config.NoStatusPage: the page is GET /). Every link
// is relative, since the Supervisor serves the page under a prefix.
func (d *Dashboard) Routes(g *gin.RouterGroup) {
	g.GET("/", d.handlePage)
	g.GET("/dashboard.js", asset("ui/dashboard.js", "text/javascript; charset=utf-8"))
	g.GET("/dashboard.css", asset("ui/dashboard.css", "text/css; charset=utf-8"))
	g.GET("/api/dashboard", d.handleData)
	g.GET("/api/connection", d.handleConnection)
}

// RoutesAfter returns routes that register first's, then the dashboard's:
// pass it as httpapi.Config.IngressRoutes.
func (d *Dashboard) RoutesAfter(first func(*gin.RouterGroup)) func(*gin.RouterGroup) {
	return func(g *gin.RouterGroup) {
		if first != nil {
			first(g)
		}
		d.Routes(g)
	}
}

// ingressPath matches the X-Ingress-Path the Supervisor sends
// ("/api/hassio_ingress/<token>"); anything else is ignored.
var ingressPath = regexp.MustCompile(`^/[A-Za-z0-9_./-]{1,200}$`)

// handlePage serves the page. Behind Ingress it names its own base
// (X-Ingress-Path), so that relative links work even when the page was
// opened without its trailing slash.
func (d *Dashboard) handlePage(c *gin.Context) {
	base := ""
	if p := c.GetHeader("X-Ingress-Path"); ingressPath.MatchString(p) {
		base = p + "/"
	}
	var buf bytes.Buffer
	if err := page.Execute(&buf, map[string]string{"Base": base, "Version": d.cfg.Version}); err != nil {
		d.log.Error().Err(err).Msg("rendering the dashboard")
		c.AbortWithStatusJSON(http.StatusInternalServerError, gin.H{"error": "internal error"})
		return
	}
	c.Header("Cache-Control", "no-store")
	c.Header("Content-Security-Policy", "default-src 'self'; connect-src 'self'; img-src 'self' data:; frame-ancestors 'self'")
	c.Data(http.StatusOK, "text/html; charset=utf-8", buf.Bytes())
}

func asset(name, contentType string) gin.HandlerFunc {
	data, err := ui.ReadFile(name)
	if err != nil {
		panic("dashboard: missing asset " + name) // a build error
	}
	return func(c *gin.Context) {
		c.Header("Cache-Control", "no-cache")
		c.Data(http.StatusOK, contentType, data)
	}
}

// Data is the document the page polls.
type Data struct {
	Version       string         `json:"version"`
	Mode          string         `json:"mode"`
	UptimeSeconds int64          `json:"uptime_seconds"`
	Status        string         `json:"status"` // healthy, degraded or unhealthy, as /mcp/status
	Health        httpapi.Health `json:"health"`
	Sessions      Sessions       `json:"sessions"`
	Queue         Queue          `json:"queue"`
	Breaker       string         `json:"breaker"`
	Cache         *cache.Stats   `json:"cache,omitempty"`
	Performance   Performance    `json:"performance"`
	Totals        counters       `json:"totals"`
	Series        Series         `json:"series"`
	Recent        []callView     `json:"recent"`
	Audit         *AuditView     `json:"audit,omitempty"`
}

// Sessions are the MCP server processes.
type Sessions struct {
	Active   int            `json:"active"`
	Total    int            `json:"total"`
	ByStatus map[string]int `json:"by_status"`
}

// Queue is the bridge's queue.
type Queue struct {
	Pending    int            `json:"pending"`
	Running    int            `json:"running"`
	ByPriority map[string]int `json:"by_priority"`
	MaxSeen    int            `json:"max_seen"`
}

// Performance covers the bridge's last minute.
type Performance struct {
	AvgResponseMS     float64 `json:"avg_response_time_ms"`
	RequestsPerSecond float64 `json:"requests_per_second"`
	ErrorRate         float64 `json:"error_rate"`
	WindowSeconds     int64   `json:"window_seconds"`
}

// Series is the charts' data.
type Series struct {
	IntervalSeconds float64  `json:"interval_seconds"`
	Samples         []Sample `json:"samples"`
}

// AuditView is the newest part of the audit log.
type AuditView struct {
	File    string        `json:"file"`
	Entries []audit.Entry `json:"entries"`
}

// Snapshot computes the document the page polls.
func (d *Dashboard) Snapshot(ctx context.Context) Data {
	st := d.cfg.Stats()
	h := d.cfg.Health(ctx)
	out := Data{
		Version: d.cfg.Version, Mode: d.cfg.Mode, Health: h,
		UptimeSeconds: int64(d.now().Sub(d.started).Seconds()),
		Status:        status(st.Breaker, st.Sessions.Total, st.Sessions.Active),
		Sessions:      Sessions{Active: st.Sessions.Active, Total: st.Sessions.Total, ByStatus: nonNil(st.Sessions.ByStatus)},
		Queue: Queue{Pending: st.Queue.Pending, Running: st.Queue.Running,
			ByPriority: nonNil(st.Queue.ByPriority), MaxSeen: st.Queue.MaxSeen},
		Breaker: st.Breaker,
		Cache:   st.Cache,
		Performance: Performance{
			AvgResponseMS: round2(ms(st.Performance.AvgResponseTime)), RequestsPerSecond: round2(st.Performance.RequestsPerSecond),
			ErrorRate: round2(st.Performance.ErrorRate), WindowSeconds: int64(st.Performance.Window / time.Second),
		},
		Series: Series{IntervalSeconds: d.cfg.Interval.Seconds()},
	}
	d.mu.Lock()
	out.Totals = d.totals
	out.Series.Samples = d.samplesLocked()
	recent := d.recentLocked()
	d.mu.Unlock()
	out.Recent = make([]callView, len(recent))
	for i, rc := range recent {
		out.Recent[i] = rc.view()
	}
	if d.cfg.Audit != nil {
		out.Audit = &AuditView{File: d.cfg.AuditFile, Entries: d.cfg.Audit.Recent(auditShown)}
	}
	return out
}

func (d *Dashboard) handleData(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, d.Snapshot(c.Request.Context()))
}

// status is /mcp/status's summary.
func status(breaker string, total, active int) string {
	switch {
	case breaker == "open":
		return "unhealthy"
	case breaker == "half-open", total > 0 && active == 0:
		return "degraded"
	}
	return "healthy"
}

func nonNil(m map[string]int) map[string]int {
	if m == nil {
		return map[string]int{}
	}
	return m
}

// handleConnection answers what the connection panel shows: the port and
// paths LLM tools use and, when the user did not choose it, the token. The
// page builds the URL from the host name the browser used for Home
// Assistant, which is the host the port is published on.
func (d *Dashboard) handleConnection(c *gin.Context) {
	c.Header("Cache-Control", "no-store")
	c.JSON(http.StatusOK, gin.H{
		"port":      d.cfg.APIPort,
		"mcp_path":  "/mcp",
		"sse_path":  "/sse",
		"token":     d.cfg.APIToken,
		"discovery": d.cfg.Discovery,
		"mode":      d.cfg.Mode,
	})
}

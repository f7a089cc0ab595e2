package httpapi

import (
	"fmt"
	"strconv"
	"time"

	"github.com/gin-gonic/gin"
	"github.com/prometheus/client_golang/prometheus"
)

// httpMetrics are the mcp_bridge_http_* collectors of a Server. Labels are
// bounded: the listener (api, ingress), the method (the ones routes use,
// else "other"), the route pattern as registered (never the raw path;
// "unmatched" for unknown paths) and the status code.
type httpMetrics struct {
	requests *prometheus.CounterVec
	duration *prometheus.HistogramVec
}

// newHTTPMetrics registers the collectors on reg; with reg nil they are
// kept but not exported.
func newHTTPMetrics(reg prometheus.Registerer) (*httpMetrics, error) {
	m := &httpMetrics{
		requests: prometheus.NewCounterVec(prometheus.CounterOpts{
			Name: "mcp_bridge_http_requests_total",
			Help: "HTTP requests answered, by listener, method, route (endpoint) and status code.",
		}, []string{"listener", "method", "endpoint", "code"}),
		duration: prometheus.NewHistogramVec(prometheus.HistogramOpts{
			Name: "mcp_bridge_http_request_duration_seconds",
			Help: "Time to answer an HTTP request, by listener, method and route; event streams count until they end.",
			// The seed's buckets (0.1 to 10 s), below them the bridge's usual answers.
			Buckets: []float64{.001, .005, .01, .025, .05, .1, .5, 1, 2.5, 5, 10},
		}, []string{"listener", "method", "endpoint"}),
	}
	if reg == nil {
		return m, nil
	}
	for _, c := range []prometheus.Collector{m.requests, m.duration} {
		if err := reg.Register(c); err != nil {
			return nil, fmt.Errorf("httpapi: registering metrics: %w", err)
		}
	}
	return m, nil
}

// observe counts every request of one listener once it is answered.
func (m *httpMetrics) observe(listener string) gin.HandlerFunc {
	return func(c *gin.Context) {
		start := time.Now()
		c.Next()
		endpoint := c.FullPath()
		if endpoint == "" {
			endpoint = "unmatched"
		}
		method := metricMethod(c.Request.Method)
		m.requests.WithLabelValues(listener, method, endpoint, strconv.Itoa(c.Writer.Status())).Inc()
		m.duration.WithLabelValues(listener, method, endpoint).Observe(time.Since(start).Seconds())
	}
}

// metricMethod bounds the method label: a client may send any token.
func metricMethod(m string) string {
	switch m {
	case "GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS":
		return m
	}
	return "other"
}

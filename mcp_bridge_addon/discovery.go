package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"github.com/rs/zerolog"

	"github.com/mcp-bridge/mcp-bridge/src/httpapi"
)

// Home Assistant's MCP integration ("Model Context Protocol", domain mcp)
// accepts a server an add-on announces through the Supervisor's discovery
// API, and then connects to the announced URL with no header of its own.
// The add-on therefore announces a URL that carries its own credential, a
// secret of its own (not the API token) kept in the data folder:
// http://<add-on host name>:<port>/hass/<secret>/mcp, served as /mcp for
// the principal "home-assistant" (httpapi.PathCredential). Only Home
// Assistant reads discovery messages.
const (
	discoveryService   = "mcp" // the integration's domain; listed under discovery in config.yaml
	discoveryTokenFile = "discovery_token"
	discoveryPrefix    = "/hass/"
	discoveryPrincipal = "home-assistant"
)

// supervisorClient posts to the Supervisor; it follows no redirect, which
// would re-send the announced URL, secret included, to another host.
var supervisorClient = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse
}}

// discovery is what the add-on announces to Home Assistant.
type discovery struct {
	token         string // the URL's secret; never logged
	supervisorURL string // e.g. http://supervisor
	supervisorTok string // SUPERVISOR_TOKEN; never logged
	host          string // the add-on's host name on the Supervisor's network
	port          int
}

// url is the URL Home Assistant's MCP integration connects to.
func (d *discovery) url() string {
	return "http://" + d.host + ":" + strconv.Itoa(d.port) + discoveryPrefix + d.token + "/mcp"
}

// credential is the main API's admission of the announced URL.
func (d *discovery) credential() *httpapi.PathCredential {
	return &httpapi.PathCredential{Prefix: discoveryPrefix, Token: d.token, Principal: discoveryPrincipal, Paths: []string{"/mcp"}}
}

// prepareDiscovery sets cfg.discovery in add-on mode: the secret kept in
// the data folder (generated at the first start) and the add-on's host
// name, which the Supervisor sets to the add-on's name on its network. A
// problem here is logged and leaves discovery off; it never stops the
// bridge, which works without it.
func prepareDiscovery(cfg *Config, log zerolog.Logger) {
	if cfg.Mode != ModeAddon || cfg.Bridge.Port == 0 {
		return
	}
	path := filepath.Join(cfg.Bridge.DataDir, discoveryTokenFile)
	token, _, err := loadOrCreateToken(path)
	if err == nil {
		err = (&httpapi.PathCredential{Prefix: discoveryPrefix, Token: token, Principal: discoveryPrincipal, Paths: []string{"/mcp"}}).Check()
	}
	if err != nil {
		err = errors.New(strings.TrimSuffix(err.Error(), "; "+fixTokenFile)) // that advice is api_token's
		log.Error().Err(err).Str("file", path).Msg("Home Assistant discovery is off: delete the file to have a new secret generated")
		return
	}
	host, err := os.Hostname()
	if err != nil || host == "" {
		log.Error().Err(err).Msg("Home Assistant discovery is off: the add-on has no host name")
		return
	}
	cfg.discovery = &discovery{
		token:         token,
		supervisorURL: strings.TrimSuffix(cfg.HomeAssistant.RESTURL, "/core/api"),
		supervisorTok: cfg.HomeAssistant.Token,
		host:          host,
		port:          cfg.Bridge.Port,
	}
}

// announce sends the discovery message until the Supervisor accepts it or
// ctx ends: at each start, since the Supervisor keeps one message per
// service and add-on and returns the same one when nothing changed. A
// refusal (4xx) is logged once and not retried: it will not change until
// the add-on does.
func (d *discovery) announce(ctx context.Context, client *http.Client, log zerolog.Logger) {
	wait := time.Second
	for {
		uuid, retry, err := d.send(ctx, client)
		if err == nil {
			log.Info().Str("uuid", uuid).Msg("offered to Home Assistant's MCP integration through the Supervisor's discovery: " +
				"Settings > Devices & services shows MCP Bridge as discovered")
			return
		}
		if !retry {
			log.Error().Err(err).Msg("the Supervisor refused the discovery message; Home Assistant will not discover the bridge")
			return
		}
		log.Warn().Err(err).Dur("retry_in", wait).Msg("announcing the bridge to Home Assistant")
		select {
		case <-ctx.Done():
			return
		case <-time.After(wait):
		}
		wait = min(2*wait, time.Minute)
	}
}

// send posts the message once. retry says whether a failure may pass.
func (d *discovery) send(ctx context.Context, client *http.Client) (uuid string, retry bool, err error) {
	body, _ := json.Marshal(map[string]any{"service": discoveryService, "config": map[string]any{"url": d.url()}})
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, d.supervisorURL+"/discovery", bytes.NewReader(body))
	if err != nil {
		return "", false, err
	}
	req.Header.Set("Authorization", "Bearer "+d.supervisorTok)
	req.Header.Set("Content-Type", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		var ue *url.Error
		if errors.As(err, &ue) {
			err = ue.Err // the URL holds no secret, but keep the message short
		}
		return "", true, fmt.Errorf("POST /discovery: %w", err)
	}
	defer resp.Body.Close()
	var answer struct {
		Result  string `json:"result"`
		Message string `json:"message"`
		Data    struct {
			UUID string `json:"uuid"`
		} `json:"data"`
	}
	raw, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	jerr := json.Unmarshal(raw, &answer)
	switch {
	case resp.StatusCode == http.StatusOK && jerr == nil && answer.Result == "ok" && answer.Data.UUID != "":
		return answer.Data.UUID, false, nil
	case answer.Message != "":
		err = fmt.Errorf("POST /discovery: %s: %s", resp.Status, answer.Message)
	default:
		err = fmt.Errorf("POST /discovery: %s", resp.Status)
	}
	return "", resp.StatusCode >= 500 || resp.StatusCode == http.StatusOK, err
}

package mcpconn

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
)

// Implementation names an MCP client or server (clientInfo, serverInfo).
type Implementation struct {
	Name    string `json:"name"`
	Title   string `json:"title,omitempty"`
	Version string `json:"version"`
}

// initializeInfo is what the child answered to initialize.
type initializeInfo struct {
	raw          json.RawMessage
	version      string
	capabilities json.RawMessage
	serverInfo   Implementation
	instructions string
}

// initialize sends initialize, checks the answer, then sends
// notifications/initialized.
func (s *Session) initialize(ctx context.Context) error {
	params, err := json.Marshal(map[string]any{
		"protocolVersion": LatestProtocolVersion,
		"capabilities":    s.cfg.ClientCapabilities,
		"clientInfo":      Implementation{Name: s.cfg.ClientName, Version: s.cfg.ClientVersion},
	})
	if err != nil {
		return notSentError(err)
	}
	raw, err := s.call(ctx, "initialize", params, true)
	if err != nil {
		return err
	}
	info, err := parseInitializeResult(raw)
	if err != nil {
		return err
	}
	s.init = info
	if err := s.Notify(ctx, "notifications/initialized", nil); err != nil {
		return err
	}
	s.log.Info().Str("server", info.serverInfo.Name).Str("server_version", info.serverInfo.Version).
		Str("protocol", info.version).Msg("child initialized")
	return nil
}

func parseInitializeResult(raw json.RawMessage) (initializeInfo, error) {
	var r struct {
		ProtocolVersion string          `json:"protocolVersion"`
		Capabilities    json.RawMessage `json:"capabilities"`
		ServerInfo      Implementation  `json:"serverInfo"`
		Instructions    string          `json:"instructions"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return initializeInfo{}, fmt.Errorf("decoding initialize result: %w", err)
	}
	if !slices.Contains(SupportedProtocolVersions, r.ProtocolVersion) {
		return initializeInfo{}, fmt.Errorf("%w %q", ErrUnsupportedVersion, r.ProtocolVersion)
	}
	if len(r.Capabilities) == 0 || string(r.Capabilities) == "null" {
		r.Capabilities = json.RawMessage(`{}`)
	}
	return initializeInfo{raw: raw, version: r.ProtocolVersion, capabilities: r.Capabilities,
		serverInfo: r.ServerInfo, instructions: r.Instructions}, nil
}

// Keys of the _meta entries that carry, in the stateless protocol, what the
// handshake used to say once.
const (
	metaProtocolVersion    = "io.modelcontextprotocol/protocolVersion"
	metaClientInfo         = "io.modelcontextprotocol/clientInfo"
	metaClientCapabilities = "io.modelcontextprotocol/clientCapabilities"
	metaServerInfo         = "io.modelcontextprotocol/serverInfo"
)

// discover opens a stateless session: it asks server/discover and checks
// that the child speaks StatelessProtocolVersion. A child that refuses the
// request, or lists no such version, is ErrUnsupportedVersion.
func (s *Session) discover(ctx context.Context) error {
	info, err := json.Marshal(Implementation{Name: s.cfg.ClientName, Version: s.cfg.ClientVersion})
	if err != nil {
		return notSentError(err)
	}
	s.meta = map[string]json.RawMessage{
		metaProtocolVersion:    json.RawMessage(`"` + StatelessProtocolVersion + `"`),
		metaClientInfo:         info,
		metaClientCapabilities: s.cfg.ClientCapabilities,
	}
	raw, err := s.call(ctx, "server/discover", nil, true)
	var rpcErr *RPCError
	if errors.As(err, &rpcErr) {
		return fmt.Errorf("%w %s: server/discover: %w", ErrUnsupportedVersion, StatelessProtocolVersion, err)
	}
	if err != nil {
		return err
	}
	var r struct {
		SupportedVersions []string        `json:"supportedVersions"`
		Capabilities      json.RawMessage `json:"capabilities"`
		Instructions      string          `json:"instructions"`
		Meta              struct {
			ServerInfo Implementation `json:"io.modelcontextprotocol/serverInfo"`
		} `json:"_meta"`
	}
	if err := json.Unmarshal(raw, &r); err != nil {
		return fmt.Errorf("decoding the server/discover result: %w", err)
	}
	if !slices.Contains(r.SupportedVersions, StatelessProtocolVersion) {
		return fmt.Errorf("%w %s: the child supports %q", ErrUnsupportedVersion, StatelessProtocolVersion, r.SupportedVersions)
	}
	if len(r.Capabilities) == 0 || string(r.Capabilities) == "null" {
		r.Capabilities = json.RawMessage(`{}`)
	}
	s.init = initializeInfo{raw: raw, version: StatelessProtocolVersion, capabilities: r.Capabilities,
		serverInfo: r.Meta.ServerInfo, instructions: r.Instructions}
	if err := s.listen(ctx); err != nil {
		return err
	}
	s.log.Info().Str("server", r.Meta.ServerInfo.Name).Str("protocol", StatelessProtocolVersion).Msg("child discovered")
	return nil
}

// listen asks a stateless child for its tools, prompts and resources
// list_changed notifications, which that protocol sends only on an open
// subscriptions/listen request; they reach Config.Handlers as in the
// handshake era. The request stays open for the session's life. It is not
// pending like a call: its end, if ever (a child without the method
// refuses it), is ignored, and it neither holds the reader nor keeps the
// session from going idle.
func (s *Session) listen(ctx context.Context) error {
	params, err := s.withMeta(json.RawMessage(`{"notifications":{"toolsListChanged":true,"promptsListChanged":true,"resourcesListChanged":true}}`))
	if err != nil {
		return notSentError(err)
	}
	data, err := appendRequest(nil, s.nextID.Add(1), true, "subscriptions/listen", params)
	if err != nil {
		return notSentError(err)
	}
	if _, err := s.write(ctx, data); err != nil {
		return fmt.Errorf("subscriptions/listen: %w", err)
	}
	return nil
}

// withMeta returns params with the _meta entries of the stateless
// protocol that it lacks; the caller's own (a client's capabilities) win.
// It returns params as they are in the handshake era.
func (s *Session) withMeta(params json.RawMessage) (json.RawMessage, error) {
	if s.meta == nil || bytes.Contains(params, []byte(metaProtocolVersion)) &&
		bytes.Contains(params, []byte(metaClientCapabilities)) && bytes.Contains(params, []byte(metaClientInfo)) {
		return params, nil
	}
	var obj map[string]json.RawMessage
	if t := bytes.TrimSpace(params); len(t) > 0 && string(t) != "null" {
		if err := json.Unmarshal(params, &obj); err != nil {
			return nil, fmt.Errorf("params must be a JSON object: %w", err)
		}
	}
	if obj == nil {
		obj = make(map[string]json.RawMessage, 1)
	}
	var meta map[string]json.RawMessage
	if raw, ok := obj["_meta"]; ok && string(raw) != "null" {
		if err := json.Unmarshal(raw, &meta); err != nil {
			return nil, fmt.Errorf("params._meta must be a JSON object: %w", err)
		}
	}
	if meta == nil {
		meta = make(map[string]json.RawMessage, len(s.meta))
	}
	for k, v := range s.meta {
		if _, ok := meta[k]; !ok {
			meta[k] = v
		}
	}
	var err error
	if obj["_meta"], err = json.Marshal(meta); err != nil {
		return nil, err
	}
	return json.Marshal(obj)
}

// Stateless reports whether the session speaks the stateless protocol
// (Config.ProtocolVersion).
func (s *Session) Stateless() bool { return s.meta != nil }

// InitializeResult is the child's answer to initialize, byte for byte; for
// a stateless session, its answer to server/discover.
func (s *Session) InitializeResult() json.RawMessage { return s.init.raw }

// ProtocolVersion is the protocol version the child chose.
func (s *Session) ProtocolVersion() string { return s.init.version }

// Capabilities is the capabilities object the child declared.
func (s *Session) Capabilities() json.RawMessage { return s.init.capabilities }

// ServerInfo is the serverInfo the child declared.
func (s *Session) ServerInfo() Implementation { return s.init.serverInfo }

// Instructions is the instructions string the child sent, if any.
func (s *Session) Instructions() string { return s.init.instructions }

package mcpconn

import (
	"context"
	"encoding/json"
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

// InitializeResult is the child's answer to initialize, byte for byte.
func (s *Session) InitializeResult() json.RawMessage { return s.init.raw }

// ProtocolVersion is the protocol version the child chose.
func (s *Session) ProtocolVersion() string { return s.init.version }

// Capabilities is the capabilities object the child declared.
func (s *Session) Capabilities() json.RawMessage { return s.init.capabilities }

// ServerInfo is the serverInfo the child declared.
func (s *Session) ServerInfo() Implementation { return s.init.serverInfo }

// Instructions is the instructions string the child sent, if any.
func (s *Session) Instructions() string { return s.init.instructions }

package main

import (
	"crypto/rand"
	"fmt"

	"github.com/rs/zerolog"

	"github.com/mcp-bridge/mcp-bridge/src/simhome"
)

// startDemo starts the simulated home (simhome's demo house) on a random
// loopback port with a random token, and points cfg at it. The returned
// function stops it.
func startDemo(cfg *Config, log zerolog.Logger) (stop func(), err error) {
	token := rand.Text()
	home := simhome.New(simhome.Options{Token: token, Home: simhome.DemoHome()})
	if err := home.Start("127.0.0.1:0"); err != nil {
		return nil, fmt.Errorf("starting the simulated home: %w", err)
	}
	cfg.HomeAssistant = HomeAssistantConfig{
		RESTURL:      home.RESTURL(),
		WebSocketURL: home.WebSocketURL(),
		Token:        token,
	}
	log.Warn().Str("url", home.URL()).
		Msg("DEMO MODE: serving a simulated home, not a real Home Assistant; no real device is read or changed")
	return home.Close, nil
}

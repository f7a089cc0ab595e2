// Package tools serves Home Assistant to language models as MCP tools:
// reading states, history, services and areas, calling services and
// managing automations, with exposure control over what a model may see
// and do (read-only mode, allowed domains, blocked entities, services that
// need an explicit confirmation).
//
// New builds the tools over a HomeAssistant (a *hass.Client satisfies it);
// Tools.Run keeps an in-memory index of states and registries fresh from
// Home Assistant's events so that reads on homes of 10 000 entities stay
// fast; Serve runs both for one MCP transport, which is what
// `mcp_bridge_addon stdio` does over stdin and stdout.
package tools

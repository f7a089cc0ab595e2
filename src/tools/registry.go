package tools

// addTools registers the tools the policy exposes. Names are a public
// contract: clients and prompts refer to them.
//
// Read-only mode leaves out every tool that changes Home Assistant. The
// automation tools need the automation domain exposed. render_template can
// read any entity, so it is left out whenever some entities are hidden.
func (t *Tools) addTools() {
	write := !t.pol.readOnly
	automations := t.pol.domainAllowed("automation")
	addTool(t, t.getEntitiesTool())
	addTool(t, t.getEntityStateTool())
	if write {
		addTool(t, t.callServiceTool())
	}
	addTool(t, t.getServicesTool())
	addTool(t, t.getHistoryTool())
	if write && automations {
		addTool(t, t.createAutomationTool())
	}
	if automations {
		addTool(t, t.listAutomationsTool())
	}
	if write && automations {
		addTool(t, t.toggleAutomationTool())
	}
	addTool(t, t.listAreasTool())
	if !t.pol.restricted() {
		addTool(t, t.renderTemplateTool())
	}
}

package simhome

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

func homeassistantServices() map[string]*svcDef {
	generic := func(name, desc, service string) *svcDef {
		return &svcDef{name: name, description: desc, entityDomain: "*", run: genericOnOff(service)}
	}
	return map[string]*svcDef{
		"turn_on":  generic("Generic turn on", "Generic action to turn devices on under any domain.", "turn_on"),
		"turn_off": generic("Generic turn off", "Generic action to turn devices off under any domain.", "turn_off"),
		"toggle":   generic("Generic toggle", "Generic action to toggle devices on/off under any domain.", "toggle"),
		"update_entity": {name: "Update entity", description: "Forces one or more entities to update their data.",
			entityDomain: "*", run: func(r *svcRun) *callError { return nil }},
		"reload_core_config": {name: "Reload core configuration", description: "Reloads the core configuration from the YAML-configuration.",
			run: func(r *svcRun) *callError { return nil }},
	}
}

// genericOnOff is homeassistant.turn_on/off/toggle: each entity's own
// domain service runs (cover maps to open_cover/close_cover); domains
// without it are skipped, as Home Assistant only logs a warning.
func genericOnOff(service string) func(*svcRun) *callError {
	return func(r *svcRun) *callError {
		for _, id := range r.entities {
			domain, _, _ := splitEntityID(id)
			svc := service
			if domain == "cover" {
				svc = map[string]string{"turn_on": "open_cover", "turn_off": "close_cover", "toggle": "toggle"}[service]
			}
			def, ok := catalog[domain][svc]
			if !ok || domain == "homeassistant" || def.entityDomain != domain {
				continue
			}
			sub := *r
			sub.domain, sub.service, sub.entities = domain, svc, []string{id}
			if cerr := def.run(&sub); cerr != nil {
				return cerr
			}
			r.changed = sub.changed
		}
		return nil
	}
}

func inputNumberServices() map[string]*svcDef {
	return map[string]*svcDef{
		"set_value": entitySvc("input_number", "Set", "Sets the value.", 0, inputNumberSet,
			required(numField("value", "Value", "The target value.", 0, 9223372036854775807, 0.001, "", 42))),
		"increment": entitySvc("input_number", "Increment", "Increments the value by 1 step.", 0, inputNumberStep(1)),
		"decrement": entitySvc("input_number", "Decrement", "Decrements the value by 1 step.", 0, inputNumberStep(-1)),
		"reload":    reloadSvc("input_number", "the input number configuration"),
	}
}

// inputNumberSet refuses values outside min/max with the vol.Invalid of
// InputNumber.async_set_value.
func inputNumberSet(r *svcRun, st *entityState) (string, map[string]any, *callError) {
	v, _ := r.num("value")
	return inputNumberTo(st, v)
}

func inputNumberTo(st *entityState, v float64) (string, map[string]any, *callError) {
	lo, _ := floatValue(st.Attributes["min"])
	hi, _ := floatValue(st.Attributes["max"])
	if v < lo || v > hi {
		return "", nil, invalid("Invalid value for %s: %s (range %s - %s)", st.EntityID, pyFloat(v), pyFloat(lo), pyFloat(hi))
	}
	return pyFloat(v), copyAttrs(st.Attributes), nil
}

func inputNumberStep(sign float64) applyFunc {
	return func(r *svcRun, st *entityState) (string, map[string]any, *callError) {
		cur, _ := floatValue(st.State)
		step, ok := floatValue(st.Attributes["step"])
		if !ok {
			step = 1
		}
		return inputNumberTo(st, cur+sign*step)
	}
}

func inputSelectServices() map[string]*svcDef {
	return map[string]*svcDef{
		"select_option": entitySvc("input_select", "Select", "Selects an option.", 0, inputSelectOption,
			required(textField("option", "Option", "Option to be selected.", "Item A"))),
		"select_first": entitySvc("input_select", "First", "Selects the first option.", 0, inputSelectIndex(func(int, int) int { return 0 })),
		"select_last":  entitySvc("input_select", "Last", "Selects the last option.", 0, inputSelectIndex(func(_, n int) int { return n - 1 })),
		"select_next": entitySvc("input_select", "Next", "Selects the next option.", 0,
			inputSelectIndex(func(i, n int) int { return (i + 1) % n })),
		"select_previous": entitySvc("input_select", "Previous", "Selects the previous option.", 0,
			inputSelectIndex(func(i, n int) int { return (i - 1 + n) % n })),
		"reload": reloadSvc("input_select", "the input select configuration"),
	}
}

func inputSelectOption(r *svcRun, st *entityState) (string, map[string]any, *callError) {
	opt, _ := r.str("option")
	options := stringsAttr(st, "options")
	if !slices.Contains(options, opt) {
		return "", nil, &callError{code: errServiceValidation,
			message: fmt.Sprintf("Validation error: Invalid option: %s (possible options: %s)", opt, joinComma(options)),
			tr:      &translation{Domain: "input_select", Key: "invalid_option"}}
	}
	return opt, copyAttrs(st.Attributes), nil
}

func inputSelectIndex(next func(i, n int) int) applyFunc {
	return func(r *svcRun, st *entityState) (string, map[string]any, *callError) {
		options := stringsAttr(st, "options")
		if len(options) == 0 {
			return st.State, copyAttrs(st.Attributes), nil
		}
		return options[next(slices.Index(options, st.State), len(options))], copyAttrs(st.Attributes), nil
	}
}

func automationServices() map[string]*svcDef {
	return map[string]*svcDef{
		"turn_on":  entitySvc("automation", "Turn on", "Enables an automation.", 0, setState("on")),
		"turn_off": entitySvc("automation", "Turn off", "Disables an automation.", 0, setState("off"), stopActions),
		"toggle":   entitySvc("automation", "Toggle", "Toggles (enable / disable) an automation.", 0, toggleState("on", "off")),
		"trigger": entitySvc("automation", "Trigger", "Triggers the actions of an automation.", 0, automationTrigger,
			boolField("skip_condition", "Skip conditions", "Defines whether or not the conditions will be skipped.")),
		"reload": {name: "Reload", description: "Reloads the automation configuration.",
			run: func(r *svcRun) *callError { r.w.reloadAutomationsLocked(r); return nil }},
	}
}

// automationTrigger records a run: last_triggered moves and
// automation_triggered fires. The fake does not execute the actions.
func automationTrigger(r *svcRun, st *entityState) (string, map[string]any, *callError) {
	attrs := copyAttrs(st.Attributes)
	attrs["last_triggered"] = isoTime(r.now)
	r.fire("automation_triggered", map[string]any{"name": attrs["friendly_name"], "entity_id": st.EntityID, "source": "action"})
	return st.State, attrs, nil
}

func scriptServices() map[string]*svcDef {
	run := func(r *svcRun, st *entityState) (string, map[string]any, *callError) {
		return scriptStarted(r, st), copyAttrs(st.Attributes), nil
	}
	return map[string]*svcDef{
		"turn_on":  entitySvc("script", "Turn on", "Runs the sequence of actions defined in a script.", 0, withLastTriggered(run)),
		"turn_off": entitySvc("script", "Turn off", "Stops a running script.", 0, setState("off")),
		"toggle":   entitySvc("script", "Toggle", "Starts a script if it isn't running, stops it otherwise.", 0, withLastTriggered(run)),
		"reload":   reloadSvc("script", "all the available scripts"),
	}
}

// scriptStarted fires script_started; scripts of the fake finish at once,
// so the state stays "off".
func scriptStarted(r *svcRun, st *entityState) string {
	r.fire("script_started", map[string]any{"name": st.Attributes["friendly_name"], "entity_id": st.EntityID})
	return "off"
}

func withLastTriggered(apply applyFunc) applyFunc {
	return func(r *svcRun, st *entityState) (string, map[string]any, *callError) {
		state, attrs, cerr := apply(r, st)
		if cerr == nil {
			attrs["last_triggered"] = isoTime(r.now)
		}
		return state, attrs, cerr
	}
}

// scriptRunService is script.<name>: runs the script and answers an empty
// response when asked (SupportsResponse.OPTIONAL).
func scriptRunService(entityID string) *svcDef {
	name := strings.TrimPrefix(entityID, "script.")
	return &svcDef{name: name, description: "", response: respOptional,
		run: func(r *svcRun) *callError {
			st := r.w.states[entityID]
			attrs := copyAttrs(st.Attributes)
			attrs["last_triggered"] = isoTime(r.now)
			r.set(entityID, scriptStarted(r, st), attrs)
			r.response = map[string]any{}
			return nil
		}}
}

func sceneServices() map[string]*svcDef {
	return map[string]*svcDef{
		"turn_on": {name: "Activate", description: "Activates a scene.", entityDomain: "scene",
			fields: []fieldDef{transitionField}, run: sceneActivate},
		"reload": reloadSvc("scene", "the scenes"),
	}
}

// sceneActivate reproduces each member state, then stamps the scene.
func sceneActivate(r *svcRun) *callError {
	for _, id := range r.entities {
		for _, member := range sortedMapKeys(r.w.scenes[id]) {
			st := r.w.states[member]
			if st == nil {
				continue
			}
			r.reproduce(st, r.w.scenes[id][member])
		}
		state, attrs, _ := stampState(r, r.w.states[id])
		r.set(id, state, attrs)
	}
	return nil
}

// reproduce moves an entity to a scene's target, the way the domains'
// reproduce_state calls their services: lights through turn_on/turn_off,
// other domains by state and attributes.
func (r *svcRun) reproduce(st *entityState, target map[string]any) {
	want, _ := target["state"].(string)
	data := map[string]any{}
	for k, v := range target {
		if k != "state" {
			data[k] = v
		}
	}
	sub := *r
	sub.data = data
	domain, _, _ := splitEntityID(st.EntityID)
	var state string
	var attrs map[string]any
	switch {
	case domain == "light" && want == "on":
		state, attrs, _ = lightOn(&sub, st)
	case domain == "light":
		state, attrs, _ = lightOff(&sub, st)
	case domain == "cover" && want != "":
		pos := 0.0
		if want == "open" {
			pos = 100
		}
		if p, ok := floatValue(data["current_position"]); ok {
			pos = p
		}
		state, attrs, _ = coverMove(want, pos)(&sub, st)
	default:
		state, attrs = st.State, copyAttrs(st.Attributes)
		if want != "" {
			state = want
		}
		for k, v := range data {
			attrs[k] = v
		}
	}
	r.set(st.EntityID, state, attrs)
}

func weatherServices() map[string]*svcDef {
	return map[string]*svcDef{"get_forecasts": {name: "Get forecasts", description: "Get weather forecasts.",
		entityDomain: "weather", response: respOnly,
		fields: []fieldDef{required(selectField("type", "Forecast type", "Forecast type: daily, hourly or twice daily.", "daily", "hourly", "twice_daily"))},
		run:    weatherForecasts}}
}

// weatherForecasts builds a deterministic forecast from the entity's
// current temperature and condition.
func weatherForecasts(r *svcRun) *callError {
	kind, _ := r.str("type")
	step := map[string]time.Duration{"daily": 24 * time.Hour, "hourly": time.Hour, "twice_daily": 12 * time.Hour}[kind]
	out := map[string]any{}
	for _, id := range r.entities {
		st := r.w.states[id]
		temp, _ := floatValue(st.Attributes["temperature"])
		start := r.now.Truncate(time.Hour)
		var list []any
		for i := range 5 {
			e := map[string]any{"condition": st.State, "datetime": isoTime(start.Add(time.Duration(i+1) * step)),
				"temperature": jnum(temp + float64(i%3)), "precipitation": jnum(0), "wind_speed": jnum(10 + float64(i))}
			if kind != "hourly" {
				e["templow"] = jnum(temp - 6 + float64(i%2))
			}
			if kind == "twice_daily" {
				e["is_daytime"] = i%2 == 0
			}
			list = append(list, e)
		}
		out[id] = map[string]any{"forecast": list}
	}
	r.response = out
	return nil
}

func persistentNotificationServices() map[string]*svcDef {
	return map[string]*svcDef{
		"create": {name: "Create", description: "Shows a notification on the notifications panel.",
			fields: []fieldDef{required(textField("message", "Message", "Message body of the notification.", "Please check your configuration.yaml.")),
				textField("title", "Title", "Optional title of the notification.", "Test notification"),
				textField("notification_id", "Notification ID", "ID of the notification. This new notification will overwrite an existing notification with the same ID.", "1234")},
			run: func(r *svcRun) *callError { return nil }},
		"dismiss": {name: "Dismiss", description: "Deletes a notification from the notifications panel.",
			fields: []fieldDef{required(textField("notification_id", "Notification ID", "ID of the notification to be deleted.", "1234"))},
			run:    func(r *svcRun) *callError { return nil }},
		"dismiss_all": {name: "Dismiss all", description: "Deletes all notifications from the notifications panel.",
			run: func(r *svcRun) *callError { return nil }},
	}
}

func notifyServices() map[string]*svcDef {
	legacy := func(desc string) *svcDef {
		return &svcDef{name: "Send a notification", description: desc,
			fields: []fieldDef{required(textField("message", "Message", "Message body of the notification.", "The garage door has been open for 10 minutes.")),
				textField("title", "Title", "Title for your notification.", "Your Garage Door Friend"),
				objectField("target", "Target", "Some integrations allow you to specify the targets that receive the notification.", "platform specific"),
				objectField("data", "Data", "Some integrations provide extended functionality.", "platform specific")},
			run: func(r *svcRun) *callError { return nil }}
	}
	return map[string]*svcDef{
		"notify":                  legacy("Sends a notification message using the notify service."),
		"persistent_notification": legacy("Sends a notification that is visible in the notifications panel."),
		"send_message": entitySvc("notify", "Send a notification message", "Sends a notification message.", 0, stampState,
			required(textField("message", "Message", "Your notification message.", "Hello")), textField("title", "Title", "Title for your notification message.", "Hi")),
	}
}

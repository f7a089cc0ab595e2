package simhome

import "strings"

// applyFunc computes an entity's next state for one service call.
type applyFunc func(r *svcRun, st *entityState) (string, map[string]any, *callError)

// each runs apply on every targeted entity; an entity lacking the
// supported_features bit the service needs fails the call (ServiceNotSupported).
func each(feature int, apply applyFunc) func(*svcRun) *callError {
	return func(r *svcRun) *callError {
		for _, id := range r.entities {
			st := r.w.states[id]
			if feature != 0 && intAttr(st, "supported_features")&feature == 0 {
				return validationError("service_not_supported",
					map[string]string{"entity_id": id, "domain": r.domain, "service": r.service},
					"Entity %s does not support action %s.%s", id, r.domain, r.service)
			}
			state, attrs, cerr := apply(r, st)
			if cerr != nil {
				return cerr
			}
			r.set(id, state, attrs)
		}
		return nil
	}
}

// entitySvc is a service acting on entities of its domain.
func entitySvc(domain, name, desc string, feature int, apply applyFunc, fields ...fieldDef) *svcDef {
	return &svcDef{name: name, description: desc, fields: fields, entityDomain: domain, run: each(feature, apply)}
}

// onOff returns turn_on, turn_off and toggle for a plain on/off domain.
func onOff(domain, noun string) map[string]*svcDef {
	return map[string]*svcDef{
		"turn_on":  entitySvc(domain, "Turn on", "Turns a "+noun+" on.", 0, setState("on")),
		"turn_off": entitySvc(domain, "Turn off", "Turns a "+noun+" off.", 0, setState("off")),
		"toggle":   entitySvc(domain, "Toggle", "Toggles a "+noun+" on/off.", 0, toggleState("on", "off")),
	}
}

func reloadSvc(domain, what string) *svcDef {
	return &svcDef{name: "Reload", description: "Reloads " + what + " from the YAML-configuration.",
		run: func(r *svcRun) *callError { return nil }}
}

// catalog is every service the fake knows, by domain. A domain's services
// are registered only when the house has an entity of that domain (or the
// domain is always loaded), like integrations being set up.
var catalog = map[string]map[string]*svcDef{}

// alwaysLoaded are domains Home Assistant sets up whatever the house.
var alwaysLoaded = []string{"homeassistant", "persistent_notification", "notify"}

func init() {
	catalog["homeassistant"] = homeassistantServices()
	catalog["light"] = lightServices()
	catalog["switch"] = onOff("switch", "switch")
	catalog["input_boolean"] = onOff("input_boolean", "input boolean")
	catalog["input_boolean"]["reload"] = reloadSvc("input_boolean", "the input boolean configuration")
	catalog["fan"] = fanServices()
	catalog["cover"] = coverServices()
	catalog["lock"] = lockServices()
	catalog["climate"] = climateServices()
	catalog["alarm_control_panel"] = alarmServices()
	catalog["media_player"] = mediaPlayerServices()
	catalog["input_number"] = inputNumberServices()
	catalog["input_select"] = inputSelectServices()
	catalog["automation"] = automationServices()
	catalog["script"] = scriptServices()
	catalog["scene"] = sceneServices()
	catalog["button"] = map[string]*svcDef{"press": entitySvc("button", "Press", "Press the button entity.", 0, stampState)}
	catalog["weather"] = weatherServices()
	catalog["persistent_notification"] = persistentNotificationServices()
	catalog["notify"] = notifyServices()
	catalog["person"] = map[string]*svcDef{"reload": reloadSvc("person", "persons")}
	catalog["zone"] = map[string]*svcDef{"reload": reloadSvc("zone", "zones")}
}

// serviceLocked finds a loaded service; script.<name> exists for each
// script entity.
func (w *world) serviceLocked(domain, service string) (*svcDef, bool) {
	if !w.domainLoadedLocked(domain) {
		return nil, false
	}
	if def, ok := catalog[domain][service]; ok {
		return def, true
	}
	if domain == "script" && w.states["script."+service] != nil {
		return scriptRunService("script." + service), true
	}
	return nil, false
}

func (w *world) domainLoadedLocked(domain string) bool {
	for _, d := range alwaysLoaded {
		if d == domain {
			return true
		}
	}
	prefix := domain + "."
	for _, id := range w.order {
		if strings.HasPrefix(id, prefix) {
			return true
		}
	}
	return false
}

// serviceDescriptionsLocked is get_services: domain -> service -> description.
func (w *world) serviceDescriptionsLocked() map[string]map[string]any {
	out := map[string]map[string]any{}
	for domain, services := range catalog {
		if !w.domainLoadedLocked(domain) {
			continue
		}
		out[domain] = map[string]any{}
		for name, def := range services {
			out[domain][name] = def.describe()
		}
	}
	for _, id := range w.order {
		if obj, ok := strings.CutPrefix(id, "script."); ok {
			out["script"][obj] = scriptRunService(id).describe()
		}
	}
	return out
}

package simhome

import (
	"encoding/json"
	"math"
	"regexp"
	"slices"
)

// Supported feature bits used by the services below.
const (
	coverOpen        = 1
	coverClose       = 2
	coverSetPosition = 4
	coverStop        = 8
	lockOpen         = 1
	fanSetSpeed      = 1
	fanOscillate     = 2
	fanPresetMode    = 8
)

func setState(state string) applyFunc {
	return func(r *svcRun, st *entityState) (string, map[string]any, *callError) {
		return state, copyAttrs(st.Attributes), nil
	}
}

func toggleState(on, off string) applyFunc {
	return func(r *svcRun, st *entityState) (string, map[string]any, *callError) {
		if st.State == on {
			return off, copyAttrs(st.Attributes), nil
		}
		return on, copyAttrs(st.Attributes), nil
	}
}

// stampState sets the state to the call time, as buttons and scenes do.
func stampState(r *svcRun, st *entityState) (string, map[string]any, *callError) {
	return isoTime(r.now), copyAttrs(st.Attributes), nil
}

func intAttr(st *entityState, key string) int {
	f, _ := floatValue(st.Attributes[key])
	return int(f)
}

func stringsAttr(st *entityState, key string) []string {
	l, _ := stringList(st.Attributes[key])
	return l
}

// num reads a validated number from the call data.
func (r *svcRun) num(key string) (float64, bool) {
	v, ok := r.data[key]
	if !ok {
		return 0, false
	}
	return floatValue(v)
}

func (r *svcRun) str(key string) (string, bool) {
	s, ok := r.data[key].(string)
	return s, ok
}

// jnum stores a number the way it comes back from JSON.
func jnum(f float64) json.Number { return json.Number(pyNum(f)) }

// pyFloat formats like Python's str(float): always with a fraction.
func pyFloat(f float64) string { return pyFloatRepr(f) }

func lightServices() map[string]*svcDef {
	return map[string]*svcDef{
		"turn_on": entitySvc("light", "Turn on", "Turns on one or more lights and adjusts their properties, even when they are turned on already.",
			0, lightOn, lightTurnOnFields()...),
		"turn_off": entitySvc("light", "Turn off", "Turns off one or more lights.", 0, lightOff,
			transitionField, selectField("flash", "Flash", "Tell light to flash, can be either value short or long.", "long", "short")),
		"toggle": entitySvc("light", "Toggle", "Toggles one or more lights, from on to off, or off to on, based on their current state.",
			0, func(r *svcRun, st *entityState) (string, map[string]any, *callError) {
				if st.State == "on" {
					return lightOff(r, st)
				}
				return lightOn(r, st)
			}, lightTurnOnFields()...),
	}
}

// lightVolatile are the attributes a light reports as null while off.
var lightVolatile = []string{"brightness", "color_mode", "color_temp_kelvin", "rgb_color", "hs_color", "effect"}

func lightOn(r *svcRun, st *entityState) (string, map[string]any, *callError) {
	attrs := copyAttrs(st.Attributes)
	if st.State != "on" {
		for k, v := range r.w.memory[st.EntityID] {
			attrs[k] = v
		}
	}
	modes := stringsAttr(st, "supported_color_modes")
	dimmable := len(modes) > 0 && !slices.Equal(modes, []string{"onoff"})
	if dimmable {
		bri, ok := floatValue(attrs["brightness"])
		if !ok {
			bri = 255
		}
		if v, ok := r.num("brightness"); ok {
			bri = v
		} else if v, ok := r.num("brightness_pct"); ok {
			bri = math.Round(v * 255 / 100)
		}
		if v, ok := r.num("brightness_step"); ok {
			bri += v
		} else if v, ok := r.num("brightness_step_pct"); ok {
			bri += math.Round(v * 255 / 100)
		}
		bri = math.Max(0, math.Min(255, bri))
		if bri == 0 {
			return lightOff(r, st)
		}
		attrs["brightness"] = jnum(bri)
	}
	lightColor(r, st, modes, attrs)
	if e, ok := r.str("effect"); ok && slices.Contains(stringsAttr(st, "effect_list"), e) {
		attrs["effect"] = e
	}
	return "on", attrs, nil
}

// lightColor applies color_temp_kelvin, rgb_color and hs_color, when the
// light supports them, and keeps color_mode coherent.
func lightColor(r *svcRun, st *entityState, modes []string, attrs map[string]any) {
	colorModes := []string{"hs", "rgb", "rgbw", "rgbww", "xy"}
	if k, ok := r.num("color_temp_kelvin"); ok && slices.Contains(modes, "color_temp") {
		if lo, ok := floatValue(st.Attributes["min_color_temp_kelvin"]); ok {
			k = math.Max(k, lo)
		}
		if hi, ok := floatValue(st.Attributes["max_color_temp_kelvin"]); ok {
			k = math.Min(k, hi)
		}
		attrs["color_temp_kelvin"] = jnum(math.Round(k))
		attrs["color_mode"] = "color_temp"
		attrs["rgb_color"], attrs["hs_color"] = nil, nil
	}
	for _, key := range []string{"rgb_color", "hs_color"} {
		v, ok := r.data[key]
		if !ok {
			continue
		}
		for _, m := range modes {
			if slices.Contains(colorModes, m) {
				attrs[key] = v
				attrs["color_mode"] = m
				attrs["color_temp_kelvin"] = nil
				break
			}
		}
	}
	if attrs["color_mode"] == nil && len(modes) > 0 {
		attrs["color_mode"] = modes[0]
	}
}

func lightOff(r *svcRun, st *entityState) (string, map[string]any, *callError) {
	attrs := copyAttrs(st.Attributes)
	mem := map[string]any{}
	for _, k := range lightVolatile {
		if v, ok := attrs[k]; ok {
			if v != nil {
				mem[k] = v
			}
			attrs[k] = nil
		}
	}
	if st.State == "on" {
		r.w.memory[st.EntityID] = mem
	}
	return "off", attrs, nil
}

func fanServices() map[string]*svcDef {
	pct := numField("percentage", "Percentage", "Speed of the fan.", 0, 100, 1, "%", 50)
	return map[string]*svcDef{
		"turn_on":         entitySvc("fan", "Turn on", "Turns fan on.", 0, fanSet(true), pct, textField("preset_mode", "Preset mode", "Preset fan mode.", "auto")),
		"turn_off":        entitySvc("fan", "Turn off", "Turns fan off.", 0, fanSet(false)),
		"toggle":          entitySvc("fan", "Toggle", "Toggles a fan on/off.", 0, fanSet(false)),
		"set_percentage":  entitySvc("fan", "Set speed", "Sets the speed of a fan.", fanSetSpeed, fanSet(true), required(pct)),
		"oscillate":       entitySvc("fan", "Oscillate", "Controls the oscillation of a fan.", fanOscillate, fanOscillateApply, required(boolField("oscillating", "Oscillating", "Turns oscillation on/off."))),
		"set_preset_mode": entitySvc("fan", "Set preset mode", "Sets preset fan mode.", fanPresetMode, fanSet(true), required(textField("preset_mode", "Preset mode", "Preset fan mode.", "auto"))),
	}
}

// fanSet turns a fan on with the call's speed or preset (on=true) or, for
// turn_off and toggle, off (toggle turns an off fan on).
func fanSet(on bool) applyFunc {
	return func(r *svcRun, st *entityState) (string, map[string]any, *callError) {
		attrs := copyAttrs(st.Attributes)
		if !on && (r.service == "turn_off" || st.State == "on") {
			attrs["percentage"] = jnum(0)
			return "off", attrs, nil
		}
		if p, ok := r.num("percentage"); ok {
			attrs["percentage"] = jnum(p)
			if p == 0 {
				return "off", attrs, nil
			}
		} else if pct, _ := floatValue(attrs["percentage"]); pct == 0 {
			attrs["percentage"] = jnum(100)
		}
		if pm, ok := r.str("preset_mode"); ok {
			if !slices.Contains(stringsAttr(st, "preset_modes"), pm) {
				return "", nil, &callError{code: errServiceValidation, message: "Validation error: Preset mode " + pm + " is not valid, valid preset modes are: " + joinComma(stringsAttr(st, "preset_modes")) + ".",
					tr: &translation{Domain: "fan", Key: "not_valid_preset_mode", Placeholders: map[string]string{"preset_mode": pm, "preset_modes": joinComma(stringsAttr(st, "preset_modes"))}}}
			}
			attrs["preset_mode"] = pm
		}
		return "on", attrs, nil
	}
}

func fanOscillateApply(r *svcRun, st *entityState) (string, map[string]any, *callError) {
	attrs := copyAttrs(st.Attributes)
	b, _ := boolValue(r.data["oscillating"])
	attrs["oscillating"] = b
	return st.State, attrs, nil
}

func coverServices() map[string]*svcDef {
	return map[string]*svcDef{
		"open_cover":  entitySvc("cover", "Open", "Opens a cover.", coverOpen, coverMove("open", 100)),
		"close_cover": entitySvc("cover", "Close", "Closes a cover.", coverClose, coverMove("closed", 0)),
		"stop_cover":  entitySvc("cover", "Stop", "Stops the cover movement.", coverStop, coverStopApply),
		"toggle": entitySvc("cover", "Toggle", "Toggles a cover open/closed.", coverOpen|coverClose,
			func(r *svcRun, st *entityState) (string, map[string]any, *callError) {
				if st.State == "closed" || st.State == "closing" {
					return coverMove("open", 100)(r, st)
				}
				return coverMove("closed", 0)(r, st)
			}),
		"set_cover_position": entitySvc("cover", "Set position", "Moves a cover to a specific position.", coverSetPosition,
			coverPosition, required(numField("position", "Position", "Target position.", 0, 100, 1, "%", 50))),
	}
}

// coverMove moves a cover at once; the fake has no travel time, so covers
// never stay opening or closing.
func coverMove(state string, pos float64) applyFunc {
	return func(r *svcRun, st *entityState) (string, map[string]any, *callError) {
		attrs := copyAttrs(st.Attributes)
		if _, ok := attrs["current_position"]; ok {
			attrs["current_position"] = jnum(pos)
		}
		return state, attrs, nil
	}
}

func coverPosition(r *svcRun, st *entityState) (string, map[string]any, *callError) {
	p, _ := r.num("position")
	if p == 0 {
		return coverMove("closed", 0)(r, st)
	}
	return coverMove("open", math.Round(p))(r, st)
}

func coverStopApply(r *svcRun, st *entityState) (string, map[string]any, *callError) {
	state := st.State
	if state == "opening" || state == "closing" {
		state = "open"
	}
	return state, copyAttrs(st.Attributes), nil
}

func lockServices() map[string]*svcDef {
	return map[string]*svcDef{
		"lock":   entitySvc("lock", "Lock", "Locks a lock.", 0, lockTo("locked"), lockCodeField),
		"unlock": entitySvc("lock", "Unlock", "Unlocks a lock.", 0, lockTo("unlocked"), lockCodeField),
		"open":   entitySvc("lock", "Open", "Opens a lock.", lockOpen, lockTo("open"), lockCodeField),
	}
}

// lockTo checks the code against the lock's code_format like
// LockEntity.add_default_code, then moves the lock.
func lockTo(state string) applyFunc {
	return func(r *svcRun, st *entityState) (string, map[string]any, *callError) {
		if format, ok := st.Attributes["code_format"].(string); ok && format != "" {
			code, _ := r.str("code")
			re, err := regexp.Compile("^(?:" + format + ")$")
			if err == nil && !re.MatchString(code) {
				return "", nil, &callError{code: errServiceValidation,
					message: "Validation error: The code for " + st.EntityID + " doesn't match pattern " + format + ".",
					tr: &translation{Domain: "lock", Key: "add_default_code",
						Placeholders: map[string]string{"entity_id": st.EntityID, "code_format": format}}}
			}
		}
		return state, copyAttrs(st.Attributes), nil
	}
}

func joinComma(l []string) string {
	out := ""
	for i, s := range l {
		if i > 0 {
			out += ", "
		}
		out += s
	}
	return out
}

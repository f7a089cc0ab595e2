package simhome

import (
	"fmt"
	"math"
	"slices"
)

// Supported feature bits of climate, alarm_control_panel and media_player.
const (
	climateTargetTemp      = 1
	climateTargetTempRange = 2
	climateFanMode         = 8
	climatePresetMode      = 16
	alarmArmHome           = 1
	alarmArmAway           = 2
	alarmArmNight          = 4
	alarmTrigger           = 8
	alarmArmVacation       = 32
	mediaPause             = 1
	mediaVolumeSet         = 4
	mediaVolumeMute        = 8
	mediaPreviousTrack     = 16
	mediaNextTrack         = 32
	mediaTurnOn            = 128
	mediaTurnOff           = 256
	mediaSelectSource      = 2048
	mediaStop              = 4096
	mediaPlay              = 16384
)

// DemoAlarmCode is the code the alarm panels of DemoHome accept.
const DemoAlarmCode = "1234"

func climateServices() map[string]*svcDef {
	f := climateFields()
	return map[string]*svcDef{
		"set_temperature": entitySvc("climate", "Set target temperature", "Sets the temperature setpoint.",
			climateTargetTemp|climateTargetTempRange, climateSetTemperature, f["set_temperature"]...),
		"set_hvac_mode":   entitySvc("climate", "Set HVAC mode", "Sets HVAC operation mode.", 0, climateSetHVAC, f["set_hvac_mode"]...),
		"set_preset_mode": entitySvc("climate", "Set preset mode", "Sets preset mode.", climatePresetMode, climateSetMode("preset_mode", "preset_modes", "preset"), f["set_preset_mode"]...),
		"set_fan_mode":    entitySvc("climate", "Set fan mode", "Sets fan operation mode.", climateFanMode, climateSetMode("fan_mode", "fan_modes", "fan"), f["set_fan_mode"]...),
		"turn_on":         entitySvc("climate", "Turn on", "Turns climate device on.", 0, climateTurnOn),
		"turn_off":        entitySvc("climate", "Turn off", "Turns climate device off.", 0, setState("off")),
		"toggle": entitySvc("climate", "Toggle", "Toggles climate device, from on to off, or off to on.", 0,
			func(r *svcRun, st *entityState) (string, map[string]any, *callError) {
				if st.State == "off" {
					return climateTurnOn(r, st)
				}
				return "off", copyAttrs(st.Attributes), nil
			}),
	}
}

func climateSetTemperature(r *svcRun, st *entityState) (string, map[string]any, *callError) {
	attrs := copyAttrs(st.Attributes)
	lo, _ := floatValue(st.Attributes["min_temp"])
	hi, hok := floatValue(st.Attributes["max_temp"])
	if !hok {
		hi = 35
	}
	state := st.State
	if mode, ok := r.str("hvac_mode"); ok {
		if cerr := checkHVAC(st, mode); cerr != nil {
			return "", nil, cerr
		}
		state = mode
	}
	for _, key := range []string{"temperature", "target_temp_low", "target_temp_high"} {
		t, ok := r.num(key)
		if !ok {
			continue
		}
		if t < lo || t > hi {
			ph := map[string]string{"check_temp": pyFloat(t), "min_temp": pyFloat(lo), "max_temp": pyFloat(hi)}
			return "", nil, &callError{code: errServiceValidation,
				message: fmt.Sprintf("Validation error: Provided temperature %s is not valid. Accepted range is %s to %s.", ph["check_temp"], ph["min_temp"], ph["max_temp"]),
				tr:      &translation{Domain: "climate", Key: "temp_out_of_range", Placeholders: ph}}
		}
		attrs[key] = jnum(math.Round(t*10) / 10)
	}
	return state, attrs, nil
}

func checkHVAC(st *entityState, mode string) *callError {
	modes := stringsAttr(st, "hvac_modes")
	if slices.Contains(modes, mode) {
		return nil
	}
	ph := map[string]string{"mode": mode, "modes": joinComma(modes)}
	return &callError{code: errServiceValidation,
		message: fmt.Sprintf("Validation error: HVAC mode %s is not valid. Valid HVAC modes are: %s.", mode, ph["modes"]),
		tr:      &translation{Domain: "climate", Key: "not_valid_hvac_mode", Placeholders: ph}}
}

func climateSetHVAC(r *svcRun, st *entityState) (string, map[string]any, *callError) {
	mode, _ := r.str("hvac_mode")
	if cerr := checkHVAC(st, mode); cerr != nil {
		return "", nil, cerr
	}
	return mode, copyAttrs(st.Attributes), nil
}

func climateTurnOn(r *svcRun, st *entityState) (string, map[string]any, *callError) {
	if st.State != "off" {
		return st.State, copyAttrs(st.Attributes), nil
	}
	for _, m := range stringsAttr(st, "hvac_modes") {
		if m != "off" {
			return m, copyAttrs(st.Attributes), nil
		}
	}
	return st.State, copyAttrs(st.Attributes), nil
}

// climateSetMode sets fan_mode or preset_mode, checked against the list
// the entity advertises (ClimateEntity._valid_mode_or_raise).
func climateSetMode(attr, listAttr, noun string) applyFunc {
	return func(r *svcRun, st *entityState) (string, map[string]any, *callError) {
		mode, _ := r.str(attr)
		modes := stringsAttr(st, listAttr)
		if !slices.Contains(modes, mode) {
			ph := map[string]string{"mode": mode, "modes": joinComma(modes)}
			return "", nil, &callError{code: errServiceValidation,
				message: fmt.Sprintf("Validation error: %s mode %s is not valid. Valid %s modes are: %s.", capitalize(noun), mode, noun, ph["modes"]),
				tr:      &translation{Domain: "climate", Key: "not_valid_" + noun + "_mode", Placeholders: ph}}
		}
		attrs := copyAttrs(st.Attributes)
		attrs[attr] = mode
		return st.State, attrs, nil
	}
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return string(s[0]-'a'+'A') + s[1:]
}

func alarmServices() map[string]*svcDef {
	svc := func(name, desc string, feature int, state string) *svcDef {
		return entitySvc("alarm_control_panel", name, desc, feature, alarmTo(state), codeField)
	}
	return map[string]*svcDef{
		"alarm_disarm":       svc("Disarm", "Disarms the alarm.", 0, "disarmed"),
		"alarm_arm_home":     svc("Arm home", "Arms the alarm in the home mode.", alarmArmHome, "armed_home"),
		"alarm_arm_away":     svc("Arm away", "Arms the alarm in the away mode.", alarmArmAway, "armed_away"),
		"alarm_arm_night":    svc("Arm night", "Arms the alarm in the night mode.", alarmArmNight, "armed_night"),
		"alarm_arm_vacation": svc("Arm vacation", "Arms the alarm in the vacation mode.", alarmArmVacation, "armed_vacation"),
		"alarm_trigger":      svc("Trigger", "Triggers the alarm manually.", alarmTrigger, "triggered"),
	}
}

// alarmTo checks the code like AlarmControlPanelEntity.check_code_arm_required
// and the manual integration's code check, then changes the state.
func alarmTo(state string) applyFunc {
	return func(r *svcRun, st *entityState) (string, map[string]any, *callError) {
		code, hasCode := r.str("code")
		needsCode := st.Attributes["code_format"] != nil
		armRequired, _ := st.Attributes["code_arm_required"].(bool)
		if needsCode && !hasCode && (state == "disarmed" || armRequired) {
			return "", nil, &callError{code: errServiceValidation,
				message: "Validation error: Arming requires a code but none was given for " + st.EntityID,
				tr:      &translation{Domain: "alarm_control_panel", Key: "code_arm_required", Placeholders: map[string]string{"entity_id": st.EntityID}}}
		}
		if needsCode && hasCode && code != DemoAlarmCode {
			return "", nil, &callError{code: errServiceValidation, message: "Validation error: Invalid alarm code provided",
				tr: &translation{Domain: "manual", Key: "invalid_code"}}
		}
		attrs := copyAttrs(st.Attributes)
		if state != "disarmed" && state != "triggered" {
			attrs["changed_by"] = nil
		}
		return state, attrs, nil
	}
}

func mediaPlayerServices() map[string]*svcDef {
	to := func(name, desc string, feature int, state string) *svcDef {
		return entitySvc("media_player", name, desc, feature, setState(state))
	}
	return map[string]*svcDef{
		"turn_on":     to("Turn on", "Turns on the power of the media player.", mediaTurnOn, "on"),
		"turn_off":    to("Turn off", "Turns off the power of the media player.", mediaTurnOff, "off"),
		"toggle":      entitySvc("media_player", "Toggle", "Toggles a media player on/off.", mediaTurnOn|mediaTurnOff, toggleState("on", "off")),
		"media_play":  to("Play", "Starts playing.", mediaPlay, "playing"),
		"media_pause": to("Pause", "Pauses.", mediaPause, "paused"),
		"media_stop":  to("Stop", "Stops playing.", mediaStop, "idle"),
		"media_play_pause": entitySvc("media_player", "Play/Pause", "Toggles play/pause.", mediaPlay|mediaPause,
			toggleState("playing", "paused")),
		"media_next_track":     to("Next", "Selects the next track.", mediaNextTrack, "playing"),
		"media_previous_track": to("Previous", "Selects the previous track.", mediaPreviousTrack, "playing"),
		"volume_set": entitySvc("media_player", "Set volume", "Sets the volume level.", mediaVolumeSet,
			setAttr("volume_level", "volume_level"), required(numField("volume_level", "Level", "The volume. 0 is inaudible, 1 is the maximum volume.", 0, 1, 0.01, "", 0.6))),
		"volume_mute": entitySvc("media_player", "Mute/unmute volume", "Mutes or unmutes the media player.", mediaVolumeMute,
			setAttr("is_volume_muted", "is_volume_muted"), required(boolField("is_volume_muted", "Muted", "Defines whether or not it is muted."))),
		"select_source": entitySvc("media_player", "Select source", "Sends the media player the command to change input source.", mediaSelectSource,
			selectSource, required(textField("source", "Source", "Name of the source to switch to. Platform dependent.", "video1"))),
	}
}

// setAttr copies one call field into one attribute.
func setAttr(field, attr string) applyFunc {
	return func(r *svcRun, st *entityState) (string, map[string]any, *callError) {
		attrs := copyAttrs(st.Attributes)
		v := r.data[field]
		if b, ok := boolValue(v); ok && attr == "is_volume_muted" {
			v = b
		}
		attrs[attr] = v
		return st.State, attrs, nil
	}
}

func selectSource(r *svcRun, st *entityState) (string, map[string]any, *callError) {
	src, _ := r.str("source")
	if list := stringsAttr(st, "source_list"); len(list) > 0 && !slices.Contains(list, src) {
		return "", nil, &callError{code: errServiceValidation,
			message: "Validation error: Source " + src + " is not valid for " + st.EntityID + ". Valid sources are: " + joinComma(list) + ".",
			tr:      &translation{Domain: "media_player", Key: "invalid_source"}}
	}
	attrs := copyAttrs(st.Attributes)
	attrs["source"] = src
	return st.State, attrs, nil
}

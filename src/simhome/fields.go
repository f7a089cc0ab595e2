package simhome

// Field constructors for the service catalog. The names, descriptions and
// selectors follow the services.yaml and strings.json of each integration.

func numField(key, name, desc string, min, max, step float64, unit string, example any) fieldDef {
	sel := map[string]any{"min": min, "max": max, "step": step, "mode": "slider"}
	if unit != "" {
		sel["unit_of_measurement"] = unit
	}
	return fieldDef{key: key, name: name, desc: desc, example: example, selector: map[string]any{"number": sel}}
}

func boolField(key, name, desc string) fieldDef {
	return fieldDef{key: key, name: name, desc: desc, selector: map[string]any{"boolean": map[string]any{}}}
}

func textField(key, name, desc string, example any) fieldDef {
	return fieldDef{key: key, name: name, desc: desc, example: example, selector: map[string]any{"text": map[string]any{}}}
}

func selectField(key, name, desc string, options ...string) fieldDef {
	return fieldDef{key: key, name: name, desc: desc, example: options[0],
		selector: map[string]any{"select": map[string]any{"options": options}}}
}

func objectField(key, name, desc string, example any) fieldDef {
	return fieldDef{key: key, name: name, desc: desc, example: example, selector: map[string]any{"object": map[string]any{}}}
}

func required(f fieldDef) fieldDef {
	f.required = true
	return f
}

// Fields shared by several services.
var (
	transitionField = numField("transition", "Transition", "Duration it takes to get to next state.", 0, 300, 1, "seconds", 60)
	codeField       = textField("code", "Code", "Code to arm or disarm the alarm.", "1234")
	lockCodeField   = textField("code", "Code", "Code used to lock the lock.", "1234")
	stopActions     = boolField("stop_actions", "Stop actions", "Stops currently running actions.")
)

func lightTurnOnFields() []fieldDef {
	return []fieldDef{
		transitionField,
		numField("brightness", "Brightness value", "Number indicating brightness, where 0 turns the light off, 1 is the minimum brightness, and 255 is the maximum brightness.", 0, 255, 1, "", 120),
		numField("brightness_pct", "Brightness", "Number indicating the percentage of full brightness, where 0 turns the light off, 1 is the minimum brightness, and 100 is the maximum brightness.", 0, 100, 1, "%", 47),
		numField("brightness_step", "Brightness step value", "Change brightness by an amount.", -225, 255, 1, "", -25),
		numField("brightness_step_pct", "Brightness step", "Change brightness by a percentage.", -100, 100, 1, "%", 10),
		{key: "color_temp_kelvin", name: "Color temperature", desc: "Color temperature in Kelvin.", example: 4000,
			selector: map[string]any{"color_temp": map[string]any{"unit": "kelvin", "min": 2000, "max": 6500}}},
		{key: "rgb_color", name: "Color", desc: "The color in RGB format. A list of three integers between 0 and 255 representing the values of red, green, and blue.",
			example: []any{255, 100, 100}, selector: map[string]any{"color_rgb": map[string]any{}}},
		{key: "hs_color", name: "Hue/Sat color", desc: "Color in hue/sat format. A list of two integers. Hue is 0-360 and Sat is 0-100.",
			example: []any{300, 70}, selector: map[string]any{"object": map[string]any{}}},
		textField("effect", "Effect", "Light effect.", "rainbow"),
		selectField("flash", "Flash", "Tell light to flash, can be either value short or long.", "long", "short"),
	}
}

func climateFields() map[string][]fieldDef {
	return map[string][]fieldDef{
		"set_temperature": {
			numField("temperature", "Target temperature", "The temperature setpoint.", 0, 250, 0.1, "°", 21),
			numField("target_temp_high", "Upper target temperature", "The max temperature setpoint.", 0, 250, 0.1, "°", 24),
			numField("target_temp_low", "Lower target temperature", "The min temperature setpoint.", 0, 250, 0.1, "°", 17),
			selectField("hvac_mode", "HVAC mode", "HVAC operation mode.", "off", "auto", "cool", "dry", "fan_only", "heat_cool", "heat"),
		},
		"set_hvac_mode": {{key: "hvac_mode", name: "HVAC mode", desc: "HVAC operation mode.", example: "heat",
			selector: map[string]any{"state": map[string]any{"attribute": "hvac_modes"}}}},
		"set_preset_mode": {required(textField("preset_mode", "Preset mode", "Preset mode.", "away"))},
		"set_fan_mode":    {required(textField("fan_mode", "Fan mode", "Fan operation mode.", "low"))},
	}
}

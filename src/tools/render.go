package tools

import (
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strings"
)

// keyAttributes are the attributes that matter per domain, kept in the
// compact rows of list answers. "brightness" is turned into brightness_pct
// and "unit_of_measurement" into unit.
var keyAttributes = map[string][]string{
	"light":         {"brightness", "color_temp_kelvin", "color_mode"},
	"climate":       {"current_temperature", "temperature", "target_temp_low", "target_temp_high", "hvac_action", "preset_mode"},
	"sensor":        {"unit_of_measurement", "device_class"},
	"binary_sensor": {"device_class"},
	"cover":         {"current_position", "device_class"},
	"valve":         {"current_position"},
	"fan":           {"percentage", "preset_mode"},
	"media_player":  {"media_title", "media_artist", "volume_level", "source"},
	"water_heater":  {"current_temperature", "temperature", "operation_mode"},
	"humidifier":    {"current_humidity", "humidity", "mode"},
	"weather":       {"temperature", "humidity", "temperature_unit"},
	"vacuum":        {"battery_level"},
	"number":        {"unit_of_measurement"},
	"input_number":  {"unit_of_measurement"},
	"automation":    {"last_triggered"},
	"script":        {"last_triggered"},
	"timer":         {"remaining"},
	"update":        {"installed_version", "latest_version"},
	"sun":           {"next_rising", "next_setting"},
	"device_tracker": {
		"source_type",
	},
}

// maxAttrText bounds one attribute value in compact rows.
const maxAttrText = 120

// compactAttributes picks the attributes that matter for the entity's
// domain, renamed for clarity and shortened.
func compactAttributes(id string, attrs map[string]any) map[string]any {
	domain, _, _ := strings.Cut(id, ".")
	keys := keyAttributes[domain]
	if len(keys) == 0 {
		return nil
	}
	out := make(map[string]any, len(keys))
	for _, k := range keys {
		v, ok := attrs[k]
		if !ok || v == nil {
			continue
		}
		switch k {
		case "brightness":
			if f, ok := v.(float64); ok {
				out["brightness_pct"] = math.Round(f / 255 * 100)
			}
		case "unit_of_measurement":
			out["unit"] = v
		default:
			out[k] = shortValue(v)
		}
	}
	if len(out) == 0 {
		return nil
	}
	return out
}

// shortValue keeps scalars and replaces long strings and big structures.
func shortValue(v any) any {
	switch x := v.(type) {
	case string:
		return truncate(x, maxAttrText)
	case map[string]any, []any:
		b, _ := json.Marshal(x)
		if len(b) > maxAttrText {
			return fmt.Sprintf("<%s of %d bytes>", strings.TrimPrefix(jsonKind(x), "a "), len(b))
		}
	}
	return v
}

// formatAttrs renders attributes as sorted "k=v" pairs for text answers.
func formatAttrs(attrs map[string]any) string {
	if len(attrs) == 0 {
		return ""
	}
	keys := make([]string, 0, len(attrs))
	for k := range attrs {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	for i, k := range keys {
		if i > 0 {
			b.WriteByte(' ')
		}
		b.WriteString(k)
		b.WriteByte('=')
		b.WriteString(formatValue(attrs[k]))
	}
	return b.String()
}

// formatValue renders one value compactly: strings bare, others as JSON.
func formatValue(v any) string {
	if s, ok := v.(string); ok {
		if strings.ContainsAny(s, " \t\n\"=") || s == "" {
			b, _ := json.Marshal(s)
			return string(b)
		}
		return s
	}
	b, err := json.Marshal(v)
	if err != nil {
		return fmt.Sprint(v)
	}
	return string(b)
}

// pageFit counts how many items fit in budget bytes, given each item's
// size; at least one item is kept so a page is never empty.
func pageFit(n, budget int, size func(i int) int) int {
	used := 0
	for i := range n {
		used += size(i) + 1
		if used > budget && i > 0 {
			return i
		}
	}
	return n
}

// jsonSize is the encoded size of v.
func jsonSize(v any) int {
	b, err := json.Marshal(v)
	if err != nil {
		return 0
	}
	return len(b)
}

package simhome

import (
	"fmt"
)

// DemoHome returns a believable house: two floors, six areas, ~45 entities
// with the attributes their integrations report, two automations, a
// script and a scene. The alarm panel accepts DemoAlarmCode.
func DemoHome() *Home {
	h := &Home{
		LocationName: "Home",
		TimeZone:     "Europe/Paris",
		Floors: []Floor{
			{ID: "ground_floor", Name: "Ground floor", Level: 0, Icon: "mdi:home-floor-0"},
			{ID: "first_floor", Name: "First floor", Level: 1, Icon: "mdi:home-floor-1"},
		},
		Areas: []Area{
			{ID: "living_room", Name: "Living Room", FloorID: "ground_floor", Icon: "mdi:sofa", Aliases: []string{"lounge"}},
			{ID: "kitchen", Name: "Kitchen", FloorID: "ground_floor", Icon: "mdi:stove"},
			{ID: "garage", Name: "Garage", FloorID: "ground_floor", Icon: "mdi:garage"},
			{ID: "garden", Name: "Garden", Icon: "mdi:flower"},
			{ID: "bedroom", Name: "Bedroom", FloorID: "first_floor", Icon: "mdi:bed"},
			{ID: "office", Name: "Office", FloorID: "first_floor", Icon: "mdi:desk"},
		},
		Devices:     demoDevices(),
		Automations: demoAutomations(),
		Scenes: map[string]map[string]map[string]any{"scene.movie_night": {
			"light.living_room_ceiling":    {"state": "on", "brightness": 40, "color_temp_kelvin": 2700},
			"light.living_room_floor_lamp": {"state": "off"},
			"cover.living_room_blinds":     {"state": "closed", "current_position": 0},
		}},
	}
	for _, group := range [][]Entity{demoLights(), demoSwitchesAndCovers(), demoSensors(), demoClimateAndMedia(), demoHelpers()} {
		h.Entities = append(h.Entities, group...)
	}
	return h
}

func demoDevices() []Device {
	return []Device{
		{ID: stableHex("dev:living_hue"), Name: "Living Room Ceiling", AreaID: "living_room", Manufacturer: "Signify Netherlands B.V.", Model: "Hue White and Color Ambiance", SWVersion: "1.122.2", Integration: "hue"},
		{ID: stableHex("dev:kitchen_hue"), Name: "Kitchen Spots", AreaID: "kitchen", Manufacturer: "Signify Netherlands B.V.", Model: "Hue White Ambiance", SWVersion: "1.122.2", Integration: "hue"},
		{ID: stableHex("dev:bedroom_lamp"), Name: "Bedside Lamp", AreaID: "bedroom", Manufacturer: "IKEA of Sweden", Model: "TRADFRI bulb E27 WS opal 980lm", Integration: "zha"},
		{ID: stableHex("dev:thermostat"), Name: "Living Room Thermostat", AreaID: "living_room", Manufacturer: "Netatmo", Model: "Smart Thermostat", Integration: "netatmo"},
		{ID: stableHex("dev:front_door"), Name: "Front Door Lock", AreaID: "living_room", Manufacturer: "Nuki", Model: "Smart Lock 3.0 Pro", Integration: "nuki"},
		{ID: stableHex("dev:garage_door"), Name: "Garage Door", AreaID: "garage", Manufacturer: "Meross", Model: "MSG100", Integration: "meross_lan"},
		{ID: stableHex("dev:kitchen_climate"), Name: "Kitchen Sensor", AreaID: "kitchen", Manufacturer: "Xiaomi", Model: "LYWSD03MMC", Integration: "xiaomi_ble"},
		{ID: stableHex("dev:bedroom_climate"), Name: "Bedroom Sensor", AreaID: "bedroom", Manufacturer: "Aqara", Model: "WSDCGQ11LM", Integration: "zha"},
		{ID: stableHex("dev:tv"), Name: "Living Room TV", AreaID: "living_room", Manufacturer: "LG", Model: "OLED55C1", Integration: "webostv"},
		{ID: stableHex("dev:alarm"), Name: "Home Alarm", AreaID: "living_room", Manufacturer: "Home Assistant", Model: "Manual alarm", Integration: "manual"},
	}
}

func dev(name string) string { return stableHex("dev:" + name) }

func demoLights() []Entity {
	color := func(name string, bri int, kelvin int) map[string]any {
		return map[string]any{"friendly_name": name, "supported_color_modes": []string{"color_temp", "xy"},
			"color_mode": "color_temp", "brightness": bri, "color_temp_kelvin": kelvin, "min_color_temp_kelvin": 2202,
			"max_color_temp_kelvin": 6535, "rgb_color": nil, "hs_color": nil, "effect_list": []string{"None", "candle", "fire"},
			"effect": nil, "supported_features": 44}
	}
	off := func(name string, modes ...string) map[string]any {
		return map[string]any{"friendly_name": name, "supported_color_modes": modes, "color_mode": nil,
			"brightness": nil, "supported_features": 32}
	}
	return []Entity{
		{ID: "light.living_room_ceiling", State: "on", Attributes: color("Living Room Ceiling", 180, 3000), DeviceID: dev("living_hue"), Platform: "hue"},
		{ID: "light.living_room_floor_lamp", State: "off", Attributes: off("Living Room Floor Lamp", "brightness"), AreaID: "living_room", Platform: "zha"},
		{ID: "light.kitchen_spots", State: "off", Attributes: off("Kitchen Spots", "color_temp"), DeviceID: dev("kitchen_hue"), Platform: "hue"},
		{ID: "light.kitchen_counter", State: "on", Attributes: map[string]any{"friendly_name": "Kitchen Counter", "supported_color_modes": []string{"brightness"}, "color_mode": "brightness", "brightness": 255, "supported_features": 0}, AreaID: "kitchen", Platform: "zha"},
		{ID: "light.bedroom_lamp", State: "off", Attributes: off("Bedside Lamp", "color_temp"), DeviceID: dev("bedroom_lamp"), Platform: "zha"},
		{ID: "light.office_desk", State: "on", Attributes: color("Office Desk", 200, 4000), AreaID: "office", Platform: "hue"},
		{ID: "light.garden_path", State: "off", Attributes: map[string]any{"friendly_name": "Garden Path", "supported_color_modes": []string{"onoff"}, "color_mode": nil, "supported_features": 0}, AreaID: "garden", Platform: "shelly"},
		{ID: "light.garage", State: "off", Attributes: map[string]any{"friendly_name": "Garage Light", "supported_color_modes": []string{"onoff"}, "color_mode": nil, "supported_features": 0}, AreaID: "garage", Platform: "shelly"},
	}
}

func demoSwitchesAndCovers() []Entity {
	return []Entity{
		{ID: "switch.coffee_machine", State: "off", Attributes: map[string]any{"friendly_name": "Coffee Machine", "device_class": "outlet"}, AreaID: "kitchen", Platform: "shelly"},
		{ID: "switch.garden_irrigation", State: "off", Attributes: map[string]any{"friendly_name": "Garden Irrigation", "icon": "mdi:sprinkler"}, AreaID: "garden", Platform: "shelly"},
		{ID: "switch.office_monitor", State: "on", Attributes: map[string]any{"friendly_name": "Office Monitor Plug", "device_class": "outlet"}, AreaID: "office", Platform: "tplink"},
		{ID: "fan.bedroom_fan", State: "off", Attributes: map[string]any{"friendly_name": "Bedroom Fan", "percentage": 0, "percentage_step": 33.333333333333336, "preset_mode": nil, "preset_modes": []string{"auto", "sleep"}, "oscillating": false, "supported_features": 59}, AreaID: "bedroom", Platform: "tuya"},
		{ID: "cover.garage_door", State: "closed", Attributes: map[string]any{"friendly_name": "Garage Door", "device_class": "garage", "supported_features": 11}, DeviceID: dev("garage_door"), Platform: "meross_lan"},
		{ID: "cover.living_room_blinds", State: "open", Attributes: map[string]any{"friendly_name": "Living Room Blinds", "device_class": "blind", "current_position": 100, "supported_features": 15}, AreaID: "living_room", Platform: "somfy"},
		{ID: "cover.bedroom_shutter", State: "closed", Attributes: map[string]any{"friendly_name": "Bedroom Shutter", "device_class": "shutter", "current_position": 0, "supported_features": 15}, AreaID: "bedroom", Platform: "somfy"},
		{ID: "lock.front_door", State: "locked", Attributes: map[string]any{"friendly_name": "Front Door", "supported_features": 1}, DeviceID: dev("front_door"), Platform: "nuki"},
		{ID: "lock.garden_gate", State: "locked", Attributes: map[string]any{"friendly_name": "Garden Gate", "supported_features": 0}, AreaID: "garden", Platform: "nuki"},
		{ID: "alarm_control_panel.home_alarm", State: "disarmed", Attributes: map[string]any{"friendly_name": "Home Alarm", "code_format": "number", "changed_by": nil, "code_arm_required": false, "supported_features": 63}, DeviceID: dev("alarm"), Platform: "manual"},
	}
}

func demoSensors() []Entity {
	temp := func(name string, v float64) map[string]any {
		return map[string]any{"friendly_name": name, "state_class": "measurement", "unit_of_measurement": "°C", "device_class": "temperature"}
	}
	hum := func(name string) map[string]any {
		return map[string]any{"friendly_name": name, "state_class": "measurement", "unit_of_measurement": "%", "device_class": "humidity"}
	}
	bin := func(name, class string) map[string]any {
		return map[string]any{"friendly_name": name, "device_class": class}
	}
	return []Entity{
		{ID: "sensor.living_room_temperature", State: "21.4", Attributes: temp("Living Room Temperature", 21.4), DeviceID: dev("thermostat"), Platform: "netatmo"},
		{ID: "sensor.kitchen_temperature", State: "22.8", Attributes: temp("Kitchen Temperature", 22.8), DeviceID: dev("kitchen_climate"), Platform: "xiaomi_ble"},
		{ID: "sensor.kitchen_humidity", State: "48", Attributes: hum("Kitchen Humidity"), DeviceID: dev("kitchen_climate"), Platform: "xiaomi_ble"},
		{ID: "sensor.bedroom_temperature", State: "19.6", Attributes: temp("Bedroom Temperature", 19.6), DeviceID: dev("bedroom_climate"), Platform: "zha"},
		{ID: "sensor.bedroom_humidity", State: "52", Attributes: hum("Bedroom Humidity"), DeviceID: dev("bedroom_climate"), Platform: "zha"},
		{ID: "sensor.outdoor_temperature", State: "12.3", Attributes: temp("Outdoor Temperature", 12.3), AreaID: "garden", Platform: "netatmo"},
		{ID: "sensor.power_consumption", State: "431.7", Attributes: map[string]any{"friendly_name": "Power Consumption", "state_class": "measurement", "unit_of_measurement": "W", "device_class": "power"}, Platform: "shelly"},
		{ID: "sensor.energy_today", State: "7.42", Attributes: map[string]any{"friendly_name": "Energy Today", "state_class": "total_increasing", "unit_of_measurement": "kWh", "device_class": "energy"}, Platform: "shelly"},
		{ID: "binary_sensor.front_door_contact", State: "off", Attributes: bin("Front Door Contact", "door"), DeviceID: dev("front_door"), Platform: "nuki"},
		{ID: "binary_sensor.living_room_motion", State: "off", Attributes: bin("Living Room Motion", "motion"), AreaID: "living_room", Platform: "zha"},
		{ID: "binary_sensor.garage_motion", State: "off", Attributes: bin("Garage Motion", "motion"), AreaID: "garage", Platform: "zha"},
		{ID: "binary_sensor.kitchen_window", State: "on", Attributes: bin("Kitchen Window", "window"), AreaID: "kitchen", Platform: "zha"},
		{ID: "binary_sensor.washing_machine_running", State: "off", Attributes: bin("Washing Machine Running", "running"), AreaID: "garage", Platform: "shelly"},
		{ID: "weather.home", State: "partlycloudy", Attributes: map[string]any{"friendly_name": "Home", "temperature": 12.3, "temperature_unit": "°C", "humidity": 71, "pressure": 1016.2, "pressure_unit": "hPa", "wind_speed": 14.4, "wind_speed_unit": "km/h", "wind_bearing": 225, "visibility_unit": "km", "precipitation_unit": "mm", "attribution": "Weather forecast from met.no, delivered by the Norwegian Meteorological Institute.", "supported_features": 3}, Platform: "met"},
		{ID: "person.alice", State: "home", Attributes: map[string]any{"friendly_name": "Alice", "id": "alice", "user_id": stableHex("user:alice"), "device_trackers": []string{"device_tracker.alice_phone"}, "source": "device_tracker.alice_phone", "latitude": 48.8566, "longitude": 2.3522, "gps_accuracy": 12}, Platform: "person"},
		{ID: "person.bob", State: "not_home", Attributes: map[string]any{"friendly_name": "Bob", "id": "bob", "user_id": stableHex("user:bob"), "device_trackers": []string{}}, Platform: "person"},
		{ID: "sun.sun", State: "above_horizon", Attributes: map[string]any{"friendly_name": "Sun", "next_dawn": "2026-11-21T06:51:10.123456+00:00", "next_dusk": "2026-11-20T16:36:40.654321+00:00", "elevation": 18.3, "azimuth": 201.5, "rising": false}, Platform: "sun"},
		{ID: "zone.home", State: "1", Attributes: map[string]any{"friendly_name": "Home", "latitude": 48.8566, "longitude": 2.3522, "radius": 100, "passive": false, "persons": []string{"person.alice"}, "editable": true, "icon": "mdi:home"}, NoRegistry: true},
	}
}

func demoClimateAndMedia() []Entity {
	return []Entity{
		{ID: "climate.living_room", State: "heat", Attributes: map[string]any{"friendly_name": "Living Room Thermostat", "hvac_modes": []string{"off", "heat", "auto"}, "min_temp": 7, "max_temp": 30, "target_temp_step": 0.5, "preset_modes": []string{"none", "away", "eco", "comfort"}, "preset_mode": "comfort", "current_temperature": 21.4, "temperature": 21.5, "hvac_action": "heating", "supported_features": 401}, DeviceID: dev("thermostat"), Platform: "netatmo"},
		{ID: "media_player.living_room_tv", State: "off", Attributes: map[string]any{"friendly_name": "Living Room TV", "device_class": "tv", "source_list": []string{"HDMI 1", "HDMI 2", "Live TV", "Netflix", "YouTube"}, "supported_features": 24509, "volume_level": 0.18, "is_volume_muted": false}, DeviceID: dev("tv"), Platform: "webostv"},
		{ID: "media_player.kitchen_speaker", State: "idle", Attributes: map[string]any{"friendly_name": "Kitchen Speaker", "device_class": "speaker", "volume_level": 0.35, "is_volume_muted": false, "supported_features": 152509}, AreaID: "kitchen", Platform: "cast"},
		{ID: "button.restart_router", State: "unknown", Attributes: map[string]any{"friendly_name": "Restart Router", "device_class": "restart"}, AreaID: "office", Platform: "fritz"},
	}
}

func demoHelpers() []Entity {
	return []Entity{
		{ID: "input_boolean.guest_mode", State: "off", Attributes: map[string]any{"friendly_name": "Guest Mode", "editable": true, "icon": "mdi:account-multiple"}},
		{ID: "input_boolean.vacation_mode", State: "off", Attributes: map[string]any{"friendly_name": "Vacation Mode", "editable": true}},
		{ID: "input_number.target_humidity", State: "50.0", Attributes: map[string]any{"friendly_name": "Target Humidity", "initial": nil, "editable": true, "min": 30.0, "max": 70.0, "step": 1.0, "mode": "slider", "unit_of_measurement": "%"}},
		{ID: "input_select.house_mode", State: "Home", Attributes: map[string]any{"friendly_name": "House Mode", "options": []string{"Home", "Away", "Night", "Vacation"}, "editable": true}},
		{ID: "automation.morning_lights", State: "on", Attributes: map[string]any{"id": "1700000000001", "last_triggered": nil, "mode": "single", "current": 0, "friendly_name": "Morning lights"}, Platform: "automation"},
		{ID: "automation.garage_door_left_open", State: "on", Attributes: map[string]any{"id": "1700000000002", "last_triggered": "2026-11-19T18:02:11.402131+00:00", "mode": "single", "current": 0, "friendly_name": "Garage door left open"}, Platform: "automation"},
		{ID: "script.good_night", State: "off", Attributes: map[string]any{"last_triggered": nil, "mode": "single", "current": 0, "friendly_name": "Good night"}, Platform: "script"},
		{ID: "scene.movie_night", State: "unknown", Attributes: map[string]any{"id": "1700000000101", "entity_id": []string{"light.living_room_ceiling", "light.living_room_floor_lamp", "cover.living_room_blinds"}, "friendly_name": "Movie night"}, AreaID: "living_room", Platform: "homeassistant"},
		{ID: "notify.alice_phone", State: "unknown", Attributes: map[string]any{"friendly_name": "Alice phone", "supported_features": 1}, Platform: "mobile_app"},
	}
}

func demoAutomations() []map[string]any {
	return []map[string]any{
		{"id": "1700000000001", "alias": "Morning lights", "description": "Kitchen lights at 7 on weekdays",
			"triggers":   []any{map[string]any{"trigger": "time", "at": "07:00:00"}},
			"conditions": []any{map[string]any{"condition": "time", "weekday": []any{"mon", "tue", "wed", "thu", "fri"}}},
			"actions":    []any{map[string]any{"action": "light.turn_on", "target": map[string]any{"area_id": "kitchen"}, "data": map[string]any{"brightness_pct": 80}}},
			"mode":       "single"},
		{"id": "1700000000002", "alias": "Garage door left open", "description": "",
			"triggers": []any{map[string]any{"trigger": "state", "entity_id": "cover.garage_door", "to": "open", "for": map[string]any{"minutes": 10}}},
			"actions":  []any{map[string]any{"action": "notify.send_message", "target": map[string]any{"entity_id": "notify.alice_phone"}, "data": map[string]any{"message": "The garage door is still open"}}},
			"mode":     "single"},
	}
}

// LargeHome returns a deterministic house of n entities spread over
// domains and areas, for benchmarks (10 000 entities and more).
func LargeHome(n int) *Home {
	h := &Home{LocationName: "Large Home", TimeZone: "Europe/Paris",
		Floors: []Floor{{ID: "ground_floor", Name: "Ground floor"}, {ID: "first_floor", Name: "First floor", Level: 1}}}
	const areas = 20
	for i := range areas {
		floor := "ground_floor"
		if i%2 == 1 {
			floor = "first_floor"
		}
		h.Areas = append(h.Areas, Area{ID: fmt.Sprintf("area_%02d", i), Name: fmt.Sprintf("Area %02d", i), FloorID: floor})
	}
	for i := range n {
		area := fmt.Sprintf("area_%02d", i%areas)
		h.Entities = append(h.Entities, largeEntity(i, area))
	}
	return h
}

func largeEntity(i int, area string) Entity {
	switch i % 5 {
	case 0:
		return Entity{ID: fmt.Sprintf("light.light_%05d", i), State: []string{"on", "off"}[i/5%2], AreaID: area,
			Attributes: map[string]any{"friendly_name": fmt.Sprintf("Light %05d", i), "supported_color_modes": []string{"brightness"}, "brightness": 128}}
	case 1:
		return Entity{ID: fmt.Sprintf("switch.switch_%05d", i), State: "off", AreaID: area,
			Attributes: map[string]any{"friendly_name": fmt.Sprintf("Switch %05d", i)}}
	case 2:
		return Entity{ID: fmt.Sprintf("sensor.temperature_%05d", i), State: fmt.Sprintf("%.1f", 15+float64(i%100)/10), AreaID: area,
			Attributes: map[string]any{"friendly_name": fmt.Sprintf("Temperature %05d", i), "unit_of_measurement": "°C", "device_class": "temperature", "state_class": "measurement"}}
	case 3:
		return Entity{ID: fmt.Sprintf("binary_sensor.motion_%05d", i), State: "off", AreaID: area,
			Attributes: map[string]any{"friendly_name": fmt.Sprintf("Motion %05d", i), "device_class": "motion"}}
	}
	return Entity{ID: fmt.Sprintf("input_boolean.flag_%05d", i), State: "off", AreaID: area,
		Attributes: map[string]any{"friendly_name": fmt.Sprintf("Flag %05d", i)}}
}

package tools

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"
)

// maxRelative bounds a relative time, far beyond any recorder retention.
const maxRelative = 10 * 366 * 24 * time.Hour

// timeHelp lists the accepted time forms, for error messages.
const timeHelp = `use ISO 8601 ("2026-01-31T07:00:00+01:00", "2026-01-31 07:00", "2026-01-31"), ` +
	`a time of today ("07:30"), "now", "today", "yesterday", or a relative time like "-2h", "-1d12h", "-30m", "2 hours ago"`

// absoluteLayouts are tried in order; those without a zone are read in
// Home Assistant's time zone.
var absoluteLayouts = []struct {
	layout string
	zoned  bool
}{
	{time.RFC3339Nano, true},
	{"2006-01-02T15:04:05.999999999Z0700", true},
	{"2006-01-02 15:04:05.999999999Z07:00", true},
	{"2006-01-02T15:04:05.999999999", false},
	{"2006-01-02 15:04:05.999999999", false},
	{"2006-01-02T15:04", false},
	{"2006-01-02 15:04", false},
	{"2006-01-02", false},
}

// parseTime reads a time argument: ISO 8601 (zone-less forms in loc), a
// clock time of today in loc, "now", "today", "yesterday", or a relative
// time from now ("-2h", "+30m", "-1d12h", "2 hours ago").
func parseTime(s string, now time.Time, loc *time.Location) (time.Time, error) {
	if loc == nil {
		loc = time.UTC
	}
	in := strings.ToLower(strings.TrimSpace(s))
	switch in {
	case "":
		return time.Time{}, errors.New("is empty; " + timeHelp)
	case "now":
		return now, nil
	case "today":
		return midnight(now, loc), nil
	case "yesterday":
		return midnight(now, loc).AddDate(0, 0, -1), nil
	}
	if d, ok, err := parseRelative(in); ok {
		if err != nil {
			return time.Time{}, fmt.Errorf("%q: %w; %s", truncate(s, 60), err, timeHelp)
		}
		return now.Add(d), nil
	}
	if t, ok := parseAbsolute(strings.TrimSpace(s), now, loc); ok {
		return t, nil
	}
	return time.Time{}, fmt.Errorf("%q is not a time; %s", truncate(s, 60), timeHelp)
}

func midnight(t time.Time, loc *time.Location) time.Time {
	y, m, d := t.In(loc).Date()
	return time.Date(y, m, d, 0, 0, 0, 0, loc)
}

func parseAbsolute(s string, now time.Time, loc *time.Location) (time.Time, bool) {
	for _, l := range absoluteLayouts {
		if l.zoned {
			if t, err := time.Parse(l.layout, strings.ToUpper(s)); err == nil {
				return t, true
			}
			continue
		}
		if t, err := time.ParseInLocation(l.layout, s, loc); err == nil {
			return t, true
		}
	}
	for _, layout := range []string{"15:04", "15:04:05"} {
		if c, err := time.Parse(layout, s); err == nil {
			y, m, d := now.In(loc).Date()
			return time.Date(y, m, d, c.Hour(), c.Minute(), c.Second(), 0, loc), true
		}
	}
	return time.Time{}, false
}

// parseRelative reads "[+-]<n><unit>..." or "<n> <unit> ago". ok is false
// when s does not look relative at all (then it may be absolute); err is
// set when it does but is malformed.
func parseRelative(s string) (d time.Duration, ok bool, err error) {
	sign := time.Duration(0)
	switch {
	case strings.HasSuffix(s, " ago"):
		sign, s = -1, strings.TrimSpace(strings.TrimSuffix(s, " ago"))
	case strings.HasPrefix(s, "-"):
		sign, s = -1, strings.TrimSpace(s[1:])
	case strings.HasPrefix(s, "+"):
		sign, s = 1, strings.TrimSpace(s[1:])
	}
	if sign == 0 || s == "" || s[0] < '0' || s[0] > '9' {
		return 0, sign != 0, errors.New("not a relative time")
	}
	total, err := sumDurations(s)
	if err != nil {
		return 0, true, err
	}
	return sign * total, true, nil
}

// sumDurations adds up "<n><unit>" terms, spaces allowed between them.
func sumDurations(s string) (time.Duration, error) {
	var total time.Duration
	for s = strings.TrimSpace(s); s != ""; s = strings.TrimSpace(s) {
		i := 0
		for i < len(s) && s[i] >= '0' && s[i] <= '9' {
			i++
		}
		if i == 0 || i > 9 {
			return 0, fmt.Errorf("expected a number of at most 9 digits at %q", truncate(s, 20))
		}
		n, _ := strconv.Atoi(s[:i])
		s = strings.TrimSpace(s[i:])
		j := 0
		for j < len(s) && s[j] >= 'a' && s[j] <= 'z' {
			j++
		}
		unit, ok := timeUnits[s[:j]]
		if !ok {
			return 0, fmt.Errorf("unknown unit %q (use s, m, h, d or w)", truncate(s[:j], 20))
		}
		s = s[j:]
		if time.Duration(n) > maxRelative/unit || total+time.Duration(n)*unit > maxRelative {
			return 0, errors.New("is more than 10 years")
		}
		total += time.Duration(n) * unit
	}
	return total, nil
}

var timeUnits = map[string]time.Duration{
	"s": time.Second, "sec": time.Second, "secs": time.Second, "second": time.Second, "seconds": time.Second,
	"m": time.Minute, "min": time.Minute, "mins": time.Minute, "minute": time.Minute, "minutes": time.Minute,
	"h": time.Hour, "hr": time.Hour, "hrs": time.Hour, "hour": time.Hour, "hours": time.Hour,
	"d": 24 * time.Hour, "day": 24 * time.Hour, "days": 24 * time.Hour,
	"w": 7 * 24 * time.Hour, "week": 7 * 24 * time.Hour, "weeks": 7 * 24 * time.Hour,
}

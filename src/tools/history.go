package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"net/url"
	"strings"
	"time"
)

type getHistoryIn struct {
	EntityID   json.RawMessage `json:"entity_id"`
	Start      string          `json:"start"`
	End        string          `json:"end"`
	Attributes bool            `json:"attributes"`
	Limit      int             `json:"limit"`
}

type historyPoint struct {
	Time       time.Time      `json:"t" jsonschema:"when the state started"`
	State      string         `json:"s"`
	Attributes map[string]any `json:"a,omitempty"`
}

type entityHistory struct {
	EntityID string         `json:"entity_id"`
	Name     string         `json:"name"`
	Total    int            `json:"total" jsonschema:"number of states in the period"`
	Omitted  int            `json:"omitted,omitempty" jsonschema:"earliest states left out to respect the limit"`
	Points   []historyPoint `json:"points"`
}

type getHistoryOut struct {
	Start    time.Time       `json:"start"`
	End      time.Time       `json:"end"`
	TimeZone string          `json:"time_zone"`
	Entities []entityHistory `json:"entities"`
	Note     string          `json:"note,omitempty"`
}

func (t *Tools) getHistoryTool() tool[getHistoryIn, getHistoryOut] {
	return tool[getHistoryIn, getHistoryOut]{
		name:  "get_history",
		title: "State history",
		desc: "Read how entities' states changed over a period, from Home Assistant's recorder. start and end take ISO 8601 " +
			"(\"2026-01-31T07:00:00\", read in the home's time zone when it has no offset) or relative times (\"-2h\", \"-1d\", " +
			"\"today\", \"yesterday\", \"now\"); by default the last 24 hours. Each entity gives its states with the time each began, " +
			"the most recent `limit` of them; set attributes to true to get attributes too.",
		input: newInput(
			entityIDsParam("entity_id", "The entity or entities (at most 20).").req(),
			strParam("start", "Start of the period; default \"-24h\".", "an ISO 8601 or relative time", "-2h", "yesterday", "2026-01-31T07:00:00"),
			strParam("end", "End of the period; default now.", "an ISO 8601 or relative time", "now", "-1h", "2026-01-31T09:00:00"),
			boolParam("attributes", "Include attributes in each state (larger answers)."),
			intParam("limit", "Maximum states per entity (the most recent are kept).", 1, 1000, t.cfg.HistoryPoints),
		),
		ann:  readHints("State history"),
		run:  t.getHistory,
		text: getHistoryText,
	}
}

// maxHistoryEntities bounds one get_history call.
const maxHistoryEntities = 20

func (t *Tools) getHistory(ctx context.Context, in *getHistoryIn) (*getHistoryOut, error) {
	ids, err := parseEntityIDs(in.EntityID)
	if err != nil {
		return nil, badArg("entity_id", "%s", err.Error())
	}
	if len(ids) > maxHistoryEntities {
		return nil, badArg("entity_id", "has %d entities; at most %d per call", len(ids), maxHistoryEntities)
	}
	if in.Limit == 0 {
		in.Limit = t.cfg.HistoryPoints
	}
	out := &getHistoryOut{Entities: []entityHistory{}}
	names := map[string]string{}
	err = t.ix.view(ctx, func(h *home) error {
		for _, id := range ids {
			e, err := t.lookup(h, id)
			if err != nil {
				return err
			}
			names[id] = e.name
		}
		return t.historyPeriod(h, in, out)
	})
	if err != nil {
		return nil, err
	}
	lists, err := t.fetchHistory(ctx, ids, out.Start, out.End, in.Attributes)
	if err != nil {
		return nil, err
	}
	for _, id := range ids {
		eh := entityHistory{EntityID: id, Name: names[id], Points: lists[id]}
		eh.Total = len(eh.Points)
		if eh.Points == nil {
			eh.Points = []historyPoint{}
		}
		out.Entities = append(out.Entities, eh)
	}
	t.fitHistory(out, in.Limit)
	return out, nil
}

// historyPeriod parses start and end in the home's time zone.
func (t *Tools) historyPeriod(h *home, in *getHistoryIn, out *getHistoryOut) error {
	now := t.cfg.Now()
	start, err := parseTime(cmpOr(in.Start, "-24h"), now, h.loc)
	if err != nil {
		return badArg("start", "%s", err.Error())
	}
	end, err := parseTime(cmpOr(in.End, "now"), now, h.loc)
	if err != nil {
		return badArg("end", "%s", err.Error())
	}
	if !start.Before(end) {
		return badArg("start", "%s is not before end %s", start.Format(time.RFC3339), end.Format(time.RFC3339))
	}
	out.Start, out.End, out.TimeZone = start.In(h.loc), end.In(h.loc), h.loc.String()
	return nil
}

// haHistoryState is one state of /api/history/period; with
// minimal_response, states other than the first and last carry only
// state and last_changed.
type haHistoryState struct {
	EntityID    string         `json:"entity_id"`
	State       string         `json:"state"`
	Attributes  map[string]any `json:"attributes"`
	LastChanged time.Time      `json:"last_changed"`
	LastUpdated time.Time      `json:"last_updated"`
}

// fetchHistory reads the recorder through the REST API.
func (t *Tools) fetchHistory(ctx context.Context, ids []string, start, end time.Time, attrs bool) (map[string][]historyPoint, error) {
	q := url.Values{}
	q.Set("filter_entity_id", strings.Join(ids, ","))
	q.Set("end_time", end.UTC().Format(time.RFC3339Nano))
	p := "/history/period/" + url.PathEscape(start.UTC().Format(time.RFC3339Nano)) + "?" + q.Encode()
	if !attrs {
		p += "&minimal_response&no_attributes"
	}
	var lists [][]haHistoryState
	if err := t.ha.REST(ctx, "GET", p, nil, &lists); err != nil {
		return nil, err
	}
	out := map[string][]historyPoint{}
	for _, list := range lists {
		if len(list) == 0 {
			continue
		}
		id := list[0].EntityID
		for _, s := range list {
			pt := historyPoint{Time: s.LastChanged, State: s.State}
			if attrs {
				if !s.LastUpdated.IsZero() {
					pt.Time = s.LastUpdated
				}
				pt.Attributes = t.pol.scrubMap(s.Attributes)
			}
			out[id] = append(out[id], pt)
		}
	}
	return out, nil
}

// fitHistory keeps the most recent limit points per entity, then fewer
// until the answer fits.
func (t *Tools) fitHistory(out *getHistoryOut, limit int) {
	for {
		size := 0
		for i := range out.Entities {
			eh := &out.Entities[i]
			if n := len(eh.Points); n > limit {
				eh.Omitted += n - limit
				eh.Points = eh.Points[n-limit:]
			}
			size += jsonSize(eh)
		}
		if size <= t.cfg.MaxAnswerBytes/2 || limit <= 1 {
			break
		}
		limit /= 2
		out.Note = fmt.Sprintf("Cut to the %d most recent states per entity to fit; ask for a shorter period or fewer entities.", limit)
	}
}

func getHistoryText(out *getHistoryOut) string {
	loc, err := time.LoadLocation(out.TimeZone)
	if err != nil {
		loc = time.UTC
	}
	var b strings.Builder
	fmt.Fprintf(&b, "History from %s to %s (%s):", out.Start.Format("2006-01-02 15:04:05"), out.End.Format("2006-01-02 15:04:05"), out.TimeZone)
	for _, eh := range out.Entities {
		fmt.Fprintf(&b, "\n%s %q: %d states", eh.EntityID, eh.Name, eh.Total)
		if eh.Omitted > 0 {
			fmt.Fprintf(&b, " (%d earliest omitted)", eh.Omitted)
		}
		for _, p := range eh.Points {
			fmt.Fprintf(&b, "\n  %s %s", p.Time.In(loc).Format("2006-01-02 15:04:05"), formatValue(p.State))
			if a := formatAttrs(p.Attributes); a != "" {
				b.WriteString(" " + truncate(a, 400))
			}
		}
	}
	if out.Note != "" {
		b.WriteString("\n" + out.Note)
	}
	return b.String()
}

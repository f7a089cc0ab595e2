package tools

import (
	"slices"
	"strings"
)

// lookup returns a visible entity, or an error that suggests close
// matches. A hidden entity is reported exactly like an unknown one, so
// that answers never reveal it exists.
func (t *Tools) lookup(h *home, id string) (*entry, error) {
	if e, ok := h.states[id]; ok && t.pol.visible(id) {
		return e, nil
	}
	return nil, t.unknownEntity(h, id)
}

func (t *Tools) unknownEntity(h *home, id string) error {
	msg := "unknown entity " + quote(id)
	if s := t.suggest(h, id, 3); len(s) > 0 {
		msg += "; did you mean " + strings.Join(s, ", ") + "?"
	} else {
		msg += "; use get_entities to find entity ids"
	}
	return &toolError{msg: msg}
}

// suggest returns up to n visible entity ids close to id: same domain and
// a similar object id, closest first.
func (t *Tools) suggest(h *home, id string, n int) []string {
	domain, object, _ := strings.Cut(id, ".")
	type cand struct {
		id   string
		dist int
	}
	var cands []cand
	for _, other := range h.ids {
		d, o, _ := strings.Cut(other, ".")
		if d != domain || !t.pol.visible(other) {
			continue
		}
		dist := editDistance(object, o, 3)
		if strings.Contains(o, object) || strings.Contains(object, o) {
			dist = min(dist, 2)
		}
		if dist <= 3 {
			cands = append(cands, cand{other, dist})
		}
	}
	slices.SortStableFunc(cands, func(a, b cand) int { return a.dist - b.dist })
	out := make([]string, 0, n)
	for _, c := range cands[:min(n, len(cands))] {
		out = append(out, c.id)
	}
	return out
}

// editDistance is the Levenshtein distance of a and b, or limit+1 once it
// is certainly above limit.
func editDistance(a, b string, limit int) int {
	if d := len(a) - len(b); d > limit || -d > limit {
		return limit + 1
	}
	prev := make([]int, len(b)+1)
	cur := make([]int, len(b)+1)
	for j := range prev {
		prev[j] = j
	}
	for i := 1; i <= len(a); i++ {
		cur[0] = i
		best := cur[0]
		for j := 1; j <= len(b); j++ {
			cost := 1
			if a[i-1] == b[j-1] {
				cost = 0
			}
			cur[j] = min(prev[j]+1, cur[j-1]+1, prev[j-1]+cost)
			best = min(best, cur[j])
		}
		if best > limit {
			return limit + 1
		}
		prev, cur = cur, prev
	}
	return prev[len(b)]
}

func quote(s string) string { return `"` + truncate(s, 100) + `"` }

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	return keys
}

func sortedCopy(s []string) []string {
	if s == nil {
		return nil
	}
	c := slices.Clone(s)
	slices.Sort(c)
	return c
}

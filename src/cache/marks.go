package cache

import "time"

// mark is when something was last invalidated: local is this process's
// clock (L2 entries filled before it are refused), ha is Home Assistant's
// time of the event (answers whose view is older are refused).
type mark struct {
	local time.Time
	ha    time.Time
}

func (m mark) max(o mark) mark {
	if o.local.After(m.local) {
		m.local = o.local
	}
	if o.ha.After(m.ha) {
		m.ha = o.ha
	}
	return m
}

// marks are the watermarks of every dependency. Entity marks are bounded:
// past maxEntities they collapse into floor, which is coarser but never
// later than the truth. Removed entities lose their mark into floor too
// only through that collapse; a removed entity's mark stays until then.
type marks struct {
	entity      map[string]mark
	domain      map[string]mark
	any         mark // any state change: lists without a domain, AnyState
	floor       mark // flushes and collapsed entity marks: every HA dependency
	tag         map[Tag]mark
	maxEntities int
}

func newMarks(maxEntities int) marks {
	return marks{entity: map[string]mark{}, domain: map[string]mark{}, tag: map[Tag]mark{}, maxEntities: maxEntities}
}

// of returns the newest mark of anything d depends on.
func (ms *marks) of(d Deps) mark {
	var m mark
	if d.onHA() {
		m = ms.floor
	}
	for _, id := range d.Entities {
		m = m.max(ms.entity[id])
	}
	for _, f := range d.Filters {
		if f.Domain == "" {
			m = m.max(ms.any)
		} else {
			m = m.max(ms.domain[f.Domain])
		}
	}
	if d.AnyState {
		m = m.max(ms.any)
	}
	for _, t := range d.Tags {
		m = m.max(ms.tag[t])
	}
	return m
}

// entityChanged records a change of entity id in domain at m.
func (ms *marks) entityChanged(id, domain string, m mark) {
	if _, ok := ms.entity[id]; !ok && len(ms.entity) >= ms.maxEntities {
		for _, old := range ms.entity {
			ms.floor = ms.floor.max(old)
		}
		clear(ms.entity)
	}
	ms.entity[id] = ms.entity[id].max(m)
	ms.domain[domain] = ms.domain[domain].max(m)
	ms.any = ms.any.max(m)
}

// allStates records a change of any entity (a broad write, a flush).
func (ms *marks) allStates(m mark) {
	ms.floor = ms.floor.max(m)
	ms.any = ms.any.max(m)
}

func (ms *marks) tagged(t Tag, m mark) { ms.tag[t] = ms.tag[t].max(m) }

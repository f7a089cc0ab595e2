package cache

import "strings"

// holder is an entry or a running fill, as the dependency indexes see it.
type holder struct {
	key  string
	deps Deps
	ent  *entry  // set for a stored entry
	fl   *flight // set for a running fill
}

type holderSet map[*holder]struct{}

func (s holderSet) add(h *holder) { s[h] = struct{}{} }

// index finds the holders an invalidation reaches without scanning them
// all: by entity id, by the domain of a list's filter, and by tag. Lists
// without a domain and AnyState holders share one bucket that every state
// change looks at; they are few (a cache of 10 000 entries is mostly
// per-entity answers). It is not safe for concurrent use: Cache.mu guards
// it.
type index struct {
	byEntity  map[string]holderSet
	byDomain  map[string]holderSet
	anyDomain holderSet
	byTag     map[Tag]holderSet
	onHA      holderSet // every holder whose deps onHA() (for Pause)
	all       holderSet
}

func newIndex() *index {
	return &index{
		byEntity: map[string]holderSet{}, byDomain: map[string]holderSet{},
		anyDomain: holderSet{}, byTag: map[Tag]holderSet{}, onHA: holderSet{}, all: holderSet{},
	}
}

func addTo[K comparable](m map[K]holderSet, k K, h *holder) {
	s := m[k]
	if s == nil {
		s = holderSet{}
		m[k] = s
	}
	s.add(h)
}

func removeFrom[K comparable](m map[K]holderSet, k K, h *holder) {
	if s := m[k]; s != nil {
		delete(s, h)
		if len(s) == 0 {
			delete(m, k)
		}
	}
}

func (ix *index) add(h *holder) {
	ix.all.add(h)
	if h.deps.onHA() {
		ix.onHA.add(h)
	}
	for _, id := range h.deps.Entities {
		addTo(ix.byEntity, id, h)
	}
	for _, f := range h.deps.Filters {
		if f.Domain == "" {
			ix.anyDomain.add(h)
		} else {
			addTo(ix.byDomain, f.Domain, h)
		}
	}
	if h.deps.AnyState {
		ix.anyDomain.add(h)
	}
	for _, t := range h.deps.Tags {
		addTo(ix.byTag, t, h)
	}
}

func (ix *index) remove(h *holder) {
	delete(ix.all, h)
	delete(ix.onHA, h)
	for _, id := range h.deps.Entities {
		removeFrom(ix.byEntity, id, h)
	}
	for _, f := range h.deps.Filters {
		if f.Domain == "" {
			delete(ix.anyDomain, h)
		} else {
			removeFrom(ix.byDomain, f.Domain, h)
		}
	}
	if h.deps.AnyState {
		delete(ix.anyDomain, h)
	}
	for _, t := range h.deps.Tags {
		removeFrom(ix.byTag, t, h)
	}
}

// change is one entity's change: its state before and after (nil when it
// did not or no longer exists), or unknown (a write's target: both are
// unknown, so every list of its domain is reached).
type change struct {
	id       string
	old, new *Snapshot
	unknown  bool

	oldText, newText string // searchText of old and new, set by reached
}

// reached calls fn for every holder that c may change: those naming the
// entity, and the lists whose filter matched it before or matches it now.
// fn may remove holders from the index.
func (ix *index) reached(c change, fn func(*holder)) {
	var hit []*holder
	for h := range ix.byEntity[c.id] {
		hit = append(hit, h)
	}
	domain, _, _ := strings.Cut(c.id, ".")
	c.oldText, c.newText = searchText(c.id, c.old), searchText(c.id, c.new)
	check := func(set holderSet) {
		for h := range set {
			if h.deps.AnyState || c.unknown || h.matchesEither(c) {
				hit = append(hit, h)
			}
		}
	}
	check(ix.byDomain[domain])
	check(ix.anyDomain)
	for _, h := range hit {
		fn(h)
	}
}

func (h *holder) matchesEither(c change) bool {
	for _, f := range h.deps.Filters {
		if f.matches(c.id, c.old, c.oldText) || f.matches(c.id, c.new, c.newText) {
			return true
		}
	}
	return false
}

// tagged calls fn for every holder with tag t.
func (ix *index) tagged(t Tag, fn func(*holder)) {
	var hit []*holder
	for h := range ix.byTag[t] {
		hit = append(hit, h)
	}
	for _, h := range hit {
		fn(h)
	}
}

// each calls fn for every holder in set (a snapshot, so fn may remove).
func each(set holderSet, fn func(*holder)) {
	hit := make([]*holder, 0, len(set))
	for h := range set {
		hit = append(hit, h)
	}
	for _, h := range hit {
		fn(h)
	}
}

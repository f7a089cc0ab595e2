package queue

// DefaultGroupReserve is Config.GroupReserve's default.
const DefaultGroupReserve = 0.25

// groupLimitLocked is how many jobs of one Group may run at once: every
// slot but a reserve (GroupReserve of them, at least one) kept for the
// others; one when there is a single slot.
func (q *Queue) groupLimitLocked() int {
	reserve := max(1, int(float64(q.concurrency)*q.cfg.GroupReserve))
	return max(1, q.concurrency-reserve)
}

// groupFullLocked reports whether c's group already runs its limit.
func (q *Queue) groupFullLocked(c *call) bool {
	g := c.job.Group
	return g != "" && q.groups[g] >= q.groupLimitLocked()
}

// groupStartedLocked and groupFinishedLocked count c's group's running
// jobs; a group that runs none is forgotten, so the map stays as small as
// the groups running.
func (q *Queue) groupStartedLocked(c *call) {
	if g := c.job.Group; g != "" {
		q.groups[g]++
	}
}

func (q *Queue) groupFinishedLocked(c *call) {
	g := c.job.Group
	if g == "" {
		return
	}
	if q.groups[g]--; q.groups[g] <= 0 {
		delete(q.groups, g)
	}
}

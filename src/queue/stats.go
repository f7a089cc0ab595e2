package queue

// Stats is a snapshot of a Queue for status pages.
type Stats struct {
	Pending     int            `json:"pending"`     // jobs waiting to start
	Running     int            `json:"running"`     // jobs running
	Concurrency int            `json:"concurrency"` // current dispatch slots
	ByPriority  map[string]int `json:"by_priority"` // pending jobs by their own priority name; every name is present
	MaxSeen     int            `json:"max_seen"`    // most jobs ever pending at once
	Idempotency int            `json:"idempotency"` // idempotency keys remembered
	// IdempotencyBytes is what the finished outcomes kept for replay hold,
	// as counted against Config.MaxIdempotencyBytes.
	IdempotencyBytes int64 `json:"idempotency_bytes"`
	Counters
}

// Counters count events since New.
type Counters struct {
	Accepted     uint64 `json:"accepted"`     // jobs queued for execution
	Completed    uint64 `json:"completed"`    // executions finished, with a value or an error
	Rejected     uint64 `json:"rejected"`     // jobs refused: full, closed, invalid
	Abandoned    uint64 `json:"abandoned"`    // queued jobs removed because every caller left
	Deduplicated uint64 `json:"deduplicated"` // callers that joined an identical in-flight job
	Replayed     uint64 `json:"replayed"`     // callers given an earlier job's outcome
}

// Stats returns a snapshot of q.
func (q *Queue) Stats() Stats {
	q.mu.Lock()
	defer q.mu.Unlock()
	s := Stats{
		Pending:     len(q.queued),
		Running:     q.running,
		Concurrency: q.concurrency,
		ByPriority:  make(map[string]int, numPriorities),
		MaxSeen:     q.maxSeen,
		Idempotency: q.idem.len(),
		Counters:    q.counters,

		IdempotencyBytes: q.idem.bytesHeld(),
	}
	for _, name := range priorityNames {
		s.ByPriority[name] = 0
	}
	for _, c := range q.queued {
		s.ByPriority[c.job.Priority.String()]++
	}
	return s
}

// pendingRunning returns the gauges' values.
func (q *Queue) pendingRunning() (pending, running int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return len(q.queued), q.running
}

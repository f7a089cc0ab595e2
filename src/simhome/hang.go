package simhome

// HangService makes WebSocket calls of domain.service hang, like an
// integration whose device never answers: such a call is neither run nor
// recorded nor answered until ReleaseServices, when it runs and is answered
// as usual. Other commands on the same connection are answered meanwhile,
// as Home Assistant runs each command in its own task. A hung call whose
// connection closes first is dropped without running.
func (s *Server) HangService(domain, service string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	key := domain + "." + service
	if _, ok := s.w.hangs[key]; !ok {
		s.w.hangs[key] = make(chan struct{})
	}
}

// ReleaseServices undoes every HangService and lets the calls they hold
// run.
func (s *Server) ReleaseServices() {
	s.mu.Lock()
	defer s.mu.Unlock()
	for key, release := range s.w.hangs {
		close(release)
		delete(s.w.hangs, key)
	}
}

// hangLocked holds a call until release is closed, then answers it; it
// gives up when the connection ends. The goroutine belongs to the
// connection's handler, which waits for it (serveWebSocket).
func (c *conn) hangLocked(id int64, req serviceRequest, release <-chan struct{}) {
	c.hung.Add(1)
	go func() {
		defer c.hung.Done()
		select {
		case <-release:
		case <-c.ended:
			return
		case <-c.ctx.Done():
			return
		}
		select {
		case <-c.ended:
			return // both ready: the connection's end wins
		default:
		}
		if c.ctx.Err() != nil {
			return
		}
		c.s.mu.Lock()
		defer c.s.mu.Unlock()
		answerCallLocked(c, id, req)
	}()
}

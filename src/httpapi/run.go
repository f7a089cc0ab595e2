package httpapi

import (
	"context"
	"errors"
	"fmt"
	stdlog "log"
	"net"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sync/errgroup"
)

// Listen opens the main API's and the Ingress port's listeners, so that a
// caller can report a port already in use before starting anything else.
// Run calls it if the caller did not. Calling it again does nothing.
func (s *Server) Listen() error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.apiLn != nil {
		return nil
	}
	apiLn, err := net.Listen("tcp", s.cfg.Addr)
	if err != nil {
		return fmt.Errorf("httpapi: listening on %s: %w", s.cfg.Addr, err)
	}
	if s.ingress != nil {
		ln, err := net.Listen("tcp", s.cfg.IngressAddr)
		if err != nil {
			apiLn.Close()
			return fmt.Errorf("httpapi: listening for ingress on %s: %w", s.cfg.IngressAddr, err)
		}
		s.ingressLn = ln
	}
	s.apiLn = apiLn
	return nil
}

// Addr returns the main API's listening address, or nil before Listen.
func (s *Server) Addr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.apiLn == nil {
		return nil
	}
	return s.apiLn.Addr()
}

// IngressAddr returns the Ingress port's listening address, or nil before
// Listen or without an Ingress listener.
func (s *Server) IngressAddr() net.Addr {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.ingressLn == nil {
		return nil
	}
	return s.ingressLn.Addr()
}

// Run serves until ctx is cancelled, then shuts down gracefully: it stops
// accepting connections and waits up to Config.ShutdownTimeout for requests
// in flight. It returns nil after a shutdown caused by ctx, and an error if a
// listener fails or the shutdown times out. Run may be called once.
func (s *Server) Run(ctx context.Context) error {
	if err := s.Listen(); err != nil {
		return err
	}
	s.mu.Lock()
	apiLn, ingressLn := s.apiLn, s.ingressLn
	s.mu.Unlock()

	servers := []*http.Server{s.newHTTPServer(s.apiHTTP)}
	listeners := []net.Listener{apiLn}
	if ingressLn != nil {
		servers = append(servers, s.newHTTPServer(s.ingress))
		listeners = append(listeners, ingressLn)
	}
	s.log.Info().Str("addr", apiLn.Addr().String()).Msg("serving API")
	if ingressLn != nil {
		s.log.Info().Str("addr", ingressLn.Addr().String()).Msg("serving Ingress")
	}

	g, gctx := errgroup.WithContext(ctx)
	for i, srv := range servers {
		g.Go(func() error {
			if err := srv.Serve(listeners[i]); !errors.Is(err, http.ErrServerClosed) {
				return fmt.Errorf("httpapi: serving on %s: %w", listeners[i].Addr(), err)
			}
			return nil
		})
	}
	g.Go(func() error {
		<-gctx.Done()
		return s.shutdown(servers)
	})
	return g.Wait()
}

func (s *Server) newHTTPServer(h http.Handler) *http.Server {
	return &http.Server{
		Handler:           h,
		ReadHeaderTimeout: 10 * time.Second,
		MaxHeaderBytes:    serverMaxHeaderBytes,
		IdleTimeout:       2 * time.Minute,
		ErrorLog:          stdlog.New(s.log, "", 0),
		ConnState:         s.fresh.track,
	}
}

// shutdown ends the event streams, stops every server within one shared
// deadline, then closes the connections that are still open.
func (s *Server) shutdown(servers []*http.Server) error {
	s.stopping.fire()
	ctx, cancel := context.WithTimeout(context.Background(), s.cfg.ShutdownTimeout)
	var silent sync.WaitGroup
	silent.Go(func() { s.fresh.closeSilent(ctx, freshGrace) })
	defer func() {
		cancel()
		silent.Wait()
	}()
	var errs []error
	for _, srv := range servers {
		if err := srv.Shutdown(ctx); err != nil {
			srv.Close()
			errs = append(errs, fmt.Errorf("httpapi: shutting down: %w", err))
		}
	}
	s.log.Debug().Msg("HTTP servers stopped")
	return errors.Join(errs...)
}

// freshGrace is how long, at shutdown, a connection may stay open without
// having sent a whole request before it is closed.
const freshGrace = time.Second

// freshConns tracks the connections that have not yet sent a request.
// http.Server.Shutdown waits for those up to 5 s before it deems them idle;
// HTTP clients leave such connections open as a matter of course (Go's
// Transport keeps a connection it dialled for a request that another
// connection served), so with one of them every stop would wait 5 s,
// outlasting the stop's budget under load. A connection still silent after
// freshGrace carries no request to lose: closeSilent closes it.
type freshConns struct {
	// n is len(conns). A connection changes state twice a request; with
	// none waiting for its first request (kept-alive clients), the hook
	// returns without taking mu, which every request would queue on.
	n     atomic.Int32
	mu    sync.Mutex
	conns map[net.Conn]time.Time // when each was accepted
}

// track is the servers' ConnState hook.
func (f *freshConns) track(c net.Conn, state http.ConnState) {
	if state != http.StateNew && f.n.Load() == 0 {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if state != http.StateNew {
		f.forgetLocked(c)
		return
	}
	if f.conns == nil {
		f.conns = map[net.Conn]time.Time{}
	}
	if _, ok := f.conns[c]; !ok {
		f.n.Add(1)
	}
	f.conns[c] = time.Now()
}

func (f *freshConns) forgetLocked(c net.Conn) {
	if _, ok := f.conns[c]; ok {
		delete(f.conns, c)
		f.n.Add(-1)
	}
}

// closeSilent closes, until ctx ends, each connection that has been open
// for grace without sending a request.
func (f *freshConns) closeSilent(ctx context.Context, grace time.Duration) {
	tick := time.NewTicker(grace / 10)
	defer tick.Stop()
	for {
		var silent []net.Conn
		f.mu.Lock()
		for c, since := range f.conns {
			if time.Since(since) >= grace {
				silent = append(silent, c)
				f.forgetLocked(c)
			}
		}
		f.mu.Unlock()
		for _, c := range silent {
			c.Close()
		}
		select {
		case <-ctx.Done():
			return
		case <-tick.C:
		}
	}
}

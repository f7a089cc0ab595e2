package queue

import (
	"context"
	"encoding/json"
	"runtime"
	"testing"
)

func noop(context.Context) (json.RawMessage, error) { return nil, nil }

func benchQueue(b *testing.B, concurrency int) *Queue {
	q, err := New(Config{Concurrency: concurrency})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- q.Run(ctx) }()
	b.Cleanup(func() { cancel(); <-done })
	return q
}

// BenchmarkDo measures the overhead of one uncontended Do.
func BenchmarkDo(b *testing.B) {
	q := benchQueue(b, 1)
	ctx := context.Background()
	for b.Loop() {
		if _, err := q.Do(ctx, Job{Priority: Medium, Run: noop}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDoParallel measures Do from many goroutines with a slot each.
func BenchmarkDoParallel(b *testing.B) {
	q := benchQueue(b, runtime.GOMAXPROCS(0))
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := q.Do(context.Background(), Job{Priority: High, Run: noop}); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

// BenchmarkDoParallelLocked adds writes contending on a few keys.
func BenchmarkDoParallelLocked(b *testing.B) {
	q := benchQueue(b, runtime.GOMAXPROCS(0))
	keys := []string{"light.a", "light.b", "light.c"}
	b.RunParallel(func(pb *testing.PB) {
		i := 0
		for pb.Next() {
			i++
			j := Job{Priority: Priority(i % numPriorities), Write: true, Locks: keys[i%3 : i%3+1], Run: noop}
			if _, err := q.Do(context.Background(), j); err != nil {
				b.Error(err)
				return
			}
		}
	})
}

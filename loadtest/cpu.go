package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// clockTick is Linux's USER_HZ, the unit of /proc/<pid>/stat times.
const clockTick = 100

// cpuTimes returns the CPU time used so far by this process and by its live
// descendants (the MCP children, mcp-proxy and its child), so that a level's
// CPU cost per request can be compared between servers independently of
// the machine's load.
func cpuTimes() (self, descendants time.Duration) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	type proc struct {
		ppid int
		cpu  time.Duration
	}
	procs := map[int]proc{}
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(path)))
		if ppid, cpu, ok := procCPU(path); ok {
			procs[pid] = proc{ppid, cpu}
		}
	}
	me := os.Getpid()
	for _, p := range procs {
		for anc, depth := p.ppid, 0; anc > 1 && depth < 8; anc, depth = procs[anc].ppid, depth+1 {
			if anc == me {
				descendants += p.cpu
				break
			}
		}
	}
	return self, descendants
}

// procCPU returns the parent and utime+stime from a /proc/<pid>/stat file.
func procCPU(path string) (ppid int, cpu time.Duration, ok bool) {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0, 0, false
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')') // comm may hold spaces and parentheses
	if i < 0 || i+2 >= len(s) {
		return 0, 0, false
	}
	f := strings.Fields(s[i+2:]) // state ppid pgrp ... (field 3 onwards)
	if len(f) < 13 {
		return 0, 0, false
	}
	ppid, _ = strconv.Atoi(f[1])
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return ppid, time.Duration(utime+stime) * time.Second / clockTick, true
}

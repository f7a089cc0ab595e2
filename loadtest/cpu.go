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
// child processes (the MCP children), so that a level's CPU cost per request
// can be compared between servers independently of the machine's load.
func cpuTimes() (self, children time.Duration) {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		self = time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
	}
	pid := os.Getpid()
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, path := range stats {
		children += childCPU(path, pid)
	}
	return self, children
}

// childCPU returns utime+stime from a /proc/<pid>/stat file if its parent
// is ppid, else 0.
func childCPU(path string, ppid int) time.Duration {
	data, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	s := string(data)
	i := strings.LastIndexByte(s, ')') // comm may hold spaces and parentheses
	if i < 0 || i+2 >= len(s) {
		return 0
	}
	f := strings.Fields(s[i+2:]) // state ppid pgrp ... (field 3 onwards)
	if len(f) < 13 {
		return 0
	}
	if p, _ := strconv.Atoi(f[1]); p != ppid {
		return 0
	}
	utime, _ := strconv.ParseInt(f[11], 10, 64)
	stime, _ := strconv.ParseInt(f[12], 10, 64)
	return time.Duration(utime+stime) * time.Second / clockTick
}

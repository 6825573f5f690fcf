package main

import (
	"os"
	"strconv"
	"strings"
	"syscall"
)

// killDescendants SIGKILLs every process below this one (children first
// found, then theirs), from the parent pids in /proc/<pid>/stat. Only the
// gate's watchdog calls it, when a command arm hung: nothing else of ours
// runs then, so every descendant belongs to the hung round.
func killDescendants() {
	ents, err := os.ReadDir("/proc")
	if err != nil {
		return
	}
	children := map[int][]int{}
	for _, e := range ents {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		if ppid, ok := parentOf(pid); ok {
			children[ppid] = append(children[ppid], pid)
		}
	}
	queue := []int{os.Getpid()}
	for len(queue) > 0 {
		p := queue[0]
		queue = queue[1:]
		for _, c := range children[p] {
			_ = syscall.Kill(c, syscall.SIGKILL)
			queue = append(queue, c)
		}
	}
}

// parentOf reads a process's parent pid: the field after the state, after
// the command name in parentheses (which may itself hold spaces and ')').
func parentOf(pid int) (int, bool) {
	b, err := os.ReadFile("/proc/" + strconv.Itoa(pid) + "/stat")
	if err != nil {
		return 0, false
	}
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, false
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 2 {
		return 0, false
	}
	ppid, err := strconv.Atoi(f[1])
	return ppid, err == nil
}

package sys

import (
	"os"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

func TestDescribeFD(t *testing.T) {
	fds, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Close(fds[0])
	defer unix.Close(fds[1])
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer r.Close()
	defer w.Close()
	me := os.Getpid()
	if d, err := DescribeFD(me, fds[0]); err != nil || d != "AF_UNIX SOCK_STREAM socket, unnamed (a socketpair)" {
		t.Fatalf("socketpair: %q %v", d, err)
	}
	if d, err := DescribeFD(me, int(r.Fd())); err != nil || !strings.HasPrefix(d, "pipe [") {
		t.Fatalf("pipe: %q %v", d, err)
	}
	if _, err := DescribeFD(me, 1<<20); err == nil {
		t.Fatal("a closed descriptor described")
	}
}

func TestSharedMappingsAndHold(t *testing.T) {
	before, err := SharedMappings(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	m, err := unix.Mmap(-1, 0, 1<<16, unix.PROT_READ|unix.PROT_WRITE, unix.MAP_SHARED|unix.MAP_ANONYMOUS)
	if err != nil {
		t.Fatal(err)
	}
	after, _ := SharedMappings(os.Getpid())
	unix.Munmap(m)
	if len(after) != len(before)+1 {
		t.Fatalf("shared mappings %v then %v", before, after)
	}

	rss0 := StatusKB("VmRSS")
	release, err := HoldMemory(16 << 20)
	if err != nil {
		t.Fatal(err)
	}
	held := StatusKB("VmRSS") - rss0
	release()
	if held < 15<<10 {
		t.Fatalf("RSS grew by %d KiB holding 16 MiB", held)
	}
	if room, how := MemHeadroom(); room <= 0 || how == "" {
		t.Fatalf("headroom %d (%s)", room, how)
	}
}

func TestProcReadings(t *testing.T) {
	if _, ok := ReadProcTimes(os.Getpid()); !ok {
		t.Fatal("own /proc/PID/stat unreadable")
	}
	if _, ok := ReadProcTimes(1 << 30); ok {
		t.Fatal("times of a process that does not exist")
	}
	if v, ok := ProcEnv(os.Getpid(), "PATH"); !ok || v == "" {
		t.Fatalf("PATH from /proc/self/environ: %q %v", v, ok)
	}
}

//go:build linux && (amd64 || arm64)

package child

import (
	"encoding/binary"
	"fmt"
	"os"
	"runtime"
	"syscall"
	"unsafe"
)

// ForkExecSupported reports whether ForkExec works on this architecture.
const ForkExecSupported = true

// ForkExec starts a program the way libuv, and so Node, does on Linux: a
// real fork, clone(SIGCHLD) without CLONE_VM, which copies the parent's
// page tables, so its cost grows with the parent's memory; then execve in
// the child. Go's os/exec (and glibc's posix_spawn) use
// clone(CLONE_VM|CLONE_VFORK) instead: the child borrows the parent's
// address space until execve, and the cost does not depend on the
// parent's size. ForkExec exists to measure that difference (spawn's
// parent-memory dimension); every other child starts through os/exec.
//
// The child gets null as stdin, stdout and stderr and env as its
// environment, and dies with this process (Pdeathsig). ForkExec returns
// once the child has exec'd, or the reason it could not, as uv_spawn
// does; Reap waits for it.
//
// Why running Go code in a forked child is safe here. After clone the
// child is a copy of this process with one thread, stopped inside a Go
// function, while the runtime's other threads, its locks and its
// scheduler did not come along: the child must never need the runtime.
//  1. No allocation, stack growth, preemption point, race-detector or
//     checkptr hook: the child runs only forkChild, which is
//     //go:nosplit, //go:norace and //go:nocheckptr and calls nothing but
//     syscall.RawSyscall6 (itself nosplit and norace, ending in
//     assembly). Nosplit functions have no stack check at all, and the
//     linker proves that the whole nosplit call chain fits in the stack
//     headroom every goroutine keeps, so an overflow is a build error, not
//     a runtime hazard. Everything the child reads (C strings and arrays
//     for execve, descriptors, the parent's pid, a zeroed sigaction) was
//     prepared by the parent before clone.
//  2. No Go signal handler runs in the child: the parent blocks every
//     signal on its locked thread around clone, so the child starts with
//     all of them blocked; it resets signals 1–64 (but KILL and STOP) to
//     SIG_DFL, as libuv does for 1–31, and only then unblocks them all,
//     just before execve. Interval and per-thread CPU timers (the
//     profiler's SIGPROF) are not inherited by a forked child.
//  3. Descriptors: Go opens every descriptor close-on-exec; the child
//     dup3()s null onto 0, 1 and 2 (the copies are not close-on-exec).
//  4. An execve failure is written (errno, 4 bytes) to a close-on-exec
//     pipe and the child exits with exit_group(127); the parent reads the
//     pipe: EOF means execve succeeded. This is libuv's own method.
//
// The parent side is plain Go; its goroutine is locked to its thread
// from the signal block to the restore, which also keeps Pdeathsig (sent
// when the creating thread ends) tied to a thread the runtime keeps.
func ForkExec(path string, argv, env []string, null *os.File) (pid int, err error) {
	a := &forkArgs{ppid: uintptr(os.Getpid())}
	if a.path, err = syscall.BytePtrFromString(path); err != nil {
		return 0, fmt.Errorf("fork/exec %s: %w", path, err)
	}
	av, err := syscall.SlicePtrFromStrings(argv)
	if err != nil {
		return 0, fmt.Errorf("fork/exec %s: %w", path, err)
	}
	ev, err := syscall.SlicePtrFromStrings(env)
	if err != nil {
		return 0, fmt.Errorf("fork/exec %s: %w", path, err)
	}
	a.argv, a.envv = &av[0], &ev[0]
	sc, err := null.SyscallConn()
	if err != nil {
		return 0, fmt.Errorf("fork/exec %s: %w", path, err)
	}
	// Control, not Fd: Fd would make the descriptor blocking (docs/measuring.md, pitfall 4).
	_ = sc.Control(func(fd uintptr) { a.null = fd })
	var p [2]int
	if err := syscall.Pipe2(p[:], syscall.O_CLOEXEC); err != nil {
		return 0, fmt.Errorf("fork/exec %s: pipe: %w", path, err)
	}
	a.errPipe = uintptr(p[1])

	all, old := ^uint64(0), uint64(0)
	runtime.LockOSThread()
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigSetmask, uintptr(unsafe.Pointer(&all)), uintptr(unsafe.Pointer(&old)), 8, 0, 0)
	r, e := forkChild(a)
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigSetmask, uintptr(unsafe.Pointer(&old)), 0, 8, 0, 0)
	runtime.UnlockOSThread()
	runtime.KeepAlive(a)
	runtime.KeepAlive(av)
	runtime.KeepAlive(ev)
	runtime.KeepAlive(null)

	syscall.Close(p[1])
	defer syscall.Close(p[0])
	if e != 0 {
		return 0, fmt.Errorf("fork/exec %s: clone: %w", path, e)
	}
	pid = int(r)
	var buf [4]byte
	n := 0
	for n < len(buf) {
		m, err := syscall.Read(p[0], buf[n:])
		if err == syscall.EINTR {
			continue
		}
		if err != nil || m == 0 {
			break
		}
		n += m
	}
	if n == 0 {
		return pid, nil // EOF: the pipe closed on exec
	}
	_, _ = Reap(pid)
	if n < len(buf) {
		return 0, fmt.Errorf("fork/exec %s: the child failed before exec", path)
	}
	return 0, &os.PathError{Op: "fork/exec", Path: path, Err: syscall.Errno(binary.NativeEndian.Uint32(buf[:]))}
}

const sigSetmask = 2 // SIG_SETMASK, the same on every Linux architecture

// forkArgs is all the child reads, prepared by the parent.
type forkArgs struct {
	path       *byte  // execve's path
	argv, envv **byte // NUL-terminated arrays of C strings
	null       uintptr
	errPipe    uintptr
	ppid       uintptr
	errno      uint32
	// dfl is a struct sigaction of all zeroes: SIG_DFL, no flags, no
	// restorer, empty mask (32 bytes covers amd64 and arm64 layouts).
	dfl  [4]uint64
	none uint64 // an empty signal set
}

// forkChild forks; in the parent it returns the child's pid, in the child
// it never returns (see ForkExec for why this is safe).
//
//go:nosplit
//go:norace
//go:nocheckptr
//go:noinline
func forkChild(a *forkArgs) (uintptr, syscall.Errno) {
	pid, _, err := syscall.RawSyscall6(syscall.SYS_CLONE, uintptr(syscall.SIGCHLD), 0, 0, 0, 0, 0)
	if err != 0 || pid != 0 {
		return pid, err // the parent
	}
	// The child: raw system calls only, from here to execve or exit.
	for sig := uintptr(1); sig <= 64; sig++ {
		if sig != uintptr(syscall.SIGKILL) && sig != uintptr(syscall.SIGSTOP) {
			syscall.RawSyscall6(syscall.SYS_RT_SIGACTION, sig, uintptr(unsafe.Pointer(&a.dfl)), 0, 8, 0, 0)
		}
	}
	if _, _, e := syscall.RawSyscall6(syscall.SYS_PRCTL, syscall.PR_SET_PDEATHSIG, uintptr(syscall.SIGKILL), 0, 0, 0, 0); e != 0 {
		childFail(a, e)
	}
	if ppid, _, _ := syscall.RawSyscall6(syscall.SYS_GETPPID, 0, 0, 0, 0, 0, 0); ppid != a.ppid {
		syscall.RawSyscall6(syscall.SYS_EXIT_GROUP, 127, 0, 0, 0, 0, 0) // the parent is already gone
	}
	for fd := uintptr(0); fd < 3; fd++ {
		if _, _, e := syscall.RawSyscall6(syscall.SYS_DUP3, a.null, fd, 0, 0, 0, 0); e != 0 {
			childFail(a, e)
		}
	}
	syscall.RawSyscall6(syscall.SYS_RT_SIGPROCMASK, sigSetmask, uintptr(unsafe.Pointer(&a.none)), 0, 8, 0, 0)
	_, _, e := syscall.RawSyscall6(syscall.SYS_EXECVE, uintptr(unsafe.Pointer(a.path)), uintptr(unsafe.Pointer(a.argv)), uintptr(unsafe.Pointer(a.envv)), 0, 0, 0)
	childFail(a, e)
	return 0, 0 // not reached
}

// childFail reports errno to the parent and exits; child side only.
//
//go:nosplit
//go:norace
//go:nocheckptr
func childFail(a *forkArgs, e syscall.Errno) {
	a.errno = uint32(e)
	syscall.RawSyscall6(syscall.SYS_WRITE, a.errPipe, uintptr(unsafe.Pointer(&a.errno)), 4, 0, 0, 0)
	for {
		syscall.RawSyscall6(syscall.SYS_EXIT_GROUP, 127, 0, 0, 0, 0, 0)
	}
}

// Reap waits for a child started by ForkExec and returns how it ended:
// nil for exit status 0.
func Reap(pid int) (syscall.Rusage, error) {
	var ws syscall.WaitStatus
	var ru syscall.Rusage
	for {
		_, err := syscall.Wait4(pid, &ws, 0, &ru)
		if err == syscall.EINTR {
			continue
		}
		if err != nil {
			return ru, fmt.Errorf("wait for pid %d: %w", pid, err)
		}
		break
	}
	switch {
	case ws.Exited() && ws.ExitStatus() == 0:
		return ru, nil
	case ws.Exited():
		return ru, fmt.Errorf("exit status %d", ws.ExitStatus())
	case ws.Signaled():
		return ru, fmt.Errorf("signal: %v", ws.Signal())
	}
	return ru, fmt.Errorf("wait status %#x", uint32(ws))
}

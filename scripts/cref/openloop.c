// openloop: a C reference for ipcbench's open-loop latency at a low rate
// (ipcbench run load): a pipe ping-pong where the parent starts message k
// at t0 + k/RATE (sleep with clock_nanosleep(TIMER_ABSTIME), timer slack
// 1 ns, then a sched_yield busy wait of SPIN_US before the instant, as
// ipcbench's pacer), and times each reply from the scheduled instant.
// It shows what a round trip costs when the parent waited before it, next
// to the same ping-pong back to back (RATE 0). On the 2-vCPU VM this was
// written on the paced one is ~1.7x the back-to-back one in C as in Go:
// the gap is the machine (a thread that waited finds its caches and the
// CPU's predictors cold, and a vCPU that idled wakes through the
// hypervisor), not the harness.
// Build: cc -O2 -o openloop openloop.c
// Usage: openloop RATE PARENT_CPU CHILD_CPU [SECONDS [SPIN_US]]
#define _GNU_SOURCE
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1000000000LL + t.tv_nsec; }
static void pin(int cpu) {
	cpu_set_t s; CPU_ZERO(&s); CPU_SET(cpu, &s);
	if (sched_setaffinity(0, sizeof s, &s)) { perror("sched_setaffinity"); exit(1); }
}
static int cmp(const void *a, const void *b) { long long x = *(const long long *)a, y = *(const long long *)b; return (x > y) - (x < y); }

int main(int argc, char **argv) {
	if (argc < 4) { fprintf(stderr, "usage: %s RATE PARENT_CPU CHILD_CPU [SECONDS [SPIN_US]]\n", argv[0]); return 2; }
	double rate = atof(argv[1]);
	int pc = atoi(argv[2]), cc = atoi(argv[3]);
	double secs = argc > 4 ? atof(argv[4]) : 2;
	long long spin = (argc > 5 ? atoll(argv[5]) : 50) * 1000;
	int n = rate > 0 ? (int)(rate * secs) : 200000;
	int a[2], b[2];
	if (pipe(a) || pipe(b)) { perror("pipe"); return 1; }
	char buf[64]; memset(buf, 1, sizeof buf);
	pid_t pid = fork();
	if (pid == 0) {
		pin(cc);
		close(a[1]); close(b[0]);
		while (read(a[0], buf, 64) == 64) if (write(b[1], buf, 64) != 64) break;
		_exit(0);
	}
	close(a[0]); close(b[1]);
	pin(pc);
	prctl(PR_SET_TIMERSLACK, 1, 0, 0, 0);
	long long *lat = malloc(n * sizeof *lat), *svc = malloc(n * sizeof *svc);
	for (int i = 0; i < 2000; i++) if (write(a[1], buf, 64) != 64 || read(b[0], buf, 64) != 64) return 1;
	long long t0 = now(), per = rate > 0 ? (long long)(1e9 / rate) : 0;
	for (int i = 0; i < n; i++) {
		long long due = t0 + (long long)i * per;
		if (rate > 0) {
			if (due - spin > now()) {
				struct timespec ts = {(due - spin) / 1000000000LL, (due - spin) % 1000000000LL};
				clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
			}
			while (now() < due) sched_yield();
		}
		long long s = now();
		if (rate <= 0) due = s;
		if (write(a[1], buf, 64) != 64 || read(b[0], buf, 64) != 64) return 1;
		long long e = now();
		lat[i] = e - due; svc[i] = e - s;
	}
	close(a[1]);
	waitpid(pid, NULL, 0);
	qsort(lat, n, sizeof *lat, cmp); qsort(svc, n, sizeof *svc, cmp);
	printf("openloop pipe rate=%g parent_cpu=%d child_cpu=%d p50_ns=%lld service_p50_ns=%lld p99_ns=%lld samples=%d\n",
	       rate, pc, cc, lat[n / 2], svc[n / 2], lat[n * 99 / 100], n);
	return 0;
}

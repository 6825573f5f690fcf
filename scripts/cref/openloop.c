// openloop: a C reference for ipcbench's open-loop latency at a low rate
// (ipcbench run load): a pipe ping-pong where the parent starts message k
// at t0 + k/RATE (sleep with clock_nanosleep(TIMER_ABSTIME), timer slack
// 1 ns, then a sched_yield busy wait of SPIN_US before the instant, as
// ipcbench's pacer), and times each reply from the scheduled instant.
//
// Two designs (MODE):
//   paced  the parent sends, then reads the reply on the same thread
//          before it waits for the next instant: a closed loop slowed to
//          RATE (a reply that comes after the next instant delays it).
//   split  ipcbench's design: a sender thread that never waits for
//          replies and a receiver thread that stamps them, both on
//          PARENT_CPU, so sending is never held up by a slow reply.
// RATE 0 is the back-to-back ping-pong (the closed loop) in both.
//
// On the 2-vCPU VM this was written on, both designs at 1k-10k/s read
// 1.3-2x the back-to-back ping-pong, in C as in Go: a thread that waited
// finds its caches and the CPU's predictors cold, and a vCPU that idled
// wakes through the hypervisor. That is the machine, not the harness.
// Build: cc -O2 -pthread -o openloop openloop.c
// Usage: openloop RATE PARENT_CPU CHILD_CPU [SECONDS [SPIN_US [paced|split]]]
#define _GNU_SOURCE
#include <pthread.h>
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

// The split design's receiver: stamps each reply.
static int reply_fd, recv_cpu, nmsg;
static long long *done_at;
static void *receiver(void *arg) {
	char buf[64];
	(void)arg;
	pin(recv_cpu);
	for (int i = 0; i < nmsg; i++) {
		if (read(reply_fd, buf, 64) != 64) exit(1);
		done_at[i] = now();
	}
	return NULL;
}

// wait_until sleeps until SPIN before due, then yields until due.
static void wait_until(long long due, long long spin) {
	if (due - spin > now()) {
		struct timespec ts = {(due - spin) / 1000000000LL, (due - spin) % 1000000000LL};
		clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
	}
	while (now() < due) sched_yield();
}

int main(int argc, char **argv) {
	if (argc < 4) { fprintf(stderr, "usage: %s RATE PARENT_CPU CHILD_CPU [SECONDS [SPIN_US [paced|split]]]\n", argv[0]); return 2; }
	double rate = atof(argv[1]);
	int pc = atoi(argv[2]), cc = atoi(argv[3]);
	double secs = argc > 4 ? atof(argv[4]) : 2;
	long long spin = (argc > 5 ? atoll(argv[5]) : 50) * 1000;
	const char *mode = argc > 6 ? argv[6] : "paced";
	int split = strcmp(mode, "split") == 0;
	if (!split && strcmp(mode, "paced") != 0) { fprintf(stderr, "mode %s: want paced or split\n", mode); return 2; }
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
	long long *due = malloc(n * sizeof *due), *sent = malloc(n * sizeof *sent);
	done_at = malloc(n * sizeof *done_at);
	for (int i = 0; i < 2000; i++) if (write(a[1], buf, 64) != 64 || read(b[0], buf, 64) != 64) return 1;
	long long per = rate > 0 ? (long long)(1e9 / rate) : 0;
	long long t0 = now() + 1000000;
	if (split && rate > 0) {
		pthread_t th;
		reply_fd = b[0]; recv_cpu = pc; nmsg = n;
		if (pthread_create(&th, NULL, receiver, NULL)) { perror("pthread_create"); return 1; }
		for (int i = 0; i < n; i++) {
			due[i] = t0 + (long long)i * per;
			wait_until(due[i], spin);
			sent[i] = now();
			if (write(a[1], buf, 64) != 64) return 1;
		}
		pthread_join(th, NULL);
	} else {
		for (int i = 0; i < n; i++) {
			due[i] = t0 + (long long)i * per;
			if (rate > 0) wait_until(due[i], spin);
			sent[i] = now();
			if (rate <= 0) due[i] = sent[i];
			if (write(a[1], buf, 64) != 64 || read(b[0], buf, 64) != 64) return 1;
			done_at[i] = now();
		}
	}
	close(a[1]);
	waitpid(pid, NULL, 0);
	for (int i = 0; i < n; i++) { lat[i] = done_at[i] - due[i]; svc[i] = done_at[i] - sent[i]; }
	qsort(lat, n, sizeof *lat, cmp); qsort(svc, n, sizeof *svc, cmp);
	printf("openloop pipe %s rate=%g parent_cpu=%d child_cpu=%d p50_ns=%lld service_p50_ns=%lld p99_ns=%lld samples=%d\n",
	       rate > 0 ? mode : "closed", rate, pc, cc, lat[n / 2], svc[n / 2], lat[n * 99 / 100], n);
	return 0;
}

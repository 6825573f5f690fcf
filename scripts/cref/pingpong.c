// pingpong: a C reference for ipcbench's raw round trips and throughput,
// with the same protocol (size-byte message, echoed), the same pinning
// (parent on one CPU, child on another) and the same statistic (median of
// batch means). Build: cc -O2 -o pingpong pingpong.c
// Usage: pingpong pipe|unix|unixpacket|tcp|shm-spin SIZE PARENT_CPU CHILD_CPU [SECONDS]
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void pin(int cpu) {
	if (cpu < 0) return;
	cpu_set_t s; CPU_ZERO(&s); CPU_SET(cpu, &s);
	if (sched_setaffinity(0, sizeof s, &s)) { perror("sched_setaffinity"); exit(1); }
}
static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
static void wr(int fd, char *b, size_t n) { while (n) { ssize_t k = write(fd, b, n); if (k <= 0) exit(0); b += k; n -= k; } }
static int rd(int fd, char *b, size_t n) { while (n) { ssize_t k = read(fd, b, n); if (k <= 0) return -1; b += k; n -= k; } return 0; }
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return (x > y) - (x < y); }

struct shm { _Alignas(128) atomic_uint a; _Alignas(128) atomic_uint b; _Alignas(128) char buf[2][1 << 20]; };

int main(int argc, char **argv) {
	if (argc < 5) { fprintf(stderr, "usage: %s pipe|unix|unixpacket|tcp|shm-spin SIZE PCPU CCPU [SECONDS]\n", argv[0]); return 2; }
	const char *t = argv[1]; size_t size = atoi(argv[2]); int pc = atoi(argv[3]), cc = atoi(argv[4]);
	double secs = argc > 5 ? atof(argv[5]) : 1.0;
	int pr, pw, cr, cw; struct shm *m = NULL;
	if (!strcmp(t, "pipe")) { int a[2], b[2]; pipe(a); pipe(b); pr = b[0]; cw = b[1]; cr = a[0]; pw = a[1]; }
	else if (!strcmp(t, "unix") || !strcmp(t, "unixpacket")) { int s[2]; socketpair(AF_UNIX, strcmp(t, "unix") ? SOCK_SEQPACKET : SOCK_STREAM, 0, s); pr = pw = s[0]; cr = cw = s[1]; }
	else if (!strcmp(t, "tcp")) {
		int l = socket(AF_INET, SOCK_STREAM, 0); struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(0x7f000001)};
		bind(l, (void *)&sa, sizeof sa); listen(l, 1); socklen_t sl = sizeof sa; getsockname(l, (void *)&sa, &sl);
		int c = socket(AF_INET, SOCK_STREAM, 0); connect(c, (void *)&sa, sizeof sa); int s = accept(l, 0, 0); close(l);
		int one = 1; setsockopt(c, IPPROTO_TCP, TCP_NODELAY, &one, 4); setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, 4);
		pr = pw = c; cr = cw = s;
	} else if (!strcmp(t, "shm-spin")) { m = mmap(0, sizeof *m, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0); }
	else { fprintf(stderr, "unknown transport %s\n", t); return 2; }
	char *buf = malloc(size);
	memset(buf, 1, size);
	pid_t kid = fork();
	if (kid == 0) {
		pin(cc);
		if (m) { unsigned seen = 0; for (;;) { unsigned v; while ((v = atomic_load_explicit(&m->a, memory_order_acquire)) == seen) ; if (v == ~0u) exit(0); seen = v; memcpy(m->buf[1], m->buf[0], size); atomic_store_explicit(&m->b, v, memory_order_release); } }
		for (;;) { if (rd(cr, buf, size)) exit(0); wr(cw, buf, size); }
	}
	pin(pc);
	// Warm up 0.1 s, then batches of ~10 ms until SECONDS.
	long batch = 1; double t0 = now(); unsigned seq = 0;
	double samples[100000]; int ns = 0;
	for (int phase = 0; phase < 2; phase++) {
		double end = now() + (phase ? secs * 1e9 : 1e8);
		while (now() < end && ns < 100000) {
			double b0 = now();
			for (long i = 0; i < batch; i++) {
				if (m) { memcpy(m->buf[0], buf, size); atomic_store_explicit(&m->a, ++seq, memory_order_release); while (atomic_load_explicit(&m->b, memory_order_acquire) != seq) ; memcpy(buf, m->buf[1], size); }
				else { wr(pw, buf, size); if (rd(pr, buf, size)) { fprintf(stderr, "child gone\n"); return 1; } }
			}
			double per = (now() - b0) / batch;
			if (phase) samples[ns++] = per; else batch = (long)(1e7 / per) + 1;
		}
	}
	(void)t0;
	if (m) atomic_store(&m->a, ~0u); else { close(pw); if (pw != pr) close(pr); }
	kill(kid, SIGTERM); waitpid(kid, 0, 0);
	qsort(samples, ns, sizeof *samples, cmp);
	printf("%s size=%zu parent_cpu=%d child_cpu=%d median_ns=%.0f samples=%d batch=%ld\n", t, size, pc, cc, samples[ns / 2], ns, batch);
	return 0;
}

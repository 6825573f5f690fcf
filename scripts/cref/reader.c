// reader: a C reference for ipcbench's collect=streamed. It starts a
// command with its stdout on a pipe, reads it in 64 KiB read(2) calls and
// reports the median transfer rate (first byte to EOF) over RUNS runs,
// the same figure ipcbench reports as MB/s. Build: cc -O2 -o reader reader.c
// Usage: reader RUNS cmd [args...]
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double now(void) { struct timespec t; clock_gettime(CLOCK_MONOTONIC, &t); return t.tv_sec * 1e9 + t.tv_nsec; }
static int cmp(const void *a, const void *b) { double x = *(double *)a, y = *(double *)b; return (x > y) - (x < y); }

int main(int argc, char **argv) {
	if (argc < 3) { fprintf(stderr, "usage: %s RUNS cmd [args...]\n", argv[0]); return 2; }
	int runs = atoi(argv[1]);
	static char buf[1 << 16];
	double *rate = calloc(runs, sizeof *rate);
	long long total = 0;
	for (int r = 0; r < runs; r++) {
		int p[2]; pipe(p);
		pid_t kid = fork();
		if (kid == 0) { dup2(p[1], 1); close(p[0]); close(p[1]); execvp(argv[2], argv + 2); _exit(127); }
		close(p[1]);
		double first = 0; long long n = 0; ssize_t k;
		while ((k = read(p[0], buf, sizeof buf)) > 0) { if (!n) first = now(); n += k; }
		int st; waitpid(kid, &st, 0);
		double end = now();
		close(p[0]);
		rate[r] = n * 1e3 / (end - first);
		total = n;
	}
	qsort(rate, runs, sizeof *rate, cmp);
	printf("C reader: %lld bytes, median %.0f MB/s over %d runs\n", total, rate[runs / 2], runs);
	return 0;
}

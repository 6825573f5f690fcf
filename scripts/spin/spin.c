// spin: real, calibrated work for validating `ipcbench gate`
// (scripts/gate-validation.sh): a command that does 20% more work than
// another, not one that sleeps.
//
//   spin N    N iterations of a loop the compiler cannot remove, then exit 0
//   spin -c   print what one iteration costs here, in nanoseconds
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static volatile unsigned long sink; // volatile: every iteration is a real load and store

static void spin(unsigned long n) {
	for (unsigned long i = 0; i < n; i++)
		sink += i;
}

static double now_ns(void) {
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e9 + t.tv_nsec;
}

int main(int argc, char **argv) {
	if (argc == 2 && strcmp(argv[1], "-c") == 0) {
		// Grow n until one run lasts 50 ms, then keep the fastest of 7:
		// the least disturbed, the loop's own cost.
		unsigned long n = 1 << 16;
		double ns;
		for (;;) {
			double t0 = now_ns();
			spin(n);
			ns = now_ns() - t0;
			if (ns > 5e7)
				break;
			n *= 2;
		}
		double best = ns;
		for (int i = 0; i < 7; i++) {
			double t0 = now_ns();
			spin(n);
			double d = now_ns() - t0;
			if (d < best)
				best = d;
		}
		printf("%.4f\n", best / n);
		return 0;
	}
	char *end;
	unsigned long n = argc == 2 ? strtoul(argv[1], &end, 10) : 0;
	if (argc != 2 || *end != '\0') {
		fprintf(stderr, "usage: spin N | spin -c\n");
		return 2;
	}
	spin(n);
	return 0;
}

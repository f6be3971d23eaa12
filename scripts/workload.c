/*
 * workload.c — guest workload for `scripts/fixtures.sh vmcores` (built on the host with gcc -static).
 *
 *   workload ANON_MiB ZERO_MiB READY_FILE
 *
 * Leaves behind, for as long as it lives:
 *   - ANON_MiB of anonymous memory filled with pseudo-random data (xorshift64, fixed seed); the
 *     first 64 bytes of every page hold a text tag "KTYPE-ANON page=<n>" so tests can find them;
 *   - ZERO_MiB of anonymous memory written with zeros (every page really allocated, all zero).
 * Then creates READY_FILE and sleeps forever.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void *map(size_t n)
{
	void *p = mmap(NULL, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED) {
		perror("workload: mmap");
		exit(1);
	}
	return p;
}

int main(int argc, char **argv)
{
	if (argc != 4) {
		fprintf(stderr, "usage: workload ANON_MiB ZERO_MiB READY_FILE\n");
		return 2;
	}
	size_t anon = (size_t)atol(argv[1]) << 20, zero = (size_t)atol(argv[2]) << 20;
	long page = sysconf(_SC_PAGESIZE);

	uint64_t *a = map(anon), x = 0x9E3779B97F4A7C15ull;
	for (size_t i = 0; i < anon / 8; i++) {
		x ^= x << 13;
		x ^= x >> 7;
		x ^= x << 17;
		a[i] = x;
	}
	for (size_t off = 0; off < anon; off += page)
		snprintf((char *)a + off, 64, "KTYPE-ANON page=%zu", off / page);

	volatile char *z = map(zero);
	for (size_t off = 0; off < zero; off += page)
		z[off] = 0;

	printf("workload: anon %zu MiB at %p, zero %zu MiB at %p, pid %d\n", anon >> 20, (void *)a,
	       zero >> 20, (void *)z, getpid());
	fflush(stdout);
	FILE *f = fopen(argv[3], "w");
	if (!f) {
		perror("workload: ready file");
		return 1;
	}
	fclose(f);
	for (;;)
		pause();
}

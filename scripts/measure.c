/*
 * measure.c — time and peak memory of one command, for the kdump capture guest
 * (scripts/kdump_run.sh; built on the host with gcc -static, like workload.c).
 *
 *   measure RESULTS NAME PROGRAM [ARG...]
 *
 * fork/execs PROGRAM and, until it exits, samples every 5 ms the process and all its
 * descendants (through /proc/PID/task/PID/children): the sums of their VmRSS and RssAnon and
 * the largest VmHWM. Appends one line to RESULTS:
 *
 *   name=NAME status=S wall_ms=W maxrss_kb=M peak_rss_kb=R peak_anon_kb=A peak_hwm_kb=H samples=N
 *
 * status is the exit status, or 128+signal; maxrss_kb is wait4()'s ru_maxrss (the largest
 * resident set of the process and of the descendants it waited for). Stdin, stdout and stderr
 * are the child's. Exits with the child's status.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

struct sample {
	long rss, anon, hwm;
};

/* Adds one process's VmRSS, RssAnon (kB) and VmHWM to *s. */
static void add_status(pid_t pid, struct sample *s)
{
	char path[64], line[256];
	snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof line, f)) {
		long v;
		if (sscanf(line, "VmRSS: %ld", &v) == 1)
			s->rss += v;
		else if (sscanf(line, "RssAnon: %ld", &v) == 1)
			s->anon += v;
		else if (sscanf(line, "VmHWM: %ld", &v) == 1 && v > s->hwm)
			s->hwm = v;
	}
	fclose(f);
}

/* pid and its descendants (depth first). */
static void walk(pid_t pid, struct sample *s, int depth)
{
	char path[64];
	add_status(pid, s);
	if (depth > 16)
		return;
	snprintf(path, sizeof path, "/proc/%d/task/%d/children", (int)pid, (int)pid);
	FILE *f = fopen(path, "r");
	if (!f)
		return;
	int c;
	while (fscanf(f, "%d", &c) == 1)
		walk(c, s, depth + 1);
	fclose(f);
}

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

int main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: measure RESULTS NAME PROGRAM [ARG...]\n");
		return 2;
	}
	FILE *out = fopen(argv[1], "a");
	if (!out) {
		fprintf(stderr, "measure: %s: %s\n", argv[1], strerror(errno));
		return 2;
	}
	double t0 = now_ms();
	pid_t pid = fork();
	if (pid < 0) {
		perror("measure: fork");
		return 2;
	}
	if (pid == 0) {
		execvp(argv[3], argv + 3);
		fprintf(stderr, "measure: %s: %s\n", argv[3], strerror(errno));
		_exit(127);
	}
	struct sample peak = {0, 0, 0};
	struct rusage ru;
	int st = 0;
	long samples = 0;
	const struct timespec tick = {0, 5 * 1000 * 1000};
	for (;;) {
		pid_t r = wait4(pid, &st, WNOHANG, &ru);
		if (r == pid)
			break;
		if (r < 0 && errno != EINTR) {
			perror("measure: wait4");
			return 2;
		}
		struct sample s = {0, 0, 0};
		walk(pid, &s, 0);
		samples++;
		if (s.rss > peak.rss)
			peak.rss = s.rss;
		if (s.anon > peak.anon)
			peak.anon = s.anon;
		if (s.hwm > peak.hwm)
			peak.hwm = s.hwm;
		nanosleep(&tick, NULL);
	}
	double wall = now_ms() - t0;
	int status = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
	fprintf(out,
		"name=%s status=%d wall_ms=%.0f maxrss_kb=%ld peak_rss_kb=%ld peak_anon_kb=%ld "
		"peak_hwm_kb=%ld samples=%ld\n",
		argv[2], status, wall, ru.ru_maxrss, peak.rss, peak.anon, peak.hwm, samples);
	fclose(out);
	return status;
}

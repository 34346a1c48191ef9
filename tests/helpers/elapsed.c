// SPDX-License-Identifier: GPL-2.0
/*
 * bstack-elapsed FILE CMD [ARG]...: run CMD, and write how long it took,
 * in nanoseconds of CLOCK_MONOTONIC, to FILE. Exits with CMD's status.
 * For make bench's table load, device creation and reload timings: the
 * guest's busybox date has no nanoseconds, and under QEMU's icount clock
 * a guest nanosecond is an instruction.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static long long now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

int main(int argc, char **argv)
{
	long long start, end;
	FILE *out;
	pid_t pid;
	int status;

	if (argc < 3) {
		fprintf(stderr, "usage: bstack-elapsed FILE CMD [ARG]...\n");
		return 2;
	}
	out = fopen(argv[1], "w");
	if (!out) {
		fprintf(stderr, "bstack-elapsed: %s: %s\n", argv[1],
			strerror(errno));
		return 2;
	}
	start = now_ns();
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, "bstack-elapsed: fork: %s\n", strerror(errno));
		return 2;
	}
	if (pid == 0) {
		execvp(argv[2], argv + 2);
		fprintf(stderr, "bstack-elapsed: %s: %s\n", argv[2],
			strerror(errno));
		_exit(127);
	}
	if (waitpid(pid, &status, 0) < 0) {
		fprintf(stderr, "bstack-elapsed: waitpid: %s\n", strerror(errno));
		return 2;
	}
	end = now_ns();
	if (fprintf(out, "%lld\n", end - start) < 0 || fclose(out)) {
		fprintf(stderr, "bstack-elapsed: cannot write %s\n", argv[1]);
		return 2;
	}
	if (WIFEXITED(status))
		return WEXITSTATUS(status);
	return 128 + (WIFSIGNALED(status) ? WTERMSIG(status) : 0);
}

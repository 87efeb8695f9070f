/**
 * @file workers.c  --workers: N processes sharing the SIP ports
 *
 * The parent forks N workers, each with its own libre event loop, and
 * then only forwards SIGINT/SIGTERM and collects exit codes. The kernel
 * spreads packets over the workers' sockets with SO_REUSEPORT, by a hash
 * of source and destination address, so all requests of a client socket
 * (a dialog's ACK and BYE too) reach the same worker.
 *
 * libre 1.1.0 sets SO_REUSEPORT on TCP listeners but offers no hook
 * between socket() and bind() of a UDP transport; the bind() below
 * stands in for libc's (the executable's symbol wins over libc's for
 * libre's calls) and sets it while reuseport_set(true) is in effect.
 *
 * Copyright (C) 2026 The sipstub authors
 */
#include <string.h>
#include <stdlib.h>
#include <signal.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <sipstub.h>


static bool reuseport;


/**
 * Set SO_REUSEPORT on the sockets bound from now on (or stop doing so)
 *
 * @param on True to set it
 */
void reuseport_set(bool on)
{
	reuseport = on;
}


int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	if (reuseport) {
		int one = 1;

		(void)setsockopt(fd, SOL_SOCKET, SO_REUSEPORT,
				 &one, sizeof(one));
	}

	return (int)syscall(SYS_bind, fd, addr, len);
}


static void kill_all(const pid_t *pids, unsigned n, int sig)
{
	unsigned i;

	for (i = 0; i < n; i++) {
		if (pids[i] > 0)
			(void)kill(pids[i], sig);
	}
}


/**
 * Fork the workers
 *
 * @param n    Number of workers (2 or more)
 * @param idxp Worker index 0..n-1, set in a worker
 *
 * @return -1 in a worker, which goes on to run; in the parent, once all
 *         workers have ended, the exit code (the highest of theirs)
 */
int workers_run(unsigned n, unsigned *idxp)
{
	const pid_t parent = getpid();
	sigset_t set, old;
	pid_t *pids;
	unsigned i, alive = 0;
	int rc = 0;

	pids = calloc(n, sizeof(*pids));
	if (!pids) {
		(void)re_fprintf(stderr, "sipstub: workers: %m\n", ENOMEM);
		return 1;
	}

	(void)sigemptyset(&set);
	(void)sigaddset(&set, SIGINT);
	(void)sigaddset(&set, SIGTERM);
	(void)sigaddset(&set, SIGCHLD);
	(void)sigprocmask(SIG_BLOCK, &set, &old);

	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid == 0) {
			free(pids);
			(void)sigprocmask(SIG_SETMASK, &old, NULL);

			/* a parent killed outright takes its workers along */
			(void)prctl(PR_SET_PDEATHSIG, SIGTERM);
			if (getppid() != parent)
				exit(1);

			*idxp = i;
			return -1;
		}

		if (pid < 0) {
			(void)re_fprintf(stderr, "sipstub: fork: %m\n", errno);
			rc = 1;
			kill_all(pids, i, SIGTERM);
			break;
		}

		pids[i] = pid;
		++alive;
	}

	while (alive) {
		siginfo_t si;
		int sig = sigwaitinfo(&set, &si);

		if (sig == SIGINT || sig == SIGTERM) {
			kill_all(pids, n, sig);
			continue;
		}

		if (sig != SIGCHLD)
			continue;

		for (;;) {
			int status;
			pid_t pid = waitpid(-1, &status, WNOHANG);
			int code;

			if (pid <= 0)
				break;

			for (i = 0; i < n && pids[i] != pid; i++)
				;
			if (i == n)
				continue;

			pids[i] = 0;
			--alive;

			code = WIFEXITED(status) ? WEXITSTATUS(status) : 1;
			if (code > rc)
				rc = code;

			/* one worker failing stops the rest */
			if (code)
				kill_all(pids, n, SIGTERM);
		}
	}

	free(pids);

	return rc;
}

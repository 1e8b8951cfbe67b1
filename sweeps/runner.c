#include "sweeps/runner.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "kernels/error.h"
#include "trainer/metrics.h"

#define MAX_STDOUT (16u << 20)

const char *sw_status_for(int exited, int code_or_signal, int timed_out)
{
	if (timed_out)
		return "timeout";
	if (!exited)
		return "failed";
	switch (code_or_signal) {
	case 0: return "ok";
	case EXIT_OOM: return "oom";
	case EXIT_DIVERGED: return "diverged";
	case EXIT_UNAVAILABLE: return "unsupported";
	default: return "failed";
	}
}

void sw_outcome_release(struct sw_outcome *o)
{
	free(o->out);
	o->out = NULL;
	o->out_len = 0;
}

/* In the child, between fork and exec: async-signal-safe calls only. */
static void child_exec(const struct sw_child_opts *opts, int in, int out, int log, pid_t parent)
{
	static const char msg[] = "amptune sweep: cannot exec the point's command\n";
	static const int reset[] = { SIGINT, SIGTERM, SIGPIPE, SIGHUP, SIGQUIT };
	struct sigaction dfl = { .sa_handler = SIG_DFL };
	sigset_t none;
	setpgid(0, 0);
	if (prctl(PR_SET_PDEATHSIG, SIGKILL) || getppid() != parent)
		_exit(127);
	for (size_t i = 0; i < sizeof reset / sizeof *reset; i++)
		sigaction(reset[i], &dfl, NULL);
	sigemptyset(&none);
	sigprocmask(SIG_SETMASK, &none, NULL);
	if (dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(log, 2) < 0)
		_exit(127);
	execv(opts->exe, opts->argv);
	if (write(2, msg, sizeof msg - 1) < 0)
		_exit(127);
	_exit(127);
}

static void signal_group(pid_t pid, int sig)
{
	if (kill(-pid, sig))
		kill(pid, sig);
}

/* Reads what is available without blocking; 0 at end of file. */
static int drain(int fd, struct sw_outcome *o, size_t *cap)
{
	for (;;) {
		if (*cap - o->out_len < 4096 && *cap < MAX_STDOUT) {
			char *grown = realloc(o->out, *cap * 2);
			if (grown) {
				o->out = grown;
				*cap *= 2;
			}
		}
		char sink[4096];
		int keep = *cap - o->out_len > 1;
		ssize_t n = keep ? read(fd, o->out + o->out_len, *cap - o->out_len - 1) : read(fd, sink, sizeof sink);
		if (n > 0) {
			if (keep)
				o->out_len += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		o->out[o->out_len] = 0;
		return n < 0 && errno == EAGAIN ? 1 : 0;
	}
}

static void read_tail(int logfd, off_t from, struct sw_outcome *o)
{
	off_t end = lseek(logfd, 0, SEEK_END);
	off_t start = end - from > SW_TAIL_BYTES ? end - SW_TAIL_BYTES : from;
	ssize_t n = end > start ? pread(logfd, o->stderr_tail, (size_t)(end - start), start) : 0;
	size_t skip = 0;
	o->stderr_tail[n > 0 ? n : 0] = 0;
	/* a cut inside a UTF-8 sequence would leave stray continuation bytes */
	while (n > 0 && skip < (size_t)n && ((unsigned char)o->stderr_tail[skip] & 0xc0) == 0x80)
		skip++;
	memmove(o->stderr_tail, o->stderr_tail + skip, strlen(o->stderr_tail + skip) + 1);
}

/* Best effort: the outcome is what counts, and it is recorded elsewhere. */
static void log_footer(int logfd, const struct sw_outcome *o)
{
	if (o->out_len)
		dprintf(logfd, "== stdout ==\n%s%s", o->out, o->out[o->out_len - 1] == '\n' ? "" : "\n");
	if (o->exited)
		dprintf(logfd, "== exit code %d after %.3f s%s ==\n\n", o->exit_code, o->wall_s,
			o->timed_out ? ", past the time limit" : o->stopped ? ", the sweep was interrupted" : "");
	else
		dprintf(logfd, "== killed by signal %d (%s) after %.3f s%s ==\n\n", o->term_signal,
			strsignal(o->term_signal), o->wall_s,
			o->timed_out ? ": past the time limit" : o->stopped ? ": the sweep was interrupted" : "");
}

/* Waits for the child, reading its stdout, enforcing the limit and *stop. */
static void wait_child(const struct sw_child_opts *opts, pid_t pid, int outfd, double t0, struct sw_outcome *o,
		       size_t *cap)
{
	int pidfd = -1, out_open = 1, status = 0;
	double kill_at = 0, limit_ms = opts->time_limit_s * 1e3;
#ifdef SYS_pidfd_open
	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
#endif
	for (int sent_kill = 0;;) {
		struct pollfd fds[2];
		int nfds = 0;
		if (out_open)
			fds[nfds++] = (struct pollfd){ .fd = outfd, .events = POLLIN };
		if (pidfd >= 0)
			fds[nfds++] = (struct pollfd){ .fd = pidfd, .events = POLLIN };
		double now = tr_now_ms(), wait_ms = pidfd >= 0 || out_open ? 250 : 10;
		if (!kill_at && limit_ms > 0 && t0 + limit_ms - now < wait_ms)
			wait_ms = t0 + limit_ms - now;
		if (kill_at && !sent_kill && kill_at + SW_KILL_GRACE_S * 1e3 - now < wait_ms)
			wait_ms = kill_at + SW_KILL_GRACE_S * 1e3 - now;
		if (poll(fds, (nfds_t)nfds, wait_ms > 0 ? (int)wait_ms + 1 : 0) > 0 && out_open && fds[0].revents)
			out_open = drain(outfd, o, cap);
		pid_t w = waitpid(pid, &status, WNOHANG);
		if (w == pid || (w < 0 && errno == ECHILD))
			break;
		now = tr_now_ms();
		if (!kill_at && opts->stop && *opts->stop) {
			o->stopped = *opts->stop;
			signal_group(pid, SIGTERM);
			kill_at = now;
		} else if (!kill_at && limit_ms > 0 && now - t0 >= limit_ms) {
			o->timed_out = 1;
			signal_group(pid, SIGTERM);
			kill_at = now;
		}
		if (kill_at && !sent_kill && now - kill_at >= SW_KILL_GRACE_S * 1e3) {
			signal_group(pid, SIGKILL);
			sent_kill = 1;
		}
		if (opts->tick)
			opts->tick(opts->tick_ctx);
	}
	if (out_open)
		drain(outfd, o, cap);
	if (pidfd >= 0)
		close(pidfd);
	o->exited = WIFEXITED(status);
	o->exit_code = o->exited ? WEXITSTATUS(status) : 0;
	o->term_signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
}

int sw_run_child(const struct sw_child_opts *opts, struct sw_outcome *o)
{
	int out[2] = { -1, -1 }, logfd = -1, devnull = -1, rc = KN_OK;
	size_t cap = 65536;
	memset(o, 0, sizeof *o);
	o->out = malloc(cap);
	if (!o->out)
		return kn_error(KN_ERR, "out of memory for a point's output");
	o->out[0] = 0;
	logfd = open(opts->log_path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (logfd < 0)
		return kn_error(KN_ERR, "cannot open point log '%s': %s", opts->log_path, strerror(errno));
	int bad = dprintf(logfd, "%s\n$", opts->log_header) < 0;
	for (int i = 0; opts->argv[i]; i++)
		bad |= dprintf(logfd, " %s", opts->argv[i]) < 0;
	bad |= dprintf(logfd, "\n") < 0;
	off_t tail_from = lseek(logfd, 0, SEEK_END);
	if (bad || tail_from < 0) {
		rc = kn_error(KN_ERR, "cannot write point log '%s': %s", opts->log_path, strerror(errno));
		goto out;
	}
	devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
	if (devnull < 0 || pipe2(out, O_CLOEXEC)) {
		rc = kn_error(KN_ERR, "cannot set up a point's process: %s", strerror(errno));
		goto out;
	}
	tr_utc_now(o->started_at, sizeof o->started_at);
	double t0 = tr_now_ms();
	pid_t parent = getpid(), pid = fork();
	if (pid < 0) {
		rc = kn_error(KN_ERR, "cannot fork a point's process: %s", strerror(errno));
		goto out;
	}
	if (pid == 0)
		child_exec(opts, devnull, out[1], logfd, parent);
	(void)setpgid(pid, pid); /* also in the child: whichever runs first (EACCES once it has exec'd) */
	close(out[1]);
	out[1] = -1;
	if (fcntl(out[0], F_SETFL, O_NONBLOCK)) {
		signal_group(pid, SIGKILL);
		waitpid(pid, NULL, 0);
		rc = kn_error(KN_ERR, "cannot set up a point's output pipe: %s", strerror(errno));
		goto out;
	}
	wait_child(opts, pid, out[0], t0, o, &cap);
	o->wall_s = (tr_now_ms() - t0) / 1e3;
	tr_utc_now(o->finished_at, sizeof o->finished_at);
	read_tail(logfd, tail_from, o);
	log_footer(logfd, o);
	if (o->stopped)
		rc = KN_EINTR;
out:
	for (int i = 0; i < 2; i++)
		if (out[i] >= 0)
			close(out[i]);
	if (devnull >= 0)
		close(devnull);
	close(logfd);
	return rc;
}

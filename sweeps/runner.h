/*
 * sweeps/runner.h — one point as a child process, and the status its end
 * maps to.
 *
 * The child is exec'd directly (no shell) in its own process group, with
 * stdin from /dev/null, stdout captured (the record `train --json` prints)
 * and stderr appended to the point's log. It dies with the sweep
 * (PR_SET_PDEATHSIG), so a sweep killed with SIGKILL leaves no orphan
 * training behind. Past the time limit, or when *stop becomes non-zero, the
 * group gets SIGTERM and, SW_KILL_GRACE_S later, SIGKILL.
 */
#ifndef SW_RUNNER_H
#define SW_RUNNER_H

#include <signal.h>
#include <stddef.h>

#define SW_KILL_GRACE_S 3.0
#define SW_TAIL_BYTES 2000

struct sw_child_opts {
	const char *exe;                 /* the program to exec: "/proc/self/exe" for amptune */
	char *const *argv;
	const char *log_path;            /* appended: a header, the child's stderr, its stdout, a footer */
	const char *log_header;          /* the header's first line (no newline) */
	double time_limit_s;             /* 0 = none */
	volatile sig_atomic_t *stop;     /* a signal number when the sweep must stop; may be NULL */
	void (*tick)(void *ctx);         /* called while waiting, about 4 times a second; may be NULL */
	void *tick_ctx;
};

/* How a child ended. Owns `out` (sw_outcome_release()). */
struct sw_outcome {
	int exited;                      /* 1: exit_code is valid; 0: killed by term_signal */
	int exit_code, term_signal;
	int timed_out;                   /* killed after the time limit */
	int stopped;                     /* the signal in *stop that ended the wait; 0 if none */
	double wall_s;                   /* fork to reap */
	char *out;                       /* the child's stdout (NUL-terminated) */
	size_t out_len;
	char stderr_tail[SW_TAIL_BYTES + 1]; /* the end of what the child wrote to stderr */
	char started_at[32], finished_at[32];
};

void sw_outcome_release(struct sw_outcome *o);

/*
 * Runs the child to its end. KN_OK when it ended by itself or was killed for
 * its time limit; KN_EINTR when *stop ended it (o->stopped says which signal);
 * KN_ERR when it could not be started (the log and message say why).
 */
int sw_run_child(const struct sw_child_opts *opts, struct sw_outcome *o);

/* The status of a point that ended so: timed out -> "timeout"; exit 0 "ok",
 * 75 "oom", 76 "diverged", 69 "unsupported"; any other exit or a signal "failed". */
const char *sw_status_for(int exited, int code_or_signal, int timed_out);

#endif

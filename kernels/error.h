/*
 * kernels/error.h — status codes, the one error-reporting helper, and the number syntax
 * every parser of user input shares.
 *
 * Library code returns a negative kn_status and records a message with
 * kn_error(); only the CLI layer turns a status into an exit code. The message
 * buffer is thread-local, so a loader worker's error does not clobber the
 * trainer's. Messages are lower-case and name their subject in quotes.
 */
#ifndef KN_ERROR_H
#define KN_ERROR_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

enum kn_status {
	KN_OK = 0,
	KN_ERR = -1,       /* runtime failure                        -> exit 1   */
	KN_EUSAGE = -2,    /* bad option, value or plan              -> exit 64  */
	KN_EDATA = -3,     /* bad data or results file               -> exit 65  */
	KN_EUNAVAIL = -4,  /* device or precision not available      -> exit 69  */
	KN_ENOMEM = -5,    /* out of memory (device or mem limit)    -> exit 75  */
	KN_EDIVERGED = -6, /* training diverged                      -> exit 76  */
	KN_EINTR = -7,     /* interrupted by SIGINT/SIGTERM          -> 130/143 */
};

/* The design brief's exit codes; an interface for scripts. */
enum {
	EXIT_RUNTIME = 1,
	EXIT_USAGE = 64,
	EXIT_DATA = 65,
	EXIT_UNAVAILABLE = 69,
	EXIT_OOM = 75,
	EXIT_DIVERGED = 76,
	EXIT_SIGINT = 130,
	EXIT_SIGTERM = 143,
};

/* Records a printf-style message for `status` and returns `status`. */
int kn_error(int status, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The last message recorded on this thread ("" if none). */
const char *kn_last_error(void);
/* Sets the thread's message verbatim (used to carry a worker's error across threads). */
void kn_set_error(const char *msg);
/* Maps a status to the exit code above; `signo` disambiguates KN_EINTR (SIGTERM -> 143). */
int kn_exit_code(int status, int signo);
/* A short name for a status, as used in results records ("oom", "unsupported", ...). */
const char *kn_status_name(int status);
/* Whether the n bytes at s are a decimal number as every parser of user input takes them: an
 * optional sign, digits, and (with fraction) a point and an exponent; no white space, no hex
 * ("0x10", "0x1p3"), "inf" or "nan", which strtol and strtod would accept. */
int kn_is_decimal(const char *s, size_t n, int fraction);

#ifdef __cplusplus
}
#endif

#endif

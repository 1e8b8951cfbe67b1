#include "kernels/error.h"

#include <ctype.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static _Thread_local char errbuf[1024];

int kn_error(int status, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(errbuf, sizeof errbuf, fmt, ap);
	va_end(ap);
	return status;
}

const char *kn_last_error(void) { return errbuf; }

void kn_set_error(const char *msg)
{
	snprintf(errbuf, sizeof errbuf, "%s", msg);
}

int kn_exit_code(int status, int signo)
{
	switch (status) {
	case KN_OK: return 0;
	case KN_EUSAGE: return EXIT_USAGE;
	case KN_EDATA: return EXIT_DATA;
	case KN_EUNAVAIL: return EXIT_UNAVAILABLE;
	case KN_ENOMEM: return EXIT_OOM;
	case KN_EDIVERGED: return EXIT_DIVERGED;
	case KN_EINTR: return signo == SIGTERM ? EXIT_SIGTERM : EXIT_SIGINT;
	default: return EXIT_RUNTIME;
	}
}

const char *kn_status_name(int status)
{
	switch (status) {
	case KN_OK: return "ok";
	case KN_EUSAGE: return "failed";
	case KN_EDATA: return "failed";
	case KN_EUNAVAIL: return "unsupported";
	case KN_ENOMEM: return "oom";
	case KN_EDIVERGED: return "diverged";
	case KN_EINTR: return "interrupted";
	default: return "failed";
	}
}

int kn_is_decimal(const char *s, size_t n, int fraction)
{
	const char *end = s + n;
	int digits = 0;
	if (s < end && (*s == '+' || *s == '-'))
		s++;
	for (; s < end && isdigit((unsigned char)*s); s++)
		digits++;
	if (fraction && s < end && *s == '.')
		for (s++; s < end && isdigit((unsigned char)*s); s++)
			digits++;
	if (!digits)
		return 0;
	if (fraction && s < end && (*s == 'e' || *s == 'E')) {
		s++;
		if (s < end && (*s == '+' || *s == '-'))
			s++;
		if (s == end || !isdigit((unsigned char)*s))
			return 0;
		while (s < end && isdigit((unsigned char)*s))
			s++;
	}
	return s == end;
}

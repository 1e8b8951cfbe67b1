#include "reports/text.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "kernels/error.h"

void rp_buf_init(struct rp_buf *b) { memset(b, 0, sizeof *b); }

void rp_buf_release(struct rp_buf *b)
{
	free(b->s);
	memset(b, 0, sizeof *b);
}

static int reserve(struct rp_buf *b, size_t extra)
{
	if (b->oom)
		return -1;
	if (b->len + extra + 1 <= b->cap)
		return 0;
	size_t cap = b->cap ? b->cap : 4096;
	while (cap < b->len + extra + 1)
		cap *= 2;
	char *s = realloc(b->s, cap);
	if (!s) {
		b->oom = 1;
		return -1;
	}
	b->s = s;
	b->cap = cap;
	return 0;
}

static void put_bytes(struct rp_buf *b, const char *s, size_t n)
{
	if (reserve(b, n))
		return;
	memcpy(b->s + b->len, s, n);
	b->len += n;
	b->s[b->len] = 0;
}

void rp_buf_puts(struct rp_buf *b, const char *s) { put_bytes(b, s, strlen(s)); }

void rp_buf_printf(struct rp_buf *b, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0 || reserve(b, (size_t)n))
		return;
	va_start(ap, fmt);
	vsnprintf(b->s + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
}

const char *rp_buf_str(const struct rp_buf *b) { return b->s ? b->s : ""; }

/* Length of the valid UTF-8 sequence at s (1..4), or 0 when it is not one. */
static int utf8_len(const unsigned char *s)
{
	if (s[0] < 0x80)
		return 1;
	int n = s[0] >= 0xf0 && s[0] <= 0xf4 ? 4 : s[0] >= 0xe0 ? 3 : s[0] >= 0xc2 && s[0] < 0xe0 ? 2 : 0;
	if (n == 0 || (s[0] >= 0xf0 && n != 4))
		return 0;
	for (int i = 1; i < n; i++)
		if ((s[i] & 0xc0) != 0x80)
			return 0;
	if (n == 3 && ((s[0] == 0xe0 && s[1] < 0xa0) || (s[0] == 0xed && s[1] >= 0xa0)))
		return 0; /* overlong, surrogate */
	if (n == 3 && s[0] == 0xef && s[1] == 0xbf && s[2] >= 0xbe)
		return 0; /* U+FFFE, U+FFFF are not XML characters */
	if (n == 4 && ((s[0] == 0xf0 && s[1] < 0x90) || (s[0] == 0xf4 && s[1] >= 0x90)))
		return 0;
	return n;
}

void rp_buf_html(struct rp_buf *b, const char *str)
{
	const unsigned char *s = (const unsigned char *)str;
	while (*s) {
		const char *rep = NULL;
		switch (*s) {
		case '&': rep = "&amp;"; break;
		case '<': rep = "&lt;"; break;
		case '>': rep = "&gt;"; break;
		case '"': rep = "&quot;"; break;
		case '\'': rep = "&#39;"; break;
		default: break;
		}
		if (rep) {
			rp_buf_puts(b, rep);
			s++;
			continue;
		}
		int n = utf8_len(s);
		if (n == 0 || (*s < 0x20 && *s != '\t' && *s != '\n' && *s != '\r') || *s == 0x7f) {
			rp_buf_puts(b, "\xef\xbf\xbd");
			s++;
			continue;
		}
		put_bytes(b, (const char *)s, (size_t)n);
		s += n;
	}
}

void rp_buf_md(struct rp_buf *b, const char *str)
{
	for (const unsigned char *s = (const unsigned char *)str; *s; s++) {
		if (*s == '<')
			rp_buf_puts(b, "&lt;");
		else if (*s == '>')
			rp_buf_puts(b, "&gt;");
		else if (*s == '&')
			rp_buf_puts(b, "&amp;");
		else if (*s == '\n' || *s == '\r' || *s == '\t')
			rp_buf_puts(b, " ");
		else if (*s < 0x20 || *s == 0x7f)
			rp_buf_puts(b, "\xef\xbf\xbd");
		else if (strchr("\\`*_[]|~", *s)) {
			char esc[3] = { '\\', (char)*s, 0 };
			rp_buf_puts(b, esc);
		} else
			put_bytes(b, (const char *)s, 1);
	}
}

void rp_buf_csv(struct rp_buf *b, const char *s)
{
	int formula = *s && strchr("=+-@", *s);
	if (!formula && !strpbrk(s, ",\"\r\n")) {
		rp_buf_puts(b, s);
		return;
	}
	rp_buf_puts(b, formula ? "\"'" : "\"");
	for (; *s; s++)
		put_bytes(b, *s == '"' ? "\"\"" : s, *s == '"' ? 2 : 1);
	rp_buf_puts(b, "\"");
}

const char *rp_fmt_bytes(char *out, size_t n, double v)
{
	if (!isfinite(v))
		snprintf(out, n, "n/a");
	else if (v >= 1024.0 * 1024 * 1024)
		snprintf(out, n, "%.2f GiB", v / (1024.0 * 1024 * 1024));
	else if (v >= 1024.0 * 1024)
		snprintf(out, n, "%.1f MiB", v / (1024.0 * 1024));
	else if (v >= 1024.0)
		snprintf(out, n, "%.1f KiB", v / 1024.0);
	else
		snprintf(out, n, "%.0f B", v);
	return out;
}

const char *rp_fmt_seconds(char *out, size_t n, double s)
{
	if (!isfinite(s))
		snprintf(out, n, "n/a");
	else if (s < 1)
		snprintf(out, n, "%.0f ms", s * 1e3);
	else if (s < 120)
		snprintf(out, n, "%.1f s", s);
	else if (s < 7200)
		snprintf(out, n, "%.1f min", s / 60);
	else if (s < 172800)
		snprintf(out, n, "%.1f h", s / 3600);
	else
		snprintf(out, n, "%.1f d", s / 86400);
	return out;
}

/* The decade of v once rounded to 3 significant figures (0.09996 is 0.100: -1, not -2); v finite, not 0 */
static int decade3(double v)
{
	char e[32];
	snprintf(e, sizeof e, "%.2e", v);
	return atoi(strchr(e, 'e') + 1);
}

const char *rp_fmt_usd(char *out, size_t n, double v)
{
	int exp10 = isfinite(v) && v > 0 ? decade3(v) : 0; /* $0.100 for 0.09996, not $0.1000 */
	if (!isfinite(v))
		snprintf(out, n, "n/a");
	else if (v <= 0)
		snprintf(out, n, "$0");
	else if (v >= 1e15) /* no figure a 32-byte cell would cut */
		snprintf(out, n, "$%.2e", v);
	else if (v >= 99.995)
		snprintf(out, n, "$%.0f", v);
	else if (exp10 >= 0)
		snprintf(out, n, "$%.2f", v);
	else if (exp10 < -12) /* less than a tenth of a nano-dollar */
		snprintf(out, n, "$%.2e", v);
	else
		snprintf(out, n, "$%.*f", 2 - exp10, v); /* 3 significant figures: $0.800, $0.0269 */
	return out;
}

const char *rp_fmt_num(char *out, size_t n, double v)
{
	return rp_fmt_num_digits(out, n, v, 3);
}

static const char *const num_suffix[] = { "", "k", "M", "G", "T", "P" };

/* v scaled by thousands to under 999.5; the index of its suffix in num_suffix */
static int scale_thousands(double *v)
{
	int i = 0;
	while (fabs(*v) >= 999.5 && i < 5) {
		*v /= 1000;
		i++;
	}
	return i;
}

/* v scaled by thousands with its suffix, `digits` significant; trailing zeros kept when keep_zeros */
static const char *fmt_scaled(char *out, size_t n, double v, int digits, int keep_zeros)
{
	char t[64];
	if (!isfinite(v)) {
		snprintf(out, n, "n/a");
		return out;
	}
	int i = scale_thousands(&v);
	snprintf(t, sizeof t, keep_zeros ? "%#.*g" : "%.*g", digits, v);
	size_t len = strlen(t);
	if (len && t[len - 1] == '.') /* "100." */
		t[len - 1] = 0;
	snprintf(out, n, "%s%s", t, num_suffix[i]);
	return out;
}

const char *rp_fmt_num_digits(char *out, size_t n, double v, int digits)
{
	/* past 3 digits the zeros are kept: 97.90 beside 97.95, not 97.9 */
	return fmt_scaled(out, n, v, digits, digits > 3);
}

const char *rp_fmt_num_zeros(char *out, size_t n, double v, int digits) { return fmt_scaled(out, n, v, digits, 1); }

const char *rp_fmt_sig3(char *out, size_t n, double v)
{
	if (!isfinite(v)) {
		snprintf(out, n, "n/a");
		return out;
	}
	if (v == 0) {
		snprintf(out, n, "0");
		return out;
	}
	int exp10 = decade3(v); /* 9.996 is 10.0, not 9.996 */
	if (exp10 < -6 || exp10 > 14)
		snprintf(out, n, "%.2e", v);
	else
		snprintf(out, n, "%.*f", exp10 >= 2 ? 0 : 2 - exp10, v);
	return out;
}

const char *rp_fmt_flops(char *out, size_t n, double v)
{
	static const char *const pre[] = { "", "k", "M", "G", "T", "P", "E" };
	int i = 0;
	while (isfinite(v) && fabs(v) >= 999.5 && i < 6) {
		v /= 1000;
		i++;
	}
	if (isfinite(v))
		snprintf(out, n, "%.3g %sFLOP", v, pre[i]);
	else
		snprintf(out, n, "n/a");
	return out;
}

const char *rp_fmt_count(char *out, size_t n, double v)
{
	char digits[32];
	if (!isfinite(v) || fabs(v) >= 1e18) {
		snprintf(out, n, "%g", v);
		return out;
	}
	int len = snprintf(digits, sizeof digits, "%.0f", fabs(v)), k = 0;
	char tmp[48];
	if (v < 0)
		tmp[k++] = '-';
	for (int i = 0; i < len; i++) {
		if (i > 0 && (len - i) % 3 == 0)
			tmp[k++] = ',';
		tmp[k++] = digits[i];
	}
	tmp[k] = 0;
	snprintf(out, n, "%s", tmp);
	return out;
}

int rp_write_tmp(const char *path, const struct rp_buf *b, char *tmp, size_t n)
{
	if (b->oom)
		return kn_error(KN_ERR, "out of memory building '%s'", path);
	if ((size_t)snprintf(tmp, n, "%s.tmp.%ld", path, (long)getpid()) >= n)
		return kn_error(KN_ERR, "cannot write '%s': path too long", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return kn_error(KN_ERR, "cannot write '%s': %s", path, strerror(errno));
	const char *s = rp_buf_str(b);
	size_t left = b->len;
	while (left > 0) {
		ssize_t w = write(fd, s, left);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			goto fail;
		s += w;
		left -= (size_t)w;
	}
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	return KN_OK;
fail:;
	int rc = kn_error(KN_ERR, "cannot write '%s': %s", path, strerror(errno ? errno : EIO));
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	return rc;
}

int rp_write_file_atomic(const char *path, const struct rp_buf *b)
{
	size_t n = strlen(path) + 32;
	char *tmp = malloc(n);
	if (!tmp)
		return kn_error(KN_ERR, "out of memory writing '%s'", path);
	int rc = rp_write_tmp(path, b, tmp, n);
	if (rc == KN_OK && rename(tmp, path) != 0) {
		rc = kn_error(KN_ERR, "cannot write '%s': %s", path, strerror(errno));
		unlink(tmp);
	}
	free(tmp);
	return rc;
}

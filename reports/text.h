/*
 * reports/text.h — a growable text buffer, the escapes every output format
 * needs, number formatting, and writing a file all-or-nothing.
 *
 * struct rp_buf owns its bytes; an allocation failure is sticky (`oom`), so
 * writers append without checking each call and look once at the end.
 * Every string that came from a plan or a results file goes through one of
 * the escapes before it reaches HTML, SVG, Markdown or CSV.
 */
#ifndef RP_TEXT_H
#define RP_TEXT_H

#include <stddef.h>

struct rp_buf {
	char *s;    /* NUL-terminated when len > 0 or after any append */
	size_t len, cap;
	int oom;
};

void rp_buf_init(struct rp_buf *b);
void rp_buf_release(struct rp_buf *b);
void rp_buf_puts(struct rp_buf *b, const char *s);
void rp_buf_printf(struct rp_buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The contents ("" when empty); owned by the buffer. */
const char *rp_buf_str(const struct rp_buf *b);

/* HTML/XML text and attribute values: & < > " ' escaped; control characters
 * and invalid UTF-8 become U+FFFD, so the page stays well-formed XML. */
void rp_buf_html(struct rp_buf *b, const char *s);
/* Markdown table cells: the characters Markdown or HTML would interpret are
 * backslash-escaped or written as entities; newlines become spaces. */
void rp_buf_md(struct rp_buf *b, const char *s);
/* One CSV field (RFC 4180): quoted when needed; a leading = + - @ is
 * prefixed with ' so spreadsheets do not run it as a formula. */
void rp_buf_csv(struct rp_buf *b, const char *s);

/* Human-readable numbers into out (n bytes); "n/a" for NAN. */
const char *rp_fmt_bytes(char *out, size_t n, double bytes);     /* 19.3 MiB, 13.04 GiB */
const char *rp_fmt_seconds(char *out, size_t n, double s);       /* 850 ms, 12.3 s, 4.2 min, 6.1 h, 3.2 d */
const char *rp_fmt_usd(char *out, size_t n, double usd);         /* $0.0123, $12.30 */
const char *rp_fmt_num(char *out, size_t n, double v);           /* 3 significant digits, k/M/G suffixes */
/* The same with `digits` significant digits (trailing zeros kept past 3): 97.90 */
/* v to 3 significant figures, trailing zeros kept and no exponent: "6.00", "44.4", "100", "1234";
 * "n/a" when not finite. */
const char *rp_fmt_sig3(char *out, size_t n, double v);
const char *rp_fmt_num_digits(char *out, size_t n, double v, int digits);
/* As rp_fmt_num_digits, trailing zeros always kept: the ends of a range, "4.00k-4.10k", not "4k-4.1k". */
const char *rp_fmt_num_zeros(char *out, size_t n, double v, int digits);
const char *rp_fmt_flops(char *out, size_t n, double v);         /* 654 MFLOP, 6.19 TFLOP */
const char *rp_fmt_count(char *out, size_t n, double v);         /* 842,496 */

/* Writes the buffer to `path` via a temporary file in the same directory,
 * fsync and rename, so a reader never sees half a file. KN_ERR with a
 * message naming the path on failure (the old file is left as it was). */
int rp_write_file_atomic(const char *path, const struct rp_buf *b);
/* The first half of it: b written and synced to a temporary file beside path, named into tmp (n
 * bytes), for a caller that renames several files only once all are written. */
int rp_write_tmp(const char *path, const struct rp_buf *b, char *tmp, size_t n);

#endif
